import NIOPosix
import LabelAPI

/// Blocking file work (label and blob writes, fsync, manifest streaming, stat) runs on NIO's shared, bounded
/// thread pool for blocking I/O (the one Hummingbird's `FileIO` uses), never on Swift's cooperative threads.
/// The database has its own threads: see `Store.read` and `Store.write`.
enum BlockingIO {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }
}
