import Foundation
import GRDB
import Inference
import LabelAPI
import LabelClient
import Support
import Testing

/// The checks every fault scenario ends with, and the figures it reports.
extension FaultCluster {
    /// What a scenario ended with: printed as one `fault-figures` line and summarised in docs/FAULTS.md.
    struct Figures {
        var scenario: String
        var images = 0
        var done = 0
        var failed = 0
        /// Manifest images without a result, or results without a label map that matches the fault-free run.
        var lost = 0
        var labeledTwice = 0
        var leaseExpiries = 0
        /// What was injected and seen, by name ("kills", "proxy.drop", "http.409", ...).
        var faults: [String: Int] = [:]

        func report(wall: Duration) {
            let faults = self.faults.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            let seconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
            print("fault-figures scenario=\(scenario) images=\(images) done=\(done) failed=\(failed) lost=\(lost) "
                  + "labeledTwice=\(labeledTwice) leaseExpiries=\(leaseExpiries) \(faults) wall=\(String(format: "%.1f", seconds))s")
        }
    }

    /// Ends a scenario: `verify`, then the coordinator's 409 and 5xx answers and the workers' retries join
    /// `figures`, which are printed.
    func finish(_ figures: inout Figures, reference: [String: String]) async throws {
        try await verify(against: reference, figures: &figures)
        let answers = try await answers()
        figures.faults["http.409", default: 0] += Self.count(answers, status: 409)
        for (route, statuses) in answers where statuses[409, default: 0] > 0 {
            let name = route == Self.uploadRoute ? "upload" : route.split(separator: "/").last.map(String.init) ?? route
            figures.faults["http.409.\(name)", default: 0] += statuses[409]!
        }
        figures.faults["http.5xx", default: 0] += Self.count(answers, status: 500, classOf: true)
        figures.faults["worker.retries"] = workers.map { $0.logLines(containing: "http.retry") }.reduce(0, +)
        figures.report(wall: ContinuousClock.now - started)
    }

    /// The job is done; every image is done or failed with a reason; none is lost (a result per manifest line);
    /// none was labeled twice (the ledger's `task.labeled` counts add up to the images); every exported label map is byte-identical
    /// to the fault-free run's; the database passes `checkDatabase()`.
    func verify(against reference: [String: String], figures: inout Figures) async throws {
        let status = try await admin.job(job)
        #expect(status.state == .done, "\(name): job state")
        #expect(status.images == JobStatus.Images(total: images.count, pending: 0, running: 0, done: images.count, failed: 0),
                "\(name): \(status.recentErrors.map { "\($0.id): \($0.error)" })")
        let results = try await admin.results(job)
        #expect(results.count == images.count, "\(name): one result per manifest line")
        for result in results {
            #expect(result.status == .done || (result.status == .failed && !(result.error ?? "").isEmpty),
                    "\(name): \(result.id) is \(result.status) without a reason")
        }

        let events = try await events()
        #expect(events.filter { $0.kind == .jobDone }.count == 1, "\(name): job.done events")
        #expect(events.labeledOnce(done: images.count), "\(name): labeled \(events.labeledImages()) times for \(images.count) images")
        let out = directory.appendingPathComponent("export")
        _ = try await LabelmillProcess.run(["export", "--coordinator", url, "--token-file", tokenFile, job, "--out", out.path])
        var matching = 0
        for image in images {
            let exported = try? SHA256Hex.of(file: out.appendingPathComponent("labels/\(image.id).png").path)
            let recorded = results.first { $0.id == image.id }?.sha256
            #expect(exported == reference[image.id] && recorded == exported,
                    "\(name): label of \(image.id): exported \(exported ?? "none"), recorded \(recorded ?? "none"), fault-free \(reference[image.id] ?? "none")")
            if exported == reference[image.id] && recorded == exported { matching += 1 }
        }
        try checkDatabase()

        figures.images = images.count
        figures.done = results.filter { $0.status == .done }.count
        figures.failed = results.filter { $0.status == .failed }.count
        figures.lost = images.count - matching
        figures.labeledTwice = events.labeledImages() - figures.done
        figures.leaseExpiries = events.filter { $0.kind == .leaseExpired }.count
    }

    /// The coordinator's database is sound and agrees with the label files: `PRAGMA integrity_check` is ok, no
    /// foreign key dangles, an image is done exactly when it has a label row, the job has no open task, every
    /// label file has its recorded sha256, and no label file is there that the table does not name (refused,
    /// stale or failed uploads leave nothing behind).
    func checkDatabase() throws {
        var configuration = Configuration()
        configuration.readonly = true
        let database = try DatabaseQueue(path: dataDirectory.appendingPathComponent("labelmill.sqlite").path, configuration: configuration)
        let labels = try database.read { db -> [Row] in
            #expect(try String.fetchAll(db, sql: "PRAGMA integrity_check") == ["ok"], "\(name): integrity_check")
            #expect(try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").isEmpty, "\(name): foreign_key_check")
            let disagreeing = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM images AS i LEFT JOIN labels AS l ON l.job_id = i.job_id AND l.image_id = i.id
                WHERE i.job_id = ? AND (i.state = 'done') <> (l.image_id IS NOT NULL)
                """, arguments: [job])
            #expect(disagreeing == 0, "\(name): images whose state and label row disagree")
            let open = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM tasks WHERE job_id = ? AND state IN ('queued', 'leased')",
                                        arguments: [job])
            #expect(open == 0, "\(name): tasks still queued or leased in a done job")
            return try Row.fetchAll(db, sql: "SELECT image_id, sha256, relative_path FROM labels WHERE job_id = ?", arguments: [job])
        }
        for row in labels {
            let path = dataDirectory.appendingPathComponent(row["relative_path"] as String).path
            #expect((try? SHA256Hex.of(file: path)) == row["sha256"] as String, "\(name): label file \(path)")
        }
        let folder = dataDirectory.appendingPathComponent("labels/\(job)")
        let files = Set((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
        let named = Set(labels.map { URL(fileURLWithPath: $0["relative_path"] as String).lastPathComponent })
        #expect(files == named, "\(name): label files nobody references: \(files.subtracting(named).sorted())")
    }

    /// The coordinator's answers since it started, by route and status (from /metrics).
    func answers() async throws -> [String: [Int: Int]] {
        let response = try await HTTPClient().send(ClientRequest(url: url + Routes.metrics.template, headers: ["Authorization": "Bearer \(Self.token)"]))
        var answers: [String: [Int: Int]] = [:]
        for line in response.bodyText.split(separator: "\n") where line.hasPrefix("labelmill_http_request_duration_seconds_count{") {
            func label(_ name: String) -> String? {
                guard let start = line.range(of: "\(name)=\"") else { return nil }
                return String(line[start.upperBound...].prefix { $0 != "\"" })
            }
            guard let route = label("route"), let status = label("status").flatMap(Int.init),
                  let count = line.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
            answers[route, default: [:]][status, default: 0] += Int(count)
        }
        return answers
    }

    /// Answers with `status` (or, with `classOf`, any status of that hundred) over all routes, or on `route`.
    static func count(_ answers: [String: [Int: Int]], status: Int, route: String? = nil, classOf: Bool = false) -> Int {
        var total = 0
        for (path, statuses) in answers where route == nil || path == route {
            for (code, count) in statuses where classOf ? code / 100 == status / 100 : code == status { total += count }
        }
        return total
    }

    static let uploadRoute = "/v1/tasks/{task}/images/{image}/label"
    static let thumbnailRoute = "/v1/tasks/{task}/images/{image}/thumbnail"
}
