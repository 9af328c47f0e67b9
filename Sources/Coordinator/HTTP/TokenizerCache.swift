import Foundation
import Inference
import Synchronization

/// The tokenizer of each registered model, loaded once, so that a job whose class names do not fit the model's
/// text context is refused at submit (400 naming the class) instead of failing later on every worker.
final class TokenizerCache: Sendable {
    private let tokenizers = Mutex<[String: CLIPTokenizer]>([:])

    /// Every class's names (its name and its synonyms, `synonyms` in class order or empty) in every template;
    /// throws `badRequest` naming the first that does not fit.
    func check(_ classes: [String], synonyms: [[String]], templates: PromptTemplates, model: ModelRecord, store: Store,
               dataDirectory: URL) throws {
        let tokenizer = try tokenizer(for: model, store: store, dataDirectory: dataDirectory)
        for (index, name) in classes.enumerated() {
            for query in [name] + (synonyms.isEmpty ? [] : synonyms[index]) {
                for prompt in templates.prompts(for: query) {
                    do {
                        _ = try tokenizer.encode(prompt)
                    } catch let error as InferenceError {
                        let what = query == name ? "" : ", synonym \(query.prefix(80).debugDescription)"
                        throw CoordinatorError(.badRequest, "class \(index) (\(name.prefix(80).debugDescription)\(what)) does not fit the model's "
                                               + "text context in the prompt \(String(prompt.prefix(120)).debugDescription): \(error.message)")
                    }
                }
            }
        }
    }

    private func tokenizer(for model: ModelRecord, store: Store, dataDirectory: URL) throws -> CLIPTokenizer {
        if let cached = tokenizers.withLock({ $0[model.id] }) { return cached }
        let directory = try ModelDirectory.materialize(modelId: model.id, store: store, dataDirectory: dataDirectory,
                                                      files: ["config.json", "vocab.json", "merges.txt"])
        let config = try CLIPConfig.load(directory: directory)
        let tokenizer = try CLIPTokenizer(directory: directory, contextLength: config.text.maxPositionEmbeddings)
        tokenizers.withLock { $0[model.id] = tokenizer }
        return tokenizer
    }
}
