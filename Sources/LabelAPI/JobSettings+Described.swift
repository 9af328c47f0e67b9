/// One setting as users read about it. `JobSettings.described` is the one table of them: the CLI's help and the
/// OpenAPI document's `JobSettingsInput` (descriptions and allowed values; a test keeps the document equal to it)
/// come from here, and the ranges are the ones `JobSettings.validate` checks.
public struct SettingDescription: Sendable, Equatable {
    public enum Allowed: Sendable, Equatable {
        case integers(ClosedRange<Int>)
        case numbers(ClosedRange<Double>)
        /// One of these names.
        case names([String])
        /// A string matching this regular expression.
        case pattern(String)
        /// A list of `count` integers, each in the range.
        case integerList(ClosedRange<Int>, count: ClosedRange<Int>)
        /// What the type allows (further rules in the help).
        case any
    }

    /// The JSON key; the CLI's flag is its kebab-case.
    public let key: String
    /// What it does and its rules.
    public let help: String
    /// Its default, in words (a mode's protocol sets some).
    public let `default`: String
    public let allowed: Allowed

    /// The help and the default: the API document's description.
    public var description: String { "\(help) Default: \(`default`)." }
}

extension JobSettings {
    public static let described: [SettingDescription] = [
        SettingDescription(
            key: "mode",
            help: "How CLIP's last block becomes dense features (docs/DENSE-MODES.md): \(DenseMode.allowedNames). The settings a job "
                + "leaves out take the mode's published protocol.",
            default: JobSettings().mode.rawValue,
            allowed: .names(DenseMode.allCases.map(\.rawValue))),
        SettingDescription(
            key: "templates",
            help: "Prompt templates: \(TemplateSet.allowedNames), or \(inlineTemplatesPrefix) followed by one template per line, "
                + "each containing {} exactly once (the CLI sends a template file inline).",
            default: byMode { $0.defaults.templates.rawValue },
            allowed: .pattern("^(" + TemplateSet.allCases.map(\.rawValue).joined(separator: "|") + "|\(inlineTemplatesPrefix)[\\s\\S]*)$")),
        SettingDescription(
            key: "synonyms",
            help: "A class's further names, by class name: each name is a query of its own (its own row of class embeddings), and "
                + "a class's probability is the best of its names'. Keys must be classes of the job; every name must be unique "
                + "among all classes and synonyms; at most \(maxSynonyms) synonyms in all. A classes file's line "
                + "`person, person in shirt` gives the class `person` the synonym `person in shirt`.",
            default: "none",
            allowed: .any),
        SettingDescription(
            key: "promptDenoise",
            help: "MaskCLIP's prompt-denoising threshold, \(range(promptDenoiseRange)); 0 turns it off. It runs on the whole image: "
                + "0 with a window.",
            default: "0.5 in mode maskclip without a window, else 0",
            allowed: .numbers(Double(promptDenoiseRange.lowerBound)...Double(promptDenoiseRange.upperBound))),
        SettingDescription(
            key: "keySmoothing",
            help: "MaskCLIP's key-smoothing threshold, \(range(keySmoothingRange)) (the paper uses 1); 0 turns it off. Mode maskclip "
                + "only, on the whole image; its scores are smoothed probabilities, so minConfidence must be 0 and saveConfidence "
                + "false.",
            default: number(JobSettings().keySmoothing),
            allowed: .numbers(Double(keySmoothingRange.lowerBound)...Double(keySmoothingRange.upperBound))),
        SettingDescription(
            key: "shortSide",
            help: "Resize so the short side is this long, \(range(shortSideRange)), unless the long side would pass longSide.",
            default: byMode { "\($0.defaults.shortSide)" },
            allowed: .integers(shortSideRange)),
        SettingDescription(
            key: "longSide",
            help: "The long side's cap after resizing, from shortSide to \(longSideRange.upperBound).",
            default: "\(JobSettings().longSide)",
            allowed: .integers(longSideRange)),
        SettingDescription(
            key: "window",
            help: "Sliding windows of this side over the resized image, \(range(windowRange)); 0 labels the whole image at once. With windows, promptDenoise "
                + "and keySmoothing must be 0.",
            default: byMode { "\($0.defaults.window)" },
            allowed: .integers(0...windowRange.upperBound)),
        SettingDescription(
            key: "stride",
            help: "The windows' step in pixels, at most the window; 0 is half the window, and the only stride without one.",
            default: "with the mode's window, the mode's (" + byMode { "\($0.defaults.stride)" } + "); else 0",
            allowed: .integers(0...windowRange.upperBound)),
        SettingDescription(
            key: "pamrIterations",
            help: "PAMR refinement iterations on the full-size scores, \(range(pamrIterationsRange)); 0 is off.",
            default: byMode { "\($0.defaults.pamrIterations)" },
            allowed: .integers(pamrIterationsRange)),
        SettingDescription(
            key: "pamrDilations",
            help: "PAMR's neighbour dilations in pixels: \(range(pamrDilationCount)) of them, each \(range(pamrDilationRange)).",
            default: JobSettings().pamrDilations.map(String.init).joined(separator: ", "),
            allowed: .integerList(pamrDilationRange, count: pamrDilationCount)),
        SettingDescription(
            key: "logitScale",
            help: "The scale of the softmax over all names' cosines that gives each pixel's probability, \(range(logitScaleRange)) "
                + "(docs/DENSE-MODES.md §2): it changes no label by itself, only the confidence and what minConfidence makes void.",
            default: byMode { number($0.defaults.logitScale) },
            allowed: .numbers(Double(logitScaleRange.lowerBound)...Double(logitScaleRange.upperBound))),
        SettingDescription(
            key: "minConfidence",
            help: "Pixels whose best class probability is below this become void (255), \(range(minConfidenceRange)); 0 is off. "
                + "Must be 0 with keySmoothing.",
            default: number(JobSettings().minConfidence),
            allowed: .numbers(Double(minConfidenceRange.lowerBound)...Double(minConfidenceRange.upperBound))),
        SettingDescription(
            key: "saveConfidence",
            help: "Each image also gets a confidence map: its best class probability × 255, an 8-bit grayscale PNG, which an "
                + "export writes as confidence/<id>.png. Must be false with keySmoothing.",
            default: "\(JobSettings().saveConfidence)",
            allowed: .any),
        SettingDescription(
            key: "preset",
            help: "Numeric conventions of the image side: clip (the checkpoint's GELU and LayerNorm eps, CLIP's mean and std) or "
                + "reference (the MaskCLIP code's: exact-erf GELU, eps 1e-6, ImageNet's mean and std).",
            default: JobSettings().preset.rawValue,
            allowed: .names(Preset.allCases.map(\.rawValue))),
        SettingDescription(
            key: "precision",
            help: "The image encoder's number format (docs/PRECISION.md): fp32 (the same labels on every machine), bf16 (products "
                + "in bf16 with fp32 accumulation where the CPU has AVX512-BF16 or AMX, fp32 elsewhere) or auto (bf16 where it is "
                + "faster than fp32; a job's auto leaves it to each worker's --precision).",
            default: JobSettings().precision.rawValue,
            allowed: .names(Precision.allCases.map(\.rawValue))),
        SettingDescription(
            key: "shardSize",
            help: "Images per task, \(range(shardSizeRange)).",
            default: "\(JobSettings().shardSize)",
            allowed: .integers(shardSizeRange)),
        SettingDescription(
            key: "tarShards",
            help: "The manifest's lines are WebDataset tar shards, not images: each shard is one task, the worker that reads it "
                + "finds its samples, and the labels come out as an output shard of the same name (docs/SHARDS.md).",
            default: "\(JobSettings().tarShards)",
            allowed: .any),
        SettingDescription(
            key: "output",
            help: "Where workers write the labels instead of uploading them: s3://bucket/prefix/ or file:///shared/folder/ "
                + "(normalized to end in /), reporting a receipt of each. The coordinator never holds credentials for it "
                + "(docs/STORAGE.md).",
            default: "none: the coordinator keeps the labels",
            allowed: .any),
        SettingDescription(
            key: "maxAttempts",
            help: "Attempts per task (leases that ran out, workers that could not prepare the job) before its images fail, "
                + "\(range(maxAttemptsRange)).",
            default: "\(JobSettings().maxAttempts)",
            allowed: .integers(maxAttemptsRange)),
        SettingDescription(
            key: "leaseSeconds",
            help: "Lease length in seconds when the worker asks for none, \(range(leaseSecondsRange)); workers heartbeat every "
                + "third.",
            default: number(JobSettings().leaseSeconds),
            allowed: .numbers(leaseSecondsRange)),
    ]

