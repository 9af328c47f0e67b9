import Testing

import Coordinator

/// The preparation's table of ids read so far: exact even when hashes collide, and growing as needed.
@Suite struct IdSetTests {
    @Test func findsTheEarlierLineOfARepeatedId() {
        var ids = IdSet(capacity: 4)
        var lines: [Int: String] = [:]
        for line in 1...10_000 {
            let id = "img\(line % 7_000)"
            let earlier = ids.insert(id, line: line) { lines[$0] }
            #expect(earlier == (line > 7_000 ? line - 7_000 : nil), "line \(line)")
            if earlier == nil { lines[line] = id }
        }
        #expect(ids.count == 7_000)
    }

    /// Every id has the same hash: only the ids read back tell them apart.
    @Test func idsWithOneHashAreStillDifferentIds() {
        var ids = IdSet(capacity: 4, hash: { _ in 42 })
        var lines: [Int: String] = [:]
        var readBack = 0
        for (line, id) in ["a", "b", "c", "b", "d", "a"].enumerated().map({ ($0 + 1, $1) }) {
            let earlier = ids.insert(id, line: line) { readBack += 1; return lines[$0] }
            if earlier == nil { lines[line] = id }
            switch line {
            case 4: #expect(earlier == 2)
            case 6: #expect(earlier == 1)
            default: #expect(earlier == nil, "line \(line)")
            }
        }
        #expect(ids.count == 4 && readBack > 0)
    }
}
