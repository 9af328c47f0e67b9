/// The ids of a manifest read so far, each with the line that has it: how a job's preparation finds a repeated id
/// without a row per image. 8 bytes a slot (32 bits of the id's hash, 32 bits of its line) in open addressing, at
/// most 80% full: about 100 MB for ten million lines, held only while the manifest is read.
///
/// Exact: the table keeps part of a hash, not the id, so different ids may look alike; on an equal hash `idAt`
/// reads the earlier line's id back and the ids themselves are compared.
package struct IdSet {
    private var slots: [UInt64]
    package private(set) var count = 0
    private let hash: (String) -> UInt64

    /// `hash` is for tests, to make ids collide.
    package init(capacity: Int = 1 << 12, hash: @escaping (String) -> UInt64 = IdSet.hash) {
        self.hash = hash
        slots = [UInt64](repeating: 0, count: Self.slots(for: capacity))
    }

    private static func slots(for ids: Int) -> Int { max(16, ids + ids / 4) }

    /// Makes room for `ids` ids in all, at once (rather than growing a step at a time, with both tables in memory).
    mutating func reserve(_ ids: Int) {
        if Self.slots(for: ids) > slots.count { rehash(into: Self.slots(for: ids)) }
    }

    /// Adds `id` of line `line`; returns the earlier line that has the same id instead (and adds nothing).
    /// `idAt(line)` is the id of an earlier line (nil if it has none).
    package mutating func insert(_ id: String, line: Int, idAt: (Int) throws -> String?) rethrows -> Int? {
        if (count + 1) * 5 > slots.count * 4 { rehash(into: slots.count + slots.count / 2) }
        let tag = max(1, self.hash(id) >> 32)
        var slot = home(tag, in: slots.count)
        while slots[slot] != 0 {
            if slots[slot] >> 32 == tag, let earlier = try idAt(Int(slots[slot] & 0xFFFF_FFFF)), earlier == id {
                return Int(slots[slot] & 0xFFFF_FFFF)
            }
            slot = slot + 1 == slots.count ? 0 : slot + 1
        }
        slots[slot] = tag << 32 | UInt64(UInt32(clamping: line))
        count += 1
        return nil
    }

    /// Where a tag's probe starts: the tag scaled to the table (no power-of-two size needed).
    private func home(_ tag: UInt64, in size: Int) -> Int {
        Int((tag * UInt64(size)) >> 32)
    }

    private mutating func rehash(into size: Int) {
        let old = slots
        slots = [UInt64](repeating: 0, count: size)
        for entry in old where entry != 0 {
            var slot = home(entry >> 32, in: size)
            while slots[slot] != 0 { slot = slot + 1 == size ? 0 : slot + 1 }
            slots[slot] = entry
        }
    }

    /// FNV-1a over the UTF-8 bytes, then a 64-bit finalizer so that every bit depends on every byte.
    static func hash(_ id: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in id.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        hash = (hash ^ (hash >> 33)) &* 0xff51_afd7_ed55_8ccd
        hash = (hash ^ (hash >> 33)) &* 0xc4ce_b9fe_1a85_ec53
        return hash ^ (hash >> 33)
    }
}
