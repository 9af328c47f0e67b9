import Foundation

extension SafeTensorsFile {
    /// Parses and checks the JSON header: every entry's dtype, shape and byte range must agree and lie inside
    /// the file, so a truncated or corrupt file is an error here, not a crash later.
    static func parseHeader(_ base: UnsafeRawPointer, size: Int, path: String) throws
        -> (entries: [String: Entry], metadata: [String: String], dataStart: Int)
    {
        let headerLength = Int(UInt64(littleEndian: base.loadUnaligned(as: UInt64.self)))
        guard headerLength > 1, headerLength <= 100_000_000, headerLength <= size - 8 else {
            throw InferenceError(.badModel, "\(path): header length \(headerLength) does not fit a \(size)-byte file (truncated or not safetensors)")
        }
        let header = Data(bytes: base + 8, count: headerLength)
        guard let object = try? JSONSerialization.jsonObject(with: header) as? [String: Any] else {
            throw InferenceError(.badModel, "\(path): the header is not a JSON object (not a safetensors file?)")
        }
        let dataStart = 8 + headerLength
        let dataSize = size - dataStart
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in object {
            if name == "__metadata__" {
                metadata = (value as? [String: String]) ?? [:]
                continue
            }
            guard let fields = value as? [String: Any],
                  let dtypeName = fields["dtype"] as? String,
                  let shape = fields["shape"] as? [Int],
                  let offsets = fields["data_offsets"] as? [Int], offsets.count == 2
            else { throw InferenceError(.badModel, "\(path): malformed header entry for \(name)") }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw InferenceError(.badModel, "\(path): tensor \(name) has unknown dtype \(dtypeName)")
            }
            guard shape.allSatisfy({ $0 >= 0 }) else {
                throw InferenceError(.badModel, "\(path): tensor \(name) has a negative dimension \(shape)")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end, end <= dataSize else {
                throw InferenceError(.badModel, "\(path): tensor \(name) bytes \(begin)..<\(end) lie outside the \(dataSize) data bytes (truncated file?)")
            }
            let (count, overflow) = shape.reduce((1, false)) { acc, d in
                let (p, o) = acc.0.multipliedReportingOverflow(by: d)
                return (p, acc.1 || o)
            }
            guard !overflow, count * dtype.size == end - begin else {
                throw InferenceError(.badModel, "\(path): tensor \(name) \(dtypeName)\(shape) needs \(count * dtype.size) bytes but has \(end - begin)")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, begin: begin, end: end)
        }
        return (entries, metadata, dataStart)
    }
}
