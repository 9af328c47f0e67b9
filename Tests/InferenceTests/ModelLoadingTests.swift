import Foundation
import Testing
import Inference

/// A directory that is not a CLIP model, a truncated file or a wrong shape is a clear error naming the problem.
@Suite struct ModelLoadingTests {
    /// A copy of the tiny model whose files a test may break.
    static func copyOfTinyModel() throws -> URL {
        let dir = try TestFixtures.temporaryDirectory().appendingPathComponent("model")
        try FileManager.default.copyItem(at: TestFixtures.tinyModelDirectory, to: dir)
        return dir
    }

    @Test func tinyModelLoadsWithConfigSizes() throws {
        let model = try TestFixtures.tinyModel.get()
        #expect(model.config.vision.hiddenSize == 32)
        #expect(model.config.vision.patchSize == 16)
        #expect(model.config.text.numHiddenLayers == 2)
        #expect(model.config.projectionDim == 16)
        #expect(model.vision.layers.count == 2)
    }

    @Test func missingDirectoryOrConfig() throws {
        let missing = #expect(throws: InferenceError.self) { try CLIPModel(directory: URL(fileURLWithPath: "/nonexistent/model")) }
        #expect(missing?.code == .badModel)
        let empty = try TestFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: empty) }
        let noConfig = #expect(throws: InferenceError.self) { try CLIPModel(directory: empty) }
        #expect(noConfig?.message.contains("config.json") == true)
    }

    @Test func configOfAnotherModelType() throws {
        let dir = try Self.copyOfTinyModel()
        try Data(#"{"model_type": "bert", "hidden_size": 768}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        let error = #expect(throws: InferenceError.self) { try CLIPModel(directory: dir) }
        #expect(error?.message.contains("bert") == true)
    }

    @Test func wrongShapeNamesTheTensor() throws {
        let dir = try Self.copyOfTinyModel()
        let url = dir.appendingPathComponent("config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        var vision = config["vision_config"] as! [String: Any]
        vision["intermediate_size"] = 48
        config["vision_config"] = vision
        try JSONSerialization.data(withJSONObject: config).write(to: url)
        let error = #expect(throws: InferenceError.self) { try CLIPModel(directory: dir) }
        #expect(error?.message.contains("vision_model.encoder.layers.0.mlp.fc1.weight has shape [64, 32], expected [48, 32]") == true)
    }

    @Test func truncatedWeights() throws {
        let dir = try Self.copyOfTinyModel()
        let url = dir.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: url)
        try data.prefix(data.count / 2).write(to: url)
        let error = #expect(throws: InferenceError.self) { try CLIPModel(directory: dir) }
        #expect(error?.code == .badModel)
        #expect(error?.message.contains("model.safetensors") == true)
    }

    @Test func missingTensorIsNamed() throws {
        let dir = try Self.copyOfTinyModel()
        let model = try TestFixtures.tinyModel.get()
        let file = model.weights
        let kept = file.entries.keys.filter { $0 != "visual_projection.weight" && file.entries[$0]!.dtype != .I64 }.sorted()
        try SafeTensorsWriter.write(try kept.map { .init(name: $0, shape: file.entries[$0]!.shape, values: Array(try file.floats($0).buffer)) },
                                    to: dir.appendingPathComponent("model.safetensors").path)
        let error = #expect(throws: InferenceError.self) { try CLIPModel(directory: dir) }
        #expect(error?.message.contains("visual_projection.weight is missing") == true)
    }
}
