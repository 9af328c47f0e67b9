import ArgumentParser
import Foundation
import LabelClient

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Check a job's labels in its --output against the workers' receipts.",
        discussion: """
            A job submitted with --output keeps its labels in S3 or a shared folder,
            written by the workers; the coordinator holds a receipt of each (the key and
            the sha256 of the bytes). This reads every label and confidence map the
            receipts name, with this machine's credentials (AWS_ACCESS_KEY_ID and
            AWS_SECRET_ACCESS_KEY, AWS_PROFILE, AWS_ENDPOINT_URL), and names each one that
            is missing or differs. Exits 1 when any does.

            Example:
              labelmill verify --coordinator http://10.0.0.5:8080 --token-file token \\
                job-0193c2a1f0e2d4a1b2c3
            """)

    @OptionGroup var client: ClientOptions
    @Argument(help: "Job id.") var job: String

    func run() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("labelmill-verify-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let summary = try await JobVerify.run(
            client: client.client(), job: job, scratch: scratch, s3: Result { () throws(S3Error) in try S3Configuration.resolve() },
            progress: { count in FileHandle.standardError.write(Data("labelmill: \(count) labels checked\n".utf8)) })
        for problem in summary.problems { print(problem) }
        let checked = "\(Wording.counted(summary.labels, "label map"))"
            + (summary.confidenceMaps > 0 ? " and \(Wording.counted(summary.confidenceMaps, "confidence map"))" : "")
        guard summary.problems.isEmpty else {
            FileHandle.standardError.write(Data("labelmill: \(summary.problems.count) of the \(checked) in \(summary.output) do not match their receipts\n".utf8))
            throw ExitCode(1)
        }
        print("verified \(checked) in \(summary.output): all match their receipts")
    }
}
