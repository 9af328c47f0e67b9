import Foundation
import LabelAPI
import Testing

import Coordinator

/// A clock the tests move by hand, so lease expiry needs no sleeping.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    init(_ start: Date = Date(timeIntervalSince1970: 1_700_000_000)) { current = start }

    var now: Date { lock.withLock { current } }

    func advance(_ seconds: Double) { lock.withLock { current += seconds } }
}

/// One test's own directory, database, clock and store.
final class StoreFixture {
    let directory: URL
    let clock = TestClock()
    private(set) var store: Store

    var path: String { directory.appendingPathComponent("labelmill.sqlite").path }

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("store-tests-\(UUID().uuidString)", isDirectory: true)
        let clock = clock
        store = try Store(path: directory.appendingPathComponent("labelmill.sqlite").path, now: { clock.now })
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// Opens the same file again, as a restarted coordinator would.
    func reopen() throws {
        let clock = clock
        store = try Store(path: path, now: { clock.now })
    }

    static let blobSHA = String(repeating: "b", count: 64)
    static let embeddingsSHA = String(repeating: "e", count: 64)

    /// A registered model (one file).
    func model() throws -> ModelRecord {
        try store.recordBlob(sha256: Self.blobSHA, size: 4, relativePath: "blobs/bb")
        return try store.registerModel(name: "maskclip", files: [ModelFileEntry(name: "weights.bin", sha256: Self.blobSHA, size: 4)])
    }

    static func items(_ count: Int, prefix: String = "img") -> [ManifestItem] {
        (0..<count).map { ManifestItem(id: "\(prefix)\($0)", uri: "file:///data/\(prefix)\($0).jpg", line: $0 + 1) }
    }

    /// Creates a job of `images` images; with `ready`, its embeddings are set so its tasks are claimable.
    func job(
        images: Int = 4, shardSize: Int = 2, maxAttempts: Int = 3, leaseSeconds: Double = 60, ready: Bool = true,
        key: String? = nil, prefix: String = "img"
    ) throws -> JobRecord {
        let model = try model()
        let options = JobSettings(shardSize: shardSize, maxAttempts: maxAttempts, leaseSeconds: leaseSeconds)
        let job = try store.createJob(NewJob(name: "test", modelId: model.id, classes: ["cat", "dog"], options: options,
                                             idempotencyKey: key, items: Self.items(images, prefix: prefix))).job
        if ready { try store.setEmbeddings(jobId: job.id, sha256: Self.embeddingsSHA) }
        return job
    }

    /// A label whose digest is `digit` repeated.
    static func label(_ digit: Character = "1", image: String = "x") -> LabelFile {
        LabelFile(sha256: String(repeating: digit, count: 64), bytes: 100, width: 32, height: 24,
                  relativePath: "labels/\(image).png")
    }

    func kinds(_ jobId: String) throws -> [String] {
        try store.events(jobId: jobId).map(\.kind.rawValue)
    }
}

/// A well-formed token that is not `token`.
func otherToken(_ token: String) -> String {
    (token.first == "f" ? "0" : "f") + token.dropFirst()
}

/// Runs `body` and returns the `StoreError` code it threw, or nil.
func storeErrorCode(_ body: () throws -> Void) -> StoreError.Code? {
    do {
        try body()
        return nil
    } catch let error as StoreError {
        return error.code
    } catch {
        Issue.record("not a StoreError: \(error)")
        return nil
    }
}

/// Runs `body` and returns the `StoreError` it threw, or nil.
func storeError(_ body: () throws -> Void) -> StoreError? {
    do {
        try body()
        return nil
    } catch let error as StoreError {
        return error
    } catch {
        Issue.record("not a StoreError: \(error)")
        return nil
    }
}

/// A list that concurrent test threads append to.
final class LockedList<Element>: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Element] = []

    func append(_ element: Element) { lock.withLock { storage.append(element) } }

    var items: [Element] { lock.withLock { storage } }
}
