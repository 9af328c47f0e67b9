import Foundation
import Testing

import Coordinator
import LabelAPI

@Suite struct StoreBackupTests {
    /// A copy taken while another thread keeps claiming and completing is a consistent database that opens as a
    /// store, with the job and a state that existed at some moment (never half a transaction).
    @Test func onlineBackupIsConsistentWhileWritesGoOn() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 400, shardSize: 1)
        let store = fixture.store
        let writing = DispatchGroup()
        let stop = LockedList<Bool>()
        DispatchQueue.global().async(group: writing) {
            while stop.items.isEmpty, let task = try? store.claim(worker: "w") {
                try? store.complete(taskId: task.taskId, token: task.token)
            }
        }
        let copy = fixture.directory.appendingPathComponent("backup.sqlite").path
        let report = try Store.backup(database: fixture.path, to: copy)
        stop.append(true)
        writing.wait()
        #expect(report.jobs == 1 && report.bytes > 0)
        #expect((try FileManager.default.attributesOfItem(atPath: copy)[.posixPermissions] as? Int) == 0o600)
        #expect(!FileManager.default.fileExists(atPath: copy + ".partial"))

        let restored = try Store(path: copy)
        let progress = try restored.progress(job.id)
        #expect(progress.images.total == 400)
        // Each completed task is one transaction: its task and image changed together, or neither did.
        #expect(progress.tasks.done + progress.tasks.queued + progress.tasks.leased == 400)
        #expect(progress.tasks.done == progress.images.failed + progress.images.done)
    }

    @Test func aMissingDatabaseIsAClearError() {
        #expect(throws: StoreError.self) { try Store.backup(database: "/nonexistent/labelmill.sqlite", to: "/tmp/never.sqlite") }
    }
}
