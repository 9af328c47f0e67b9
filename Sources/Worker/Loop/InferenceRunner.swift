import Dispatch
import Foundation
import Inference

/// Labels images for the worker on one dedicated thread: MaskCLIP is long CPU work (BLAS uses every core
/// inside it), so it never runs on Swift's cooperative pool, and one image runs at a time per process.
final class InferenceRunner: Sendable {
    private let queue = DispatchQueue(label: "labelmill.worker.inference", qos: .userInitiated)

    struct Labeled: Sendable {
        let png: [UInt8]
        let width: Int
        let height: Int
        /// The image at most `thumbnailSide` pixels a side, as a JPEG: the dashboard's gallery shows it under
        /// the label map, so the coordinator never reads the image itself.
        let thumbnail: [UInt8]
        /// The confidence map as a grayscale PNG, in a job that saves them.
        let confidence: [UInt8]?
    }

    static let thumbnailSide = 256

    /// Decodes `bytes`, labels the image and encodes the label map, a thumbnail and (when the options ask for
    /// it) the confidence map. Image errors throw `InferenceError`.
    func label(_ bytes: [UInt8], with maskCLIP: MaskCLIP, maxPixels: Int) async throws -> Labeled {
        try await run {
            let image = try ImageCodec.decode(bytes, maxPixels: maxPixels)
            let labeled = try maskCLIP.labels(image)
            let png = try ImageCodec.encodeLabelPNG(labeled.labels)
            let thumbnail = try ImageCodec.encodeJPEG(image.thumbnail(maxSide: Self.thumbnailSide), quality: 80)
            return Labeled(png: png, width: image.width, height: image.height, thumbnail: thumbnail,
                           confidence: try labeled.confidence?.png())
        }
    }

    /// Any other blocking work that belongs on the inference thread (loading a model, say).
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
