import GRDB
import LabelAPI

/// Inserts a preparing job's images in manifest order, one batch of lines at a time; each batch starts where the
/// last one stopped, from what the job's row and its tasks say (`init`), and records where it stopped (`save`).
/// Accepted images fill tasks of `shardSize`, claimable at once when the job's embeddings are ready; a rejected
/// line is failed from the start and hangs on the job's first task (images need one), which never touches it.
///
/// Read from a manifest (`cursor`), a task names its lines and its images get rows only when it is first leased
/// (`Store.claim`): until then an image costs the job nothing but its share of a task row. A refused line gets
/// its row at once (it is failed), its `seq` its line. The cursor's ids tell a repeated one. Without a cursor
/// (`createJob`), every image gets its row now and the unique index tells a repeated id.
struct ImageInserter {
    let db: Database
    let store: Store
    let jobId: String
    let shard: Int
    let at: Double
    /// Tasks made now are claimable at `at` when the job has embeddings; else `setEmbeddings` opens them.
    let availableAt: Double?
    let cursor: ManifestCursor?
    /// A WebDataset job: each accepted line is a shard, one task of no images yet (its worker declares them, and
    /// adds them to the job's count: a batch adds its rejected lines to it, never sets it).
    let tarShards: Bool
    private var acceptedShards = 0
    private(set) var count: Int, rejected: Int, tasks: Int
    private let countBefore: Int, rejectedBefore: Int
    private var firstTask: Int64?
    private var currentTask: Int64?
    private var inCurrentTask = 0
    /// Where the current task's lines end, when it names lines.
    private var currentEnd: (offset: Int64, line: Int)?
    /// Where the current task's lines start while it is not written yet.
    private var unwritten: (offset: Int64, line: Int)?

    private var namesLines: Bool { cursor?.namesLines == true }

    var accepted: Int { tarShards ? acceptedShards : count - rejected }

    init(db: Database, store: Store, job: JobRecord, at: Double, cursor: ManifestCursor? = nil) throws {
        (self.db, self.store, jobId, self.at, self.cursor) = (db, store, job.id, at, cursor)
        tarShards = job.options.tarShards
        shard = tarShards ? 1 : job.options.shardSize
        // A shard job's tasks: one a shard, and one for its rejected lines if it has any.
        acceptedShards = job.taskCount - (tarShards && job.preparedRejected > 0 ? 1 : 0)
        availableAt = job.embeddingsSHA256 == nil ? nil : at
        (count, rejected, tasks) = (job.imageCount, job.preparedRejected, job.taskCount)
        (countBefore, rejectedBefore) = (count, rejected)
        // The first task holds the rejected lines; the last one is filled further. (A retry's task may be the
        // last: it then takes manifest images beside the retried ones, which changes nothing for either.)
        // One aggregate a query: SQLite answers a lone MIN or MAX with one seek, both together with a scan.
        firstTask = try db.value(Int64.self, "SELECT MIN(id) FROM tasks INDEXED BY tasks_by_job WHERE job_id = ?", [jobId])
        currentTask = try db.value(Int64.self, "SELECT MAX(id) FROM tasks INDEXED BY tasks_by_job WHERE job_id = ?", [jobId])
        guard let task = currentTask, let row = try db.one("""
            SELECT image_count, state, manifest_offset, manifest_end, manifest_last_line FROM tasks WHERE id = ?
            """, [task]) else { return }
        inCurrentTask = tarShards ? shard : row["image_count"]  // a shard's task is full with its one line
        guard namesLines else { return }
        // A task that names lines takes more of them only while no worker has read them (its first lease does).
        if row["manifest_offset"] as Int64? != nil, row["state"] as String == TaskState.queued.rawValue {
            currentEnd = (row["manifest_end"], row["manifest_last_line"])
        } else {
            currentTask = nil
        }
    }

    /// Why a job with nothing but rejected lines cannot run: its first rejection.
    var noUsableImages: String {
        let first = try? db.value(String.self, """
            SELECT error FROM images WHERE job_id = ? AND rejected = 1 ORDER BY seq LIMIT 1
            """, [jobId])
        return "the job has no usable images" + ((first ?? nil).map { " (the first: \($0))" } ?? "")
    }

    /// Takes one line read by the cursor: an accepted image joins the current task's lines, a refused one gets
    /// its failed row.
    mutating func insert(_ entry: ManifestEntry) throws {
        guard let cursor, cursor.namesLines else { return try insert(entry.item) }
        var item = entry.item
        if let first = try cursor.remember(item) { item.reject(duplicateOf: first) }
        if item.rejection == nil {
            try Self.validate(item)
            if (currentTask == nil && unwritten == nil) || inCurrentTask >= shard { try openTask(from: entry) }
            inCurrentTask += 1
            currentEnd = (entry.end, item.line)
            if tarShards { acceptedShards += 1 } else { count += 1 }
            return
        }
        if firstTask == nil {
            if tarShards {
                try openHolder()
            } else {
                if currentTask == nil && unwritten == nil { try openTask(from: entry) }
                try writeTask()  // the rejected row needs a task to hang on
            }
        }
        try addRejected(item, seq: item.line)
    }

