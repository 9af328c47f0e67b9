import Foundation

/// What the fault suite does to processes besides starting and killing them.
extension LabelmillProcess {
    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// SIGSTOP / SIGCONT / ... to this process.
    func send(_ signal: Int32) {
        if process.isRunning { Foundation.kill(process.processIdentifier, signal) }
    }

    /// Whether it has exited because of `signal` (e.g. a SIGKILL it sent itself).
    func diedOf(_ signal: Int32) -> Bool {
        !process.isRunning && process.terminationReason == .uncaughtSignal && process.terminationStatus == signal
    }

    /// Waits up to `timeout` for the process to exit, without blocking a thread of the cooperative pool.
    func waitForExit(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return !process.isRunning
    }

    /// The log so far (stdout and stderr).
    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// Lines of the log that contain `text`.
    func logLines(containing text: String) -> Int {
        logText.split(separator: "\n").filter { $0.contains(text) }.count
    }
}
