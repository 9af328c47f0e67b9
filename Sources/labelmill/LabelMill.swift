import ArgumentParser
import Foundation
import LabelAPI
import LabelClient
import Logging
import Synchronization

@main
struct LabelMill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "labelmill",
        abstract: "Open-vocabulary semantic label maps with MaskCLIP, on one machine or a fleet.",
        discussion: """
            Examples:
              labelmill run --model clip-vit-base-patch16 --classes cat,dog,sky \\
                --manifest photos/ --out labels/
              labelmill serve --data /var/lib/labelmill --token-file token
            """,
        version: LabelmillVersion.current,
        subcommands: [
            RunCommand.self, LabelCommand.self, EmbedCommand.self, ServeCommand.self, WorkerCommand.self, SubmitCommand.self,
            StatusCommand.self, RetryCommand.self, CancelCommand.self, DeleteCommand.self, ExportCommand.self, VerifyCommand.self, ModelCommand.self,
            BackupCommand.self, BenchCommand.self,
        ])

    /// Usage errors (a wrong flag, a value out of range) print the usage and exit 64; anything that fails at run time
    /// prints one line, `labelmill: <what and where>`, and exits 1.
    static func main() async {
        let command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                var command = command
                try command.run()
            }
        } catch let error where error is ExitCode || exitCode(for: error) != .failure {
            // The parser's own outcomes: an exit code, a usage error, `help CMD` and `--help` (which run as a command
            // and throw the parser's internal help request, told apart by its exit code: any other error is a failure).
            exit(withError: error)
        } catch {
            Console.standardError.endProgress()
            FileHandle.standardError.write(Data("labelmill: \(CLIMessage.of(error))\n".utf8))
            Foundation.exit(1)
        }
    }
}

/// The version `labelmill --version` prints.
enum LabelmillVersion {
    static let current = "0.3.0"
}

/// Options every command that logs shares.
struct LoggingOptions: ParsableArguments {
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (default: warning for run and label, info otherwise).")
    var logLevel: Logger.Level?

    /// Logging at `--log-level`, or at `level` when none was given: the one-machine commands (run, label) talk to
    /// a person at a terminal, who wants their progress and one line per failure, not a service's info log.
    func bootstrap(default level: Logger.Level = .info) -> Logger {
        Self.install(level: logLevel ?? level)
        return Logger(label: "labelmill")
    }

    /// swift-log takes one bootstrap per process; the first call wins.
    private static let installed = Atomic(false)

    /// Logging at `level`, unless a command already set it up. User commands without `--log-level` (status,
    /// submit, export...) install `.error`: their retries stay quiet and a failure ends in its one-line message.
    static func install(level: Logger.Level) {
        guard installed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        LoggingSystem.bootstrap { label in
            // Through the console, so a log line never garbles a progress line on a terminal.
            var handler = StreamLogHandler(label: label, stream: ConsoleLogStream())
            handler.logLevel = level
            return handler
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// `--classes a,b,c` or `--classes-file F` (one name per line).
struct ClassOptions: ParsableArguments {
    @Option(help: "Comma-separated class names, in label order.")
    var classes: String?

    @Option(help: "A file with one class per line, in label order; a line may add synonyms after the name, comma-separated (person, person in shirt, person in jacket).")
    var classesFile: String?

    /// Checked while parsing, so a missing --classes prints the usage of the command given, not the top level's.
    func validate() throws {
        if (classes == nil) == (classesFile == nil) { throw ValidationError("give exactly one of --classes or --classes-file") }
    }

    /// The class names, and their synonyms from a classes file.
    func read() throws -> ClassFile {
        switch (classes, classesFile) {
        case (let list?, nil):
            return ClassFile(names: list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        case (nil, let file?):
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw CLIError("cannot read the classes file \(file): \(FileManager.default.fileExists(atPath: file) ? "not readable UTF-8 text" : "no such file")")
            }
            return ClassFile(text: text)
        default:
            throw ValidationError("give exactly one of --classes or --classes-file")
        }
    }
}
