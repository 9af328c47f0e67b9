import Foundation

/// A ZIP archive written one file at a time, without compression (label maps and images are compressed already).
/// Memory stays flat however many files it takes: the central directory streams to a temporary file beside the
/// archive and is appended at `finish`. ZIP64 records are written where the classic fields overflow (more than
/// 65,535 files, or an archive past 4 GiB), as APPNOTE 6.3 describes; names are UTF-8 (general purpose bit 11).
public final class ZipArchive {
    public let path: String
    private let temporary: String
    private let out: StreamFile
    private let directory: StreamFile
    private var offset: UInt64 = 0
    private var directorySize: UInt64 = 0
    private var count: UInt64 = 0
    /// Past this, an offset, size or count of the directory is written as ZIP64 (0xFFFF... in the classic field);
    /// tests lower it to reach that path. Entries stay under 4 GiB each.
    private let limit: UInt64
    private let stamp: (time: UInt16, date: UInt16)

    public convenience init(_ path: String) throws {
        try self.init(path, zip64Above: 0xFFFF_FFFE)
    }

    package init(_ path: String, zip64Above limit: UInt64, date: Date = Date()) throws {
        self.path = path
        self.limit = limit
        temporary = AtomicFile.temporaryPath(for: path)
        out = try StreamFile(temporary)
        directory = try StreamFile(temporary + ".directory")
        stamp = Self.dosTime(date)
    }

    /// Adds a file; `name` is its path inside the archive, with `/` between folders.
    public func add(_ name: String, _ bytes: [UInt8]) throws {
        try add(name, size: UInt64(bytes.count), crc: CRC32.checksum(bytes)) { try out.write(bytes) }
    }

    /// Adds the file at `file`, read a MiB at a time (twice: for its checksum, then its bytes).
    public func add(_ name: String, contentsOf file: String) throws {
        var crc = CRC32(), size: UInt64 = 0
        try Self.chunks(of: file) { crc.update($0); size += UInt64($0.count) }
        try add(name, size: size, crc: crc.value) { try Self.chunks(of: file) { try out.write($0) } }
    }

    private static func chunks(of file: String, _ body: ([UInt8]) throws -> Void) throws {
        guard let handle = FileHandle(forReadingAtPath: file) else { throw FileError("read", file, reason: "cannot open") }
        defer { try? handle.close() }
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { try body([UInt8](chunk)) }
    }

    private func add(_ name: String, size: UInt64, crc: UInt32, writeData: () throws -> Void) throws {
        let nameBytes = [UInt8](name.utf8)
        guard nameBytes.count <= 0xFFFF, size < 0xFFFF_FFFF else {
            throw FileError("write", path, reason: "\(name) is too large for a ZIP entry")
        }
        let size = UInt32(size)
        var header = ByteWriter()
        header.u32(0x0403_4B50)
        sharedFields(&header, crc: crc, size: size, nameLength: nameBytes.count)
        header.u16(0)  // extra field length
        header.bytes(nameBytes)
        try out.write(header.data)
        try writeData()

        let zip64Offset = offset > limit
        var entry = ByteWriter()
        entry.u32(0x0201_4B50)
        entry.u16(3 << 8 | 45)  // made by Unix, 4.5
        sharedFields(&entry, crc: crc, size: size, nameLength: nameBytes.count)
        entry.u16(zip64Offset ? 12 : 0)  // extra field length
        entry.u16(0)  // comment
        entry.u16(0)  // disk
        entry.u16(0)  // internal attributes
        entry.u32(0o100644 << 16)  // external: a regular file, rw-r--r--
        entry.u32(zip64Offset ? 0xFFFF_FFFF : UInt32(offset))
        entry.bytes(nameBytes)
        if zip64Offset {
            entry.u16(0x0001)  // ZIP64 extended information: only the overflowing field, the offset
            entry.u16(8)
            entry.u64(offset)
        }
        try directory.write(entry.data)
        offset += UInt64(header.data.count) + UInt64(size)
        directorySize += UInt64(entry.data.count)
        count += 1
    }

