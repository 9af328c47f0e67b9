import Foundation
import Synchronization

/// Threads of labelmill's own for work that blocks (file reads and writes, an fsync, a lock wait, a libcurl
/// transfer, minutes of CPU): Swift's cooperative threads, one per core, must never wait on them, or every task of
/// the process waits. `run` is the one way onto them from async code; a call cancelled before its work starts
/// never runs it. Each thread may own a `Local` made on it (a libcurl handle that must not change threads); the
/// threads end once the `WorkThreads` is let go and its queue is empty.
public final class WorkThreads<Local>: Sendable {
    private let queue = JobQueue<Local>()
    public let name: String

    /// `count` threads named `name` (`name-0`, ... when several; Linux keeps 15 bytes of a name), at `nice` (on Linux a thread's own: a lower
    /// priority for work that should take only what the others leave), each with the `Local` that `local` makes
    /// on it first.
    public init(name: String, count: Int = 1, nice: Int32 = 0, local: @escaping @Sendable () -> Local) {
        self.name = name
        for index in 0..<max(1, count) {
            let (queue, threadName) = (self.queue, count > 1 ? "\(name)-\(index)" : name)
            Thread {
                // Named and niced from inside: Foundation on Linux names only the running thread, and a nice value
                // belongs to the thread that sets it (0 names the caller; lowering one's own priority is allowed).
                Thread.current.name = threadName
                if nice != 0 { setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, nice) }
                var local = local()
                while let job = queue.next() {
                    if job.take() { job.work(&local) }
                    queue.finished()
                }
            }.start()
        }
    }

    deinit { queue.close() }

    /// Runs `body` on one of the threads, with its `Local`, and returns what it returns. Cancelling the calling
    /// task before a thread takes the work throws `CancellationError` at once, and the work never runs; once it
    /// runs, it runs to its end (a body that can stop early watches a flag of its own).
    public func run<T: Sendable>(_ body: @escaping @Sendable (inout Local) throws -> T) async throws -> T {
        let queued = Mutex<Job<Local>?>(nil)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let job = Job<Local>(work: { local in continuation.resume(with: Result { try body(&local) }) },
                                     skip: { continuation.resume(throwing: CancellationError()) })
                queued.withLock { $0 = job }
                queue.push(job)
                if Task.isCancelled, job.take() { job.skip() }
            }
        } onCancel: {
            if let job = queued.withLock({ $0 }), job.take() { job.skip() }
        }
    }

    /// Queues `body` without waiting for it (work whose end nobody awaits; `drain` waits for it).
    public func submit(_ body: @escaping @Sendable (inout Local) -> Void) {
        queue.push(Job(work: body, skip: {}))
    }

    /// Returns once nothing is queued or running: for a service's graceful shutdown.
    public func drain() async {
        await queue.drain()
    }
}

extension WorkThreads where Local == Void {
    public convenience init(name: String, count: Int = 1, nice: Int32 = 0) {
        self.init(name: name, count: count, nice: nice, local: {})
    }

    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await run { (_: inout Void) in try body() }
    }

    public func submit(_ body: @escaping @Sendable () -> Void) {
        submit { (_: inout Void) in body() }
    }
}

/// One piece of work: run by a thread or skipped by a cancellation, whichever takes it first.
private final class Job<Local>: Sendable {
    let work: @Sendable (inout Local) -> Void
    let skip: @Sendable () -> Void
    private let taken = Atomic(false)

    init(work: @escaping @Sendable (inout Local) -> Void, skip: @escaping @Sendable () -> Void) {
        (self.work, self.skip) = (work, skip)
    }

    func take() -> Bool { !taken.exchange(true, ordering: .acquiringAndReleasing) }
}

/// The threads' FIFO. `next()` waits for a job and returns nil once closed and empty. A taken slot is emptied at
/// once, so a job's captures (an upload's bytes) go when it ends, not when the queue is next drained.
private final class JobQueue<Local>: @unchecked Sendable {
    private let condition = NSCondition()
    // All below under `condition`.
    private var jobs: [Job<Local>?] = []
    private var head = 0
    private var running = 0
    private var closed = false
    private var drainWaiters: [CheckedContinuation<Void, Never>] = []

    func push(_ job: Job<Local>) {
        condition.lock()
        defer { condition.unlock() }
        precondition(!closed, "work queued on threads whose owner let them go")
        jobs.append(job)
        condition.signal()
    }

    func next() -> Job<Local>? {
        condition.lock()
        defer { condition.unlock() }
        while head == jobs.count && !closed { condition.wait() }
        guard head < jobs.count else { return nil }
        let job = jobs[head]
        jobs[head] = nil
        head += 1
        if head == jobs.count {
            jobs.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 1024, head * 2 > jobs.count {
            jobs.removeFirst(head)
            head = 0
        }
        running += 1
        return job
    }

    func drain() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            let idle = head == jobs.count && running == 0
            if !idle { drainWaiters.append(continuation) }
            condition.unlock()
            if idle { continuation.resume() }
        }
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// A job `next` gave out has ended: the drain waiters go on once nothing is queued or running.
    func finished() {
        condition.lock()
        running -= 1
        let waiters = head == jobs.count && running == 0 ? drainWaiters : []
        if !waiters.isEmpty { drainWaiters = [] }
        condition.unlock()
        waiters.forEach { $0.resume() }
    }
}