    /// An accepted item's id and URI are what the manifest reader let through; checked again all the same.
    private static func validate(_ item: ManifestItem) throws {
        if let problem = ImageID.problem(item.id) {
            throw StoreError.invalid("manifest line \(item.line): id \(MessageText.clipped(item.id).debugDescription) \(problem)")
        }
        if item.uri.isEmpty { throw StoreError.invalid("manifest line \(item.line): uri is empty") }
    }

    mutating func insert(_ original: ManifestItem) throws {
        var item = original
        if item.rejection == nil {
            try Self.validate(item)
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
        try addRejected(item, seq: count)
    }

    /// A refused line's failed row, on the job's first task.
    private mutating func addRejected(_ original: ManifestItem, seq: Int) throws {
        var item = original
        if try !add(item, seq: seq, task: firstTask!, state: .failed, error: item.rejection) {
            // Its own id is another refused line's: it takes `#<line>` (as a repeated id does), never a made-up `x#`.
            item.id = "#\(item.line)"
            while try !add(item, seq: seq, task: firstTask!, state: .failed, error: item.rejection) { item.id += "#" }
        }
        rejected += 1
        try store.appendEvent(db, at: at, kind: .imageFailed, job: jobId, image: item.id, reason: item.rejection)
    }

    /// Inserts one image row, pending or (a rejected line) failed; false when its id is taken.
    private mutating func add(_ item: ManifestItem, seq: Int? = nil, task: Int64, state: ImageState, error: String?) throws -> Bool {
        let rejected = state == .failed
        try db.run("""
            INSERT INTO images (job_id, seq, id, uri, line, task_id, state, finished, error, updated_at, rejected)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job_id, id) DO NOTHING
            """, [jobId, seq ?? count, item.id, item.uri, item.line, task, state.rawValue, rejected, error, at, rejected])
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

    /// A WebDataset job's task for rejected lines: it names no shard, so it is done from the start.
    private mutating func openHolder() throws {
        let holder = try store.insertTask(db, job: jobId, imageCount: 0, availableAt: availableAt, at: at)
        try db.run("UPDATE tasks SET state = \(TaskState.done.sql) WHERE id = ?", [holder])
        firstTask = holder
        tasks += 1
    }

    /// A task that names the lines from `entry` on (more are added as they are read); written when it is full, at
    /// the end of the batch, or when a rejected line needs a task to hang on (`writeTask`).
    private mutating func openTask(from entry: ManifestEntry) throws {
        try closeTask()
        currentTask = nil
        unwritten = (entry.start, entry.startLine)
        currentEnd = (entry.start, entry.startLine)
        inCurrentTask = 0
        tasks += 1
    }

    /// A shard's task has no images until its worker declares them.
    private var imagesInCurrentTask: Int { tarShards ? 0 : inCurrentTask }

    /// Inserts the task being filled, as far as it is filled.
    private mutating func writeTask() throws {
        guard let start = unwritten, let end = currentEnd else { return }
        currentTask = try store.insertTask(db, job: jobId, imageCount: imagesInCurrentTask, availableAt: availableAt, at: at,
                                           lines: ManifestLines(offset: start.offset, line: start.line, end: end.offset, lastLine: end.line))
        firstTask = firstTask ?? currentTask
        unwritten = nil
    }

    private mutating func closeTask() throws {
        if unwritten != nil { return try writeTask() }
        guard let currentTask else { return }
        if let currentEnd {
            try db.run("UPDATE tasks SET image_count = ?, manifest_end = ?, manifest_last_line = ? WHERE id = ?",
                       [imagesInCurrentTask, currentEnd.offset, currentEnd.line, currentTask])
        } else {
            try db.run("UPDATE tasks SET image_count = ? WHERE id = ?", [imagesInCurrentTask, currentTask])
        }
    }

    /// Records the batch: the counts, the last task's size, and how far into the manifest the job is read.
    mutating func save(bytes: Int64, lines: Int) throws {
        try closeTask()
        try db.run("""
            UPDATE jobs SET image_count = \(tarShards ? "image_count + ?" : "?"), task_count = ?, prepared_bytes = ?,
                            prepared_lines = ?, prepared_rejected = ?
            WHERE id = ?
            """, [tarShards ? count - countBefore : count, tasks, bytes, lines, rejected, jobId])
        // Accepted images are pending (unfinished), rejected lines failed; the trigger on images keeps it from here.
        let (newAccepted, newRejected) = (tarShards ? 0 : accepted - (countBefore - rejectedBefore), rejected - rejectedBefore)
        try db.run("UPDATE job_image_counts SET unfinished = unfinished + ?, failed = failed + ? WHERE job_id = ?",
                   [newAccepted, newRejected, jobId])
    }
}
