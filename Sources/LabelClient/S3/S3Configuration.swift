import Foundation
import LabelAPI

/// Where S3 requests go and what signs them, found the way the AWS CLI finds them, so a machine set up for
/// `aws s3` works unchanged:
///
/// - credentials: `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`), else the profile
///   (`AWS_PROFILE`, default `default`) of the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, default
///   `~/.aws/credentials`), else of the config file (`AWS_CONFIG_FILE`, default `~/.aws/config`); none at all means
///   unsigned requests (public buckets);
/// - region: `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`, else `us-east-1`;
/// - endpoint: `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, the profile's `endpoint_url`, else AWS. A custom endpoint
///   (MinIO, R2, Ceph, GCS's interoperability API, a test server) is addressed path-style (`endpoint/bucket/key`).
///
/// Credentials stay in the process that resolved them: manifests and the coordinator only ever see s3:// URIs.
public struct S3Configuration: Sendable {
    public struct Credentials: Sendable {
        public var accessKeyID: String
        public var secretAccessKey: String
        public var sessionToken: String?
        /// Where they came from ("the environment", "profile default of /root/.aws/credentials"), for logs.
        public var source: String

        public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, source: String) {
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
            self.sessionToken = sessionToken
            self.source = source
        }
    }

    public var credentials: Credentials?
    public var region: String
    /// A custom endpoint such as `http://127.0.0.1:9000`, or nil for AWS.
    public var endpoint: String?

    public init(credentials: Credentials?, region: String = "us-east-1", endpoint: String? = nil) {
        self.credentials = credentials
        self.region = region
        self.endpoint = endpoint
    }

    /// Reads the environment and the AWS files. Throws only for a file that exists and cannot be read, or an
    /// endpoint that is not an http(s) URL.
    public static func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws(S3Error) -> S3Configuration {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let home = value("HOME") ?? NSHomeDirectory()
        let profile = value("AWS_PROFILE") ?? value("AWS_DEFAULT_PROFILE") ?? "default"
        let credentialsPath = value("AWS_SHARED_CREDENTIALS_FILE") ?? "\(home)/.aws/credentials"
        let configPath = value("AWS_CONFIG_FILE") ?? "\(home)/.aws/config"
        let credentialsFile = try INIFile(path: credentialsPath)
        let configFile = try INIFile(path: configPath)
        // The config file names profiles "profile NAME", except "default".
        let configSection = configFile?.section(profile == "default" ? "default" : "profile \(profile)")
        let credentialsSection = credentialsFile?.section(profile)

        var credentials: Credentials?
        if let key = value("AWS_ACCESS_KEY_ID"), let secret = value("AWS_SECRET_ACCESS_KEY") {
            credentials = Credentials(accessKeyID: key, secretAccessKey: secret, sessionToken: value("AWS_SESSION_TOKEN"),
                                      source: "the environment")
        } else {
            for (section, path) in [(credentialsSection, credentialsPath), (configSection, configPath)] {
                guard let section, let key = section["aws_access_key_id"], let secret = section["aws_secret_access_key"] else { continue }
                credentials = Credentials(accessKeyID: key, secretAccessKey: secret, sessionToken: section["aws_session_token"],
                                          source: "profile \(profile) of \(path)")
                break
            }
        }
        let region = value("AWS_REGION") ?? value("AWS_DEFAULT_REGION") ?? configSection?["region"] ?? "us-east-1"
        var endpoint = value("AWS_ENDPOINT_URL_S3") ?? value("AWS_ENDPOINT_URL") ?? configSection?["endpoint_url"]
        if let url = endpoint {
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw S3Error("the S3 endpoint \(url) is not an http:// or https:// URL")
            }
            endpoint = url.hasSuffix("/") ? String(url.dropLast()) : url
        }
        return S3Configuration(credentials: credentials, region: region, endpoint: endpoint)
    }

    /// One line for logs and errors: credentials by their source only, the endpoint without user information.
    public var summary: String {
        let who = credentials.map { "credentials from \($0.source)" } ?? "no credentials (unsigned requests)"
        return "\(who), region \(region), endpoint \(endpoint.map(MessageText.withoutCredentials) ?? "AWS")"
    }

    /// The URL of an object, or of the bucket with `key` empty. Keys are percent-encoded byte by byte except for
    /// S3's unreserved characters and `/`, which is exactly the canonical form SigV4 signs.
    public func url(_ location: S3Location) -> String {
        let path = Self.encode(location.key, keepingSlashes: true)
        if let endpoint { return "\(endpoint)/\(location.bucket)/\(path)" }
        // Virtual-hosted style, except for names with dots, which TLS wildcard certificates do not cover.
        if location.bucket.contains(".") { return "https://s3.\(region).amazonaws.com/\(location.bucket)/\(path)" }
        return "https://\(location.bucket).s3.\(region).amazonaws.com/\(path)"
    }

    /// RFC 3986 unreserved characters stay; every other byte becomes %XX (uppercase), as SigV4 requires.
    static func encode(_ text: String, keepingSlashes: Bool) -> String {
        var out = ""
        for byte in text.utf8 {
            let unreserved = (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "~")
            if unreserved || (keepingSlashes && byte == UInt8(ascii: "/")) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }
}

/// The AWS CLI's INI files: `[section]` headers and `key = value` lines; `#` and `;` start comments; indented lines
/// (nested settings such as `s3 =` blocks) are skipped.
struct INIFile {
    private var sections: [String: [String: String]] = [:]

    /// nil when the file does not exist.
    init?(path: String) throws(S3Error) {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw S3Error("cannot read \(path): not readable UTF-8 text")
        }
        var current: String?
        for line in text.split(whereSeparator: \.isNewline) {
            if line.first == " " || line.first == "\t" { continue }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            if trimmed.hasPrefix("["), trimmed.hasSuffix("]") {
                current = trimmed.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                continue
            }
            guard let current, let equals = trimmed.firstIndex(of: "=") else { continue }
            let key = trimmed[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if !value.isEmpty { sections[current, default: [:]][key] = value }
        }
    }

    func section(_ name: String) -> [String: String]? { sections[name] }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
