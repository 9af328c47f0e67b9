/// Rules for text that ends up in a message a person reads (an image's error, a job's problems, a log line):
/// bounded in length whatever the input was, and free of credentials. Everything here is linear in the text's
/// length, so a hostile input costs what its size costs and no more.
public enum MessageText {
    /// The most characters an error stored for an image or a job keeps.
    public static let maxStoredCharacters = 2000

    /// `text` itself when it has at most `limit` characters, else its first `limit - 1` characters and "…": a 50 MB
    /// manifest line is quoted by its start, never whole.
    public static func clipped(_ text: some StringProtocol, to limit: Int = 120) -> String {
        precondition(limit > 0, "a clipped text keeps at least one character")
        var end = text.startIndex
        var count = 0
        while end != text.endIndex, count < limit {
            end = text.index(after: end)
            count += 1
        }
        if end == text.endIndex { return String(text) }
        return String(text[..<text.index(before: end)]) + "…"
    }

    /// `text` with each URL's user information (`user:password@`) taken out, so an endpoint such as
    /// `http://minio:secret@host:9000` is quoted as `http://host:9000`. A URL's authority runs from its `://` to
    /// the first `/`, `?`, `#`, white space or quote; an `@` inside it ends the user information.
    public static func withoutCredentials(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "@")) else { return text }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            out.append(bytes[i])
            // After "://": look for an "@" before the authority ends.
            if bytes[i] == UInt8(ascii: "/"), i >= 2, bytes[i - 1] == UInt8(ascii: "/"), bytes[i - 2] == UInt8(ascii: ":") {
                var end = i + 1
                var at: Int?
                while end < bytes.count, !endsAuthority(bytes[end]) {
                    if bytes[end] == UInt8(ascii: "@") { at = end }
                    end += 1
                }
                if let at { i = at }  // skip "user:password@"
            }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Every occurrence of `needle` in `text` replaced by `replacement`, in time linear in both (Knuth-Morris-Pratt
    /// over UTF-8 bytes). UTF-8 is self-synchronising, so a match of a whole string starts and ends on character
    /// boundaries.
    public static func replacing(_ needle: String, with replacement: String, in text: String) -> String {
        let pattern = Array(needle.utf8)
        guard !pattern.isEmpty, pattern.count <= text.utf8.count else { return text }
        // fallback[i]: the length of the longest proper prefix of pattern[...i] that is also its suffix.
        var fallback = [Int](repeating: 0, count: pattern.count)
        var k = 0
        for i in 1..<pattern.count {
            while k > 0, pattern[i] != pattern[k] { k = fallback[k - 1] }
            if pattern[i] == pattern[k] { k += 1 }
            fallback[i] = k
        }
        var out: [UInt8] = []
        var copied = 0, matched = 0, found = false
        let bytes = Array(text.utf8)
        for (i, byte) in bytes.enumerated() {
            while matched > 0, byte != pattern[matched] { matched = fallback[matched - 1] }
            if byte == pattern[matched] { matched += 1 }
            if matched == pattern.count {
                let start = i + 1 - pattern.count
                out.append(contentsOf: bytes[copied..<start])
                out.append(contentsOf: replacement.utf8)
                copied = i + 1
                matched = 0  // occurrences do not overlap
                found = true
            }
        }
        guard found else { return text }
        out.append(contentsOf: bytes[copied...])
        return String(decoding: out, as: UTF8.self)
    }

    private static func endsAuthority(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "/"), UInt8(ascii: "?"), UInt8(ascii: "#"), UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"),
             UInt8(ascii: "\r"), UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "`"):
            return true
        default:
            return false
        }
    }
}
