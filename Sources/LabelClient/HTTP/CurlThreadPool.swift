import Foundation

/// Dedicated threads for blocking libcurl calls, so they never occupy the cooperative pool.
/// Each thread creates and owns one `CurlSession` (one handle, one connection cache) and runs jobs
/// from a shared FIFO queue; the session never leaves its thread. Threads end once the pool is
/// released and the queue is drained.
final class CurlThreadPool: Sendable {
    typealias Job = @Sendable (CurlSession) -> Void

    private let queue = JobQueue()

    init(threads: Int, configuration: CurlSession.Configuration, name: String = "labelmill.curl") {
        for index in 0..<max(1, threads) {
            let queue = self.queue
            let thread = Thread {
                let session = CurlSession(configuration: configuration)
                while let job = queue.next() { job(session) }
            }
            thread.name = "\(name).\(index)"
            thread.start()
        }
    }

    deinit { queue.close() }

    func submit(_ job: @escaping Job) {
        queue.push(job)
    }
}

/// A blocking FIFO: `next()` waits for a job and returns nil once closed and empty.
private final class JobQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [CurlThreadPool.Job] = []
    private var head = 0
    private var closed = false

    func push(_ job: @escaping CurlThreadPool.Job) {
        condition.lock()
        defer { condition.unlock() }
        precondition(!closed, "job submitted to a closed CurlThreadPool")
        jobs.append(job)
        condition.signal()
    }

    func next() -> CurlThreadPool.Job? {
        condition.lock()
        defer { condition.unlock() }
        while head == jobs.count && !closed { condition.wait() }
        guard head < jobs.count else { return nil }
        let job = jobs[head]
        head += 1
        if head == jobs.count {  // drained: reclaim the storage
            jobs.removeAll(keepingCapacity: true)
            head = 0
        }
        return job
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}
