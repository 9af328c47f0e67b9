/// How a job is labeled and scheduled; stored with the job as JSON, so adding a field with a default needs no
/// migration. `maxAttempts` and `leaseSeconds` are also copied into columns that the lease SQL reads.
public struct JobSettings: Codable, Sendable, Equatable, Hashable {
    /// Prompt template set used for the class embeddings.
    public var templates: String = "maskclip85"
    public var promptDenoise: Float = 0.5
    public var keySmoothing: Float = 0
    /// Resize bounds of the input image, in pixels.
    public var shortSide: Int = 512
    public var longSide: Int = 2048
    public var preset: String = "clip"
    /// Images per task.
    public var shardSize: Int = 8
    /// Leases of a task that may expire before it is dead-lettered.
    public var maxAttempts: Int = 3
    /// Lease length when the worker does not ask for another.
    public var leaseSeconds: Double = 60

    public init(
        templates: String = "maskclip85", promptDenoise: Float = 0.5, keySmoothing: Float = 0,
        shortSide: Int = 512, longSide: Int = 2048, preset: String = "clip",
        shardSize: Int = 8, maxAttempts: Int = 3, leaseSeconds: Double = 60
    ) {
        self.templates = templates
        self.promptDenoise = promptDenoise
        self.keySmoothing = keySmoothing
        self.shortSide = shortSide
        self.longSide = longSide
        self.preset = preset
        self.shardSize = shardSize
        self.maxAttempts = maxAttempts
        self.leaseSeconds = leaseSeconds
    }

    /// Decodes missing keys as their defaults, so clients may send only what they change.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = JobSettings()
        templates = try c.decodeIfPresent(String.self, forKey: .templates) ?? d.templates
        promptDenoise = try c.decodeIfPresent(Float.self, forKey: .promptDenoise) ?? d.promptDenoise
        keySmoothing = try c.decodeIfPresent(Float.self, forKey: .keySmoothing) ?? d.keySmoothing
        shortSide = try c.decodeIfPresent(Int.self, forKey: .shortSide) ?? d.shortSide
        longSide = try c.decodeIfPresent(Int.self, forKey: .longSide) ?? d.longSide
        preset = try c.decodeIfPresent(String.self, forKey: .preset) ?? d.preset
        shardSize = try c.decodeIfPresent(Int.self, forKey: .shardSize) ?? d.shardSize
        maxAttempts = try c.decodeIfPresent(Int.self, forKey: .maxAttempts) ?? d.maxAttempts
        leaseSeconds = try c.decodeIfPresent(Double.self, forKey: .leaseSeconds) ?? d.leaseSeconds
    }

    /// Why these options cannot run a job, or nil.
    public var problem: String? {
        if !(1...10_000).contains(shardSize) { return "shardSize must be 1 to 10000" }
        if !(1...100).contains(maxAttempts) { return "maxAttempts must be 1 to 100" }
        if !(leaseSeconds >= 1 && leaseSeconds <= 86_400) { return "leaseSeconds must be 1 to 86400" }
        if shortSide < 1 || longSide < shortSide || longSide > 16_384 { return "need 1 <= shortSide <= longSide <= 16384" }
        if !promptDenoise.isFinite || !keySmoothing.isFinite { return "promptDenoise and keySmoothing must be finite" }
        return nil
    }
}
