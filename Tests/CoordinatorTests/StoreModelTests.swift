import Foundation
import Testing

import Coordinator
import Support
import LabelAPI

@Suite struct StoreModelTests {
    static let a = String(repeating: "a", count: 64)
    static let b = String(repeating: "b", count: 64)
    static let c = String(repeating: "c", count: 64)

    func fixtureWithBlobs() throws -> StoreFixture {
        let fixture = try StoreFixture()
        try fixture.store.recordBlob(sha256: Self.a, size: 10, relativePath: "blobs/aa/a")
        try fixture.store.recordBlob(sha256: Self.b, size: 20, relativePath: "blobs/bb/b")
        try fixture.store.recordBlob(sha256: Self.c, size: 30, relativePath: "blobs/cc/c")
        return fixture
    }

    @Test func blobsAreContentAddressed() throws {
        let fixture = try fixtureWithBlobs()
        let blob = try #require(try fixture.store.blob(Self.a))
        #expect(blob == BlobRecord(sha256: Self.a, size: 10, relativePath: "blobs/aa/a", createdAt: fixture.clock.now))
        try fixture.store.recordBlob(sha256: Self.a, size: 10, relativePath: "elsewhere")  // same content: no-op
        #expect(try fixture.store.blob(Self.a)?.relativePath == "blobs/aa/a")
        #expect(storeErrorCode { try fixture.store.recordBlob(sha256: Self.a, size: 11, relativePath: "x") } == .conflict)
        #expect(storeErrorCode { try fixture.store.recordBlob(sha256: "xyz", size: 1, relativePath: "x") } == .invalid)
        #expect(storeErrorCode { try fixture.store.recordBlob(sha256: Self.a.uppercased(), size: 1, relativePath: "x") } == .invalid)
        #expect(try fixture.store.blob(String(repeating: "d", count: 64)) == nil)
    }

    @Test func modelIdIsTheDigestOfTheSortedFileList() throws {
        let fixture = try fixtureWithBlobs()
        let files = [ModelFileEntry(name: "vision.bin", sha256: Self.b, size: 20), ModelFileEntry(name: "text.bin", sha256: Self.a, size: 10)]
        let model = try fixture.store.registerModel(name: "maskclip-b16", files: files)
        #expect(model.files.map(\.name) == ["text.bin", "vision.bin"])
        #expect(model.id == Store.modelId(files: files.reversed()))
        let canonical = #"[{"name":"text.bin","sha256":"\#(Self.a)","size":10},{"name":"vision.bin","sha256":"\#(Self.b)","size":20}]"#
        #expect(model.id == SHA256Hex.of(Array(canonical.utf8)))
        #expect(try fixture.store.model("maskclip-b16") == model)
        #expect(try fixture.store.model(model.id) == model)
        #expect(try fixture.store.model("nope") == nil)
    }

    @Test func reRegisteringMovesTheNameAndKeepsOldIds() throws {
        let fixture = try fixtureWithBlobs()
        let v1 = try fixture.store.registerModel(name: "m", files: [ModelFileEntry(name: "w.bin", sha256: Self.a, size: 10)])
        fixture.clock.advance(1)
        let same = try fixture.store.registerModel(name: "m", files: [ModelFileEntry(name: "w.bin", sha256: Self.a, size: 10)])
        #expect(same == v1)
        let v2 = try fixture.store.registerModel(name: "m", files: [ModelFileEntry(name: "w.bin", sha256: Self.c, size: 30)])
        #expect(v2.id != v1.id && v2.createdAt == fixture.clock.now)
        #expect(try fixture.store.model("m")?.id == v2.id)
        #expect(try fixture.store.model(v1.id)?.files.first?.sha256 == Self.a)
        // A job created by name gets the current id; one created by the old id keeps it.
        let byName = try fixture.store.createJob(NewJob(modelId: "m", classes: ["x"], items: StoreFixture.items(1))).job
        let byOldId = try fixture.store.createJob(NewJob(modelId: v1.id, classes: ["x"], items: StoreFixture.items(1))).job
        #expect(byName.modelId == v2.id && byOldId.modelId == v1.id)
    }

    @Test func everyFileMustBeAStoredBlob() throws {
        let fixture = try fixtureWithBlobs()
        let missing = String(repeating: "9", count: 64)
        let error = storeError {
            _ = try fixture.store.registerModel(name: "m", files: [
                ModelFileEntry(name: "ok.bin", sha256: Self.a, size: 10), ModelFileEntry(name: "gone.bin", sha256: missing, size: 1),
            ])
        }
        #expect(error?.code == .invalid)
        #expect(error?.message.contains("gone.bin") == true)
        #expect(storeErrorCode {
            _ = try fixture.store.registerModel(name: "m", files: [ModelFileEntry(name: "w.bin", sha256: Self.a, size: 99)])
        } == .invalid)
        #expect(storeErrorCode { _ = try fixture.store.registerModel(name: "m", files: []) } == .invalid)
        #expect(storeErrorCode { _ = try fixture.store.registerModel(name: "", files: [ModelFileEntry(name: "w", sha256: Self.a, size: 10)]) } == .invalid)
        #expect(storeErrorCode {
            _ = try fixture.store.registerModel(name: "m", files: [ModelFileEntry(name: "../w", sha256: Self.a, size: 10)])
        } == .invalid)
        #expect(storeErrorCode {
            _ = try fixture.store.registerModel(name: "m", files: [
                ModelFileEntry(name: "w", sha256: Self.a, size: 10), ModelFileEntry(name: "w", sha256: Self.b, size: 20),
            ])
        } == .invalid)
        #expect(try fixture.store.model("m") == nil)
    }
}
