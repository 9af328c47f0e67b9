import Foundation
import Runner
import Support
import LabelClient

/// A fresh directory per test, removed afterwards.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("worker-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
func testBytes(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
    var state = seed | 1
    return (0..<count).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return UInt8(truncatingIfNeeded: state >> 32)
    }
}

func readFile(_ path: String) -> [UInt8]? {
    FileManager.default.contents(atPath: path).map { [UInt8]($0) }
}

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

func fileExists(_ path: String) -> Bool {
    FileManager.default.fileExists(atPath: path)
}

/// Runs `body` with a loopback port that refuses connections: bound but not listening, so the kernel answers
/// a connection with a reset. The socket stays bound until `body` returns; a port that was bound and closed
/// could be handed to another test's server running alongside, which then answers instead (seen in CI).
func withRefusingPort<T>(_ body: (Int) async throws -> T) async throws -> T {
    let port = try RefusingPort()
    defer { withExtendedLifetime(port) {} }
    return try await body(port.number)
}

/// Lower-case hex SHA-256, through the one helper every module uses.
func sha256Hex(_ bytes: [UInt8]) -> String { SHA256Hex.of(bytes) }
