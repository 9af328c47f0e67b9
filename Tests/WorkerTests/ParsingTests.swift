import Support
import Testing
import LabelClient

@Suite("Header, range and digest parsing")
struct ParsingTests {
    @Test("SHA-256 of a known vector")
    func knownDigest() {
        #expect(sha256Hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test(
        "ETag-style digests are normalised; anything but 64 hex digits is rejected",
        arguments: [
            ("\"BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD\"", true),
            ("W/\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"", true),
            (" ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad ", true),
            ("\"a9993e364706816aba3e25717850c26c9cd0d89d\"", false),  // a git SHA-1
            ("\"zz7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"", false),
        ])
    func normalise(etag: String, valid: Bool) {
        let expected = valid ? "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" : nil
        #expect(SHA256Hex.normalized(etag) == expected)
    }

    @Test("Content-Range forms")
    func contentRange() {
        #expect(ContentRange("bytes 100-199/300") == ContentRange(start: 100, total: 300))
        #expect(ContentRange("bytes */300") == ContentRange(start: nil, total: 300))
        #expect(ContentRange("bytes 0-9/*") == ContentRange(start: 0, total: nil))
        #expect(ContentRange("items 0-9/10") == nil)
        #expect(ContentRange(nil) == nil)
    }

    @Test("only the final response's headers survive redirects and 100 Continue")
    func headerBlocks() {
        var parser = HeaderParser()
        for line in [
            "HTTP/1.1 302 Found\r\n", "Location: /x\r\n", "X-Linked-Size: 5\r\n", "\r\n",
            "HTTP/1.1 100 Continue\r\n", "\r\n",
            "HTTP/2 200\r\n", "content-length:  42 \r\n", "X-Multi: a\r\n", "x-multi: b\r\n", "\r\n",
        ] {
            Array(line.utf8).withUnsafeBytes { parser.consume($0) }
        }
        #expect(parser.status == 200)
        #expect(parser.headers["Content-Length"] == "42")
        #expect(parser.headers["Location"] == nil)
        #expect(parser.headers.values(for: "x-multi") == ["a", "b"])
    }
}

extension ContentRange {
    init(start: Int64?, total: Int64?) {
        self.init("bytes */0")!
        self.start = start
        self.total = total
    }
}
