import Foundation
import LabelAPI
import LabelClient
import Support
import TestSupport
import Testing

/// WebDataset shards in and out with real processes: `labelmill run --shards` over shards GNU tar wrote (a corrupt
/// member, a member that is no image, a key in a folder with a long name), output shards checked member by member,
/// byte for byte against `labelmill label` on the same images, and read by the `webdataset` package.
@Suite(.serialized) struct ShardEndToEndTests {
    static let classes = "cat,dog,tree,sky,person"

    /// Two shards in `desk`: part-0000 holds 0001.png (+ 0001.json, no image) and 0002.jpg; part-0001 holds
    /// `<long folder>/0003.png` and 0004.png, which is text.
    static func shards(in desk: NewcomerTests.Desk) throws -> (folder: URL, keys: [String: String]) {
        let source = desk.root.appendingPathComponent("shard-src"), folder = desk.root.appendingPathComponent("shards")
        let long = String(repeating: "a-long-folder/", count: 8)
        let members: [(shard: Int, name: String, source: String?)] = [
            (0, "0001.png", "img_a.png"), (0, "0001.json", nil), (0, "0002.jpg", "img_b.jpg"),
            (1, long + "0003.png", "img_c.png"), (1, "0004.png", nil),
        ]
        for member in members {
            let url = source.appendingPathComponent("\(member.shard)/\(member.name)")
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            if let image = member.source {
                try FileManager.default.copyItem(at: LiveCoordinator.images.appendingPathComponent(image), to: url)
            } else {
                try Data((member.name.hasSuffix(".json") ? "{\"caption\": \"a cat\"}" : "this is no PNG").utf8).write(to: url)
            }
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for shard in 0...1 {
            let tar = Process()
            tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
            tar.arguments = ["--format=gnu", "-C", source.appendingPathComponent("\(shard)").path, "-cf",
                             folder.appendingPathComponent("part-000\(shard).tar").path]
                + members.filter { $0.shard == shard }.map(\.name)
            try tar.run()
            tar.waitUntilExit()
            #expect(tar.terminationStatus == 0)
        }
        return (folder, ["0001": "img_a.png", "0002": "img_b.jpg", long + "0003": "img_c.png"])
    }

    static func members(_ path: String) throws -> [String: [UInt8]] {
        let reader = try TarReader(path: path)
        var members: [String: [UInt8]] = [:]
        while let entry = try reader.nextEntry() { members[entry.name] = try reader.bytes(of: entry) }
        return members
    }

    @Test func runWithShardsWritesAnOutputShardPerInputShard() async throws {
        let desk = try NewcomerTests.Desk()
        let (folder, keys) = try Self.shards(in: desk)
        let out = desk.root.appendingPathComponent("out")
        let spec = folder.path + "/part-{0000..0001}.tar"
        let run = try await desk.run(["--shards", spec, "--out", out.path])
        #expect(run.status == 1, "one sample failed: \(run.errors)")
        #expect(run.output.contains("3 labeled, 1 failed of 4") && run.output.contains("2 output shards in"), "\(run.output)")

        // Each output shard has the input's name; labels by key, the corrupt member's reason as <key>.error.txt,
        // nothing for the member that is no image.
        let first = try Self.members(out.appendingPathComponent("shards/part-0000.tar").path)
        let second = try Self.members(out.appendingPathComponent("shards/part-0001.tar").path)
        #expect(Set(first.keys) == ["0001.label.png", "0002.label.png"])
        let long = keys.keys.first { $0.hasSuffix("0003") }!
        #expect(Set(second.keys) == [long + ".label.png", "0004.error.txt"])
        let reason = String(decoding: second["0004.error.txt"] ?? [], as: UTF8.self)
        #expect(reason.contains("not a JPEG or PNG"), "\(reason)")

        // Byte-identical to `labelmill label` on the same images.
        let single = desk.root.appendingPathComponent("single")
        try FileManager.default.createDirectory(at: desk.root.appendingPathComponent("one"), withIntermediateDirectories: true)
        for image in keys.values {
            try FileManager.default.copyItem(at: LiveCoordinator.images.appendingPathComponent(image), to: desk.root.appendingPathComponent("one/\(image)"))
        }
        let label = try await LabelmillProcess.runToEnd(
            ["label", "--model", desk.model.path, "--classes", Self.classes, "--short-side", "48", "--out", single.path,
             desk.root.appendingPathComponent("one").path], environment: desk.environment)
        #expect(label.status == 0, "\(label.errors)")
        for (key, image) in keys {
            let expected = try Data(contentsOf: single.appendingPathComponent((image as NSString).deletingPathExtension + ".png"))
            let labeled = (first[key + ".label.png"] ?? second[key + ".label.png"]).map { Data($0) }
            #expect(labeled == expected, "\(key)")
        }

        // The failure is in results.jsonl with its reason and the sample's id.
        let results = try String(contentsOf: out.appendingPathComponent("results.jsonl"), encoding: .utf8)
        #expect(results.contains("\"id\":\"part-0001_0004\"") && results.contains("not a JPEG or PNG"), "\(results)")

        // The webdataset package reads them: keys and extensions as written.
        if let python = S3TestServer.python(importing: "webdataset") {
            let script = """
                import sys, webdataset as wds
                for s in wds.WebDataset(sys.argv[1:], shardshuffle=False):
                    print(s["__key__"], ",".join(sorted(k for k in s if not k.startswith("__"))), sep="\\t")
                """
            let read = Process(), pipe = Pipe()
            read.executableURL = URL(fileURLWithPath: python)
            read.arguments = ["-c", script, out.appendingPathComponent("shards/part-0000.tar").path,
                              out.appendingPathComponent("shards/part-0001.tar").path]
            read.standardOutput = pipe
            try read.run()
            let lines = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            read.waitUntilExit()
            #expect(read.terminationStatus == 0)
            #expect(lines.split(separator: "\n").map(String.init)
                    == ["0001\tlabel.png", "0002\tlabel.png", "\(long)\tlabel.png", "0004\terror.txt"], "\(lines)")
        } else {
            Issue.record("no Python with webdataset: run scripts/test-python")
        }

        // Run again: the failed sample is tried again (and fails again); the output shards still hold every sample.
        let again = try await desk.run(["--shards", spec, "--out", out.path])
        #expect(again.status == 1)
        #expect(again.output.contains("retried 1 image"), "\(again.output)")
        #expect(Set(try Self.members(out.appendingPathComponent("shards/part-0001.tar").path).keys) == [long + ".label.png", "0004.error.txt"])
        #expect(try Self.members(out.appendingPathComponent("shards/part-0000.tar").path) == first)
    }

