import Foundation
import LabelAPI

/// The coordinator's API over libcurl, for workers and for the user commands (`submit`, `status`, ...).
/// Requests carry the bearer token; transport errors and 5xx are retried with backoff by `retry`. Every call
/// throws a `ClientError` when the coordinator refuses it or cannot be reached.
public struct CoordinatorClient: Sendable {
    public let baseURL: String
    public let token: String
    public let http: HTTPClient
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

    /// A request for `route` with `values` in its path placeholders (each percent-encoded), carrying the token.
    func request(_ route: Route, _ values: String..., query: String = "", body: ClientRequest.Body = .empty,
                 headers: HTTPHeaders = [:], timeout: Duration? = nil) -> ClientRequest {
        request(route, values, query: query, body: body, headers: headers, timeout: timeout)
    }

    func request(_ route: Route, _ values: [String], query: String = "", body: ClientRequest.Body = .empty,
                 headers: HTTPHeaders = [:], timeout: Duration? = nil) -> ClientRequest {
        var all = headers
        all.add("Authorization", "Bearer \(token)")
        return ClientRequest(method: ClientRequest.Method(rawValue: route.method.rawValue), url: url(route, values) + query,
                           headers: all, body: body, timeout: timeout)
    }

    /// A request for `route` whose body is `value` as JSON.
    func jsonRequest(_ route: Route, _ values: String..., body value: some Encodable, timeout: Duration? = nil) throws -> ClientRequest {
        request(route, values, body: .bytes([UInt8](try JSONEncoder().encode(value))), headers: ["Content-Type": "application/json"],
                timeout: timeout)
    }

    /// The full URL of `route` with `values` in its placeholders.
    public func url(_ route: Route, _ values: [String]) -> String { baseURL + route.path(values) }

    /// Sends with retries and requires a 2xx answer; a refusal or a failed exchange is a `ClientError`.
    func send(_ request: ClientRequest, retrying: Bool = true) async throws(ClientError) -> ClientResponse {
        let response: ClientResponse
        do {
            response = try await http.send(request, retry: retrying ? retry : .none)
        } catch {
            throw ClientError(transport: error, to: baseURL)
        }
        guard response.isSuccess else { throw ClientError(answer: response, from: baseURL) }
        return response
    }

    func decode<T: Decodable>(_ type: T.Type, from response: ClientResponse) throws(ClientError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(response.body))
        } catch {
            throw ClientError.unreadable("an answer", error, from: baseURL)
        }
    }

    public func health() async -> Bool {
        (try? await http.send(ClientRequest(url: url(Routes.health, [])), retry: .none))?.isSuccess ?? false
    }
}
