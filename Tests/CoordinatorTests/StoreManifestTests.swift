import Foundation
import Testing

import Coordinator
import LabelAPI

@Suite struct StoreManifestTests {
    /// Why the manifest or its first bad line is refused (with one good line after it, so a lone bad line is
    /// rejected alone rather than refusing the manifest), or nil.
    func message(_ text: String) -> String? {
        do {
            return try Manifest.parse(text + "\ngood-line-after.jpg").compactMap(\.rejection).first
        } catch {
            #expect(error.code == .invalid)
            return error.message
        }
    }

    @Test func jsonLines() throws {
        let items = try Manifest.parse("""
            {"id": "cat", "uri": "https://example.com/a/cat.jpg"}
            {"uri": "gs://bucket/dir/dog.01.png", "label": "ignored"}
            {"id": null, "uri": "/abs/bird.jpeg"}
            """)
        #expect(items == [
            ManifestItem(id: "cat", uri: "https://example.com/a/cat.jpg", line: 1),
            ManifestItem(id: "dog.01", uri: "gs://bucket/dir/dog.01.png", line: 2,
                         rejection: "manifest line 2: gs:// URIs are not supported (http://, https://, s3://, file:// or a path)"),
            ManifestItem(id: "bird", uri: "/abs/bird.jpeg", line: 3),
        ])
    }

    @Test func plainLinesSkipBlanksAndComments() throws {
        let items = try Manifest.parse("""
            # images for the test
            dir/cat.01.jpg

              /abs/path/dog.png  \r
            https://host/x/y/bird.jpg?sig=abc#frag
            relative-no-extension
            """)
        #expect(items.map(\.id) == ["cat.01", "dog", "bird", "relative-no-extension"])
        #expect(items.map(\.line) == [2, 4, 5, 6])
        #expect(items[1].uri == "/abs/path/dog.png")
        #expect(items[2].uri == "https://host/x/y/bird.jpg?sig=abc#frag")
    }

    @Test func mixedLinesAndByteOrderMark() throws {
        let items = try Manifest.parse("\u{FEFF}a/one.jpg\n{\"uri\": \"b/two.jpg\"}\n")
        #expect(items.map(\.id) == ["one", "two"])
    }

    @Test func unicodeIdsAreAllowed() throws {
        let items = try Manifest.parse("""
            {"id": "猫-01", "uri": "x"}
            {"id": "café_au_lait", "uri": "y"}
            {"id": "cafe\\u0301", "uri": "z"}
            data/Ünïcödé.jpg
            """)
        #expect(items.map(\.id) == ["猫-01", "café_au_lait", "cafe\u{301}", "Ünïcödé"])
    }

    @Test(arguments: [
        (#"{"id": "../x", "uri": "u"}"#, #"manifest line 1: id "../x" is not a safe file name"#),
        (#"{"id": "a/b", "uri": "u"}"#, #"manifest line 1: id "a/b" is not a safe file name"#),
        (#"{"id": "/etc/passwd", "uri": "u"}"#, #"manifest line 1: id "/etc/passwd" is not a safe file name"#),
        (#"{"id": "a\\b", "uri": "u"}"#, #"manifest line 1: id "a\\b" is not a safe file name"#),
        (#"{"id": "nul\u0000x", "uri": "u"}"#, #"manifest line 1: id "nul\0x" is not a safe file name"#),
        (#"{"id": "tab\tx", "uri": "u"}"#, #"manifest line 1: id "tab\tx" is not a safe file name"#),
        (#"{"id": ".", "uri": "u"}"#, #"manifest line 1: id "." is not a safe file name"#),
        (#"{"id": "..", "uri": "u"}"#, #"manifest line 1: id ".." is not a safe file name"#),
        (#"{"id": ".hidden", "uri": "u"}"#, #"manifest line 1: id ".hidden" is not a safe file name"#),
        (#"{"id": "has space", "uri": "u"}"#, #"manifest line 1: id "has space" is not a safe file name"#),
        (#"{"id": "emoji😀", "uri": "u"}"#, #"manifest line 1: id "emoji😀" is not a safe file name"#),
        (#"{"id": "", "uri": "u"}"#, #"manifest line 1: id "" is empty"#),
    ])
    func unsafeIdsAreRefusedWithTheLineNumber(line: String, expected: String) {
        let message = message("# header\n\n" + line)
        #expect(message?.hasPrefix(expected.replacingOccurrences(of: "line 1", with: "line 3")) == true, "\(message ?? "no error")")
    }

    @Test func longIdsAreRefused() {
        #expect(message(#"{"id": "\#(String(repeating: "a", count: 200))", "uri": "u"}"#) == nil)
        #expect(message(#"{"id": "\#(String(repeating: "a", count: 201))", "uri": "u"}"#)?.contains("201 bytes") == true)
        #expect(message(#"{"id": "\#(String(repeating: "é", count: 101))", "uri": "u"}"#)?.contains("202 bytes") == true)
    }

    /// A path's file name becomes an id by the rule a folder's files follow (rough edges, item 5): what an id may
    /// not hold is `_`. An id given explicitly is taken as written, or refused.
    @Test func plainPathsGetIdsByTheFolderRule() throws {
        let items = try Manifest.parse("ok.jpg\ndir/.hidden.jpg\ndir/with space.jpg\n" + #"{"uri": "s3://photos/cat (1).png"}"#)
        #expect(items.map(\.id) == ["ok", "_hidden", "with_space", "cat__1_"])
        #expect(items.allSatisfy { $0.rejection == nil }, "\(items.compactMap(\.rejection))")
        #expect(message(#"{"id": "with space", "uri": "u.jpg"}"#)?.hasPrefix(#"manifest line 1: id "with space""#) == true)
    }

    @Test func duplicatesNameBothLines() {
        #expect(message("a/cat.jpg\nb/dog.jpg\n\nc/cat.png") == #"manifest line 4: id "cat" duplicates line 1"#)
        #expect(message(#"{"id": "x", "uri": "1"}"# + "\n" + #"{"id": "x", "uri": "2"}"#) == #"manifest line 2: id "x" duplicates line 1"#)
    }

    @Test func emptyManifestsAreRefused() {
        for text in ["", "\n  \n# only comments\n"] {
            #expect(throws: StoreError.self) { try Manifest.parse(text) }
        }
    }

    @Test func badLinesAreRejectedAloneWithTheirLineNumbers() throws {
        let items = try Manifest.parse("""
            good/a.jpg
            {not json
            {"id": "../../etc/x", "uri": "/x.png"}
            other/a.png
            {"id": "../../etc/x", "uri": "/y.png"}
            good/b.jpg
            {"id": "nul\\u0000x", "uri": "/z.png"}
            """)
        #expect(items.map(\.id) == ["a", "#2", "../../etc/x", "#4", "#5", "b", "#7"])
        #expect(items.map(\.line) == [1, 2, 3, 4, 5, 6, 7])
        #expect(items.map { $0.rejection == nil } == [true, false, false, false, false, true, false])
        #expect(items[1].rejection == "manifest line 2: not valid JSON" && items[1].uri == "{not json")
        #expect(items[3].rejection == #"manifest line 4: id "a" duplicates line 1"#)
        #expect(items[4].rejection?.hasPrefix(#"manifest line 5: id "../../etc/x" is not a safe file name"#) == true)
    }

    @Test func aManifestOfOnlyBadLinesIsRefused() {
        #expect(throws: StoreError.self) { try Manifest.parse("{bad\n{\"id\": \"../x\", \"uri\": \"u\"}") }
    }

    /// A streamed manifest whose every line is rejected is refused with the first line's reason.
    @Test func aJobOfOnlyRejectedLinesSaysWhy() throws {
        let fixture = try StoreFixture()
        let model = try fixture.model()
        let rejection = "manifest line 1: gs:// URIs are not supported (http://, https://, s3://, file:// or a path)"
        let error = storeError {
            _ = try fixture.store.createJob(NewJob(name: "s3", modelId: model.id, classes: ["cat"], options: JobSettings(),
                                                   items: [ManifestItem(id: "x", uri: "gs://b/x.png", line: 1, rejection: rejection)]))
        }
        #expect(error?.code == .invalid && error?.message == "the job has no usable images (the first: \(rejection))")
    }

    @Test func badJSONLines() {
        #expect(message("a.jpg\n{not json") == "manifest line 2: not valid JSON")
        #expect(message(#"{"id": "x"}"#) == #"manifest line 1: "uri" is missing"#)
        #expect(message(#"{"id": "x", "uri": ""}"#) == #"manifest line 1: "uri" is empty"#)
        #expect(message(#"{"id": "x", "uri": "  "}"#) == #"manifest line 1: "uri" is empty"#)
        #expect(message(#"{"id": 7, "uri": "u"}"#) == #"manifest line 1: "id" must be a string"#)
        #expect(message(#"{"id": "x", "uri": 3}"#) == #"manifest line 1: "uri" must be a string"#)
    }

    @Test func invalidUTF8IsRefused() {
        #expect(throws: StoreError.self) { try Manifest.parse(Data([0x61, 0xFF, 0x0A])) }
    }

    /// A JSON Lines line that lost a brace is "not valid JSON", not a path with an unsafe id (rough edges, item 16).
    @Test func aBrokenJSONLineIsNotValidJSON() throws {
        let items = try Manifest.parse(Data("""
            {"id": "a", "uri": "/a.png"}
            "id": "b", "uri": "/b.png"}
            {"id": "c", "uri": "/c.png"
            /plain/d.png
            """.utf8))
        #expect(items.map(\.rejection) == [nil, "manifest line 2: not valid JSON", "manifest line 3: not valid JSON", nil])
    }

    @Test func stems() {
        #expect(Manifest.stem(of: "dir/cat.01.jpg") == "cat.01")
        #expect(Manifest.stem(of: "https://h/a/b.png?x=1.2") == "b")
        #expect(Manifest.stem(of: "C:\\images\\dog.jpg") == "dog")
        #expect(Manifest.stem(of: "noext") == "noext")
        #expect(Manifest.stem(of: "dir/") == "dir")
        #expect(Manifest.stem(of: ".bashrc") == ".bashrc")
        #expect(Manifest.stem(of: "s3://b/k/gato.señal.png") == "gato.señal")
    }

    /// ASCII stems are found by bytes, the rest by characters: the two agree wherever both apply.
    @Test func byteAndCharacterStemsAgree() {
        let uris = ["dir/cat.01.jpg", "https://h/a/b.png?x=1.2", "https://h/a/b.png#frag", "a?b.png", "a#b.png", "C:\\images\\dog.jpg",
                    "noext", "dir/", "dir//", ".bashrc", "/x/.y", "s3://b/a.b.c", "gs://b/x#", "", "/", "a.", "a/b/..", "http://h/p?q=/x.y"]
        for uri in uris {
            #expect(Manifest.asciiStem(of: uri) == Manifest.characterStem(of: uri), "\(uri)")
        }
    }

    /// A combining mark does not hide a leading dot, and NFC and NFD spellings of one id are one id, inline or
    /// uploaded (rough edges, item 28).
    @Test func idsAreNormalisedBeforeTheyAreChecked() throws {
        let text = "{\"id\": \".\u{301}x\", \"uri\": \"/a.png\"}\n{\"id\": \"caf\u{E9}\", \"uri\": \"/b.png\"}\n{\"id\": \"cafe\u{301}\", \"uri\": \"/c.png\"}\n/d.png"
        let items = try Manifest.parse(text)
        #expect(items[0].rejection == "manifest line 1: id \".\u{301}x\" is not a safe file name (leading '.')")
        #expect(items[2].rejection == "manifest line 3: id \"caf\u{E9}\" duplicates line 2")
        #expect(ImageID.from(".\u{301}hidden") == "_\u{301}hidden")

        let fixture = try StoreFixture()
        let model = try fixture.model()
        let file = fixture.directory.appendingPathComponent("nfd.txt")
        try Data(text.utf8).write(to: file)
        let job = try fixture.store.createJob(NewJob(modelId: model.id, classes: ["a"], items: []), manifestFile: file.path).job
        let results = try fixture.store.results(jobId: job.id)
        #expect(results.map(\.state) == [.failed, .pending, .failed, .pending], "the same verdicts from a file as from the text")
        #expect(results[2].error == "manifest line 3: id \"caf\u{E9}\" duplicates line 2")
    }
}