    @Test func anUnreadableShardFailsByName() async throws {
        let desk = try NewcomerTests.Desk()
        let (folder, _) = try Self.shards(in: desk)
        try Data("no tar at all, just text long enough to be read as a header block".utf8)
            .write(to: folder.appendingPathComponent("part-0002.tar"))
        let out = desk.root.appendingPathComponent("out")
        let run = try await desk.run(["--shards", folder.path + "/part-{0001..0003}.tar", "--out", out.path])
        #expect(run.status == 1)
        let results = try String(contentsOf: out.appendingPathComponent("results.jsonl"), encoding: .utf8)
        // part-0002 is not a tar, part-0003 does not exist: each fails as one sample named by its shard, with why.
        #expect(results.contains("\"id\":\"part-0002___shard__\"") && results.contains("part-0002.tar cannot be read as a shard"), "\(results)")
        #expect(results.contains("\"id\":\"part-0003___shard__\"") && results.contains("no such file"), "\(results)")
        let output = try Self.members(out.appendingPathComponent("shards/part-0002.tar").path)
        #expect(Set(output.keys) == ["__shard__.error.txt"])
        #expect(Set(try Self.members(out.appendingPathComponent("shards/part-0001.tar").path).keys).count == 2)
    }

    /// A fleet job on shards in S3 (moto): the first worker is SIGKILLed at its second upload, mid-shard. No
    /// output shard shows while its lease runs out; the next worker redoes that shard once, labeling only what the
    /// first left unfinished; the output shards hold every sample, labels byte-identical to the fault-free run's,
    /// and the corrupt member fails alone, with its reason there and in `status`.
    @Test(.timeLimit(.minutes(3)), .enabled(if: S3TestServer.python != nil, "needs moto[server] from PyPI: run scripts/test-python"))
    func aFleetJobOnS3ShardsSurvivesAWorkerKilledMidShard() async throws {
        try await Self.fleetOnS3Shards(output: nil)
    }

    /// The same with `--output s3://…`: the workers write the output shards to the bucket (the coordinator holds
    /// none), the killed worker's shard is not there until the next worker rewrote it whole (labeling its done
    /// samples again, to the same bytes), `verify` finds every receipt borne out, `export` reads from the bucket, and
    /// the `webdataset` package reads the shards.
    @Test(.timeLimit(.minutes(3)), .enabled(if: S3TestServer.python != nil, "needs moto[server] from PyPI: run scripts/test-python"))
    func aFleetJobWritesItsOutputShardsToS3() async throws {
        try await Self.fleetOnS3Shards(output: "s3://data/labeled/")
    }

