import Synchronization
import Testing
import LabelClient

@Suite("The console: progress and log lines on a terminal and elsewhere")
struct ConsoleTests {
    final class Output: Sendable {
        let text = Mutex("")
        let clock = Mutex(ContinuousClock.now)
        func console(terminal: Bool) -> Console {
            Console(isTerminal: terminal, plainInterval: .seconds(5), now: { self.clock.withLock { $0 } }) { written in
                self.text.withLock { $0 += written }
            }
        }
        func advance(_ seconds: Int) { clock.withLock { $0 += .seconds(seconds) } }
    }

    @Test("elsewhere: a plain line every few seconds and the last state, no carriage returns or escape codes")
    func plainLines() {
        let output = Output()
        let console = output.console(terminal: false)
        console.progress("1/10")
        console.progress("2/10")
        output.advance(6)
        console.progress("3/10")
        console.log("info worker.started\n")
        console.progress("9/10")
        console.endProgress()
        let text = output.text.withLock { $0 }
        #expect(text == "1/10\n3/10\ninfo worker.started\n9/10\n")
        #expect(!text.contains("\r") && !text.contains("\u{1B}"))
    }

    @Test("on a terminal: the bar is redrawn in place and a log line clears it, prints, and redraws it")
    func terminal() {
        let output = Output()
        let console = output.console(terminal: true)
        console.progress("1/10")
        console.log("warning http.retry\n")
        console.progress("2/10")
        console.endProgress()
        console.log("done\n")
        #expect(output.text.withLock { $0 } == "\r\u{1B}[K1/10\r\u{1B}[Kwarning http.retry\n1/10\r\u{1B}[K2/10\ndone\n")
    }
}
