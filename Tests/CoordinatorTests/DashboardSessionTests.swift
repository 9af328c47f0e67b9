import Foundation
import LabelAPI
import LabelClient
import TestSupport
import Testing

/// The dashboard's sign-in, sessions and their guards, over HTTP against a real coordinator (the browser test,
/// DashboardBrowserTests, drives the pages themselves).
@Suite struct DashboardSessionTests {
    let http = HTTPClient()

    private func get(_ live: LiveCoordinator, _ path: String, _ headers: HTTPHeaders = [:]) async throws -> ClientResponse {
        try await http.send(ClientRequest(url: live.url + path, headers: headers, followRedirects: false))
    }

    private func post(_ live: LiveCoordinator, _ path: String, _ headers: HTTPHeaders = [:], body: String = "") async throws -> ClientResponse {
        try await http.send(ClientRequest(method: .post, url: live.url + path, headers: headers, body: .bytes(Array(body.utf8)),
                                        followRedirects: false))
    }

    /// The session id from a Set-Cookie header, checking its attributes.
    private func sessionCookie(_ response: ClientResponse) throws -> String {
        let header = try #require(response.headers["Set-Cookie"])
        #expect(header.contains("HttpOnly") && header.contains("SameSite=Strict") && header.contains("Path=/"), "\(header)")
        let pair = try #require(header.split(separator: ";").first)
        #expect(pair.hasPrefix("labelmill_session="))
        return String(pair)
    }

    private func csrf(_ page: ClientResponse) throws -> String {
        let text = page.bodyText
        let marker = try #require(text.range(of: #"<meta name="csrf-token" content=""#))
        return String(text[marker.upperBound...].prefix { $0 != "\"" })
    }

    @Test func aTokenInTheAddressSignsInAndLeavesTheAddressBar() async throws {
        let live = try await LiveCoordinator.start()
        defer { live.stop() }
        // No session: the sign-in page, and nothing else.
        let anonymous = try await get(live, "/")
        #expect(anonymous.status == 200 && anonymous.bodyText.contains(#"action="/ui/sign-in""#))
        #expect(!anonymous.bodyText.contains("csrf-token") && !anonymous.bodyText.contains("app.js"))
        #expect(try await get(live, "/ui/app.js").status == 401)
        #expect(try await get(live, "/v1/jobs").status == 401)
        #expect(try await get(live, "/ui/app.css").status == 200)

        let signedIn = try await get(live, "/?token=\(LiveCoordinator.adminToken)")
        #expect(signedIn.status == 303 && signedIn.headers["Location"] == "/")
        let cookie = try sessionCookie(signedIn)
        let page = try await get(live, "/", ["Cookie": cookie])
        #expect(page.status == 200 && page.bodyText.contains(#"src="/ui/app.js""#))
        #expect(page.headers["Cache-Control"] == "no-store" && page.headers["Content-Security-Policy"]?.contains("frame-ancestors 'none'") == true)
        #expect(try await get(live, "/ui/app.js", ["Cookie": cookie]).status == 200)
        let jobs = try await get(live, "/v1/jobs", ["Cookie": cookie])
        #expect(jobs.status == 200 && jobs.headers["X-Total-Count"] == "0")
        // The session id is stored only as its digest.
        let database = try Data(contentsOf: live.dataDirectory.appendingPathComponent("labelmill.sqlite"))
            + ((try? Data(contentsOf: live.dataDirectory.appendingPathComponent("labelmill.sqlite-wal"))) ?? Data())
        let id = String(cookie.dropFirst("labelmill_session=".count))
        #expect(database.range(of: Data(id.utf8)) == nil)
    }

