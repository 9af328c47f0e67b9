import Foundation
import LabelAPI

extension CoordinatorClient {
    /// Creates the job. A request without an idempotency key gets one here, so that the client's own retry (after a
    /// creation that outlasted its stall timeout, say) gets the job the first attempt made instead of a second one.
    ///
    /// The coordinator answers once the manifest is stored; it then reads it in the background (state
    /// `preparing`). With `waitUntilPrepared` (the default) this waits for that too, calling `progress` with the
    /// job's status now and then, and answers with the job's images and tasks; a job that failed meanwhile (its
    /// manifest had no usable line, its class embeddings could not be computed) throws `JobPreparationError`: the
    /// job exists, failed, with the reason.
    public func createJob(_ job: CreateJobRequest, waitUntilPrepared: Bool = true,
                          progress: (JobStatus) -> Void = { _ in }) async throws -> CreateJobResponse {
        var job = job
        if job.idempotencyKey == nil { job.idempotencyKey = "client-\(UUID().uuidString.lowercased())" }
        var response = try decode(CreateJobResponse.self, from: try await send(try jsonRequest(Routes.createJob, body: job, timeout: .seconds(600))))
        guard waitUntilPrepared, response.state == .preparing else { return response }
        let status = try await self.waitUntilPrepared(response.id, progress: progress)
        (response.images, response.tasks, response.state) = (status.images.total, status.tasks.values.reduce(0, +), status.state)
        return response
    }

    /// Polls the job until its manifest is read (it is no longer `preparing`), calling `progress` with each status;
    /// returns the last. A job that failed meanwhile throws `JobPreparationError`.
    public func waitUntilPrepared(_ id: String, progress: (JobStatus) -> Void = { _ in }) async throws -> JobStatus {
        var pause = Duration.milliseconds(50)
        while true {
            let status = try await self.job(id)
            progress(status)
            if status.state != .preparing {
                if status.state == .failed { throw JobPreparationError(jobId: id, reason: status.failure ?? "failed") }
                return status
            }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .seconds(1))
        }
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
        return try body.split(separator: UInt8(ascii: "\n")).map { line throws(ClientError) in
            do {
                return try JSONDecoder().decode(ImageResultLine.self, from: Data(line))
            } catch {
                throw ClientError.unreadable("a result", error, from: baseURL)
            }
        }
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

/// A job was created but failed before it could start (its manifest had no usable line, its class embeddings
/// could not be computed): the job exists, in state `failed`, and `reason` says why.
public struct JobPreparationError: Error, CustomStringConvertible, Sendable {
    public let jobId: String
    public let reason: String
    public var description: String { "job \(jobId) failed: \(reason)" }
}
