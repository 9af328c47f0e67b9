import Foundation

/// POSIX tar (ustar), the container of WebDataset shards.
///
/// Reading takes what WebDataset writers produce: ustar and GNU headers, names longer than 100 bytes as a ustar
/// prefix, a GNU `L` long-name record or a pax `path` record; directories, links and other special members are
/// skipped. Writing produces ustar, with a pax `path` record before a member whose name does not fit.
public enum Tar {
    static let block = 512

    /// A damaged or unreadable archive: where, and why.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }
}

/// Reads a tar archive from a file: its regular files' names and places first (`nextEntry`), then the bytes of
/// those wanted (`bytes(of:)`), one member in memory at a time.
public final class TarReader {
    private let handle: FileHandle
    private let path: String
    /// Members larger than this are refused by `bytes(of:)`.
    private let maxMemberBytes: Int
    private var offset: UInt64 = 0

    public init(path: String, maxMemberBytes: Int = 256 << 20) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw FileError("read", path, reason: "cannot open") }
        self.handle = handle
        self.path = path
        self.maxMemberBytes = maxMemberBytes
    }

    deinit { try? handle.close() }

    /// Where a regular file's bytes are in the archive.
    public struct Entry: Sendable {
        public var name: String
        public var offset: UInt64
        public var size: Int
    }

    /// An entry's bytes (refused over the size limit).
    public func bytes(of entry: Entry) throws -> [UInt8] {
        guard entry.size <= maxMemberBytes else {
            throw Tar.Failure("\(entry.name) is \(entry.size) bytes, over the \(maxMemberBytes)-byte limit for one member")
        }
        try handle.seek(toOffset: entry.offset)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(entry.size)
        while bytes.count < entry.size {
            guard let chunk = try handle.read(upToCount: min(entry.size - bytes.count, 1 << 20)), !chunk.isEmpty else {
                throw Tar.Failure("\(path) ends inside \(entry.name) (truncated)")
            }
            bytes += chunk
        }
        try handle.seek(toOffset: offset)
        return bytes
    }

    /// The next regular file's name and place, its bytes skipped (read them with `bytes(of:)`), or nil at the end.
    /// (A member cut short by the end of the file shows when its bytes are read.)
    public func nextEntry() throws -> Entry? {
        var longName: String?
        while true {
            let header = try read(Tar.block, allowEnd: true, what: "a header")
            guard let header, header.contains(where: { $0 != 0 }) else { return nil }
            try checkChecksum(header)
            let size = try Self.number(header[124..<136], at: offset)
            let type = header[156]
            let padded = (size + UInt64(Tar.block - 1)) / UInt64(Tar.block) * UInt64(Tar.block)
            switch type {
            case UInt8(ascii: "L"):  // GNU: the next member's name
                longName = Self.text(try read(Int(try bounded(size)))!)
                try skip(padded - size)
                continue
            case UInt8(ascii: "x"):  // pax: key=value records for the next member
                let records = try read(Int(try bounded(size)))!
                try skip(padded - size)
                if let path = Self.paxPath(records) { longName = path }
                continue
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"):
                var name = longName ?? Self.text(header[0..<100])
                if longName == nil, header[257..<262].elementsEqual("ustar".utf8) {
                    let prefix = Self.text(header[345..<500])
                    if !prefix.isEmpty { name = prefix + "/" + name }
                }
                let entry = Entry(name: name, offset: offset, size: Int(size))
                try skip(padded)
                return entry
            default:  // directories, links, devices, global pax headers: nothing to label
                longName = nil
                try skip(padded)
            }
        }
    }

    private func bounded(_ size: UInt64) throws -> UInt64 {
        guard size <= 1 << 20 else { throw Tar.Failure("\(path): a name record of \(size) bytes at byte \(offset)") }
        return size
    }

    private func checkChecksum(_ header: [UInt8]) throws {
        let stored = try Self.number(header[148..<156], at: offset)
        var sum: UInt64 = 0
        for (index, byte) in header.enumerated() { sum += (148..<156).contains(index) ? 32 : UInt64(byte) }
        guard stored == sum else {
            if offset == UInt64(Tar.block) { throw Tar.Failure("\(path) is not a tar archive (its first header's checksum is wrong)") }
            throw Tar.Failure("\(path): the header at byte \(offset - UInt64(Tar.block)) has a wrong checksum (damaged)")
        }
    }

    /// `count` bytes; nil at a clean end of file when `allowEnd`.
    private func read(_ count: Int, allowEnd: Bool = false, what: String = "a member") throws -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        while bytes.count < count {
            guard let chunk = try handle.read(upToCount: min(count - bytes.count, 1 << 20)), !chunk.isEmpty else {
                if allowEnd && bytes.isEmpty { return nil }
                if offset == 0 { throw Tar.Failure("\(path) is not a tar archive (\(bytes.count) bytes, less than one header)") }
                throw Tar.Failure("\(path) ends inside \(what) at byte \(offset + UInt64(bytes.count)) (truncated)")
            }
            bytes += chunk
        }
        offset += UInt64(count)
        return bytes
    }

    private func skip(_ count: UInt64) throws {
        guard count > 0 else { return }
        offset += count
        try handle.seek(toOffset: offset)
    }

    /// A header's numeric field: octal text, or GNU base-256 (high bit set) for large values.
    static func number(_ field: ArraySlice<UInt8>, at offset: UInt64) throws -> UInt64 {
        if let first = field.first, first & 0x80 != 0 {
            return field.dropFirst().reduce(UInt64(first & 0x7F)) { $0 << 8 | UInt64($1) }
        }
        var value: UInt64 = 0
        var digits = false
        for byte in field {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                value = value << 3 | UInt64(byte - UInt8(ascii: "0"))
                digits = true
            case 0, UInt8(ascii: " "):
                if digits { return value }  // the terminator; leading spaces are padding
            default:
                throw Tar.Failure("a tar header near byte \(offset) has a malformed number")
            }
        }
        return value
    }

    static func text(_ bytes: some Collection<UInt8>) -> String {
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// The `path` of pax records (`LEN path=VALUE\n`).
    static func paxPath(_ records: [UInt8]) -> String? {
        var rest = records[...]
        while let space = rest.firstIndex(of: UInt8(ascii: " ")), let length = Int(String(decoding: rest[..<space], as: UTF8.self)),
              length > 0, rest.count >= length {
            let record = rest[rest.index(after: space)..<rest.index(rest.startIndex, offsetBy: length - 1)]
            if let equals = record.firstIndex(of: UInt8(ascii: "=")), String(decoding: record[..<equals], as: UTF8.self) == "path" {
                return String(decoding: record[record.index(after: equals)...], as: UTF8.self)
            }
            rest = rest.dropFirst(length)
        }
        return nil
    }
}

