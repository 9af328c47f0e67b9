import Hummingbird

/// `/<org>/<name>/resolve/<revision>/<file>` and `/lfs/<sha>`, shaped like the Hugging Face hub:
/// LFS files redirect with X-Linked-Size / X-Linked-Etag; others answer 200 with a git-SHA-1 ETag.
struct FakeHubRoutes: Sendable {
    let hub: FakeHub

    func add(to router: Router<TestRequestContext>) {
        router.get("/:org/:name/resolve/:revision/:file") { _, context in
            let repo = "\(context.parameters.get("org") ?? "")/\(context.parameters.get("name") ?? "")"
            guard repo == hub.repo, let name = context.parameters.get("file"), let data = hub.files[name] else {
                return Response(status: .notFound, body: .init(byteBuffer: ByteBuffer(string: "Entry not found")))
            }
            let sha = FakeHub.sha256(data)
            guard hub.lfs.contains(name) else {
                let gitSHA1 = String(sha.prefix(40))
                return Response(status: .ok, headers: [.eTag: "\"\(gitSHA1)\""], body: .init(byteBuffer: ByteBuffer(bytes: data)))
            }
            var headers: HTTPFields = [.location: "/lfs/\(sha)", .eTag: "\"\(hub.advertisedSHA256 ?? sha)\""]
            headers[FieldName("X-Linked-Size")!] = "\(data.count)"
            headers[FieldName("X-Linked-Etag")!] = "\"\(hub.advertisedSHA256 ?? sha)\""
            return Response(status: .found, headers: headers)
        }
        router.get("/lfs/:sha") { request, context in
            let sha = try context.parameters.require("sha")
            guard let data = hub.files.values.first(where: { FakeHub.sha256($0) == sha }) else { throw HTTPError(.notFound) }
            var response = try serve(data, request)
            response.headers[.eTag] = "\"cdn-\(sha.prefix(8))\""  // a CDN ETag, not a digest
            return response
        }
    }
}