    /// The fields a local header and its central directory entry share, "version needed" to the name's length.
    private func sharedFields(_ record: inout ByteWriter, crc: UInt32, size: UInt32, nameLength: Int) {
        record.u16(45)  // version needed: 4.5, ZIP64
        record.u16(1 << 11)  // UTF-8 names
        record.u16(0)  // stored
        record.u16(stamp.time)
        record.u16(stamp.date)
        record.u32(crc)
        record.u32(size)  // compressed
        record.u32(size)
        record.u16(UInt16(nameLength))
    }

    /// Appends the central directory and the end records, and moves the archive into place.
    public func finish() throws {
        try directory.close()
        try out.append(contentsOf: directory.path)
        try? FileManager.default.removeItem(atPath: directory.path)
        let directoryOffset = offset
        let zip64 = count > min(limit, 0xFFFE) || directoryOffset > limit || directorySize > limit
        var end = ByteWriter()
        if zip64 {
            let recordOffset = directoryOffset + directorySize
            end.u32(0x0606_4B50)  // ZIP64 end of central directory record
            end.u64(44)  // its size after this field
            end.u16(3 << 8 | 45)
            end.u16(45)
            end.u32(0)
            end.u32(0)
            end.u64(count)
            end.u64(count)
            end.u64(directorySize)
            end.u64(directoryOffset)
            end.u32(0x0706_4B50)  // its locator
            end.u32(0)
            end.u64(recordOffset)
            end.u32(1)
        }
        end.u32(0x0605_4B50)
        end.u16(0)
        end.u16(0)
        end.u16(zip64 ? 0xFFFF : UInt16(count))
        end.u16(zip64 ? 0xFFFF : UInt16(count))
        end.u32(zip64 ? 0xFFFF_FFFF : UInt32(directorySize))
        end.u32(zip64 ? 0xFFFF_FFFF : UInt32(directoryOffset))
        end.u16(0)
        try out.write(end.data)
        try out.close()
        try AtomicFile.commit(temporary, to: path)
    }

    /// MS-DOS time and date fields, in local time as zip tools read them (1980 at the earliest).
    static func dosTime(_ date: Date) -> (time: UInt16, date: UInt16) {
        var seconds = time_t(date.timeIntervalSince1970)
        var parts = tm()
        localtime_r(&seconds, &parts)
        let year = max(Int(parts.tm_year) + 1900, 1980)
        let time = UInt16(parts.tm_hour) << 11 | UInt16(parts.tm_min) << 5 | UInt16(parts.tm_sec / 2)
        let day = UInt16(year - 1980) << 9 | UInt16(parts.tm_mon + 1) << 5 | UInt16(parts.tm_mday)
        return (time, day)
    }
}

/// Little-endian fields for ZIP records.
private struct ByteWriter {
    var data: [UInt8] = []
    mutating func u16(_ value: UInt16) { data += [UInt8(value & 0xFF), UInt8(value >> 8)] }
    mutating func u32(_ value: UInt32) { u16(UInt16(value & 0xFFFF)); u16(UInt16(value >> 16)) }
    mutating func u64(_ value: UInt64) { u32(UInt32(value & 0xFFFF_FFFF)); u32(UInt32(value >> 32)) }
    mutating func bytes(_ value: [UInt8]) { data += value }
}

/// CRC-32 as ZIP, PNG and gzip use it (reflected polynomial 0xEDB88320), fed in pieces.
public struct CRC32 {
    private static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }
    private var state: UInt32 = 0xFFFF_FFFF

    public init() {}

    public var value: UInt32 { state ^ 0xFFFF_FFFF }

    public mutating func update(_ bytes: [UInt8]) {
        var c = state
        Self.table.withUnsafeBufferPointer { table in
            bytes.withUnsafeBufferPointer { bytes in
                for byte in bytes { c = table[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
            }
        }
        state = c
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc = CRC32()
        crc.update(bytes)
        return crc.value
    }
}
