import Foundation
import LabelClient
import Runner

/// `scripts/s3-test-server`: moto's S3 server on loopback, checking signatures, with one bucket of objects. Runs with
/// the Python that `scripts/test-python` prepared (`.build/test-python`, or `LABELMILL_TEST_PYTHON`); tests that
/// need it are skipped, and say so, where that Python has no moto.
final class S3TestServer: @unchecked Sendable {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A Python that can run the server, or nil.
    static let python: String? = python(importing: "moto.server, boto3")

    /// Runs `scripts/<script>` with `python`: its exit status and what it printed (stdout and stderr together).
    /// The script runs on a thread of its own: reading its output to the end blocks, and a blocked thread of the
    /// cooperative pool (two on two cores) would starve the in-process coordinators of the tests beside it.
    static func runScript(_ python: String, _ script: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result {
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: python)
                    process.arguments = [root.appendingPathComponent("scripts/\(script)").path] + arguments
                    let output = Pipe()
                    process.standardOutput = output
                    process.standardError = output
                    try process.run()
                    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                    process.waitUntilExit()
                    return (process.terminationStatus, text)
                })
            }.start()
        }
    }

    /// The tests' Python (scripts/test-python) where it can import `modules` (comma-separated), or nil: the one
    /// the environment variable `variable` names, else the virtual environment `.build/<venv>`.
    static func python(importing modules: String, venv: String = "test-python", variable: String = "LABELMILL_TEST_PYTHON") -> String? {
        let candidates = [ProcessInfo.processInfo.environment[variable],
                          root.appendingPathComponent(".build/\(venv)/bin/python3").path].compactMap { $0 }
        return candidates.first { path in
            guard FileManager.default.isExecutableFile(atPath: path) else { return false }
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: path)
            probe.arguments = ["-c", "import \(modules)"]
            probe.standardOutput = FileHandle.nullDevice
            probe.standardError = FileHandle.nullDevice
            guard (try? probe.run()) != nil else { return false }
            probe.waitUntilExit()
            return probe.terminationStatus == 0
        }
    }

    let process: Process
    private let input: Pipe
    let endpoint: String
    let accessKeyID: String
    let secretAccessKey: String

    struct Ready: Decodable {
        var endpoint: String
        var accessKeyID: String
        var secretAccessKey: String
    }

    /// Starts the server with `objects` (key → file) in `bucket` and waits until they are in.
    static func start(bucket: String, objects: [String: URL], log: URL) throws -> S3TestServer {
        guard let python else { throw FaultSuiteError("no Python with moto: run scripts/test-python") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [root.appendingPathComponent("scripts/s3-test-server").path, "--port", "\(try LocalPort.free())",
                             "--bucket", bucket] + objects.sorted { $0.key < $1.key }.flatMap { ["--put", "\($0.key)=\($0.value.path)"] }
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        // The one line it prints once ready (an EOF first means it failed: its log says why).
        var line = Data()
        while let byte = try output.fileHandleForReading.read(upToCount: 1), let first = byte.first, first != UInt8(ascii: "\n") {
            line.append(first)
        }
        guard let ready = try? JSONDecoder().decode(Ready.self, from: line) else {
            process.terminate()
            throw FaultSuiteError("scripts/s3-test-server did not start: \((try? String(contentsOf: log, encoding: .utf8))?.suffix(2000) ?? "")")
        }
        return S3TestServer(process: process, input: input, ready: ready)
    }

    private init(process: Process, input: Pipe, ready: Ready) {
        self.process = process
        self.input = input
        endpoint = ready.endpoint
        accessKeyID = ready.accessKeyID
        secretAccessKey = ready.secretAccessKey
    }

    /// The environment a process needs to reach the server: the standard AWS variables, and a HOME without
    /// ~/.aws files. `secret` replaces the right secret (to see a wrong one refused).
    func environment(home: URL, secret: String? = nil) -> [String: String] {
        ["AWS_ACCESS_KEY_ID": accessKeyID, "AWS_SECRET_ACCESS_KEY": secret ?? secretAccessKey, "AWS_ENDPOINT_URL": endpoint,
         "AWS_REGION": "us-east-1", "HOME": home.path]
    }

    var configuration: S3Configuration {
        S3Configuration(credentials: .init(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, sessionToken: nil, source: "the test"),
                        endpoint: endpoint)
    }

    func stop() {
        try? input.fileHandleForWriting.close()
        process.terminate()
        process.waitUntilExit()
    }
}
