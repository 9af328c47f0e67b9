/// Python's `html.unescape`, which CLIP's cleaning applies twice (so `&amp;lt;` becomes `<`).
///
/// Numeric references (`&#39;`, `&#x27;`, the `;` optional) follow Python's rules for bad numbers: 0 and
/// surrogates become U+FFFD, 0x80...0x9F are read as Windows-1252, controls and non-characters vanish. Named
/// references are looked up in `HTMLEntities`; a legacy name also matches without `;`, as the longest prefix of
/// the name (`&copy2024` -> `©2024`). Anything else is left as written.
enum HTMLUnescaper {
    static func unescape(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard text.contains("&") else { return text }
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            if text[i] == "&", let (replacement, end) = reference(in: text, after: i) {
                result.append(contentsOf: replacement)
                i = end
            } else {
                result.append(text[i])
                i += 1
            }
        }
        return result
    }

    /// The reference that starts with the `&` at `ampersand`: its replacement and the index just past it.
    private static func reference(in text: [Unicode.Scalar], after ampersand: Int) -> ([Unicode.Scalar], Int)? {
        let start = ampersand + 1
        guard start < text.count else { return nil }
        return text[start] == "#" ? numeric(in: text, at: start + 1) : named(in: text, at: start)
    }

    private static func numeric(in text: [Unicode.Scalar], at start: Int) -> ([Unicode.Scalar], Int)? {
        var i = start
        var radix: UInt32 = 10
        if i < text.count, text[i] == "x" || text[i] == "X" {
            radix = 16
            i += 1
        }
        let digitsStart = i
        var value: UInt32 = 0
        while i < text.count, let digit = digitValue(text[i]), digit < radix {
            value = min(value * radix + digit, 0x11_0000)  // saturate: anything past U+10FFFF is U+FFFD anyway
            i += 1
        }
        guard i > digitsStart else { return nil }
        if i < text.count, text[i] == ";" { i += 1 }
        return (character(for: value), i)
    }

    private static func digitValue(_ scalar: Unicode.Scalar) -> UInt32? {
        switch scalar.value {
        case 0x30...0x39: scalar.value - 0x30
        case 0x41...0x46: scalar.value - 0x41 + 10
        case 0x61...0x66: scalar.value - 0x61 + 10
        default: nil
        }
    }

    private static func character(for code: UInt32) -> [Unicode.Scalar] {
        switch code {
        case 0: ["\u{FFFD}"]
        case 0x0D: ["\r"]
        case 0x80...0x9F: [Unicode.Scalar(windows1252[Int(code - 0x80)])!]
        case 0xD800...0xDFFF, 0x11_0000...: ["\u{FFFD}"]
        case 0x1...0x8, 0xB, 0xE...0x1F, 0x7F, 0xFDD0...0xFDEF: []
        case _ where code & 0xFFFE == 0xFFFE: []
        default: [Unicode.Scalar(code)!]
        }
    }

    /// What a browser reads for `&#128;` ... `&#159;` (unassigned bytes stay as they are).
    private static let windows1252: [UInt32] = [
        0x20AC, 0x81, 0x201A, 0x192, 0x201E, 0x2026, 0x2020, 0x2021, 0x2C6, 0x2030, 0x160, 0x2039, 0x152, 0x8D,
        0x17D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x2DC, 0x2122, 0x161, 0x203A,
        0x153, 0x9D, 0x17E, 0x178,
    ]

    private static func named(in text: [Unicode.Scalar], at start: Int) -> ([Unicode.Scalar], Int)? {
        var end = start
        while end < text.count, end - start < 32, !"\t\n\u{0C} <&#;".unicodeScalars.contains(text[end]) {
            end += 1
        }
        // Entity names are ASCII; looking up only ASCII keeps String's canonical equivalence (K = U+212A) out.
        let asciiEnd = text[start..<end].firstIndex { !$0.isASCII } ?? end
        let hasSemicolon = end < text.count && text[end] == ";"
        let matchEnd = hasSemicolon ? end + 1 : end
        if hasSemicolon, asciiEnd == end, let value = HTMLEntities.named[name(text[start..<end])] {
            return ([value], matchEnd)
        }
        for length in stride(from: asciiEnd - start, through: 2, by: -1) {
            let prefix = name(text[start..<(start + length)])
            if HTMLEntities.legacy.contains(prefix), let value = HTMLEntities.named[prefix] {
                return ([value] + text[(start + length)..<matchEnd], matchEnd)
            }
        }
        return nil
    }

    private static func name(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        String(String.UnicodeScalarView(scalars))
    }
}
