import Foundation
import Testing

import Coordinator

@Suite struct WorkSignalTests {
    /// A long wait ends at the notify, not at its timeout (an hour: the suite's time limit would catch it).
    @Test(.timeLimit(.minutes(1)))
    func notifyWakesWaiters() async {
        let signal = WorkSignal()
        let woken = LockedList<Int>()
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<50 {
                group.addTask {
                    if await signal.wait(timeout: .seconds(3600)) { woken.append(i) }
                }
            }
            while woken.items.count < 50 {
                signal.notify(count: 50)
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        #expect(Set(woken.items) == Set(0..<50))
    }

    /// New work for one task wakes one waiter, the one that waited longest; the others sleep on.
    @Test(.timeLimit(.minutes(1)))
    func oneTaskWakesOneWaiter() async throws {
        let signal = WorkSignal()
        let woken = LockedList<Int>()
        // Until `count` waiters have woken (however busy the machine), then a little longer, for any extra to show.
        func settle(_ count: Int) async {
            let deadline = ContinuousClock.now + .seconds(20)
            while woken.items.count < count, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(1)) }
            try? await Task.sleep(for: .milliseconds(100))
        }
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<10 {
                group.addTask {
                    if await signal.wait(timeout: .seconds(3600)) { woken.append(i) }
                }
                while signal.waiting < i + 1 { try? await Task.sleep(for: .milliseconds(1)) }
            }
            signal.notify(count: 1)
            await settle(1)
            #expect(woken.items == [0])
            #expect(signal.waiting == 9)
            signal.notify(count: 3)
            await settle(4)
            #expect(woken.items.sorted() == [0, 1, 2, 3])
            signal.notifyAll()
        }
        #expect(woken.items.count == 10)
    }

    @Test(.timeLimit(.minutes(1)))
    func waitsEndAtTheirTimeoutWithoutANotify() async {
        let signal = WorkSignal()
        for _ in 0..<100 { #expect(await signal.wait(timeout: .milliseconds(1)) == false) }
        // A notify with nobody waiting is harmless, and a later wait still times out.
        signal.notify(count: 5)
        #expect(await signal.wait(timeout: .milliseconds(1)) == false)
    }
}
