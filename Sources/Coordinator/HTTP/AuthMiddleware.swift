import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// Who a request speaks for, from its bearer token.
enum Role: Sendable {
    case admin
    case worker
}

/// The request context: Hummingbird's core storage plus the caller's role and the body limit.
struct CoordinatorContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    var role: Role?
    var maxUploadSize: Int { 256 << 20 }

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}

/// Every route but the health checks needs a bearer token; comparisons take the same time whatever the token.
struct AuthMiddleware: RouterMiddleware {
    let tokens: TokenSet
    let open: Set<String>

    func handle(_ request: Request, context: CoordinatorContext, next: (Request, CoordinatorContext) async throws -> Response) async throws -> Response {
        if open.contains(request.uri.path) { return try await next(request, context) }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw CoordinatorError(.unauthorized, "missing bearer token")
        }
        let presented = String(header.dropFirst("Bearer ".count))
        var context = context
        if Self.constantTimeEquals(presented, tokens.admin) {
            context.role = .admin
        } else if let worker = tokens.worker, Self.constantTimeEquals(presented, worker) {
            context.role = .worker
        } else {
            throw CoordinatorError(.unauthorized, "invalid bearer token")
        }
        return try await next(request, context)
    }

    /// Compares fixed-length digests of the two strings with no early exit.
    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let da = Array(SHA256.hash(data: Data(a.utf8))), db = Array(SHA256.hash(data: Data(b.utf8)))
        var difference: UInt8 = 0
        for i in 0..<da.count { difference |= da[i] ^ db[i] }
        return difference == 0
    }
}

extension CoordinatorContext {
    /// Admin-only routes (submit, cancel, export, model registration) call this first.
    func requireAdmin() throws {
        guard role == .admin else { throw CoordinatorError(.forbidden, "this token may not do that (worker token)") }
    }
}
