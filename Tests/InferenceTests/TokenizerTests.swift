import Foundation
import Testing
import Inference

/// CLIPTokenizer against docs/maskclip.md §2 and the vectors of scripts/make_tokenizer_vectors.py.
@Suite struct TokenizerTests {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    static let modelDirectory = fixtures.appendingPathComponent("tiny-clip")
    /// Loaded once: every test shares the (immutable) tokenizer.
    static let loaded = Result { try CLIPTokenizer(directory: modelDirectory) }

    static let specVectors: [(String, [Int32])] = [
        ("a photo of a cat.", [49406, 320, 1125, 539, 320, 2368, 269, 49407]),
        ("a bad photo of a airplane.", [49406, 320, 2103, 1125, 539, 320, 16451, 269, 49407]),
        ("a photo of a tv monitor.", [49406, 320, 1125, 539, 320, 1583, 10198, 269, 49407]),
        ("there is a potted plant in the scene.", [49406, 997, 533, 320, 48581, 3912, 530, 518, 3562, 269, 49407]),
        ("itap of my dining table.", [49406, 529, 2728, 539, 607, 8658, 2175, 269, 49407]),
        ("a photo of a Dog.", [49406, 320, 1125, 539, 320, 1929, 269, 49407]),
    ]

    @Test(arguments: specVectors)
    func specVector(text: String, expected: [Int32]) throws {
        #expect(try Self.loaded.get().encode(text) == expected)
    }

    struct Vectors: Decodable {
        struct Vector: Decodable {
            let text: String
            let ids: [Int32]
            let note: String?
        }
        let vectors: [Vector]
    }

    @Test func generatedVectors() throws {
        let tokenizer = try Self.loaded.get()
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent("tokenizer_vectors.json"))
        let vectors = try JSONDecoder().decode(Vectors.self, from: data).vectors
        #expect(vectors.count > 500)
        for vector in vectors {
            let context = "\(vector.text.debugDescription) \(vector.note ?? "")"
            #expect(try tokenizer.encode(vector.text) == vector.ids, "\(context)")
        }
    }

    @Test func specialTokensAndDefaults() throws {
        let tokenizer = try Self.loaded.get()
        #expect(tokenizer.startOfText == 49406)
        #expect(tokenizer.endOfText == 49407)
        #expect(tokenizer.contextLength == 77)
        #expect(try tokenizer.encode("") == [49406, 49407])
        #expect(try tokenizer.encode(" \t\n ") == [49406, 49407])
    }

    @Test func longTextThrowsUnlessTruncated() throws {
        let tokenizer = try Self.loaded.get()
        let fits = Array(repeating: "cat", count: 75).joined(separator: " ")
        #expect(try tokenizer.encode(fits).count == 77)
        let long = Array(repeating: "cat", count: 80).joined(separator: " ")
        let error = #expect(throws: InferenceError.self) { try tokenizer.encode(long) }
        #expect(error?.code == .tokenizer)
        #expect(error?.message.contains("82 tokens") == true)
        #expect(error?.message.contains("cat cat cat") == true)

        let truncated = try tokenizer.encode(long, truncate: true)
        #expect(truncated.count == 77)
        #expect(truncated.first == 49406)
        #expect(truncated.last == 49407)
        #expect(truncated.dropFirst().dropLast().allSatisfy { $0 == 2368 })  // "cat</w>"
        #expect(try tokenizer.encode(fits, truncate: true) == tokenizer.encode(fits))
    }

    @Test func shortContextLength() throws {
        let tokenizer = try CLIPTokenizer(directory: Self.modelDirectory, contextLength: 5)
        #expect(throws: InferenceError.self) { try tokenizer.encode("a photo of a cat.") }
        #expect(try tokenizer.encode("a photo of a cat.", truncate: true) == [49406, 320, 1125, 539, 49407])
        #expect(throws: InferenceError.self) { try CLIPTokenizer(directory: Self.modelDirectory, contextLength: 1) }
    }

    @Test func pieces() {
        func split(_ text: String) -> [String] {
            let scalars = TextCleaner.clean(text)
            return PreTokenizer.pieces(of: scalars).map { piece in
                switch piece {
                case .startOfText: "<SOT>"
                case .endOfText: "<EOT>"
                case .word(let range): String(String.UnicodeScalarView(scalars[range]))
                }
            }
        }
        #expect(split("It's 3D!! we'll") == ["it", "'s", "3", "d", "!!", "we", "'ll"])
        #expect(split("!!'s a<|endoftext|>b !<|endoftext|>")
                == ["!!'", "s", "a", "<EOT>", "b", "!<|", "endoftext", "|>"])
        #expect(split("café  日本\u{00A0}naïve") == ["café", "日本", "naïve"])
    }

    @Test func cleaning() {
        func clean(_ text: String) -> String { String(String.UnicodeScalarView(TextCleaner.clean(text))) }
        #expect(clean("  Fish &amp;amp; Chips\t\n") == "fish & chips")
        #expect(clean("&lt;b&gt; &#39;x&#x27; &copy2024 &unknown; &#128;") == "<b> 'x' ©2024 &unknown; €")
        #expect(clean("ΟΔΟΣ ΣΑ") == "οδος σα")
        #expect(clean("a\u{1C}b\u{3000}c") == "a b c")
    }
}

