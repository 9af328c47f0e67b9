import Foundation
import LabelAPI
import LabelClient
import Testing

/// Faults injected into real `labelmill` processes on loopback (docs/FAULTS.md): a worker SIGKILLed at each
/// phase, the coordinator SIGKILLed and restarted on its data directory and port, a TCP proxy that drops,
/// delays, truncates and resets requests, the coordinator unreachable during an image fetch from its image root,
/// a worker stopped past its lease, and a full disk under the coordinator. Every scenario labels the same ten
/// images (shards of 2, 3 s leases unless it says otherwise) and ends with
/// `FaultCluster.verify`: the job done, no image lost or labeled twice, every label map byte-identical to the
/// fault-free run's, the database sound.
/// Serialized: the scenarios time leases and outages, which running them side by side on two cores would blur.
@Suite(.serialized)
struct FaultInjectionTests {
    /// `LABELMILL_FAULTS=kill@<point>` on the first worker, alone until it is dead; then a healthy worker.
    /// Count 2 puts the kill on the second image of the first task: after the first was uploaded (upload), or while
    /// its upload may still be under way beside the second image's labeling (inference: the worker's pipeline).
    @Test(.timeLimit(.minutes(2)), arguments: ["download:1", "inference:2", "upload:2", "heartbeat:1", "complete:1"])
    func workerKilledAtPhase(_ point: String) async throws {
        let reference = try await FaultReference.labels()
        let phase = String(point.prefix { $0 != ":" })
        let cluster = try FaultCluster("kill-\(phase)")
        defer { cluster.shutdown() }
        let (images, uris) = try await cluster.startImageServer()
        // The first heartbeat comes a third of a lease after the claim: hold the task's second image till then.
        if phase == "heartbeat" { images.close("img1") }
        try await cluster.startCoordinator()
        try await cluster.submit(uris: uris)

        let doomed = try cluster.startWorker("doomed", faults: "kill@\(point)")
        try await cluster.waitUntil("the doomed worker has killed itself at \(point)", timeout: .seconds(30)) { !doomed.isRunning }
        #expect(doomed.diedOf(SIGKILL), "exit: \(doomed.process.terminationReason) \(doomed.process.terminationStatus)")
        #expect(doomed.logText.contains("fault injection: SIGKILL at \(phase) #\(point.split(separator: ":")[1])"))
        let before = try await cluster.events()
        let killedTask = try #require(before.last { $0.kind == .taskLeased && ($0.workerId ?? "").hasPrefix("doomed-") }?.taskId)
        let requests = (img0: images.requests(for: "img0"), img1: images.requests(for: "img1"))

        images.open("img1")
        try cluster.startWorker("healthy")
        try await cluster.waitForJobEnd()
        let events = try await cluster.events()
        // The dead lease's end (its expiry) counts what it labeled before the kill.
        let doneByDoomed = events.labeledImages { $0.taskId == killedTask && ($0.workerId ?? "").hasPrefix("doomed-") }
        switch phase {
        case "download": #expect(doneByDoomed == 0 && requests.img0 == 0)
        case "inference": #expect(doneByDoomed <= 1 && requests.img1 == 1)
        case "upload": #expect(doneByDoomed == 1 && requests.img1 == 1)
        case "heartbeat": #expect(doneByDoomed <= 1 && requests.img1 <= 1)
        default: #expect(doneByDoomed == 2)
        }
        #expect(events.contains { $0.kind == .leaseExpired && $0.taskId == killedTask && ($0.workerId ?? "").hasPrefix("doomed-") },
                "the ledger shows the dead worker's lease expiring")
        let leases = events.filter { $0.kind == .taskLeased && $0.taskId == killedTask }.count
        // Killed before complete, every image was in: the sweeper ends the task instead of leasing it again.
        #expect(phase == "complete" ? leases == 1 : leases >= 2, "leases of task \(killedTask): \(leases)")

