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
            templates: templates ?? (embeddings == nil ? settings.templates : nil),
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

/// The per-image MaskCLIP flags, shared by `label`, `run`, `submit` and `bench`. Numbers are read even when they
/// start with "-", so that a negative value is refused with its range instead of being taken for a flag.
struct MaskCLIPFlags: ParsableArguments {
    @Option(help: "How CLIP's last block becomes dense features: maskclip (the default), clearclip, sclip, naclip or scclip; the settings not given take the mode's published protocol (docs/DENSE-MODES.md).")
    var mode: DenseMode = .maskclip

    @Option(parsing: .unconditional, help: "Prompt-denoising threshold (0 turns it off; default 0.5 in mode maskclip, 0 in the others).")
    var promptDenoise: Float?

    @Option(parsing: .unconditional, help: "Key-smoothing threshold (0 turns it off; the paper uses 1.0).")
    var keySmoothing: Float = 0

    @Option(parsing: .unconditional, help: "Resize so the short side is this long (default: 512 in mode maskclip, 448 clearclip, 336 sclip, naclip and scclip)...")
    var shortSide: Int?

    @Option(parsing: .unconditional, help: "...unless the long side would exceed this.")
    var longSide = 2048

    @Option(parsing: .unconditional, help: "Sliding windows of this side over the resized image (0: the whole image at once; default: 0 in mode maskclip, 448 clearclip, 224 sclip, naclip and scclip).")
    var window: Int?

    @Option(parsing: .unconditional, help: "The windows' step in pixels (0: half the window; default: the mode's, 224 clearclip, 112 sclip, naclip and scclip).")
    var stride: Int?

    @Option(parsing: .unconditional, help: "PAMR refinement iterations on the full-size scores (0: off; default 10 in mode naclip, 0 in the others).")
    var pamrIterations: Int?

    @Option(help: "PAMR's neighbour dilations in pixels, comma-separated.")
    var pamrDilations = "8,16"

    @Option(parsing: .unconditional, help: "The scale of the softmax over the classes' cosines that gives each pixel's confidence (default: 100 in mode maskclip, 50 clearclip, 40 sclip, naclip and scclip).")
    var logitScale: Float?

    @Option(parsing: .unconditional, help: "Pixels whose best class probability is below this become void (255); 0: off.")
    var minConfidence: Float = 0

    @Flag(help: "Also write each image's confidence map (its best class probability × 255, an 8-bit grayscale PNG): OUT/confidence/<stem>.png from label, confidence/<id>.png in an export.")
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

    @Option(help: "clip (the checkpoint's GELU, eps and CLIP statistics) or reference (MaskCLIP code's: erf GELU, eps 1e-6, ImageNet statistics).")
    var preset: Preset = .clip

    @Option(help: "The image encoder's number format: fp32 (the same labels on every machine), bf16 (products in bf16 with fp32 accumulation, on CPUs with AVX512-BF16 or AMX) or auto (bf16 where it is faster than fp32 here; a job's auto leaves it to each worker). docs/PRECISION.md.")
    var precision: Precision = .fp32

    /// These flags as a job's settings (whose ranges are the one definition every command checks); what is not
    /// given (the templates too, when nil) takes the mode's protocol.
    func settings(templates: String? = nil, synonyms: [String: [String]] = [:]) -> JobSettings {
        JobSettings(mode: mode.rawValue, templates: templates, synonyms: synonyms, promptDenoise: promptDenoise,
                    keySmoothing: keySmoothing, shortSide: shortSide, longSide: longSide, window: window, stride: stride,
                    pamrIterations: pamrIterations, pamrDilations: dilations, logitScale: logitScale,
                    minConfidence: minConfidence, saveConfidence: saveConfidence, preset: preset.rawValue,
                    precision: precision.rawValue)
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
