/// A request body as libcurl pulls it: from memory or streamed from a file. Rewindable, because
/// libcurl replays the body when a reused keep-alive connection turns out to be closed.
final class UploadSource {
    private enum Storage {
        case bytes([UInt8])
        case file(LocalFile)
    }

    private let storage: Storage
    /// Sent as Content-Length; a file is read up to the size it had when opened.
    let size: Int64
    private var offset: Int64 = 0

    init(_ body: ClientRequest.Body) throws(CurlError) {
        switch body {
        case .empty:
            storage = .bytes([])
            size = 0
        case .bytes(let bytes):
            storage = .bytes(bytes)
            size = Int64(bytes.count)
        case .file(let path):
            let file = try LocalFile.openForReading(path)
            storage = .file(file)
            size = try file.size()
        }
    }

    /// Fills `buffer` with the next bytes; 0 at the end of the body.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(CurlError) -> Int {
        let want = Int(min(Int64(buffer.count), size - offset))
        guard want > 0 else { return 0 }
        let n: Int
        switch storage {
        case .bytes(let bytes):
            bytes.withUnsafeBytes { source in
                let start = Int(offset)
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[start..<start + want]))
            }
            n = want
        case .file(let file):
            n = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]), at: offset)
            guard n > 0 else { throw CurlError(.io, "\(file.path): file shrank while uploading") }
        }
        offset += Int64(n)
        return n
    }

    /// Moves to an absolute position (libcurl only rewinds from the start).
    func seek(to position: Int64) -> Bool {
        guard position >= 0, position <= size else { return false }
        offset = position
        return true
    }
}
