import Foundation
import LabelAPI
import Testing
import LabelClient

/// Credentials, region and endpoint come from where the AWS CLI finds them, in its order.
struct S3ConfigurationTests {
    let home = FileManager.default.temporaryDirectory.appendingPathComponent("s3-config-\(UUID().uuidString)")

    func write(_ text: String, to name: String) throws {
        let url = home.appendingPathComponent(".aws/\(name)")
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    @Test func theEnvironmentWinsOverTheFiles() throws {
        defer { try? FileManager.default.removeItem(at: home) }
        try write("[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n", to: "credentials")
        let s3 = try S3Configuration.resolve(environment: ["HOME": home.path, "AWS_ACCESS_KEY_ID": "ENVKEY",
                                                           "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_SESSION_TOKEN": "tok"])
        #expect(s3.credentials?.accessKeyID == "ENVKEY" && s3.credentials?.sessionToken == "tok")
        #expect(s3.summary == "credentials from the environment, region us-east-1, endpoint AWS")
        #expect(!s3.summary.contains("envsecret"))
    }

    @Test func aProfileComesFromTheCredentialsFileAndItsRegionAndEndpointFromTheConfigFile() throws {
        defer { try? FileManager.default.removeItem(at: home) }
        try write("""
            # a comment
            [default]
            aws_access_key_id = DEFAULTKEY
            aws_secret_access_key = defaultsecret
            [minio]
            aws_access_key_id = MINIOKEY
            aws_secret_access_key = minio/secret+x
            """, to: "credentials")
        try write("""
            [profile minio]
            region = eu-central-1
            endpoint_url = http://10.0.0.9:9000/
            s3 =
              addressing_style = path
            """, to: "config")
        let s3 = try S3Configuration.resolve(environment: ["HOME": home.path, "AWS_PROFILE": "minio"])
        #expect(s3.credentials?.accessKeyID == "MINIOKEY" && s3.credentials?.secretAccessKey == "minio/secret+x")
        #expect(s3.credentials?.source == "profile minio of \(home.path)/.aws/credentials")
        #expect(s3.region == "eu-central-1" && s3.endpoint == "http://10.0.0.9:9000")
        #expect(s3.url(S3Location(bucket: "photos", key: "a b/été.jpg")) == "http://10.0.0.9:9000/photos/a%20b/%C3%A9t%C3%A9.jpg")
        // The environment's region and endpoint win over the profile's.
        let overridden = try S3Configuration.resolve(environment: ["HOME": home.path, "AWS_PROFILE": "minio", "AWS_REGION": "us-west-2",
                                                                   "AWS_ENDPOINT_URL_S3": "https://s3.example.org"])
        #expect(overridden.region == "us-west-2" && overridden.endpoint == "https://s3.example.org")
    }

    @Test func withoutCredentialsRequestsGoUnsignedToAWS() throws {
        let s3 = try S3Configuration.resolve(environment: ["HOME": home.path])
        #expect(s3.credentials == nil && s3.endpoint == nil)
        #expect(s3.url(S3Location(bucket: "open-data", key: "x/1.png")) == "https://open-data.s3.us-east-1.amazonaws.com/x/1.png")
        #expect(s3.url(S3Location(bucket: "with.dots", key: "1.png")) == "https://s3.us-east-1.amazonaws.com/with.dots/1.png")
        #expect(throws: S3Error.self) { try S3Configuration.resolve(environment: ["HOME": home.path, "AWS_ENDPOINT_URL": "minio:9000"]) }
    }

    @Test func s3URIsAreCheckedAtSubmit() {
        #expect(ImageURI.unsupported("s3://photos/a/b.jpg") == nil)
        #expect(ImageURI.unsupported("s3://photos/a/")?.contains("names a prefix, not an object") == true)
        #expect(ImageURI.unsupported("s3://Bad_Bucket/x.jpg")?.contains("is not a bucket name") == true)
        #expect(ImageURI.unsupported("gs://photos/x.jpg") == "gs:// URIs are not supported (http://, https://, s3://, file:// or a path)")
    }

    @Test func listedKeysBecomeFolderStyleIds() {
        #expect(S3Manifest.id(of: "cats/001.jpg") == "cats_001")
        #expect(S3Manifest.id(of: "été 1.png") == "été_1")
        #expect(S3Manifest.id(of: ".hidden/x y+z.png") == "_hidden_x_y_z")
        #expect(S3Manifest.id(of: "a.b/c") == "a.b_c")
        #expect(S3Manifest.matches("x/1.JPG", pattern: nil) && !S3Manifest.matches("notes.txt", pattern: nil))
        #expect(S3Manifest.matches("x/1.jpg", pattern: "*.jpg") && !S3Manifest.matches("x/1.png", pattern: "*.jpg"))
    }

    @Test func xmlTextDecodesEntities() {
        #expect(XMLText.first("Key", in: "<Contents><Key>a &amp; b &#233;&#x41;</Key></Contents>") == "a & b éA")
        let page = ListingPage(xml: "<IsTruncated>true</IsTruncated><Contents><Key>a</Key><Size>3</Size></Contents><NextContinuationToken>t+1</NextContinuationToken>")
        #expect(page.isTruncated && page.nextToken == "t+1" && page.objects.count == 1 && page.objects[0].size == 3)
    }
}
