import Crypto
#if canImport(Glibc)
import Glibc
#endif

/// SHA-256 digests the way labelmill writes them everywhere (on the wire, in the store, in file names):
/// 64 lowercase hex digits. The one place that turns bytes or files into that form.
public enum SHA256Hex {
    public static func of<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        var hasher = SHA256()
        let contiguous = bytes.withContiguousStorageIfAvailable { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        if contiguous == nil { Array(bytes).withUnsafeBytes { hasher.update(bufferPointer: $0) } }
        return hex(hasher.finalize())
    }

    /// The digest of the whole file at `path` as it is on disk, read 1 MiB at a time.
    public static func of(file path: String) throws(FileError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system("open", path) }
        defer { close(fd) }
        var hasher = SHA256()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n < 0 && Glibc.errno == EINTR { continue }
            guard n >= 0 else { throw .system("read", path) }
            if n == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[..<n]))
        }
        return hex(hasher.finalize())
    }

    public static func hex(_ digest: SHA256.Digest) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(64)
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Whether `text` is a digest in this form (64 lowercase hex digits).
    public static func isValid(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// A digest from a header or a person: drops `W/` and quotes, lower-cases. Nil unless what remains is 64 hex
    /// digits (a git SHA-1 ETag is not a SHA-256).
    public static func normalized(_ value: String?) -> String? {
        guard var text = value?.trimmingSpacesAndTabs[...] else { return nil }
        if text.hasPrefix("W/") { text = text.dropFirst(2) }
        if text.hasPrefix("\""), text.hasSuffix("\""), text.count >= 2 { text = text.dropFirst().dropLast() }
        let hex = text.lowercased()
        return isValid(hex) ? hex : nil
    }
}

extension String {
    fileprivate var trimmingSpacesAndTabs: String {
        var s = self[...]
        while let first = s.first, first == " " || first == "\t" { s.removeFirst() }
        while let last = s.last, last == " " || last == "\t" { s.removeLast() }
        return String(s)
    }
}
