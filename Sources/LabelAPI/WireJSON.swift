import Foundation

/// The JSON this project writes, in its two spellings.
public enum WireJSON {
    /// Keys sorted and `/` written as it is: one value always gives the same bytes, and paths and URLs read as they
    /// are. For API answers, stored settings, manifests, exports and `--json` output.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// Keys sorted, `/` escaped as `\/` (Foundation's default): only where the bytes are digested into a key that
    /// was stored before `encoder()` existed (`labelmill run`'s idempotency key, a Label Studio image's key), which
    /// another spelling would orphan.
    public static func digestEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
