import Foundation
import Support

/// Writes F32 tensors and string metadata as a `.safetensors` file (header padded to 8 bytes, as the
/// reference library does), atomically and durably (`AtomicFile`).
public enum SafeTensorsWriter {
    public struct Item: Sendable {
        public let name: String
        public let shape: [Int]
        public let values: [Float]

        public init(name: String, shape: [Int], values: [Float]) {
            precondition(shape.reduce(1, *) == values.count, "\(name): \(values.count) values for shape \(shape)")
            self.name = name
            self.shape = shape
            self.values = values
        }
    }

    public static func write(_ items: [Item], metadata: [String: String] = [:], to path: String) throws {
        var header: [String: Any] = [:]
        var offset = 0
        for item in items {
            let size = item.values.count * 4
            header[item.name] = ["dtype": "F32", "shape": item.shape, "data_offsets": [offset, offset + size]]
            offset += size
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var data = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        for item in items {
            item.values.withUnsafeBufferPointer { data.append(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) }
        }
        do {
            try AtomicFile.write([UInt8](data), to: path)
        } catch {
            throw InferenceError(.io, "cannot write \(error.description)")
        }
    }
}
