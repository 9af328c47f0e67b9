import Foundation
import GRDB
import Testing

import Coordinator
import LabelAPI

@Suite struct StoreSchemaTests {
    /// The package root, found from this file: Tests/CoordinatorTests/<file> → three levels up.
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `sqlite_master` without comments and layout, sorted, without GRDB's own bookkeeping table.
    static func normalizedSchema(_ db: Database) throws -> [String] {
        try Row.fetchAll(db, sql: """
            SELECT type, name, tbl_name, sql FROM sqlite_master
            WHERE tbl_name NOT LIKE 'grdb_%' ORDER BY type, name
            """).map { row in
            let sql = (row["sql"] as String?).map(normalize) ?? "-"
            return "\(row["type"] as String) \(row["name"] as String) on \(row["tbl_name"] as String): \(sql)"
        }
    }

    static func normalize(_ sql: String) -> String {
        let withoutComments = sql.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.range(of: "--").map { String(line[..<$0.lowerBound]) } ?? String(line)
        }.joined(separator: " ")
        // A table rebuilt by a migration is stored as CREATE TABLE "name": quotes are not part of the schema.
        var text = withoutComments.replacingOccurrences(of: "\"", with: "").split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        for mark in ["(", ")", ","] {
            text = text.replacingOccurrences(of: " \(mark)", with: mark).replacingOccurrences(of: "\(mark) ", with: mark)
        }
        return text
    }

    @Test func migrationsProduceExactlySchemaSQL() throws {
        let schemaURL = Self.packageRoot.appendingPathComponent("schema.sql")
        let schemaSQL = try String(contentsOf: schemaURL, encoding: .utf8)

        let fromFile = try DatabaseQueue()
        try fromFile.write { db in try db.execute(sql: schemaSQL) }
        let migrated = try DatabaseQueue()
        try Migrations.migrator.migrate(migrated)

        let expected = try fromFile.read(Self.normalizedSchema)
        let actual = try migrated.read(Self.normalizedSchema)
        #expect(expected.count > 20)
        for missing in expected where !actual.contains(missing) {
            Issue.record("in schema.sql but not made by the migrations: \(missing)")
        }
        for extra in actual where !expected.contains(extra) {
            Issue.record("made by the migrations but not in schema.sql: \(extra)")
        }
        #expect(actual == expected)
    }

    @Test func migrationsAreNamedAndComplete() throws {
        let fixture = try StoreFixture()
        let applied = try fixture.store.pool.read { db in try Migrations.migrator.appliedIdentifiers(db) }
        #expect(applied == ["v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12"])
        let pending = try fixture.store.pool.read { db in try Migrations.migrator.hasCompletedMigrations(db) }
        #expect(pending)
    }

    @Test func storeUsesWALForeignKeysAndSmallPages() throws {
        let fixture = try StoreFixture()
        let settings = try fixture.store.pool.write { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA foreign_keys"),
             try Int.fetchOne(db, sql: "PRAGMA synchronous"), try Int.fetchOne(db, sql: "PRAGMA page_size"))
        }
        #expect(settings.0 == "wal")
        #expect(settings.1 == 1)
        #expect(settings.2 == 1)  // NORMAL
        #expect(settings.3 == 1024)
    }

    /// The plan of a statement, one line per step.
    static func plan(_ store: Store, _ sql: String, _ arguments: StatementArguments) throws -> [String] {
        try store.pool.write { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] as String }
        }
    }

    @Test func claimWalksTheClaimableIndexAndNothingElse() throws {
        let fixture = try StoreFixture()
        let plan = try Self.plan(fixture.store, Store.claimSQL,
                                 ["token": "t", "worker": "w", "now": 1.0, "lease": nil as Double?])
        #expect(plan.contains { $0.contains("USING INDEX tasks_claimable") })
        #expect(plan.contains { $0.contains("SEARCH tasks USING INTEGER PRIMARY KEY") })
        #expect(!plan.contains { $0.hasPrefix("SCAN") && !$0.contains("USING INDEX tasks_claimable") && !$0.contains("CONSTANT ROW") },
                "\(plan)")
    }

    @Test func sweepSearchesTheLeasedByExpiryIndex() throws {
        let fixture = try StoreFixture()
        let plan = try Self.plan(fixture.store, Store.expiredSQL, [1.0])
        #expect(plan.contains { $0.contains("SEARCH t USING INDEX tasks_leased_by_expiry (lease_expires_at<?)") })
        #expect(!plan.contains { $0.hasPrefix("SCAN") })
    }

    /// Tasks never leased have no image rows: the job's count of unfinished images answers, in one lookup.
    @Test func jobDoneCheckIsOneLookupOfTheJobsCounts() throws {
        let fixture = try StoreFixture()
        let plan = try Self.plan(fixture.store, Store.hasUnfinishedSQL, ["job"])
        #expect(plan.contains { $0.contains("job_image_counts USING PRIMARY KEY (job_id=?)") })
        #expect(!plan.contains { $0.hasPrefix("SCAN") && !$0.contains("CONSTANT ROW") })
    }
}

