import Foundation
import GRDB
import Logging
import LabelAPI

/// The coordinator's durable state: jobs, their images and tasks, leases and their attempts, the event ledger,
/// workers, models, blobs and labels, in one SQLite database (WAL, `synchronous = NORMAL`, foreign keys on).
///
/// Every operation comes in two forms. The core form takes the `Database` of a transaction its caller opened
/// (`claim(_ db:worker:)`), so operations compose explicitly: the write batcher runs several in one transaction,
/// each in its own savepoint, and a route can read a job and its progress on one snapshot. The convenience form
/// (`claim(worker:)`) opens its own transaction and blocks the calling thread until it has committed (the tests
/// and the command line use it). The server reaches the store through the async `read`/`write`, which run on
/// GRDB's own writer queue and bounded reader pool, never on Swift's cooperative threads.
///
/// Readers never block the writer (WAL), and each state change is a guarded `UPDATE` (see `TaskState` and
/// friends), so a stale worker or a racing request changes nothing and gets a `StoreError` instead.
///
/// Time comes from `now`, so lease expiry is tested by moving a clock, not by sleeping.
public final class Store: Sendable {
    package let pool: DatabasePool
    package let batcher: WriteBatcher
    let now: @Sendable () -> Date
    let logger: Logger
    /// The folder of the database: relative manifest paths are relative to it.
    let directory: URL
    /// The manifests being read now, by job.
    package let cursors = ManifestCursors()

    /// Opens (creating if needed) the database at `path` and applies the pending migrations.
    public init(
        path: String,
        now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger = Logger(label: "labelmill.store")
    ) throws(StoreError) {
        self.now = now
        self.logger = logger
        directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            var configuration = Configuration()
            configuration.label = "labelmill.store"
            configuration.foreignKeysEnabled = true
            configuration.busyMode = .timeout(10)
            configuration.maximumReaderCount = 4
            configuration.prepareDatabase { db in
                // Every commit copies each page it touched into the WAL (and checksums it); a claim or a completion
                // touches about nine pages to change a few small rows, so small pages make commits much cheaper.
                // (Takes effect only when the file is created.)
                try db.execute(sql: "PRAGMA page_size = 1024")
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                // Checkpoint (and fsync) every 8 MiB of WAL rather than every 1 MiB.
                try db.execute(sql: "PRAGMA wal_autocheckpoint = 8192")
            }
            pool = try DatabasePool(path: path, configuration: configuration)
            try Migrations.migrator.migrate(pool)
            batcher = WriteBatcher(pool: pool)
        } catch {
            throw StoreError.wrap(error, "opening store at \(path)")
        }
        logger.debug("store.opened", metadata: ["store.path": "\(path)"])
    }

    /// The current time as stored: seconds since 1970.
    func timestamp() -> Double { now().timeIntervalSince1970 }

    /// Runs `body` in one write transaction, blocking the calling thread until it has committed; any error rolls
    /// it back and comes out as a `StoreError`. Not reentrant: compose operations through their core forms.
    package func write<T>(_ what: @autoclosure () -> String, _ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try pool.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                return result!
            }
        } catch {
            throw StoreError.wrap(error, what())
        }
    }

    /// Runs `body` on a reader connection: one consistent snapshot that does not block the writer.
    package func read<T>(_ what: @autoclosure () -> String, _ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try pool.read(body)
        } catch {
            throw StoreError.wrap(error, what())
        }
    }

    /// `body` in its own write transaction on GRDB's writer queue; the caller's task waits without a thread.
    public func write<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await pool.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                return result!
            }
        } catch {
            throw StoreError.wrap(error, what)
        }
    }

    /// `body` on one of GRDB's reader connections (at most `maximumReaderCount` at once), on one snapshot.
    public func read<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw StoreError.wrap(error, what)
        }
    }

    /// `bits` random bits as lowercase hex (lease tokens, id suffixes).
    static func randomHex(bits: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        var hex = ""
        hex.reserveCapacity(bits / 4)
        for _ in 0..<(bits + 63) / 64 {
            let word = generator.next() as UInt64
            let digits = String(word, radix: 16)
            hex += String(repeating: "0", count: 16 - digits.count) + digits
        }
        return String(hex.prefix(bits / 4))
    }
}