    @Test func theFormSignsInOnlyWithTheAdminToken() async throws {
        let live = try await LiveCoordinator.start()
        defer { live.stop() }
        let form: HTTPHeaders = ["Content-Type": "application/x-www-form-urlencoded"]
        let worker = try await post(live, "/ui/sign-in", form, body: "token=\(LiveCoordinator.workerToken)")
        #expect(worker.status == 403 && worker.bodyText.contains("worker token") && worker.headers["Set-Cookie"] == nil)
        let wrong = try await post(live, "/ui/sign-in", form, body: "token=nope")
        #expect(wrong.status == 401 && wrong.bodyText.contains("not this coordinator's admin token"))
        let wrongInAddress = try await get(live, "/?token=\(LiveCoordinator.workerToken)")
        #expect(wrongInAddress.status == 403 && wrongInAddress.headers["Set-Cookie"] == nil)
        // Another site's form cannot sign a visitor in.
        let crossSite = try await post(live, "/ui/sign-in", ["Content-Type": "application/x-www-form-urlencoded", "Origin": "http://evil.example"],
                                       body: "token=\(LiveCoordinator.adminToken)")
        #expect(crossSite.status == 403 && crossSite.headers["Set-Cookie"] == nil)
        let good = try await post(live, "/ui/sign-in", ["Content-Type": "application/x-www-form-urlencoded", "Origin": live.url],
                                  body: "token=\(LiveCoordinator.adminToken)")
        #expect(good.status == 303)
        _ = try sessionCookie(good)
    }

    @Test func changesNeedTheSessionsCSRFTokenAndSignOutEndsIt() async throws {
        let live = try await LiveCoordinator.start()
        defer { live.stop() }
        let job = try await live.submit("/nowhere/a.png\n/nowhere/b.png")
        let cookie = try sessionCookie(try await get(live, "/?token=\(LiveCoordinator.adminToken)"))
        let token = try csrf(try await get(live, "/", ["Cookie": cookie]))
        #expect(token.count >= 40)

        let cancel = Routes.cancel.path(job)
        #expect(try await post(live, cancel, ["Cookie": cookie]).status == 403, "no X-CSRF-Token")
        #expect(try await post(live, cancel, ["Cookie": cookie, "X-CSRF-Token": "wrong"]).status == 403)
        #expect(try await post(live, cancel, ["Cookie": cookie, "X-CSRF-Token": token, "Origin": "http://evil.example"]).status == 403)
        #expect(try await live.admin.job(job).state != .cancelled)
        #expect(try await post(live, cancel, ["Cookie": cookie, "X-CSRF-Token": token, "Origin": live.url]).status == 200)
        #expect(try await live.admin.job(job).state == .cancelled)
        // Bearer tokens work as before, with no CSRF token.
        #expect(try await get(live, "/v1/jobs", ["Authorization": "Bearer \(LiveCoordinator.adminToken)"]).status == 200)

        let activity = try await get(live, Routes.activity.path(job), ["Cookie": cookie])
        #expect(activity.status == 200)
        #expect(try JSONDecoder().decode(JobActivity.self, from: Data(activity.body)).minutes.isEmpty)

        let signOut = try await post(live, "/ui/sign-out", ["Cookie": cookie, "X-CSRF-Token": token])
        #expect(signOut.status == 303 && signOut.headers["Set-Cookie"]?.contains("Max-Age=0") == true)
        #expect(try await get(live, "/v1/jobs", ["Cookie": cookie]).status == 401)
        #expect(try await get(live, "/", ["Cookie": cookie]).bodyText.contains(#"action="/ui/sign-in""#))
    }

    @Test func jobsArePagedNewestFirst() async throws {
        let live = try await LiveCoordinator.start()
        defer { live.stop() }
        var ids: [String] = []
        for i in 0..<3 { ids.append(try await live.submit("/nowhere/\(i).png")) }
        let auth: HTTPHeaders = ["Authorization": "Bearer \(LiveCoordinator.adminToken)"]
        let page = try await get(live, "/v1/jobs?limit=2&offset=1", auth)
        #expect(page.headers["X-Total-Count"] == "3")
        #expect(try JSONDecoder().decode([JobStatus].self, from: Data(page.body)).map(\.id) == [ids[1], ids[0]])
        #expect(try await get(live, "/v1/jobs?limit=501", auth).status == 400)
        #expect(try await get(live, "/v1/jobs?offset=-1", auth).status == 400)
    }
}
