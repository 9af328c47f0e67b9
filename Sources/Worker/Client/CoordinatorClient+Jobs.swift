import Foundation
import LabelAPI

extension CoordinatorClient {
    public func createJob(_ job: CreateJobRequest) async throws -> CreateJobResponse {
        try decode(CreateJobResponse.self, from: try await send(try jsonRequest(.post, Routes.jobs, job, timeout: .seconds(600))))
    }

    /// Streams a manifest file to the coordinator (never whole in memory on either side); returns the upload id
    /// to give `CreateJobRequest.manifestUpload`.
    public func uploadManifest(file path: String) async throws -> String {
        let response = try await send(request(.put, Routes.manifests, body: .file(path: path),
                                              headers: ["Content-Type": "text/plain"], timeout: .seconds(3600)))
        return try decode(ManifestUploadResponse.self, from: response).upload
    }

    public func job(_ id: String) async throws -> JobStatus {
        try decode(JobStatus.self, from: try await send(request(.get, Routes.job(id))))
    }

    public func jobs() async throws -> [JobStatus] {
        try decode([JobStatus].self, from: try await send(request(.get, Routes.jobs)))
    }

    public func cancel(_ id: String) async throws -> JobStatus {
        try decode(JobStatus.self, from: try await send(request(.post, Routes.cancel(id))))
    }

    public func retryFailed(_ id: String) async throws -> JobStatus {
        try decode(JobStatus.self, from: try await send(request(.post, Routes.retryFailed(id))))
    }

    public func results(_ id: String) async throws -> [ImageResultLine] {
        let body = try await send(request(.get, Routes.results(id))).body
        return try body.split(separator: UInt8(ascii: "\n")).map { try JSONDecoder().decode(ImageResultLine.self, from: Data($0)) }
    }

    public func events(_ id: String, after: Int64 = 0, limit: Int = 1000) async throws -> [LedgerEntry] {
        try decode([LedgerEntry].self, from: try await send(request(.get, Routes.events(id) + "?after=\(after)&limit=\(limit)")))
    }

    public func labelPNG(job: String, image: String) async throws -> [UInt8] {
        try await send(request(.get, Routes.label(job: job, image: Self.escape(image)))).body
    }

    /// Percent-encodes an id for use as one path component.
    static func escape(_ component: String) -> String {
        component.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? component
    }
}