    static func fleetOnS3Shards(output: String?) async throws {
        let reference = try await FaultReference.labels()
        let cluster = try FaultCluster("s3-shards", imageCount: 6)
        defer { cluster.shutdown() }
        // train-000000.tar: img0..img3; train-000001.tar: img4, img5 and a corrupt member. Keys are the image ids.
        let source = cluster.directory.appendingPathComponent("shard-src")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        for image in cluster.images {
            try FileManager.default.copyItem(at: cluster.imageRoot.appendingPathComponent(image.file), to: source.appendingPathComponent(image.file))
        }
        try Data("garbage, not a JPEG".utf8).write(to: source.appendingPathComponent("broken.jpg"))
        var objects: [String: URL] = [:]
        for (shard, members) in [["img0.png", "img1.jpg", "img2.png", "img3.png"], ["img4.jpg", "img5.png", "broken.jpg"]].enumerated() {
            let path = cluster.directory.appendingPathComponent("train-00000\(shard).tar")
            let tar = Process()
            tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
            tar.arguments = ["--format=pax", "-C", source.path, "-cf", path.path] + members
            try tar.run()
            tar.waitUntilExit()
            #expect(tar.terminationStatus == 0)
            objects["sets/train-00000\(shard).tar"] = path
        }
        let s3 = try S3TestServer.start(bucket: "data", objects: objects, log: cluster.directory.appendingPathComponent("s3.log"))
        cluster.onShutdown { s3.stop() }
        let home = cluster.directory.appendingPathComponent("home")
        try await cluster.startCoordinator()
        try await cluster.submit(source: ["--shards", "s3://data/sets/train-{000000..000001}.tar"], environment: s3.environment(home: home),
                                 arguments: output.map { ["--output", $0] } ?? [])
        let bucket = S3Client(configuration: s3.configuration, http: HTTPClient())

        let doomed = try cluster.startWorker("doomed", faults: "kill@upload:2", environment: s3.environment(home: home))
        await LabelmillProcess.exit(of: doomed.process)
        let shards = ["train-000000.tar", "train-000001.tar"]
        for name in shards {
            let response = try await HTTPClient().send(ClientRequest(url: cluster.url + Routes.outputShard.path(cluster.job, name),
                                                                   headers: ["Authorization": "Bearer \(FaultCluster.token)"]))
            if let output {
                // The coordinator says where it goes; the bucket has none.
                #expect(response.status == 409 && response.bodyText.contains("\(output)shards/\(name)"), "\(response.bodyText)")
                await #expect(throws: S3Error.self, "no output shard \(name) while the killed worker's lease runs") {
                    _ = try await bucket.get(S3Location(bucket: "data", key: "labeled/shards/\(name)"), maxBytes: 1 << 20)
                }
            } else {
                #expect(response.status == 404, "no output shard \(name) while the killed worker's lease runs")
            }
        }
        // The killed worker left its fetched shard in the shared cache.
        let fetched = cluster.cacheDirectory().appendingPathComponent("shards")
        #expect(try FileManager.default.contentsOfDirectory(atPath: fetched.path).contains { $0.hasSuffix(".tar") || $0.hasSuffix(".part") })
        try cluster.startWorker("steady", environment: s3.environment(home: home))
        try await cluster.waitForJobEnd()
        // The next worker removed it at its start, and its own when each task ended.
        #expect(try FileManager.default.contentsOfDirectory(atPath: fetched.path).isEmpty, "fetched shards left behind")

        let status = try await cluster.admin.job(cluster.job)
        #expect(status.state == .done && status.images.done == 6 && status.images.failed == 1, "\(status.images)")
        #expect(status.recentErrors.contains { $0.id == "train-000001_broken" && $0.error.contains("not a JPEG or PNG") }, "\(status.recentErrors)")

        // The killed worker's shard went round once more, and its second lease labeled only what was unfinished.
        let declared = try await cluster.events().filter { $0.kind == .taskSamples }.compactMap(\.reason)
        #expect(declared.count == 3, "\(declared)")
        // With an output, the worker writes the whole output shard: the samples done before are labeled again.
        #expect(declared.contains { $0.hasPrefix("4 samples, 0 new, \(output == nil ? 3 : 4) to label") }, "\(declared)")

