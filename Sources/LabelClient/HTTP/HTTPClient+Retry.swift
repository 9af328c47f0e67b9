import Logging

extension HTTPClient {
    /// Sends with retries: transport failures and timeouts that are `isRetryable`, and responses
    /// with a retryable status (5xx, 408, 429; `Retry-After` is honoured up to `maxDelay`).
    /// Returns the last response when attempts run out on a retryable status.
    public func send(_ request: ClientRequest, retry policy: RetryPolicy) async throws(CurlError) -> ClientResponse {
        try await retrying(policy, "\(request.method) \(request.url)") { _ throws(CurlError) in
            let response = try await send(request)
            guard response.isRetryableStatus else { return .done(response) }
            return .retry(response, after: response.retryAfter, reason: "http.status \(response.status)")
        }
    }

    /// Downloads with retries; every attempt after the first resumes the `.part` file.
    public func download(
        _ request: DownloadRequest, retry policy: RetryPolicy, progress: DownloadProgress? = nil
    ) async throws(CurlError) -> DownloadResult {
        try await retrying(policy, "GET \(request.url)") { attempt throws(CurlError) in
            var request = request
            request.resume = request.resume || attempt > 1
            return .done(try await download(request, progress: progress))
        }
    }

    /// The brief form of `download(_:retry:progress:)`.
    public func download(
        from url: String, to path: String, expectedSize: Int64? = nil, expectedSHA256: String? = nil,
        resume: Bool = true, retry policy: RetryPolicy = .none, progress: DownloadProgress? = nil
    ) async throws(CurlError) -> DownloadResult {
        let request = DownloadRequest(
            url: url, destination: path, expectedSize: expectedSize, expectedSHA256: expectedSHA256, resume: resume)
        return try await download(request, retry: policy, progress: progress)
    }

    enum AttemptOutcome<T> {
        case done(T)
        /// Worth another attempt; returned as is when none is left.
        case retry(T, after: Duration?, reason: String)
    }

    /// Runs `operation` (given the 1-based attempt number) until it is done, fails for good, or
    /// `policy.maxAttempts` is reached, sleeping the policy's backoff in between.
    func retrying<T>(
        _ policy: RetryPolicy, _ what: String, _ operation: (Int) async throws(CurlError) -> AttemptOutcome<T>
    ) async throws(CurlError) -> T {
        var attempt = 1
        while true {
            var hint: Duration?
            var metadata: Logger.Metadata = ["http.request": "\(what)", "retry.attempt": "\(attempt)"]
            do {
                switch try await operation(attempt) {
                case .done(let value):
                    return value
                case .retry(let value, let after, let reason):
                    guard attempt < policy.maxAttempts else { return value }
                    hint = after
                    metadata["retry.reason"] = "\(reason)"
                }
            } catch {
                guard error.isRetryable, attempt < policy.maxAttempts else { throw error }
                metadata["retry.reason"] = "\(error.code)"
                metadata["error.message"] = "\(error.message)"
            }
            var delay = policy.delay(afterAttempt: attempt, random: retryClock.random())
            if let hint { delay = max(delay, min(hint, policy.maxDelay)) }
            metadata["retry.delay_ms"] = "\(delay.components.seconds * 1_000 + delay.components.attoseconds / 1_000_000_000_000_000)"
            logger.warning("http.retry", metadata: metadata)
            do {
                try await retryClock.sleep(delay)
            } catch {
                throw CurlError.cancelled(what)
            }
            attempt += 1
        }
    }
}
