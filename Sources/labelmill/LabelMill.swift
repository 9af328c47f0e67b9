import ArgumentParser
import Foundation
import Logging
import Worker

@main
struct LabelMill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "labelmill",
        abstract: "Open-vocabulary semantic label maps with MaskCLIP, on one machine or a fleet.",
        subcommands: [
            RunCommand.self, LabelCommand.self, EmbedCommand.self, ServeCommand.self, WorkerCommand.self, SubmitCommand.self,
            StatusCommand.self, ExportCommand.self, ModelCommand.self, BackupCommand.self, BenchCommand.self,
        ])
}

/// Options every command that logs shares.
struct LoggingOptions: ParsableArguments {
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func bootstrap() -> Logger {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            // Through the console, so a log line never garbles a progress line on a terminal.
            var handler = StreamLogHandler(label: label, stream: ConsoleLogStream())
            handler.logLevel = level
            return handler
        }
        return Logger(label: "labelmill")
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// `--classes a,b,c` or `--classes-file F` (one name per line).
struct ClassOptions: ParsableArguments {
    @Option(help: "Comma-separated class names, in label order.")
    var classes: String?

    @Option(help: "A file with one class name per line, in label order.")
    var classesFile: String?

    func names() throws -> [String] {
        switch (classes, classesFile) {
        case (let list?, nil):
            return list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        case (nil, let file?):
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ValidationError("cannot read --classes-file \(file)")
            }
            return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        default:
            throw ValidationError("give exactly one of --classes or --classes-file")
        }
    }
}
