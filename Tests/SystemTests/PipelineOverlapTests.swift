import Foundation
import Testing

/// The worker's pipeline overlaps its stages (docs/WORKER-PIPELINE.md), checked by the order of what a real
/// `labelmill worker` asks for, not by timing: the images come straight from an image server, and a proxy between
/// the worker and the coordinator refuses the first image's upload until the worker has asked for the second image.
@Suite struct PipelineOverlapTests {
    /// The fetch of the next image starts before the last one's upload is answered. A worker that ran its stages one
    /// after another would wait for that answer before asking for the second image, and never get it.
    @Test(.timeLimit(.minutes(2)))
    func theNextImageIsFetchedBeforeTheLastIsUploaded() async throws {
        let cluster = try FaultCluster("overlap", imageCount: 2)  // one task of two images
        defer { cluster.shutdown() }
        let (images, uris) = try await cluster.startImageServer()
        try await cluster.startCoordinator()
        try await cluster.submit(uris: uris, leaseSeconds: 10)
        // Every request from the first upload of img0 on is reset, until one arrives after img1 was asked for. The
        // proxy checks the image server's count itself, so no polling of the test's comes between the two.
        let uploadOfFirst = { @Sendable (key: String) in key.hasPrefix("PUT ") && key.contains("/images/img0/") }
        let outage = TCPFaultProxy.Outage(begins: uploadOfFirst, ends: { _ in images.requests(for: "img1") > 0 })
        let proxy = try TCPFaultProxy(upstreamPort: cluster.port, outage: outage)
        cluster.onShutdown { proxy.stop() }
        try cluster.startWorker("w1", coordinator: proxy.url)

        try await cluster.waitUntil("the worker asks for the second image while the first one's upload is refused",
                                    timeout: .seconds(30)) { images.requests(for: "img1") > 0 }
        try await cluster.waitForJobEnd()
        #expect(try await cluster.admin.job(cluster.job).images.done == 2)
        let record = try #require(proxy.outage)
        #expect(record.began != nil && record.endedBy != nil, "the first image's upload was refused, then let through")
    }
}
