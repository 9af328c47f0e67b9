import Logging
import Support

/// The async face of libcurl for the worker and the CLI. Every transfer runs on one of the
/// client's own threads (`WorkThreads`), each owning one `CurlSession` (a handle and its keep-alive
/// connections, which never change threads); the calling task just awaits. Cancelling the task aborts the
/// transfer. A value: copies share the same threads, which end when the last copy is gone.
public struct HTTPClient: Sendable {
    public struct Configuration: Sendable {
        public var session: CurlSession.Configuration
        /// How many transfers may run at once (one thread and one connection cache each).
        public var threads: Int

        public init(session: CurlSession.Configuration = .init(), threads: Int = 2) {
            self.session = session
            self.threads = threads
        }
    }

    public let configuration: Configuration
    public var logger: Logger
    /// Sleep and randomness for retries; tests replace it to check the schedule without waiting.
    public var retryClock: RetryClock
    private let threads: WorkThreads<CurlSession>

    public init(
        configuration: Configuration = .init(),
        logger: Logger = Logger(label: "labelmill.http"),
        retryClock: RetryClock = .live
    ) {
        self.configuration = configuration
        self.logger = logger
        self.retryClock = retryClock
        let session = configuration.session
        self.threads = WorkThreads(name: "lm-curl", count: configuration.threads) { CurlSession(configuration: session) }
    }

    /// One attempt; returns the response whatever its status (see `ClientResponse.requireOK()`).
    public func send(_ request: ClientRequest) async throws(CurlError) -> ClientResponse {
        try await onTransferThread("\(request.method) \(request.url)") { session, cancellation throws(CurlError) in
            try session.perform(request, cancellation: cancellation)
        }
    }

    /// One download attempt; see `CurlSession.download`.
    public func download(_ request: DownloadRequest, progress: DownloadProgress? = nil) async throws(CurlError) -> DownloadResult {
        try await onTransferThread("GET \(request.url)") { session, cancellation throws(CurlError) in
            try session.download(request, cancellation: cancellation, progress: progress)
        }
    }

    /// Runs `body` on a transfer thread and suspends until it is done. Cancelled, a transfer under way aborts (the
    /// flag stops libcurl's progress callback) and one not started never starts.
    private func onTransferThread<T: Sendable>(
        _ what: @autoclosure () -> String, _ body: @escaping @Sendable (CurlSession, CancellationFlag) throws(CurlError) -> T
    ) async throws(CurlError) -> T {
        let cancellation = CancellationFlag()
        let result: Result<T, CurlError>
        do {
            result = try await withTaskCancellationHandler {
                try await threads.run { session in Result { () throws(CurlError) in try body(session, cancellation) } }
            } onCancel: {
                cancellation.cancel()
            }
        } catch {
            throw CurlError.cancelled(what())
        }
        return try result.get()
    }
}
