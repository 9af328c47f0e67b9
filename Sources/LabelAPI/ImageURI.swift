/// The image URIs labelmill fetches: http(s) URLs, `file://` URLs and paths. The coordinator refuses the others at
/// submit; a worker refuses them too, for what reached it anyway.
public enum ImageURI {
    /// Why `uri` cannot be fetched when it names another scheme (`s3://bucket/key`), else nil.
    public static func unsupported(_ uri: String) -> String? {
        guard let colon = uri.range(of: "://") else { return nil }
        let scheme = uri[..<colon.lowerBound]
        guard let first = scheme.first, first.isLetter,
              scheme.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == "." }),
              !["http", "https", "file"].contains(scheme.lowercased()) else { return nil }
        return "\(scheme):// URIs are not supported (http://, https://, file:// or a path)"
    }
}
