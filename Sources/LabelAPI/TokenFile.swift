import Foundation

/// Token files, read the same way by the coordinator and by its clients: the first non-empty line, trimmed.
public enum TokenFile {
    /// The token in `path`, or nil when the file is unreadable or holds no token.
    public static func read(_ path: String) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.first { !$0.isEmpty }
    }

    /// What is weak about a token and its file: a short token, a file others may read.
    public static func warnings(file path: String, token: String) -> [String] {
        var warnings: [String] = []
        if token.count < 16 {
            warnings.append("the token has \(token.count) characters: use at least 32 random ones (openssl rand -hex 32)")
        }
        if let mode = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int, mode & 0o077 != 0 {
            warnings.append("others may read \(path) (mode \(String(mode, radix: 8))): chmod 600 \(path)")
        }
        return warnings
    }
}
