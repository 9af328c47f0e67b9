import Foundation
import LabelAPI

/// The coordinator's API over libcurl, for workers and for the user commands (`submit`, `status`, ...).
/// Requests carry the bearer token; transport errors and 5xx are retried with backoff by `retry`.
public struct CoordinatorClient: Sendable {
    public let baseURL: String
    let token: String
    let http: HTTPClient
    public var retry: RetryPolicy

    public init(baseURL: String, token: String, http: HTTPClient = HTTPClient(), retry: RetryPolicy = .standard) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.token = token
        self.http = http
        self.retry = retry
    }

    /// Reads the token from `--token-file` if given, else from `LABELMILL_TOKEN`.
    public static func token(file: String?) throws -> String {
        if let file {
            guard let token = TokenFile.read(file) else { throw CurlError(.io, "cannot read a token from \(file)") }
            return token
        }
        guard let token = ProcessInfo.processInfo.environment["LABELMILL_TOKEN"], !token.isEmpty else {
            throw CurlError(.io, "no token: pass --token-file or set LABELMILL_TOKEN")
        }
        return token
    }

    func request(_ method: HTTPRequest.Method, _ path: String, body: HTTPRequest.Body = .empty,
                 headers: HTTPHeaders = [:], timeout: Duration? = nil) -> HTTPRequest {
        var all = headers
        all.add("Authorization", "Bearer \(token)")
        return HTTPRequest(method: method, url: baseURL + path, headers: all, body: body, timeout: timeout)
    }

    func jsonRequest(_ method: HTTPRequest.Method, _ path: String, _ value: some Encodable, timeout: Duration? = nil) throws -> HTTPRequest {
        request(method, path, body: .bytes([UInt8](try JSONEncoder().encode(value))), headers: ["Content-Type": "application/json"], timeout: timeout)
    }

    /// Sends with retries and requires a 2xx answer.
    func send(_ request: HTTPRequest, retrying: Bool = true) async throws -> HTTPResponse {
        let response = try await http.send(request, retry: retrying ? retry : .none)
        return try response.requireOK("\(request.method) \(request.url.dropFirst(baseURL.count))")
    }

    func decode<T: Decodable>(_ type: T.Type, from response: HTTPResponse) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(response.body))
        } catch {
            throw CurlError(.other, "unexpected answer from the coordinator: \(error)")
        }
    }

    public func health() async -> Bool {
        (try? await http.send(HTTPRequest(url: baseURL + Routes.health), retry: .none))?.isSuccess ?? false
    }
}
