/// The image URIs labelmill fetches: http(s) URLs, `s3://bucket/key`, `file://` URLs and paths. The coordinator
/// refuses the others at submit; a worker refuses them too, for what reached it anyway.
public enum ImageURI {
    /// A URI that names no image labelmill can fetch, and why.
    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// Why `uri` cannot be fetched when it names another scheme (`gs://bucket/key`) or a malformed s3:// URI, else nil.
    public static func unsupported(_ uri: String) -> String? {
        if S3Location.isS3(uri) {
            do {
                let location = try S3Location.parse(uri)
                if location.key.isEmpty || location.key.hasSuffix("/") {
                    return "\(uri) names a prefix, not an object (`labelmill submit --from \(uri)` lists one)"
                }
            } catch {
                return error.description
            }
            return nil
        }
        guard let colon = schemeSeparator(Substring(uri)) else { return nil }
        let scheme = uri[..<colon.lowerBound]
        guard let first = scheme.first, first.isLetter,
              scheme.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == "." }),
              !["http", "https", "file"].contains(scheme.lowercased()) else { return nil }
        return "\(scheme):// URIs are not supported (http://, https://, s3://, file:// or a path)"
    }

    /// Where the first "://" is, by bytes: every manifest line asks, and Foundation's search (and the string
    /// processing library's generic one) cost more than the rest of reading the line.
    public static func schemeSeparator(_ text: Substring) -> Range<String.Index>? {
        let bytes = text.utf8
        var index = bytes.startIndex
        while index != bytes.endIndex {
            if bytes[index] == UInt8(ascii: ":") {
                let slash = bytes.index(after: index)
                if slash != bytes.endIndex, bytes[slash] == UInt8(ascii: "/") {
                    let second = bytes.index(after: slash)
                    if second != bytes.endIndex, bytes[second] == UInt8(ascii: "/") { return index..<bytes.index(after: second) }
                }
            }
            index = bytes.index(after: index)
        }
        return nil
    }
}
