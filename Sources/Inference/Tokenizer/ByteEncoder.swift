/// GPT-2's `bytes_to_unicode` table, which CLIP's vocabulary is written in.
///
/// Byte-level BPE works on UTF-8 bytes, but `vocab.json` and `merges.txt` are text, so every byte is given a
/// printable stand-in: the printable Latin-1 bytes (`!`...`~`, `¡`...`¬`, `®`...`ÿ`) stand for themselves and
/// the other 68 bytes (controls, space, U+00A0, the soft hyphen) take U+0100, U+0101, ... in byte order.
enum ByteEncoder {
    /// `symbols[b]` is the character that stands for byte `b`.
    static let symbols: [Character] = {
        func isPrintable(_ byte: Int) -> Bool {
            (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
        }
        var next = 0x100
        return (0..<256).map { byte in
            if isPrintable(byte) { return Character(Unicode.Scalar(UInt8(byte))) }
            defer { next += 1 }
            return Character(Unicode.Scalar(UInt32(next))!)
        }
    }()
}
