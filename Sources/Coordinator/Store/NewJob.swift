import LabelAPI

/// A job as submitted: what `Store.createJob` needs. `items` usually come from `Manifest.parse`.
public struct NewJob: Sendable, Equatable {
    public var name: String?
    /// A model id, or a registered model name (resolved to its current id when the job is created).
    public var modelId: String
    public var classes: [String]
    public var options: JobSettings
    /// Makes a retried submission return the job it created the first time instead of a second job.
    public var idempotencyKey: String?
    public var items: [ManifestItem]

    public init(
        name: String? = nil, modelId: String, classes: [String], options: JobSettings = JobSettings(),
        idempotencyKey: String? = nil, items: [ManifestItem]
    ) {
        self.name = name
        self.modelId = modelId
        self.classes = classes
        self.options = options
        self.idempotencyKey = idempotencyKey
        self.items = items
    }
}
