import Foundation
import Inference
import LabelAPI
import TestSupport
import Testing

/// A job in another dense mode as users run it: `submit --mode naclip --pamr-iterations 10` with a classes file that
/// gives synonyms and a confidence threshold, to `labelmill serve`, real `labelmill worker` processes on a shared
/// cache, `export`; the labels equal `labelmill label`'s with the same flags and the independent reference's.
@Suite struct DenseModeEndToEndTests {
    /// The reference's classes file with synonyms (scripts/make_goldens.py), and the case's minimum confidence.
    static let synonymLines = "cat, kitten\ndog, puppy, hound\ntree\nsky, clouds\nperson, man, woman\n"
    static func threshold(_ golden: String) throws -> String {
        let file = try SafeTensorsFile(path: LiveCoordinator.fixtures.appendingPathComponent("golden/\(golden).safetensors").path)
        return try #require(file.metadata["min_confidence"])
    }

    @Test(.timeLimit(.minutes(3)))
    func aJobInAnotherModeIsLabeledByTheFleetAsLocally() async throws {
        let cluster = try FaultCluster("dense-mode", imageCount: 6)
        defer { cluster.shutdown() }
        try await cluster.startCoordinator()
        let classesFile = cluster.directory.appendingPathComponent("classes.txt")
        try Self.synonymLines.write(to: classesFile, atomically: true, encoding: .utf8)
        let threshold = try Self.threshold("img_a.naclip.syn.pamr")
        let flags = ["--mode", "naclip", "--pamr-iterations", "10", "--pamr-dilations", "8,16", "--templates", "maskclip85",
                     "--logit-scale", "40", "--min-confidence", threshold, "--save-confidence"]
        try await cluster.submit(leaseSeconds: 30, classes: ["--classes-file", classesFile.path], arguments: flags)
        let settings = try await cluster.admin.job(cluster.job).settings
        #expect(settings.mode == "naclip" && settings.promptDenoise == 0 && settings.pamrIterations == 10 && settings.pamrDilations == [8, 16],
                "the mode and PAMR travel; prompt denoising is off by default: \(settings)")
        #expect(settings.synonyms == ["cat": ["kitten"], "dog": ["puppy", "hound"], "sky": ["clouds"], "person": ["man", "woman"]]
                && settings.logitScale == 40 && settings.minConfidence == Float(threshold) && settings.saveConfidence,
                "synonyms and confidence travel: \(settings)")
        try cluster.startWorker("w1")
        try cluster.startWorker("w2")
        try await cluster.waitForJobEnd()
        let status = try await cluster.admin.job(cluster.job)
        #expect(status.state == .done && status.images.done == 6, "\(status.images)\n\(cluster.logTails())")

        let auth = ["--coordinator", cluster.url, "--token-file", cluster.tokenFile]
        let out = cluster.directory.appendingPathComponent("export")
        _ = try await LabelmillProcess.run(["export"] + auth + [cluster.job, "--out", out.path])
        let exported = try JSONDecoder().decode(ClassList.self, from: Data(contentsOf: out.appendingPathComponent("classes.json")))
        #expect(exported.classes.map(\.name) == ["cat", "dog", "tree", "sky", "person"]
                && exported.classes.map(\.synonyms) == [["kitten"], ["puppy", "hound"], nil, ["clouds"], ["man", "woman"]], "\(exported)")
        let local = cluster.directory.appendingPathComponent("local")
        _ = try await LabelmillProcess.run(["label", "--model", LiveCoordinator.tinyModel.path, "--classes-file", classesFile.path,
                                            "--short-side", "48", "--out", local.path, "--log-level", "error"] + flags
                                           + FaultCluster.sources.map { LiveCoordinator.images.appendingPathComponent($0).path })
        var voids = 0
        for image in cluster.images {
            let source = FaultCluster.source(of: image.id).lastPathComponent
            let remote = try ImageCodec.decodeLabelPNG([UInt8](Data(contentsOf: out.appendingPathComponent("labels/\(image.id).png"))))
            let mine = try ImageCodec.decodeLabelPNG([UInt8](Data(contentsOf: local.appendingPathComponent("\(source.split(separator: ".")[0]).png"))))
            #expect(remote == mine, "\(image.id): the fleet's label equals labelmill label's")
            if source == "img_a.png" { try EndToEndTests.expectMatchesReference(remote, image: source, mode: "naclip.syn.pamr") }
            voids += remote.indices.filter { $0 == LabelMap.void }.count
            // The confidence maps: uploaded by the workers, exported beside the labels, equal to label's own.
            let confidence = try Data(contentsOf: out.appendingPathComponent("confidence/\(image.id).png"))
            let localConfidence = try Data(contentsOf: local.appendingPathComponent("confidence/\(source.split(separator: ".")[0]).png"))
            let values = try ImageCodec.decodeLabelPNG([UInt8](confidence))
            #expect(values == (try ImageCodec.decodeLabelPNG([UInt8](localConfidence))), "\(image.id): the same confidence as labelmill label's")
            #expect(values.width == remote.width && values.height == remote.height)
            if source == "img_a.png" { try Self.expectConfidenceMatchesReference(values, golden: "img_a.naclip.syn.pamr") }
            // Void exactly where the probability is under the threshold (the byte is the probability × 255 rounded, so
            // within half a step of it the byte cannot tell).
            let cut = Float(threshold)! * 255
            let wrong = zip(remote.indices, values.indices).filter { label, byte in
                Float(byte) + 0.5 < cut ? label != LabelMap.void : Float(byte) - 0.5 > cut ? label == LabelMap.void : false
            }
            #expect(wrong.isEmpty, "\(image.id): \(wrong.count) pixels are void or not against their confidence")
        }
        #expect(voids > 0, "the confidence threshold made pixels void")
        // The same images in mode maskclip give other labels: the mode is not ignored on the way.
        let maskclip = cluster.directory.appendingPathComponent("maskclip")
        _ = try await LabelmillProcess.run(["label", "--model", LiveCoordinator.tinyModel.path, "--classes", FaultCluster.classes,
                                            "--short-side", "48", "--prompt-denoise", "0", "--out", maskclip.path, "--log-level", "error",
                                            LiveCoordinator.images.appendingPathComponent("img_a.png").path])
        #expect(try Data(contentsOf: maskclip.appendingPathComponent("img_a.png")) != Data(contentsOf: local.appendingPathComponent("img_a.png")))
    }

    /// The reference's probability × 255 at every pixel, within rounding.
    static func expectConfidenceMatchesReference(_ values: LabelMap, golden name: String) throws {
        let golden = try SafeTensorsFile(path: LiveCoordinator.fixtures.appendingPathComponent("golden/\(name).safetensors").path)
        let expected = try golden.floats("confidence")
        #expect(expected.count == values.indices.count)
        let far = (0..<min(expected.count, values.indices.count)).filter { abs(Float(values.indices[$0]) - expected[$0]) > 0.501 }
        #expect(far.isEmpty, "\(far.count) confidence values differ from the reference's by more than rounding")
    }

    /// `label` with sliding windows: ClearCLIP's 56-pixel windows (padded around to whole patches) every 24 pixels
    /// over img_a at short side 80 give the reference's labels.
    @Test func labelWithSlidingWindowsMatchesTheReference() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("windows-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        _ = try await LabelmillProcess.run(["label", "--model", LiveCoordinator.tinyModel.path, "--classes", FaultCluster.classes,
                                            "--mode", "clearclip", "--templates", "maskclip85", "--short-side", "80", "--window", "56", "--stride", "24",
                                            "--out", out.path, "--log-level", "error", LiveCoordinator.images.appendingPathComponent("img_a.png").path])
        let map = try ImageCodec.decodeLabelPNG([UInt8](Data(contentsOf: out.appendingPathComponent("img_a.png"))))
        try EndToEndTests.expectMatchesReference(map, image: "img_a.png", mode: "clearclip.w56")
        // NACLIP's own setting with PAMR (10 iterations, dilations 8 and 16) through the flags.
        _ = try await LabelmillProcess.run(["label", "--model", LiveCoordinator.tinyModel.path, "--classes", FaultCluster.classes,
                                            "--mode", "naclip", "--templates", "maskclip85", "--short-side", "48", "--pamr-iterations", "10", "--pamr-dilations", "8,16",
                                            "--out", out.path, "--log-level", "error", LiveCoordinator.images.appendingPathComponent("img_a.png").path])
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
        for mode in DenseMode.allCases { try JobSettings(mode: Named(mode)).validate() }
        try JobSettings(mode: "naclip", templates: "imagenet80").validate()  // the newer papers' templates, by name
        // Their templates and logit scales too; MaskCLIP keeps its own and CLIP's scale.
        #expect(DenseMode.allCases.map { JobSettings(mode: Named($0)).templates } == ["maskclip85", "imagenet80", "imagenet80", "imagenet80", "imagenet80"])
        #expect(DenseMode.allCases.map { JobSettings(mode: Named($0)).logitScale } == [100, 50, 40, 40, 40])
        #expect(protocolOf(JobSettings(mode: "scclip")) == [336, 224, 112, 0] && JobSettings(mode: "scclip").promptDenoise == 0)
        #expect(JobSettings(mode: "sclip", templates: "single", logitScale: 65).logitScale == 65)
        let decodedScale = try JSONDecoder().decode(JobSettings.self, from: Data(#"{"mode": "clearclip", "minConfidence": 0.5}"#.utf8))
        #expect(decodedScale.logitScale == 50 && decodedScale.templates == "imagenet80" && decodedScale.minConfidence == 0.5)
    }

    /// `label --classes-file` with synonyms and a confidence threshold gives the reference's labels, void included;
    /// classes.json lists the synonyms.
    @Test func labelWithSynonymsAndConfidenceMatchesTheReference() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("synonyms-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let classesFile = out.appendingPathComponent("classes.txt")
        try Self.synonymLines.write(to: classesFile, atomically: true, encoding: .utf8)
        _ = try await LabelmillProcess.run(["label", "--model", LiveCoordinator.tinyModel.path, "--classes-file", classesFile.path,
                                            "--mode", "sclip", "--templates", "maskclip85", "--short-side", "80", "--window", "64",
                                            "--stride", "32", "--min-confidence", try Self.threshold("img_b.sclip.w64.syn"),
                                            "--save-confidence", "--out", out.path, "--log-level", "error", LiveCoordinator.images.appendingPathComponent("img_b.jpg").path])
        let map = try ImageCodec.decodeLabelPNG([UInt8](Data(contentsOf: out.appendingPathComponent("img_b.png"))))
        try EndToEndTests.expectMatchesReference(map, image: "img_b.jpg", mode: "sclip.w64.syn")
        #expect(map.indices.contains(LabelMap.void), "below the threshold is void")
        let confidence = try ImageCodec.decodeLabelPNG([UInt8](Data(contentsOf: out.appendingPathComponent("confidence/img_b.png"))))
        try Self.expectConfidenceMatchesReference(confidence, golden: "img_b.sclip.w64.syn")
        let classes = try JSONDecoder().decode(ClassList.self, from: Data(contentsOf: out.appendingPathComponent("classes.json")))
        #expect(classes.classes[1].name == "dog" && classes.classes[1].synonyms == ["puppy", "hound"] && classes.classes[2].synonyms == nil)
    }

    /// A mode that does not exist, or key smoothing outside MaskCLIP, is refused before anything runs, by name.
    @Test(.timeLimit(.minutes(2)))
    func modeSettingsAreCheckedUpFront() async throws {
        let live = try await LiveCoordinator.start()
        defer { live.stop() }
        _ = try await live.admin.addModel(name: "tiny", directory: LiveCoordinator.tinyModel)
        for (settings, reason) in [(JobSettings(mode: "bogus"), #"settings.mode = "bogus" is not allowed: maskclip, clearclip, sclip, naclip or scclip"#),
                                   (JobSettings(mode: "sclip", keySmoothing: 1), "settings.keySmoothing = 1.0 is not allowed: 0 in mode sclip"),
                                   (JobSettings(window: 10), "settings.window = 10 is not allowed: 0 (the whole image at once) or 14 to 2048"),
                                   (JobSettings(window: 224, stride: 300), "settings.stride = 300 is not allowed: 0 to 224"),
                                   (JobSettings(stride: 100), "settings.stride = 100 is not allowed: 0 without a window"),
                                   (JobSettings(promptDenoise: 0.5, window: 224), "settings.promptDenoise = 0.5 is not allowed: 0 with sliding windows"),
                                   (JobSettings(pamrIterations: 51), "settings.pamrIterations = 51 is not allowed: 0 to 50"),
                                   (JobSettings(pamrIterations: 10, pamrDilations: [8, 0]), "settings.pamrDilations = 8,0 is not allowed: 1 to 8 dilations"),
                                   (JobSettings(logitScale: 0), "settings.logitScale = 0.0 is not allowed: 1.0 to 1000.0"),
                                   (JobSettings(minConfidence: 1.5), "settings.minConfidence = 1.5 is not allowed: 0.0 to 1.0"),
                                   (JobSettings(keySmoothing: 1, minConfidence: 0.5), "settings.minConfidence = 0.5 is not allowed: 0 with key smoothing"),
                                   (JobSettings(synonyms: ["dog": ["puppy"]]), #"settings.synonyms = "dog" is not allowed: synonyms of the job's classes only"#),
                                   (JobSettings(synonyms: ["cat": ["kitten", "cat"]]), #""cat", a synonym of "cat", is already a class or a synonym"#),
                                   (JobSettings(synonyms: ["cat": [" "]]), #"class "cat" has an empty synonym"#)] {
            await expectStatus(400, containing: reason) {
                _ = try await live.admin.createJob(CreateJobRequest(name: nil, model: "tiny", classes: ["cat"], settings: settings,
                                                                    idempotencyKey: nil, manifest: "/nowhere/a.png"))
            }
        }
        // Decoded from JSON, a missing promptDenoise takes its mode's default.
        let decoded = try JSONDecoder().decode(JobSettings.self, from: Data(#"{"mode": "clearclip"}"#.utf8))
        #expect(decoded.promptDenoise == 0 && JobSettings().promptDenoise == 0.5)
        #expect(try JSONDecoder().decode(JobSettings.self, from: Data(#"{"window": 224}"#.utf8)).promptDenoise == 0, "none with windows")

        let out = FileManager.default.temporaryDirectory.appendingPathComponent("modes-\(UUID().uuidString)").path
        let image = LiveCoordinator.images.appendingPathComponent("img_a.png").path
        let smoothing = try await LabelmillProcess.runToEnd(["label", "--model", LiveCoordinator.tinyModel.path, "--classes", "cat",
                                                             "--mode", "naclip", "--key-smoothing", "1", "--out", out, image])
        #expect(smoothing.status != 0 && smoothing.errors.contains("--key-smoothing 1.0 is out of range: 0 in mode naclip"), "\(smoothing.errors)")
        let unknown = try await LabelmillProcess.runToEnd(["label", "--model", LiveCoordinator.tinyModel.path, "--classes", "cat",
                                                           "--mode", "segformer", "--out", out, image])
        #expect(unknown.status != 0 && unknown.errors.contains("segformer"), "\(unknown.errors)")
        #expect(!FileManager.default.fileExists(atPath: out), "nothing was written")
    }
}