/// A database written by the first schema keeps every row through the later migrations.
@Suite struct StoreMigrationTests {
    @Test func v1DataSurvivesV2() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("migration-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("labelmill.sqlite").path
        let v1 = try DatabaseQueue(path: path)
        try Migrations.migrator.migrate(v1, upTo: "v1")
        let sha = String(repeating: "b", count: 64), model = String(repeating: "m", count: 64)
        try v1.write { db in
            try db.execute(sql: """
                INSERT INTO blobs VALUES ('\(sha)', 4, 'blobs/b', 1);
                INSERT INTO models VALUES ('\(model)', 'tiny', 1);
                INSERT INTO workers (id, first_seen_at, last_seen_at) VALUES ('w1', 1, 1);
                INSERT INTO jobs (id, model_id, classes, options, max_attempts, lease_seconds, state, request_sha256,
                                  image_count, task_count, created_at)
                VALUES ('job-1', '\(model)', '["a"]', '{}', 3, 60, 'running', 'r', 2, 1, 1);
                INSERT INTO tasks (id, job_id, state, image_count, created_at, updated_at, lease_token, lease_expires_at, worker_id, attempts, lease_count)
                VALUES (1, 'job-1', 'leased', 2, 1, 1, 't', 100, 'w1', 1, 1);
                INSERT INTO images (job_id, seq, id, uri, line, task_id, state, attempts, finished, error, updated_at)
                VALUES ('job-1', 0, 'good', '/g.png', 1, 1, 'running', 1, 0, NULL, 1),
                       ('job-1', 1, '#2', '', 2, 1, 'failed', 0, 1, 'manifest line 2: not valid JSON', 1);
                INSERT INTO attempts (task_id, number, job_id, worker_id, token, started_at, seen_at) VALUES (1, 1, 'job-1', 'w1', 't', 1, 1);
                """)
        }
        try v1.close()

        let store = try Store(path: path)
        let (jobs, attempts, rejected, violations) = try store.pool.read { db in
            (try String.fetchAll(db, sql: "SELECT id FROM jobs"), try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM attempts"),
             try Int.fetchAll(db, sql: "SELECT rejected FROM images ORDER BY seq"), try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").count)
        }
        #expect(jobs == ["job-1"] && attempts == 1 && rejected == [0, 1] && violations == 0)
        // The new job state and attempt outcome work on the old rows.
        try store.failJob("job-1", reason: "migrated and failed")
        #expect(try store.progress("job-1").state == .failed)
        #expect(try store.pool.read { db in try String.fetchOne(db, sql: "SELECT outcome FROM attempts") } == "failed")
        // The manifest line rejected under v1 is still not retried.
        #expect(try store.retryFailed("job-1") == 1)
    }
}
