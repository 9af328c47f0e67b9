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
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> String {
        let result = try await runToEnd(arguments, environment: environment)
        #expect(result.status == 0, "labelmill \(arguments.joined(separator: " ")): \(result.errors)")
        return result.output
    }

    /// What a finished `labelmill` run left: its exit status, standard output and standard error, and how long it took.
    struct Finished {
        var status: Int32
        var output: String
        var errors: String
        var duration: Duration
    }

    /// Runs `labelmill <arguments>` to the end, whatever its exit status. The wait is on a thread of its own: tests
    /// run in parallel on Swift's cooperative pool (one thread a core), and the in-process servers other tests
    /// start answer from that pool, so a test blocked on a child process would starve them.
    static func runToEnd(_ arguments: [String], environment: [String: String] = [:]) async throws -> Finished {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try blockingRunToEnd(arguments, environment: environment) }) }.start()
        }
    }

    /// Waits for any process to end, on a thread of its own for the same reason.
    static func exit(of process: Process) async {
        await withCheckedContinuation { continuation in
            Thread {
                process.waitUntilExit()
                continuation.resume()
            }.start()
        }
    }

    private static func blockingRunToEnd(_ arguments: [String], environment: [String: String]) throws -> Finished {
        let started = ContinuousClock.now
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        // Standard error goes to a file: a pipe nobody reads while standard output is read would fill and block it.
        let errorsFile = FileManager.default.temporaryDirectory.appendingPathComponent("labelmill-stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: errorsFile.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errorsFile) }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: errorsFile)
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        var errorText = (try? String(contentsOf: errorsFile, encoding: .utf8)) ?? ""
        // A crash says so (its status is the signal's number, which reads like an exit code).
        if process.terminationReason == .uncaughtSignal { errorText += "\n(killed by signal \(process.terminationStatus))" }
        return Finished(status: process.terminationStatus, output: text, errors: errorText, duration: ContinuousClock.now - started)
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
