import Foundation
import LabelAPI
import Testing
import Inference

/// The whole forward pass against golden outputs of the independent Python implementation of
/// docs/maskclip.md and docs/DENSE-MODES.md (scripts/reference.py via scripts/make_goldens.py, computed in float64)
/// on the tiny model.
@Suite struct GoldenTests {
    static let classes = TestFixtures.classNames

    static func classEmbeddings(_ templates: String) throws -> ClassEmbeddings {
        try ClassEmbeddings.compute(model: TestFixtures.tinyModel.get(), classNames: classes,
                                    templates: .named(templates), modelSHA256: "test")
    }

    @Test(arguments: ["single", "maskclip85", "imagenet80"])
    func textEmbeddings(templates: String) throws {
        let golden = try TestFixtures.golden("text").floats("T.\(templates)")
        let ours = try Self.classEmbeddings(templates)
        #expect(golden.shape == [ours.classNames.count, ours.dimension])
        #expect(maxAbsDifference(ours.values, golden.buffer) < 1e-5)
    }

    /// (golden file, image, preset, short side, long side)
    static let cases: [(String, String, Preset, Int, Int)] = [
        ("img_a.clip", "img_a.png", .clip, 48, 2048),
        ("img_b.clip", "img_b.jpg", .clip, 48, 2048),
        ("img_c.clip", "img_c.png", .clip, 48, 2048),
        ("img_a.clip.long56", "img_a.png", .clip, 48, 56),
        ("img_a.reference", "img_a.png", .reference, 48, 2048),
    ]

    static func maskCLIP(_ preset: Preset, short: Int, long: Int, pd: Float, ks: Float) throws -> MaskCLIP {
        try MaskCLIP(model: TestFixtures.tinyModel.get(), classes: classEmbeddings("maskclip85"),
                     options: MaskCLIPOptions(shortSide: short, longSide: long, promptDenoise: pd, keySmoothing: ks, preset: preset))
    }

    @Test(arguments: cases)
    func densePath(golden name: String, image file: String, preset: Preset, short: Int, long: Int) throws {
        let golden = try TestFixtures.golden(name)
        let image = try TestFixtures.goldenImage(file)
        let plain = try Self.maskCLIP(preset, short: short, long: long, pd: 0, ks: 0)
        let prepared = plain.prepare(image)
        let input = try golden.floats("input")
        #expect(input.shape == [3, prepared.inputHeight, prepared.inputWidth])
        #expect(maxAbsDifference(prepared.planes, input.buffer) < 1e-4)
        let position = plain.model.vision.resizedPositionEmbedding(gh: prepared.gridHeight, gw: prepared.gridWidth)
        #expect(maxAbsDifference(position.data, try golden.floats("pos_embedding").buffer) < 1e-5)

        let dense = plain.denseScores(prepared)
        #expect(maxAbsDifference(dense.features.data, try golden.floats("features").buffer) < 1e-4)
        #expect(maxAbsDifference(dense.logits.data, try golden.floats("logits").buffer) < 1e-4)
        let denoised = try Self.maskCLIP(preset, short: short, long: long, pd: 0.5, ks: 0).denseScores(prepared)
        #expect(maxAbsDifference(denoised.scores.data, try golden.floats("logits.pd0.5").buffer) < 1e-4)
        for pd in ["0", "0.5"] {
            let smoothed = try Self.maskCLIP(preset, short: short, long: long, pd: Float(pd)!, ks: 1).denseScores(prepared)
            #expect(maxAbsDifference(smoothed.scores.data, try golden.floats("scores.pd\(pd).ks1").buffer) < 1e-4, "pd \(pd)")
        }
    }

