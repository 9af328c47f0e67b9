import Foundation

/// The rules for image ids (and model file names): each becomes a file name in the label store, so it must be
/// unable to escape its directory or confuse a shell or a file system.
///
/// Allowed: 1–200 bytes of UTF-8 made of ASCII letters and digits, `.`, `_`, `-`, and non-ASCII letters (with
/// their combining marks and digits, e.g. "猫", "café", "٣"). Refused: `/`, `\`, NUL, control characters, spaces,
/// other ASCII punctuation, emoji, "." and "..", and any leading ".".
public enum ImageID {
    public static let maxBytes = 200

    /// Why `id` is not a safe file name, or nil when it is.
    public static func problem(_ id: String) -> String? {
        let bytes = id.utf8.count
        if bytes == 0 { return "is empty" }
        if bytes > maxBytes { return "is \(bytes) bytes long (at most \(maxBytes))" }
        // By scalar: ".\u{301}x" is one Character that is not ".", yet the file name starts with a dot.
        if id.unicodeScalars.first == "." { return "is not a safe file name (leading '.')" }
        for scalar in id.unicodeScalars where !isAllowed(scalar) {
            return "is not a safe file name (character \(describe(scalar)))"
        }
        return nil
    }

    public static func isSafe(_ id: String) -> Bool { problem(id) == nil }

    /// `name` with every character an id may not hold (spaces, `/`, punctuation) as `_`, and a leading `.` too:
    /// how a file's path becomes an id (`cats/001 b.jpg` under a folder is `cats_001_b`).
    public static func from(_ name: String) -> String {
        if let first = name.utf8.first, first != UInt8(ascii: "."), name.utf8.allSatisfy(isAllowedASCII) { return name }
        var scalars = String.UnicodeScalarView(normalized(name).unicodeScalars.map { isAllowed($0) ? $0 : "_" })
        if scalars.first == "." { scalars.replaceSubrange(scalars.startIndex...scalars.startIndex, with: ["_"]) }
        return String(scalars)
    }

    /// The one spelling of an id: Unicode NFC, so "café" typed precomposed or decomposed is one id everywhere
    /// (the store's unique index compares bytes; Swift's `==` compares canonically).
    public static func normalized(_ id: String) -> String {
        id.utf8.allSatisfy { $0 < 0x80 } ? id : id.precomposedStringWithCanonicalMapping  // ASCII is NFC already
    }

    /// An ASCII byte an id may hold (a letter, a digit, `.`, `_`, `-`): the fast path of `from`.
    private static func isAllowedASCII(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    private static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "-": return true
            default: return false
            }
        }
        let properties = scalar.properties
        if properties.isAlphabetic { return true }
        switch properties.generalCategory {
        case .nonspacingMark, .spacingMark, .decimalNumber: return true
        default: return false
        }
    }

    private static func describe(_ scalar: Unicode.Scalar) -> String {
        var hex = String(scalar.value, radix: 16, uppercase: true)
        while hex.count < 4 { hex = "0" + hex }
        hex = "U+" + hex
        if scalar.isASCII && scalar.value >= 0x21 && scalar.value < 0x7F { return "'\(Character(scalar))' \(hex)" }
        return hex
    }
}
