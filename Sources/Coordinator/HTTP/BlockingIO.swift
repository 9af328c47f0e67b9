import NIOPosix

/// Blocking work of the coordinator's requests, on bounded thread pools of its own, never on Swift's cooperative
/// threads. The database has its own threads (GRDB's writer queue and reader pool: see `Store.read`/`write`).
enum BlockingIO {
    /// Short file work: writing a label map or a chunk of an upload, an fsync, a stat. Enough threads that a slow
    /// disk holds up some requests, not all of them.
    private static let files: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 16)
        pool.start()
        return pool
    }()

    /// Long work: creating a job from a manifest of a million lines, loading a model's tokenizer. Two at a time, on
    /// threads of their own, so that a large submit never delays the workers' uploads.
    private static let jobs: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        return pool
    }()

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await files.runIfActive(body)
    }

    static func runLong<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await jobs.runIfActive(body)
    }
}