    /// Final label maps with prompt denoising and key smoothing on and off: identical wherever the reference's
    /// top-two margin is not a near tie, and at least 99.5% identical overall.
    @Test(arguments: cases)
    func labelMaps(golden name: String, image file: String, preset: Preset, short: Int, long: Int) throws {
        let golden = try TestFixtures.golden(name)
        let image = try TestFixtures.goldenImage(file)
        for (pd, ks) in [("0", "0"), ("0.5", "0"), ("0.5", "1"), ("0", "1")] {
            let labels = try Self.maskCLIP(preset, short: short, long: long, pd: Float(pd)!, ks: Float(ks)!).label(image)
            try Self.expectSameLabels(labels, golden, labels: "labels.pd\(pd).ks\(ks)", margin: "margin.pd\(pd).ks\(ks)")
        }
    }

    /// Identical wherever the reference's top-two margin is clear (> 1e-3), and at least 99.5% identical overall.
    static func expectSameLabels(_ labels: LabelMap, _ golden: SafeTensorsFile, labels name: String, margin marginName: String,
                                 sourceLocation: SourceLocation = #_sourceLocation) throws {
        let expected = try golden.floats(name), margin = try golden.floats(marginName)
        #expect(expected.shape == [labels.height, labels.width], sourceLocation: sourceLocation)
        var same = 0, clearMismatches = 0
        for i in 0..<labels.indices.count {
            if Float(labels.indices[i]) == expected[i] { same += 1 } else if margin[i] > 1e-3 { clearMismatches += 1 }
        }
        #expect(clearMismatches == 0, "\(name)", sourceLocation: sourceLocation)
        #expect(Double(same) / Double(labels.indices.count) >= 0.995, "\(name): \(same) of \(labels.indices.count)",
                sourceLocation: sourceLocation)
    }

    /// (golden file, image, mode, short side): the other dense modes on the whole image, no prompt denoising.
    static let modeCases: [(String, String, DenseMode, Int)] = [
        ("img_a.clearclip", "img_a.png", .clearclip, 48),
        ("img_a.sclip", "img_a.png", .sclip, 48),
        ("img_a.naclip", "img_a.png", .naclip, 48),
        ("img_b.naclip", "img_b.jpg", .naclip, 48),
        ("img_b.clearclip", "img_b.jpg", .clearclip, 48),
        ("img_c.sclip.s64", "img_c.png", .sclip, 64),  // a 4 x 4 grid, the model's own: positions as they are
    ]

    /// Each mode's geometry (cut to whole patches, positions resized by scale factor), last block, features and
    /// label maps against the reference.
    @Test(arguments: modeCases)
    func denseModes(golden name: String, image file: String, mode: DenseMode, short: Int) throws {
        let golden = try TestFixtures.golden(name)
        let image = try TestFixtures.goldenImage(file)
        let run = try MaskCLIP(model: TestFixtures.tinyModel.get(), classes: Self.classEmbeddings("maskclip85"),
                               options: MaskCLIPOptions(mode: mode, shortSide: short, promptDenoise: 0))
        let prepared = run.prepare(image)
        let input = try golden.floats("input")
        #expect(input.shape == [3, prepared.inputHeight, prepared.inputWidth])
        #expect(maxAbsDifference(prepared.planes, input.buffer) < 1e-4)
        let position = run.model.vision.resizedPositionEmbedding(gh: prepared.gridHeight, gw: prepared.gridWidth, scaled: true)
        #expect(maxAbsDifference(position.data, try golden.floats("pos_embedding").buffer) < 1e-5)
        let dense = run.denseScores(prepared)
        #expect(maxAbsDifference(dense.features.data, try golden.floats("features").buffer) < 1e-4)
        #expect(maxAbsDifference(dense.logits.data, try golden.floats("logits").buffer) < 1e-4)
        try Self.expectSameLabels(try run.label(image), golden, labels: "labels", margin: "margin")
    }

    /// (golden file, image, mode, short side, window, stride): sliding windows in each mode's geometry.
    static let windowCases: [(String, String, DenseMode, Int, Int, Int)] = [
        ("img_a.clearclip.w56", "img_a.png", .clearclip, 80, 56, 24),  // windows padded around to 64
        ("img_a.naclip.w56", "img_a.png", .naclip, 80, 56, 24),        // windows cut to 48
        ("img_a.maskclip.w56", "img_a.png", .maskclip, 80, 56, 24),    // windows padded to 64 bottom-right
        ("img_b.sclip.w64", "img_b.jpg", .sclip, 80, 64, 32),
        ("img_c.sclip.w64", "img_c.png", .sclip, 48, 64, 0),           // one window, smaller than its side
    ]

    /// The averaged window scores over the resized image, and the label maps, against the reference.
    @Test(arguments: windowCases)
    func slidingWindows(golden name: String, image file: String, mode: DenseMode, short: Int, window: Int, stride: Int) throws {
        let golden = try TestFixtures.golden(name)
        let image = try TestFixtures.goldenImage(file)
        let run = try MaskCLIP(model: TestFixtures.tinyModel.get(), classes: Self.classEmbeddings("maskclip85"),
                               options: MaskCLIPOptions(mode: mode, shortSide: short, promptDenoise: 0, window: window, stride: stride))
        let resized = run.prepare(image, rounding: .asResized)
        #expect(maxAbsDifference(resized.planes, try golden.floats("input").buffer) < 1e-4)
        let logits = run.windowedLogits(resized)
        #expect(try golden.floats("logits").shape == [resized.resizedHeight * resized.resizedWidth, Self.classes.count])
        #expect(maxAbsDifference(logits.data, try golden.floats("logits").buffer) < 1e-4)
        try Self.expectSameLabels(try run.label(image), golden, labels: "labels", margin: "margin")
    }

    /// (golden file, image, mode, short side, window, stride, PAMR iterations, dilations).
    static let pamrCases: [(String, String, DenseMode, Int, Int, Int, Int, [Int])] = [
        ("img_a.naclip.pamr", "img_a.png", .naclip, 48, 0, 0, 10, [8, 16]),       // NACLIP's own setting
        ("img_b.sclip.w64.pamr", "img_b.jpg", .sclip, 80, 64, 32, 3, [2, 5]),     // after sliding windows
        ("img_a.maskclip.pamr", "img_a.png", .maskclip, 48, 0, 0, 4, [1, 3, 40]), // a dilation wider than the image
    ]

    /// PAMR on the full-size scores: label maps against the reference.
    @Test(arguments: pamrCases)
    func pamrRefinement(golden name: String, image file: String, mode: DenseMode, short: Int, window: Int, stride: Int,
                        iterations: Int, dilations: [Int]) throws {
        let golden = try TestFixtures.golden(name)
        let image = try TestFixtures.goldenImage(file)
        let options = MaskCLIPOptions(mode: mode, shortSide: short, promptDenoise: 0, window: window, stride: stride,
                                      pamrIterations: iterations, pamrDilations: dilations)
        let run = try MaskCLIP(model: TestFixtures.tinyModel.get(), classes: Self.classEmbeddings("maskclip85"), options: options)
        try Self.expectSameLabels(try run.label(image), golden, labels: "labels", margin: "margin")
        // Without PAMR the same run gives other labels: the refinement is not a no-op here.
        var plain = options
        plain.pamrIterations = 0
        let unrefined = try MaskCLIP(model: run.model, classes: run.classes, options: plain).label(image)
        #expect(unrefined != (try run.label(image)))
    }

    /// Key smoothing needs MaskCLIP's keys: the other modes refuse it by name.
    @Test func keySmoothingIsMaskCLIPsOnly() throws {
        #expect(throws: InferenceError.self) {
            try MaskCLIPOptions(mode: .naclip, promptDenoise: 0, keySmoothing: 1).validate()
        }
        try MaskCLIPOptions(mode: .maskclip, keySmoothing: 1).validate()
    }
}

