import Coordinator
import Foundation
import Inference
import LabelAPI
import LabelClient
import Support
import Synchronization

/// `labelmill bench coordinator`: a real coordinator process on loopback, driven over HTTP by N concurrent
/// clients each doing claim + complete on its own keep-alive connection, until M tasks are done. With `labels`,
/// each client also uploads a thumbnail and a label map for every image of its task, as a worker does. With `idle`,
/// that many more workers long-poll meanwhile (taking and completing a task when a poll gets one), and stay
/// on after the work is gone, while the coordinator's CPU use is measured with only them left.
public enum CoordinatorBenchmark {
    public struct Result: Codable, Sendable {
        public var clients: Int
        public var tasks: Int
        public var seconds: Double
        public var tasksPerSecond: Double
        public var claimP50Ms: Double
        public var claimP90Ms: Double
        public var claimP99Ms: Double
        public var claimMaxMs: Double
        public var completeP99Ms: Double
        public var coordinatorRSSMiB: Double
        public var coordinatorPeakRSSMiB: Double
        /// The coordinator's CPU time (user + system) per task: what the throughput costs, less sensitive to other
        /// load on the machine than tasks/s.
        public var coordinatorCPUMicrosecondsPerTask: Double
        public var images: Int
        /// Creating the job (the store's half of a submit: parsing aside, every row written), in seconds.
        public var createSeconds: Double
        /// `GET /v1/jobs/:id/results` (what `labelmill export` writes as results.jsonl), in seconds.
        public var resultsSeconds: Double
        /// The database and its WAL at the end.
        public var databaseMiB: Double
        /// Long-polling workers alongside the clients.
        public var idleWorkers: Int
        /// Tasks the long-polling workers took.
        public var idleWorkerTasks: Int
        /// The coordinator's CPU use (percent of one core) over 10 s with only the long-polling workers left.
        public var idleCPUPercent: Double
        /// Whether every image got a thumbnail and a label map upload.
        public var labels: Bool

        enum CodingKeys: String, CodingKey {
            case clients, tasks, seconds
            case tasksPerSecond = "tasks_per_second", claimP50Ms = "claim_p50_ms", claimP90Ms = "claim_p90_ms"
            case claimP99Ms = "claim_p99_ms", claimMaxMs = "claim_max_ms", completeP99Ms = "complete_p99_ms"
            case coordinatorRSSMiB = "coordinator_rss_mib", coordinatorPeakRSSMiB = "coordinator_peak_rss_mib"
            case coordinatorCPUMicrosecondsPerTask = "coordinator_cpu_us_per_task"
            case images, createSeconds = "create_seconds", resultsSeconds = "results_seconds", databaseMiB = "database_mib"
            case idleWorkers = "idle_workers", idleWorkerTasks = "idle_worker_tasks", idleCPUPercent = "idle_cpu_percent"
            case labels
        }
    }

    /// `executable` is the labelmill binary that runs `serve`.
    public static func run(clients: Int, tasks: Int, imagesPerTask: Int = 1, idle: Int = 0, labels: Bool = false,
                           executable: String) async throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("labelmill-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let databasePath = CoordinatorConfiguration(dataDirectory: data, tokens: TokenSet(admin: "")).databasePath
        let creating = DispatchTime.now().uptimeNanoseconds
        let jobId = try prepare(store: Store(path: databasePath), tasks: tasks, imagesPerTask: imagesPerTask)
        let createSeconds = Double(DispatchTime.now().uptimeNanoseconds - creating) / 1e9
        let token = "bench-token"
        let tokenFile = directory.appendingPathComponent("token")
        try token.write(to: tokenFile, atomically: true, encoding: .utf8)

        let port = try LocalPort.free()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: executable)
        server.arguments = ["serve", "--data", data.path, "--port", "\(port)", "--token-file", tokenFile.path, "--log-level", "error"]
        try server.run()
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        let url = "http://127.0.0.1:\(port)"
        let probe = CoordinatorClient(baseURL: url, token: token)
        for _ in 0..<200 where !(await probe.health()) { try await Task.sleep(for: .milliseconds(50)) }

        let stopIdle = AtomicFlag()
        let idleTasks = Counter()
        for _ in 0..<idle {
            let thread = Thread { IdlePoller.run(url: url, token: token, stop: stopIdle, tasks: idleTasks) }
            thread.stackSize = 256 << 10
            thread.start()
        }
        defer { stopIdle.set() }
        if idle > 0 { try await Task.sleep(for: .seconds(2)) }  // every poller connected and waiting

