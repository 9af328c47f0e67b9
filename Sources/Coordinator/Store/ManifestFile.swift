import Foundation
import LabelAPI

/// The items of a manifest file, read a chunk at a time: a million-line manifest never sits in memory. Each
/// pass reopens the file (`Store.createJob` makes two: one for the request's digest, one to insert). Lines are
/// split on "\n", "\r\n" or "\r"; a line that is not UTF-8 is rejected alone. Duplicate ids are not caught
/// here (that needs every id seen so far): the store catches them with its unique index.
public struct ManifestFile: Sequence, Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public func makeIterator() -> Iterator { Iterator(path: path) }

    public struct Iterator: IteratorProtocol {
        private let handle: FileHandle?
        private var buffer: [UInt8] = []
        private var position = 0
        private var atEnd = false
        private var number = 0
        /// The last line ended with "\r": a "\n" right after it belongs to the same line break.
        private var afterCarriageReturn = false

        init(path: String) { handle = FileHandle(forReadingAtPath: path) }

        public mutating func next() -> ManifestItem? {
            while let (line, length) = nextLine() {
                number += 1
                if length > Manifest.maxLineBytes {
                    return Manifest.overlong(Substring(String(decoding: line, as: UTF8.self)), bytes: length, number: number)
                }
                guard let text = String(validating: line, as: UTF8.self) else {
                    return ManifestItem(id: "#\(number)", uri: "", line: number, rejection: "manifest line \(number): not valid UTF-8")
                }
                if let item = Manifest.item(Substring(text), number: number) { return item }
            }
            try? handle?.close()
            return nil
        }

        /// The next line's bytes without its line break and the line's length, or nil at the end of the file. Of a
        /// line over `Manifest.maxLineBytes` only the start is kept: a line of any length costs no more memory.
        private mutating func nextLine() -> (bytes: [UInt8], length: Int)? {
            var line: [UInt8] = []
            var length = 0
            while true {
                if position == buffer.count {
                    if atEnd { return length == 0 ? nil : (line, length) }
                    buffer = [UInt8]((try? handle?.read(upToCount: 1 << 20)) ?? nil ?? Data())
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
                let keep = Swift.min(end - position, Swift.max(0, Manifest.maxLineBytes + 1 - line.count))
                line.append(contentsOf: buffer[position..<position + keep])
                length += end - position
                position = end
                if end < buffer.count {
                    afterCarriageReturn = buffer[end] == UInt8(ascii: "\r")
                    position += 1
                    return (line, length)
                }
            }
        }
    }
}
