import Foundation

extension TCPFaultProxy {
    /// A stretch in which the coordinator looks dead to the proxy's clients: from the first request that `begins`
    /// matches (that one included) until the first that `ends` matches, every request is answered with a TCP RST
    /// and not forwarded. The request that ends it goes through, and so does everything after. Requests are
    /// matched as "<method> <path>" (without the query), in arrival order over all connections.
    struct Outage: Sendable {
        let begins: @Sendable (String) -> Bool
        let ends: @Sendable (String) -> Bool
        private(set) var began: ContinuousClock.Instant?
        private(set) var ended: ContinuousClock.Instant?
        /// The request that ended it.
        private(set) var endedBy: String?
        /// The requests reset while it lasted, by "<method> <path>".
        private(set) var resets: [String: Int] = [:]

        init(begins: @escaping @Sendable (String) -> Bool, ends: @escaping @Sendable (String) -> Bool) {
            self.begins = begins
            self.ends = ends
        }

        var duration: Duration? { began.flatMap { began in ended.map { $0 - began } } }

        /// Whether the request `key`, the next to arrive, is to be reset; it may begin or end the outage.
        mutating func isDown(for key: String) -> Bool {
            guard ended == nil else { return false }
            if began == nil {
                guard begins(key) else { return false }
                began = .now
            } else if ends(key) {
                ended = .now
                endedBy = key
                return false
            }
            resets[key, default: 0] += 1
            return true
        }
    }
}
