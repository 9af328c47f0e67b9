import GRDB
import LabelAPI

/// The schema's history: append-only named migrations. Never edit a registered migration; add "v2", "v3", ...
/// and update schema.sql to what they all add up to (a test compares the two).
package enum Migrations {
    package static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: v1)
        }
        migrator.registerMigration("v2") { db in
            try db.execute(sql: v2)
        }
        migrator.registerMigration("v3") { db in
            try db.execute(sql: v3)
        }
        migrator.registerMigration("v4") { db in
            try db.execute(sql: v4)
            try db.execute(sql: countFinishedImagesFromTheLedger)
        }
        migrator.registerMigration("v5") { db in
            try db.execute(sql: v5)
            try db.execute(sql: countImagesSoFar)
        }
        migrator.registerMigration("v6") { db in
            try db.execute(sql: v6)
        }
        migrator.registerMigration("v7") { db in
            try db.execute(sql: v7)
        }
        migrator.registerMigration("v8") { db in
            try db.execute(sql: v8)
            try db.execute(sql: countTasksSoFar)
        }
        migrator.registerMigration("v9") { db in try db.execute(sql: v9) }
        migrator.registerMigration("v10") { db in try db.execute(sql: v10) }
        migrator.registerMigration("v11") { db in try db.execute(sql: v11) }
        migrator.registerMigration("v12") { db in try db.execute(sql: v12) }
        return migrator
    }

    /// Jobs, tasks, images, attempts, the event ledger, workers, models, blobs and labels.
    static let v1 = """
        -- Content-addressed files (model weights, embeddings, ...); the HTTP layer writes the files.
        CREATE TABLE blobs (
            sha256        TEXT PRIMARY KEY NOT NULL CHECK (length(sha256) = 64),
            size          INTEGER NOT NULL CHECK (size >= 0),
            relative_path TEXT NOT NULL,
            created_at    REAL NOT NULL
        ) WITHOUT ROWID;

        -- A model is its set of files; its id is the sha256 of the canonical JSON of the sorted file list.
        CREATE TABLE models (
            id         TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 64),
            name       TEXT NOT NULL,  -- the name it was last registered under
            created_at REAL NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE model_files (
            model_id TEXT NOT NULL REFERENCES models (id),
            name     TEXT NOT NULL,
            sha256   TEXT NOT NULL REFERENCES blobs (sha256),
            size     INTEGER NOT NULL CHECK (size >= 0),
            PRIMARY KEY (model_id, name)
        ) WITHOUT ROWID;

        -- Names move to newer content; old ids stay addressable through models.
        CREATE TABLE model_names (
            name       TEXT PRIMARY KEY NOT NULL,
            model_id   TEXT NOT NULL REFERENCES models (id),
            updated_at REAL NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE workers (
            id            TEXT PRIMARY KEY NOT NULL,
            first_seen_at REAL NOT NULL,
            last_seen_at  REAL NOT NULL,
            last_job_id   TEXT,  -- the job it last claimed or reported on (progress: active workers)
            lease_count   INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;

        CREATE TABLE jobs (
            id                TEXT PRIMARY KEY NOT NULL,
            name              TEXT,
            model_id          TEXT NOT NULL REFERENCES models (id),
            classes           TEXT NOT NULL,  -- JSON array of class names
            options           TEXT NOT NULL,  -- JSON JobSettings (LabelAPI)
            max_attempts      INTEGER NOT NULL CHECK (max_attempts >= 1),  -- copied from options for SQL
            lease_seconds     REAL NOT NULL CHECK (lease_seconds > 0),     -- copied from options for SQL
            state             TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'cancelled')),
            idempotency_key   TEXT UNIQUE,
            request_sha256    TEXT NOT NULL,  -- digest of the request, to tell a replay from a reused key
            embeddings_sha256 TEXT,           -- tasks are claimable only once this is set
            image_count       INTEGER NOT NULL,
            task_count        INTEGER NOT NULL,
            cancel_reason     TEXT,
            created_at        REAL NOT NULL,
            started_at        REAL,
            finished_at       REAL
        );

        -- A shard of consecutive images of one job, leased to one worker at a time.
        CREATE TABLE tasks (
            id               INTEGER PRIMARY KEY,  -- claim order: oldest first
            job_id           TEXT NOT NULL REFERENCES jobs (id),
            state            TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'leased', 'done', 'failed', 'cancelled')),
            available_at     REAL,                 -- NULL while its job waits for embeddings
            attempts         INTEGER NOT NULL DEFAULT 0,  -- leases counted against jobs.max_attempts
            lease_count      INTEGER NOT NULL DEFAULT 0,  -- every lease, released ones too; numbers the attempts rows
            expiries         INTEGER NOT NULL DEFAULT 0,
            lease_token      TEXT,
            lease_expires_at REAL,
            worker_id        TEXT REFERENCES workers (id) DEFERRABLE INITIALLY DEFERRED,  -- current or last holder
            image_count      INTEGER NOT NULL,
            error            TEXT,
            created_at       REAL NOT NULL,
            updated_at       REAL NOT NULL,
            CHECK (state <> 'leased' OR (lease_token IS NOT NULL AND lease_expires_at IS NOT NULL AND worker_id IS NOT NULL))
        );
        -- claim: one range scan over exactly the claimable rows, in claim order
        CREATE INDEX tasks_claimable ON tasks (id) WHERE state = 'queued' AND available_at IS NOT NULL;
        -- sweepExpired: only the leases that have run out
        CREATE INDEX tasks_leased_by_expiry ON tasks (lease_expires_at) WHERE state = 'leased';
        CREATE INDEX tasks_by_job ON tasks (job_id);

        CREATE TABLE images (
            job_id     TEXT NOT NULL REFERENCES jobs (id),
            seq        INTEGER NOT NULL,  -- 0-based manifest order
            id         TEXT NOT NULL,     -- safe file name, unique in the job
            uri        TEXT NOT NULL,
            line       INTEGER NOT NULL,  -- manifest line
            task_id    INTEGER NOT NULL REFERENCES tasks (id),
            state      TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'failed')),
            attempts   INTEGER NOT NULL DEFAULT 0,  -- leases that included it
            finished   INTEGER NOT NULL DEFAULT 0,  -- state is done or failed; lets claims leave images_unfinished alone
            error      TEXT,
            updated_at REAL NOT NULL,     -- when state last changed
            PRIMARY KEY (job_id, seq),
            UNIQUE (job_id, id),
            CHECK (finished = (state IN ('done', 'failed')))
        ) WITHOUT ROWID;
        CREATE INDEX images_by_task ON images (task_id);
        -- "is the job done?" in one seek; claiming (pending -> running) does not touch it
        CREATE INDEX images_unfinished ON images (job_id) WHERE finished = 0;
        -- progress: done and failed counts, images done in the last minute, recent errors
        CREATE INDEX images_done ON images (job_id, updated_at) WHERE state = 'done';
        CREATE INDEX images_failed ON images (job_id, updated_at) WHERE state = 'failed';

        CREATE TABLE labels (
            job_id        TEXT NOT NULL,
            image_id      TEXT NOT NULL,
            sha256        TEXT NOT NULL CHECK (length(sha256) = 64),
            bytes         INTEGER NOT NULL CHECK (bytes >= 0),
            width         INTEGER NOT NULL CHECK (width > 0),
            height        INTEGER NOT NULL CHECK (height > 0),
            relative_path TEXT NOT NULL,
            created_at    REAL NOT NULL,
            PRIMARY KEY (job_id, image_id),
            FOREIGN KEY (job_id, image_id) REFERENCES images (job_id, id)
        ) WITHOUT ROWID;

        -- One row per lease.
        CREATE TABLE attempts (
            task_id    INTEGER NOT NULL REFERENCES tasks (id),
            number     INTEGER NOT NULL,  -- tasks.lease_count at the claim: 1, 2, ...
            job_id     TEXT NOT NULL REFERENCES jobs (id),
            worker_id  TEXT NOT NULL REFERENCES workers (id) DEFERRABLE INITIALLY DEFERRED,
            token      TEXT NOT NULL,
            started_at REAL NOT NULL,
            seen_at    REAL NOT NULL,     -- last claim, heartbeat or end
            ended_at   REAL,
            outcome    TEXT CHECK (outcome IN ('done', 'released', 'expired', 'cancelled')),
            PRIMARY KEY (task_id, number),
            CHECK ((ended_at IS NULL) = (outcome IS NULL))
        ) WITHOUT ROWID;

        -- The ledger: one row per state change of a job, task or image. Append-only.
        CREATE TABLE events (
            seq       INTEGER PRIMARY KEY,
            at        REAL NOT NULL,
            job_id    TEXT NOT NULL REFERENCES jobs (id),
            task_id   INTEGER REFERENCES tasks (id),
            image_id  TEXT,
            worker_id TEXT,
            kind      TEXT NOT NULL,
            reason    TEXT
        );
        CREATE INDEX events_by_job ON events (job_id, seq);
        CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
        CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
        """

    /// Jobs that fail as a whole: a `failed` state with its reason, the reports of workers that could not prepare a
    /// job (each an attempt with the outcome `failed`), images rejected at submit marked as such (a retry leaves
    /// them alone), and each worker's stable name (for per-worker metrics). SQLite cannot change a CHECK, so jobs
    /// and attempts are rebuilt (https://www.sqlite.org/lang_altertable.html#otheralter; GRDB runs migrations with
    /// foreign keys off and checks them before the commit).
    static let v2 = """
        CREATE TABLE new_jobs (
            id                TEXT PRIMARY KEY NOT NULL,
            name              TEXT,
            model_id          TEXT NOT NULL REFERENCES models (id),
            classes           TEXT NOT NULL,  -- JSON array of class names
            options           TEXT NOT NULL,  -- JSON JobSettings (LabelAPI)
            max_attempts      INTEGER NOT NULL CHECK (max_attempts >= 1),  -- copied from options for SQL
            lease_seconds     REAL NOT NULL CHECK (lease_seconds > 0),     -- copied from options for SQL
            state             TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
            idempotency_key   TEXT UNIQUE,
            request_sha256    TEXT NOT NULL,  -- digest of the request, to tell a replay from a reused key
            embeddings_sha256 TEXT,           -- tasks are claimable only once this is set
            image_count       INTEGER NOT NULL,
            task_count        INTEGER NOT NULL,
            cancel_reason     TEXT,
            failure           TEXT,           -- why the job failed as a whole (state 'failed')
            created_at        REAL NOT NULL,
            started_at        REAL,
            finished_at       REAL
        );
        INSERT INTO new_jobs (id, name, model_id, classes, options, max_attempts, lease_seconds, state, idempotency_key,
                              request_sha256, embeddings_sha256, image_count, task_count, cancel_reason, created_at,
                              started_at, finished_at)
        SELECT id, name, model_id, classes, options, max_attempts, lease_seconds, state, idempotency_key, request_sha256,
               embeddings_sha256, image_count, task_count, cancel_reason, created_at, started_at, finished_at
        FROM jobs;
        DROP TABLE jobs;
        ALTER TABLE new_jobs RENAME TO jobs;

        CREATE TABLE new_attempts (
            task_id    INTEGER NOT NULL REFERENCES tasks (id),
            number     INTEGER NOT NULL,  -- tasks.lease_count at the claim: 1, 2, ...
            job_id     TEXT NOT NULL REFERENCES jobs (id),
            worker_id  TEXT NOT NULL REFERENCES workers (id) DEFERRABLE INITIALLY DEFERRED,
            token      TEXT NOT NULL,
            started_at REAL NOT NULL,
            seen_at    REAL NOT NULL,     -- last claim, heartbeat or end
            ended_at   REAL,
            outcome    TEXT CHECK (outcome IN ('done', 'released', 'expired', 'failed', 'cancelled')),
            PRIMARY KEY (task_id, number),
            CHECK ((ended_at IS NULL) = (outcome IS NULL))
        ) WITHOUT ROWID;
        INSERT INTO new_attempts SELECT * FROM attempts;
        DROP TABLE attempts;
        ALTER TABLE new_attempts RENAME TO attempts;

        ALTER TABLE images ADD COLUMN rejected INTEGER NOT NULL DEFAULT 0 CHECK (rejected IN (0, 1));  -- its manifest line was refused
        UPDATE images SET rejected = 1 WHERE state = 'failed' AND attempts = 0;

        ALTER TABLE workers ADD COLUMN name TEXT;  -- as given by the worker (--name), shared by its restarts

        -- A worker (or the coordinator) could not prepare a job: its model would not load or verify, a blob is missing,
        -- the embeddings are corrupt. Each report counts as an attempt of its task; enough of them since the job last
        -- labeled an image fail the job.
        CREATE TABLE job_failures (
            seq       INTEGER PRIMARY KEY,
            job_id    TEXT NOT NULL REFERENCES jobs (id),
            at        REAL NOT NULL,
            task_id   INTEGER REFERENCES tasks (id),
            worker_id TEXT,               -- NULL: the coordinator itself
            reason    TEXT NOT NULL,
            counted   INTEGER NOT NULL DEFAULT 1 CHECK (counted IN (0, 1))  -- 0 once a retry of the job started afresh
        );
        CREATE INDEX job_failures_by_job ON job_failures (job_id, at);
        """

    /// Jobs can be deleted with their data: a tombstone names each deleted job, and the ledger of a job with a
    /// tombstone may go (the ledger stays append-only for every other job).
    static let v3 = """
        -- Deleted jobs: their rows are gone, this records that they were.
        CREATE TABLE deleted_jobs (
            id         TEXT PRIMARY KEY NOT NULL,
            deleted_at REAL NOT NULL
        ) WITHOUT ROWID;
        DROP TRIGGER events_no_delete;
        CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        WHEN NOT EXISTS (SELECT 1 FROM deleted_jobs WHERE id = OLD.job_id)
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
        """

    /// The dashboard: finished images per minute and per worker (kept by a trigger on the ledger), and sign-in
    /// sessions.
    static let v4 = """
        -- Running counts of finished images per job: per minute (the dashboard's throughput chart) and per worker
        -- (its workers table). Kept by a trigger on the ledger, so every path that finishes an image counts.
        CREATE TABLE job_minutes (
            job_id TEXT NOT NULL REFERENCES jobs (id),
            minute INTEGER NOT NULL,  -- seconds since 1970 / 60
            done   INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (job_id, minute)
        ) WITHOUT ROWID;

        CREATE TABLE job_workers (
            job_id       TEXT NOT NULL REFERENCES jobs (id),
            worker_id    TEXT NOT NULL,
            done         INTEGER NOT NULL DEFAULT 0,
            failed       INTEGER NOT NULL DEFAULT 0,
            last_at      REAL NOT NULL,
            window_at    REAL NOT NULL,             -- start of the current rate window
            window_done  INTEGER NOT NULL DEFAULT 0,
            rate         REAL NOT NULL DEFAULT 0,   -- images/s over the last full window (60 s or more)
            PRIMARY KEY (job_id, worker_id)
        ) WITHOUT ROWID;

        CREATE TRIGGER events_count_images AFTER INSERT ON events
        WHEN NEW.kind IN ('image.done', 'image.failed')
        BEGIN
            INSERT INTO job_minutes (job_id, minute, done, failed)
            VALUES (NEW.job_id, CAST(NEW.at / 60 AS INTEGER), NEW.kind = 'image.done', NEW.kind = 'image.failed')
            ON CONFLICT (job_id, minute) DO UPDATE SET done = done + excluded.done, failed = failed + excluded.failed;
            INSERT INTO job_workers (job_id, worker_id, done, failed, last_at, window_at, window_done)
            SELECT NEW.job_id, NEW.worker_id, NEW.kind = 'image.done', NEW.kind = 'image.failed', NEW.at, NEW.at,
                   NEW.kind = 'image.done'
            WHERE NEW.worker_id IS NOT NULL
            ON CONFLICT (job_id, worker_id) DO UPDATE SET
                done = done + excluded.done, failed = failed + excluded.failed,
                last_at = max(last_at, excluded.last_at),
                rate = CASE WHEN excluded.last_at - window_at >= 60
                            THEN (window_done + excluded.done) / (excluded.last_at - window_at) ELSE rate END,
                window_done = CASE WHEN excluded.last_at - window_at >= 60 THEN 0 ELSE window_done + excluded.done END,
                window_at = CASE WHEN excluded.last_at - window_at >= 60 THEN excluded.last_at ELSE window_at END;
        END;

        -- Dashboard sessions: the sha256 of the session id (the cookie holds the id itself), the token its
        -- state-changing requests must echo (X-CSRF-Token), and when it ends.
        CREATE TABLE ui_sessions (
            id_sha256  TEXT PRIMARY KEY NOT NULL CHECK (length(id_sha256) = 64),
            csrf_token TEXT NOT NULL,
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL
        ) WITHOUT ROWID;
        """

    /// Per-job image counts kept by triggers, and the indexes that find a job's running images and leased tasks.
    static let v5 = """
        -- Each job's image counts: written when the job is created, then kept by a trigger as images change
        -- state, so a job's status reads three numbers instead of counting its rows (a million-image job: about a
        -- second per count).
        CREATE TABLE job_image_counts (
            job_id     TEXT PRIMARY KEY NOT NULL REFERENCES jobs (id),
            unfinished INTEGER NOT NULL DEFAULT 0,  -- images with finished = 0 (pending, or running)
            done       INTEGER NOT NULL DEFAULT 0,
            failed     INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;

        CREATE TRIGGER images_count_changed AFTER UPDATE OF state, finished ON images
        WHEN OLD.finished IS NOT NEW.finished OR (OLD.state = 'done') IS NOT (NEW.state = 'done')
            OR (OLD.state = 'failed') IS NOT (NEW.state = 'failed')
        BEGIN
            UPDATE job_image_counts SET unfinished = unfinished + (NEW.finished = 0) - (OLD.finished = 0),
                done = done + (NEW.state = 'done') - (OLD.state = 'done'),
                failed = failed + (NEW.state = 'failed') - (OLD.state = 'failed')
            WHERE job_id = NEW.job_id;
        END;

        -- A job's running images and leased tasks, without walking all of its rows.
        CREATE INDEX images_running ON images (job_id) WHERE state = 'running';
        CREATE INDEX tasks_leased_by_job ON tasks (job_id, worker_id) WHERE state = 'leased';
        """

    /// The gallery and class shares: each label map's pixels per class, counted when its upload is validated,
    /// per label and summed per job; failed images in id order.
    static let v6 = """
        -- A label map's classes as "class:pixels,..." (most pixels first, 255 is void); NULL for a label recorded
        -- before the coordinator counted classes.
        ALTER TABLE labels ADD COLUMN classes TEXT;

        -- One row per class present in a label map: the gallery's "images containing class c", in image id order.
        CREATE TABLE label_classes (
            job_id      TEXT NOT NULL,
            class_index INTEGER NOT NULL CHECK (class_index BETWEEN 0 AND 255),
            image_id    TEXT NOT NULL,
            pixels      INTEGER NOT NULL CHECK (pixels > 0),
            PRIMARY KEY (job_id, class_index, image_id)
        ) WITHOUT ROWID;

        -- The same summed per job: a class's pixels over the job's label maps and how many contain it.
        CREATE TABLE job_class_pixels (
            job_id      TEXT NOT NULL REFERENCES jobs (id),
            class_index INTEGER NOT NULL CHECK (class_index BETWEEN 0 AND 255),
            pixels      INTEGER NOT NULL DEFAULT 0,
            images      INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (job_id, class_index)
        ) WITHOUT ROWID;

        -- Label maps whose classes are counted in job_class_pixels.
        ALTER TABLE job_image_counts ADD COLUMN counted INTEGER NOT NULL DEFAULT 0;

        -- The gallery's failed images, a page at a time in id order.
        CREATE INDEX images_failed_by_id ON images (job_id, id) WHERE state = 'failed';
        """

    /// Jobs are created at once and their manifests read in the background (state `preparing`): the job remembers
    /// which manifest it reads and how far it got, so a restart goes on from there.
    static let v7 = """
        CREATE TABLE new_jobs (
            id                TEXT PRIMARY KEY NOT NULL,
            name              TEXT,
            model_id          TEXT NOT NULL REFERENCES models (id),
            classes           TEXT NOT NULL,  -- JSON array of class names
            options           TEXT NOT NULL,  -- JSON JobSettings (LabelAPI)
            max_attempts      INTEGER NOT NULL CHECK (max_attempts >= 1),  -- copied from options for SQL
            lease_seconds     REAL NOT NULL CHECK (lease_seconds > 0),     -- copied from options for SQL
            state             TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('preparing', 'queued', 'running', 'done', 'failed', 'cancelled')),
            idempotency_key   TEXT UNIQUE,
            request_sha256    TEXT NOT NULL,  -- digest of the request, to tell a replay from a reused key
            embeddings_sha256 TEXT,           -- tasks are claimable only once this is set
            image_count       INTEGER NOT NULL,
            task_count        INTEGER NOT NULL,
            cancel_reason     TEXT,
            failure           TEXT,           -- why the job failed as a whole (state 'failed')
            created_at        REAL NOT NULL,
            started_at        REAL,
            finished_at       REAL,
            manifest_path     TEXT,           -- while preparing: the manifest being read, relative to the data directory
            manifest_bytes    INTEGER NOT NULL DEFAULT 0,  -- its size
            prepared_bytes    INTEGER NOT NULL DEFAULT 0,  -- the bytes of it read into images and tasks so far
            prepared_lines    INTEGER NOT NULL DEFAULT 0,  -- the lines of it read so far
            prepared_rejected INTEGER NOT NULL DEFAULT 0   -- the lines of it refused so far
        );
        INSERT INTO new_jobs (id, name, model_id, classes, options, max_attempts, lease_seconds, state, idempotency_key,
                              request_sha256, embeddings_sha256, image_count, task_count, cancel_reason, failure, created_at,
                              started_at, finished_at)
        SELECT id, name, model_id, classes, options, max_attempts, lease_seconds, state, idempotency_key, request_sha256,
               embeddings_sha256, image_count, task_count, cancel_reason, failure, created_at, started_at, finished_at
        FROM jobs;
        DROP TABLE jobs;
        ALTER TABLE new_jobs RENAME TO jobs;
        """

    /// A task read from a manifest names its lines instead of having image rows: the rows are made when it is first
    /// leased (`Store.claim`). Its manifest stays in the data directory for the job's life.
    /// A task of a WebDataset job (`JobSettings.tarShards`) is one shard: its URI, read from its manifest line at
    /// the first lease and kept for every later one (its samples are known only to the worker that reads it).
    /// A labeled image is no longer an event of its own: its lease counts it (`attempts.labeled`) and, when the lease
    /// ends, one `task.labeled` event says how many images it labeled (`events.images`). A million images then cost
    /// the ledger about one event per lease instead of a million. The running counts are fed from those events.
    static let v12 = """
        ALTER TABLE attempts ADD COLUMN labeled INTEGER NOT NULL DEFAULT 0;  -- images this lease labeled
        ALTER TABLE events ADD COLUMN images INTEGER;  -- task.labeled: how many images its lease labeled

        CREATE TRIGGER attempts_labeled AFTER UPDATE OF ended_at ON attempts
        WHEN OLD.ended_at IS NULL AND NEW.ended_at IS NOT NULL AND NEW.labeled > 0
        BEGIN
            INSERT INTO events (at, job_id, task_id, worker_id, kind, images)
            VALUES (NEW.ended_at, NEW.job_id, NEW.task_id, NEW.worker_id, 'task.labeled', NEW.labeled);
        END;

        DROP TRIGGER events_count_images;
        CREATE TRIGGER events_count_images AFTER INSERT ON events
        WHEN NEW.kind IN ('task.labeled', 'image.failed')
        BEGIN
            INSERT INTO job_minutes (job_id, minute, done, failed)
            VALUES (NEW.job_id, CAST(NEW.at / 60 AS INTEGER), COALESCE(NEW.images, 0), NEW.kind = 'image.failed')
            ON CONFLICT (job_id, minute) DO UPDATE SET done = done + excluded.done, failed = failed + excluded.failed;
            INSERT INTO job_workers (job_id, worker_id, done, failed, last_at, window_at, window_done)
            SELECT NEW.job_id, NEW.worker_id, COALESCE(NEW.images, 0), NEW.kind = 'image.failed', NEW.at, NEW.at,
                   COALESCE(NEW.images, 0)
            WHERE NEW.worker_id IS NOT NULL
            ON CONFLICT (job_id, worker_id) DO UPDATE SET
                done = done + excluded.done, failed = failed + excluded.failed,
                last_at = max(last_at, excluded.last_at),
                rate = CASE WHEN excluded.last_at - window_at >= 60
                            THEN (window_done + excluded.done) / (excluded.last_at - window_at) ELSE rate END,
                window_done = CASE WHEN excluded.last_at - window_at >= 60 THEN 0 ELSE window_done + excluded.done END,
                window_at = CASE WHEN excluded.last_at - window_at >= 60 THEN excluded.last_at ELSE window_at END;
        END;
        """

    /// Label Studio's predictions (docs/LABEL-STUDIO.md): which job labels an image it asked for, so asking again
    /// (the same image in another call, task or project, with the same model, settings and classes) waits for that
    /// job instead of labeling it twice.
    static let v11 = """
        CREATE TABLE label_studio_images (
            key      TEXT PRIMARY KEY NOT NULL,  -- sha256 of the model, settings, classes and image URL
            job_id   TEXT NOT NULL REFERENCES jobs (id),
            image_id TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX label_studio_images_job ON label_studio_images (job_id);
        """

    /// Labels a worker wrote to the job's `--output` are recorded from its receipt: `relative_path` is then the
    /// object's key there, and the receipt's confidence map has its digest here.
    static let v10 = """
        ALTER TABLE labels ADD COLUMN confidence_sha256 TEXT;
        """

    static let v9 = """
        ALTER TABLE tasks ADD COLUMN shard TEXT;
        """

    static let v8 = """
        ALTER TABLE tasks ADD COLUMN manifest_offset INTEGER;  -- not NULL: its images are lines of the job's manifest from here
        ALTER TABLE tasks ADD COLUMN manifest_line INTEGER;    -- the lines before manifest_offset
        ALTER TABLE tasks ADD COLUMN manifest_end INTEGER;     -- the byte after its last line
        ALTER TABLE tasks ADD COLUMN manifest_last_line INTEGER;
        -- Tasks whose image rows are not made yet, by their first line (results read them from the manifest).
        CREATE INDEX tasks_unread ON tasks (job_id, manifest_line) WHERE manifest_offset IS NOT NULL;

        -- Each job's task counts, by state and over its leases: kept by triggers on tasks, so a status reads one row
        -- instead of grouping the job's tasks (ten million images in tasks of 8: over a second a status).
        CREATE TABLE job_task_counts (
            job_id       TEXT PRIMARY KEY NOT NULL REFERENCES jobs (id),
            queued       INTEGER NOT NULL DEFAULT 0,
            leased       INTEGER NOT NULL DEFAULT 0,
            done         INTEGER NOT NULL DEFAULT 0,
            failed       INTEGER NOT NULL DEFAULT 0,
            cancelled    INTEGER NOT NULL DEFAULT 0,
            leases       INTEGER NOT NULL DEFAULT 0,  -- every lease of its tasks (tasks.lease_count summed)
            leased_tasks INTEGER NOT NULL DEFAULT 0,  -- tasks leased at least once
            expiries     INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;

        CREATE TRIGGER tasks_counted AFTER INSERT ON tasks
        BEGIN
            INSERT INTO job_task_counts (job_id) VALUES (NEW.job_id) ON CONFLICT (job_id) DO NOTHING;
            UPDATE job_task_counts SET queued = queued + (NEW.state = 'queued'), leased = leased + (NEW.state = 'leased'),
                done = done + (NEW.state = 'done'), failed = failed + (NEW.state = 'failed'),
                cancelled = cancelled + (NEW.state = 'cancelled'), leases = leases + NEW.lease_count,
                leased_tasks = leased_tasks + (NEW.lease_count > 0), expiries = expiries + NEW.expiries
            WHERE job_id = NEW.job_id;
        END;

        CREATE TRIGGER tasks_count_changed AFTER UPDATE OF state, lease_count, expiries ON tasks
        WHEN OLD.state IS NOT NEW.state OR OLD.lease_count IS NOT NEW.lease_count OR OLD.expiries IS NOT NEW.expiries
        BEGIN
            UPDATE job_task_counts SET
                queued = queued + (NEW.state = 'queued') - (OLD.state = 'queued'),
                leased = leased + (NEW.state = 'leased') - (OLD.state = 'leased'),
                done = done + (NEW.state = 'done') - (OLD.state = 'done'),
                failed = failed + (NEW.state = 'failed') - (OLD.state = 'failed'),
                cancelled = cancelled + (NEW.state = 'cancelled') - (OLD.state = 'cancelled'),
                leases = leases + NEW.lease_count - OLD.lease_count,
                leased_tasks = leased_tasks + (NEW.lease_count > 0) - (OLD.lease_count > 0),
                expiries = expiries + NEW.expiries - OLD.expiries
            WHERE job_id = NEW.job_id;
        END;
        """

    /// v8's counts of the tasks already there.
    static let countTasksSoFar = """
        INSERT INTO job_task_counts (job_id, queued, leased, done, failed, cancelled, leases, leased_tasks, expiries)
        SELECT job_id, SUM(state = 'queued'), SUM(state = 'leased'), SUM(state = 'done'), SUM(state = 'failed'),
               SUM(state = 'cancelled'), SUM(lease_count), SUM(lease_count > 0), SUM(expiries)
        FROM tasks GROUP BY job_id;
        """

    /// v5's counts of the images already there.
    static let countImagesSoFar = """
        INSERT INTO job_image_counts (job_id, unfinished, done, failed)
        SELECT job_id, SUM(finished = 0), SUM(state = 'done'), SUM(state = 'failed') FROM images GROUP BY job_id;
        """

    /// v4's counts of the images finished before it, from the ledger (the trigger counts the rest).
    static let countFinishedImagesFromTheLedger = """
        INSERT INTO job_minutes (job_id, minute, done, failed)
        SELECT job_id, CAST(at / 60 AS INTEGER), SUM(kind = 'image.done'), SUM(kind = 'image.failed')
        FROM events WHERE kind IN ('image.done', 'image.failed') GROUP BY 1, 2;
        INSERT INTO job_workers (job_id, worker_id, done, failed, last_at, window_at)
        SELECT job_id, worker_id, SUM(kind = 'image.done'), SUM(kind = 'image.failed'), MAX(at), MAX(at)
        FROM events WHERE kind IN ('image.done', 'image.failed') AND worker_id IS NOT NULL GROUP BY 1, 2;
        """
}
