/// CLIP's pre-tokenizer: the pattern
/// `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+` (case-insensitive)
/// as a hand-written scanner over cleaned, lower-cased text.
///
/// Like `findall`, it tries the alternatives in order at each position and skips what none of them matches
/// (whitespace). So a punctuation run swallows a following `'` or `<` (`!!'s` -> `!!'`, `s`), and a contraction
/// or special token only starts a piece where no earlier piece has run into it.
package enum PreTokenizer {
    package enum Piece: Equatable {
        case startOfText
        case endOfText
        /// Ordinary text: a range of the scanned scalars.
        case word(Range<Int>)
    }

    enum Kind { case letter, number, space, other }

    package static func pieces(of text: [Unicode.Scalar]) -> [Piece] {
        var pieces: [Piece] = []
        var i = 0
        while i < text.count {
            if text[i] == "<", let special = specialPiece(in: text, at: i) {
                pieces.append(special.piece)
                i += special.length
            } else if text[i] == "'", let length = contractionLength(in: text, at: i) {
                pieces.append(.word(i..<(i + length)))
                i += length
            } else {
                let kind = kind(of: text[i])
                var end = i + 1
                if kind == .letter || kind == .other {
                    while end < text.count, self.kind(of: text[end]) == kind { end += 1 }
                }
                if kind != .space { pieces.append(.word(i..<end)) }
                i = end
            }
        }
        return pieces
    }

    /// `\p{L}`, `\p{N}`, `\s` or none of them, as Python's `regex` module sees them in this pattern.
    /// U+0345 (combining ypogegrammeni, which case-folds to `ι`) is matched by no alternative under
    /// IGNORECASE, so like whitespace it is skipped.
    static func kind(of scalar: Unicode.Scalar) -> Kind {
        if scalar.isASCII {
            switch scalar.value {
            case 0x61...0x7A, 0x41...0x5A: return .letter
            case 0x30...0x39: return .number
            case 0x09...0x0D, 0x20: return .space
            default: return .other
            }
        }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return scalar.properties.isWhitespace || scalar == "\u{0345}" ? .space : .other
        }
    }

    private static let specials: [(literal: [Unicode.Scalar], piece: Piece)] = [
        (Array("<|startoftext|>".unicodeScalars), .startOfText), (Array("<|endoftext|>".unicodeScalars), .endOfText),
    ]

    /// A special token where the pattern matches one. Only the exact spelling is the special token; one
    /// written with `ſ` matches the pattern but, as in the reference, is then byte-pair encoded like any word.
    private static func specialPiece(in text: [Unicode.Scalar], at start: Int) -> (piece: Piece, length: Int)? {
        guard let special = specials.first(where: { matches($0.literal, in: text, at: start) }) else { return nil }
        let length = special.literal.count
        let exact = text[start..<(start + length)].elementsEqual(special.literal)
        return (exact ? special.piece : .word(start..<(start + length)), length)
    }

    private static let contractions: [[Unicode.Scalar]] = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]
        .map { Array($0.unicodeScalars) }

    private static func contractionLength(in text: [Unicode.Scalar], at start: Int) -> Int? {
        contractions.first { matches($0, in: text, at: start) }?.count
    }

    /// Case-insensitive as the pattern is: after lower-casing only `ſ` (U+017F, which folds to `s`) is left
    /// to match a literal it does not equal.
    private static func matches(_ literal: [Unicode.Scalar], in text: [Unicode.Scalar], at start: Int) -> Bool {
        guard start + literal.count <= text.count else { return false }
        for (offset, expected) in literal.enumerated() {
            let actual = text[start + offset]
            guard actual == expected || (expected == "s" && actual == "\u{017F}") else { return false }
        }
        return true
    }
}