        var figures = FaultCluster.Figures(scenario: "kill@\(point)", faults: ["kills": 1])
        try await cluster.finish(&figures, reference: reference)
    }

    /// The coordinator is SIGKILLed while both workers hold leases (waiting on held images), and restarted on the
    /// same data directory and port; the same two worker processes must carry the job to the end.
    @Test(.timeLimit(.minutes(2)))
    func coordinatorKilledAndRestarted() async throws {
        let reference = try await FaultReference.labels()
        let cluster = try FaultCluster("coordinator-restart")
        defer { cluster.shutdown() }
        // img0-7 from the image server (img4-7 held), img8-9 through the coordinator's image root, fetched after the restart.
        let (images, uris) = try await cluster.startImageServer(for: (0..<8).map { "img\($0)" })
        let held = ["img4", "img5", "img6", "img7"]
        held.forEach(images.close)
        try await cluster.startCoordinator()
        try await cluster.submit(uris: uris)
        let workers = [try cluster.startWorker("w1"), try cluster.startWorker("w2")]
        try await cluster.waitUntil("tasks 1-2 are done and both workers wait on img4 and img6") {
            let done = try await cluster.events().labeledImages()
            return done == 4 && images.requests(for: "img4") == 1 && images.requests(for: "img6") == 1
        }
        let answersBefore = try await cluster.answers()
        let workerIds = Set(try await cluster.events().filter { $0.kind == .taskLeased }.compactMap(\.workerId))

        let killedAt = ContinuousClock.now
        cluster.killCoordinator()
        let retriesBefore = workers.map { $0.logLines(containing: "http.retry") }
        try await cluster.waitUntil("both workers have retried against the dead coordinator", timeout: .seconds(20)) {
            zip(workers, retriesBefore).allSatisfy { $0.logLines(containing: "http.retry") > $1 }
        }
        try await cluster.startCoordinator()
        let downtime = ContinuousClock.now - killedAt
        held.forEach(images.open)
        try await cluster.waitForJobEnd()

        #expect(workers.allSatisfy { $0.isRunning }, "the workers outlived the outage")
        let events = try await cluster.events()
        var labeledSoFar = 0
        let doneAfter = events.filter { $0.kind == .taskLabeled }.filter { event in
            defer { labeledSoFar += event.images ?? 0 }
            return labeledSoFar >= 4
        }
        #expect(workerIds.count == 2 && doneAfter.labeledImages() == 6 && doneAfter.allSatisfy { workerIds.contains($0.workerId ?? "") },
                "the same two worker processes labeled the other 6 images after the restart")
        var figures = FaultCluster.Figures(scenario: "coordinator-restart", faults: ["kills": 1])
        figures.faults["downtime.ms"] = Int(downtime.components.seconds * 1000 + downtime.components.attoseconds / 1_000_000_000_000_000)
        figures.faults["http.409", default: 0] += FaultCluster.count(answersBefore, status: 409)
        figures.faults["http.5xx", default: 0] += FaultCluster.count(answersBefore, status: 500, classOf: true)
        try await cluster.finish(&figures, reference: reference)
    }

    /// Workers reach the coordinator through `TCPFaultProxy`: every 4th request is dropped, delayed, truncated
    /// or reset, in turn (model, embeddings and image downloads included).
    @Test(.timeLimit(.minutes(2)))
    func faultyNetwork() async throws {
        let reference = try await FaultReference.labels()
        let cluster = try FaultCluster("proxy")
        defer { cluster.shutdown() }
        try await cluster.startCoordinator()
        try await cluster.submit()
        let proxy = try TCPFaultProxy(upstreamPort: cluster.port, schedule: .init(every: 4))
        cluster.onShutdown { proxy.stop() }
        try cluster.startWorker("w1", coordinator: proxy.url)
        try cluster.startWorker("w2", coordinator: proxy.url)
        try await cluster.waitForJobEnd()

        let (connections, requests, injected) = proxy.counts
        print("proxy faults: \(proxy.faults.joined(separator: ", "))")
        for kind in TCPFaultProxy.Fault.allCases {
            #expect(injected[kind, default: 0] > 0, "the proxy injected no \(kind.rawValue)")
        }
        var figures = FaultCluster.Figures(scenario: "proxy", faults: ["proxy.requests": requests, "proxy.connections": connections])
        for (kind, count) in injected { figures.faults["proxy.\(kind.rawValue)"] = count }
        try await cluster.finish(&figures, reference: reference)
    }

    /// The coordinator is unreachable while a worker fetches an image from its `--image-root` (`/v1/files/…`).
    /// The one worker talks to it through `TCPFaultProxy`, which resets every request from the worker's first
    /// `GET /v1/files/img4.jpg` until the worker's next step once that fetch has spent its attempts (its first
    /// request that is neither the fetch nor a heartbeat). Leases here are 8 s (heartbeat every 2.7 s), longer
    /// than the fetch's retries (backoff at most 3.75 s), so when the worker decides what to do with img4 the
    /// coordinator is back and the lease still held: it must drop the task (the lease expires and img4 is
    /// labeled on the next lease), not report img4 failed, which would fail it for good.
    @Test(.timeLimit(.minutes(2)))
    func coordinatorUnreachableDuringFileFetch() async throws {
        let reference = try await FaultReference.labels()
        let cluster = try FaultCluster("files-outage")
        defer { cluster.shutdown() }
        try await cluster.startCoordinator()
        try await cluster.submit(leaseSeconds: 8)
        let fetch = "GET \(Routes.file.path("img4.jpg"))"
        let outage = TCPFaultProxy.Outage(begins: { $0 == fetch }, ends: { $0 != fetch && !$0.hasSuffix("/heartbeat") })
        let proxy = try TCPFaultProxy(upstreamPort: cluster.port, outage: outage)
        cluster.onShutdown { proxy.stop() }
        try cluster.startWorker("w1", coordinator: proxy.url)
        try await cluster.waitUntil("the worker's fetch of img4 gave up and the proxy is back", timeout: .seconds(30)) {
            proxy.outage?.endedBy != nil
        }
        try await cluster.waitForJobEnd()

        let record = try #require(proxy.outage)
        let downtime = try #require(record.duration)
        print("proxy outage: \(downtime), ended by \(record.endedBy ?? "-"), reset \(record.resets)")
        #expect(record.resets[fetch, default: 0] >= RetryPolicy.standard.maxAttempts, "the fetch of img4 spent its attempts: \(record.resets)")
        #expect(record.endedBy == "POST \(Routes.claim.template)", "the worker dropped the task and asked for another")
        let events = try await cluster.events()
        let task = events.last { $0.imageId == "img4" }?.taskId
        #expect(events.contains { $0.kind == .leaseExpired && $0.taskId == task }, "the dropped task's lease ran out")
        #expect(events.filter { $0.kind == .taskLeased && $0.taskId == task }.count == 2, "img4's task leased again once")

        let (connections, requests, _) = proxy.counts
        var figures = FaultCluster.Figures(scenario: "files-outage", faults: ["proxy.requests": requests, "proxy.connections": connections])
        figures.faults["proxy.outage.resets"] = record.resets.values.reduce(0, +)
        figures.faults["downtime.ms"] = Int(downtime.components.seconds * 1000 + downtime.components.attoseconds / 1_000_000_000_000_000)
        try await cluster.finish(&figures, reference: reference)
    }

    /// A worker is SIGSTOPped holding a lease (one image uploaded, the next being fetched), kept stopped past
    /// lease and sweep while another worker finishes the job, then SIGCONTinued: its upload, of a label made from
    /// a decoy picture, must get 409 and leave the valid label map alone.
    @Test(.timeLimit(.minutes(2)))
    func stoppedWorkerOutlivesItsLease() async throws {
        let reference = try await FaultReference.labels()
        #expect(reference["img1"] != reference["img2"], "the decoy must make a different label map")
        let cluster = try FaultCluster("sigstop")
        defer { cluster.shutdown() }
        let (images, uris) = try await cluster.startImageServer()
        images.close("img1")
        try images.decoyFirstRequest(for: "img1", with: FaultCluster.source(of: "img2"))
        try await cluster.startCoordinator()
        try await cluster.submit(uris: uris)

        let slow = try cluster.startWorker("slow")
        try await cluster.waitUntil("the slow worker uploaded img0 and asks for img1") {
            let uploaded = try await cluster.admin.job(cluster.job).images.done == 1
            return uploaded && images.requests(for: "img1") == 1
        }
        slow.send(SIGSTOP)
        let stoppedTask = try #require(try await cluster.events().last { $0.kind == .taskLeased && ($0.workerId ?? "").hasPrefix("slow-") }?.taskId)
        images.open("img1")  // the slow worker's answer (the decoy) waits in its socket
        try cluster.startWorker("fresh")
        try await cluster.waitForJobEnd()
        let events = try await cluster.events()
        #expect(events.contains { $0.kind == .leaseExpired && $0.taskId == stoppedTask && ($0.workerId ?? "").hasPrefix("slow-") },
                "the ledger shows the stopped worker's lease expiring")
        #expect(events.labeledImages { $0.taskId == stoppedTask && ($0.workerId ?? "").hasPrefix("fresh-") } == 1,
                "the fresh worker labeled img1 in the stopped worker's task")

        slow.send(SIGCONT)
        // Its first upload, the thumbnail of the decoy, is already refused; the label map is never sent.
        try await cluster.waitUntil("the woken worker's stale upload is refused", timeout: .seconds(20)) {
            FaultCluster.count(try await cluster.answers(), status: 409, route: FaultCluster.thumbnailRoute) >= 1
        }
        #expect(FaultCluster.count(try await cluster.answers(), status: 409, route: FaultCluster.uploadRoute) == 0)
        try await cluster.waitUntil("the woken worker gave the task up", timeout: .seconds(10)) {
            slow.logLines(containing: "task.lease.lost") >= 1
        }
        #expect(slow.isRunning)
        #expect(images.requests(for: "img1") == 2, "the decoy went to the stopped worker, the picture to the fresh one")
        var figures = FaultCluster.Figures(scenario: "sigstop", faults: ["sigstops": 1])
        try await cluster.finish(&figures, reference: reference)
    }

    /// The coordinator's data directory is a 32 MiB tmpfs. Both workers claim a task and wait on held images;
    /// then the tmpfs is filled to the last byte and the images let go: no label map can be stored (the
    /// coordinator answers 5xx, the workers retry, leases run out) until the filler is deleted; then the job
    /// must finish with a sound database.
    @Test(.timeLimit(.minutes(2)), .enabled(if: TmpfsMount.unavailability == nil, "needs to mount a tmpfs (root or CAP_SYS_ADMIN)"))
    func fullDisk() async throws {
        let reference = try await FaultReference.labels()
        let cluster = try FaultCluster("full-disk")
        defer { cluster.shutdown() }
        let mount = try TmpfsMount.mount(at: cluster.dataDirectory, size: "32m")
        cluster.onShutdown { mount.unmount() }
        let (images, uris) = try await cluster.startImageServer()
        cluster.images.forEach { images.close($0.id) }
        try await cluster.startCoordinator()
        try await cluster.submit(uris: uris)
        try cluster.startWorker("w1")
        try cluster.startWorker("w2")
        try await cluster.waitUntil("both workers hold a task and wait on its first image") {
            images.requests(for: "img0") == 1 && images.requests(for: "img2") == 1
        }

        let filler = cluster.dataDirectory.appendingPathComponent("filler")
        let filled = try TmpfsMount.fill(filler)
        cluster.images.forEach { images.open($0.id) }
        try await cluster.waitUntil("uploads have been refused for want of space", timeout: .seconds(30)) {
            FaultCluster.count(try await cluster.answers(), status: 500, route: FaultCluster.uploadRoute, classOf: true) >= 4
        }
        let whileFull = try await cluster.answers()
        #expect(try await cluster.admin.job(cluster.job).images.done == 0, "no label map can be stored on a full disk")
        // A full disk is a 503 to try again, as for manifest uploads, never a 500 (rough edges, item 29).
        #expect(FaultCluster.count(whileFull, status: 500) == 0 && FaultCluster.count(whileFull, status: 503, route: FaultCluster.uploadRoute) >= 4,
                "\(whileFull)")
        try FileManager.default.removeItem(at: filler)
        try await cluster.waitForJobEnd()

        var figures = FaultCluster.Figures(scenario: "full-disk", faults: ["filler.kib": filled >> 10])
        for status in [500, 503] {
            figures.faults["http.\(status).upload.full"] = FaultCluster.count(whileFull, status: status, route: FaultCluster.uploadRoute)
            figures.faults["http.\(status).full"] = FaultCluster.count(whileFull, status: status)
        }
        try await cluster.finish(&figures, reference: reference)
    }
}
