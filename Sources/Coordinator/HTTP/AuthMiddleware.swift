import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import LabelAPI

/// Who a request speaks for, from its bearer token.
enum Role: Sendable {
    case admin
    case worker
}

/// The request context: Hummingbird's core storage plus the caller's role and the body limit.
struct CoordinatorContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    var role: Role?
    /// The CSRF token of the dashboard session the request came with (its role is then admin).
    var sessionCSRF: String?
    var maxUploadSize: Int { 256 << 20 }

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}

/// Finds who a request speaks for from its bearer token, or from a dashboard session cookie (the admin, signed in
/// through the dashboard); each route then checks its `Route.Access` (see `Router.on(_:use:)`). Only the open
/// routes (health checks, the API document, the sign-in) answer without either. A request that changes something
/// on a session's behalf must echo the session's CSRF token in `X-CSRF-Token` and come from the same origin.
/// Comparisons take the same time whatever the token.
struct AuthMiddleware: RouterMiddleware {
    let sessions: DashboardSessions
    let open = Set(Routes.all.filter { $0.access == .open }.map(\.template))
    /// The tokens' digests, taken once: a request then costs one digest, of the token it presents.
    private let admin: [UInt8]
    private let worker: [UInt8]?

    init(tokens: TokenSet, sessions: DashboardSessions) {
        self.sessions = sessions
        admin = Self.digest(tokens.admin)
        worker = tokens.worker.map(Self.digest)
    }

    func handle(_ request: Request, context: CoordinatorContext, next: (Request, CoordinatorContext) async throws -> Response) async throws -> Response {
        var context = context
        let header = request.headers[.authorization]
        if header == nil, let csrf = try await sessions.csrfToken(of: request) {
            context.role = .admin
            context.sessionCSRF = csrf
            if ![.get, .head].contains(request.method), !open.contains(request.uri.path) {
                try DashboardSessions.checkSameOrigin(request)
                guard let echoed = request.headers[DashboardSessions.csrfHeader], Self.constantTimeEquals(echoed, csrf) else {
                    throw CoordinatorError(.forbidden, "missing or wrong \(DashboardSessions.csrfHeader) header for this session")
                }
            }
            return try await next(request, context)
        }
        if open.contains(request.uri.path) { return try await next(request, context) }
        guard let header, let token = Self.token(in: header) else {
            throw CoordinatorError(.unauthorized, "missing bearer token")
        }
        let presented = Self.digest(token)
        if Self.constantTimeEquals(presented, admin) {
            context.role = .admin
        } else if let worker, Self.constantTimeEquals(presented, worker) {
            context.role = .worker
        } else {
            throw CoordinatorError(.unauthorized, "invalid bearer token")
        }
        return try await next(request, context)
    }

    /// The token an Authorization header carries: `Bearer TOKEN`, or `Basic` with the token as the password (any user
    /// name: how Label Studio's ML backend connection authenticates, docs/LABEL-STUDIO.md). The scheme name is
    /// case-insensitive (RFC 9110 section 11.1).
    static func token(in header: String) -> String? {
        // Bearer first, cheaply: every worker request carries one.
        if header.utf8.count > 7, header.prefix(7).lowercased() == "bearer " {
            return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        }
        let scheme = header.prefix { $0 != " " }.lowercased()
        let value = header.drop { $0 != " " }.trimmingCharacters(in: .whitespaces)
        guard !value.isEmpty else { return nil }
        switch scheme {
        case "basic":
            guard let decoded = Data(base64Encoded: value).map({ String(decoding: $0, as: UTF8.self) }),
                  let colon = decoded.firstIndex(of: ":") else { return nil }
            return String(decoded[decoded.index(after: colon)...])
        default:
            return nil
        }
    }

    /// Compares fixed-length digests of the two strings with no early exit.
    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        constantTimeEquals(digest(a), digest(b))
    }

    static func digest(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Data(token.utf8))) }

    /// Compares two digests (of equal length) with no early exit.
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}

extension CoordinatorContext {
    /// Throws unless the request's token may call a route with `access`.
    func require(_ access: Route.Access) throws {
        switch access {
        case .open: return
        case .worker: guard role != nil else { throw CoordinatorError(.unauthorized, "missing bearer token") }
        case .admin: guard role == .admin else { throw CoordinatorError(.forbidden, "the worker token may not do that; it needs the admin token") }
        }
    }
}
