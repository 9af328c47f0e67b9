import Foundation
import GRDB
import LabelAPI
import Support

extension Store {
    /// What `backup` copied.
    public struct BackupReport: Sendable {
        public var bytes: Int
        public var jobs: Int
        public var seconds: Double
    }

    /// Copies the database at `source` to `destination` with SQLite's online backup: a consistent snapshot,
    /// taken while a coordinator keeps writing (WAL readers do not block it). The copy is written next to
    /// `destination`, checked with `PRAGMA integrity_check`, synced and renamed into place, readable by its owner
    /// only. Label maps, model blobs and manifests (`manifests/`: tasks name their lines) are plain files under the
    /// data directory: copy those as they are.
    public static func backup(database source: String, to destination: String) throws(StoreError) -> BackupReport {
        let started = Date()
        guard FileManager.default.fileExists(atPath: source) else { throw .notFound("no database at \(source)") }
        let temporary = destination + ".partial"
        unlink(temporary)
        do {
            var readOnly = Configuration()
            readOnly.readonly = true
            readOnly.busyMode = .timeout(10)
            let from = try DatabaseQueue(path: source, configuration: readOnly)
            let to = try DatabaseQueue(path: temporary)
            try from.backup(to: to)
            let (check, jobs) = try to.read { db in
                (try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "", try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM jobs") ?? 0)
            }
            try to.close()
            try from.close()
            guard check == "ok" else { throw StoreError(.io, "the copy fails its integrity check: \(check)") }
            chmod(temporary, 0o600)
            try AtomicFile.commit(temporary, to: destination)
            let size = (try? FileManager.default.attributesOfItem(atPath: destination))?[.size] as? Int ?? 0
            return BackupReport(bytes: size, jobs: jobs, seconds: Date().timeIntervalSince(started))
        } catch {
            unlink(temporary)
            throw StoreError.wrap(error, "backing up \(source)")
        }
    }
}
