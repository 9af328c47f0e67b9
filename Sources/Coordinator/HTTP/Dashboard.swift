import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import LabelAPI
import Support

/// Dashboard sessions: a random id in an HttpOnly, SameSite=Strict cookie, its sha256 in the database (a copy of
/// the database signs no one in), 12 hours long, ended by signing out.
struct DashboardSessions: Sendable {
    static let cookie = "labelmill_session"
    static let csrfHeader = HTTPField.Name("X-CSRF-Token")!
    static let lifetime: Double = 12 * 3600
    let store: Store

    /// The CSRF token of the live session whose cookie `request` carries, or nil.
    func csrfToken(of request: Request) async throws -> String? {
        guard let id = Self.sessionID(request) else { return nil }
        let digest = SHA256Hex.of(Array(id.utf8))
        return try await store.read("reading a dashboard session") { db in try store.session(db, idSHA256: digest) }
    }

    /// Starts a session; returns the cookie's value.
    func start() async throws -> String {
        let id = Store.randomHex(bits: 256), csrf = Store.randomHex(bits: 256)
        let digest = SHA256Hex.of(Array(id.utf8))
        try await store.write("starting a dashboard session") { db in
            try store.createSession(db, idSHA256: digest, csrfToken: csrf, lifetime: Self.lifetime)
        }
        return id
    }

    func end(_ request: Request) async throws {
        guard let id = Self.sessionID(request) else { return }
        let digest = SHA256Hex.of(Array(id.utf8))
        try await store.write("ending a dashboard session") { db in try store.deleteSession(db, idSHA256: digest) }
    }

    static func sessionID(_ request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == cookie {
                    let value = parts[1].trimmingCharacters(in: .whitespaces)
                    return value.isEmpty ? nil : value
                }
            }
        }
        return nil
    }

    /// Refuses a request that a browser marks as coming from another site (Sec-Fetch-Site, or an Origin that is
    /// not this host): a page elsewhere cannot sign a visitor in, or act with their session.
    static func checkSameOrigin(_ request: Request) throws {
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!], !["same-origin", "none"].contains(site) {
            throw CoordinatorError(.forbidden, "cross-site request refused (Sec-Fetch-Site: \(site))")
        }
        if let origin = request.headers[HTTPField.Name("Origin")!], origin != "null" {
            let host = request.head.authority ?? request.headers[HTTPField.Name("Host")!] ?? ""
            guard let url = URL(string: origin), let originHost = url.host else {
                throw CoordinatorError(.forbidden, "cross-site request refused (Origin: \(origin))")
            }
            let originAuthority = url.port.map { "\(originHost):\($0)" } ?? originHost
            guard originAuthority == host else { throw CoordinatorError(.forbidden, "cross-site request refused (Origin: \(origin))") }
        }
    }
}

/// The web dashboard (docs/DASHBOARD.md): `/` is the app for a signed-in admin and the sign-in page for anyone else;
/// its script and style come from the binary.
struct DashboardRoutes {
    let services: CoordinatorServices
    let sessions: DashboardSessions

