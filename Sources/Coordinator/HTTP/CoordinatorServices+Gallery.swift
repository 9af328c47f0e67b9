import Foundation
import Inference
import LabelAPI
import Support

/// Gallery thumbnails: a small JPEG per labeled image that its worker uploads, stored as
/// `thumbnails/{job}/{image}.jpg` in the data directory (the coordinator never reads worker-local images).
extension CoordinatorServices {
    /// A thumbnail is at most this many pixels a side and this many bytes.
    static let thumbnailMaxSide = 512
    static let thumbnailMaxBytes = 256 << 10

    func thumbnailPath(job: String, image: String) -> String { dataPath(DataLayout.thumbnail(job: job, image: image)) }

    /// Checks the lease (as a label upload does) and that `bytes` is a JPEG that decodes and is small, then writes
    /// it atomically. Blocking.
    func storeThumbnail(_ bytes: [UInt8], taskId: Int64, token: String, imageId: String) throws {
        guard ImageID.isSafe(imageId) else { throw CoordinatorError(.notFound, "no image \(imageId.debugDescription) in task \(taskId)") }
        // A shard's sample done by an earlier task of the shard may get its picture again from the task rewriting it.
        let (jobId, _) = try store.uploadTarget(taskId: taskId, token: token, imageId: imageId, wholeShard: true)
        guard (try? ImageFormat(sniffing: bytes)) == .jpeg else { throw CoordinatorError(.invalidUpload, "a thumbnail must be a JPEG") }
        let side = Self.thumbnailMaxSide
        let image = try ImageCodec.decode(bytes, maxPixels: side * side)
        guard image.width <= side, image.height <= side else {
            throw CoordinatorError(.invalidUpload, "a thumbnail is at most \(side) pixels a side, got \(image.width)x\(image.height)")
        }
        try AtomicFile.write(bytes, to: thumbnailPath(job: jobId, image: imageId), mode: 0o600, durable: false)
    }

    func confidencePath(job: String, image: String) -> String { dataPath(DataLayout.confidence(job: job, image: image)) }

    /// Checks the lease and that the job saves confidence maps and `bytes` is one (an 8-bit single-channel PNG that
    /// decodes within the image limit) of the source image's size (`width` x `height`, as the worker reports it),
    /// then writes it atomically as `confidence/{job}/{image}.png`. Blocking.
    func storeConfidence(_ bytes: [UInt8], taskId: Int64, token: String, imageId: String, width: Int, height: Int) throws {
        guard ImageID.isSafe(imageId) else { throw CoordinatorError(.notFound, "no image \(imageId.debugDescription) in task \(taskId)") }
        let (jobId, _) = try store.uploadTarget(taskId: taskId, token: token, imageId: imageId)
        let options = try store.job(jobId)?.options
        guard options?.saveConfidence == true else {
            throw CoordinatorError(.badRequest, "job \(jobId) does not save confidence maps (settings.saveConfidence)")
        }
        if let output = options?.output { throw Self.writesToOutput(jobId, output) }
        let map: LabelMap
        do { map = try ImageCodec.decodeLabelPNG(bytes) } catch {
            throw CoordinatorError(.invalidUpload, "a confidence map must be an 8-bit grayscale PNG: \(error)")
        }
        guard (map.width, map.height) == (width, height) else {
            throw CoordinatorError(.invalidUpload, "the confidence map is \(map.width)x\(map.height), the source image is \(width)x\(height)")
        }
        try AtomicFile.write(bytes, to: confidencePath(job: jobId, image: imageId), mode: 0o600)
    }

    /// In a job that saves confidence maps, an image's label is taken only once its confidence map is there, of
    /// the label's size: then no labeled image lacks one, and every export of the job can write it. Blocking.
    func checkConfidence(job: JobRecord, imageId: String, width: Int, height: Int) throws {
        guard job.options.saveConfidence else { return }
        let path = confidencePath(job: job.id, image: imageId)
        let header = FileHandle(forReadingAtPath: path).flatMap { handle in
            defer { try? handle.close() }
            return try? handle.read(upToCount: 64 << 10)
        }
        guard let header, let size = try? ImageCodec.dimensions([UInt8](header)) else {
            throw CoordinatorError(.invalidUpload, "job \(job.id) saves confidence maps: upload the confidence map of \(imageId) "
                                   + "(\(width)x\(height)) before its label")
        }
        guard size == (width, height) else {
            throw CoordinatorError(.invalidUpload, "the confidence map of \(imageId) is \(size.0)x\(size.1), its label \(width)x\(height)")
        }
    }

    /// Which of `images` of `job` have a thumbnail. Blocking.
    func withThumbnailFlags(_ page: GalleryPage, job: String) -> GalleryPage {
        var page = page
        for index in page.images.indices where page.images[index].state == "done" {
            page.images[index].thumbnail = access(thumbnailPath(job: job, image: page.images[index].id), F_OK) == 0
        }
        return page
    }
}
