import Foundation
import Testing
import Worker

/// Workers sharing a cache count each other through locked registration files (each `CoreShare` here opens its
/// own file descriptions, so their `flock`s conflict as separate processes' do).
@Suite("Workers on one host divide its cores")
struct CoreShareTests {
    @Test("n CPUs over w workers: ⌊n / w⌋ each, one more for the first n mod w, never fewer than one")
    func shares() {
        #expect((0..<3).map { CoreShare.share(of: 8, rank: $0, count: 3) } == [3, 3, 2])
        #expect((0..<2).map { CoreShare.share(of: 2, rank: $0, count: 2) } == [1, 1])
        #expect((0..<3).map { CoreShare.share(of: 2, rank: $0, count: 3) } == [1, 1, 1])
        #expect(CoreShare.share(of: 16, rank: 0, count: 1) == 16)
    }

    @Test("registered workers with overlapping CPUs count each other; leaving, disjoint CPUs and dead files do not")
    func counting() async throws {
        try await withTemporaryDirectory { path in
            let directory = URL(fileURLWithPath: path).appendingPathComponent("workers")
            let a = CoreShare(directory: directory, name: "box-a", cpus: [0, 1, 2, 3], available: 4)
            let b = CoreShare(directory: directory, name: "box-b", cpus: [2, 3, 4, 5], available: 4)
            let pinned = CoreShare(directory: directory, name: "box-c", cpus: [6, 7], available: 2)
            try a.join()
            #expect(a.sharing() == (rank: 0, count: 1))
            #expect(b.sharing() == (rank: 1, count: 2), "an unregistered worker counts itself and the registered ones")
            try b.join()
            try pinned.join()
            #expect(a.sharing() == (rank: 0, count: 2))
            #expect(b.sharing() == (rank: 1, count: 2))
            #expect(pinned.sharing() == (rank: 0, count: 1), "pinned to other CPUs: shares with no one")
            #expect(try String(contentsOf: directory.appendingPathComponent("box-b.lock"), encoding: .utf8)
                    == "host \(CoreShare.thisHost)\ncpus 2,3,4,5\n")

            // A cache on a file system that other machines share: their workers are not this host's.
            let elsewhere = CoreShare(directory: directory, name: "other-machine", cpus: [0, 1], available: 2, host: "another boot id")
            try elsewhere.join()
            #expect(a.sharing() == (rank: 0, count: 2))
            #expect(elsewhere.sharing() == (rank: 0, count: 1))
            elsewhere.leave()

            // A worker killed in a task leaves its file, unlocked: not counted, and removed by whoever finds it.
            let ghost = directory.appendingPathComponent("ghost.lock")
            try "host \(CoreShare.thisHost)\ncpus 0,1\n".write(to: ghost, atomically: true, encoding: .utf8)
            #expect(a.sharing() == (rank: 0, count: 2))
            #expect(!FileManager.default.fileExists(atPath: ghost.path))

            b.leave()
            #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("box-b.lock").path))
            #expect(a.sharing() == (rank: 0, count: 1))
            try b.join()  // the next task
            #expect(a.sharing() == (rank: 0, count: 2))
            let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            #expect(names == ["box-a.lock", "box-b.lock", "box-c.lock"], "no staging file is left")
        }
    }

    @Test("a name that is not a file name is made one")
    func names() async throws {
        try await withTemporaryDirectory { path in
            let share = CoreShare(directory: URL(fileURLWithPath: path), name: "../host.example/w-1", cpus: [0], available: 1)
            try share.join()
            #expect(try FileManager.default.contentsOfDirectory(atPath: path) == ["___host_example_w-1.lock"])
        }
    }
}
