import Foundation
import Support
import Synchronization
import Testing

@Suite("WorkThreads: blocking work off the cooperative threads")
struct WorkThreadsTests {
    @Test("work runs on the named threads, not the caller's, and returns or throws what the body does")
    func runsOnItsThreads() async throws {
        let threads = WorkThreads(name: "test-work", count: 2)
        let name = try await threads.run { Thread.current.name ?? "" }
        #expect(name.hasPrefix("test-work-"))
        struct Boom: Error {}
        await #expect(throws: Boom.self) { try await threads.run { throw Boom() } }
    }

    @Test("blocked threads do not block the caller's tasks; a cancelled call that has not started never runs")
    func cancellationBeforeStartSkipsTheWork() async throws {
        let threads = WorkThreads(name: "test-one", count: 1)
        let gate = Gate()
        let ran = Atomic(0)
        // The one thread waits on the gate: everything after it queues.
        let first = Task { try await threads.run { gate.wait() } }
        try await Task.sleep(for: .milliseconds(50))
        let second = Task { try await threads.run { ran.add(1, ordering: .relaxed) } }
        try await Task.sleep(for: .milliseconds(50))
        second.cancel()
        await #expect(throws: CancellationError.self) { try await second.value }
        // The cooperative threads were free all along: this ran while the work thread was blocked.
        #expect(await Task { 21 * 2 }.value == 42)
        gate.open()
        try await first.value
        await threads.drain()
        #expect(ran.load(ordering: .relaxed) == 0, "the cancelled work never ran")
        #expect(try await threads.run { 7 } == 7, "the thread goes on after a skipped job")
    }

    @Test("a job's captures are let go when it ends (an upload's bytes must not stay until the queue is compacted)")
    func capturesGoWhenTheJobEnds() async throws {
        final class Payload: Sendable { let bytes = [UInt8](repeating: 1, count: 1 << 20) }
        let threads = WorkThreads(name: "test-captures", count: 1)
        weak var released: Payload?
        do {
            let payload = Payload()
            released = payload
            #expect(try await threads.run { payload.bytes.count } == 1 << 20)
        }
        await threads.drain()
        #expect(released == nil, "the finished job still holds what it captured")
    }

    @Test("drain waits for submitted work")
    func drainWaitsForSubmittedWork() async throws {
        let threads = WorkThreads(name: "test-drain", count: 2)
        let done = Atomic(0)
        for _ in 0..<20 { threads.submit { usleep(2_000); done.add(1, ordering: .relaxed) } }
        await threads.drain()
        #expect(done.load(ordering: .relaxed) == 20)
    }
}

/// A gate a work thread waits at until the test opens it.
private final class Gate: @unchecked Sendable {
    private let condition = NSCondition()
    private var isOpen = false

    func wait() {
        condition.lock()
        while !isOpen { condition.wait() }
        condition.unlock()
    }

    func open() {
        condition.lock()
        isOpen = true
        condition.broadcast()
        condition.unlock()
    }
}
