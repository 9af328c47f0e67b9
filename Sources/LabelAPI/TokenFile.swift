import Foundation

/// Token files, read the same way by the coordinator and by its clients: the first non-empty line, trimmed.
public enum TokenFile {
    /// The token in `path`, or nil when the file is unreadable or holds no token.
    public static func read(_ path: String) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.first { !$0.isEmpty }
    }
}
