/// How a job is labeled and scheduled; stored with the job as JSON, so adding a field with a default needs no
/// migration. `maxAttempts` and `leaseSeconds` are also copied into columns that the lease SQL reads.
public struct JobSettings: Codable, Sendable, Equatable, Hashable {
    /// How CLIP's last block becomes dense features (docs/DENSE-MODES.md).
    public var mode: Named<DenseMode> = Named(.maskclip)
    /// Prompt template set used for the class embeddings (the mode's by default), or templates carried inline
    /// (`inlineTemplatesPrefix`).
    public var templates: Named<TemplateSet> = Named(.maskclip85)
    /// A class's further names, by class name ("person": ["person in shirt", "person in jacket"]): each name is a
    /// query of its own, and the class's probability is the best of its names'.
    public var synonyms: [String: [String]] = [:]
    /// The scale of the softmax over the queries' cosines that gives each pixel's confidence: 100 (CLIP's) in mode
    /// maskclip, the papers' in the others.
    public var logitScale: Float = 100
    /// Pixels whose best class probability is below this become void (255); 0 turns it off.
    public var minConfidence: Float = 0
    /// Whether each image also gets a confidence map (its best class probability × 255, an 8-bit PNG), which
    /// workers upload and `export` writes as confidence/<id>.png.
    public var saveConfidence: Bool = false
    /// MaskCLIP's prompt denoising: on (0.5) in mode maskclip on the whole image, off (0) otherwise unless given.
    public var promptDenoise: Float = 0.5
    public var keySmoothing: Float = 0
    /// Resize bounds of the input image, in pixels.
    public var shortSide: Int = 512
    public var longSide: Int = 2048
    /// Sliding windows of this side over the resized image; 0 labels the whole image at once.
    public var window: Int = 0
    /// The windows' step; 0 is half the window.
    public var stride: Int = 0
    /// PAMR refinement of the full-size scores: iterations (0 = off) and neighbour dilations in pixels.
    public var pamrIterations: Int = 0
    public var pamrDilations: [Int] = [8, 16]
    public var preset: Named<Preset> = Named(.clip)
    /// The image encoder's number format (docs/PRECISION.md): fp32 (the default: every machine gives the same
    /// labels), bf16 (products in bf16, accumulated in fp32, where the CPU has them) or auto (each worker's own
    /// `--precision`, by default bf16 where that is faster than fp32 on its CPU).
    public var precision: Named<Precision> = Named(.fp32)
    /// Images per task.
    public var shardSize: Int = 8
    /// The manifest's lines are WebDataset tar shards, not images: each shard is one task, its samples are found by
    /// the worker that reads it, and its labels come out as an output shard of the same name (docs/SHARDS.md).
    public var tarShards: Bool = false
    /// Where workers write the labels (`s3://bucket/prefix/` or `file:///shared/folder/`, docs/STORAGE.md) and report a
    /// receipt of each; nil: labels are uploaded to and kept by the coordinator.
    public var output: String?
    /// Leases of a task that may expire before it is dead-lettered.
    public var maxAttempts: Int = 3
    /// Lease length when the worker does not ask for another.
    public var leaseSeconds: Double = 60

