import Foundation
import Inference
import Support

/// The fault-free run every fault scenario is compared with: the same manifest through `labelmill serve` and
/// one `labelmill worker`, computed once per test process. Image id → sha256 of its exported label map.
enum FaultReference {
    private static let run = Task { try await compute() }

    static func labels() async throws -> [String: String] { try await run.value }

    private static func compute() async throws -> [String: String] {
        let clock = ContinuousClock.now
        let cluster = try FaultCluster("fault-free")
        defer { cluster.shutdown() }
        try await cluster.startCoordinator()
        try await cluster.submit()
        try cluster.startWorker("solo")
        try await cluster.waitForJobEnd()

        let results = try await cluster.admin.results(cluster.job)
        let notDone = results.filter { $0.status != .done }.map(\.id)
        guard results.count == cluster.images.count, notDone.isEmpty else {
            throw FaultSuiteError("the fault-free run labeled \(results.count - notDone.count) of \(cluster.images.count) images")
        }
        let out = cluster.directory.appendingPathComponent("export")
        _ = try await LabelmillProcess.run(["export", "--coordinator", cluster.url, "--token-file", cluster.tokenFile, cluster.job, "--out", out.path])
        var labels: [String: String] = [:]
        for image in cluster.images {
            labels[image.id] = try SHA256Hex.of(file: out.appendingPathComponent("labels/\(image.id).png").path)
        }
        // Copies of one picture must get one label map; otherwise the run is not a reference.
        for image in cluster.images where labels[image.id] != labels["img\(Int(image.id.dropFirst(3))! % 3)"] {
            throw FaultSuiteError("the fault-free run labeled copies of one picture differently (\(image.id))")
        }
        var figures = FaultCluster.Figures(scenario: "fault-free")
        figures.images = results.count
        figures.done = results.count
        figures.report(wall: ContinuousClock.now - clock)
        return labels
    }
}
