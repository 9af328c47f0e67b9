import Foundation

/// One route of the coordinator's HTTP API: its method, its path template and who may call it. The server
/// registers every route from `Routes` and enforces `access`; the clients build their URLs with `path(_:)`, so a
/// renamed route or parameter is a compile error on both sides.
public struct Route: Sendable, Hashable, CustomStringConvertible {
    public enum Method: String, Sendable, Hashable, CaseIterable {
        case get = "GET", head = "HEAD", post = "POST", put = "PUT", delete = "DELETE"
    }

    /// Which bearer token a route needs (or, for the dashboard, a signed-in session: it speaks for the admin).
    public enum Access: String, Sendable, Hashable {
        /// None: health checks, the API document, the dashboard's sign-in.
        case open
        /// The worker token or the admin token.
        case worker
        /// The admin token only.
        case admin
    }

    public let method: Method
    /// The path with `{name}` placeholders, e.g. `/v1/tasks/{task}/heartbeat`; a last placeholder `{name*}`
    /// takes the rest of the path, slashes included.
    public let template: String
    public let access: Access

    /// The template split at its slashes, read once: clients build a path per request.
    private let parts: [Part]

    private enum Part: Sendable, Hashable {
        case literal(String)
        /// `rest`: a `{name*}` placeholder, whose value keeps its slashes.
        case placeholder(name: String, rest: Bool)
    }

    public init(_ method: Method, _ template: String, _ access: Access) {
        self.method = method
        self.template = template
        self.access = access
        parts = template.split(separator: "/", omittingEmptySubsequences: false).map { part in
            guard part.hasPrefix("{"), part.hasSuffix("}") else { return .literal(String(part)) }
            let rest = part.hasSuffix("*}")
            return .placeholder(name: String(part.dropFirst().dropLast(rest ? 2 : 1)), rest: rest)
        }
    }

    public var description: String { "\(method.rawValue) \(template)" }

    /// The placeholders' names, in order (without braces or `*`).
    public var parameters: [String] {
        parts.compactMap { part in
            guard case .placeholder(let name, _) = part else { return nil }
            return name
        }
    }

    /// The path with `values` in the placeholders, in order. Each value is percent-encoded as one path component;
    /// the value of a `{name*}` placeholder keeps its slashes.
    public func path(_ values: String...) -> String { path(values) }

    public func path(_ values: [String]) -> String {
        precondition(values.count == parameters.count, "\(self) takes \(parameters.count) values, got \(values.count)")
        var path = ""
        var next = 0
        for (index, part) in parts.enumerated() {
            if index > 0 { path += "/" }
            switch part {
            case .literal(let text):
                path += text
            case .placeholder(_, let rest):
                let value = values[next]
                next += 1
                path += rest ? value.split(separator: "/", omittingEmptySubsequences: false).map { Self.escape(String($0)) }.joined(separator: "/")
                             : Self.escape(value)
            }
        }
        return path
    }

    /// Percent-encodes a value as one path component: every byte but the unreserved ones and the sub-delimiters
    /// other than `;`, plus `:` and `@` (RFC 3986's pchar, less `;`).
    public static func escape(_ component: String) -> String {
        let utf8 = component.utf8
        if utf8.allSatisfy(isAllowed) { return component }
        let hex = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count * 3)
        for byte in utf8 {
            if isAllowed(byte) {
                bytes.append(byte)
            } else {
                bytes += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "!"), UInt8(ascii: "$"),
             UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"),
             UInt8(ascii: ","), UInt8(ascii: "="), UInt8(ascii: ":"), UInt8(ascii: "@"):
            return true
        default:
            return false
        }
    }
}

/// Every route of the coordinator's API, in one place.
public enum Routes {
    // Liveness, readiness and the API document: no token.
    /// The dashboard, or its sign-in page without a session; `/?token=ADMIN_TOKEN` signs in.
    public static let root = Route(.get, "/", .open)
    public static let health = Route(.get, "/healthz", .open)
    public static let ready = Route(.get, "/readyz", .open)
    public static let openAPI = Route(.get, "/openapi.json", .open)
    /// Prometheus metrics: either token.
    public static let metrics = Route(.get, "/metrics", .worker)

    // Jobs: the admin token.
    public static let createJob = Route(.post, "/v1/jobs", .admin)
    public static let jobs = Route(.get, "/v1/jobs", .admin)
    public static let uploadManifest = Route(.put, "/v1/manifests", .admin)
    public static let job = Route(.get, "/v1/jobs/{job}", .admin)
    /// A finished job and its data (label maps, ledger).
    public static let deleteJob = Route(.delete, "/v1/jobs/{job}", .admin)
    public static let cancel = Route(.post, "/v1/jobs/{job}/cancel", .admin)
    public static let retryFailed = Route(.post, "/v1/jobs/{job}/retry-failed", .admin)
    public static let results = Route(.get, "/v1/jobs/{job}/results", .admin)
    public static let events = Route(.get, "/v1/jobs/{job}/events", .admin)
    public static let label = Route(.get, "/v1/jobs/{job}/labels/{image}", .admin)
    /// The thumbnail its worker uploaded with the label (a JPEG, at most 256 pixels a side).
    public static let thumbnail = Route(.get, "/v1/jobs/{job}/thumbnails/{image}", .admin)
    /// The confidence map its worker uploaded with the label (an 8-bit grayscale PNG), in a job that saves them.
    public static let confidence = Route(.get, "/v1/jobs/{job}/confidence/{image}", .admin)
    /// A page of the job's labeled or failed images, optionally only those containing a class (the gallery).
    public static let gallery = Route(.get, "/v1/jobs/{job}/gallery", .admin)
    /// One failed image back to pending, in a task of its own.
    public static let retryImage = Route(.post, "/v1/jobs/{job}/images/{image}/retry", .admin)
    /// A WebDataset job's output shard (a tar of `<key>.label.png`, `<key>.error.txt`, `<key>.conf.png`), by the
    /// name of its input shard; there once the shard's task is done.
    public static let outputShard = Route(.get, "/v1/jobs/{job}/shards/{name}", .admin)
    /// The job's class embeddings, which workers download.
    public static let embeddings = Route(.get, "/v1/jobs/{job}/embeddings", .worker)