    /// Settings left out take their mode's published protocol (`defaults(mode:)`).
    public init(
        mode: Named<DenseMode> = Named(.maskclip), templates: Named<TemplateSet>? = nil, synonyms: [String: [String]] = [:], promptDenoise: Float? = nil,
        keySmoothing: Float = 0, shortSide: Int? = nil, longSide: Int = 2048, window: Int? = nil, stride: Int? = nil,
        pamrIterations: Int? = nil, pamrDilations: [Int] = [8, 16], logitScale: Float? = nil, minConfidence: Float = 0,
        saveConfidence: Bool = false, preset: Named<Preset> = Named(.clip), precision: Named<Precision> = Named(.fp32),
        shardSize: Int = 8, maxAttempts: Int = 3, leaseSeconds: Double = 60
    ) {
        let protocolOf = (mode.known ?? .maskclip).defaults
        self.mode = mode
        self.shortSide = shortSide ?? protocolOf.shortSide
        self.window = window ?? protocolOf.window
        // The protocol's stride goes with its window; another window's default stride is half of it (0).
        self.stride = stride ?? (window == nil ? protocolOf.stride : 0)
        self.pamrIterations = pamrIterations ?? protocolOf.pamrIterations
        self.pamrDilations = pamrDilations
        self.templates = templates ?? Named(protocolOf.templates)
        self.synonyms = synonyms
        self.logitScale = logitScale ?? protocolOf.logitScale
        self.minConfidence = minConfidence
        self.saveConfidence = saveConfidence
        self.promptDenoise = promptDenoise ?? (mode.known ?? .maskclip).defaultPromptDenoise(window: self.window)
        self.keySmoothing = keySmoothing
        self.longSide = longSide
        self.preset = preset
        self.precision = precision
        self.shardSize = shardSize
        self.maxAttempts = maxAttempts
        self.leaseSeconds = leaseSeconds
    }

    /// Decodes missing keys as their defaults, so clients may send only what they change.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let mode = try c.decodeIfPresent(Named<DenseMode>.self, forKey: .mode) ?? Named(.maskclip)
        let d = JobSettings(
            mode: mode, promptDenoise: try c.decodeIfPresent(Float.self, forKey: .promptDenoise),
            shortSide: try c.decodeIfPresent(Int.self, forKey: .shortSide), window: try c.decodeIfPresent(Int.self, forKey: .window),
            stride: try c.decodeIfPresent(Int.self, forKey: .stride), pamrIterations: try c.decodeIfPresent(Int.self, forKey: .pamrIterations),
            logitScale: try c.decodeIfPresent(Float.self, forKey: .logitScale))
        self.mode = mode
        (promptDenoise, shortSide, window, stride, pamrIterations, logitScale) =
            (d.promptDenoise, d.shortSide, d.window, d.stride, d.pamrIterations, d.logitScale)
        templates = try c.decodeIfPresent(Named<TemplateSet>.self, forKey: .templates) ?? d.templates
        synonyms = try c.decodeIfPresent([String: [String]].self, forKey: .synonyms) ?? d.synonyms
        minConfidence = try c.decodeIfPresent(Float.self, forKey: .minConfidence) ?? d.minConfidence
        saveConfidence = try c.decodeIfPresent(Bool.self, forKey: .saveConfidence) ?? d.saveConfidence
        keySmoothing = try c.decodeIfPresent(Float.self, forKey: .keySmoothing) ?? d.keySmoothing
        longSide = try c.decodeIfPresent(Int.self, forKey: .longSide) ?? d.longSide
        pamrDilations = try c.decodeIfPresent([Int].self, forKey: .pamrDilations) ?? d.pamrDilations
        preset = try c.decodeIfPresent(Named<Preset>.self, forKey: .preset) ?? d.preset
        precision = try c.decodeIfPresent(Named<Precision>.self, forKey: .precision) ?? d.precision
        shardSize = try c.decodeIfPresent(Int.self, forKey: .shardSize) ?? d.shardSize
        tarShards = try c.decodeIfPresent(Bool.self, forKey: .tarShards) ?? d.tarShards
        output = try c.decodeIfPresent(String.self, forKey: .output)
        maxAttempts = try c.decodeIfPresent(Int.self, forKey: .maxAttempts) ?? d.maxAttempts
        leaseSeconds = try c.decodeIfPresent(Double.self, forKey: .leaseSeconds) ?? d.leaseSeconds
    }

}

/// A setting outside its allowed values: names the field, the value and what is allowed.
public struct SettingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var value: String
    public var allowed: String

    public init(field: String, value: String, allowed: String) { (self.field, self.value, self.allowed) = (field, value, allowed) }

    public var description: String { "\(field) = \(value) is not allowed: \(allowed)" }
}

