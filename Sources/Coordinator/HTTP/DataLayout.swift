/// Where the coordinator keeps things in its data directory, as paths relative to it (the database stores these):
/// every one is made here. docs/STORAGE.md ("The coordinator's data directory") describes the same layout.
public enum DataLayout {
    /// The SQLite database (with its -wal and -shm beside it).
    public static let database = "labelmill.sqlite"
    /// Manifests being uploaded (`PUT /v1/manifests`), until a job takes one or the janitor removes it.
    public static let uploads = "uploads"
    /// Manifests of jobs, kept for each job's life: its tasks name their lines.
    public static let manifests = "manifests"

    public static func upload(_ id: String) -> String { "\(uploads)/\(id).manifest" }
    public static func manifest(job: String) -> String { "\(manifests)/\(job).manifest" }
    /// A model's file, by content.
    public static func blob(_ sha256: String) -> String { "blobs/\(sha256.prefix(2))/\(sha256)" }
    /// Jobs' class embeddings, by content.
    public static let embeddingsFolder = "embeddings"
    public static func embeddings(_ sha256: String) -> String { "\(embeddingsFolder)/\(sha256).safetensors" }

    /// A job's label maps (named by content: a different label for the image is another file), thumbnails,
    /// confidence maps and output shards, each in a folder of the job's.
    public static func labels(job: String) -> String { "labels/\(job)" }
    public static func label(job: String, image: String, sha256: String) -> String { "\(labels(job: job))/\(image).\(sha256.prefix(16)).png" }
    public static func thumbnails(job: String) -> String { "thumbnails/\(job)" }
    public static func thumbnail(job: String, image: String) -> String { "\(thumbnails(job: job))/\(image).jpg" }
    public static func confidenceMaps(job: String) -> String { "confidence/\(job)" }
    public static func confidence(job: String, image: String) -> String { "\(confidenceMaps(job: job))/\(image).png" }
    public static func outputShard(job: String, name: String) -> String { "shards/\(job)/\(name)" }
}
