/// The encoded formats `ImageCodec` reads, told apart by their first bytes.
public enum ImageFormat: Sendable, Equatable {
    case jpeg
    case png

    /// The usual file name extension, without the dot.
    public var fileExtension: String {
        switch self {
        case .jpeg: "jpg"
        case .png: "png"
        }
    }

    private static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    private static let jpegSignature: [UInt8] = [0xFF, 0xD8, 0xFF]

    /// Throws `.badImage` for anything else, naming what the data looks like instead (never its bytes: the
    /// message reaches whoever reads the job's results, and the data may be any file a worker can read).
    public init(sniffing bytes: [UInt8]) throws {
        if bytes.starts(with: Self.jpegSignature) {
            self = .jpeg
        } else if bytes.starts(with: Self.pngSignature) {
            self = .png
        } else if bytes.isEmpty {
            throw InferenceError(.badImage, "not a JPEG or PNG image: the data is empty")
        } else {
            throw InferenceError(.badImage, "not a JPEG or PNG image: \(Self.describe(bytes))")
        }
    }

    /// What other data looks like, from its signature: "a GIF image", "a PDF document", "text", ...
    static func describe(_ bytes: [UInt8]) -> String {
        func starts(_ text: String, at offset: Int = 0) -> Bool {
            bytes.count >= offset + text.utf8.count && bytes[offset..<offset + text.utf8.count].elementsEqual(text.utf8)
        }
        if starts("GIF87a") || starts("GIF89a") { return "a GIF image" }
        if starts("RIFF") && starts("WEBP", at: 8) { return "a WebP image" }
        if starts("BM") && bytes.count > 14 { return "a BMP image" }
        if starts("II*\u{0}") || starts("MM\u{0}*") { return "a TIFF image" }
        if starts("ftypheic", at: 4) || starts("ftypheix", at: 4) || starts("ftypmif1", at: 4) { return "a HEIC image" }
        if starts("ftypavif", at: 4) { return "an AVIF image" }
        if starts("\u{0}\u{0}\u{0}\u{0C}jP  ") { return "a JPEG 2000 image" }
        if starts("%PDF") { return "a PDF document" }
        if starts("PK\u{3}\u{4}") { return "a ZIP archive" }
        if bytes.starts(with: [0x1F, 0x8B]) { return "gzip-compressed data" }
        let head = bytes.prefix(512)
        let lowered = String(decoding: head, as: UTF8.self).lowercased()
        if lowered.contains("<html") || lowered.contains("<!doctype html") { return "an HTML page (an error page instead of the image?)" }
        if lowered.hasPrefix("<?xml") || lowered.hasPrefix("<svg") { return "XML or SVG text" }
        let printable = head.allSatisfy { $0 == 9 || $0 == 10 || $0 == 13 || (32..<127).contains($0) || $0 >= 0x80 }
        if printable { return lowered.hasPrefix("{") || lowered.hasPrefix("[") ? "JSON text" : "text" }
        return "data of an unknown format (\(bytes.count) bytes)"
    }
}
