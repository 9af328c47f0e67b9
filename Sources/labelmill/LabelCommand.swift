import ArgumentParser
import Foundation
import Inference
import LabelAPI
import LabelClient

struct LabelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "label", abstract: "Label images on this machine: DIR/<image stem>.png and DIR/classes.json.",
        discussion: """
            Folders are labeled with their subfolders: photos/cats/001.jpg gives
            OUT/cats/001.png.

            Example:
              labelmill label --model clip-vit-base-patch16 --classes cat,dog,grass,sky \\
                --out labels/ photos/
            """)

    @Option(help: "A Hugging Face CLIP model directory (config.json, model.safetensors, vocab.json, merges.txt).")
    var model: String

    @OptionGroup var classOptions: ClassOptions

    @Option(help: "Prompt templates: maskclip85 (mode maskclip's default), imagenet80 (the other modes'), single, or a file with one template per line ({} = class name).")
    var templates: String?

    @Option(help: "Class embeddings made by `labelmill embed` (skips the text tower; --classes and --templates, if given, must match).")
    var embeddings: String?

    @OptionGroup var maskCLIP: MaskCLIPFlags

    @Option(help: "Refuse images with more pixels than this (decompression bombs).")
    var maxPixels = ImageCodec.defaultMaxPixels

    @Option(help: "Output directory.")
    var out: String

    @Argument(help: "Image files (JPEG or PNG) and folders of them.")
    var images: [String]

    @Option(help: "Compute threads (default: the CPUs this process may use).")
    var threads: Int?

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        try maskCLIP.settings().validateFlags()
        if maxPixels < 1 { throw ValidationError("--max-pixels must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads \(threads) is out of range: at least 1") }
    }

    func run() throws {
        let logger = logging.bootstrap(default: .warning)
        ComputeThreads.set(threads)
        // With --embeddings the classes may be left out; given, they must be the file's.
        let classes = embeddings != nil && classOptions.classes == nil && classOptions.classesFile == nil
            ? ClassFile(names: []) : try classOptions.read()
        let settings = maskCLIP.settings(synonyms: classes.synonyms)
        let synonyms: [[String]]
        do { synonyms = try settings.synonymLists(for: classes.names) } catch { throw ValidationError("\(error)") }
        let configuration = LabelConfiguration(
            modelDirectory: URL(fileURLWithPath: model), classNames: classes.names, synonyms: synonyms,
            templates: templates ?? (embeddings == nil ? settings.templates.rawValue : nil),
            embeddingsFile: embeddings, options: try MaskCLIPOptions(settings), precision: maskCLIP.precision, maxPixels: maxPixels,
            outputDirectory: URL(fileURLWithPath: out), images: images)
        let report = try LabelRun.run(configuration, logger: logger)
        for failure in report.failed {
            let line = failure.reason.contains(failure.image) ? failure.reason : "\(failure.image): \(failure.reason)"
            FileHandle.standardError.write(Data("labelmill: \(line)\n".utf8))
        }
        print("labeled \(report.labeled.count) of \(report.labeled.count + report.failed.count) images into \(out)")
        if !report.failed.isEmpty { throw ExitCode(1) }
    }
}

/// A job setting's help for its flag, from the one table of them (`JobSettings.described`), with the settings it
/// names given as flags. `withDefault` for an option with no value of its own (the mode's protocol picks it);
/// ArgumentParser shows the others' defaults.
func settingHelp(_ key: String, withDefault: Bool = false, adding: String = "") -> ArgumentHelp {
    let setting = JobSettings.described(key)
    var text = (withDefault ? setting.description : setting.help) + adding
    for other in JobSettings.described where other.key.contains(where: \.isUppercase) {
        let flag = other.key.map { $0.isUppercase ? "-" + $0.lowercased() : String($0) }.joined()
        text = text.replacingOccurrences(of: other.key, with: "--" + flag)
    }
    return ArgumentHelp(text)
}

/// The per-image MaskCLIP flags, shared by `label`, `run`, `submit` and `bench`. Numbers are read even when they
/// start with "-", so that a negative value is refused with its range instead of being taken for a flag.
struct MaskCLIPFlags: ParsableArguments {
    @Option(help: settingHelp("mode"))
    var mode: DenseMode = .maskclip

    @Option(parsing: .unconditional, help: settingHelp("promptDenoise", withDefault: true))
    var promptDenoise: Float?

    @Option(parsing: .unconditional, help: settingHelp("keySmoothing"))
    var keySmoothing: Float = 0

    @Option(parsing: .unconditional, help: settingHelp("shortSide", withDefault: true))
    var shortSide: Int?

    @Option(parsing: .unconditional, help: settingHelp("longSide"))
    var longSide = 2048

    @Option(parsing: .unconditional, help: settingHelp("window", withDefault: true))
    var window: Int?

    @Option(parsing: .unconditional, help: settingHelp("stride", withDefault: true))
    var stride: Int?

    @Option(parsing: .unconditional, help: settingHelp("pamrIterations", withDefault: true))
    var pamrIterations: Int?

    @Option(help: settingHelp("pamrDilations", adding: " Comma-separated."))
    var pamrDilations = "8,16"

    @Option(parsing: .unconditional, help: settingHelp("logitScale", withDefault: true))
    var logitScale: Float?

    @Option(parsing: .unconditional, help: settingHelp("minConfidence"))
    var minConfidence: Float = 0

    @Flag(help: settingHelp("saveConfidence", adding: " From label: OUT/confidence/<stem>.png."))
    var saveConfidence = false

    /// `--pamr-dilations` as numbers (their ranges are checked with the rest of the settings); a part that is not a
    /// number is -1 here and refused by `validate()`, as typed.
    var dilations: [Int] { pamrDilations.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) ?? -1 } }

    func validate() throws {
        if let bad = pamrDilations.split(separator: ",", omittingEmptySubsequences: false)
            .first(where: { Int($0.trimmingCharacters(in: .whitespaces)) == nil }) {
            throw ValidationError("--pamr-dilations \(pamrDilations): \(String(bad).debugDescription) is not a whole number (give pixels, comma-separated: 8,16)")
        }
    }

    @Option(help: settingHelp("preset"))
    var preset: Preset = .clip

    @Option(help: settingHelp("precision"))
    var precision: Precision = .fp32

    /// These flags as a job's settings (whose ranges are the one definition every command checks); what is not
    /// given (the templates too, when nil) takes the mode's protocol.
    func settings(templates: String? = nil, synonyms: [String: [String]] = [:]) -> JobSettings {
        JobSettings(mode: Named(mode), templates: templates.map(Named.init(rawValue:)), synonyms: synonyms, promptDenoise: promptDenoise,
                    keySmoothing: keySmoothing, shortSide: shortSide, longSide: longSide, window: window, stride: stride,
                    pamrIterations: pamrIterations, pamrDilations: dilations, logitScale: logitScale,
                    minConfidence: minConfidence, saveConfidence: saveConfidence, preset: Named(preset),
                    precision: Named(precision))
    }
}

extension JobSettings {
    /// `validate()`, reported as a usage error that names the flag (`--short-side`, not `shortSide`).
    func validateFlags() throws {
        do {
            try validate()
        } catch {
            let flag = "--" + error.field.replacingOccurrences(of: "([a-z])([A-Z])", with: "$1-$2", options: .regularExpression).lowercased()
            throw ValidationError("\(flag) \(error.value) is out of range: \(error.allowed)")
        }
    }
}

extension Preset: ExpressibleByArgument {}
extension DenseMode: ExpressibleByArgument {}
extension Precision: ExpressibleByArgument {}
