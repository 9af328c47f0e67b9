/// What `labelmill model fetch` downloads and where to. The CLI maps flags and environment onto
/// it (see `baseURL(flag:environment:)` and `token(flag:environment:)`); tests build it directly.
public struct ModelFetchConfiguration: Sendable {
    public static let defaultRepo = "openai/clip-vit-base-patch16"
    public static let defaultBaseURL = "https://huggingface.co"
    public static let defaultFiles = ["config.json", "model.safetensors", "vocab.json", "merges.txt"]
    /// Environment variable that points the fetcher at a mirror or a test server.
    public static let baseURLEnvironmentKey = "LABELMILL_HF_BASE_URL"
    /// Environment variable holding a Hugging Face access token (the name the hub's own tools use).
    public static let tokenEnvironmentKey = "HF_TOKEN"

    /// `owner/name` on the hub.
    public var repo: String
    /// Branch, tag or commit.
    public var revision: String
    public var baseURL: String
    /// Files land directly in this directory, under their repository paths.
    public var outputDirectory: String
    /// Repository paths to fetch.
    public var files: [String]
    /// Sent as a bearer token to the hub (not to the CDN it redirects to).
    public var token: String?
    /// Retries for each HEAD and download; a retried download resumes its `.part` file.
    public var retry: RetryPolicy

    public init(
        outputDirectory: String,
        repo: String = ModelFetchConfiguration.defaultRepo,
        revision: String = "main",
        baseURL: String = ModelFetchConfiguration.defaultBaseURL,
        files: [String] = ModelFetchConfiguration.defaultFiles,
        token: String? = nil,
        retry: RetryPolicy = RetryPolicy(maxAttempts: 6, baseDelay: .milliseconds(500), maxDelay: .seconds(30))
    ) {
        self.outputDirectory = outputDirectory
        self.repo = repo
        self.revision = revision
        self.baseURL = baseURL
        self.files = files
        self.token = token
        self.retry = retry
    }

    /// `<base>/<repo>/resolve/<revision>/<file>`, the hub's download URL.
    public func url(for file: String) -> String {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return "\(base)/\(repo)/resolve/\(revision)/\(file)"
    }

    /// A flag wins over `LABELMILL_HF_BASE_URL`, which wins over huggingface.co.
    public static func baseURL(flag: String?, environment: [String: String]) -> String {
        nonEmpty(flag) ?? nonEmpty(environment[baseURLEnvironmentKey]) ?? defaultBaseURL
    }

    /// A flag wins over `HF_TOKEN`; nil when neither is set.
    public static func token(flag: String?, environment: [String: String]) -> String? {
        nonEmpty(flag) ?? nonEmpty(environment[tokenEnvironmentKey])
    }

    private static func nonEmpty(_ value: String?) -> String? {
        guard let value, !value.isEmpty else { return nil }
        return value
    }
}
