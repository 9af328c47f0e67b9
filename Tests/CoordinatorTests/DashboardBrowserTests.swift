import Foundation
import Testing

/// The dashboard in headless Chromium (scripts/browser-test, Selenium from scripts/test-python), against a real
/// coordinator on loopback with a job the script labels through the worker API as it watches the page. Skipped,
/// with the reason, where Chromium, its driver or Selenium are missing.
@Suite struct DashboardBrowserTests {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromedriver"]

    @Test func signInWatchAJobRetryItsFailureAndSignOut() async throws {
        guard let python = S3TestServer.python(importing: "selenium"),
              Self.chromium.allSatisfy(FileManager.default.isExecutableFile) else {
            print("DashboardBrowserTests: skipped: needs chromium and chromium-driver (Debian) and Selenium (scripts/test-python)")
            return
        }
        let live = try await LiveCoordinator.start()
        defer { live.stop() }
        let job = try await live.submit("/nowhere/a.png\n/nowhere/b.png\n/nowhere/c.png")
        var arguments = [live.url, LiveCoordinator.adminToken, LiveCoordinator.workerToken, job]
        if let directory = ProcessInfo.processInfo.environment["LABELMILL_SCREENSHOTS"] { arguments += ["--screenshots", directory] }
        let (status, text) = try await S3TestServer.runScript(python, "browser-test", arguments)
        #expect(status == 0, "\(text)")
        for step in ["the token is not in the address", "the page says 1 labeled without a reload",
                     "Retry sends the failed image back", "the browser's API requests get 401"] {
            #expect(text.contains(step), "\(text)")
        }
        #expect(try await live.admin.job(job).images.pending == 2, "the retried image and the unclaimed one")
    }
}
