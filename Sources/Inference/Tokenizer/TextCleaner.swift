/// CLIP's text cleaning (`basic_clean` + `whitespace_clean` + `lower` in the reference, without ftfy):
/// HTML-unescape twice, collapse whitespace runs to one space, strip, lower-case.
///
/// It works on Unicode scalars, as Python works on code points, and copies Python's definitions where Swift's
/// differ: `isspace` also counts U+001C...U+001F, and `lower` turns a word-final `Σ` into `ς`.
package enum TextCleaner {
    package static func clean(_ text: String) -> [Unicode.Scalar] {
        let unescaped = HTMLUnescaper.unescape(HTMLUnescaper.unescape(Array(text.unicodeScalars)))
        return lowercased(collapsingWhitespace(unescaped))
    }

    /// Python's `str.isspace` (what `\s` means in `re`): White_Space plus the information separators.
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value)
    }

    /// `re.sub(r'\s+', ' ', text).strip()`.
    static func collapsingWhitespace(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(text.count)
        var pendingSpace = false
        for scalar in text {
            if isSpace(scalar) {
                pendingSpace = !result.isEmpty
            } else {
                if pendingSpace { result.append(" ") }
                pendingSpace = false
                result.append(scalar)
            }
        }
        return result
    }

    /// Python's `str.lower`: the full lower-case mapping of every scalar, and the Final_Sigma rule for U+03A3
    /// (Swift's `lowercased()` has no Final_Sigma rule).
    static func lowercased(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(text.count)
        for (i, scalar) in text.enumerated() {
            if scalar.isASCII {
                let isUpper = (0x41...0x5A).contains(scalar.value)
                result.append(isUpper ? Unicode.Scalar(UInt8(scalar.value + 0x20)) : scalar)
            } else if scalar == "\u{03A3}" {
                result.append(isFinalSigma(in: text, at: i) ? "\u{03C2}" : "\u{03C3}")
            } else {
                result.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return result
    }

    /// Final_Sigma: a cased letter before (case-ignorable scalars skipped) and none after.
    private static func isFinalSigma(in text: [Unicode.Scalar], at index: Int) -> Bool {
        let before = text[..<index].last { !$0.properties.isCaseIgnorable }
        guard let before, before.properties.isCased else { return false }
        let after = text[(index + 1)...].first { !$0.properties.isCaseIgnorable }
        return !(after?.properties.isCased ?? false)
    }
}
