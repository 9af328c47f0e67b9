/// `GET /v1/jobs/{job}/gallery`: a page of a job's labeled (or failed) images for the dashboard's gallery, in image
/// id order, optionally only those whose label map contains a class. Pages are keyset-paged (`after=` the last id),
/// so the millionth image reads as fast as the first.
public struct GalleryPage: Codable, Sendable, Equatable {
    public struct Image: Codable, Sendable, Equatable {
        public var id: String
        /// `done` or `failed`.
        public var state: String
        /// The source image's size (labeled images).
        public var width: Int?
        public var height: Int?
        /// The classes in its label map, most pixels first (255 is void).
        public var classes: [ClassPixels]
        /// Why it failed (failed images).
        public var error: String?
        /// Whether its worker uploaded a thumbnail (`GET /v1/jobs/{job}/thumbnails/{image}`).
        public var thumbnail: Bool

        public init(id: String, state: String, width: Int?, height: Int?, classes: [ClassPixels], error: String?, thumbnail: Bool) {
            (self.id, self.state, self.width, self.height, self.classes, self.error, self.thumbnail) =
                (id, state, width, height, classes, error, thumbnail)
        }
    }

    public var images: [Image]
    /// Pass as `after=` for the next page; nil on the last page.
    public var next: String?
    /// How many images match the filter.
    public var total: Int

    public init(images: [Image], next: String?, total: Int) { (self.images, self.next, self.total) = (images, next, total) }
}

/// Pixels of one class in a label map, or summed over a job's label maps.
public struct ClassPixels: Codable, Sendable, Hashable {
    /// The class index; 255 is void.
    public var `class`: Int
    public var pixels: Int64
    /// Label maps that contain the class (job sums only).
    public var images: Int?

    public init(class index: Int, pixels: Int64, images: Int? = nil) { (self.class, self.pixels, self.images) = (index, pixels, images) }

    /// The pixels of each value in `indices` (a label map's), most first.
    public static func count(_ indices: [UInt8]) -> [ClassPixels] {
        var counts = [Int64](repeating: 0, count: 256)
        indices.withUnsafeBufferPointer { for value in $0 { counts[Int(value)] += 1 } }
        return counts.enumerated().filter { $0.element > 0 }.map { ClassPixels(class: $0.offset, pixels: $0.element) }
            .sorted { ($0.pixels, -$0.class) > ($1.pixels, -$1.class) }
    }
}
