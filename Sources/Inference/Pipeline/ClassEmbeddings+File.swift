import Foundation

extension ClassEmbeddings {
    static let tensorName = "class_embeddings"

    public func write(to path: String) throws {
        let names = String(decoding: try JSONEncoder().encode(classNames), as: UTF8.self)
        var metadata = ["format": "labelmill.class-embeddings.v1", "classes": names, "model_sha256": modelSHA256,
                        "templates": templates, "template_count": String(templateCount)]
        // Written only when a class has synonyms: files without them stay as they were.
        if synonyms.contains(where: { !$0.isEmpty }) {
            metadata["synonyms"] = String(decoding: try JSONEncoder().encode(synonyms), as: UTF8.self)
        }
        try SafeTensorsWriter.write([.init(name: Self.tensorName, shape: [queryClasses.count, dimension], values: values)],
                                    metadata: metadata, to: path)
    }

    public init(contentsOf path: String) throws {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch let error as InferenceError {
            throw InferenceError(.badArgument, "class embeddings \(path): \(error.message)")
        }
        let meta = file.metadata
        guard meta["format"] == "labelmill.class-embeddings.v1", let namesJSON = meta["classes"],
              let names = try? JSONDecoder().decode([String].self, from: Data(namesJSON.utf8)),
              let sha = meta["model_sha256"], let templates = meta["templates"],
              let count = meta["template_count"].flatMap(Int.init),
              let synonyms = meta["synonyms"] == nil ? [] : try? JSONDecoder().decode([[String]].self, from: Data(meta["synonyms"]!.utf8)),
              synonyms.isEmpty || synonyms.count == names.count,
              let entry = file.entries[Self.tensorName], entry.shape.count == 2,
              entry.shape[0] == names.count + synonyms.reduce(0, { $0 + $1.count })
        else { throw InferenceError(.badArgument, "\(path) is not a labelmill class-embeddings file") }
        let tensor = try file.floats(Self.tensorName)
        self.init(classNames: names, synonyms: synonyms, dimension: entry.shape[1], values: Array(tensor.buffer),
                  modelSHA256: sha, templates: templates, templateCount: count)
    }
}
