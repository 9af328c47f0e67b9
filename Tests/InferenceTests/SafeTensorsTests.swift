import Foundation
import Testing
import Inference

@Suite struct SafeTensorsTests {
    /// A safetensors file from a header dictionary and raw data, for formats our writer does not produce.
    static func handMade(_ header: [String: Any], data: [UInt8], in directory: URL) throws -> String {
        let json = try JSONSerialization.data(withJSONObject: header)
        var bytes = withUnsafeBytes(of: UInt64(json.count).littleEndian) { [UInt8]($0) }
        bytes += json
        bytes += data
        let path = directory.appendingPathComponent("\(UUID().uuidString).safetensors").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func writerRoundTripsValuesAndMetadata() throws {
        let dir = try TestFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("t.safetensors").path
        try SafeTensorsWriter.write([.init(name: "a", shape: [2, 3], values: [1, 2, 3, 4, 5, -6.5]),
                                     .init(name: "b", shape: [1], values: [0.25])],
                                    metadata: ["k": "v"], to: path)
        let file = try SafeTensorsFile(path: path)
        #expect(Array(try file.floats("a").buffer) == [1, 2, 3, 4, 5, -6.5])
        #expect(try file.floats("a").shape == [2, 3])
        #expect(Array(try file.floats("b").buffer) == [0.25])
        #expect(file.metadata == ["k": "v"])
    }

    @Test func halfAndBFloat16AreConverted() throws {
        let dir = try TestFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // 1.5 = 0x3E00 in F16, 0x3FC0 in BF16; -2 = 0xC000 / 0xC000.
        let path = try Self.handMade([
            "h": ["dtype": "F16", "shape": [2], "data_offsets": [0, 4]],
            "b": ["dtype": "BF16", "shape": [2], "data_offsets": [4, 8]],
            "u": ["dtype": "F32", "shape": [1], "data_offsets": [9, 13]],  // unaligned F32
        ], data: [0x00, 0x3E, 0x00, 0xC0, 0xC0, 0x3F, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x80, 0x3F], in: dir)
        let file = try SafeTensorsFile(path: path)
        #expect(Array(try file.floats("h").buffer) == [1.5, -2])
        #expect(Array(try file.floats("b").buffer) == [1.5, -2])
        #expect(Array(try file.floats("u").buffer) == [1])
    }

    @Test func truncatedAndCorruptFilesAreErrors() throws {
        let dir = try TestFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("good.safetensors").path
        try SafeTensorsWriter.write([.init(name: "a", shape: [4], values: [1, 2, 3, 4])], to: good)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: good)))
        let truncated = dir.appendingPathComponent("truncated.safetensors").path
        try Data(bytes.dropLast(3)).write(to: URL(fileURLWithPath: truncated))
        #expect(throws: InferenceError.self) { try SafeTensorsFile(path: truncated) }
        let tiny = dir.appendingPathComponent("tiny.safetensors").path
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: tiny))
        #expect(throws: InferenceError.self) { try SafeTensorsFile(path: tiny) }
        let notJSON = try Self.handMade([:], data: [], in: dir)
        var garbage = [UInt8](try Data(contentsOf: URL(fileURLWithPath: notJSON)))
        garbage[8] = UInt8(ascii: "x")
        try Data(garbage).write(to: URL(fileURLWithPath: notJSON))
        #expect(throws: InferenceError.self) { try SafeTensorsFile(path: notJSON) }
        let wrongSize = try Self.handMade(["a": ["dtype": "F32", "shape": [3], "data_offsets": [0, 8]]], data: [UInt8](repeating: 0, count: 8), in: dir)
        let error = #expect(throws: InferenceError.self) { try SafeTensorsFile(path: wrongSize) }
        #expect(error?.message.contains("tensor a") == true)
    }

    @Test func integerTensorsAreNotFloats() throws {
        let dir = try TestFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try Self.handMade(["ids": ["dtype": "I64", "shape": [1], "data_offsets": [0, 8]]], data: [UInt8](repeating: 0, count: 8), in: dir)
        let error = #expect(throws: InferenceError.self) { try SafeTensorsFile(path: path).floats("ids") }
        #expect(error?.message.contains("I64") == true)
    }
}
