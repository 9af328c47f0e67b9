import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import LabelAPI
import Support

/// Content-addressed model storage: blobs uploaded by sha256 (streamed to disk and verified), models as named
/// lists of blobs, downloads with Range so interrupted worker downloads resume.
struct ModelRoutes {
    let services: CoordinatorServices

    func register(on router: Router<CoordinatorContext>) {
        router.put("/v1/blobs/:sha") { request, context in
            try context.requireAdmin()
            let sha = try Self.checkedSHA(try context.parameters.require("sha"))
            try await receiveBlob(request, sha: sha)
            return Response(status: .created)
        }
        router.on("/v1/blobs/:sha", method: .head) { _, context in
            let sha = try Self.checkedSHA(try context.parameters.require("sha"))
            guard let blob = try await Offload.run({ try services.store.blob(sha) }) else {
                throw CoordinatorError(.notFound, "no blob \(sha)")
            }
            return Response(status: .ok, headers: [.contentLength: String(blob.size)])
        }
        router.get("/v1/blobs/:sha") { request, context in
            let sha = try Self.checkedSHA(try context.parameters.require("sha"))
            guard let blob = try await Offload.run({ try services.store.blob(sha) }) else {
                throw CoordinatorError(.notFound, "no blob \(sha)")
            }
            return try await rangeResponse(path: services.dataPath(blob.relativePath), size: blob.size, request: request, context: context)
        }
        router.post(RouterPath(Routes.models)) { request, context in
            try context.requireAdmin()
            let body = try await request.decodeJSON(RegisterModelRequest.self, limit: 1 << 20)
            let model = try await Offload.run {
                try services.store.registerModel(name: body.name, files: body.files.map { ModelFileEntry(name: $0.name, sha256: $0.sha256, size: $0.size) })
            }
            return try json(model.wire, status: .created)
        }
        router.get("/v1/models/:model") { _, context in
            let name = try context.parameters.require("model")
            guard let model = try await Offload.run({ try services.store.model(name) }) else {
                throw CoordinatorError(.notFound, "no model \(name)")
            }
            return try json(model.wire)
        }
    }

    static func checkedSHA(_ text: String) throws -> String {
        guard text.count == 64, text.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            throw CoordinatorError(.badRequest, "\(text) is not a lowercase hex sha256")
        }
        return text
    }

    /// Streams the body to a temporary file while hashing it; keeps it only if the hash matches the name.
    private func receiveBlob(_ request: Request, sha: String) async throws {
        let relative = "blobs/\(sha.prefix(2))/\(sha)"
        let final = services.dataPath(relative)
        let directory = (final as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let temporary = "\(directory)/.\(UUID().uuidString).part"
        guard FileManager.default.createFile(atPath: temporary, contents: nil), let handle = FileHandle(forWritingAtPath: temporary) else {
            throw CoordinatorError(.internalError, "cannot create \(temporary)")
        }
        var hasher = SHA256()
        var size: Int64 = 0
        do {
            for try await buffer in request.body {
                let data = Data(buffer.readableBytesView)
                hasher.update(data: data)
                try handle.write(contentsOf: data)
                size += Int64(data.count)
            }
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            unlink(temporary)
            throw CoordinatorError(.badRequest, "upload of blob \(sha) failed: \(error)")
        }
        let actual = SHA256Hex.hex(hasher.finalize())
        guard actual == sha else {
            unlink(temporary)
            throw CoordinatorError(.invalidUpload, "blob content has sha256 \(actual), not \(sha)")
        }
        guard rename(temporary, final) == 0 else {
            unlink(temporary)
            throw CoordinatorError(.internalError, "cannot store blob \(sha)")
        }
        try AtomicFile.syncDirectory(directory)
        let received = size
        try await Offload.run { try services.store.recordBlob(sha256: sha, size: received, relativePath: relative) }
    }

    /// The file, or the part a `Range: bytes=N-[M]` header asks for (206 with Content-Range).
    private func rangeResponse(path: String, size: Int64, request: Request, context: CoordinatorContext) async throws -> Response {
        var headers: HTTPFields = [.contentType: "application/octet-stream", .acceptRanges: "bytes"]
        if let range = request.headers[.range], let (start, end) = Self.parseRange(range, size: size) {
            headers[.contentRange] = "bytes \(start)-\(end)/\(size)"
            let body = try await FileIO().loadFile(path: path, range: Int(start)...Int(end), context: context)
            return Response(status: .partialContent, headers: headers, body: body)
        }
        headers[.contentLength] = String(size)
        return Response(status: .ok, headers: headers, body: size == 0 ? .init() : try await FileIO().loadFile(path: path, context: context))
    }

    static func parseRange(_ header: String, size: Int64) -> (Int64, Int64)? {
        guard header.hasPrefix("bytes="), !header.contains(",") else { return nil }
        let parts = header.dropFirst("bytes=".count).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let start = Int64(parts[0]), start < size else { return nil }
        let end = parts[1].isEmpty ? size - 1 : min(Int64(parts[1]) ?? (size - 1), size - 1)
        return end >= start ? (start, end) : nil
    }
}
