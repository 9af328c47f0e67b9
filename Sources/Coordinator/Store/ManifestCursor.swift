import Foundation

/// One manifest item and where its line is: bytes `start..<end` of the file, after `startLine` lines (blank and
/// comment lines before it may be inside the range; reading it again skips them the same way).
struct ManifestEntry {
    var item: ManifestItem
    var start: Int64
    var startLine: Int
    var end: Int64
}

/// The lines of a manifest a task names: bytes `offset..<end`, after `line` lines, its last image on `lastLine`.
struct ManifestLines {
    var offset: Int64
    var line: Int
    var end: Int64
    var lastLine: Int

    /// The items in those bytes, read from the manifest at `path` (nil when it cannot be opened).
    func items(in path: String) -> [ManifestItem]? {
        var reader = ManifestFile.Iterator(path: path, offset: offset, line: line, chunk: Int(min(1 << 20, max(1, end - offset + 1))))
        guard reader.isOpen else { return nil }
        var items: [ManifestItem] = []
        while reader.offset < end, let item = reader.next() { items.append(item) }
        return items
    }
}

/// Where a preparing job's manifest is read next, with the ids read so far (`IdSet`) to tell a repeated one.
/// Made again after a restart by reading the manifest up to where the job stopped (`init`).
final class ManifestCursor {
    let path: String
    /// Whether the job's tasks name manifest lines (false: a job begun before they did, whose images all have rows;
    /// the store's unique index finds its repeated ids).
    let namesLines: Bool
    private var reader: ManifestFile.Iterator
    private(set) var ids = IdSet()
    /// Every 64 lines or so: the lines read and the byte offset there, to find an earlier line again quickly.
    private var checkpoints: [(line: Int, offset: Int64)] = []

    /// How far the manifest is read.
    var offset: Int64 { reader.offset }
    var line: Int { reader.line }

    /// A cursor at byte `offset` (line `line`) of the manifest at `path`, with the ids of every line before it:
    /// its own id for an accepted line or a refused one that kept it, none for a refused line the store renamed
    /// (`refused`: the stored id of each refused line, by line).
    init(path: String, offset: Int64, line: Int, namesLines: Bool, refused: [Int: String]) throws(StoreError) {
        (self.path, self.namesLines) = (path, namesLines)
        reader = ManifestFile.Iterator(path: path)
        guard reader.isOpen else { throw .notFound("the manifest \(path) is missing") }
        guard namesLines else {
            reader = ManifestFile.Iterator(path: path, offset: offset, line: line)
            return
        }
        while reader.offset < offset, let entry = next() {
            if let stored = refused[entry.item.line], stored != entry.item.id { continue }
            _ = try remember(entry.item)
        }
        guard reader.offset == offset, reader.line == line else {
            throw StoreError(.io, "the manifest \(path) does not end a line at byte \(offset), where its job stopped")
        }
    }

    /// The next item, or nil at the end of the manifest.
    func next() -> ManifestEntry? {
        if namesLines, checkpoints.last.map({ reader.line >= $0.line + 64 }) ?? true {
            checkpoints.append((reader.line, reader.offset))
        }
        let (start, startLine) = (reader.offset, reader.line)
        guard let item = reader.next() else { return nil }
        return ManifestEntry(item: item, start: start, startLine: startLine, end: reader.offset)
    }

    /// Adds the item's id; returns the earlier line that has it instead.
    func remember(_ item: ManifestItem) throws(StoreError) -> Int? {
        if ids.count == 1024 { reserveForTheWholeFile() }
        do {
            return try ids.insert(item.id, line: item.line) { try self.id(atLine: $0) }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "reading the manifest \(path) again: \(error)")
        }
    }

    /// Sizes the id table for the lines the manifest will have, from the bytes a line took so far, plus a tenth.
    private func reserveForTheWholeFile() {
        guard reader.line > 0, reader.offset > 0,
              let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int else { return }
        let lines = Double(size) / Double(reader.offset) * Double(reader.line)
        ids.reserve(Int(min(lines * 1.1, 1e9)))
    }

    /// The id of line `target`, read again from the file (from the last checkpoint before it).
    private func id(atLine target: Int) throws -> String? {
        var low = 0, high = checkpoints.count
        while low < high {
            let middle = (low + high) / 2
            if checkpoints[middle].line < target { low = middle + 1 } else { high = middle }
        }
        guard low > 0 else { return nil }
        let checkpoint = checkpoints[low - 1]
        var again = ManifestFile.Iterator(path: path, offset: checkpoint.offset, line: checkpoint.line, chunk: 1 << 16)
        guard again.isOpen else { throw StoreError(.io, "the manifest \(path) is gone") }
        while let item = again.next(), item.line <= target {
            if item.line == target { return item.id }
        }
        return nil
    }
}
