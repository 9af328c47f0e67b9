/// Every path of the coordinator's HTTP API, in one place: the server registers these and the clients build
/// URLs from them, so a renamed route is a compile error on both sides.
public enum Routes {
    /// Liveness and readiness; the only routes that need no token.
    public static let health = "/healthz"
    public static let ready = "/readyz"
    /// Prometheus metrics (any token).
    public static let metrics = "/metrics"
    /// The OpenAPI document of this API (no token needed either).
    public static let openAPI = "/openapi.json"

    public static let jobs = "/v1/jobs"
    public static let manifests = "/v1/manifests"
    public static func job(_ id: String) -> String { "/v1/jobs/\(id)" }
    public static func cancel(_ id: String) -> String { "/v1/jobs/\(id)/cancel" }
    public static func retryFailed(_ id: String) -> String { "/v1/jobs/\(id)/retry-failed" }
    public static func results(_ id: String) -> String { "/v1/jobs/\(id)/results" }
    public static func events(_ id: String) -> String { "/v1/jobs/\(id)/events" }
    public static func embeddings(_ id: String) -> String { "/v1/jobs/\(id)/embeddings" }
    public static func label(job: String, image: String) -> String { "/v1/jobs/\(job)/labels/\(image)" }

    public static let claim = "/v1/tasks/claim"
    public static func heartbeat(_ task: Int64) -> String { "/v1/tasks/\(task)/heartbeat" }
    public static func complete(_ task: Int64) -> String { "/v1/tasks/\(task)/complete" }
    public static func release(_ task: Int64) -> String { "/v1/tasks/\(task)/release" }
    public static func uploadLabel(task: Int64, image: String) -> String { "/v1/tasks/\(task)/images/\(image)/label" }
    public static func failImage(task: Int64, image: String) -> String { "/v1/tasks/\(task)/images/\(image)/fail" }

    public static let models = "/v1/models"
    public static func model(_ nameOrId: String) -> String { "/v1/models/\(nameOrId)" }
    public static func blob(_ sha256: String) -> String { "/v1/blobs/\(sha256)" }

    /// Files under the coordinator's `--image-root`, for manifest entries that are relative paths.
    public static let filesPrefix = "/v1/files/"
    public static func file(_ relativePath: String) -> String { filesPrefix + relativePath }

    /// The header that carries a lease token on label uploads (the body is the PNG).
    public static let leaseTokenHeader = "X-Lease-Token"
}