/// Synonyms, the softmax's logit scale and the confidence threshold (docs/DENSE-MODES.md §2) against the reference:
/// class lines with synonyms (11 queries for 5 classes), each case's minimum confidence read from its golden file.
@Suite struct SynonymGoldenTests {
    static let lines = ["cat, kitten", "dog, puppy, hound", "tree", "sky, clouds", "person, man, woman"]

    static func classEmbeddings() throws -> ClassEmbeddings {
        let names = lines.map { String($0.split(separator: ",")[0]) }
        let synonyms = lines.map { $0.split(separator: ",").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) } }
        return try ClassEmbeddings.compute(model: TestFixtures.tinyModel.get(), classNames: names, synonyms: synonyms,
                                           templates: .named("maskclip85"), modelSHA256: "test")
    }

    /// (golden file, image, mode, short side, window, stride, PAMR iterations, dilations, logit scale, prompt denoising)
    static let cases: [(String, String, DenseMode, Int, Int, Int, Int, [Int], Float, Float)] = [
        ("img_a.naclip.syn.pamr", "img_a.png", .naclip, 48, 0, 0, 10, [8, 16], 40, 0),  // NACLIP's own setting
        ("img_b.sclip.w64.syn", "img_b.jpg", .sclip, 80, 64, 32, 0, [8], 40, 0),       // sliding windows
        ("img_a.maskclip.syn", "img_a.png", .maskclip, 48, 0, 0, 0, [8], 100, 0.5),    // prompt denoising of queries
    ]

    @Test(arguments: cases)
    func synonymsAndConfidence(golden name: String, image file: String, mode: DenseMode, short: Int, window: Int, stride: Int,
                               iterations: Int, dilations: [Int], scale: Float, promptDenoise: Float) throws {
        let golden = try TestFixtures.golden(name)
        let image = try TestFixtures.goldenImage(file)
        let classes = try Self.classEmbeddings()
        #expect(classes.queryClasses == [0, 0, 1, 1, 1, 2, 3, 3, 4, 4, 4])
        #expect(maxAbsDifference(classes.values, try golden.floats("T").buffer) < 1e-5)
        let threshold = try #require(golden.metadata["min_confidence"].flatMap(Float.init))
        var options = MaskCLIPOptions(mode: mode, shortSide: short, promptDenoise: promptDenoise, window: window, stride: stride,
                                      pamrIterations: iterations, pamrDilations: dilations, logitScale: scale)
        let free = try MaskCLIP(model: TestFixtures.tinyModel.get(), classes: classes, options: options).label(image)
        try GoldenTests.expectSameLabels(free, golden, labels: "labels.free", margin: "margin.free")
        #expect(!free.indices.contains(LabelMap.void))
        // The synonyms count: the class names alone label the image otherwise.
        let namesOnly = try ClassEmbeddings.compute(model: TestFixtures.tinyModel.get(), classNames: classes.classNames,
                                                    templates: .named("maskclip85"), modelSHA256: "test")
        #expect(try MaskCLIP(model: TestFixtures.tinyModel.get(), classes: namesOnly, options: options).label(image) != free)

        (options.minConfidence, options.confidence) = (threshold, true)
        let out = try MaskCLIP(model: TestFixtures.tinyModel.get(), classes: classes, options: options).labels(image)
        try GoldenTests.expectSameLabels(out.labels, golden, labels: "labels", margin: "margin")
        let voids = out.labels.indices.filter { $0 == LabelMap.void }.count
        #expect(voids > 0 && voids < out.labels.indices.count, "the threshold voids some pixels: \(voids)")
        // The confidence map is the reference's probability × 255, rounded (±1 where float32 rounds otherwise).
        let confidence = try #require(out.confidence)
        let expected = try golden.floats("confidence")
        var far = 0
        for i in 0..<confidence.values.count where abs(Float(confidence.values[i]) - expected[i]) > 0.5 + 1e-3 { far += 1 }
        #expect(far == 0, "\(far) confidence values differ from the reference's by more than rounding")
    }
}

