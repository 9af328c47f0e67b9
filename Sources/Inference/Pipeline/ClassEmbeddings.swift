import Foundation

/// The text side of a job: one unit vector per query, [Q, E], computed once and handed to every worker. A class
/// is one query (its name), or several when it has synonyms. Saved as a safetensors file whose metadata records
/// the weights' sha256 and the settings it was made with, so it is never used with another model.
public struct ClassEmbeddings: Sendable, Equatable {
    public let classNames: [String]
    /// Each class's further names, in class order; empty where a class has none.
    public let synonyms: [[String]]
    public let dimension: Int
    /// [Q, E], row-major, unit rows: class after class, its name and then its synonyms.
    public let values: [Float]
    public let modelSHA256: String
    public let templates: String
    public let templateCount: Int
    /// The class of each row of `values`.
    public let queryClasses: [Int]

    public init(classNames: [String], synonyms: [[String]] = [], dimension: Int, values: [Float], modelSHA256: String,
                templates: String, templateCount: Int) {
        self.classNames = classNames
        self.synonyms = synonyms.isEmpty ? classNames.map { _ in [] } : synonyms
        self.dimension = dimension
        self.values = values
        self.modelSHA256 = modelSHA256
        self.templates = templates
        self.templateCount = templateCount
        queryClasses = self.synonyms.enumerated().flatMap { Array(repeating: $0.offset, count: 1 + $0.element.count) }
    }

    /// Every class's names in query order: its name, then its synonyms.
    static func queries(classNames: [String], synonyms: [[String]]) -> [String] {
        classNames.enumerated().flatMap { [$0.element] + (synonyms.isEmpty ? [] : synonyms[$0.offset]) }
    }

    public static let maximumClasses = 255  // label value 255 is void
    /// Longer names cannot fit CLIP's text context (77 tokens) anyway.
    public static let maximumNameBytes = 1000

    /// Checks class names and their synonyms (none, or one list per class): 1...255 classes, every name
    /// non-empty, at most 1000 bytes and unique among all classes and synonyms.
    /// A name is one line of text: a tab, a line break or a NUL in it would break the formats that list classes
    /// (CVAT's labels, results files) and is never meant.
    static func refuseControlCharacters(_ name: String, _ what: String) throws {
        guard let bad = name.unicodeScalars.first(where: { $0.properties.generalCategory == .control }) else { return }
        throw InferenceError(.badArgument, "\(what) holds the control character U+\(String(bad.value, radix: 16, uppercase: true).leftPadded4): "
                             + "class names are one line of text")
    }

    public static func validate(classNames: [String], synonyms: [[String]] = []) throws {
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
            try refuseControlCharacters(name, "class \(i) \(name.debugDescription)")
            guard seen.insert(name).inserted else { throw InferenceError(.badArgument, "class \"\(name)\" is listed twice") }
        }
        guard synonyms.isEmpty || synonyms.count == classNames.count else {
            throw InferenceError(.badArgument, "\(synonyms.count) synonym lists for \(classNames.count) classes")
        }
        for (i, names) in synonyms.enumerated() {
            for name in names {
                guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw InferenceError(.badArgument, "class \"\(classNames[i])\" has an empty synonym")
                }
                guard name.utf8.count <= maximumNameBytes else {
                    throw InferenceError(.badArgument, "a synonym of \"\(classNames[i])\" has \(name.utf8.count) bytes: at most \(maximumNameBytes) fit the text context")
                }
                try refuseControlCharacters(name, "a synonym of \"\(classNames[i])\", \(name.debugDescription),")
                guard seen.insert(name).inserted else {
                    throw InferenceError(.badArgument, "\"\(name)\", a synonym of \"\(classNames[i])\", is already a class or a synonym: "
                                         + "a name may belong to one class only")
                }
            }
        }
    }

    /// Every class in every template through the text tower; each prompt embedding is L2-normalised, the
    /// template average per class is L2-normalised again.
    public static func compute(model: CLIPModel, classNames: [String], synonyms: [[String]] = [], templates: PromptTemplates,
                               modelSHA256: String) throws -> ClassEmbeddings {
        try validate(classNames: classNames, synonyms: synonyms)
        let queries = queries(classNames: classNames, synonyms: synonyms)
        let sequences = try queries.flatMap { name in
            try templates.prompts(for: name).map { try model.tokenizer.encode($0) }
        }
        let settings = BlockSettings(eps: model.config.text.layerNormEps,
                                     activation: try Activation(configName: model.config.text.hiddenAct))
        var prompts = try model.text.embed(sequences, endOfText: model.tokenizer.endOfText, settings: settings)
        normalizeRows(&prompts)
        let (e, t) = (prompts.cols, templates.templates.count)
        var rows = Matrix(rows: queries.count, cols: e)
        for q in 0..<queries.count {
            for p in 0..<t {
                for c in 0..<e { rows[q, c] += prompts[q * t + p, c] }
            }
        }
        normalizeRows(&rows)
        return ClassEmbeddings(classNames: classNames, synonyms: synonyms, dimension: e, values: rows.data,
                               modelSHA256: modelSHA256, templates: templates.name, templateCount: t)
    }


    /// Fails unless these embeddings were made with the weights whose sha256 is `sha256`.
    public func check(modelSHA256 sha256: String) throws {
        guard sha256 == modelSHA256 else {
            throw InferenceError(.badArgument, "class embeddings were made with model \(modelSHA256.prefix(12)), not \(sha256.prefix(12))")
        }
    }
}

private extension String {
    var leftPadded4: String { String(repeating: "0", count: max(0, 4 - count)) + self }
}
