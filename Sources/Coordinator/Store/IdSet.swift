/// The ids of a manifest read so far, each with the line that has it: how a job's preparation finds a repeated id
/// without a row per image. About 15 bytes per id (a 64-bit hash and a 32-bit line in open addressing, at most
/// 80% full): 150 MB for ten million lines, held only while the manifest is read.
///
/// Exact: the table keeps hashes, not ids, so two different ids with one hash would look alike; on an equal hash
/// `idAt` reads the earlier line's id back and the ids themselves are compared.
struct IdSet {
    private var hashes: [UInt64]
    private var lines: [UInt32]
    private(set) var count = 0
    private let hash: (String) -> UInt64

    /// `hash` is for tests, to make ids collide.
    init(capacity: Int = 1 << 12, hash: @escaping (String) -> UInt64 = IdSet.hash) {
        self.hash = hash
        let slots = max(16, capacity + capacity / 4)
        hashes = [UInt64](repeating: 0, count: slots)
        lines = [UInt32](repeating: 0, count: slots)
    }

    /// Adds `id` of line `line`; returns the earlier line that has the same id instead (and adds nothing).
    /// `idAt(line)` is the id of an earlier line (nil if it has none).
    mutating func insert(_ id: String, line: Int, idAt: (Int) throws -> String?) rethrows -> Int? {
        if (count + 1) * 5 > hashes.count * 4 { grow() }
        let hash = max(1, self.hash(id))
        var slot = home(hash)
        while hashes[slot] != 0 {
            if hashes[slot] == hash, let earlier = try idAt(Int(lines[slot])), earlier == id { return Int(lines[slot]) }
            slot = slot + 1 == hashes.count ? 0 : slot + 1
        }
        hashes[slot] = hash
        lines[slot] = UInt32(clamping: line)
        count += 1
        return nil
    }

    /// Where a hash's probe starts: the hash scaled to the table (no power-of-two size needed).
    private func home(_ hash: UInt64) -> Int {
        Int(hash.multipliedFullWidth(by: UInt64(hashes.count)).high)
    }

    private mutating func grow() {
        let (oldHashes, oldLines) = (hashes, lines)
        let slots = hashes.count + hashes.count / 2
        hashes = [UInt64](repeating: 0, count: slots)
        lines = [UInt32](repeating: 0, count: slots)
        for (hash, line) in zip(oldHashes, oldLines) where hash != 0 {
            var slot = home(hash)
            while hashes[slot] != 0 { slot = slot + 1 == slots ? 0 : slot + 1 }
            (hashes[slot], lines[slot]) = (hash, line)
        }
    }

    /// FNV-1a over the UTF-8 bytes, then a 64-bit finalizer so that every bit depends on every byte; never 0 (0
    /// marks an empty slot).
    static func hash(_ id: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in id.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        hash = (hash ^ (hash >> 33)) &* 0xff51_afd7_ed55_8ccd
        hash = (hash ^ (hash >> 33)) &* 0xc4ce_b9fe_1a85_ec53
        hash ^= hash >> 33
        return hash == 0 ? 1 : hash
    }
}
