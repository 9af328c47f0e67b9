import Foundation

/// The text side of a job: one unit vector per class, [K, E], computed once and handed to every worker.
/// Saved as a safetensors file whose metadata records the weights' sha256 and the settings it was made with,
/// so it is never used with another model.
public struct ClassEmbeddings: Sendable, Equatable {
    public let classNames: [String]
    public let dimension: Int
    /// [K, E], row-major, unit rows.
    public let values: [Float]
    public let modelSHA256: String
    public let templates: String
    public let templateCount: Int

    public static let maximumClasses = 255  // label value 255 is void
    /// Longer names cannot fit CLIP's text context (77 tokens) anyway.
    public static let maximumNameBytes = 1000

    /// Checks class names: 1...255 of them, non-empty, at most 1000 bytes, unique.
    public static func validate(classNames: [String]) throws {
        guard !classNames.isEmpty else { throw InferenceError(.badArgument, "no class names given") }
        guard classNames.count <= maximumClasses else {
            throw InferenceError(.badArgument, "\(classNames.count) classes: at most \(maximumClasses) fit an 8-bit label map (255 is void)")
        }
        var seen = Set<String>()
        for (i, name) in classNames.enumerated() {
            guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw InferenceError(.badArgument, "class \(i) has an empty name")
            }
            guard name.utf8.count <= maximumNameBytes else {
                throw InferenceError(.badArgument, "class \(i) (\(name.prefix(40).debugDescription)...) has \(name.utf8.count) bytes: at most \(maximumNameBytes) fit the text context")
            }
            guard seen.insert(name).inserted else { throw InferenceError(.badArgument, "class \"\(name)\" is listed twice") }
        }
    }

    /// Every class in every template through the text tower; each prompt embedding is L2-normalised, the
    /// template average per class is L2-normalised again.
    public static func compute(model: CLIPModel, classNames: [String], templates: PromptTemplates,
                               modelSHA256: String) throws -> ClassEmbeddings {
        try validate(classNames: classNames)
        let sequences = try classNames.flatMap { name in
            try templates.prompts(for: name).map { try model.tokenizer.encode($0) }
        }
        let settings = BlockSettings(eps: model.config.text.layerNormEps,
                                     activation: try Activation(configName: model.config.text.hiddenAct))
        var prompts = try model.text.embed(sequences, endOfText: model.tokenizer.endOfText, settings: settings)
        normalizeRows(&prompts)
        let (e, t) = (prompts.cols, templates.templates.count)
        var classes = Matrix(rows: classNames.count, cols: e)
        for k in 0..<classNames.count {
            for p in 0..<t {
                for c in 0..<e { classes[k, c] += prompts[k * t + p, c] }
            }
        }
        normalizeRows(&classes)
        return ClassEmbeddings(classNames: classNames, dimension: e, values: classes.data, modelSHA256: modelSHA256,
                               templates: templates.name, templateCount: t)
    }


    /// Fails unless these embeddings were made with the weights whose sha256 is `sha256`.
    public func check(modelSHA256 sha256: String) throws {
        guard sha256 == modelSHA256 else {
            throw InferenceError(.badArgument, "class embeddings were made with model \(modelSHA256.prefix(12)), not \(sha256.prefix(12))")
        }
    }
}
