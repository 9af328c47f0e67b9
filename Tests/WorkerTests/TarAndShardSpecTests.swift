import Foundation
import LabelAPI
import Support
import Testing

/// The tar reader against archives GNU tar writes (ustar, GNU and pax headers, long names), the writer against
/// GNU tar reading it back, and the `--shards` spec.
@Suite final class TarAndShardSpecTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tar-\(UUID().uuidString)")

    init() throws { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }

    deinit { try? FileManager.default.removeItem(at: folder) }

    /// Files under `folder/src`, archived by GNU tar in `format`.
    private func gnuTar(_ files: [String: [UInt8]], format: String) throws -> String {
        let source = folder.appendingPathComponent("src-\(format)")
        for (name, bytes) in files {
            let url = source.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url)
        }
        let archive = folder.appendingPathComponent("\(format).tar").path
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        tar.arguments = ["--format=\(format)", "-C", source.path, "-cf", archive] + files.keys.sorted()
        try tar.run()
        tar.waitUntilExit()
        #expect(tar.terminationStatus == 0)
        return archive
    }

    private func readAll(_ path: String) throws -> [String: [UInt8]] {
        let reader = try TarReader(path: path)
        var members: [String: [UInt8]] = [:]
        while let entry = try reader.nextEntry() { members[entry.name] = try reader.bytes(of: entry) }
        return members
    }

    @Test(arguments: ["ustar", "gnu", "pax"])
    func readsWhatGNUTarWrites(format: String) throws {
        let long = String(repeating: "folder-name/", count: 9) + "0001.jpg"  // 116 bytes: a prefix, a GNU L or a pax path
        let files: [String: [UInt8]] = ["0001.png": Array(repeating: 7, count: 513), "0001.json": Array("{}".utf8),
                                         long: Array(repeating: 1, count: 1024), "empty.txt": []]
        #expect(try readAll(try gnuTar(files, format: format)) == files)
        // Names and places first, then the bytes in any order.
        let reader = try TarReader(path: folder.appendingPathComponent("\(format).tar").path)
        var entries: [TarReader.Entry] = []
        while let entry = try reader.nextEntry() { entries.append(entry) }
        #expect(Set(entries.map(\.name)) == Set(files.keys))
        for entry in entries.reversed() { #expect(try reader.bytes(of: entry) == files[entry.name]) }
    }

    @Test func writesWhatGNUTarReads() throws {
        let path = folder.appendingPathComponent("out.tar").path
        let long = String(repeating: "k", count: 150) + ".label.png"
        let writer = try TarWriter(path)
        try writer.add("0001.label.png", Array(repeating: 3, count: 700))
        try writer.add("sub/0002.error.txt", Array("not a JPEG or PNG image\n".utf8))
        try writer.add(long, [1, 2, 3])
        #expect(!FileManager.default.fileExists(atPath: path), "nothing is visible before finish")
        try writer.finish()
        #expect(try readAll(path) == ["0001.label.png": Array(repeating: 3, count: 700),
                                      "sub/0002.error.txt": Array("not a JPEG or PNG image\n".utf8), long: [1, 2, 3]])
        let list = Process(), pipe = Pipe()
        list.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        list.arguments = ["-tf", path]
        list.standardOutput = pipe
        try list.run()
        let names = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        list.waitUntilExit()
        #expect(list.terminationStatus == 0)
        #expect(names.split(separator: "\n").map(String.init) == ["0001.label.png", "sub/0002.error.txt", long])
    }

    @Test func aDamagedArchiveSaysWhereAndWhy() throws {
        let path = try gnuTar(["a.png": Array(repeating: 9, count: 2000), "b.png": Array(repeating: 8, count: 100)], format: "ustar")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        // Cut inside the first member's bytes: the reader says it is truncated.
        try Data(bytes.prefix(1200)).write(to: URL(fileURLWithPath: path))
        #expect(throws: Tar.Failure.self) { _ = try readAll(path) }
        do { _ = try readAll(path) } catch { #expect("\(error)".contains("truncated"), "\(error)") }
        // A header whose checksum does not add up.
        bytes[0] ^= 0x20
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        do {
            _ = try readAll(path)
            Issue.record("a wrong checksum was read")
        } catch {
            #expect("\(error)".contains("is not a tar archive (its first header's checksum is wrong)"), "\(error)")
        }
        // Not a tar at all.
        try Data("just some text that is no archive".utf8).write(to: URL(fileURLWithPath: path))
        do {
            _ = try readAll(path)
            Issue.record("text was read as a tar")
        } catch {
            #expect("\(error)".contains("is not a tar archive (33 bytes, less than one header)"), "\(error)")
        }
    }

    @Test func membersOverTheLimitAreRefusedByName() throws {
        let path = try gnuTar(["big.png": Array(repeating: 5, count: 5000), "small.png": [1]], format: "gnu")
        let reader = try TarReader(path: path, maxMemberBytes: 1000)
        let big = try #require(try reader.nextEntry()), small = try #require(try reader.nextEntry())
        #expect(try reader.nextEntry() == nil)
        #expect((big.name, big.size, small.name, small.size) == ("big.png", 5000, "small.png", 1))
        do {
            _ = try reader.bytes(of: big)
            Issue.record("a member over the limit was read")
        } catch {
            #expect("\(error)".contains("big.png is 5000 bytes, over the 1000-byte limit"), "\(error)")
        }
        #expect(try reader.bytes(of: small) == [1])
    }

    @Test func bracesExpandAsWebDatasetDoes() throws {
        #expect(try ShardSpec.expand("s3://b/train-{000000..000003}.tar")
                == (0...3).map { "s3://b/train-00000\($0).tar" })
        #expect(try ShardSpec.expand("/d/{a,b}/part-{8..10}.tar")
                == ["/d/a/part-8.tar", "/d/a/part-9.tar", "/d/a/part-10.tar", "/d/b/part-8.tar", "/d/b/part-9.tar", "/d/b/part-10.tar"])
        #expect(try ShardSpec.expand("https://h/x/{00..02}.tar") == ["https://h/x/00.tar", "https://h/x/01.tar", "https://h/x/02.tar"])
        #expect(try ShardSpec.expand("/one.tar") == ["/one.tar"])
        for bad in ["/x-{1..}.tar", "/x-{5..1}.tar", "/x-{1..3.tar", "/x-1..3}.tar", "/x-{a..c}.tar", "/x-{0..999999999}.tar"] {
            #expect(throws: ShardSpecError.self, "\(bad)") { try ShardSpec.expand(bad) }
        }
    }

    @Test func aListFileNamesItsShards() throws {
        let list = folder.appendingPathComponent("shards.txt")
        try "# train\ns3://b/a.tar\n\n  /d/b.tar  \r\nhttps://h/c.tar\n".write(to: list, atomically: true, encoding: .utf8)
        #expect(try ShardSpec.shards(list.path) == ["s3://b/a.tar", "/d/b.tar", "https://h/c.tar"])
        try "# nothing\n".write(to: list, atomically: true, encoding: .utf8)
        #expect(throws: ShardSpecError.self) { try ShardSpec.shards(list.path) }
        #expect(try ShardSpec.shards("/no/such/part-{0..1}.tar") == ["/no/such/part-0.tar", "/no/such/part-1.tar"])
    }

    @Test func membersSplitIntoKeysAtTheFirstDotOfTheFileName() {
        #expect(ShardSpec.split(member: "0001.jpg")! == ("0001", "jpg"))
        #expect(ShardSpec.split(member: "a.b/0001.seg.png")! == ("a.b/0001", "seg.png"))
        #expect(ShardSpec.split(member: "dir/noext") == nil)
        #expect(ShardSpec.split(member: "dir/.hidden") == nil)
        #expect(ShardSpec.name(of: "s3://b/p/train-000001.tar") == "train-000001.tar")
        #expect(ShardSpec.name(of: "https://h/x/00.tar?sig=abc") == "00.tar")
        #expect(ShardSample.id(shard: "train-000001.tar", key: "cats/0001") == "train-000001_cats_0001")
    }
}

/// Clients build a path per request: `Route.path` reads its template once and escapes by bytes, exactly as
/// Foundation's percent-encoding with the path's allowed set less `/`, `%`, `;` and `?`.
@Suite struct RoutePathTests {
    @Test func escapesAsFoundationDoes() {
        let allowed = CharacterSet.urlPathAllowed.subtracting(["/", "%", ";", "?"])
        for value in ["123", "img_0001", "a b", "x/y", "50%", "a;b?c#d", "café", "日本", "~!$&'()*+,=:@-._", "\u{1F600}", ""] {
            #expect(Route.escape(value) == value.addingPercentEncoding(withAllowedCharacters: allowed), "\(value)")
        }
        #expect(Routes.failImage.path("12", "a b/c") == "/v1/tasks/12/images/a%20b%2Fc/fail")
        #expect(Routes.file.path("photos/a b.jpg") == "/v1/files/photos/a%20b.jpg")
        #expect(Routes.outputShard.parameters == ["job", "name"] && Routes.file.parameters == ["path"])
    }
}
