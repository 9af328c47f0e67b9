import Foundation

/// A TCP proxy on 127.0.0.1 in front of the coordinator that breaks whole HTTP requests on a fixed schedule:
/// every `every`-th request (counted over all connections, in arrival order) gets a fault, the kinds taking turns.
/// - drop: the request is not forwarded and the connection closes (the client gets nothing);
/// - delay: the request is forwarded after `delay`;
/// - truncate: the request is forwarded, and of its response only the head and half the body (or, without a
///   body, half the head) before the connection closes;
/// - reset: the request is not forwarded and the connection is closed with a TCP RST.
/// No request (method and path) fails more than `maxInARow` times in a row: a fault due on it moves to the
/// next request, so every request gets through within the worker's retry budget (5 attempts).
/// An `Outage`, if given, resets every request while it lasts, before the schedule is consulted.
/// One thread accepts; each connection has its own forwarding thread (`ProxiedConnection`).
final class TCPFaultProxy: @unchecked Sendable {
    enum Fault: String, CaseIterable, Sendable {
        case drop, delay, truncate, reset
    }

    struct Schedule: Sendable {
        var every: Int
        var kinds: [Fault] = Fault.allCases
        var delay: Duration = .milliseconds(400)
        var maxInARow = 2

        var delaySeconds: Double { Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18 }

        /// No scheduled faults (for a proxy that only has an outage).
        static let quiet = Schedule(every: .max)
    }

    let port: Int
    let upstreamPort: Int
    let schedule: Schedule
    private let listener: Int32
    private let lock = NSLock()
    private let threads = DispatchGroup()
    private var stopped = false
    private var requestCount = 0
    private var connectionCount = 0
    private var owed = 0
    private var faultCount = 0
    private var injected: [Fault: Int] = [:]
    private var failuresInARow: [String: Int] = [:]
    private var journal: [String] = []
    private var scheduledOutage: Outage?

    init(upstreamPort: Int, schedule: Schedule = .quiet, outage: Outage? = nil) throws {
        precondition(schedule.every >= 1 && !schedule.kinds.isEmpty)
        (listener, port) = try LoopbackSocket.makeListener()
        self.upstreamPort = upstreamPort
        self.schedule = schedule
        scheduledOutage = outage
        threads.enter()
        Thread { [self] in
            acceptLoop()
            threads.leave()
        }.start()
    }

    var url: String { "http://127.0.0.1:\(port)" }
    var isStopped: Bool { lock.withLock { stopped } }
    /// Connections accepted, requests seen and faults injected so far, by kind.
    var counts: (connections: Int, requests: Int, faults: [Fault: Int]) {
        lock.withLock { (connectionCount, requestCount, injected) }
    }
    /// Every fault the schedule injected: "#<request number> <fault> <method> <path>".
    var faults: [String] { lock.withLock { journal } }
    /// The outage as it stands: when it began and ended, and what it reset.
    var outage: Outage? { lock.withLock { scheduledOutage } }

    /// Stops accepting, ends every connection and waits (up to 5 s) for the threads.
    func stop() {
        let first = lock.withLock {
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        _ = threads.wait(timeout: .now() + 5)
        close(listener)
    }

    /// The fault for the next request, if any (see the type's comment).
    func fault(forRequest key: String) -> Fault? {
        lock.withLock {
            requestCount += 1
            if scheduledOutage?.isDown(for: key) == true { return .reset }
            if requestCount % schedule.every == 0 { owed += 1 }
            guard owed > 0, failuresInARow[key, default: 0] < schedule.maxInARow else {
                failuresInARow[key] = 0
                return nil
            }
            owed -= 1
            let fault = schedule.kinds[faultCount % schedule.kinds.count]
            faultCount += 1
            injected[fault, default: 0] += 1
            journal.append("#\(requestCount) \(fault.rawValue) \(key)")
            failuresInARow[key] = fault == .delay ? 0 : failuresInARow[key, default: 0] + 1
            return fault
        }
    }

    private func acceptLoop() {
        while !isStopped {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            lock.withLock { connectionCount += 1 }
            threads.enter()
            Thread { [self] in
                defer { threads.leave() }
                guard let server = try? LoopbackSocket.dial(port: upstreamPort) else {
                    close(client)
                    return
                }
                ProxiedConnection(proxy: self, client: client, server: server).run()
            }.start()
        }
    }
}
