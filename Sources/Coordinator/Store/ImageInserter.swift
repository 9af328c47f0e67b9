import GRDB
import LabelAPI

/// Inserts a preparing job's images in manifest order, one batch of lines at a time; each batch starts where the
/// last one stopped, from what the job's row and its tasks say (`init`), and records where it stopped (`save`).
/// Accepted images fill tasks of `shardSize`, claimable at once when the job's embeddings are ready; a rejected
/// line is failed from the start and hangs on the job's first task (images need one), which never touches it. A
/// repeated id is caught by the unique index and rejected as a duplicate.
struct ImageInserter {
    let db: Database
    let store: Store
    let jobId: String
    let shard: Int
    let at: Double
    /// Tasks made now are claimable at `at` when the job has embeddings; else `setEmbeddings` opens them.
    let availableAt: Double?
    private(set) var count: Int, rejected: Int, tasks: Int
    private let countBefore: Int, rejectedBefore: Int
    private var firstTask: Int64?
    private var currentTask: Int64?
    private var inCurrentTask = 0

    var accepted: Int { count - rejected }

    init(db: Database, store: Store, job: JobRecord, at: Double) throws {
        (self.db, self.store, jobId, shard, self.at) = (db, store, job.id, job.options.shardSize, at)
        availableAt = job.embeddingsSHA256 == nil ? nil : at
        (count, rejected, tasks) = (job.imageCount, job.preparedRejected, job.taskCount)
        (countBefore, rejectedBefore) = (count, rejected)
        // The first task holds the rejected lines; the last one is filled further. (A retry's task may be the
        // last: it then takes manifest images beside the retried ones, which changes nothing for either.)
        // One aggregate a query: SQLite answers a lone MIN or MAX with one seek, both together with a scan.
        firstTask = try db.value(Int64.self, "SELECT MIN(id) FROM tasks INDEXED BY tasks_by_job WHERE job_id = ?", [jobId])
        currentTask = try db.value(Int64.self, "SELECT MAX(id) FROM tasks INDEXED BY tasks_by_job WHERE job_id = ?", [jobId])
        if let currentTask {
            inCurrentTask = try db.value(Int.self, "SELECT image_count FROM tasks WHERE id = ?", [currentTask]) ?? 0
        }
    }

    /// Why a job with nothing but rejected lines cannot run: its first rejection.
    var noUsableImages: String {
        let first = try? db.value(String.self, """
            SELECT error FROM images WHERE job_id = ? AND rejected = 1 ORDER BY seq LIMIT 1
            """, [jobId])
        return "the job has no usable images" + ((first ?? nil).map { " (the first: \($0))" } ?? "")
    }

    mutating func insert(_ original: ManifestItem) throws {
        var item = original
        if item.rejection == nil {
            if let problem = ImageID.problem(item.id) {
                throw StoreError.invalid("manifest line \(item.line): id \(MessageText.clipped(item.id).debugDescription) \(problem)")
            }
            if item.uri.isEmpty { throw StoreError.invalid("manifest line \(item.line): uri is empty") }
            if currentTask == nil || inCurrentTask >= shard { try openTask() }
            if try add(item, task: currentTask!, state: .pending, error: nil) {
                inCurrentTask += 1
                return
            }
            guard let first = try db.value(Int.self, "SELECT line FROM images WHERE job_id = ? AND id = ?", [jobId, item.id]) else {
                throw StoreError(.io, "image \(item.id) of line \(item.line) was refused and is not there")
            }
            item.reject(duplicateOf: first)
        }
        if firstTask == nil { try openTask() }
        while try !add(item, task: firstTask!, state: .failed, error: item.rejection) {
            item.id += "#"  // a rejected line's own id that another rejected line already has
        }
        rejected += 1
        try store.appendEvent(db, at: at, kind: .imageFailed, job: jobId, image: item.id, reason: item.rejection)
    }

    /// Inserts one image row, pending or (a rejected line) failed; false when its id is taken.
    private mutating func add(_ item: ManifestItem, task: Int64, state: ImageState, error: String?) throws -> Bool {
        let rejected = state == .failed
        try db.run("""
            INSERT INTO images (job_id, seq, id, uri, line, task_id, state, finished, error, updated_at, rejected)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job_id, id) DO NOTHING
            """, [jobId, count, item.id, item.uri, item.line, task, state.rawValue, rejected, error, at, rejected])
        guard db.changesCount == 1 else { return false }
        count += 1
        return true
    }

    private mutating func openTask() throws {
        try closeTask()
        currentTask = try store.insertTask(db, job: jobId, imageCount: 0, availableAt: availableAt, at: at)
        firstTask = firstTask ?? currentTask
        inCurrentTask = 0
        tasks += 1
    }

    private func closeTask() throws {
        if let currentTask { try db.run("UPDATE tasks SET image_count = ? WHERE id = ?", [inCurrentTask, currentTask]) }
    }

    /// Records the batch: the counts, the last task's size, and how far into the manifest the job is read.
    func save(bytes: Int64, lines: Int) throws {
        try closeTask()
        try db.run("""
            UPDATE jobs SET image_count = ?, task_count = ?, prepared_bytes = ?, prepared_lines = ?, prepared_rejected = ?
            WHERE id = ?
            """, [count, tasks, bytes, lines, rejected, jobId])
        // Accepted images are pending (unfinished), rejected lines failed; the trigger on images keeps it from here.
        let (newAccepted, newRejected) = (accepted - (countBefore - rejectedBefore), rejected - rejectedBefore)
        try db.run("UPDATE job_image_counts SET unfinished = unfinished + ?, failed = failed + ? WHERE job_id = ?",
                   [newAccepted, newRejected, jobId])
    }
}
