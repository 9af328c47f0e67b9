import ArgumentParser
import Foundation
import LabelAPI
import LabelClient

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "A job's progress (or every job's): counts, images/s, ETA, workers, problems.",
        discussion: """
            --json prints the job's status as the API gives it (GET /v1/jobs/{job}; its
            fields are in the README).

            Example:
              labelmill status --coordinator http://10.0.0.5:8080 --token-file token \\
                job-0193c2a1f0e2d4a1b2c3 --watch
            """)

    @OptionGroup var client: ClientOptions
    @Argument(help: "Job id (default: all jobs).") var job: String?
    @Flag(help: "Print JSON.") var json = false
    @Flag(help: "Redraw a progress bar every second until the job is done or cancelled.") var watch = false

    func run() async throws {
        let client = try client.client()
        guard let job else {
            let jobs = try await client.jobs()
            if json { try printJSON(jobs) } else { jobs.forEach { print(Self.summary($0)) } }
            return
        }
        if !watch {
            let status = try await client.job(job)
            if json { try printJSON(status) } else { print(Self.report(status)) }
            return
        }
        while true {
            let status = try await client.job(job)
            Console.standardError.progress(Self.bar(status))
            if status.state.isFinished {
                Console.standardError.endProgress()
                if json { try printJSON(status) } else { print(Self.report(status)) }
                if status.state != .done { throw ExitCode(1) }
                return
            }
            try await Task.sleep(for: .seconds(1))
        }
    }

    static func summary(_ s: JobStatus) -> String {
        "\(s.id)  \(s.state.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0))  \(s.images.done) done, \(s.images.failed) failed of \(s.images.total)  \(s.name ?? "")"
    }

    /// A rate as a person reads it at every speed: "12.5 img/s", "3.4 s/img", or "-" before anything is done.
    static func rate(_ imagesPerSecond: Double) -> String {
        if imagesPerSecond >= 1 { return String(format: "%.1f img/s", imagesPerSecond) }
        if imagesPerSecond > 0 { return String(format: "%.1f s/img", 1 / imagesPerSecond) }
        return "- img/s"
    }

    static func bar(_ s: JobStatus, width: Int = 30) -> String {
        let finished = s.images.done + s.images.failed
        let fraction = s.images.total == 0 ? 1 : Double(finished) / Double(s.images.total)
        let filled = Int(fraction * Double(width))
        let eta = s.state.isActive ? s.etaSeconds.map { String(format: "ETA %.0fs", $0) } ?? "" : ""
        var line = String(format: "%@ [%@%@] %3.0f%%  %d/%d  %@  %d workers  %@", s.state.rawValue,
                          String(repeating: "#", count: filled), String(repeating: ".", count: width - filled),
                          100 * fraction, finished, s.images.total, rate(s.imagesPerSecond), s.activeWorkers, eta)
        let jobProblems = s.problems.filter { $0.scope == .job }.map(\.count).reduce(0, +)
        if jobProblems > 0 { line += "  \(jobProblems) job-level failures" }
        if s.stalled { line += "  STALLED" }
        return line
    }

    static func report(_ s: JobStatus) -> String {
        var lines = [
            "job \(s.id)\(s.name.map { " (\($0))" } ?? ""): \(s.state.rawValue)",
            "images: \(s.images.total) total, \(s.images.pending) pending, \(s.images.running) running, \(s.images.done) done, \(s.images.failed) failed",
            String(format: "rate: %@%@, %d active workers, %d lease expiries, %d retries", rate(s.imagesPerSecond),
                   s.etaSeconds.map { String(format: ", ETA %.0f s", $0) } ?? "", s.activeWorkers, s.leaseExpiries, s.retries),
        ]
        if let failure = s.failure { lines.append("failed: \(failure)") }
        if let preparation = s.preparation {
            let percent = preparation.bytesTotal > 0 ? 100 * Double(preparation.bytesRead) / Double(preparation.bytesTotal) : 0
            lines.append(String(format: "manifest: %d lines read (%.0f%%); images are added as it is read", preparation.linesRead, percent))
        }
        if s.stalled {
            let since = s.lastProgressAt.map { String(format: " for %.0f s", Date().timeIntervalSince1970 - $0) } ?? ""
            lines.append("stalled: workers are on the job but no image finished\(since); see the problems below")
        }
        if !s.embeddingsReady && s.state.isActive { lines.append("class embeddings: being computed") }
        let jobProblems = s.problems.filter { $0.scope == .job }, imageProblems = s.problems.filter { $0.scope == .image }
        if !jobProblems.isEmpty {
            lines.append("job problems (workers that could not prepare the job):")
            lines += jobProblems.map { "  \($0.count)× \($0.reason)  [\($0.examples.joined(separator: ", "))]" }
        }
        if !imageProblems.isEmpty {
            lines.append("image failures by reason (of the last 1000):")
            lines += imageProblems.map { "  \($0.count)× \($0.reason)  [e.g. \($0.examples.joined(separator: ", "))]" }
        }
        return lines.joined(separator: "\n")
    }
}
