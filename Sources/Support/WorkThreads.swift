import Foundation
import Synchronization

/// Threads of labelmill's own for work that blocks (file reads and writes, an fsync, a lock wait, minutes of CPU):
/// Swift's cooperative threads, one per core, must never wait on them, or every task of the process waits. `run`
/// is the one way onto them from async code; a call cancelled before its work starts never runs it.
public final class WorkThreads: Sendable {
    private final class Job: Sendable {
        let work: @Sendable () -> Void
        let skip: @Sendable () -> Void
        /// Set when the job is taken, by a thread (to run it) or by a cancellation (to skip it): whichever is first.
        let taken = Atomic(false)
        init(work: @escaping @Sendable () -> Void, skip: @escaping @Sendable () -> Void) { (self.work, self.skip) = (work, skip) }
        func take() -> Bool { !taken.exchange(true, ordering: .acquiringAndReleasing) }
    }

    private struct State {
        /// Jobs in arrival order from `head`; a taken slot is emptied at once, so a job's captures (an upload's
        /// bytes) go when it ends, not when the queue is next compacted.
        var queue: [Job?] = []
        var head = 0
        var running = 0
        var drainWaiters: [CheckedContinuation<Void, Never>] = []
        var isIdle: Bool { head == queue.count && running == 0 }
    }

    private let state = Mutex(State())
    private let wake = NSCondition()
    public let name: String

    /// `count` threads named `name`, started now and kept for the process's life.
    public init(name: String, count: Int) {
        self.name = name
        for index in 0..<max(1, count) {
            let threadName = count > 1 ? "\(name)-\(index)" : name
            // Named from inside: Foundation on Linux names only the running thread (for ps, gdb and crash logs).
            Thread { [self] in
                Thread.current.name = threadName
                loop()
            }.start()
        }
    }

    /// Runs `body` on one of the threads and returns what it returns. Cancelling the calling task before a thread
    /// takes the work throws `CancellationError` at once, and the work never runs; once it runs, it runs to its end.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let queued = Mutex<Job?>(nil)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let job = Job(work: { continuation.resume(with: Result { try body() }) },
                              skip: { continuation.resume(throwing: CancellationError()) })
                queued.withLock { $0 = job }
                enqueue(job)
                if Task.isCancelled, job.take() { job.skip() }
            }
        } onCancel: {
            if let job = queued.withLock({ $0 }), job.take() { job.skip() }
        }
    }

    /// Queues `body` without waiting for it (work whose end nobody awaits; `drain` waits for it).
    public func submit(_ body: @escaping @Sendable () -> Void) {
        enqueue(Job(work: body, skip: {}))
    }

    /// Returns once nothing is queued or running: for a service's graceful shutdown.
    public func drain() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = state.withLock { state in
                if state.isIdle { return true }
                state.drainWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }

    private func enqueue(_ job: Job) {
        state.withLock { $0.queue.append(job) }
        wake.lock()
        wake.signal()
        wake.unlock()
    }

    private func loop() {
        while true {
            wake.lock()
            var job: Job?
            while job == nil {
                job = state.withLock { state -> Job? in
                    guard state.head < state.queue.count else { return nil }
                    let next = state.queue[state.head]
                    state.queue[state.head] = nil
                    state.head += 1
                    if state.head == state.queue.count {
                        state.queue.removeAll(keepingCapacity: true)
                        state.head = 0
                    } else if state.head > 1024, state.head * 2 > state.queue.count {
                        state.queue.removeFirst(state.head)
                        state.head = 0
                    }
                    state.running += 1
                    return next
                }
                if job == nil { wake.wait() }
            }
            wake.unlock()
            if let job, job.take() { job.work() }
            let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.running -= 1
                guard state.isIdle else { return [] }
                defer { state.drainWaiters = [] }
                return state.drainWaiters
            }
            waiters.forEach { $0.resume() }
        }
    }
}
