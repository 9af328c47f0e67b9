import Foundation

/// The images of a folder and its subfolders, for commands that take a folder where a list of images is expected:
/// files whose extension is `.jpg`, `.jpeg` or `.png` (any case), hidden files and folders skipped, in path order.
public enum ImageFolder {
    public static let extensions: Set<String> = ["jpg", "jpeg", "png"]

    public struct Entry: Sendable, Equatable {
        /// The file's absolute path.
        public var path: String
        /// Its path relative to the folder, without the extension: `cats/001` for `cats/001.jpg` (with it when
        /// another file has the same name: `disambiguated`).
        public var name: String

        public init(path: String, name: String) { (self.path, self.name) = (path, name) }
    }

    /// Whether `path` names a directory.
    public static func isFolder(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// Every image under `folder`; throws when the folder cannot be read.
    public static func images(in folder: URL) throws -> [Entry] {
        let root = folder.standardizedFileURL.resolvingSymlinksInPath()
        guard let walk = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey],
                                                        options: [.skipsHiddenFiles]) else {
            throw InferenceError(.io, "cannot read the folder \(folder.path)")
        }
        var entries: [Entry] = []
        for case let url as URL in walk where extensions.contains(url.pathExtension.lowercased()) {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
            let path = url.standardizedFileURL.resolvingSymlinksInPath().path
            guard path.hasPrefix(root.path + "/") else { continue }
            let relative = String(path.dropFirst(root.path.count + 1))
            entries.append(Entry(path: path, name: String(relative.dropLast(url.pathExtension.count + 1))))
        }
        return disambiguated(entries.sorted { $0.path < $1.path })
    }

    /// Files that would share a name (`x.jpg` and `x.png`) each keep their extension in it instead (`x.jpg`,
    /// `x.png`), so both are labeled, under names that say which file they came from.
    public static func disambiguated(_ entries: [Entry]) -> [Entry] {
        var uses: [String: Int] = [:]
        for entry in entries { uses[entry.name, default: 0] += 1 }
        return entries.map { entry in
            guard uses[entry.name]! > 1 else { return entry }
            return Entry(path: entry.path, name: entry.name + "." + URL(fileURLWithPath: entry.path).pathExtension)
        }
    }
}
