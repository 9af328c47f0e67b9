/// The one error type of the inference subsystem: model loading, tokenizing, image decoding and encoding.
/// `code` lets callers decide (an image error fails one image, a model error fails the run);
/// `message` says what went wrong and where, for a person.
public struct InferenceError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
        /// The model directory is not a usable CLIP model (missing file, bad config, wrong tensor).
        case badModel
        /// An image could not be read or decoded (missing, truncated, not an image, unsupported).
        case badImage
        /// An image exceeds the pixel limit (decompression-bomb guard).
        case imageTooLarge
        /// Text that cannot be tokenized within the context length.
        case tokenizer
        /// A caller-supplied option or value is out of range.
        case badArgument
        /// Reading or writing a file failed.
        case io
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
