import GRDB
import LabelAPI

/// The dashboard's gallery and class shares: read from the class counts recorded with each label.
extension Store {
    /// Which of a job's images a gallery page shows.
    public enum GalleryFilter: Sendable, Equatable {
        /// Labeled images, or only those whose label map contains the class.
        case labeled(class: Int?)
        case failed
    }

    /// Up to `limit` images in id order after `after`, and how many match. Each page is one index range: the
    /// labels by id, a class's rows of `label_classes`, or `images_failed_by_id`.
    public func gallery(_ db: Database, job: String, filter: GalleryFilter, after: String?, limit: Int) throws -> GalleryPage {
        let after = after ?? ""
        var images: [GalleryPage.Image]
        let total: Int
        switch filter {
        case .labeled(nil):
            images = try db.all("""
                SELECT image_id, width, height, classes FROM labels WHERE job_id = ? AND image_id > ? ORDER BY image_id LIMIT ?
                """, [job, after, limit + 1]).map(Self.labeledImage)
            total = try db.value(Int.self, "SELECT done FROM job_image_counts WHERE job_id = ?", [job]) ?? 0
        case .labeled(let index?):
            images = try db.all("""
                SELECT l.image_id, l.width, l.height, l.classes FROM label_classes AS c
                JOIN labels AS l ON l.job_id = c.job_id AND l.image_id = c.image_id
                WHERE c.job_id = ? AND c.class_index = ? AND c.image_id > ? ORDER BY c.image_id LIMIT ?
                """, [job, index, after, limit + 1]).map(Self.labeledImage)
            total = try db.value(Int.self, "SELECT images FROM job_class_pixels WHERE job_id = ? AND class_index = ?", [job, index]) ?? 0
        case .failed:
            images = try db.all("""
                SELECT id, error FROM images INDEXED BY images_failed_by_id WHERE job_id = ? AND state = \(ImageState.failed.sql) AND id > ?
                ORDER BY id LIMIT ?
                """, [job, after, limit + 1]).map { row in
                GalleryPage.Image(id: row["id"], state: "failed", width: nil, height: nil, classes: [], error: row["error"], thumbnail: false)
            }
            total = try db.value(Int.self, "SELECT failed FROM job_image_counts WHERE job_id = ?", [job]) ?? 0
        }
        let next = images.count > limit ? images[limit - 1].id : nil
        images = Array(images.prefix(limit))
        return GalleryPage(images: images, next: next, total: total)
    }

    private static func labeledImage(_ row: Row) -> GalleryPage.Image {
        GalleryPage.Image(id: row["image_id"], state: "done", width: row["width"], height: row["height"],
                          classes: LabelFile.decode(row["classes"]), error: nil, thumbnail: false)
    }

    /// Pixels per class over the job's counted label maps, most first, and how many label maps are counted.
    public func classPixels(_ db: Database, job: String) throws -> (classes: [ClassPixels], counted: Int) {
        let classes = try db.all("""
            SELECT class_index, pixels, images FROM job_class_pixels WHERE job_id = ? AND images > 0 ORDER BY pixels DESC, class_index
            """, [job]).map { ClassPixels(class: $0["class_index"], pixels: $0["pixels"], images: $0["images"]) }
        return (classes, try db.value(Int.self, "SELECT counted FROM job_image_counts WHERE job_id = ?", [job]) ?? 0)
    }
}
