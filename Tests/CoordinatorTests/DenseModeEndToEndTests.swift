import Foundation
import Inference
import LabelAPI
import Testing

/// A job in another dense mode as users run it: `submit --mode naclip --pamr-iterations 10` to `labelmill serve`,
/// real `labelmill worker` processes on a shared cache, `export`; the labels equal `labelmill label`'s with the same
/// flags and the independent reference's.
@Suite struct DenseModeEndToEndTests {
    @Test(.timeLimit(.minutes(3)))
    func aJobInAnotherModeIsLabeledByTheFleetAsLocally() async throws {
        let cluster = try FaultCluster("dense-mode", imageCount: 6)
        defer { cluster.shutdown() }
        try await cluster.startCoordinator()
        let flags = ["--mode", "naclip", "--pamr-iterations", "10", "--pamr-dilations", "8,16"]
        try await cluster.submit(leaseSeconds: 30, arguments: flags)
        let settings = try await cluster.admin.job(cluster.job).settings
        #expect(settings.mode == "naclip" && settings.promptDenoise == 0 && settings.pamrIterations == 10 && settings.pamrDilations == [8, 16],
                "the mode and PAMR travel; prompt denoising is off by default: \(settings)")
        try cluster.startWorker("w1")
        try cluster.startWorker("w2")
        try await cluster.waitForJobEnd()
        let status = try await cluster.admin.job(cluster.job)
        #expect(status.state == .done && status.images.done == 6, "\(status.images)\n\(cluster.logTails())")