/// Another checkpoint's shape (docs/DENSE-MODES.md, "Other checkpoints"): ViT-L/14-336's patch 14, 16 heads and
/// 24 x 24 position grid, with OpenCLIP's exact GELU, loaded from Hugging Face layout and run in every mode
/// against the reference.
@Suite struct CheckpointShapeGoldenTests {
    @Test func theConfigIsReadAsWritten() throws {
        let model = try TestFixtures.l14Model.get()
        let vision = model.config.vision
        #expect(vision.patchSize == 14 && vision.imageSize == 336 && vision.numAttentionHeads == 16 && vision.hiddenAct == "gelu")
        #expect(try Activation(configName: vision.hiddenAct) == .gelu)
        #expect(try Activation(configName: model.config.text.hiddenAct) == .gelu)
    }

    /// (golden file, image, mode, short side, window, stride)
    static let cases: [(String, String, DenseMode, Int, Int, Int)] = [
        ("l14.img_a.maskclip", "img_a.png", .maskclip, 120, 0, 0),
        ("l14.img_b.clearclip.w336", "img_b.jpg", .clearclip, 336, 336, 224),
        ("l14.img_a.naclip", "img_a.png", .naclip, 100, 0, 0),
        ("l14.img_c.sclip.w200", "img_c.png", .sclip, 336, 200, 100),
    ]

