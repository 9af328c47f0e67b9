import HTTPTypes
import Hummingbird
import LabelAPI

extension Route {
    /// The template in Hummingbird's syntax: `{task}` → `:task`, a last `{path*}` → `**`.
    var routerPath: RouterPath {
        let parts = template.split(separator: "/").map { part -> String in
            guard part.hasPrefix("{"), part.hasSuffix("}") else { return String(part) }
            return part.hasSuffix("*}") ? "**" : ":" + part.dropFirst().dropLast()
        }
        return RouterPath("/" + parts.joined(separator: "/"))
    }

    var httpMethod: HTTPRequest.Method {
        switch method {
        case .get: .get
        case .head: .head
        case .post: .post
        case .put: .put
        case .delete: .delete
        }
    }
}

extension Router<CoordinatorContext> {
    /// Registers `route` (its method and path) with `handler`, behind the route's access rule: every route of
    /// the API goes through here, so `Routes` is the whole contract.
    func on(_ route: Route, use handler: @escaping @Sendable (Request, CoordinatorContext) async throws -> Response) {
        on(route.routerPath, method: route.httpMethod) { request, context in
            try context.require(route.access)
            return try await handler(request, context)
        }
    }
}
