/// A worker-side failure that is neither a transfer's (`CurlError`) nor an image's (`InferenceError`): a task the
/// worker refuses to run. Like every labelmill error, its description is the message alone.
struct WorkerError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
