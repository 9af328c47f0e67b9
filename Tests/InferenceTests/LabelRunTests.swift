import Foundation
import Logging
import Testing
import Inference

/// `labelmill label` end to end through its library entry point: real files in, real PNGs out.
@Suite struct LabelRunTests {
    /// These tests fail images on purpose: their reasons are asserted, not printed.
    static let quiet: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }()

    @Test func badImagesFailAloneAndGoodOnesAreWritten() throws {
        let dir = try TestFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = TestFixtures.root.appendingPathComponent("golden/images/img_b.jpg").path
        let gray = try ImageFixture.path("gray16.png")
        let truncated = try ImageFixture.path("truncated.jpg")
        let text = try ImageFixture.path("text.jpg")
        let bomb = try ImageFixture.path("bomb.png")
        let out = dir.appendingPathComponent("out")
        let configuration = LabelConfiguration(
            modelDirectory: TestFixtures.tinyModelDirectory, classNames: TestFixtures.classNames, templates: "single",
            options: MaskCLIPOptions(shortSide: 48), outputDirectory: out,
            images: [good, truncated, text, "/nonexistent/x.png", bomb, gray])
        let report = try LabelRun.run(configuration, logger: Self.quiet)
        #expect(report.labeled == [good, gray])
        #expect(report.failed.map(\.image) == [truncated, text, "/nonexistent/x.png", bomb])
        #expect(report.failed[0].reason.contains("Premature end"))
        #expect(report.failed[3].reason.contains("60000"))

        let png = try ImageCodec.decodeLabelPNG([UInt8](Data(contentsOf: out.appendingPathComponent("img_b.png"))))
        let source = try ImageCodec.read(contentsOf: good)
        #expect(png.width == source.width && png.height == source.height)
        #expect(png.indices.allSatisfy { $0 < TestFixtures.classNames.count })
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(files == ["classes.json", "gray16.png", "img_b.png"])

        let classes = try JSONDecoder().decode(ClassList.self, from: Data(contentsOf: out.appendingPathComponent("classes.json")))
        #expect(classes.classes.map(\.name) == TestFixtures.classNames)
        #expect(classes.classes.map(\.index) == [0, 1, 2, 3, 4])
        #expect(classes.void.index == 255)
    }

    @Test func labelsMatchTheLibraryCallAndEmbeddingsFileIsEquivalent() throws {
        let dir = try TestFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try TestFixtures.tinyModel.get()
        let sha = try model.weightsSHA256()
        let embeddings = try ClassEmbeddings.compute(model: model, classNames: TestFixtures.classNames, templates: .named("single"), modelSHA256: sha)
        let file = dir.appendingPathComponent("classes.safetensors").path
        try embeddings.write(to: file)
        let reloaded = try ClassEmbeddings(contentsOf: file)
        #expect(reloaded == embeddings)

        let image = TestFixtures.root.appendingPathComponent("golden/images/img_c.png").path
        let out = dir.appendingPathComponent("out")
        _ = try LabelRun.run(LabelConfiguration(modelDirectory: TestFixtures.tinyModelDirectory, classNames: [], embeddingsFile: file,
                                                options: MaskCLIPOptions(shortSide: 48), outputDirectory: out, images: [image]),
                             logger: Self.quiet)
        let written = try ImageCodec.decodeLabelPNG([UInt8](Data(contentsOf: out.appendingPathComponent("img_c.png"))))
        let direct = try MaskCLIP(model: model, classes: embeddings, options: MaskCLIPOptions(shortSide: 48)).label(ImageCodec.read(contentsOf: image))
        #expect(written == direct)
    }

    /// --classes or --templates that disagree with the embeddings file are an error, found before the model loads
    /// (the model directory here does not exist).
    @Test func classesOrTemplatesThatDisagreeWithTheEmbeddingsAreRefused() throws {
        let dir = try TestFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try TestFixtures.tinyModel.get()
        let file = dir.appendingPathComponent("classes.safetensors").path
        try ClassEmbeddings.compute(model: model, classNames: ["cat", "dog"], templates: .named("single"), modelSHA256: try model.weightsSHA256())
            .write(to: file)
        func label(classes: [String], templates: String?) -> InferenceError? {
            #expect(throws: InferenceError.self) {
                try LabelRun.run(LabelConfiguration(modelDirectory: dir.appendingPathComponent("no-model"), classNames: classes,
                                                    templates: templates, embeddingsFile: file, outputDirectory: dir.appendingPathComponent("out"),
                                                    images: [TestFixtures.root.appendingPathComponent("golden/images/img_c.png").path]),
                                 logger: Self.quiet)
            }
        }
        #expect(label(classes: ["dog", "cat"], templates: nil)?.message.contains("are not those of \(file) (cat,dog)") == true)
        #expect(label(classes: [], templates: "maskclip85")?.message.contains("--templates maskclip85 is not what \(file) was made with (single)") == true)
        // What matches gets as far as the model.
        #expect(label(classes: ["cat", "dog"], templates: "single")?.message.contains("no-model") == true)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out").path))
    }

    @Test func embeddingsOfAnotherModelAreRefused() throws {
        let model = try TestFixtures.tinyModel.get()
        let embeddings = try ClassEmbeddings.compute(model: model, classNames: ["a", "b"], templates: .named("single"), modelSHA256: "0123")
        let error = #expect(throws: InferenceError.self) { try embeddings.check(modelSHA256: try model.weightsSHA256()) }
        #expect(error?.message.contains("0123") == true)
    }

    /// Control characters (rough edges, item 27: a tab or CR broke CVAT archives; NUL, tab and CR were taken).
    @Test(arguments: [[], ["a", "a"], ["a", " "], (0..<256).map { "c\($0)" }, ["cat\r"], ["a\tb"], ["nul\u{0}"], ["two\nlines"]])
    func badClassListsAreRefused(_ names: [String]) {
        #expect(throws: InferenceError.self) { try ClassEmbeddings.validate(classNames: names) }
    }

    @Test func templateFilesAndBadTemplates() throws {
        let dir = try TestFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("t.txt")
        try "# mine\na {} here.\n\nthe {}.\n".write(to: file, atomically: true, encoding: .utf8)
        let templates = try PromptTemplates.named(file.path)
        #expect(templates.templates == ["a {} here.", "the {}."])
        #expect(try PromptTemplates.named("maskclip85").templates.count == 85)
        #expect(throws: InferenceError.self) { try PromptTemplates(name: "x", templates: ["no placeholder"]) }
        #expect(throws: InferenceError.self) { try PromptTemplates.named("/nonexistent/templates") }
    }
}
