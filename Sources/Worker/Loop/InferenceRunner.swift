import Dispatch
import Foundation
import Inference

/// The worker's three stages of an image, each on a dedicated thread so that long CPU work never runs on Swift's
/// cooperative pool: decoding (and the thumbnail) and encoding the PNGs on one, MaskCLIP on another. One image
/// runs through MaskCLIP at a time per process, while the next is decoded and the last one's PNGs are encoded
/// (docs/WORKER-PIPELINE.md).
public final class InferenceRunner: Sendable {
    private let inference = DispatchQueue(label: "labelmill.worker.inference", qos: .userInitiated)
    private let codec = DispatchQueue(label: "labelmill.worker.codec", qos: .userInitiated)

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
    }

    static let thumbnailSide = 256

    /// Decodes `bytes` and makes the thumbnail. Image errors throw `InferenceError`.
    public func decode(_ bytes: [UInt8], maxPixels: Int) async throws -> Decoded {
        try await run(on: codec) {
            let image = try ImageCodec.decode(bytes, maxPixels: maxPixels)
            return Decoded(image: image, thumbnail: try ImageCodec.encodeJPEG(image.thumbnail(maxSide: Self.thumbnailSide), quality: 80))
        }
    }

    /// MaskCLIP on a decoded image: its label map and (when the options ask for it) its confidence map.
    public func label(_ decoded: Decoded, with maskCLIP: MaskCLIP) async throws -> LabeledImage {
        try await run { try maskCLIP.labels(decoded.image) }
    }

    /// The label map (and confidence map) as PNGs.
    public func encode(_ labeled: LabeledImage, of decoded: Decoded) async throws -> Labeled {
        try await run(on: codec) {
            Labeled(png: try ImageCodec.encodeLabelPNG(labeled.labels), width: decoded.image.width, height: decoded.image.height,
                    thumbnail: decoded.thumbnail, confidence: try labeled.confidence?.png())
        }
    }

    /// Any other blocking work that belongs on the inference thread (loading a model, say).
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await run(on: inference, body)
    }

    private func run<T: Sendable>(on queue: DispatchQueue, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
