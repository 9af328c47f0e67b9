import Foundation
import Testing

/// The worker's pipeline overlaps its stages (docs/WORKER-PIPELINE.md), checked by the order of what a real
/// `labelmill worker` asks for rather than by timing it: the images come straight from an image server, and a
/// proxy holds every request to the coordinator (uploads included) for a second.
@Suite struct PipelineOverlapTests {
    /// When the worker asks for a task's second image, the first one's label map is not uploaded yet: the fetch of
    /// the next image starts before the last one is labeled and uploaded. One stage after another would ask for
    /// the second image only once the first one's upload had been answered.
    @Test(.timeLimit(.minutes(2)))
    func theNextImageIsFetchedBeforeTheLastIsUploaded() async throws {
        let cluster = try FaultCluster("overlap", imageCount: 2)  // one task of two images
        defer { cluster.shutdown() }
        let (images, uris) = try await cluster.startImageServer()
        try await cluster.startCoordinator()
        try await cluster.submit(uris: uris, leaseSeconds: 30)
        let proxy = try TCPFaultProxy(upstreamPort: cluster.port, schedule: .init(every: 1, kinds: [.delay], delay: .seconds(1)))
        cluster.onShutdown { proxy.stop() }
        try cluster.startWorker("w1", coordinator: proxy.url)

        try await cluster.waitUntil("the worker asks for the first image", timeout: .seconds(60)) { images.requests(for: "img0") > 0 }
        try await cluster.waitUntil("the worker asks for the second image", timeout: .seconds(20)) { images.requests(for: "img1") > 0 }
        let status = try await cluster.admin.job(cluster.job)  // straight to the coordinator, not through the proxy
        #expect(status.images.done == 0, "the second image was asked for before the first one's upload was answered")
        try await cluster.waitForJobEnd()
        #expect(try await cluster.admin.job(cluster.job).images.done == 2)
        #expect(proxy.counts.faults[.delay, default: 0] > 0, "the proxy held the worker's requests")
    }
}
