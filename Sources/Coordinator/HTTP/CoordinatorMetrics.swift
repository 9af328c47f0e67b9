import Foundation
import Hummingbird
import Prometheus
import Synchronization
import LabelAPI

/// `GET /metrics`, Prometheus text format. Counts of work (images, tasks and jobs by state, lease expiries,
/// retries, active workers) are read from the store at scrape time, so they are exact and survive restarts;
/// what only this process sees (request latencies, upload bytes, images labeled per worker) is counted in
/// memory since it started.
final class CoordinatorMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let uploadBytes: Counter
    private let uploads: Counter
    /// Each series' histogram, found once: the registry's lookup by labels costs more than the recording.
    private let histograms = Mutex<[String: DurationHistogram]>([:])

    static let latencyBuckets: [Duration] = [.microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
                                             .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                                             .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5), .seconds(30)]

    init() {
        uploadBytes = registry.makeCounter(descriptor: .init(
            namespace: "labelmill", metricName: "upload", unitName: "bytes_total", helpText: "Label map bytes received."))
        uploads = registry.makeCounter(descriptor: .init(
            namespace: "labelmill", metricName: "uploads", unitName: "total", helpText: "Label maps recorded."))
    }

    /// A label map recorded for the worker named `worker` (its `--name`, not its per-process id: one series
    /// per machine or unit however often it restarts).
    func uploaded(bytes: Int, worker: String) {
        uploadBytes.increment(by: Int64(bytes))
        uploads.increment()
        registry.makeCounter(
            descriptor: .init(namespace: "labelmill", subsystem: "worker", metricName: "images", unitName: "total",
                              helpText: "Images labeled, by worker name (since the coordinator started)."),
            labels: [("worker", worker)]
        ).increment()
    }

    func observe(method: String, route: String, status: Int, duration: Duration) {
        let key = "\(method) \(status) \(route)"
        if let histogram = histograms.withLock({ $0[key] }) { return histogram.record(duration) }
        let histogram = registry.makeDurationHistogram(
            descriptor: .init(namespace: "labelmill", subsystem: "http", metricName: "request_duration", unitName: "seconds",
                              helpText: "Time to answer a request, by method, route and status."),
            labels: [("method", method), ("route", route), ("status", String(status))],
            buckets: Self.latencyBuckets)
        histograms.withLock { $0[key] = histogram }
        histogram.record(duration)
    }

    /// The exposition: the store's counts, then this process's counters.
    func scrape(_ counts: FleetCounts) -> [UInt8] {
        func gauge(_ name: String, _ help: String, _ labels: [(String, String)] = []) -> Gauge {
            registry.makeGauge(descriptor: .init(namespace: "labelmill", metricName: name, unitName: "", helpText: help), labels: labels)
        }
        for (state, n) in counts.images { gauge("images", "Images of every job, by state.", [("state", state)]).set(Double(n)) }
        for (state, n) in counts.tasks { gauge("tasks", "Tasks of every job, by state (leased: held by a worker now).", [("state", state)]).set(Double(n)) }
        for (state, n) in counts.jobs { gauge("jobs", "Jobs by state.", [("state", state)]).set(Double(n)) }
        gauge("lease_expiries", "Leases that ran out before their worker finished, over all tasks.").set(Double(counts.leaseExpiries))
        gauge("retries", "Leases beyond each task's first, over all tasks.").set(Double(counts.retries))
        gauge("workers_active", "Workers seen in the last two minutes or holding a lease.").set(Double(counts.activeWorkers))
        return registry.emitToBuffer()
    }
}

/// Records every request's latency by method, route template (not the raw path) and status.
struct RequestMetricsMiddleware: RouterMiddleware {
    let metrics: CoordinatorMetrics

    func handle(_ request: Request, context: CoordinatorContext, next: (Request, CoordinatorContext) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            metrics.observe(method: request.method.rawValue, route: context.endpointPath ?? "unmatched",
                            status: response.status.code, duration: ContinuousClock.now - start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.observe(method: request.method.rawValue, route: context.endpointPath ?? "unmatched",
                            status: status, duration: ContinuousClock.now - start)
            throw error
        }
    }
}
