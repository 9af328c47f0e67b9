import ArgumentParser
import Foundation
import Inference
import LabelAPI
import LabelClient

/// A failure at run time (as opposed to wrong usage): printed as one line, `labelmill: <message>`, exit status 1,
/// without the usage text.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// What a person reads when a command fails: one line that names the file, URL or port, without Swift type names or
/// Foundation's internals, with the fix where one is obvious.
enum CLIMessage {
    static func of(_ error: any Error) -> String {
        switch error {
        case let error as CurlError: return of(error)
        case let error as InferenceError: return error.message
        case let error as DecodingError: return "an answer could not be read (\(of(decoding: error)))"
        case let error as CocoaError: return of(cocoa: error)
        default:
            let text = "\(error)"
            return text.hasPrefix("Error Domain=") ? (error as NSError).localizedDescription : text
        }
    }

    static func of(_ error: CurlError) -> String {
        var message = error.message
        switch error.code {
        case .httpStatus(401):
            message += " (the coordinator refused the token: check --token-file or LABELMILL_TOKEN)"
        case .httpStatus(403):
            message += " (this token may not do that: it needs the admin token, not the worker token)"
        case .tlsOrProtocol where message.localizedCaseInsensitiveContains("wrong version number")
            || message.localizedCaseInsensitiveContains("SSL") || message.localizedCaseInsensitiveContains("TLS"):
            message += " (use http://: labelmill speaks plain HTTP; put a TLS proxy in front of it for https)"
        case .couldNotConnect:
            message += " (is `labelmill serve` running there, and is the URL right?)"
        case .httpStatus(400), .httpStatus(404), .httpStatus(409), .httpStatus(413), .httpStatus(422):
            // The coordinator's own words name what is missing or wrong; the request line and status add nothing.
            if let explanation = error.explanation, !explanation.isEmpty { message = explanation }
        default:
            break
        }
        return message
    }

    private static func of(cocoa error: CocoaError) -> String {
        let path = error.filePath ?? error.url?.path
        let reason = (error.underlying as? POSIXError).map { String(cString: strerror($0.code.rawValue)) }
            ?? error.localizedDescription
        return path.map { "\($0): \(reason)" } ?? reason
    }

    private static func of(decoding error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let context), .keyNotFound(_, let context), .typeMismatch(_, let context), .valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        @unknown default:
            return "malformed data"
        }
    }
}

extension CocoaError {
    fileprivate var underlying: (any Error)? { userInfo[NSUnderlyingErrorKey] as? any Error }
}
