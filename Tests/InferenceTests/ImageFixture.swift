import Foundation
import Testing

/// Loads files from Fixtures/images (made by scripts/make_image_fixtures.py).
enum ImageFixture {
    static func path(_ name: String) throws -> String {
        let root = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        return root.appendingPathComponent("images").appendingPathComponent(name).path
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: try path(name))))
    }

    /// The expected decode of `name` (NAME.rgb or NAME.idx next to it).
    static func expected(_ name: String, suffix: String) throws -> [UInt8] {
        try bytes((name as NSString).deletingPathExtension + "." + suffix)
    }

    /// A fresh directory per test, so parallel tests never share files.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("imagecodec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// SplitMix64, seeded, so fuzz and round-trip inputs are the same on every run.
struct ImageTestRNG: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
