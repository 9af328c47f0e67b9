import Foundation
import Synchronization

/// Standard error of the command line, shared by log lines and one progress line. On a terminal the progress
/// line is redrawn in place, and a log line clears it, prints, and redraws it, so the two never garble each
/// other. Anywhere else (a file, CI, the journal) progress is a plain line at most every `plainInterval`, and the
/// last state when it ends: no carriage returns, no escape codes.
public final class Console: Sendable {
    public static let standardError = Console(isTerminal: isatty(STDERR_FILENO) == 1) { text in
        FileHandle.standardError.write(Data(text.utf8))
    }

    public let isTerminal: Bool
    let plainInterval: Duration
    private let write: @Sendable (String) -> Void
    private let now: @Sendable () -> ContinuousClock.Instant

    private struct State {
        /// The progress line on screen (terminal) or the latest one (elsewhere).
        var line: String?
        /// Elsewhere: when a progress line was last printed, and whether `line` has been.
        var printedAt: ContinuousClock.Instant?
        var printed = false
    }

    private let state = Mutex(State())

    public init(isTerminal: Bool, plainInterval: Duration = .seconds(5),
                now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now },
                write: @escaping @Sendable (String) -> Void) {
        self.isTerminal = isTerminal
        self.plainInterval = plainInterval
        self.now = now
        self.write = write
    }

    /// Shows `line` as the current progress.
    public func progress(_ line: String) {
        state.withLock { state in
            state.line = line
            if isTerminal {
                write("\r\u{1B}[K" + line)
            } else if state.printedAt.map({ now() - $0 >= plainInterval }) ?? true {
                write(line + "\n")
                state.printedAt = now()
                state.printed = true
            } else {
                state.printed = false
            }
        }
    }

    /// Ends the progress display: the line stays on screen (terminal), or its last state is printed if it was not.
    public func endProgress() {
        state.withLock { state in
            guard let line = state.line else { return }
            if isTerminal {
                write("\n")
            } else if !state.printed {
                write(line + "\n")
            }
            state = State()
        }
    }

    /// Writes `text` (whole lines) without breaking the progress line.
    public func log(_ text: String) {
        state.withLock { state in
            if isTerminal, let line = state.line {
                write("\r\u{1B}[K" + text + line)
            } else {
                write(text)
            }
        }
    }
}

/// What swift-log's `StreamLogHandler` writes to, for log lines that go through `Console.standardError`.
public struct ConsoleLogStream: TextOutputStream, Sendable {
    public init() {}
    public mutating func write(_ string: String) { Console.standardError.log(string) }
}
