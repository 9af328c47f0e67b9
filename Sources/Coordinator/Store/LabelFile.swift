import Support
import LabelAPI

/// A stored label map of one image; the HTTP layer writes the file, the store records where and what it is.
public struct LabelFile: Codable, Sendable, Equatable, Hashable {
    /// Lowercase hex SHA-256 of the file's bytes.
    public var sha256: String
    public var bytes: Int64
    public var width: Int
    public var height: Int
    /// Relative to the coordinator's data directory; for a job with an output, the key there (a worker's receipt).
    public var relativePath: String
    /// Pixels per class present in the map (255 is void), most first; empty when not counted.
    public var classes: [ClassPixels]
    /// A receipt's confidence map (kept in the job's output beside the label).
    public var confidenceSHA256: String?

    public init(sha256: String, bytes: Int64, width: Int, height: Int, relativePath: String, classes: [ClassPixels] = [],
                confidenceSHA256: String? = nil) {
        self.sha256 = sha256
        self.bytes = bytes
        self.width = width
        self.height = height
        self.relativePath = relativePath
        self.classes = classes
        self.confidenceSHA256 = confidenceSHA256
    }

    /// `classes` as stored in `labels.classes`: "class:pixels,...".
    package static func encode(_ classes: [ClassPixels]) -> String {
        classes.map { "\($0.class):\($0.pixels)" }.joined(separator: ",")
    }

    package static func decode(_ text: String?) -> [ClassPixels] {
        (text ?? "").split(separator: ",").compactMap { pair in
            let parts = pair.split(separator: ":")
            guard parts.count == 2, let index = Int(parts[0]), let pixels = Int64(parts[1]) else { return nil }
            return ClassPixels(class: index, pixels: pixels)
        }
    }

    /// Why this cannot be recorded, or nil.
    var problem: String? {
        if !SHA256Hex.isValid(sha256) { return "label sha256 must be 64 lowercase hex digits" }
        if bytes < 0 { return "label bytes must not be negative" }
        if width < 1 || height < 1 { return "label width and height must be positive" }
        if relativePath.isEmpty { return "label relativePath is empty" }
        if let confidenceSHA256, !SHA256Hex.isValid(confidenceSHA256) { return "confidence sha256 must be 64 lowercase hex digits" }
        if classes.contains(where: { !(0...255).contains($0.class) || $0.pixels < 1 }) { return "label class counts are out of range" }
        return nil
    }
}

/// What `Store.recordLabel` did.
public enum LabelOutcome: String, Codable, Sendable, Equatable {
    /// The image is now done with this label.
    case recorded
    /// The image was already done with this very label (a retried upload); nothing changed.
    case unchanged
}
