import Foundation
import Logging
import ServiceLifecycle

/// Removes what nothing will use from the data directory: temporary files left by a coordinator that died while
/// writing them (a blob, label or manifest upload mid-stream), at start; and manifests uploaded but never named by
/// a job, once they are older than `uploadLifetime`, every `interval`.
package struct DataJanitor: Service {
    let dataDirectory: URL
    var uploadLifetime: Duration = .seconds(24 * 3600)
    var interval: Duration = .seconds(3600)
    let logger: Logger

    package init(dataDirectory: URL, uploadLifetime: Duration = .seconds(24 * 3600), interval: Duration = .seconds(3600), logger: Logger) {
        self.dataDirectory = dataDirectory; self.uploadLifetime = uploadLifetime; self.interval = interval; self.logger = logger
    }

    package func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while true {
                    let removed = try await BlockingIO.run { [self] in removeUnusedUploads(now: Date()) }
                    if removed > 0 { logger.info("uploads.removed", metadata: ["files.count": "\(removed)"]) }
                    try await Task.sleep(for: interval)
                }
            }
        } catch is CancellationError {
            return
        }
    }

    /// Deletes every temporary file under the data directory (`.*.tmp`, and the `.part` and `.taken` files of older
    /// versions).
    /// Call it before the server takes requests: then none of them belongs to a live request.
    @discardableResult
    package func removeTemporaries() -> Int {
        var removed = 0
        guard let walk = FileManager.default.enumerator(at: dataDirectory, includingPropertiesForKeys: [.isRegularFileKey]) else { return 0 }
        for case let url as URL in walk {
            let name = url.lastPathComponent
            // `.taken` manifests: older versions renamed an upload so while a job was created from it, and a
            // coordinator killed meanwhile left it behind (jobs now take their manifest in one rename).
            guard name.hasPrefix(".") && (name.hasSuffix(".tmp") || name.hasSuffix(".part")) || name.hasSuffix(".taken") else { continue }
            if (try? FileManager.default.removeItem(at: url)) != nil { removed += 1 }
        }
        return removed
    }

    /// Deletes uploaded manifests older than `uploadLifetime` (a job reads and removes its upload at once).
    package func removeUnusedUploads(now: Date) -> Int {
        let uploads = dataDirectory.appendingPathComponent(DataLayout.uploads)
        let files = (try? FileManager.default.contentsOfDirectory(at: uploads, includingPropertiesForKeys: [.contentModificationDateKey])) ?? []
        let lifetime = Double(uploadLifetime.components.seconds)
        var removed = 0
        for file in files where file.pathExtension == "manifest" {
            guard let modified = try? file.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate,
                  now.timeIntervalSince(modified) > lifetime else { continue }
            if (try? FileManager.default.removeItem(at: file)) != nil { removed += 1 }
        }
        return removed
    }
}
