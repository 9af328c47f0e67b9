import Foundation
import Testing
import Support

/// The ZIP writer behind `export --format cvat`, read back by Python's zipfile (which checks every CRC and follows the
/// ZIP64 records), not by our own code.
@Suite struct ZipArchiveTests {
    @Test func crc32MatchesTheStandardCheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        var pieces = CRC32()
        pieces.update(Array("1234".utf8))
        pieces.update(Array("56789".utf8))
        #expect(pieces.value == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
    }

    @Test func pythonReadsEveryFileBackWithItsName() throws {
        let directory = try temporaryDirectory()
        let side = directory.appendingPathComponent("side.txt")
        let sideBytes = [UInt8]((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try Data(sideBytes).write(to: side)
        let files: [(String, [UInt8])] = [("labelmap.txt", Array("background:0,0,0::\n".utf8)),
                                          ("SegmentationClass/été_1.png", [0x89, 0x50, 0x4E, 0x47, 0, 255]),
                                          ("empty", [])]
        for zip64Above in [UInt64(0xFFFF_FFFE), 2] {
            let path = directory.appendingPathComponent("a-\(zip64Above).zip").path
            let archive = try ZipArchive(path, zip64Above: zip64Above)
            for (name, bytes) in files { try archive.add(name, bytes) }
            try archive.add("ImageSets/Segmentation/default.txt", contentsOf: side.path)
            try archive.finish()
            guard let read = try readWithPython(path) else { return }
            #expect(read.bad == nil)
            #expect(read.names == files.map(\.0) + ["ImageSets/Segmentation/default.txt"])
            for (name, bytes) in files { #expect(read.sha256[name] == SHA256Hex.of(bytes), "\(name)") }
            #expect(read.sha256["ImageSets/Segmentation/default.txt"] == SHA256Hex.of(sideBytes))
            let raw = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            // The ZIP64 end record is there exactly when a field overflowed (here: when the limit was lowered).
            #expect(contains(Array(raw.suffix(200)), [0x50, 0x4B, 0x06, 0x06]) == (zip64Above == 2))
            #expect(!FileManager.default.fileExists(atPath: path + ".directory"))
        }
    }

    @Test func moreThan65535FilesGoThroughZip64() throws {
        let directory = try temporaryDirectory()
        let path = directory.appendingPathComponent("many.zip").path
        let archive = try ZipArchive(path)
        let count = 70_000
        for i in 0..<count { try archive.add("f/\(i)", Array("\(i)".utf8)) }
        try archive.finish()
        guard let read = try readWithPython(path) else { return }
        #expect(read.bad == nil)
        #expect(read.names.count == count)
        #expect(read.names.last == "f/\(count - 1)")
        #expect(read.sha256["f/69999"] == SHA256Hex.of(Array("69999".utf8)))
    }

    private struct Listing: Decodable {
        var names: [String]
        var sha256: [String: String]
        var bad: String?
    }

    /// zipfile's view of the archive, or nil (with a note) where this machine has no python3.
    private func readWithPython(_ path: String) throws -> Listing? {
        guard let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: FileManager.default.isExecutableFile) else {
            print("ZipArchiveTests: skipped the zipfile read: no python3 on this machine")
            return nil
        }
        let script = """
            import hashlib, json, sys, zipfile
            with zipfile.ZipFile(sys.argv[1]) as z:
                names = [i.filename for i in z.infolist()]
                print(json.dumps({"names": names, "bad": z.testzip(),
                                  "sha256": {n: hashlib.sha256(z.read(n)).hexdigest() for n in names}}))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script, path]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let problem = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(problem)")
        return try JSONDecoder().decode(Listing.self, from: data)
    }

    private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        return (0...(haystack.count - needle.count)).contains { Array(haystack[$0..<$0 + needle.count]) == needle }
    }

    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("zip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
