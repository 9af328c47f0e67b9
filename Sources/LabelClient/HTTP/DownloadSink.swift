/// Writes a download's body into its `.part` file. Decides from the
/// response status what the bytes mean: 206 continues the part, 200 replaces it (a server that
/// ignores Range sends the whole file), anything else is an error whose body is kept for the message.
final class DownloadSink: ResponseSink {
    enum State: Equatable {
        case waiting
        case writing
        /// 416 with `bytes */N` where N is what we have: the part is already the whole file.
        case alreadyComplete
        /// 416 for any other reason: the part is unusable.
        case rangeNotSatisfiable
        case failed(status: Int)
    }

    private let file: LocalFile
    private let progress: DownloadProgress?
    private(set) var state = State.waiting
    /// Bytes kept from before this transfer.
    private(set) var startOffset: Int64
    private(set) var written: Int64 = 0
    /// Full size as announced by the server (Content-Length or Content-Range).
    private(set) var total: Int64?
    private(set) var errorBody: [UInt8] = []
    private var lastReported: Int64 = 0

    init(file: LocalFile, startOffset: Int64, progress: DownloadProgress?) {
        self.file = file
        self.startOffset = startOffset
        self.progress = progress
    }

    var size: Int64 { startOffset + written }

    func begin(_ head: ResponseHead) throws(CurlError) {
        let range = ContentRange(head.headers["Content-Range"])
        switch head.status {
        case 206:
            guard let range, range.start == startOffset else {
                throw CurlError(.tlsOrProtocol, "206 with Content-Range \(head.headers["Content-Range"] ?? "none"), expected start \(startOffset)")
            }
            total = range.total
            state = .writing
        case 200..<300:
            if startOffset > 0 {
                try file.truncate()
                startOffset = 0
            }
            total = head.headers["Content-Length"].flatMap { Int64($0) }
            state = .writing
        case 416 where startOffset > 0 && range?.start == nil && range?.total == startOffset:
            total = startOffset
            state = .alreadyComplete
        case 416:
            state = .rangeNotSatisfiable
        default:
            state = .failed(status: head.status)
        }
        if state == .writing { report(force: true) }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws(CurlError) {
        guard state == .writing else {
            if errorBody.count < 4_096 { errorBody.append(contentsOf: bytes.prefix(4_096 - errorBody.count)) }
            return
        }
        try file.write(bytes)
        written += Int64(bytes.count)
        report(force: false)
    }

    /// Makes sure the final byte count was reported.
    func finish() {
        if state == .writing && lastReported != size { report(force: true) }
    }

    /// Reports at most every 256 KiB, and always for the first and last byte counts.
    func report(force: Bool) {
        guard let progress, force || size - lastReported >= 256 << 10 || size == total else { return }
        lastReported = size
        progress(size, total)
    }
}
