import Foundation
import Testing

import Coordinator
import LabelAPI

@Suite struct StoreConcurrencyTests {
    /// Many workers claiming and completing at once, as the HTTP layer's threads do: every task is leased exactly
    /// once, every completion is accepted, and the job ends done.
    @Test func concurrentWorkersEachGetADifferentTask() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 200, shardSize: 2)
        let store = fixture.store
        let claimed = LockedList<Int64>()
        let failures = LockedList<String>()
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            do {
                while let task = try store.claim(worker: "w\(worker)") {
                    for image in task.images {
                        _ = try store.recordLabel(taskId: task.taskId, token: task.token, imageId: image.id,
                                                  label: StoreFixture.label(image: image.id))
                    }
                    try store.complete(taskId: task.taskId, token: task.token)
                    claimed.append(task.taskId)
                }
            } catch {
                failures.append("\(error)")
            }
        }
        #expect(failures.items.isEmpty, "\(failures.items)")
        #expect(claimed.items.count == 100 && Set(claimed.items).count == 100)
        let progress = try store.progress(job.id)
        #expect(progress.state == .done && progress.images.done == 200 && progress.tasks.done == 100)
        #expect(progress.attempts == 100 && progress.retries == 0)
        #expect(try store.workers().reduce(0) { $0 + $1.leaseCount } == 100)
    }

    /// Readers (progress, events) run beside the writers without blocking them or seeing half a transaction.
    @Test func readersSeeWholeTransactions() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 60, shardSize: 3)
        let store = fixture.store
        let failures = LockedList<String>()
        DispatchQueue.concurrentPerform(iterations: 4) { index in
            do {
                if index == 0 {
                    for _ in 0..<50 {
                        let progress = try store.progress(job.id)
                        // A claim moves a whole task's images at once, and a completion finishes them at once.
                        if progress.images.running % 3 != 0 || progress.images.total != 60 {
                            failures.append("torn progress \(progress.images)")
                        }
                    }
                } else {
                    while let task = try store.claim(worker: "w\(index)") {
                        try store.complete(taskId: task.taskId, token: task.token)
                    }
                }
            } catch {
                failures.append("\(error)")
            }
        }
        #expect(failures.items.isEmpty, "\(failures.items)")
        #expect(try store.progress(job.id).state == .done)
    }
}
