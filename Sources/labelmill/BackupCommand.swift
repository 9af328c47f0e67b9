import ArgumentParser
import Coordinator
import Foundation

struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the coordinator's database to a file, consistently, while it keeps running.",
        discussion: """
            Label maps (DATA/labels) and model blobs (DATA/blobs) are plain files that
            never change once written: copy them with rsync or a snapshot as well.

            Example:
              labelmill backup --data /var/lib/labelmill \\
                --out /backup/labelmill-$(date +%F).sqlite
            """)

    @Option(help: "The coordinator's data directory.") var data: String
    @Option(help: "Where to write the copy (replaced if it exists).") var out: String

    func run() throws {
        let source = CoordinatorConfiguration(dataDirectory: URL(fileURLWithPath: data), tokens: TokenSet(admin: "")).databasePath
        let report = try Store.backup(database: source, to: out)
        print(String(format: "backed up %@ to %@: %d jobs, %.1f MiB in %.2f s", source, out, report.jobs,
                     Double(report.bytes) / 1_048_576, report.seconds))
    }
}