        let auth = ["--coordinator", cluster.url, "--token-file", cluster.tokenFile]
        let out = cluster.directory.appendingPathComponent("export")
        _ = try await LabelmillProcess.run(["export"] + auth + [cluster.job, "--out", out.path])
        let local = cluster.directory.appendingPathComponent("local")
        _ = try await LabelmillProcess.run(["label", "--model", LiveCoordinator.tinyModel.path, "--classes", FaultCluster.classes,
                                            "--short-side", "48", "--out", local.path, "--log-level", "error"] + flags
                                           + FaultCluster.sources.map { APITests.images.appendingPathComponent($0).path })
        for image in cluster.images {
            let source = FaultCluster.source(of: image.id).lastPathComponent
            let remote = try ImageCodec.decodeLabelPNG([UInt8](Data(contentsOf: out.appendingPathComponent("labels/\(image.id).png"))))
            let mine = try ImageCodec.decodeLabelPNG([UInt8](Data(contentsOf: local.appendingPathComponent("\(source.split(separator: ".")[0]).png"))))
            #expect(remote == mine, "\(image.id): the fleet's label equals labelmill label's")
            if source == "img_a.png" { try EndToEndTests.expectMatchesReference(remote, image: source, mode: "naclip.pamr") }
        }
        // The same images in mode maskclip give other labels: the mode is not ignored on the way.
        let maskclip = cluster.directory.appendingPathComponent("maskclip")
        _ = try await LabelmillProcess.run(["label", "--model", LiveCoordinator.tinyModel.path, "--classes", FaultCluster.classes,
                                            "--short-side", "48", "--prompt-denoise", "0", "--out", maskclip.path, "--log-level", "error",
                                            APITests.images.appendingPathComponent("img_a.png").path])
        #expect(try Data(contentsOf: maskclip.appendingPathComponent("img_a.png")) != Data(contentsOf: local.appendingPathComponent("img_a.png")))
    }

    /// `label` with sliding windows: ClearCLIP's 56-pixel windows (padded around to whole patches) every 24 pixels
    /// over img_a at short side 80 give the reference's labels.
    @Test func labelWithSlidingWindowsMatchesTheReference() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("windows-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        _ = try await LabelmillProcess.run(["label", "--model", LiveCoordinator.tinyModel.path, "--classes", FaultCluster.classes,
                                            "--mode", "clearclip", "--short-side", "80", "--window", "56", "--stride", "24",
                                            "--out", out.path, "--log-level", "error", APITests.images.appendingPathComponent("img_a.png").path])
        let map = try ImageCodec.decodeLabelPNG([UInt8](Data(contentsOf: out.appendingPathComponent("img_a.png"))))
        try EndToEndTests.expectMatchesReference(map, image: "img_a.png", mode: "clearclip.w56")
        // NACLIP's own setting with PAMR (10 iterations, dilations 8 and 16) through the flags.
        _ = try await LabelmillProcess.run(["label", "--model", LiveCoordinator.tinyModel.path, "--classes", FaultCluster.classes,
                                            "--mode", "naclip", "--short-side", "48", "--pamr-iterations", "10", "--pamr-dilations", "8,16",
                                            "--out", out.path, "--log-level", "error", APITests.images.appendingPathComponent("img_a.png").path])
        let refined = try ImageCodec.decodeLabelPNG([UInt8](Data(contentsOf: out.appendingPathComponent("img_a.png"))))
        try EndToEndTests.expectMatchesReference(refined, image: "img_a.png", mode: "naclip.pamr")
    }

    /// A mode alone is its paper's protocol (docs/DENSE-MODES.md, "Presets"); what is given wins, and a window of
    /// one's own gets half of it as its stride.
    @Test func aModeAloneGivesItsPublishedProtocol() throws {
        func protocolOf(_ s: JobSettings) -> [Int] { [s.shortSide, s.window, s.stride, s.pamrIterations] }
        #expect(protocolOf(JobSettings()) == [512, 0, 0, 0] && JobSettings().promptDenoise == 0.5)
        #expect(protocolOf(JobSettings(mode: "clearclip")) == [448, 448, 224, 0])
        #expect(protocolOf(JobSettings(mode: "sclip")) == [336, 224, 112, 0])
        #expect(protocolOf(JobSettings(mode: "naclip")) == [336, 224, 112, 10] && JobSettings(mode: "naclip").promptDenoise == 0)
        #expect(protocolOf(JobSettings(mode: "naclip", shortSide: 448, window: 300, pamrIterations: 0)) == [448, 300, 0, 0])
        let decoded = try JSONDecoder().decode(JobSettings.self, from: Data(#"{"mode": "naclip", "window": 0}"#.utf8))
        #expect(protocolOf(decoded) == [336, 0, 0, 10], "the whole image with NACLIP's other settings")
        for mode in JobSettings.modes { try JobSettings(mode: mode).validate() }
        try JobSettings(mode: "naclip", templates: "imagenet80").validate()  // the newer papers' templates, by name
    }

    /// A mode that does not exist, or key smoothing outside MaskCLIP, is refused before anything runs, by name.
    @Test(.timeLimit(.minutes(2)))
    func modeSettingsAreCheckedUpFront() async throws {
        let live = try await LiveCoordinator.start()
        defer { live.stop() }
        _ = try await live.admin.addModel(name: "tiny", directory: LiveCoordinator.tinyModel)
        for (settings, reason) in [(JobSettings(mode: "bogus"), #"settings.mode = "bogus" is not allowed: maskclip, clearclip, sclip, naclip"#),
                                   (JobSettings(mode: "sclip", keySmoothing: 1), "settings.keySmoothing = 1.0 is not allowed: 0 in mode sclip"),
                                   (JobSettings(window: 10), "settings.window = 10 is not allowed: 14 to 2048"),
                                   (JobSettings(window: 224, stride: 300), "settings.stride = 300 is not allowed: 0 to 224"),
                                   (JobSettings(stride: 100), "settings.stride = 100 is not allowed: 0 without a window"),
                                   (JobSettings(promptDenoise: 0.5, window: 224), "settings.promptDenoise = 0.5 is not allowed: 0 with sliding windows"),
                                   (JobSettings(pamrIterations: 51), "settings.pamrIterations = 51 is not allowed: 0 to 50"),
                                   (JobSettings(pamrIterations: 10, pamrDilations: [8, 0]), "settings.pamrDilations = 8,0 is not allowed: 1 to 8 dilations")] {
            await expectStatus(400, containing: reason) {
                _ = try await live.admin.createJob(CreateJobRequest(name: nil, model: "tiny", classes: ["cat"], settings: settings,
                                                                    idempotencyKey: nil, manifest: "/nowhere/a.png"))
            }
        }
        // Decoded from JSON, a missing promptDenoise takes its mode's default.
        let decoded = try JSONDecoder().decode(JobSettings.self, from: Data(#"{"mode": "clearclip"}"#.utf8))
        #expect(decoded.promptDenoise == 0 && JobSettings().promptDenoise == 0.5)
        #expect(try JSONDecoder().decode(JobSettings.self, from: Data(#"{"window": 224}"#.utf8)).promptDenoise == 0, "none with windows")
        #expect(JobSettings.modes == DenseMode.allCases.map(\.rawValue), "LabelAPI and Inference list the same modes")

        let out = FileManager.default.temporaryDirectory.appendingPathComponent("modes-\(UUID().uuidString)").path
        let image = APITests.images.appendingPathComponent("img_a.png").path
        let smoothing = try await LabelmillProcess.runToEnd(["label", "--model", LiveCoordinator.tinyModel.path, "--classes", "cat",
                                                             "--mode", "naclip", "--key-smoothing", "1", "--out", out, image])
        #expect(smoothing.status != 0 && smoothing.errors.contains("--key-smoothing 1.0 is out of range: 0 in mode naclip"), "\(smoothing.errors)")
        let unknown = try await LabelmillProcess.runToEnd(["label", "--model", LiveCoordinator.tinyModel.path, "--classes", "cat",
                                                           "--mode", "segformer", "--out", out, image])
        #expect(unknown.status != 0 && unknown.errors.contains("segformer"), "\(unknown.errors)")
        #expect(!FileManager.default.fileExists(atPath: out), "nothing was written")
    }
}
