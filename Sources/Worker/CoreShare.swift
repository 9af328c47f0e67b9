import Foundation
import Inference
import Logging
import Support
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The workers of one host divide its cores instead of each starting a thread per core (docs/WORKER-PIPELINE.md,
/// "Several workers on one host"). They find each other in the cache directory they share. While it works on a
/// task, a worker is registered in `<cache>/workers/` with a file that names its host and the CPUs it may run on,
/// and that it holds locked; the kernel drops the lock when the worker exits, even by SIGKILL. Idle workers are
/// not registered, so they take no one's cores.
///
/// Before each image a worker counts the live registrations of its own host (its kernel's boot id: a cache on a
/// shared file system is not a host) whose CPUs overlap its own (instances pinned to disjoint cores with systemd's
/// CPUAffinity= do not divide) and takes its share of its CPUs: ⌊n / w⌋, plus one for the first n mod w workers in
/// name order. A registration whose worker died is removed by whoever finds it.
public final class CoreShare: Sendable {
    /// `<cache>/workers/<name>.lock`
    let path: String
    let host: String
    let cpus: Set<Int>
    let available: Int
    private let state = Mutex(State())

    private struct State {
        var fd: Int32 = -1
        var last: (threads: Int, workers: Int)?
    }

    static let suffix = ".lock"

    /// A worker named `name` (unique per worker) in `directory` that may run `available` threads on `cpus` of
    /// `host`.
    public init(directory: URL, name: String, cpus: [Int], available: Int, host: String = CoreShare.thisHost) {
        let safe = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
        path = directory.appendingPathComponent(safe + Self.suffix).path
        self.host = host
        self.cpus = Set(cpus)
        self.available = available
    }

    deinit { leave() }

    /// This machine: its kernel's boot id, which containers on it share, or its host name.
    public static let thisHost: String = {
        let bootID = (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return bootID.flatMap { $0.isEmpty ? nil : $0 } ?? ProcessInfo.processInfo.hostName
    }()

    var directory: String { (path as NSString).deletingLastPathComponent }

    /// Registers this worker (while it works on a task).
    package func join() throws {
        try state.withLock { state throws(FileError) in
            guard state.fd < 0 else { return }
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw FileError("create", directory, reason: "\(error)")
            }
            // Written and locked under a name no one counts, then renamed: a counter never finds an unlocked file
            // of a live worker and takes it for a dead one's.
            let staging = directory + "/." + (path as NSString).lastPathComponent + ".new"
            let fd = open(staging, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw FileError.system("open", staging) }
            let text = Array("host \(host)\ncpus \(cpus.sorted().map(String.init).joined(separator: ","))\n".utf8)
            guard flock(fd, LOCK_EX | LOCK_NB) == 0, write(fd, text, text.count) == text.count, rename(staging, path) == 0 else {
                let failure = FileError.system("register in", directory)
                unlink(staging)
                close(fd)
                throw failure
            }
            state.fd = fd
        }
    }

    /// Removes the registration (the task is over, or the worker is stopping).
    package func leave() {
        state.withLock { state in
            guard state.fd >= 0 else { return }
            unlink(path)  // before the lock goes: see `join`
            close(state.fd)
            state.fd = -1
        }
    }

    /// The live registrations of this host that share a CPU with this worker, this one included, and this one's
    /// place among them in name order.
    package func sharing() -> (rank: Int, count: Int) {
        let mine = (path as NSString).lastPathComponent
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(Self.suffix) && !$0.hasPrefix(".") && $0 != mine }
        var peers = [mine]
        for name in names {
            guard let theirs = Self.live(directory + "/" + name), theirs.host == host else { continue }
            if theirs.cpus.isEmpty || !theirs.cpus.isDisjoint(with: cpus) { peers.append(name) }
        }
        peers.sort()
        return (peers.firstIndex(of: mine)!, peers.count)
    }

    /// The host and CPUs a live worker's registration names (no CPUs when they cannot be read: taken to overlap);
    /// nil when its worker is gone, in which case the file is removed.
    private static func live(_ path: String) -> (host: String, cpus: Set<Int>)? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }  // removed meanwhile
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            unlink(path)  // nobody holds it: its worker exited without removing it
            return nil
        }
        var bytes = [UInt8](repeating: 0, count: 65_536)
        let count = read(fd, &bytes, bytes.count)
        var fields: [Substring: Substring] = [:]
        for line in String(decoding: bytes.prefix(max(0, count)), as: UTF8.self).split(separator: "\n") {
            let pair = line.split(separator: " ", maxSplits: 1)
            if pair.count == 2 { fields[pair[0]] = pair[1] }
        }
        return (String(fields["host"] ?? ""), Set((fields["cpus"] ?? "").split(separator: ",").compactMap { Int($0) }))
    }

    /// This worker's share of `available` threads when `count` workers divide them and it is `rank`-th.
    package static func share(of available: Int, rank: Int, count: Int) -> Int {
        max(1, available / count + (rank < available % count ? 1 : 0))
    }

    /// Counts the workers sharing this one's CPUs and hands its share to the compute libraries; logs a change.
    func rebalance(logger: Logger) {
        let (rank, count) = sharing()
        let threads = Self.share(of: available, rank: rank, count: count)
        let changed = state.withLock { state in
            defer { state.last = (threads, count) }
            return state.last?.threads != threads || state.last?.workers != count
        }
        guard changed else { return }
        ComputeThreads.set(threads)
        logger.info("worker.threads", metadata: ["threads": "\(threads)", "cpus": "\(available)", "workers.sharing": "\(count)"])
    }
}
