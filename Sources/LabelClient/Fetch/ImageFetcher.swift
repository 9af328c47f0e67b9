import Foundation
import LabelAPI
import Support

/// Gets an image's bytes from where its manifest entry points: the coordinator's file route (with the token),
/// an http(s) URL (without it: tokens never go to third parties), an s3:// object (signed with this host's AWS
/// credentials), or a local path / file:// URL.
public struct ImageFetcher: Sendable {
    public let client: CoordinatorClient
    public let maxBytes: Int
    public let timeout: Duration
    /// How s3:// images are read, or why they cannot be (an unreadable ~/.aws/config, say).
    public let s3: Result<S3Client, S3Error>

    public init(client: CoordinatorClient, maxBytes: Int, timeout: Duration,
         s3: Result<S3Configuration, S3Error> = Result { () throws(S3Error) in try S3Configuration.resolve() }) {
        self.client = client
        self.maxBytes = maxBytes
        self.timeout = timeout
        self.s3 = s3.map { S3Client(configuration: $0, http: client.http, retry: client.retry) }
    }

    /// A failure to fetch: `permanent` ones (404, missing file) are not worth another try.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public let permanent: Bool
    }

    public func fetch(_ uri: String) async throws -> [UInt8] {
        if Routes.isCoordinatorFile(uri) {
            return try await download(ClientRequest(url: client.baseURL + uri, headers: ["Authorization": "Bearer \(client.token)"]), uri)
        }
        if uri.hasPrefix("http://") || uri.hasPrefix("https://") {
            return try await download(ClientRequest(url: uri, timeout: timeout), uri)
        }
        if let problem = ImageURI.unsupported(uri) { throw Failure(description: "\(uri): \(problem)", permanent: true) }
        if S3Location.isS3(uri), let location = try? S3Location.parse(uri) {
            do {
                return try await s3.get().get(location, maxBytes: maxBytes, timeout: timeout)
            } catch {
                throw Failure(description: error.description, permanent: !error.isRetryable)
            }
        }
        let path = Self.path(of: uri)
        guard path.hasPrefix("/") else {
            throw Failure(description: "\(uri) is a relative path and the coordinator serves no --image-root", permanent: true)
        }
        return try await Self.localFiles.run { [maxBytes] in try Self.read(path, maxBytes: maxBytes) }
    }

    /// Reads of this machine's files (up to the image limit, from NFS too): on threads of their own, so a slow disk
    /// never holds Swift's cooperative threads.
    private static let localFiles = WorkThreads(name: "lm-local", count: 2)

    private static func read(_ path: String, maxBytes: Int) throws -> [UInt8] {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard let attributes, (attributes[.type] as? FileAttributeType) == .typeRegular else {
            throw Failure(description: "\(path): no such file", permanent: true)
        }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        guard size <= maxBytes else { throw Failure(description: "\(path) is \(size) bytes, over the \(maxBytes)-byte limit", permanent: true) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(description: "\(path): cannot read", permanent: true)
        }
        return [UInt8](data)
    }

    /// Why a server did not give the image, in words (rough edges, item 9): the file route's path as the manifest
    /// named it, and what the status means rather than its number.
    public static func refusal(_ uri: String, status: Int) -> String {
        if let path = servedPath(uri) {
            switch status {
            case 404: return "\(path): no such file under the coordinator's --image-root"
            case 413: return "\(path) is larger than the coordinator serves (its --max-image-bytes)"
            default: return "\(path): the coordinator could not serve it (\(Self.meaning(of: status)))"
            }
        }
        if uri.hasPrefix(Routes.labelStudioFilesPrefix) {
            // The coordinator answers with Label Studio's own words.
            return "Label Studio's /\(uri.dropFirst(Routes.labelStudioFilesPrefix.count)): \(Self.meaning(of: status))"
        }
        return "\(uri): \(Self.meaning(of: status))"
    }

    /// The path under the coordinator's --image-root that a coordinator-served image's URI names, as its manifest
    /// named it; nil for any other URI.
    private static func servedPath(_ uri: String) -> String? {
        guard uri.hasPrefix(Routes.filesPrefix) else { return nil }
        return String(uri.dropFirst(Routes.filesPrefix.count)).removingPercentEncoding ?? uri
    }

    /// A transfer that failed before an answer: a coordinator-served image by the path its manifest named, and libcurl's
    /// words without the request.
    static func unreachable(_ uri: String, _ error: CurlError) -> String {
        guard let path = servedPath(uri) else { return "\(uri) is unreachable: \(error.explanation ?? error.message)" }
        return "\(path): the coordinator could not be reached for it (\(error.explanation ?? error.message))"
    }

    private static func meaning(of status: Int) -> String {
        switch status {
        case 401: "its server asks for credentials"
        case 403: "its server refuses access"
        case 404, 410: "its server has no such file"
        case 408, 504: "its server timed out"
        case 429: "its server is limiting requests; tried again and gave up"
        case 500..<600: "its server failed (status \(status))"
        default: "its server answered status \(status)"
        }
    }

    /// A path or `file://` URI as a path on this machine (a relative path stays relative).
    public static func path(of uri: String) -> String {
        uri.hasPrefix("file://") ? String(uri.dropFirst("file://".count)).removingPercentEncoding ?? uri : uri
    }

    /// Streams what a remote URI names into the file at `path`, through the same doors as `fetch` (the coordinator's
    /// file route with the token, a URL without it, an s3:// object signed with this host's credentials) but never
    /// in memory and without the image size limit: a WebDataset shard. Throws a `Failure` in words.
    public func download(_ uri: String, to path: String) async throws {
        if let problem = ImageURI.unsupported(uri) { throw Failure(description: "\(uri): \(problem)", permanent: true) }
        if S3Location.isS3(uri) {
            do {
                _ = try await s3.get().download(try S3Location.parse(uri), to: path)
            } catch {
                throw Failure(description: "\(error)", permanent: (error as? S3Error)?.isRetryable == false)
            }
            return
        }
        let served = Routes.isCoordinatorFile(uri)
        do {
            _ = try await client.http.download(
                DownloadRequest(url: served ? client.baseURL + uri : uri, destination: path, resume: false,
                                headers: served ? ["Authorization": "Bearer \(client.token)"] : [:]),
                retry: client.retry)
        } catch {
            if case .httpStatus(let status) = error.code {
                throw Failure(description: Self.refusal(uri, status: status), permanent: !error.isRetryable)
            }
            throw Failure(description: Self.unreachable(uri, error), permanent: !error.isRetryable)
        }
    }

    private func download(_ request: ClientRequest, _ uri: String) async throws -> [UInt8] {
        let response: ClientResponse
        do {
            response = try await client.http.send(request, retry: client.retry)
        } catch {
            throw Failure(description: Self.unreachable(uri, error), permanent: !error.isRetryable)
        }
        guard response.isSuccess else {
            throw Failure(description: Self.refusal(uri, status: response.status), permanent: !response.isRetryableStatus)
        }
        guard response.body.count <= maxBytes else {
            throw Failure(description: "\(uri) is \(response.body.count) bytes, over the \(maxBytes)-byte limit", permanent: true)
        }
        return response.body
    }
}
