import Foundation

/// A decoding failure in words: the field's path and what was wrong with it, without Swift's type names.
public enum DecodingProblem {
    public static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context, _ last: (any CodingKey)? = nil) -> String {
            (context.codingPath + (last.map { [$0] } ?? [])).map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
                .joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context, key)) is missing"
        case .valueNotFound(_, let context): return "\(path(context)) is null"
        case .typeMismatch(_, let context): return "\(path(context)) is not of the expected kind"
        case .dataCorrupted(let context):
            // Swift's words name types ("Cannot initialize X from invalid String value y"): only the place is said.
            return context.codingPath.isEmpty ? "it is not valid JSON" : "\(path(context)) holds a value this client does not know"
        @unknown default:
            return "malformed data"
        }
    }
}
