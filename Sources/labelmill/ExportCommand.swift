import ArgumentParser
import Foundation
import Worker

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write DIR/labels/<id>.png, DIR/classes.json and DIR/results.jsonl of a job.",
        discussion: """
            Exits 1 when images failed (their reasons are in results.jsonl); a rerun completes an interrupted export.

            Example:
              labelmill export --coordinator http://10.0.0.5:8080 --token-file token job-0193c2a1f0e2d4a1b2c3 --out results/
            """)

    @OptionGroup var client: ClientOptions
    @Argument(help: "Job id.") var job: String
    @Option(help: "Output directory.") var out: String

    func run() async throws {
        let summary = try await JobExport.run(client: client.client(), job: job, to: URL(fileURLWithPath: out))
        print("exported \(summary.labels) label maps and \(summary.results) results to \(out)")
        if summary.failed > 0 {
            FileHandle.standardError.write(Data("labelmill: \(summary.failed) images failed; their reasons are in \(out)/results.jsonl\n".utf8))
            throw ExitCode(1)
        }
    }
}