        let out = cluster.directory.appendingPathComponent("export")
        if let output {
            #expect(!FileManager.default.fileExists(atPath: cluster.dataDirectory.appendingPathComponent("shards/\(cluster.job)").path))
            let auth = ["--coordinator", cluster.url, "--token-file", cluster.tokenFile]
            let verified = try await LabelmillProcess.runToEnd(["verify"] + auth + [cluster.job], environment: s3.environment(home: home))
            #expect(verified.status == 0 && verified.output.contains("verified 6 label maps in \(output): all match"), "\(verified.output)")
            let exported = try await LabelmillProcess.runToEnd(["export"] + auth + [cluster.job, "--out", out.path], environment: s3.environment(home: home))
            #expect(exported.status == 1 && exported.output.contains("exported 6 label maps"), "one sample failed: \(exported.output) \(exported.errors)")
            for name in shards {
                let object = try await bucket.get(S3Location(bucket: "data", key: "labeled/shards/\(name)"), maxBytes: 1 << 24)
                #expect(Data(object) == (try Data(contentsOf: out.appendingPathComponent("shards/\(name)"))))
            }
            for image in cluster.images {
                #expect(try SHA256Hex.of(file: out.appendingPathComponent("labels/train-00000\(image.id < "img4" ? 0 : 1)_\(image.id).png").path)
                        == reference[image.id], "\(image.id)")
            }
        } else {
            let exported = try await JobExport.run(client: cluster.admin, job: cluster.job, to: out)
            #expect(exported.shards == 2 && exported.shardsPending.isEmpty)
        }
        var labels: [String: String] = [:]
        for name in shards {
            for (member, bytes) in try Self.members(out.appendingPathComponent("shards/\(name)").path) {
                if member.hasSuffix(".label.png") { labels[String(member.dropLast(".label.png".count))] = SHA256Hex.of(bytes) }
                if member.hasSuffix(".error.txt") {
                    #expect(member == "broken.error.txt" && String(decoding: bytes, as: UTF8.self).contains("not a JPEG or PNG"))
                }
            }
        }
        #expect(labels == reference.filter { Int($0.key.dropFirst(3))! < 6 }, "\(labels)")
        if output != nil, let python = S3TestServer.python(importing: "webdataset") {
            let read = Process(), pipe = Pipe()
            read.executableURL = URL(fileURLWithPath: python)
            read.arguments = ["-c", "import sys, webdataset as wds\nprint(sum(1 for s in wds.WebDataset(sys.argv[1:], shardshuffle=False)))"]
                + shards.map { out.appendingPathComponent("shards/\($0)").path }
            read.standardOutput = pipe
            try read.run()
            let count = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            read.waitUntilExit()
            #expect(read.terminationStatus == 0 && count.trimmingCharacters(in: .whitespacesAndNewlines) == "7", "\(count)")
        }
        guard let output else { return }
        // `retry`: the failed sample goes round in a new task of its shard, whose worker rewrites the whole output
        // shard (the samples an earlier task did, labeled again to the same bytes); it fails again, alone.
        let before = try await bucket.get(S3Location(bucket: "data", key: "labeled/shards/train-000001.tar"), maxBytes: 1 << 24)
        _ = try await LabelmillProcess.run(["retry", "--coordinator", cluster.url, "--token-file", cluster.tokenFile, cluster.job])
        try await cluster.waitForJobEnd()
        let retried = try await cluster.events().filter { $0.kind == .taskSamples }.compactMap(\.reason)
        #expect(retried.count == 4 && retried.last?.hasPrefix("3 samples, 0 new, 3 to label") == true, "\(retried)")
        let after = try await bucket.get(S3Location(bucket: "data", key: "labeled/shards/train-000001.tar"), maxBytes: 1 << 24)
        func members(_ bytes: [UInt8]) throws -> [String: [UInt8]] {
            let path = cluster.directory.appendingPathComponent("shard-\(UUID().uuidString).tar")
            try Data(bytes).write(to: path)
            return try Self.members(path.path)
        }
        #expect(try members(after) == members(before), "the rewritten output shard has the same members, byte for byte")
        let verified = try await LabelmillProcess.runToEnd(["verify", "--coordinator", cluster.url, "--token-file", cluster.tokenFile, cluster.job],
                                                           environment: s3.environment(home: home))
        #expect(verified.status == 0 && verified.output.contains("verified 6 label maps in \(output)"), "\(verified.output)")
    }
}

