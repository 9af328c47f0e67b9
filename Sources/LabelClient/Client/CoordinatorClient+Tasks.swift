import Foundation
import LabelAPI

extension CoordinatorClient {
    /// nil when no work arrived within the long-poll wait.
    public func claim(_ claim: ClaimRequest) async throws -> TaskAssignment? {
        let timeout = Duration.seconds(claim.waitSeconds + 30)
        let response = try await send(try jsonRequest(Routes.claim, body: claim, timeout: timeout))
        return response.status == 204 ? nil : try decode(TaskAssignment.self, from: response)
    }

    public func heartbeat(task: Int64, token: String) async throws -> HeartbeatResponse {
        try decode(HeartbeatResponse.self, from: try await send(try jsonRequest(Routes.heartbeat, String(task), body: LeaseRequest(leaseToken: token))))
    }

    public func complete(task: Int64, token: String) async throws {
        _ = try await send(try jsonRequest(Routes.complete, String(task), body: LeaseRequest(leaseToken: token)))
    }

    public func release(task: Int64, token: String, reason: String) async throws {
        _ = try await send(try jsonRequest(Routes.release, String(task), body: LeaseRequest(leaseToken: token, reason: reason)))
    }

    public func failImage(task: Int64, image: String, token: String, reason: String) async throws {
        _ = try await send(try jsonRequest(Routes.failImage, String(task), image,
                                           body: ImageFailure(leaseToken: token, reason: reason)))
    }

    /// Records a label this worker wrote to the job's output (the image is then done).
    public func sendReceipt(task: Int64, image: String, receipt: LabelReceipt) async throws {
        _ = try await send(try jsonRequest(Routes.receipt, String(task), image, body: receipt))
    }

    /// Declares the samples found in a leased shard; the answer says which to label in this lease.
    public func declareSamples(task: Int64, token: String, samples: [ShardSample]) async throws -> SampleDeclarationResponse {
        try decode(SampleDeclarationResponse.self, from: try await send(try jsonRequest(
            Routes.declareSamples, String(task), body: SampleDeclaration(leaseToken: token, samples: samples))))
    }

    /// Reports that this worker cannot prepare the task's job; returns what the coordinator did with the task.
    @discardableResult
    public func failTask(task: Int64, token: String, reason: String) async throws -> String {
        try decode(TaskFailureResponse.self, from: try await send(try jsonRequest(Routes.failTask, String(task),
                                                                                 body: TaskFailure(leaseToken: token, reason: reason)))).outcome
    }

    /// The image's gallery thumbnail (a JPEG), sent before its label map, once: a lost thumbnail only costs the
    /// gallery its picture, and retrying it with backoff would hold the label back while the coordinator struggles.
    public func uploadThumbnail(task: Int64, image: String, token: String, jpeg: [UInt8]) async throws {
        let headers: HTTPHeaders = ["Content-Type": "image/jpeg", Routes.leaseTokenHeader: token]
        _ = try await send(request(Routes.uploadThumbnail, String(task), image, body: .bytes(jpeg), headers: headers), retrying: false)
    }

    /// The image's confidence map, `width` x `height` like its label (which the coordinator takes only after it).
    public func uploadConfidence(task: Int64, image: String, token: String, png: [UInt8], width: Int, height: Int) async throws {
        let headers: HTTPHeaders = ["Content-Type": "image/png", Routes.leaseTokenHeader: token,
                                    Routes.imageWidthHeader: String(width), Routes.imageHeightHeader: String(height)]
        _ = try await send(request(Routes.uploadConfidence, String(task), image, body: .bytes(png), headers: headers))
    }

    public func uploadLabel(task: Int64, image: String, token: String, png: [UInt8], width: Int, height: Int) async throws {
        let headers: HTTPHeaders = ["Content-Type": "image/png", Routes.leaseTokenHeader: token,
                                    Routes.imageWidthHeader: String(width), Routes.imageHeightHeader: String(height)]
        _ = try await send(request(Routes.uploadLabel, String(task), image, body: .bytes(png), headers: headers))
    }
}
