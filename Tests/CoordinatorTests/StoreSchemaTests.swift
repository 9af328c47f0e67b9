import Foundation
import GRDB
import Testing

@testable import Coordinator
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
        var text = withoutComments.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
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
        #expect(applied == ["v1"])
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

    @Test func jobDoneCheckIsOneSeekInTheUnfinishedIndex() throws {
        let fixture = try StoreFixture()
        let plan = try Self.plan(fixture.store, Store.hasUnfinishedSQL, ["job"])
        #expect(plan.contains { $0.contains("USING INDEX images_unfinished (job_id=?)") })
        #expect(!plan.contains { $0.hasPrefix("SCAN") && !$0.contains("CONSTANT ROW") })
    }
}
