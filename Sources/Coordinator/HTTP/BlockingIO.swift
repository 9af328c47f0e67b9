import Support

/// Blocking work of the coordinator's requests, on threads of its own, never on Swift's cooperative threads. The
/// database has its own threads (GRDB's writer queue and reader pool: see `Store.read`/`write`).
enum BlockingIO {
    /// Short file work: writing a label map or a chunk of an upload, an fsync, a stat. Enough threads that a slow
    /// disk holds up some requests, not all of them.
    private static let files = WorkThreads(name: "lm-files", count: 16)

    /// Long work: creating a job from a manifest of a million lines, loading a model's tokenizer. Two at a time, on
    /// threads of their own, so that a large submit never delays the workers' uploads.
    private static let jobs = WorkThreads(name: "lm-jobs", count: 2)

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await files.run(body)
    }

    static func runLong<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await jobs.run(body)
    }
}