    @Test(arguments: cases)
    func everyModeMatchesTheReference(golden name: String, image file: String, mode: DenseMode, short: Int, window: Int, stride: Int) throws {
        let golden = try TestFixtures.golden(name)
        let image = try TestFixtures.goldenImage(file)
        let model = try TestFixtures.l14Model.get()
        let classes = try ClassEmbeddings.compute(model: model, classNames: TestFixtures.classNames, templates: .named("maskclip85"),
                                                  modelSHA256: "test")
        #expect(maxAbsDifference(classes.values, try golden.floats("T").buffer) < 1e-5, "the text tower with gelu")
        let run = try MaskCLIP(model: model, classes: classes,
                               options: MaskCLIPOptions(mode: mode, shortSide: short, promptDenoise: 0, window: window, stride: stride))
        if window == 0 {
            let prepared = run.prepare(image)
            #expect([prepared.gridHeight, prepared.gridWidth] == [golden.metadata["gh"], golden.metadata["gw"]].map { Int($0 ?? "") })
            let dense = run.denseScores(prepared)
            #expect(maxAbsDifference(dense.features.data, try golden.floats("features").buffer) < 1e-4)
        }
        try GoldenTests.expectSameLabels(try run.label(image), golden, labels: "labels", margin: "margin")
    }
}

/// SC-CLIP (docs/DENSE-MODES.md, "SC-CLIP") against the reference: the outlier flags, the dense features and the
/// label maps, on ViT-B/16's depth (the official block indices), on a 2-block model (blocks and neighbours clamped),
/// on the L/14-shaped model, and with 224 windows (196 patches, as the protocol runs it).
@Suite struct SCCLIPGoldenTests {
    @Test func theBlocksReadFollowTheOfficialCode() {
        typealias Layers = CLIPVisionTransformer.SCCLIPLayers
        #expect(Layers(depth: 12) == Layers(middle: 9, early: 4, levels: 4...10, classWeight: 0.3))
        #expect(Layers(depth: 24) == Layers(middle: 17, early: 7, levels: 9...19, classWeight: 0.1))
        #expect(Layers(depth: 3) == Layers(middle: 2, early: 1, levels: 1...1, classWeight: 0.3))
        #expect(Layers(depth: 2) == Layers(middle: 1, early: 1, levels: 1...1, classWeight: 0.3))
    }

    /// (golden file, model, image, short side, window, stride)
    static let cases: [(String, String, String, Int, Int, Int)] = [
        ("scclip.tiny12.img_a", "tiny-12", "img_a.png", 224, 0, 0),
        ("scclip.tiny12.img_b.w224", "tiny-12", "img_b.jpg", 224, 224, 112),
        ("scclip.tiny.img_c", "tiny-clip", "img_c.png", 48, 0, 0),
        ("scclip.l14.img_a", "tiny-l14-336-gelu", "img_a.png", 100, 0, 0),
    ]