/// Loading errors name the file (and line) and are `.badModel`.
@Suite struct TokenizerLoadingTests {
    /// A fresh directory holding the fixture's vocab.json and the given merges.txt / vocab.json text.
    func modelDirectory(merges: String? = nil, vocab: String? = nil) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tokenizer-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let fixture = TokenizerTests.modelDirectory
        for (name, text) in [("vocab.json", vocab), ("merges.txt", merges)] {
            let target = directory.appendingPathComponent(name)
            if let text { try Data(text.utf8).write(to: target) } else {
                try FileManager.default.copyItem(at: fixture.appendingPathComponent(name), to: target)
            }
        }
        return directory
    }

    func loadingError(_ directory: URL) -> InferenceError? {
        defer { try? FileManager.default.removeItem(at: directory) }
        return #expect(throws: InferenceError.self) { try CLIPTokenizer(directory: directory) }
    }

    @Test func malformedMergesLine() throws {
        let error = loadingError(try modelDirectory(merges: "#version: 0.2\ni n\n\nt h e\n"))
        #expect(error?.code == .badModel)
        #expect(error?.message.contains("merges.txt line 4") == true)
    }

    @Test func mergeOfUnknownSymbols() throws {
        let error = loadingError(try modelDirectory(merges: "#version: 0.2\ni n\nqq zz\n"))
        #expect(error?.code == .badModel)
        #expect(error?.message.contains("merges.txt line 3") == true)
    }

    @Test func malformedVocab() throws {
        for vocab in ["{\"a\": 1,", "[1, 2]", "{\"a\": \"one\"}", "{\"<|startoftext|>\": 0}", "{\"a\": -1}"] {
            let error = loadingError(try modelDirectory(vocab: vocab))
            #expect(error?.code == .badModel, "\(vocab)")
            #expect(error?.message.contains("vocab.json") == true, "\(vocab): \(error?.message ?? "")")
        }
    }

    @Test func missingFiles() throws {
        let directory = try modelDirectory()
        try FileManager.default.removeItem(at: directory.appendingPathComponent("merges.txt"))
        let error = loadingError(directory)
        #expect(error?.code == .badModel)
        #expect(error?.message.contains("merges.txt") == true)
    }

    @Test func mergesWithoutHeaderAndWithCRLF() throws {
        let directory = try modelDirectory(merges: "c a\r\nca t</w>\r\n")
        defer { try? FileManager.default.removeItem(at: directory) }
        let tokenizer = try CLIPTokenizer(directory: directory)
        #expect(try tokenizer.encode("cat") == [49406, 2368, 49407])
    }
}
