import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Inference
import Support
import LabelAPI

/// The coordinator's error: a code that picks the HTTP status (in one place, here) and a message for the client.
public struct CoordinatorError: Error, CustomStringConvertible, Sendable {
    public typealias Code = ErrorCode

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    public var status: HTTPResponse.Status {
        switch code {
        case .badRequest: .badRequest
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .conflict, .leaseLost: .conflict
        case .invalidUpload: .unprocessableContent
        case .tooLarge: .contentTooLarge
        case .unavailable: .serviceUnavailable
        case .internalError: .internalServerError
        }
    }

    /// Maps the store's and the inference module's errors; anything else is an internal error.
    static func from(_ error: any Error) -> CoordinatorError {
        switch error {
        case let error as CoordinatorError: return error
        case let error as StoreError where error.cause is CoordinatorError:
            // A route's own verdict ("no job ...") thrown inside a read transaction.
            return from(error.cause!)
        case let error as StoreError:
            switch error.code {
            case .notFound: return CoordinatorError(.notFound, error.message)
            case .staleLease: return CoordinatorError(.leaseLost, error.message)
            case .conflict: return CoordinatorError(.conflict, error.message)
            case .invalid: return CoordinatorError(.badRequest, error.message)
            case .io: return CoordinatorError(error.isTransient ? .unavailable : .internalError, error.message)
            }
        case let error as InferenceError:
            switch error.code {
            case .badImage, .imageTooLarge: return CoordinatorError(.invalidUpload, error.message)
            case .badArgument, .tokenizer: return CoordinatorError(.badRequest, error.message)
            case .badModel, .io: return CoordinatorError(.internalError, error.message)
            }
        case let error as HTTPError:
            let code: Code = switch error.status {
            case .contentTooLarge: .tooLarge
            case .notFound: .notFound
            case .methodNotAllowed: .methodNotAllowed
            default: .badRequest
            }
            return CoordinatorError(code, error.body ?? "\(error.status)")
        case let error as NIOTooManyBytesError:
            return CoordinatorError(.tooLarge, "request body over \(error.maxBytes.map { "the \($0)-byte limit" } ?? "the limit")")
        case is DecodingError:
            return CoordinatorError(.badRequest, "malformed JSON body: \(DecodingProblem.describe(error))")
        case let error as FileError where error.errno == ENOSPC || error.errno == EDQUOT:
            // A full disk passes once space is freed: the client's retry (503) is the right answer, not a 500.
            return CoordinatorError(.unavailable, "the coordinator's disk is full (\(error)): try again once space is freed")
        default:
            return CoordinatorError(.internalError, "\(error)")
        }
    }
}

extension CoordinatorError: HTTPResponseError {
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let encoder = WireJSON.encoder()
        let body = try encoder.encode(ErrorBody(code: code.rawValue, message: message))
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Turns every thrown error into a `CoordinatorError`, so clients always get the JSON error body.
struct ErrorMappingMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let mapped = CoordinatorError.from(error)
            if mapped.code == .internalError {
                context.logger.error("request.failed", metadata: ["http.path": "\(request.uri.path)", "error": "\(error)"])
            }
            throw mapped
        }
    }
}