/// Writes a tar archive to a temporary file beside `path`; `finish` makes it appear at `path` whole (renamed into
/// place, synced), so a reader never sees part of one.
public final class TarWriter {
    public let path: String
    private let temporary: String
    private let out: StreamFile
    private let modified: UInt64
    private var finished = false

    public init(_ path: String, date: Date = Date()) throws {
        self.path = path
        temporary = AtomicFile.temporaryPath(for: path)
        out = try StreamFile(temporary, mode: 0o644)
        modified = UInt64(max(0, date.timeIntervalSince1970))
    }

    deinit { if !finished { unlink(temporary) } }

    /// Adds a regular file; `name` is its path in the archive, `/` between folders.
    public func add(_ name: String, _ bytes: [UInt8]) throws {
        let nameBytes = Array(name.utf8)
        if nameBytes.count > 100 {
            // A pax extended header carries the whole name; the ustar field keeps a clipped copy for old readers.
            var record = Array(" path=\(name)\n".utf8)
            var length = record.count + 1
            while String(length).utf8.count + record.count != length { length = String(length).utf8.count + record.count }
            record = Array(String(length).utf8) + record
            try out.write(Self.header(name: Array("PaxHeaders/\(nameBytes.count)".utf8), size: record.count, type: "x", modified: modified))
            try out.write(Self.padded(record))
        }
        try out.write(Self.header(name: Array(nameBytes.prefix(100)), size: bytes.count, type: "0", modified: modified))
        try out.write(Self.padded(bytes))
    }

    /// Ends the archive (two zero blocks) and publishes it at `path`.
    public func finish() throws {
        try out.write([UInt8](repeating: 0, count: 2 * Tar.block))
        try out.close()
        try AtomicFile.commit(temporary, to: path)
        finished = true
    }

    static func header(name: [UInt8], size: Int, type: Character, modified: UInt64) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: Tar.block)
        func put(_ bytes: some Collection<UInt8>, at start: Int) { header.replaceSubrange(start..<start + bytes.count, with: bytes) }
        func octal(_ value: UInt64, width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8) + [0]
        }
        put(name, at: 0)
        put(octal(0o644, width: 8), at: 100)
        put(octal(0, width: 8), at: 108)
        put(octal(0, width: 8), at: 116)
        put(octal(UInt64(size), width: 12), at: 124)
        put(octal(modified, width: 12), at: 136)
        put([UInt8](repeating: UInt8(ascii: " "), count: 8), at: 148)
        header[156] = UInt8(ascii: type.unicodeScalars.first!)
        put(Array("ustar\u{0}00".utf8), at: 257)
        let sum = header.reduce(0) { $0 + UInt64($1) }
        put(octal(sum, width: 7) + [UInt8(ascii: " ")], at: 148)
        return header
    }

    static func padded(_ bytes: [UInt8]) -> [UInt8] {
        let remainder = bytes.count % Tar.block
        return remainder == 0 ? bytes : bytes + [UInt8](repeating: 0, count: Tar.block - remainder)
    }
}
