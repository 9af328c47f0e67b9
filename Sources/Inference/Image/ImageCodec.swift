import Foundation

/// Image files in and label PNGs out. The format is chosen by the magic bytes, never by the file
/// extension; every failure is an `InferenceError` (`.badImage`, `.imageTooLarge`, `.io`,
/// `.badArgument`) so one bad image fails one task, not the worker. All calls block: run them off
/// the cooperative thread pool for large images.
public enum ImageCodec {
    /// Decompression-bomb guard: 100 megapixels (a 10000×10000 photo, 300 MB as RGB).
    public static let defaultMaxPixels = 100_000_000

    /// Decodes a JPEG or PNG to 8-bit RGB. The header is checked against `maxPixels` before any
    /// pixel memory is allocated.
    public static func decode(_ bytes: [UInt8], maxPixels: Int = defaultMaxPixels) throws -> RGBImage {
        try checkLimitArgument(maxPixels)
        switch try ImageFormat(sniffing: bytes) {
        case .jpeg: return try JPEGCodec.decodeRGB(bytes, maxPixels: maxPixels)
        case .png: return try PNGCodec.decodeRGB(bytes, maxPixels: maxPixels)
        }
    }

    /// Reads and decodes an image file; errors name the path.
    public static func read(contentsOf path: String, maxPixels: Int = defaultMaxPixels) throws -> RGBImage {
        let bytes = try readFile(path)
        do {
            return try decode(bytes, maxPixels: maxPixels)
        } catch let error as InferenceError {
            throw InferenceError(error.code, "\(path): \(error.message)")
        }
    }

    /// Width and height from the header alone (no pixel decoding, no limit applied).
    public static func dimensions(_ bytes: [UInt8]) throws -> (width: Int, height: Int) {
        switch try ImageFormat(sniffing: bytes) {
        case .jpeg: return try JPEGCodec.dimensions(bytes)
        case .png: return try PNGCodec.dimensions(bytes)
        }
    }

    /// Encodes `image` as a baseline JPEG (4:2:0) at `quality`, 1 to 100.
    public static func encodeJPEG(_ image: RGBImage, quality: Int = 80) throws -> [UInt8] {
        guard (1...100).contains(quality) else { throw InferenceError(.badArgument, "JPEG quality \(quality) is not 1...100") }
        return try JPEGCodec.encode(image, quality: quality)
    }

    /// Encodes a label map as an 8-bit palette PNG whose PLTE is `palette` (all 256 entries), with
    /// fast compression. PIL opens the result as mode "P" with the same indices.
    public static func encodeLabelPNG(_ map: LabelMap, palette: LabelPalette = .voc) throws -> [UInt8] {
        guard map.indices.count == map.width * map.height else {
            throw InferenceError(.badArgument, "label map is \(map.width)x\(map.height) but has \(map.indices.count) indices")
        }
        guard map.width <= Int(Int32.max), map.height <= Int(Int32.max) else {
            throw InferenceError(.badArgument, "label map \(map.width)x\(map.height) is too large for PNG")
        }
        return try PNGCodec.encodePalette(map, palette: palette)
    }

    /// Decodes a label PNG (palette or grayscale, at most 8 bits) to its raw indices, without
    /// looking colours up: the inverse of `encodeLabelPNG`, and it reads VOC `SegmentationClass` files.
    public static func decodeLabelPNG(_ bytes: [UInt8], maxPixels: Int = defaultMaxPixels) throws -> LabelMap {
        try checkLimitArgument(maxPixels)
        guard try ImageFormat(sniffing: bytes) == .png else {
            throw InferenceError(.badImage, "a label map must be a PNG, got a JPEG")
        }
        return try PNGCodec.decodeIndices(bytes, maxPixels: maxPixels)
    }

    /// Throws `.imageTooLarge` when a header declares more than `maxPixels` pixels.
    static func checkPixelLimit(width: Int, height: Int, maxPixels: Int, format: String) throws {
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        guard overflow || pixels > maxPixels else { return }
        let count = overflow ? "more than \(Int.max)" : "\(pixels)"
        throw InferenceError(.imageTooLarge,
                             "\(format) image is \(width)x\(height) (\(count) pixels), over the limit of \(maxPixels) pixels")
    }

    private static func checkLimitArgument(_ maxPixels: Int) throws {
        guard maxPixels > 0 else { throw InferenceError(.badArgument, "maxPixels must be positive, got \(maxPixels)") }
    }

    private static func readFile(_ path: String) throws -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw InferenceError(.io, "cannot read image \(path): no such file")
        }
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: path)
        } catch {
            throw InferenceError(.io, "cannot read image \(path): \(error.localizedDescription)")
        }
        if attributes[.type] as? FileAttributeType == .typeDirectory {
            throw InferenceError(.io, "cannot read image \(path): it is a directory")
        }
        // Checked before reading: FileManager.contents(atPath:) leaks its buffer on empty files.
        if (attributes[.size] as? NSNumber)?.intValue == 0 {
            throw InferenceError(.badImage, "image file \(path) is empty")
        }
        do {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            guard !bytes.isEmpty else { throw InferenceError(.badImage, "image file \(path) is empty") }
            return bytes
        } catch let error as InferenceError {
            throw error
        } catch {
            throw InferenceError(.io, "cannot read image \(path): \(error.localizedDescription)")
        }
    }
}
