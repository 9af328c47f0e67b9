import Dispatch
import Foundation
import Inference
import LabelAPI

/// The worker's three stages of an image, off Swift's cooperative pool: MaskCLIP on one thread, decoding (and the
/// thumbnail) and encoding the PNGs on another. One image runs through MaskCLIP at a time per worker, while the
/// next is decoded and the last one's PNGs are encoded (docs/WORKER-PIPELINE.md). The codec thread runs at a lower
/// priority (nice 10): where MaskCLIP keeps every core busy it takes the moments they wait, instead of slowing
/// the encoder's threads, which all wait for the slowest.
public final class InferenceRunner: Sendable {
    private let inference = DispatchQueue(label: "labelmill.worker.inference", qos: .userInitiated)
    private let codec = WorkThread(name: "labelmill.codec", nice: 10)

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
        try await withCheckedThrowingContinuation { continuation in
            inference.async { continuation.resume(with: Result { try body() }) }
        }
    }
}

/// One thread of its own, at a given nice value, running jobs in order; it ends when its owner lets it go.
final class WorkThread: Sendable {
    private final class Jobs: @unchecked Sendable {
        let condition = NSCondition()
        var queue: [@Sendable () -> Void] = []
        var open = true
    }

    private let jobs = Jobs()

    init(name: String, nice: Int32) {
        let jobs = self.jobs
        let thread = Thread {
            // On Linux a nice value belongs to a thread: 0 names the calling one. Raising one's own needs no
            // privilege; the thread keeps it for its life.
            setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, nice)
            while true {
                jobs.condition.lock()
                while jobs.queue.isEmpty && jobs.open { jobs.condition.wait() }
                if jobs.queue.isEmpty {
                    jobs.condition.unlock()
                    return
                }
                let job = jobs.queue.removeFirst()
                jobs.condition.unlock()
                job()
            }
        }
        thread.name = name
        thread.start()
    }

    deinit {
        jobs.condition.lock()
        jobs.open = false
        jobs.condition.signal()
        jobs.condition.unlock()
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            jobs.condition.lock()
            jobs.queue.append { continuation.resume(with: Result { try body() }) }
            jobs.condition.signal()
            jobs.condition.unlock()
        }
    }
}
