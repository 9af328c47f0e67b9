import Support
#if canImport(Glibc)
import Glibc
#endif

extension CurlSession {
    /// Downloads `url` into `path`; see `download(_:progress:)`.
    public func download(
        from url: String, to path: String, expectedSize: Int64? = nil, expectedSHA256: String? = nil,
        resume: Bool = true, progress: DownloadProgress? = nil
    ) throws(CurlError) -> DownloadResult {
        let request = DownloadRequest(
            url: url, destination: path, expectedSize: expectedSize, expectedSHA256: expectedSHA256, resume: resume)
        return try download(request, cancellation: nil, progress: progress)
    }

    /// Fetches a file so that processes sharing its directory (workers on one host, one cache) cooperate:
    ///
    /// 1. take the exclusive lock `destination.lock` (see `FileLock`): one process at a time touches this file;
    /// 2. a destination already there (another process just fetched it, or a cache hit) is checked and kept when it
    ///    has the expected digest (or, when none is known, the expected size); a file that fails the check is
    ///    deleted, never used;
    /// 3. otherwise download into `destination.part`, continuing it when asked (only the lock holder writes it);
    /// 4. verify the size and SHA-256 of the file **on disk**, then fsync, rename and fsync the directory.
    ///
    /// A transfer that breaks leaves the `.part` for the next attempt; a file that fails verification is deleted.
    public func download(_ request: DownloadRequest, progress: DownloadProgress? = nil) throws(CurlError) -> DownloadResult {
        try download(request, cancellation: nil, progress: progress)
    }

    func download(
        _ request: DownloadRequest, cancellation: CancellationFlag?, progress: DownloadProgress?
    ) throws(CurlError) -> DownloadResult {
        let expectedSHA256 = SHA256Hex.normalized(request.expectedSHA256)
        if request.expectedSHA256 != nil && expectedSHA256 == nil {
            throw CurlError(.other, "\(request.destination): expected SHA-256 is not 64 hex digits")
        }
        try CurlError.file { () throws(FileError) in try AtomicFile.createDirectories(AtomicFile.parentDirectory(of: request.destination)) }
        let lockPath = request.destination + ".lock"
        let acquired = try CurlError.file { () throws(FileError) in
            try FileLock.acquire(lockPath, isCancelled: { cancellation?.isCancelled ?? false })
        }
        guard let lock = acquired else { throw .cancelled("GET \(request.url)") }
        defer { lock.release() }

        let cached = CachedFile(path: request.destination)
        var discarded: String?
        switch try cached.check(size: request.expectedSize, sha256: expectedSHA256, stamp: request.stamp) {
        case .valid(let size, let sha256):
            return DownloadResult(path: request.destination, size: size, sha256: sha256, resumedFrom: size, reused: true)
        case .missing:
            break
        case .invalid(let reason):
            cached.remove()
            discarded = reason
        }
        var result = try fetchIntoPart(request, expectedSHA256: expectedSHA256, cancellation: cancellation, progress: progress)
        if request.stamp, let expectedSHA256 { cached.stamp(sha256: expectedSHA256) }
        result.discarded = discarded
        return result
    }

    private func fetchIntoPart(
        _ request: DownloadRequest, expectedSHA256: String?, cancellation: CancellationFlag?, progress: DownloadProgress?
    ) throws(CurlError) -> DownloadResult {
        let part = request.partialPath
        if !request.resume { unlink(part) }
        let file = try LocalFile.openForAppending(part)
        defer { file.close() }
        var sink = try makeSink(file, request, progress)
        if sink.startOffset > 0, sink.startOffset == request.expectedSize {
            sink.report(force: true)  // the part already holds every byte: just verify it
        } else {
            try fetch(request, into: sink, cancellation: cancellation)
            if sink.state == .rangeNotSatisfiable {  // the part is not a prefix of this file
                try file.truncate()
                sink = DownloadSink(file: file, startOffset: 0, progress: progress)
                try fetch(request, into: sink, cancellation: cancellation)
            }
        }
        if case .failed(let status) = sink.state {
            throw CurlError(.httpStatus(status), "GET \(request.url): HTTP \(status): \(ClientResponse.explanation(of: sink.errorBody))")
        }
        sink.finish()
        if let total = sink.total, sink.size < total {  // libcurl normally reports this itself
            throw CurlError(.sendOrReceiveFailed, "GET \(request.url): got \(sink.size) of \(total) bytes")
        }
        file.close()
        return try verifyAndPublish(request, expectedSHA256: expectedSHA256, resumedFrom: sink.startOffset)
    }

    private func makeSink(_ file: LocalFile, _ request: DownloadRequest, _ progress: DownloadProgress?) throws(CurlError) -> DownloadSink {
        var offset = try file.size()
        if let expected = request.expectedSize, offset > expected {
            try file.truncate()
            offset = 0
        }
        return DownloadSink(file: file, startOffset: offset, progress: progress)
    }

    private func fetch(_ request: DownloadRequest, into sink: DownloadSink, cancellation: CancellationFlag?) throws(CurlError) {
        var http = ClientRequest(method: .get, url: request.url, headers: request.headers, timeout: request.timeout)
        http.awsSignature = request.awsSignature
        if sink.startOffset > 0 { http.headers["Range"] = "bytes=\(sink.startOffset)-" }
        _ = try transfer(http, totalTimeout: request.timeout, sink: sink, cancellation: cancellation)
    }

    /// Checks the `.part` as it is on disk (not the bytes as they streamed by: what matters is what was written),
    /// then makes it the destination durably.
    private func verifyAndPublish(_ request: DownloadRequest, expectedSHA256: String?, resumedFrom: Int64) throws(CurlError) -> DownloadResult {
        let part = request.partialPath
        let onDisk = try CurlError.file { () throws(FileError) in try CachedFile(path: part).measure() }
        if let expected = request.expectedSize, onDisk.size != expected {
            unlink(part)
            throw CurlError(.sizeMismatch, "\(request.destination): \(onDisk.size) bytes, expected \(expected) (from \(request.url))")
        }
        if let expectedSHA256, onDisk.sha256 != expectedSHA256 {
            unlink(part)
            throw CurlError(.checksumMismatch, "\(request.destination): SHA-256 \(onDisk.sha256), expected \(expectedSHA256) (from \(request.url))")
        }
        try CurlError.file { () throws(FileError) in try AtomicFile.commit(part, to: request.destination) }
        return DownloadResult(path: request.destination, size: onDisk.size, sha256: onDisk.sha256, resumedFrom: resumedFrom)
    }
}
