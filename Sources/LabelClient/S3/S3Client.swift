import Foundation
import LabelAPI
import Support

/// Reads, writes and lists objects in S3 or an S3-compatible store, signing with libcurl's SigV4.
public struct S3Client: Sendable {
    public let configuration: S3Configuration
    let http: HTTPClient
    let retry: RetryPolicy

    /// SHA-256 of the empty payload: S3 wants the payload hash in `x-amz-content-sha256` on every signed request,
    /// and libcurl 7.88 does not add it.
    static let emptyPayloadSHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public init(configuration: S3Configuration, http: HTTPClient, retry: RetryPolicy = .standard) {
        self.configuration = configuration
        self.http = http
        self.retry = retry
    }

    /// The object's bytes, refused past `maxBytes` (a `Content-Length` over it ends the transfer early).
    public func get(_ location: S3Location, maxBytes: Int, timeout: Duration? = nil) async throws(S3Error) -> [UInt8] {
        let response = try await send(request(configuration.url(location), timeout: timeout), location)
        guard response.body.count <= maxBytes else {
            throw S3Error("\(location) is \(response.body.count) bytes, over the \(maxBytes)-byte limit")
        }
        return response.body
    }

    /// The object streamed into the file at `path` (a WebDataset shard: too large to hold in memory).
    public func download(_ location: S3Location, to path: String) async throws(S3Error) -> DownloadResult {
        let signed = request(configuration.url(location))
        var download = DownloadRequest(url: signed.url, destination: path, resume: false, headers: signed.headers)
        download.awsSignature = signed.awsSignature
        do {
            return try await http.download(download, retry: retry)
        } catch {
            var status: Int?
            if case .httpStatus(let code) = error.code { status = code }
            throw S3Error("\(location): \(error.explanation ?? error.message)", retryable: error.isRetryable, status: status)
        }
    }

    /// Writes the object in one PUT (S3 takes up to 5 GB so; it appears whole or not at all), its payload signed by
    /// its SHA-256 (`sha256`, the bytes' or the file's, as a lowercase hex string).
    public func put(_ location: S3Location, body: ClientRequest.Body, sha256: String, contentType: String) async throws(S3Error) {
        var put = request(configuration.url(location))
        put.method = .put
        put.body = body
        put.followRedirects = false
        put.headers["x-amz-content-sha256"] = sha256
        put.headers["Content-Type"] = contentType
        _ = try await send(put, location)
    }

    public struct Object: Sendable, Equatable {
        public var key: String
        public var size: Int64
    }

    /// Every object under `prefix`, a page (up to `pageSize` keys; S3 gives at most 1,000) at a time, in key order.
    public func list(_ prefix: S3Location, pageSize: Int = 1000, page: ([Object]) throws -> Void) async throws {
        var token: String?
        repeat {
            // Parameters in sorted order: libcurl 7.88 signs the query string as given, and SigV4's canonical form
            // sorts it. encoding-type=url keeps any key (control characters included) safe inside the XML.
            var query = [String]()
            if let token { query.append("continuation-token=\(S3Configuration.encode(token, keepingSlashes: false))") }
            query += ["encoding-type=url", "list-type=2", "max-keys=\(pageSize)", "prefix=\(S3Configuration.encode(prefix.key, keepingSlashes: false))"]
            // The bucket's URL without the trailing slash: the path libcurl signs must be the one the server reads.
            let bucket = S3Location(bucket: prefix.bucket, key: "")
            var url = configuration.url(bucket)
            if url.hasSuffix("/") { url.removeLast() }
            let response = try await send(request(url + "?" + query.joined(separator: "&")), bucket)
            let listing = ListingPage(xml: response.bodyText)
            try page(try listing.objects.map { object in
                guard let key = object.key.removingPercentEncoding else {
                    throw S3Error("s3://\(prefix.bucket): the listing has a key that is not valid percent-encoding: \(object.key)")
                }
                return Object(key: key, size: object.size)
            })
            token = listing.isTruncated ? listing.nextToken : nil
            if listing.isTruncated && token == nil {
                throw S3Error("s3://\(prefix.bucket): the listing is truncated but has no continuation token")
            }
        } while token != nil
    }

    private func request(_ url: String, timeout: Duration? = nil) -> ClientRequest {
        var request = ClientRequest(url: url, headers: ["x-amz-content-sha256": Self.emptyPayloadSHA256], timeout: timeout)
        if let credentials = configuration.credentials {
            request.awsSignature = .init(accessKeyID: credentials.accessKeyID, secretAccessKey: credentials.secretAccessKey,
                                         region: configuration.region)
            if let session = credentials.sessionToken { request.headers["x-amz-security-token"] = session }
        }
        return request
    }

    private func send(_ request: ClientRequest, _ location: S3Location) async throws(S3Error) -> ClientResponse {
        let response: ClientResponse
        do {
            response = try await http.send(request, retry: retry)
        } catch {
            throw S3Error("\(location) is unreachable at \(request.url): \(error.message)", retryable: error.isRetryable)
        }
        guard response.isSuccess else { throw failure(response, location) }
        return response
    }

    /// S3's error document (`<Code>`, `<Message>`) in one line, with the fix for the usual credential mistakes.
    private func failure(_ response: ClientResponse, _ location: S3Location) -> S3Error {
        let xml = response.bodyText
        let code = XMLText.first("Code", in: xml)
        let message = XMLText.first("Message", in: xml)
        var line = "\(location): HTTP \(response.status)"
        if let code { line += " \(code)" }
        if let message { line += ": \(message)" }
        // Credentials are named by where they came from, never by a value: this line reaches the coordinator.
        if let key = configuration.credentials?.accessKeyID, !key.isEmpty {
            line = MessageText.replacing(key, with: "(the access key id)", in: line)
        }
        switch code {
        case "SignatureDoesNotMatch":
            line += " (the secret key does not match the access key id; credentials: \(configuration.credentials?.source ?? "none"))"
        case "InvalidAccessKeyId":
            line += " (credentials: \(configuration.credentials?.source ?? "none"))"
        case "AccessDenied" where configuration.credentials == nil:
            line += " (no AWS credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)"
        default:
            break
        }
        return S3Error(line, retryable: response.isRetryableStatus, status: response.status)
    }
}

/// The fields of one ListObjectsV2 page.
package struct ListingPage {
    package var objects: [(key: String, size: Int64)] = []
    package var isTruncated = false
    package var nextToken: String?

    package init(xml: String) {
        for contents in XMLText.all("Contents", in: xml) {
            guard let key = XMLText.first("Key", in: contents) else { continue }
            objects.append((key, Int64(XMLText.first("Size", in: contents) ?? "") ?? 0))
        }
        isTruncated = XMLText.first("IsTruncated", in: xml) == "true"
        nextToken = XMLText.first("NextContinuationToken", in: xml)
    }
}

/// Element text from S3's flat XML documents: no attributes on the elements read, no nesting of equal names. Enough
/// for listings and error documents without a dependency on libxml2.
package enum XMLText {
    package static func first(_ name: String, in xml: some StringProtocol) -> String? { all(name, in: xml).first.map(unescape) }

    static func all(_ name: String, in xml: some StringProtocol) -> [Substring] {
        var found: [Substring] = []
        var rest = Substring(xml)
        while let open = rest.range(of: "<\(name)>"), let close = rest[open.upperBound...].range(of: "</\(name)>") {
            found.append(rest[open.upperBound..<close.lowerBound])
            rest = rest[close.upperBound...]
        }
        return found
    }

    static func unescape(_ text: Substring) -> String { MarkupText.unescape(text) }
}