        let cpuBefore = cpuSeconds(pid: server.processIdentifier)
        let started = DispatchTime.now().uptimeNanoseconds
        let latencies = try await withThrowingTaskGroup(of: ([Double], [Double]).self) { group in
            for _ in 0..<clients {
                group.addTask { try await ClientThread.run(url: url, token: token, labels: labels) }
            }
            var claims: [Double] = [], completes: [Double] = []
            for try await (c, d) in group {
                claims += c
                completes += d
            }
            return (claims, completes)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        let (rss, peak) = residentMemory(pid: server.processIdentifier)
        let cpu = cpuSeconds(pid: server.processIdentifier) - cpuBefore
        var idleCPU = 0.0
        if idle > 0 {
            let before = cpuSeconds(pid: server.processIdentifier)
            try await Task.sleep(for: .seconds(10))
            idleCPU = (cpuSeconds(pid: server.processIdentifier) - before) / 10 * 100
        }
        let peakAfterIdle = residentMemory(pid: server.processIdentifier).1
        let fetching = DispatchTime.now().uptimeNanoseconds
        let results = try CurlSession(configuration: .init(bearerToken: token)).perform(ClientRequest(url: url + Routes.results.path(jobId))).requireOK()
        let resultsSeconds = Double(DispatchTime.now().uptimeNanoseconds - fetching) / 1e9
        guard results.body.count(where: { $0 == UInt8(ascii: "\n") }) == tasks * imagesPerTask else {
            throw CurlError(.io, "results.jsonl has the wrong number of lines")
        }
        let databaseBytes = [databasePath, databasePath + "-wal"].compactMap {
            (try? FileManager.default.attributesOfItem(atPath: $0))?[.size] as? Int
        }.reduce(0, +)
        let claims = latencies.0.sorted(), completes = latencies.1.sorted()
        let done = completes.count + idleTasks.value
        return Result(clients: clients, tasks: done, seconds: seconds, tasksPerSecond: Double(done) / seconds,
                      claimP50Ms: percentile(claims, 0.50), claimP90Ms: percentile(claims, 0.90), claimP99Ms: percentile(claims, 0.99),
                      claimMaxMs: claims.last ?? 0, completeP99Ms: percentile(completes, 0.99),
                      coordinatorRSSMiB: rss, coordinatorPeakRSSMiB: max(peak, peakAfterIdle),
                      coordinatorCPUMicrosecondsPerTask: done == 0 ? 0 : cpu / Double(done) * 1e6,
                      images: tasks * imagesPerTask, createSeconds: createSeconds, resultsSeconds: resultsSeconds,
                      databaseMiB: Double(databaseBytes) / 1_048_576,
                      idleWorkers: idle, idleWorkerTasks: idleTasks.value, idleCPUPercent: idleCPU, labels: labels)
    }

    /// One job of `tasks` tasks of `imagesPerTask` images, made claimable (its class embeddings marked ready).
    static func prepare(store: Store, tasks: Int, imagesPerTask: Int) throws -> String {
        let sha = String(repeating: "0", count: 64)
        try store.recordBlob(sha256: sha, size: 0, relativePath: "blobs/none")
        let model = try store.registerModel(name: "bench", files: [ModelFileEntry(name: "model.safetensors", sha256: sha, size: 0)])
        let items = (0..<tasks * imagesPerTask).map { ManifestItem(id: "img\($0)", uri: "/bench/img\($0).png", line: $0 + 1) }
        let (job, _) = try store.createJob(NewJob(name: "bench", modelId: model.id, classes: ["a", "b", "c", "d"],
                                                  options: JobSettings(shardSize: imagesPerTask, leaseSeconds: 600), idempotencyKey: nil, items: items))
        try store.setEmbeddings(jobId: job.id, sha256: sha)
        return job.id
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }

    /// User plus system CPU time of a process so far, in seconds.
    static func cpuSeconds(pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        // Fields after the command name: state is field 3, utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// VmRSS and VmHWM of a process, in MiB.
    public static func residentMemory(pid: Int32) -> (Double, Double) {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return (0, 0) }
        func field(_ name: String) -> Double {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name) }) else { return 0 }
            return (Double(line.split(separator: " ").dropFirst().first { !$0.isEmpty }.map(String.init) ?? "") ?? 0) / 1024
        }
        return (field("VmRSS:"), field("VmHWM:"))
    }
}

/// Loopback ports for the processes labelmill starts itself.
public enum LocalPort {
    /// Every port this process has handed out: a port found free is bound by its server a moment later, and until
    /// then the kernel may offer it again, so no second caller here gets it.
    private static let handedOut = Mutex(Set<Int>())

    /// A TCP port on 127.0.0.1 that was free a moment ago and that no other caller in this process was given.
    public static func free() throws -> Int { try RefusingPort().number }

    /// Binds a socket to a port on 127.0.0.1 that this process has not handed out before; returns it and the port.
    static func bind() throws -> (fd: Int32, port: Int) {
        for _ in 0..<100 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let ok = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
            }
            let port = Int(UInt16(bigEndian: address.sin_port))
            if ok, handedOut.withLock({ $0.insert(port).inserted }) { return (fd, port) }
            close(fd)
            if !ok { break }
        }
        throw CurlError(.io, "no free port on 127.0.0.1")
    }
}

