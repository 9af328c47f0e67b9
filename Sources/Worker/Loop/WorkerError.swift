import Inference
import LabelAPI
import Support

/// A worker-side failure that is neither a transfer's (`CurlError`) nor an image's (`InferenceError`): a task the
/// worker refuses to run.
struct WorkerError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }

    /// An error as a person reads it in a log or a job's problems: the message, without Swift type names.
    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as CurlError: error.message
        case let error as InferenceError: error.message
        case let error as FileError: error.description
        case let error as SettingError: error.description
        case let error as WorkerError: error.description
        default: "\(error)"
        }
    }
}
