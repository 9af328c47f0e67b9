import Foundation
import Testing

/// Real `labelmill` processes for end-to-end tests: the binary `swift build --build-tests` put next to the test
/// bundle.
struct LabelmillProcess {
    static let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("labelmill")

    let process: Process
    let log: URL

    /// Starts `labelmill <arguments>` with stdout and stderr in `log`.
    static func start(_ arguments: [String], log: URL, environment: [String: String] = [:]) throws -> LabelmillProcess {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return LabelmillProcess(process: process, log: log)
    }

    /// Runs `labelmill <arguments>` to the end and returns its standard output; fails the test on a non-zero exit.
    static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "labelmill \(arguments.joined(separator: " ")): \(errorText)")
        return text
    }

    func kill() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    func terminate() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}