extension JobSettings {
    /// The allowed values of every setting, in one place: `submit`, `run` and `label` check them before they
    /// start, the coordinator refuses a job that breaks one (400 naming the field), and a worker refuses to run a
    /// task whose settings break one. The image sides bound the tokens per image (the encoder's attention is
    /// quadratic in them), and so a worker's memory.
    public static let promptDenoiseRange: ClosedRange<Float> = 0...1
    public static let keySmoothingRange: ClosedRange<Float> = 0...1
    public static let shortSideRange = 16...2048
    public static let longSideRange = 16...4096
    /// A window at least one ViT-L/14 patch and at most the largest short side; 0 is the whole image.
    public static let windowRange = 14...2048
    public static let pamrIterationsRange = 0...50
    public static let pamrDilationRange = 1...256
    public static let pamrDilationCount = 1...8
    public static let logitScaleRange: ClosedRange<Float> = 1...1000
    public static let minConfidenceRange: ClosedRange<Float> = 0...1
    /// Synonyms of all classes together: every name is a column of the scores, which sliding windows keep at the
    /// resized image's size.
    public static let maxSynonyms = 1000
    public static let shardSizeRange = 1...10_000
    public static let maxAttemptsRange = 1...100
    public static let leaseSecondsRange: ClosedRange<Double> = 1...86_400
    /// Each class's synonyms in class order (empty where it has none), after checking that every class the
    /// synonyms name is one of `classes`. The names themselves are checked with the class names (Inference's
    /// `ClassEmbeddings.validate`).
    public func synonymLists(for classes: [String]) throws(SettingError) -> [[String]] {
        let known = Set(classes)
        if let unknown = synonyms.keys.sorted().first(where: { !known.contains($0) }) {
            throw SettingError(field: "synonyms", value: unknown.debugDescription, allowed: "synonyms of the job's classes only")
        }
        return classes.map { synonyms[$0] ?? [] }
    }

    /// Marks templates carried in the setting itself, one per line (how a job sends a user's template file).
    public static let inlineTemplatesPrefix = "inline:"
    public static let maxInlineTemplates = 1000
    public static let maxInlineTemplateBytes = 64 << 10

