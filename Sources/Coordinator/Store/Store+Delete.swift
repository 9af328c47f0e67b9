import Foundation
import GRDB
import LabelAPI

/// Deleting a finished job with everything the store keeps of it.
extension Store {
    /// What a deletion removed, for the caller to remove the files too.
    public struct DeletedJob: Sendable, Equatable {
        public var images: Int
        /// Label maps, relative to the data directory (none for a job with an output: its labels stay there).
        public var labelFiles: [String]
        /// The digest of the job's class embeddings, when no other job uses the same file.
        public var embeddingsSHA256: String?
        /// The manifest its tasks read, as stored (relative to the data directory).
        public var manifest: String?
    }

    public func deleteJob(_ id: String) throws(StoreError) -> DeletedJob {
        try write("deleting job \(id)") { db in try deleteJob(db, id) }
    }

    /// Deletes a done, failed or cancelled job: its images, labels, tasks, attempts, failure reports and ledger,
    /// then the job, leaving a tombstone in `deleted_jobs`. An active job is a `conflict` (cancel it first).
    public func deleteJob(_ db: Database, _ id: String) throws -> DeletedJob {
        guard let job = try job(db, id) else { throw StoreError.notFound("job \(id) does not exist") }
        guard job.state.isFinished else {
            throw StoreError.conflict("job \(id) is \(job.state.rawValue): cancel it before deleting it")
        }
        let labels = job.options.output != nil ? []
            : try String.fetchAll(db.cachedStatement(sql: "SELECT relative_path FROM labels WHERE job_id = ?"), arguments: [id])
        try db.run("INSERT INTO deleted_jobs (id, deleted_at) VALUES (?, ?)", [id, timestamp()])
        for table in ["labels", "label_classes", "job_class_pixels", "images", "attempts", "job_failures", "events", "tasks", "job_minutes",
                      "job_workers", "job_image_counts", "job_task_counts", "label_studio_images"] {
            try db.run("DELETE FROM \(table) WHERE job_id = ?", [id])
        }
        try db.run("DELETE FROM jobs WHERE id = ?", [id])
        var embeddings: String?
        if let sha = job.embeddingsSHA256,
           try db.value(Bool.self, "SELECT EXISTS (SELECT 1 FROM jobs WHERE embeddings_sha256 = ?)", [sha]) == false {
            embeddings = sha
        }
        logger.info("job.deleted", metadata: ["job.id": "\(id)", "images.count": "\(job.imageCount)"])
        return DeletedJob(images: job.imageCount, labelFiles: labels, embeddingsSHA256: embeddings, manifest: job.manifestPath)
    }

    /// Every registered model name with its model, by name.
    public func models(_ db: Database) throws -> [ModelRecord] {
        try db.all("SELECT name, model_id FROM model_names ORDER BY name").compactMap { row in
            try Self.model(db, id: row["model_id"], name: row["name"])
        }
    }
}
