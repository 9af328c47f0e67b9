import Foundation
import LabelAPI
import TestSupport
import Testing

/// The dashboard in headless Chromium (scripts/browser-test, Selenium and Pillow from scripts/test-python), against
/// a real coordinator on loopback with a job the script labels through the worker API as it watches the page: the
/// live job page, the gallery's overlays, filters, large view and per-image retry. Skipped, with the reason, where
/// Chromium, its driver, Selenium or Pillow are missing.
@Suite struct DashboardBrowserTests {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromedriver"]

    @Test func signInWatchAJobBrowseItsLabelsRetryItsFailuresAndSignOut() async throws {
        guard let python = S3TestServer.python(importing: "selenium, PIL"),
              Self.chromium.allSatisfy(FileManager.default.isExecutableFile) else {
            print("DashboardBrowserTests: skipped: needs chromium and chromium-driver (Debian), Selenium and Pillow (scripts/test-python)")
            return
        }
        let live = try await LiveCoordinator.start()
        defer { live.stop() }
        // One task of eight images, leased long enough for the browser's pace.
        let job = try await live.submit((1...8).map { "/nowhere/img-\($0).png" }.joined(separator: "\n"),
                                        classes: ["sky", "tree", "road", "car", "person", "building", "grass", "water"],
                                        settings: JobSettings(synonyms: ["person": ["pedestrian", "cyclist"], "sky": ["clouds"]],
                                                              shortSide: 48, shardSize: 8, leaseSeconds: 120))
        var arguments = [live.url, LiveCoordinator.adminToken, LiveCoordinator.workerToken, job]
        if let directory = ProcessInfo.processInfo.environment["LABELMILL_SCREENSHOTS"] { arguments += ["--screenshots", directory] }
        let (status, text) = try await S3TestServer.runScript(python, "browser-test", arguments)
        #expect(status == 0, "\(text)")
        for step in ["the token is not in the address", "the settings show synonyms as text", "one label later, the page says 1 labeled without a reload",
                     "the overlay changes the thumbnail's pixels", "the page reads every label format", "filtering by class 4",
                     "hovering the lower half names its class", "its Retry button sends one failed image back",
                     "Retry sends the failed image back", "after signing out, the browser's requests for /v1/jobs get 401"] {
            #expect(text.contains("ok: \(step)"), "\(text)")
        }
        let images = try await live.admin.job(job).images
        #expect(images.done == 6 && images.pending == 2, "six labeled, both failed images retried: \(images)")
    }
}