/// A TCP port on 127.0.0.1 held bound but not listening, so connections to it are refused for as long as this
/// lives (a port merely found free may be handed to another server meanwhile).
public final class RefusingPort: Sendable {
    public let number: Int
    private let fd: Int32

    public init() throws { (fd, number) = try LocalPort.bind() }

    deinit { close(fd) }
}

/// One benchmark client: its own thread and keep-alive connection, claim (+ uploads) + complete until no task is
/// left.
enum ClientThread {
    static func run(url: String, token: String, labels: Bool) async throws -> ([Double], [Double]) {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try loop(url: url, token: token, labels: labels) })
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// A 64×48 image's label map, as a worker would upload it: four classes in bands, some void.
    static let labelSize = (width: 64, height: 48)
    static let labelPNG: [UInt8] = {
        let (width, height) = labelSize
        let indices = (0..<width * height).map { i -> UInt8 in i % width < 4 ? LabelMap.void : UInt8(i / width / 12) }
        return try! ImageCodec.encodeLabelPNG(LabelMap(width: width, height: height, indices: indices))
    }()
    /// Its thumbnail, a JPEG as the worker sends it.
    static let thumbnailJPEG: [UInt8] = {
        let (width, height) = labelSize
        let pixels = (0..<width * height * 3).map { UInt8(truncatingIfNeeded: $0 % 3 == 0 ? $0 / 3 % width * 4 : $0 / 3 / width * 5) }
        return try! ImageCodec.encodeJPEG(RGBImage(width: width, height: height, pixels: pixels))
    }()

    private static func loop(url: String, token: String, labels: Bool) throws -> ([Double], [Double]) {
        let session = CurlSession(configuration: .init(bearerToken: token))
        let claimBody = [UInt8](try JSONEncoder().encode(ClaimRequest(worker: "bench-\(UUID().uuidString.prefix(8))")))
        var claims: [Double] = [], completes: [Double] = []
        while true {
            var start = DispatchTime.now().uptimeNanoseconds
            let response = try session.perform(.post(url + Routes.claim.path(), body: claimBody, contentType: "application/json")).requireOK()
            claims.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            if response.status == 204 { return (claims, completes) }
            let task = try JSONDecoder().decode(TaskAssignment.self, from: Data(response.body))
            if labels { try upload(task, session: session, url: url) }
            let body = [UInt8](try JSONEncoder().encode(LeaseRequest(leaseToken: task.leaseToken)))
            start = DispatchTime.now().uptimeNanoseconds
            _ = try session.perform(.post(url + Routes.complete.path(String(task.taskId)), body: body, contentType: "application/json")).requireOK()
            completes.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
    }

    /// A thumbnail and a label map for every image of the task, as a worker uploads them.
    private static func upload(_ task: TaskAssignment, session: CurlSession, url: String) throws {
        for image in task.images {
            _ = try session.perform(ClientRequest(method: .put, url: url + Routes.uploadThumbnail.path(String(task.taskId), image.id),
                                                headers: ["Content-Type": "image/jpeg", Routes.leaseTokenHeader: task.leaseToken],
                                                body: .bytes(thumbnailJPEG))).requireOK()
            let headers: HTTPHeaders = ["Content-Type": "image/png", Routes.leaseTokenHeader: task.leaseToken,
                                        Routes.imageWidthHeader: String(labelSize.width), Routes.imageHeightHeader: String(labelSize.height)]
            _ = try session.perform(ClientRequest(method: .put, url: url + Routes.uploadLabel.path(String(task.taskId), image.id),
                                                headers: headers, body: .bytes(labelPNG))).requireOK()
        }
    }
}

/// A worker with nothing to do most of the time: long-polls for 20 s at a time on its own connection, and
/// completes whatever task a poll brings, until stopped.
enum IdlePoller {
    static func run(url: String, token: String, stop: AtomicFlag, tasks: Counter) {
        let session = CurlSession(configuration: .init(bearerToken: token))
        guard let body = try? JSONEncoder().encode(ClaimRequest(worker: "idle-\(UUID().uuidString.prefix(8))", waitSeconds: 20)) else { return }
        while !stop.isSet {
            guard let response = try? session.perform(.post(url + Routes.claim.path(), body: [UInt8](body), contentType: "application/json")) else {
                Thread.sleep(forTimeInterval: 0.5)
                continue
            }
            guard response.status == 200, let task = try? JSONDecoder().decode(TaskAssignment.self, from: Data(response.body)),
                  let lease = try? JSONEncoder().encode(LeaseRequest(leaseToken: task.leaseToken)) else { continue }
            if (try? session.perform(.post(url + Routes.complete.path(String(task.taskId)), body: [UInt8](lease), contentType: "application/json")))?.status == 204 {
                tasks.increment()
            }
        }
    }
}

/// A count shared by threads.
final class Counter: Sendable {
    private let count = Atomic(0)

    func increment() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
