import Foundation
import Testing

@testable import Coordinator

@Suite struct WorkSignalTests {
    /// A long wait ends at the notify, not at its timeout (an hour: the suite's time limit would catch it).
    @Test(.timeLimit(.minutes(1)))
    func notifyWakesWaiters() async {
        let signal = WorkSignal()
        let woken = LockedList<Int>()
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<50 {
                group.addTask {
                    await signal.wait(timeout: .seconds(3600))
                    woken.append(i)
                }
            }
            while woken.items.count < 50 {
                signal.notify()
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        #expect(Set(woken.items) == Set(0..<50))
    }

    @Test(.timeLimit(.minutes(1)))
    func waitsEndAtTheirTimeoutWithoutANotify() async {
        let signal = WorkSignal()
        for _ in 0..<100 { await signal.wait(timeout: .milliseconds(1)) }
        // A notify with nobody waiting is harmless, and a later wait still times out.
        signal.notify()
        await signal.wait(timeout: .milliseconds(1))
    }
}
