import Foundation

/// A size-limited tmpfs for the full-disk scenario. Mounting needs root (or CAP_SYS_ADMIN); where it is not
/// allowed the scenario is skipped, and says why.
struct TmpfsMount {
    let path: URL

    /// Mounts a tmpfs of `size` (e.g. "32m") on `path`, creating the directory.
    static func mount(at path: URL, size: String) throws -> TmpfsMount {
        try FileManager.default.createDirectory(at: path, withIntermediateDirectories: true)
        let (status, output) = run(["mount", "-t", "tmpfs", "-o", "size=\(size),mode=0700", "tmpfs", path.path])
        guard status == 0 else { throw FaultSuiteError("mount -t tmpfs on \(path.path) failed (\(status)): \(output)") }
        return TmpfsMount(path: path)
    }

    /// Unmounts; lazily (`umount -l`) if something still holds a file open.
    func unmount() {
        if Self.run(["umount", path.path]).status != 0 { _ = Self.run(["umount", "-l", path.path]) }
    }

    /// Nil when this process may mount a tmpfs (tried once, on a throwaway directory); else why not.
    static let unavailability: String? = {
        let probe = FileManager.default.temporaryDirectory.appendingPathComponent("tmpfs-probe-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: probe) }
        do {
            try mount(at: probe, size: "1m").unmount()
            return nil
        } catch {
            return "\(error)"
        }
    }()

    /// Writes a file at `path` until the file system is full (ENOSPC); returns the bytes written.
    static func fill(_ path: URL) throws -> Int {
        let fd = open(path.path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FaultSuiteError("cannot create \(path.path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var written = 0
        for blockSize in [1 << 20, 4096, 1] {
            let block = [UInt8](repeating: 0x5A, count: blockSize)
            while true {
                let n = block.withUnsafeBytes { write(fd, $0.baseAddress!, blockSize) }
                if n > 0 { written += n; continue }
                if n < 0 && errno == EINTR { continue }
                guard n < 0 && errno == ENOSPC else {
                    throw FaultSuiteError("filling \(path.path): \(String(cString: strerror(errno)))")
                }
                break
            }
        }
        fsync(fd)
        return written
    }

    private static func run(_ arguments: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return (-1, "\(error)") }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
