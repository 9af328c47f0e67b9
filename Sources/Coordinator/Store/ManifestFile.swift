import Foundation
import LabelAPI

/// The items of a manifest file, read a chunk at a time: a million-line manifest never sits in memory. Lines are
/// split on "\n", "\r\n" or "\r"; a line that is not UTF-8 is rejected alone. Duplicate ids are not caught
/// here (that needs every id seen so far): the store catches them (`IdSet`).
///
/// An iterator knows how far it has read (`offset`, `line`) and can start there (`init(path:offset:line:)`), so a
/// job's preparation goes on from where it stopped after a restart.
public struct ManifestFile: Sequence, Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public func makeIterator() -> Iterator { Iterator(path: path) }

    public struct Iterator: IteratorProtocol {
        private let handle: FileHandle?
        private var buffer: [UInt8] = []
        /// The file offset of `buffer[0]`.
        private var bufferStart: Int64
        private var position = 0
        private var atEnd = false
        /// The lines read so far (blank and comment lines too).
        public private(set) var line: Int
        /// The bytes read so far: through the end of the last line `next()` read, its line break included.
        public private(set) var offset: Int64
        /// The last line ended with "\r": a "\n" right after it belongs to the same line break.
        private var afterCarriageReturn = false

        /// How much of the file one read takes.
        private let chunk: Int

        /// Whether the file could be opened.
        public var isOpen: Bool { handle != nil }

        /// Reads `path` from byte `offset`, where line `line` ended (0 and 0: the start), `chunk` bytes at a time
        /// (a few lines of it: less).
        public init(path: String, offset: Int64 = 0, line: Int = 0, chunk: Int = 1 << 20) {
            handle = FileHandle(forReadingAtPath: path)
            self.chunk = chunk
            (bufferStart, self.offset, self.line) = (offset, offset, line)
            guard offset > 0, let handle else { return }
            // A "\r" just before `offset` may be the first half of a "\r\n" line break.
            try? handle.seek(toOffset: UInt64(offset - 1))
            afterCarriageReturn = (try? handle.read(upToCount: 1))?.first == UInt8(ascii: "\r")
        }

        public mutating func next() -> ManifestItem? {
            while let (bytes, length) = nextLine() {
                line += 1
                offset = bufferStart + Int64(position)
                if length > Manifest.maxLineBytes {
                    return Manifest.overlong(Substring(String(decoding: bytes, as: UTF8.self)), bytes: length, number: line)
                }
                guard let text = String(validating: bytes, as: UTF8.self) else {
                    return ManifestItem(id: "#\(line)", uri: "", line: line, rejection: "manifest line \(line): not valid UTF-8")
                }
                if let item = Manifest.item(Substring(text), number: line) { return item }
            }
            try? handle?.close()
            return nil
        }

        /// The next line's bytes without its line break and the line's length, or nil at the end of the file. Of a
        /// line over `Manifest.maxLineBytes` only the start is kept: a line of any length costs no more memory.
        private mutating func nextLine() -> (bytes: [UInt8], length: Int)? {
            var bytes: [UInt8] = []
            var length = 0
            while true {
                if position == buffer.count {
                    if atEnd { return length == 0 ? nil : (bytes, length) }
                    bufferStart += Int64(buffer.count)
                    buffer = [UInt8]((try? handle?.read(upToCount: chunk)) ?? nil ?? Data())
                    position = 0
                    if buffer.isEmpty {
                        atEnd = true
                        continue
                    }
                }
                if afterCarriageReturn {
                    afterCarriageReturn = false
                    if buffer[position] == UInt8(ascii: "\n") {
                        position += 1
                        continue
                    }
                }
                let end = buffer[position...].firstIndex { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") } ?? buffer.count
                let keep = Swift.min(end - position, Swift.max(0, Manifest.maxLineBytes + 1 - bytes.count))
                bytes.append(contentsOf: buffer[position..<position + keep])
                length += end - position
                position = end
                if end < buffer.count {
                    afterCarriageReturn = buffer[end] == UInt8(ascii: "\r")
                    position += 1
                    return (bytes, length)
                }
            }
        }
    }
}
