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
        case let error as ClientError: return error.description
        case let error as CurlError: return of(error)
        case let error as InferenceError: return error.message
        case let error as DecodingError: return "an answer could not be read (\(DecodingProblem.describe(error)))"
        case let error as CocoaError: return of(cocoa: error)
        default:
            let text = "\(error)"
            return text.hasPrefix("Error Domain=") ? (error as NSError).localizedDescription : text
        }
    }

    /// A transfer that is not a call to the coordinator (those fail with a `ClientError`): a model hub, an image
    /// URL. Its message names the URL, which is the user's own.
    static func of(_ error: CurlError) -> String {
        guard error.code == .tlsOrProtocol, ["SSL", "TLS", "wrong version number"].contains(where: error.message.localizedCaseInsensitiveContains) else {
            return error.message
        }
        return error.message + " (is the URL's scheme right? http:// and https:// are not interchangeable)"
    }

    private static func of(cocoa error: CocoaError) -> String {
        let path = error.filePath ?? error.url?.path
        let reason = (error.underlying as? POSIXError).map { String(cString: strerror($0.code.rawValue)) }
            ?? error.localizedDescription
        return path.map { "\($0): \(reason)" } ?? reason
    }
}

extension CocoaError {
    fileprivate var underlying: (any Error)? { userInfo[NSUnderlyingErrorKey] as? any Error }
}
