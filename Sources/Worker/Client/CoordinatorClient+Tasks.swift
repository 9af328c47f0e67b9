import Foundation
import LabelAPI

extension CoordinatorClient {
    /// nil when no work arrived within the long-poll wait.
    public func claim(_ claim: ClaimRequest) async throws -> TaskAssignment? {
        let timeout = Duration.seconds(claim.waitSeconds + 30)
        let response = try await send(try jsonRequest(.post, Routes.claim, claim, timeout: timeout))
        return response.status == 204 ? nil : try decode(TaskAssignment.self, from: response)
    }

    public func heartbeat(task: Int64, token: String) async throws -> HeartbeatResponse {
        try decode(HeartbeatResponse.self, from: try await send(try jsonRequest(.post, Routes.heartbeat(task), LeaseRequest(leaseToken: token))))
    }

    public func complete(task: Int64, token: String) async throws {
        _ = try await send(try jsonRequest(.post, Routes.complete(task), LeaseRequest(leaseToken: token)))
    }

    public func release(task: Int64, token: String, reason: String) async throws {
        _ = try await send(try jsonRequest(.post, Routes.release(task), LeaseRequest(leaseToken: token, reason: reason)))
    }

    public func failImage(task: Int64, image: String, token: String, reason: String) async throws {
        _ = try await send(try jsonRequest(.post, Routes.failImage(task: task, image: Self.escape(image)),
                                           ImageFailure(leaseToken: token, reason: reason)))
    }

    public func uploadLabel(task: Int64, image: String, token: String, png: [UInt8], width: Int, height: Int) async throws {
        let headers: HTTPHeaders = ["Content-Type": "image/png", Routes.leaseTokenHeader: token,
                                    "X-Image-Width": String(width), "X-Image-Height": String(height)]
        _ = try await send(request(.put, Routes.uploadLabel(task: task, image: Self.escape(image)), body: .bytes(png), headers: headers))
    }
}