    func register(on router: Router<CoordinatorContext>) {
        router.on(Routes.root) { request, context in
            if let token = request.uri.queryParameters["token"] { return try await signIn(String(token), request) }
            guard let csrf = context.sessionCSRF else { return signInPage(nil, status: .ok) }
            let page = String(decoding: PackageResources.dashboard_html, as: UTF8.self).replacingOccurrences(of: "{{csrf}}", with: csrf)
            return html(page, status: .ok)
        }
        router.on(Routes.signIn) { request, _ in
            try DashboardSessions.checkSameOrigin(request)
            let body = try await request.body.collect(upTo: 16 << 10)
            let form = String(decoding: body.readableBytesView, as: UTF8.self)
            let token = form.split(separator: "&").lazy.compactMap { pair -> String? in
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, parts[0] == "token" else { return nil }
                return parts[1].replacingOccurrences(of: "+", with: " ").removingPercentEncoding
            }.first ?? ""
            return try await signIn(token, request)
        }
        router.on(Routes.signOut) { request, _ in
            try await sessions.end(request)
            var response = redirect(to: "/")
            response.headers[.setCookie] = cookie("", request, maxAge: 0)
            return response
        }
        router.on(Routes.script) { _, _ in asset(PackageResources.app_js, type: "text/javascript; charset=utf-8") }
        router.on(Routes.styleSheet) { _, _ in asset(PackageResources.app_css, type: "text/css; charset=utf-8") }
        router.on(Routes.favicon) { _, _ in asset(PackageResources.favicon_svg, type: "image/svg+xml") }
        router.on(Routes.activity) { _, context in
            let id = try context.parameters.require("job")
            return try json(try await services.store.read("reading the activity of job \(id)") { db in
                guard try services.store.job(db, id) != nil else { throw CoordinatorError(.notFound, "no job \(id)") }
                return try services.store.activity(db, job: id)
            })
        }
        router.on(Routes.gallery) { request, context in
            let id = try context.parameters.require("job")
            let query = request.uri.queryParameters
            let filter: Store.GalleryFilter
            switch query["state"].map(String.init) ?? "done" {
            case "done": filter = .labeled(class: try request.queryNumber("class", in: 0...255))
            case "failed": filter = .failed
            case let other: throw CoordinatorError(.badRequest, "query parameter state=\(other) is not done or failed")
            }
            let limit = try request.queryNumber("limit", in: 1...200) ?? 48
            let after = query["after"].map(String.init)
            let page = try await services.store.read("reading the gallery of job \(id)") { db in
                guard try services.store.job(db, id) != nil else { throw CoordinatorError(.notFound, "no job \(id)") }
                return try services.store.gallery(db, job: id, filter: filter, after: after, limit: limit)
            }
            return try json(try await BlockingIO.run { services.withThumbnailFlags(page, job: id) })
        }
        router.on(Routes.thumbnail) { _, context in
            let (job, image) = (try context.parameters.require("job"), try context.parameters.imageID())
            guard ImageID.isSafe(job), ImageID.isSafe(image) else { throw CoordinatorError(.notFound, "no image \(image.debugDescription) in job \(job)") }
            return try await services.fileResponse(path: services.thumbnailPath(job: job, image: image), contentType: "image/jpeg",
                                                   what: "the thumbnail of \(image)", context: context)
        }
        router.on(Routes.confidence) { _, context in
            let (job, image) = (try context.parameters.require("job"), try context.parameters.imageID())
            guard ImageID.isSafe(job), ImageID.isSafe(image) else { throw CoordinatorError(.notFound, "no image \(image.debugDescription) in job \(job)") }
            try await services.store.read("reading job \(job)") { db in
                guard let uri = try services.store.imageURI(db, jobId: job, imageId: image),
                      let options = try services.jobCache.settled(db, job, store: services.store)?.options else { return }
                let key = OutputLocation.keys(id: image, uri: uri, tarShards: options.tarShards).confidence
                try services.refuseOutputRead(db, job: job, key: key, what: "the confidence map of \(image)")
            }
            return try await services.fileResponse(path: services.confidencePath(job: job, image: image), contentType: "image/png",
                                                   what: "the confidence map of \(image)", context: context)
        }
    }

    /// The admin token starts a session and goes to `/` (so the token leaves the address bar); any other token
    /// gets the sign-in page with the reason.
    private func signIn(_ token: String, _ request: Request) async throws -> Response {
        let tokens = services.configuration.tokens
        let token = token.trimmingCharacters(in: .whitespacesAndNewlines)
        if AuthMiddleware.constantTimeEquals(token, tokens.admin) {
            let id = try await sessions.start()
            var response = redirect(to: "/")
            response.headers[.setCookie] = cookie(id, request, maxAge: Int(DashboardSessions.lifetime))
            return response
        }
        if let worker = tokens.worker, AuthMiddleware.constantTimeEquals(token, worker) {
            return signInPage("That is the worker token: the dashboard takes the admin token.", status: .forbidden)
        }
        if token.isEmpty { return signInPage("Enter the admin token.", status: .ok) }
        return signInPage("That is not this coordinator's admin token.", status: .unauthorized)
    }

    private func cookie(_ value: String, _ request: Request, maxAge: Int) -> String {
        // Secure where a TLS proxy in front says the browser used https.
        let secure = request.headers[HTTPField.Name("X-Forwarded-Proto")!] == "https" ? "; Secure" : ""
        return "\(DashboardSessions.cookie)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict\(secure)"
    }

    private func signInPage(_ message: String?, status: HTTPResponse.Status) -> Response {
        let text = message.map { "<p class=\"error\" role=\"alert\">\(MarkupText.escape($0))</p>" } ?? ""
        return html(String(decoding: PackageResources.sign_in_html, as: UTF8.self).replacingOccurrences(of: "{{message}}", with: text), status: status)
    }

    private func redirect(to location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    private func html(_ text: String, status: HTTPResponse.Status) -> Response {
        Response(status: status, headers: Self.pageHeaders, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    private func asset(_ bytes: [UInt8], type: String) -> Response {
        var headers = Self.pageHeaders
        headers[.contentType] = type
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// No caching of pages that hold a session's token, no framing, and only this origin's script and style.
    static let pageHeaders: HTTPFields = [
        .contentType: "text/html; charset=utf-8",
        .cacheControl: "no-store",
        HTTPField.Name("X-Frame-Options")!: "DENY",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        HTTPField.Name("Referrer-Policy")!: "no-referrer",
        .contentSecurityPolicy: "default-src 'self'; img-src 'self' data: blob:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ]
}
