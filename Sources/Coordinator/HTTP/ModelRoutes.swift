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
        router.on(Routes.uploadBlob) { request, context in
            let sha = try Self.checkedSHA(try context.parameters.require("sha"))
            try await receiveBlob(request, sha: sha)
            return Response(status: .created)
        }
        router.on(Routes.blobExists) { _, context in
            let sha = try Self.checkedSHA(try context.parameters.require("sha"))
            guard let blob = try await services.store.read("reading blob \(sha)", { db in try services.store.blob(db, sha) }) else {
                throw CoordinatorError(.notFound, "no blob \(sha)")
            }
            return Response(status: .ok, headers: [.contentLength: String(blob.size)])
        }
        router.on(Routes.blob) { request, context in
            let sha = try Self.checkedSHA(try context.parameters.require("sha"))
            guard let blob = try await services.store.read("reading blob \(sha)", { db in try services.store.blob(db, sha) }) else {
                throw CoordinatorError(.notFound, "no blob \(sha)")
            }
            let path = services.dataPath(blob.relativePath)
            let onDisk = try await BlockingIO.run { (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int64 }
            // A blob the store knows but the disk lost is not the client's fault, and retrying will not bring it back.
            guard onDisk == blob.size else {
                let found = onDisk.map { "has \($0) bytes, not \(blob.size)" } ?? "is missing"
                throw CoordinatorError(.notFound, "blob \(sha) is registered but its file \(blob.relativePath) in the coordinator's data "
                                       + "directory \(found): restore it from a backup, or add the model again")
            }
            return try await rangeResponse(path: path, size: blob.size, request: request, context: context)
        }
        router.on(Routes.registerModel) { request, context in
            let body = try await request.decodeJSON(RegisterModelRequest.self, limit: 1 << 20)
            let files = body.files.map { ModelFileEntry(name: $0.name, sha256: $0.sha256, size: $0.size) }
            let model = try await services.store.write("registering model \(body.name)") { db in
                try services.store.registerModel(db, name: body.name, files: files)
            }
            return try json(model.wire, status: .created)
        }
        router.on(Routes.models) { _, _ in
            try json(try await services.store.read("listing models") { db in try services.store.models(db).map(\.wire) })
        }
        router.on(Routes.model) { _, context in
            let name = try context.parameters.require("model")
            guard let model = try await services.store.read("reading model \(name)", { db in try services.store.model(db, name) }) else {
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

    /// Streams the body to disk while hashing it; keeps it only if the hash matches the name.
    private func receiveBlob(_ request: Request, sha: String) async throws {
        let relative = DataLayout.blob(sha)
        var hasher = SHA256()
        let size = try await StreamedFile.receive(
            request.body, to: services.dataPath(relative), limit: services.configuration.maxBlobBytes, what: "blob",
            inspect: { buffer in buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) } },
            verify: { _ in
                let actual = SHA256Hex.hex(hasher.finalize())
                guard actual == sha else { throw CoordinatorError(.invalidUpload, "blob content has sha256 \(actual), not \(sha)") }
            })
        try await services.store.write("recording blob \(sha)") { [store = services.store] db in
            try store.recordBlob(db, sha256: sha, size: size, relativePath: relative)
        }
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
