import Crypto

/// Incremental SHA-256 of a file being written, seeded from bytes already on disk when resuming.
struct DownloadDigest {
    private var hasher = SHA256()

    mutating func reset() { hasher = SHA256() }

    mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }

    /// Hashes the first `length` bytes of `file` (the part already downloaded).
    mutating func update(from file: LocalFile, length: Int64) throws(CurlError) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var offset: Int64 = 0
        while offset < length {
            let want = Int(min(Int64(buffer.count), length - offset))
            let n = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]), at: offset)
            guard n > 0 else { throw CurlError(.io, "\(file.path): shorter than \(length) bytes") }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[..<n]))
            offset += Int64(n)
        }
    }

    /// Lower-case hex.
    func finalize() -> String {
        hasher.finalize().map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// SHA-256 (lower-case hex) of a whole file.
    static func sha256(ofFile path: String) throws(CurlError) -> String {
        let file = try LocalFile.openForReading(path)
        var digest = DownloadDigest()
        try digest.update(from: file, length: try file.size())
        return digest.finalize()
    }

    /// Normalises a digest from a header or a caller: drops `W/` and quotes, lower-cases.
    /// Nil unless what remains is 64 hex digits (a git SHA-1 ETag is not a SHA-256).
    static func normalizedSHA256(_ value: String?) -> String? {
        guard var text = value.map({ Substring($0).trimmingSpaces[...] }) else { return nil }
        if text.hasPrefix("W/") { text = text.dropFirst(2) }
        if text.hasPrefix("\""), text.hasSuffix("\""), text.count >= 2 { text = text.dropFirst().dropLast() }
        let hex = text.lowercased()
        return hex.count == 64 && hex.allSatisfy(\.isHexDigit) ? hex : nil
    }
}
