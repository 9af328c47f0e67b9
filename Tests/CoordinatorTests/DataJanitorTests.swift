import Foundation
import Logging
import Testing

import Coordinator

/// What a coordinator killed mid-upload leaves, and manifests nobody used, do not stay in the data directory.
@Suite struct DataJanitorTests {
    @Test func temporariesGoAtStartAndUnusedUploadsAfterADay() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("janitor-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let files = ["uploads/.4f2a.manifest.812.k2j3.tmp", "uploads/.0e3c2f1a.manifest.part", "blobs/ab/.abcd.812.x1.tmp",
                     "labels/job-1/.img0.png.812.y7.tmp", "uploads/old.manifest", "uploads/new.manifest", "blobs/ab/abcd",
                     "labels/job-1/img0.1234.png"]
        for file in files {
            let url = data.appendingPathComponent(file)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data("x".utf8).write(to: url)
        }
        let twoDaysAgo = Date().addingTimeInterval(-2 * 86_400)
        try FileManager.default.setAttributes([.modificationDate: twoDaysAgo], ofItemAtPath: data.appendingPathComponent("uploads/old.manifest").path)

        let janitor = DataJanitor(dataDirectory: data, logger: Logger(label: "test"))
        #expect(janitor.removeTemporaries() == 4)
        #expect(janitor.removeUnusedUploads(now: Date()) == 1)
        let left = Set(try FileManager.default.subpathsOfDirectory(atPath: data.path).filter { !$0.hasSuffix("ab") && !$0.hasSuffix("job-1") })
        #expect(left == ["uploads", "blobs", "labels", "uploads/new.manifest", "blobs/ab/abcd", "labels/job-1/img0.1234.png"])
    }
}
