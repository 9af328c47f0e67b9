import Foundation
import GRDB
import LabelAPI
import Testing

import Coordinator

/// The gallery's pages and the job's class shares, read from the class counts recorded with each label.
@Suite struct StoreGalleryTests {
    /// A label of `image` with these pixels per class.
    static func label(_ image: String, _ classes: [Int: Int64], digit: Character = "1") -> LabelFile {
        var file = StoreFixture.label(digit, image: image)
        file.classes = classes.map { ClassPixels(class: $0.key, pixels: $0.value) }.sorted { $0.pixels > $1.pixels }
        return file
    }

    @Test func classPixelsCountsEveryValueMostFirst() {
        let counts = ClassPixels.count([0, 1, 1, 255, 1, 0, 7])
        #expect(counts == [ClassPixels(class: 1, pixels: 3), ClassPixels(class: 0, pixels: 2),
                           ClassPixels(class: 7, pixels: 1), ClassPixels(class: 255, pixels: 1)])
        #expect(LabelFile.decode(LabelFile.encode(counts)) == counts)
    }

    @Test func pagesFollowIdsAndTheClassFilterFindsOnlyImagesWithTheClass() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 7, shardSize: 7)
        let task = try #require(try fixture.store.claim(worker: "w1"))
        // img0..img4 labeled (cat in the even ones), img5 failed, img6 still running.
        for (i, image) in task.images.prefix(5).enumerated() {
            let classes: [Int: Int64] = i % 2 == 0 ? [0: 100, 1: 668] : [1: 700, 255: 68]
            _ = try fixture.store.recordLabel(taskId: task.taskId, token: task.token, imageId: image.id, label: Self.label(image.id, classes))
        }
        try fixture.store.failImage(taskId: task.taskId, token: task.token, imageId: "img5", reason: "cannot decode JPEG: bad Huffman table")
        let store = fixture.store
        func page(_ filter: Store.GalleryFilter, after: String? = nil, limit: Int = 2) throws -> GalleryPage {
            try store.read("gallery") { db in try store.gallery(db, job: job.id, filter: filter, after: after, limit: limit) }
        }
        var ids: [String] = [], cursor: String? = nil
        repeat {
            let next = try page(.labeled(class: nil), after: cursor)
            #expect(next.total == 5)
            ids += next.images.map(\.id)
            cursor = next.next
        } while cursor != nil
        #expect(ids == ["img0", "img1", "img2", "img3", "img4"])

        let cats = try page(.labeled(class: 0), limit: 10)
        #expect(cats.images.map(\.id) == ["img0", "img2", "img4"] && cats.total == 3 && cats.next == nil)
        #expect(cats.images[0].classes == [ClassPixels(class: 1, pixels: 668), ClassPixels(class: 0, pixels: 100)])
        #expect(cats.images[0].width == 32 && cats.images[0].height == 24)
        #expect(try page(.labeled(class: 2)).images.isEmpty)

        let failed = try page(.failed)
        #expect(failed.images.map(\.id) == ["img5"] && failed.total == 1)
        #expect(failed.images[0].error == "cannot decode JPEG: bad Huffman table" && failed.images[0].state == "failed")

        let (classes, counted) = try store.read("shares") { db in try store.classPixels(db, job: job.id) }
        #expect(counted == 5)
        #expect(classes == [ClassPixels(class: 1, pixels: 3 * 668 + 2 * 700, images: 5), ClassPixels(class: 0, pixels: 300, images: 3),
                            ClassPixels(class: 255, pixels: 136, images: 2)])
        // The activity carries the same shares.
        let activity = try store.read("activity") { db in try store.activity(db, job: job.id) }
        #expect(activity.classes == classes && activity.countedImages == 5)
    }

    @Test func aPageOfAMillionImagesIsOneIndexRange() throws {
        let fixture = try StoreFixture()
        _ = try fixture.job(images: 2)
        let store = fixture.store
        for (filter, index) in [("labels WHERE job_id = ? AND image_id > ? ORDER BY image_id LIMIT 3", "PRIMARY KEY"),
                                ("label_classes WHERE job_id = ? AND class_index = 1 AND image_id > ? ORDER BY image_id LIMIT 3", "PRIMARY KEY"),
                                ("images INDEXED BY images_failed_by_id WHERE job_id = ? AND state = 'failed' AND id > ? ORDER BY id LIMIT 3",
                                 "images_failed_by_id")] {
            let plan = try store.read("plan") { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT * FROM \(filter)", arguments: ["j", ""]).map { $0["detail"] as String }
            }
            #expect(plan.contains { $0.contains("SEARCH") && $0.contains(index) }, "\(plan)")
            #expect(!plan.contains { $0.contains("TEMP B-TREE") }, "no sort: \(plan)")
        }
    }

    @Test func aReplacedLabelMovesItsCountsAndDeletingTheJobTakesThem() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 1, shardSize: 1, leaseSeconds: 60)
        let store = fixture.store
        let task = try #require(try store.claim(worker: "w1"))
        _ = try store.recordLabel(taskId: task.taskId, token: task.token, imageId: "img0", label: Self.label("img0", [0: 10, 1: 5]))
        // The same label again changes nothing; the lease then expires before completion and the image is labeled
        // again with another map: the old counts go, the new ones come.
        #expect(try store.recordLabel(taskId: task.taskId, token: task.token, imageId: "img0", label: Self.label("img0", [0: 10, 1: 5])) == .unchanged)
        try store.write("back to running") { db in
            try db.execute(sql: "UPDATE images SET state = 'running', finished = 0 WHERE job_id = ? AND id = 'img0'", arguments: [job.id])
        }
        _ = try store.recordLabel(taskId: task.taskId, token: task.token, imageId: "img0", label: Self.label("img0", [1: 15], digit: "2"))
        var (classes, counted) = try store.read("shares") { db in try store.classPixels(db, job: job.id) }
        #expect(classes == [ClassPixels(class: 1, pixels: 15, images: 1)] && counted == 1)
        let cats = try store.read("gallery") { db in try store.gallery(db, job: job.id, filter: .labeled(class: 0), after: nil, limit: 5) }
        #expect(cats.images.isEmpty && cats.total == 0)

        try store.complete(taskId: task.taskId, token: task.token)
        _ = try store.deleteJob(job.id)
        (classes, counted) = try store.read("shares") { db in try store.classPixels(db, job: job.id) }
        #expect(classes.isEmpty && counted == 0)
        let left = try store.read("rows") { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM label_classes") }
        #expect(left == 0)
    }

    @Test func oneFailedImageIsRetriedAloneAndOthersAreRefusedWithAReason() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 3, shardSize: 3)
        let store = fixture.store
        let task = try #require(try store.claim(worker: "w1"))
        try store.failImage(taskId: task.taskId, token: task.token, imageId: "img0", reason: "corrupt")
        try store.failImage(taskId: task.taskId, token: task.token, imageId: "img1", reason: "corrupt")
        _ = try store.recordLabel(taskId: task.taskId, token: task.token, imageId: "img2", label: Self.label("img2", [0: 1]))
        try store.complete(taskId: task.taskId, token: task.token)

        #expect(try store.retryFailed(job.id, image: "img1") == 1)
        let states = try store.read("states") { db in
            try Row.fetchAll(db, sql: "SELECT id, state FROM images WHERE job_id = ? ORDER BY id", arguments: [job.id]).map { "\($0["id"] as String)=\($0["state"] as String)" }
        }
        #expect(states == ["img0=failed", "img1=pending", "img2=done"])
        #expect(try store.job(job.id)?.state == .running)
        #expect(storeErrorCode { _ = try store.retryFailed(job.id, image: "img2") } == .conflict)
        #expect(storeErrorCode { _ = try store.retryFailed(job.id, image: "nope") } == .notFound)
    }
}
