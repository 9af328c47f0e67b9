import Foundation

extension BytePairEncoder {
    /// Reads `vocab.json`: one JSON object, token -> id.
    static func readVocabulary(at url: URL) throws -> [String: Int32] {
        let data = try readFile(at: url)
        let decoded: [String: Int]
        do {
            decoded = try JSONDecoder().decode([String: Int].self, from: data)
        } catch {
            throw InferenceError(.badModel, "\(url.path): not a JSON object of token ids: \(describe(error, in: data))")
        }
        var vocabulary: [String: Int32] = [:]
        vocabulary.reserveCapacity(decoded.count)
        for (token, id) in decoded {
            guard let id = Int32(exactly: id), id >= 0 else {
                throw InferenceError(.badModel, "\(url.path): token '\(token)' has id \(id), not in 0...\(Int32.max)")
            }
            vocabulary[token] = id
        }
        return vocabulary
    }

    /// Reads `merges.txt` (Hugging Face format: an optional `#version` first line, then one `first second`
    /// pair per line, blank lines ignored) against `vocabulary`, whose every byte symbol, pair half and merge
    /// result must be present.
    init(vocabulary: [String: Int32], vocabularyPath: String, mergesURL url: URL) throws {
        func id(of token: String) -> Int32? { vocabulary[token] }
        byteSymbols = try ByteEncoder.symbols.enumerated().map { byte, symbol in
            guard let id = id(of: String(symbol)) else {
                throw InferenceError(.badModel, "\(vocabularyPath): no token '\(symbol)' for byte \(byte)")
            }
            return id
        }
        finalByteSymbols = try ByteEncoder.symbols.enumerated().map { byte, symbol in
            guard let id = id(of: "\(symbol)</w>") else {
                throw InferenceError(.badModel, "\(vocabularyPath): no token '\(symbol)</w>' for byte \(byte)")
            }
            return id
        }
        var merges: [UInt64: Merge] = [:]
        var rank: Int32 = 0
        let lines = try Self.readFile(at: url).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (index, rawLine) in lines.enumerated() {
            let line = rawLine.last == UInt8(ascii: "\r") ? rawLine.dropLast() : rawLine
            if line.isEmpty || (index == 0 && line.starts(with: "#version".utf8)) { continue }
            func fail(_ problem: String) -> InferenceError {
                InferenceError(.badModel, "\(url.path) line \(index + 1): \(problem)")
            }
            let parts = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
            guard parts.count == 2, let first = String(validating: parts[0], as: UTF8.self),
                  let second = String(validating: parts[1], as: UTF8.self), !first.isEmpty, !second.isEmpty else {
                let found = String(decoding: line, as: UTF8.self)
                throw fail("expected two UTF-8 symbols separated by one space, found '\(found)'")
            }
            guard let firstID = id(of: first), let secondID = id(of: second) else {
                throw fail("'\(first) \(second)' uses a symbol that is not in \(vocabularyPath)")
            }
            guard let result = id(of: first + second) else {
                throw fail("'\(first) \(second)' makes '\(first + second)', which is not in \(vocabularyPath)")
            }
            let key = Self.pairKey(firstID, secondID)
            if merges[key] == nil { merges[key] = Merge(rank: rank, result: result) }
            rank += 1
        }
        self.merges = merges
    }

    /// JSONDecoder does not say where a syntax error is; JSONSerialization does ("around character 1234").
    private static func describe(_ error: any Error, in data: Data) -> String {
        guard let decodingError = error as? DecodingError, case .dataCorrupted = decodingError else {
            return "\(error)"
        }
        do {
            _ = try JSONSerialization.jsonObject(with: data)
        } catch {
            return (error as NSError).userInfo["NSDebugDescription"] as? String ?? "\(error)"
        }
        return "\(error)"
    }

    private static func readFile(at url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw InferenceError(.badModel, "cannot read \(url.path): \(error.localizedDescription)")
        }
    }
}