    @Test(arguments: cases)
    func matchesTheReference(golden name: String, model folder: String, image file: String, short: Int, window: Int, stride: Int) throws {
        let golden = try TestFixtures.golden(name)
        let image = try TestFixtures.goldenImage(file)
        let model = try folder == "tiny-clip" ? TestFixtures.tinyModel.get()
            : folder == "tiny-12" ? TestFixtures.deepModel.get() : TestFixtures.l14Model.get()
        let classes = try ClassEmbeddings.compute(model: model, classNames: TestFixtures.classNames, templates: .named("maskclip85"),
                                                  modelSHA256: "test")
        #expect(maxAbsDifference(classes.values, try golden.floats("T").buffer) < 1e-5)
        let run = try MaskCLIP(model: model, classes: classes,
                               options: MaskCLIPOptions(mode: .scclip, shortSide: short, promptDenoise: 0, window: window, stride: stride))
        if window == 0 {
            let prepared = run.prepare(image)
            #expect(maxAbsDifference(prepared.planes, try golden.floats("input").buffer) < 1e-4)
            let dense = run.denseScores(prepared)
            #expect(maxAbsDifference(dense.features.data, try golden.floats("features").buffer) < 1e-4)
            #expect(maxAbsDifference(dense.logits.data, try golden.floats("logits").buffer) < 1e-4)
        }
        try GoldenTests.expectSameLabels(try run.label(image), golden, labels: "labels", margin: "margin")
    }

    /// The outlier flags on the tokens the last block gets, against the reference's.
    @Test func outliersMatchTheReference() throws {
        let golden = try TestFixtures.golden("scclip.tiny12.img_a")
        let model = try TestFixtures.deepModel.get()
        let classes = try ClassEmbeddings.compute(model: model, classNames: TestFixtures.classNames, templates: .named("single"),
                                                  modelSHA256: "test")
        let run = try MaskCLIP(model: model, classes: classes, options: MaskCLIPOptions(mode: .scclip, shortSide: 224, promptDenoise: 0))
        let prepared = run.prepare(try TestFixtures.goldenImage("img_a.png"))
        let tokens = model.vision.earlyBlocks(prepared, mode: .scclip, settings: run.settings).x
        let flagged = SCCLIPMath.outliers(tokens.rows(1..<tokens.rows))
        let expected = try golden.floats("flagged")
        #expect(flagged.map { $0 ? Float(1) : 0 } == Array(expected.buffer))
        #expect(flagged.filter { $0 }.count == 14, "the top 5% of 266 patches")
    }

    /// A flagged token takes the mean of its non-flagged grid neighbours; one surrounded by flagged ones stays.
    @Test func repairAveragesTheUnflaggedNeighbours() {
        // A 3 x 3 grid of 1-channel tokens 0...8 with 0 and 4 (the centre) flagged: 0 takes the mean of 1 and 3 (its
        // neighbour 4 is flagged), 4 the mean of the other seven; the rest stay.
        let p = Matrix(rows: 9, cols: 1, data: (0..<9).map(Float.init))
        var flagged = [Bool](repeating: false, count: 9)
        (flagged[0], flagged[4]) = (true, true)
        let out = SCCLIPMath.repair(p, flagged, gridWidth: 3)
        #expect(out.data[0] == 2 && abs(out.data[4] - 32 / 7) < 1e-6)
        #expect(Array(out.data[1...3]) == [1, 2, 3] && Array(out.data[5...]) == [5, 6, 7, 8])
        let lonely = SCCLIPMath.repair(Matrix(rows: 2, cols: 1, data: [5, 7]), [true, true], gridWidth: 2)
        #expect(lonely.data == [5, 7])
    }
}