    // Tasks: what a worker does with a lease.
    public static let claim = Route(.post, "/v1/tasks/claim", .worker)
    public static let heartbeat = Route(.post, "/v1/tasks/{task}/heartbeat", .worker)
    public static let complete = Route(.post, "/v1/tasks/{task}/complete", .worker)
    public static let release = Route(.post, "/v1/tasks/{task}/release", .worker)
    public static let uploadLabel = Route(.put, "/v1/tasks/{task}/images/{image}/label", .worker)
    /// A small JPEG of the image for the dashboard's gallery, uploaded before its label.
    public static let uploadThumbnail = Route(.put, "/v1/tasks/{task}/images/{image}/thumbnail", .worker)
    /// The image's confidence map, in a job that saves them; uploaded before its label.
    public static let uploadConfidence = Route(.put, "/v1/tasks/{task}/images/{image}/confidence", .worker)
    public static let failImage = Route(.post, "/v1/tasks/{task}/images/{image}/fail", .worker)
    /// A job with an output: the worker wrote the label map there; this records it (see `LabelReceipt`).
    public static let receipt = Route(.post, "/v1/tasks/{task}/images/{image}/receipt", .worker)
    /// A shard task's samples, as its worker found them in the shard (see `SampleDeclaration`).
    public static let declareSamples = Route(.post, "/v1/tasks/{task}/samples", .worker)
    /// The worker cannot prepare the task's job at all (see `TaskFailure`).
    public static let failTask = Route(.post, "/v1/tasks/{task}/fail", .worker)

    // Models: registered by the admin, read by workers.
    public static let registerModel = Route(.post, "/v1/models", .admin)
    public static let models = Route(.get, "/v1/models", .admin)
    public static let model = Route(.get, "/v1/models/{model}", .worker)
    public static let uploadBlob = Route(.put, "/v1/blobs/{sha}", .admin)
    public static let blobExists = Route(.head, "/v1/blobs/{sha}", .worker)
    public static let blob = Route(.get, "/v1/blobs/{sha}", .worker)

    /// Files under the coordinator's `--image-root`, for manifest entries that are relative paths.
    public static let file = Route(.get, "/v1/files/{path*}", .worker)

    // The dashboard (see docs/DASHBOARD.md): a form post of the admin token starts a session (a cookie).
    public static let signIn = Route(.post, "/ui/sign-in", .open)
    public static let signOut = Route(.post, "/ui/sign-out", .admin)
    /// Its script and style sheet, embedded in the binary (the style sheet is the sign-in page's too).
    public static let script = Route(.get, "/ui/app.js", .admin)
    public static let styleSheet = Route(.get, "/ui/app.css", .open)
    /// The pages' icon (an SVG), open: a browser asks for it on every page, the API's JSON ones too.
    public static let favicon = Route(.get, "/favicon.ico", .open)
    /// Per-worker figures and images per minute of a job.
    public static let activity = Route(.get, "/v1/jobs/{job}/activity", .admin)

    // Label Studio's ML backend protocol (docs/LABEL-STUDIO.md): Label Studio connects to `/label-studio` with Basic
    // authentication, the admin token as the password.
    public static let labelStudioHealth = Route(.get, "/label-studio/health", .admin)
    public static let labelStudioSetup = Route(.post, "/label-studio/setup", .admin)
    public static let labelStudioPredict = Route(.post, "/label-studio/predict", .admin)
    /// Images Label Studio serves itself (`/data/upload/…`, `/data/local-files/?d=…`), fetched by the coordinator
    /// with its Label Studio key for workers, which never hold it.
    public static let labelStudioFile = Route(.get, "/v1/label-studio-files/{path*}", .worker)

    public static let all: [Route] = [
        root, health, ready, openAPI, metrics,
        createJob, jobs, uploadManifest, job, deleteJob, cancel, retryFailed, results, events, label, embeddings, activity,
        thumbnail, confidence, gallery, retryImage, outputShard,
        claim, heartbeat, complete, release, uploadLabel, uploadThumbnail, uploadConfidence, failImage, receipt, failTask, declareSamples,
        registerModel, models, model, uploadBlob, blobExists, blob, file,
        signIn, signOut, script, styleSheet, favicon,
        labelStudioHealth, labelStudioSetup, labelStudioPredict, labelStudioFile,
    ]

    /// The prefix of `file` paths: an image URI a worker gets starting with it is fetched from the coordinator.
    public static let filesPrefix = "/v1/files/"
    /// The same for `labelStudioFile`.
    public static let labelStudioFilesPrefix = "/v1/label-studio-files/"

    /// Whether a worker fetches `uri` from its coordinator (with its token).
    public static func isCoordinatorFile(_ uri: String) -> Bool { uri.hasPrefix(filesPrefix) || uri.hasPrefix(labelStudioFilesPrefix) }

    /// The header that carries a lease token on label uploads (the body is the PNG).
    public static let leaseTokenHeader = "X-Lease-Token"
    /// The source image's size, which label and confidence uploads state (the map must be as large).
    public static let imageWidthHeader = "X-Image-Width"
    public static let imageHeightHeader = "X-Image-Height"
    /// A job list's length before paging.
    public static let totalCountHeader = "X-Total-Count"
}
