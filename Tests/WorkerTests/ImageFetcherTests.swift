import Foundation
import Testing

import LabelClient

/// Where an image comes from decides how it is read; what labelmill cannot read fails at once, for good, and says
/// what it would take.
@Suite struct ImageFetcherTests {
    let fetcher = ImageFetcher(client: CoordinatorClient(baseURL: "http://127.0.0.1:9", token: "t"), maxBytes: 1 << 20, timeout: .seconds(5))

    func failure(_ uri: String) async -> ImageFetcher.Failure? {
        await #expect(throws: ImageFetcher.Failure.self) { _ = try await fetcher.fetch(uri) }
    }

    @Test func otherSchemesAreNamed() async {
        let failure = await failure("gs://bucket/photos/cat.jpg")
        #expect(failure?.permanent == true)
        #expect(failure?.description == "gs://bucket/photos/cat.jpg: gs:// URIs are not supported (http://, https://, s3://, file:// or a path)")
    }

    @Test func localFilesAreReadAndRelativePathsRefused() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("fetch-\(UUID().uuidString).png")
        try Data([1, 2, 3]).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(try await fetcher.fetch(file.path) == [1, 2, 3])
        #expect(try await fetcher.fetch(file.absoluteString) == [1, 2, 3])
        #expect(await failure("photos/cat.jpg")?.description.contains("is a relative path") == true)
        #expect(await failure("/nonexistent/cat.jpg")?.description == "/nonexistent/cat.jpg: no such file")
    }
}
