import Foundation
import Synchronization

/// Fault injection for the fault suite: `LABELMILL_FAULTS=kill@upload:2` makes the worker SIGKILL itself the
/// second time it reaches the upload of a label map, so a test can kill a real worker at an exact phase
/// instead of at a lucky moment. Several points are separated by commas; the count defaults to 1. Unset (as in
/// production), every point is a no-op.
enum FaultPoints {
    enum Phase: String, CaseIterable {
        case download, inference, upload, heartbeat, complete
    }

    private static let kills: [Phase: Int] = parse(ProcessInfo.processInfo.environment["LABELMILL_FAULTS"] ?? "")
    private static let counts = Counts()

    /// Called when the worker reaches `phase`.
    static func reached(_ phase: Phase) {
        guard let at = kills[phase], counts.next(phase) == at else { return }
        FileHandle.standardError.write(Data("labelmill worker: fault injection: SIGKILL at \(phase.rawValue) #\(at)\n".utf8))
        kill(getpid(), SIGKILL)
    }

    static func parse(_ text: String) -> [Phase: Int] {
        var kills: [Phase: Int] = [:]
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "@", maxSplits: 1)
            guard parts.count == 2, parts[0] == "kill" else { continue }
            let target = parts[1].split(separator: ":", maxSplits: 1)
            guard let phase = Phase(rawValue: String(target[0])) else { continue }
            kills[phase] = target.count == 2 ? Int(target[1]) ?? 1 : 1
        }
        return kills
    }

    private final class Counts: Sendable {
        private let reached = Mutex<[Phase: Int]>([:])

        func next(_ phase: Phase) -> Int {
            reached.withLock { reached in
                reached[phase, default: 0] += 1
                return reached[phase]!
            }
        }
    }
}
