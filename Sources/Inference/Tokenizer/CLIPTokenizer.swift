import Foundation

/// CLIP's byte-level BPE tokenizer (openai/CLIP `simple_tokenizer.py`, without ftfy; `docs/maskclip.md` §2),
/// reading the Hugging Face `vocab.json` and `merges.txt` of a model directory.
///
/// Text is cleaned (`TextCleaner`), split into words (`PreTokenizer`) and each word's UTF-8 bytes are
/// byte-pair encoded (`BytePairEncoder`). Immutable after loading, so one tokenizer serves every thread.
public struct CLIPTokenizer: Sendable {
    /// The most tokens a sequence may have, `<|startoftext|>` and `<|endoftext|>` included.
    public let contextLength: Int
    /// The id of `<|startoftext|>`, which begins every sequence.
    public let startOfText: Int32
    /// The id of `<|endoftext|>`, which ends every sequence (the text encoder reads its row).
    public let endOfText: Int32
    private let bytePairs: BytePairEncoder

    /// Loads the two tokenizer files; a missing or malformed file throws `.badModel` naming the file (and
    /// the line of `merges.txt`).
    public init(vocabURL: URL, mergesURL: URL, contextLength: Int = 77) throws {
        guard contextLength >= 2 else {
            throw InferenceError(.badArgument, "context length \(contextLength) has no room for the two special tokens")
        }
        let vocabulary = try BytePairEncoder.readVocabulary(at: vocabURL)
        func special(_ token: String) throws -> Int32 {
            guard let id = vocabulary[token] else {
                throw InferenceError(.badModel, "\(vocabURL.path): no special token \(token)")
            }
            return id
        }
        self.contextLength = contextLength
        startOfText = try special("<|startoftext|>")
        endOfText = try special("<|endoftext|>")
        bytePairs = try BytePairEncoder(vocabulary: vocabulary, vocabularyPath: vocabURL.path, mergesURL: mergesURL)
    }

    /// Loads `vocab.json` and `merges.txt` from a Hugging Face model directory.
    public init(directory: URL, contextLength: Int = 77) throws {
        try self.init(
            vocabURL: directory.appendingPathComponent("vocab.json"),
            mergesURL: directory.appendingPathComponent("merges.txt"),
            contextLength: contextLength)
    }

    /// `[startOfText] + tokens + [endOfText]`, not padded.
    ///
    /// Text longer than `contextLength` tokens throws `.tokenizer`, so a prompt is never silently cut;
    /// with `truncate` it is cut instead, keeping `endOfText` as the last of `contextLength` tokens.
    public func encode(_ text: String, truncate: Bool = false) throws -> [Int32] {
        let cleaned = TextCleaner.clean(text)
        var ids: [Int32] = [startOfText]
        var bytes: [UInt8] = []
        for piece in PreTokenizer.pieces(of: cleaned) {
            switch piece {
            case .startOfText:
                ids.append(startOfText)
            case .endOfText:
                ids.append(endOfText)
            case .word(let range):
                bytes.removeAll(keepingCapacity: true)
                for scalar in cleaned[range] { bytes.append(contentsOf: scalar.utf8) }
                bytePairs.encode(word: bytes, into: &ids)
            }
        }
        ids.append(endOfText)
        guard ids.count > contextLength else { return ids }
        guard truncate else {
            throw InferenceError(
                .tokenizer, "text '\(text)' is \(ids.count) tokens, more than the context length \(contextLength)")
        }
        ids.removeSubrange((contextLength - 1)..<(ids.count - 1))
        return ids
    }
}
