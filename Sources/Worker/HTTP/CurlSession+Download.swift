extension CurlSession {
    /// Downloads into `path + ".part"`, resuming it when asked, verifies size and SHA-256, syncs and
    /// renames it onto `path`. A transfer that breaks leaves the `.part` for the next attempt; a
    /// file that fails verification is deleted.
    public func download(
        from url: String, to path: String, expectedSize: Int64? = nil, expectedSHA256: String? = nil,
        resume: Bool = true, progress: DownloadProgress? = nil
    ) throws(CurlError) -> DownloadResult {
        let request = DownloadRequest(
            url: url, destination: path, expectedSize: expectedSize, expectedSHA256: expectedSHA256, resume: resume)
        return try download(request, cancellation: nil, progress: progress)
    }

    public func download(_ request: DownloadRequest, progress: DownloadProgress? = nil) throws(CurlError) -> DownloadResult {
        try download(request, cancellation: nil, progress: progress)
    }

    func download(
        _ request: DownloadRequest, cancellation: CancellationFlag?, progress: DownloadProgress?
    ) throws(CurlError) -> DownloadResult {
        let expectedSHA256 = DownloadDigest.normalizedSHA256(request.expectedSHA256)
        if request.expectedSHA256 != nil && expectedSHA256 == nil {
            throw CurlError(.other, "\(request.destination): expected SHA-256 is not 64 hex digits")
        }
        let part = request.partialPath
        if !request.resume { FileSystem.remove(part) }
        let file = try LocalFile.openForAppending(part)
        defer { file.close() }
        var sink = try makeSink(file, request, progress)
        if sink.startOffset > 0, sink.startOffset == request.expectedSize {
            sink.report(force: true)  // the part already holds every byte: just verify it
        } else {
            try fetch(request, into: sink, cancellation: cancellation)
            if sink.state == .rangeNotSatisfiable {  // the part is not a prefix of this file
                try file.truncate()
                sink = DownloadSink(file: file, startOffset: 0, digest: DownloadDigest(), progress: progress)
                try fetch(request, into: sink, cancellation: cancellation)
            }
        }
        if case .failed(let status) = sink.state {
            let text = String(decoding: sink.errorBody, as: UTF8.self)
            throw CurlError(.httpStatus(status), "GET \(request.url): HTTP \(status): \(text)")
        }
        sink.finish()
        try file.sync()
        return try verifyAndRename(request, sink: sink, expectedSHA256: expectedSHA256)
    }

    private func makeSink(_ file: LocalFile, _ request: DownloadRequest, _ progress: DownloadProgress?) throws(CurlError) -> DownloadSink {
        var offset = try file.size()
        if let expected = request.expectedSize, offset > expected {
            try file.truncate()
            offset = 0
        }
        var digest = DownloadDigest()
        try digest.update(from: file, length: offset)
        return DownloadSink(file: file, startOffset: offset, digest: digest, progress: progress)
    }

    private func fetch(_ request: DownloadRequest, into sink: DownloadSink, cancellation: CancellationFlag?) throws(CurlError) {
        var http = HTTPRequest(method: .get, url: request.url, headers: request.headers, timeout: request.timeout)
        if sink.startOffset > 0 { http.headers["Range"] = "bytes=\(sink.startOffset)-" }
        _ = try transfer(http, totalTimeout: request.timeout, sink: sink, cancellation: cancellation)
    }

    private func verifyAndRename(_ request: DownloadRequest, sink: DownloadSink, expectedSHA256: String?) throws(CurlError) -> DownloadResult {
        let part = request.partialPath
        let size = sink.size
        if let total = sink.total, size < total {  // libcurl normally reports this itself
            throw CurlError(.sendOrReceiveFailed, "GET \(request.url): got \(size) of \(total) bytes")
        }
        if let expected = request.expectedSize, size != expected {
            FileSystem.remove(part)
            throw CurlError(.sizeMismatch, "\(request.destination): \(size) bytes, expected \(expected) (from \(request.url))")
        }
        let sha256 = sink.digest.finalize()
        if let expectedSHA256, sha256 != expectedSHA256 {
            FileSystem.remove(part)
            throw CurlError(.checksumMismatch, "\(request.destination): SHA-256 \(sha256), expected \(expectedSHA256) (from \(request.url))")
        }
        try FileSystem.rename(part, to: request.destination)
        return DownloadResult(path: request.destination, size: size, sha256: sha256, resumedFrom: sink.startOffset)
    }
}