    /// Throws the first setting that is out of range.
    public func validate() throws(SettingError) {
        func check<T: Comparable>(_ field: String, _ value: T, _ range: ClosedRange<T>) throws(SettingError) {
            guard range.contains(value) else {
                throw SettingError(field: field, value: "\(value)", allowed: "\(range.lowerBound) to \(range.upperBound)")
            }
        }
        let mode = try Self.known("mode", mode)
        if let lines = inlineTemplates {
            let bytes = templates.rawValue.utf8.count
            if bytes > Self.maxInlineTemplateBytes || lines.isEmpty || lines.count > Self.maxInlineTemplates {
                throw SettingError(field: "templates", value: "\(lines.count) inline templates (\(bytes) bytes)",
                                   allowed: "1 to \(Self.maxInlineTemplates) templates, at most \(Self.maxInlineTemplateBytes) bytes")
            }
        } else if templates.known == nil {
            throw SettingError(field: "templates", value: templates.rawValue.debugDescription,
                               allowed: "\(TemplateSet.allCases.map(\.rawValue).joined(separator: ", ")), or \(Self.inlineTemplatesPrefix) "
                                   + "followed by templates one per line")
        }
        if !promptDenoise.isFinite { throw SettingError(field: "promptDenoise", value: "\(promptDenoise)", allowed: "a finite number") }
        try check("promptDenoise", promptDenoise, Self.promptDenoiseRange)
        if !keySmoothing.isFinite { throw SettingError(field: "keySmoothing", value: "\(keySmoothing)", allowed: "a finite number") }
        try check("keySmoothing", keySmoothing, Self.keySmoothingRange)
        if keySmoothing != 0 && !mode.hasKeySmoothing {
            throw SettingError(field: "keySmoothing", value: "\(keySmoothing)",
                               allowed: "0 in mode \(mode) (key smoothing uses MaskCLIP's last-block keys)")
        }
        try check("shortSide", shortSide, Self.shortSideRange)
        try check("longSide", longSide, max(shortSide, Self.longSideRange.lowerBound)...Self.longSideRange.upperBound)
        if window != 0 && !Self.windowRange.contains(window) {
            throw SettingError(field: "window", value: "\(window)",
                               allowed: "0 (the whole image at once) or \(Self.windowRange.lowerBound) to \(Self.windowRange.upperBound)")
        }
        if window == 0 && stride != 0 {
            throw SettingError(field: "stride", value: "\(stride)", allowed: "0 without a window (the whole image is one pass)")
        }
        if window != 0 { try check("stride", stride, 0...window) }
        try check("pamrIterations", pamrIterations, Self.pamrIterationsRange)
        if !Self.pamrDilationCount.contains(pamrDilations.count) || !pamrDilations.allSatisfy(Self.pamrDilationRange.contains) {
            throw SettingError(field: "pamrDilations", value: pamrDilations.map(String.init).joined(separator: ","),
                               allowed: "\(Self.pamrDilationCount.lowerBound) to \(Self.pamrDilationCount.upperBound) dilations, each "
                                   + "\(Self.pamrDilationRange.lowerBound) to \(Self.pamrDilationRange.upperBound) pixels")
        }
        if !logitScale.isFinite { throw SettingError(field: "logitScale", value: "\(logitScale)", allowed: "a finite number") }
        try check("logitScale", logitScale, Self.logitScaleRange)
        if !minConfidence.isFinite { throw SettingError(field: "minConfidence", value: "\(minConfidence)", allowed: "a finite number") }
        try check("minConfidence", minConfidence, Self.minConfidenceRange)
        if (minConfidence != 0 || saveConfidence) && keySmoothing != 0 {
            throw SettingError(field: minConfidence != 0 ? "minConfidence" : "saveConfidence",
                               value: minConfidence != 0 ? "\(minConfidence)" : "true",
                               allowed: "\(minConfidence != 0 ? "0" : "false") with key smoothing (its scores are smoothed probabilities, not cosines)")
        }
        let synonymCount = synonyms.values.reduce(0) { $0 + $1.count }
        if synonymCount > Self.maxSynonyms {
            throw SettingError(field: "synonyms", value: "\(synonymCount) names", allowed: "at most \(Self.maxSynonyms) synonyms in all")
        }
        if window != 0 && (promptDenoise != 0 || keySmoothing != 0) {
            throw SettingError(field: promptDenoise != 0 ? "promptDenoise" : "keySmoothing",
                               value: "\(promptDenoise != 0 ? promptDenoise : keySmoothing)",
                               allowed: "0 with sliding windows (MaskCLIP's refinements run on the whole image)")
        }
        _ = try Self.known("preset", preset)
        _ = try Self.known("precision", precision)
        try check("shardSize", shardSize, Self.shardSizeRange)
        try check("maxAttempts", maxAttempts, Self.maxAttemptsRange)
        if !leaseSeconds.isFinite { throw SettingError(field: "leaseSeconds", value: "\(leaseSeconds)", allowed: "a finite number") }
        try check("leaseSeconds", leaseSeconds, Self.leaseSecondsRange)
        if let output { _ = try OutputLocation(output) }
    }

    /// A named setting's value, or a `SettingError` naming it and the names this build knows.
    public static func known<Value>(_ field: String, _ named: Named<Value>) throws(SettingError) -> Value {
        guard let value = named.known else {
            throw SettingError(field: field, value: named.rawValue.debugDescription, allowed: Value.allowedNames)
        }
        return value
    }

    /// The templates carried in the setting, one a line; nil when it names a set.
    public var inlineTemplates: [Substring]? {
        guard templates.rawValue.hasPrefix(Self.inlineTemplatesPrefix) else { return nil }
        return templates.rawValue.dropFirst(Self.inlineTemplatesPrefix.count).split(whereSeparator: \.isNewline)
    }

    /// The parsed `output`; nil when labels go to the coordinator (or the setting is invalid: `validate` says so).
    public var outputLocation: OutputLocation? { output.flatMap { try? OutputLocation($0) } }
}
