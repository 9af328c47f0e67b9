import Foundation
import Logging
import Testing

import Coordinator
import LabelAPI

/// `imagesPerSecond` and `etaSeconds` as `status` shows them, on the store's clock: what a user sees must be true
/// both for a burst of small images and for a slow model's first image.
@Suite struct JobRateTests {
    final class Desk {
        let fixture: StoreFixture
        let services: CoordinatorServices

        init() throws {
            fixture = try StoreFixture()
            services = CoordinatorServices(configuration: CoordinatorConfiguration(dataDirectory: fixture.directory,
                                                                                   tokens: TokenSet(admin: "admin-token")),
                                           store: fixture.store, logger: Logger(label: "test.rate"))
        }

        func status(_ job: String) throws -> JobStatus {
            try fixture.store.read("status") { [services] db in try services.status(db, jobId: job) }
        }

        /// Labels the claimed task's images, one every `every` seconds.
        func label(_ task: ClaimedTask, count: Int? = nil, every: Double) throws {
            for image in task.images.prefix(count ?? task.images.count) {
                fixture.clock.advance(every)
                _ = try fixture.store.recordLabel(taskId: task.taskId, token: task.token, imageId: image.id,
                                                  label: StoreFixture.label(image: image.id))
            }
        }
    }

    @Test func twentySmallImagesInASecondReadAsTwentyPerSecond() throws {
        let desk = try Desk()
        let job = try desk.fixture.job(images: 40, shardSize: 20)
        let task = try #require(try desk.fixture.store.claim(worker: "w1"))
        try desk.label(task, every: 0.05)
        let status = try desk.status(job.id)
        #expect(status.images.done == 20 && abs(status.imagesPerSecond - 20) < 0.5, "\(status.imagesPerSecond) img/s")
        #expect(abs((status.etaSeconds ?? 0) - 1) < 0.1, "20 to go at 20/s: \(String(describing: status.etaSeconds))")
        #expect(status.activeWorkers == 1)
    }

    @Test func aSlowModelsFirstImageIsARateNotZero() throws {
        let desk = try Desk()
        let job = try desk.fixture.job(images: 20, shardSize: 20)
        let task = try #require(try desk.fixture.store.claim(worker: "w1"))
        try desk.label(task, count: 1, every: 8)
        let status = try desk.status(job.id)
        #expect(abs(status.imagesPerSecond - 0.125) < 0.01, "\(status.imagesPerSecond) img/s")
        #expect(abs((status.etaSeconds ?? 0) - 19 * 8) < 1)
        // Two idle minutes later the recent window holds no image: the rate is honest about it.
        desk.fixture.clock.advance(120)
        #expect(try desk.status(job.id).imagesPerSecond == 0)
    }

    @Test func aFinishedJobShowsItsAverageAndNoActiveWorkers() throws {
        let desk = try Desk()
        let job = try desk.fixture.job(images: 10, shardSize: 10)
        let task = try #require(try desk.fixture.store.claim(worker: "w1"))
        try desk.label(task, every: 0.5)
        try desk.fixture.store.complete(taskId: task.taskId, token: task.token)
        desk.fixture.clock.advance(30)
        let status = try desk.status(job.id)
        #expect(status.state == .done && status.activeWorkers == 0, "\(status.state) \(status.activeWorkers)")
        #expect(abs(status.imagesPerSecond - 2) < 0.01 && status.etaSeconds == nil, "\(status.imagesPerSecond)")
    }
}
