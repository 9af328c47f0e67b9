import ArgumentParser
import Foundation
import Worker

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write DIR/labels/<id>.png, DIR/classes.json and DIR/results.jsonl of a job.")

    @OptionGroup var client: ClientOptions
    @Argument(help: "Job id.") var job: String
    @Option(help: "Output directory.") var out: String

    func run() async throws {
        let summary = try await JobExport.run(client: client.client(), job: job, to: URL(fileURLWithPath: out))
        print("exported \(summary.labels) label maps and \(summary.results) results to \(out)")
    }
}
