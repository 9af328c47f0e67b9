import Foundation
import LabelAPI

extension CoordinatorClient {
    /// Creates the job. A request without an idempotency key gets one here, so that the client's own retry (after a
    /// creation that outlasted its stall timeout, say) gets the job the first attempt made instead of a second one.
    public func createJob(_ job: CreateJobRequest) async throws -> CreateJobResponse {
        var job = job
        if job.idempotencyKey == nil { job.idempotencyKey = "client-\(UUID().uuidString.lowercased())" }
        return try decode(CreateJobResponse.self, from: try await send(try jsonRequest(Routes.createJob, body: job, timeout: .seconds(600))))
    }

    /// Streams a manifest file to the coordinator (never whole in memory on either side); returns the upload id
    /// to give `CreateJobRequest.manifestUpload`.
    public func uploadManifest(file path: String) async throws -> String {
        let response = try await send(request(Routes.uploadManifest, body: .file(path: path),
                                              headers: ["Content-Type": "text/plain"], timeout: .seconds(3600)))
        return try decode(ManifestUploadResponse.self, from: response).upload
    }

    public func job(_ id: String) async throws -> JobStatus {
        try decode(JobStatus.self, from: try await send(request(Routes.job, id)))
    }

    public func jobs() async throws -> [JobStatus] {
        try decode([JobStatus].self, from: try await send(request(Routes.jobs)))
    }

    /// Deletes a finished job with its label maps and ledger.
    public func deleteJob(_ id: String) async throws -> DeleteJobResponse {
        try decode(DeleteJobResponse.self, from: try await send(request(Routes.deleteJob, id)))
    }

    public func cancel(_ id: String) async throws -> JobStatus {
        try decode(JobStatus.self, from: try await send(request(Routes.cancel, id)))
    }

    public func retryFailed(_ id: String) async throws -> JobStatus {
        try decode(JobStatus.self, from: try await send(request(Routes.retryFailed, id)))
    }

    public func results(_ id: String) async throws -> [ImageResultLine] {
        let body = try await send(request(Routes.results, id)).body
        return try body.split(separator: UInt8(ascii: "\n")).map { try JSONDecoder().decode(ImageResultLine.self, from: Data($0)) }
    }

    public func events(_ id: String, after: Int64 = 0, limit: Int = 1000) async throws -> [LedgerEntry] {
        try decode([LedgerEntry].self, from: try await send(request(Routes.events, id, query: "?after=\(after)&limit=\(limit)")))
    }

    public func labelPNG(job: String, image: String) async throws -> [UInt8] {
        try await send(request(Routes.label, job, image)).body
    }

    /// The confidence map of a labeled image in a job that saves them.
    public func confidencePNG(job: String, image: String) async throws -> [UInt8] {
        try await send(request(Routes.confidence, job, image)).body
    }
}
