/// How often and how patiently to try again: exponential backoff, by default with full jitter
/// (a uniformly random wait below the exponential ceiling, so many workers do not retry in step).
public struct RetryPolicy: Sendable, Equatable {
    public enum Jitter: Sendable, Equatable {
        /// Wait exactly the ceiling.
        case none
        /// Wait a uniformly random time in [0, ceiling].
        case full
    }

    /// Attempts in all, the first included; 1 means no retry.
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration
    public var jitter: Jitter

    public init(maxAttempts: Int = 5, baseDelay: Duration = .milliseconds(250), maxDelay: Duration = .seconds(30), jitter: Jitter = .full) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.jitter = jitter
    }

    /// The default for API calls: 5 attempts, 250 ms doubling up to 30 s, full jitter.
    public static let standard = RetryPolicy()

    /// A single attempt.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// Retries without waiting (for tests and for callers that pace themselves).
    public static func immediate(maxAttempts: Int) -> RetryPolicy {
        RetryPolicy(maxAttempts: maxAttempts, baseDelay: .zero, maxDelay: .zero, jitter: .none)
    }

    /// The longest wait after failed attempt `attempt` (1-based): baseDelay·2^(attempt−1), capped.
    public func ceiling(afterAttempt attempt: Int) -> Duration {
        var ceiling = min(baseDelay, maxDelay)
        for _ in 1..<max(1, attempt) {
            ceiling = ceiling * 2
            if ceiling >= maxDelay { return maxDelay }
        }
        return ceiling
    }

    /// The wait after failed attempt `attempt`; `random` in [0, 1) picks it below the ceiling.
    public func delay(afterAttempt attempt: Int, random: Double) -> Duration {
        let ceiling = ceiling(afterAttempt: attempt)
        switch jitter {
        case .none: return ceiling
        case .full: return ceiling * min(max(random, 0), 1)
        }
    }
}

/// Sleep and randomness behind retries, injectable so the schedule is tested without waiting.
public struct RetryClock: Sendable {
    public var sleep: @Sendable (Duration) async throws -> Void
    /// Uniform in [0, 1).
    public var random: @Sendable () -> Double

    public init(sleep: @escaping @Sendable (Duration) async throws -> Void, random: @escaping @Sendable () -> Double) {
        self.sleep = sleep
        self.random = random
    }

    public static let live = RetryClock(
        sleep: { try await Task.sleep(for: $0) },
        random: { Double.random(in: 0..<1) })
}
