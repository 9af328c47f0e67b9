import Inference
import LabelAPI

extension MaskCLIPOptions {
    /// A job's settings as the options of its labeler: what a worker runs a task with, and what `label` runs.
    /// Throws for a mode this build does not know (a newer coordinator's job).
    public init(_ settings: JobSettings) throws {
        guard let mode = DenseMode(rawValue: settings.mode) else {
            throw InferenceError(.badArgument, "this worker does not know the job's mode \(settings.mode.debugDescription): upgrade it")
        }
        guard let preset = Preset(rawValue: settings.preset) else {
            throw InferenceError(.badArgument, "this worker does not know the job's preset \(settings.preset.debugDescription): upgrade it")
        }
        self.init(mode: mode, shortSide: settings.shortSide, longSide: settings.longSide, promptDenoise: settings.promptDenoise,
                  keySmoothing: settings.keySmoothing, preset: preset, window: settings.window, stride: settings.stride,
                  pamrIterations: settings.pamrIterations, pamrDilations: settings.pamrDilations,
                  logitScale: settings.logitScale, minConfidence: settings.minConfidence, confidence: settings.saveConfidence)
    }
}
