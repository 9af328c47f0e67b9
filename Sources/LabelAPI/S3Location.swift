/// `s3://bucket/key`: an object (or, for listings, a prefix) in S3 or an S3-compatible store.
public struct S3Location: Sendable, Equatable, CustomStringConvertible {
    public var bucket: String
    /// The object's key, or the prefix of a listing (may be empty: the whole bucket).
    public var key: String

    public init(bucket: String, key: String) {
        self.bucket = bucket
        self.key = key
    }

    /// Whether `uri` is an s3:// URI (well formed or not).
    public static func isS3(_ uri: String) -> Bool { uri.lowercased().hasPrefix("s3://") }

    /// Parses `s3://bucket/key` (the key may be empty or a prefix).
    public static func parse(_ uri: String) throws(ImageURI.Invalid) -> S3Location {
        guard isS3(uri) else { throw ImageURI.Invalid("\(uri) is not an s3:// URI") }
        let rest = uri.dropFirst("s3://".count)
        let bucket = String(rest.prefix { $0 != "/" })
        guard isValidBucket(bucket) else {
            throw ImageURI.Invalid("\(uri): \(bucket.isEmpty ? "no bucket" : "\"\(bucket)\" is not a bucket name") (s3://bucket/key)")
        }
        return S3Location(bucket: bucket, key: String(rest.dropFirst(bucket.count + 1)))
    }

    public var description: String { "s3://\(bucket)/\(key)" }

    /// S3's rules, relaxed to what S3-compatible stores also accept: 3–63 characters of lowercase letters, digits,
    /// dots, hyphens and underscores, starting and ending with a letter or digit.
    static func isValidBucket(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        func alphanumeric(_ byte: UInt8) -> Bool { (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) }
        guard (3...63).contains(bytes.count), let first = bytes.first, let last = bytes.last,
              alphanumeric(first), alphanumeric(last) else { return false }
        return bytes.allSatisfy { alphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
    }
}