    /// One setting of `described`.
    public static func described(_ key: String) -> SettingDescription {
        guard let setting = described.first(where: { $0.key == key }) else { preconditionFailure("no setting \(key) is described") }
        return setting
    }

    /// "512 in mode maskclip, 448 clearclip, 336 sclip, naclip and scclip": a protocol's value in each mode.
    static func byMode(_ value: (DenseMode) -> String) -> String {
        var groups: [(value: String, modes: [String])] = []
        for mode in DenseMode.allCases {
            let text = value(mode)
            if let index = groups.firstIndex(where: { $0.value == text }) {
                groups[index].modes.append(mode.rawValue)
            } else {
                groups.append((text, [mode.rawValue]))
            }
        }
        return groups.enumerated().map { index, group in "\(group.value) \(index == 0 ? "in mode " : "")\(spoken(group.modes, or: false))" }
            .joined(separator: ", ")
    }

    private static func range<T: BinaryFloatingPoint>(_ range: ClosedRange<T>) -> String { "\(number(range.lowerBound)) to \(number(range.upperBound))" }
    private static func range(_ range: ClosedRange<Int>) -> String { "\(range.lowerBound) to \(range.upperBound)" }

    /// 100 rather than 100.0.
    private static func number<T: BinaryFloatingPoint>(_ value: T) -> String {
        value == value.rounded() && abs(value) < 1e15 ? "\(Int64(value))" : "\(Double(value))"
    }
}
