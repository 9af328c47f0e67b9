import Foundation
import Inference
import LabelAPI
import Support

/// The worker's three stages of an image, off Swift's cooperative pool: MaskCLIP on one thread, decoding (and the
/// thumbnail) and encoding the PNGs on another. One image runs through MaskCLIP at a time per worker, while the
/// next is decoded and the last one's PNGs are encoded (docs/WORKER-PIPELINE.md). The codec thread runs at a lower
/// priority (nice 10): where MaskCLIP keeps every core busy it takes the moments they wait, instead of slowing
/// the encoder's threads, which all wait for the slowest.
public final class InferenceRunner: Sendable {
    private let inference = WorkThreads(name: "lm-inference")
    private let codec = WorkThreads(name: "lm-codec", nice: 10)

    public init() {}

    /// An image decoded, with its thumbnail.
    public struct Decoded: Sendable {
        public let image: RGBImage
        /// The image at most `thumbnailSide` pixels a side, as a JPEG: the dashboard's gallery shows it under
        /// the label map, so the coordinator never reads the image itself.
        public let thumbnail: [UInt8]
    }

    /// What the worker uploads for an image.
    public struct Labeled: Sendable {
        public let png: [UInt8]
        public let width: Int
        public let height: Int
        public let thumbnail: [UInt8]
        /// The confidence map as a grayscale PNG, in a job that saves them.
        public let confidence: [UInt8]?
        /// The map's pixels per class value, most first (a receipt's).
        public let classes: [ClassPixels]
    }

    static let thumbnailSide = 256

    /// Decodes `bytes` and makes the thumbnail. Image errors throw `InferenceError`.
    public func decode(_ bytes: [UInt8], maxPixels: Int, thumbnail: Bool = true) async throws -> Decoded {
        try await codec.run {
            let image = try ImageCodec.decode(bytes, maxPixels: maxPixels)
            return Decoded(image: image, thumbnail: thumbnail
                ? try ImageCodec.encodeJPEG(image.thumbnail(maxSide: Self.thumbnailSide), quality: 80) : [])
        }
    }

    /// MaskCLIP on a decoded image: its label map and (when the options ask for it) its confidence map.
    public func label(_ decoded: Decoded, with maskCLIP: MaskCLIP) async throws -> LabeledImage {
        try await run { try maskCLIP.labels(decoded.image) }
    }

    /// The label map (and confidence map) as PNGs.
    public func encode(_ labeled: LabeledImage, of decoded: Decoded) async throws -> Labeled {
        try await codec.run {
            Labeled(png: try ImageCodec.encodeLabelPNG(labeled.labels), width: decoded.image.width, height: decoded.image.height,
                    thumbnail: decoded.thumbnail, confidence: try labeled.confidence?.png(), classes: ClassPixels.count(labeled.labels.indices))
        }
    }

    /// Any other blocking work that belongs on the inference thread (loading a model, say).
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await inference.run(body)
    }
}
