import LabelAPI

extension MaskCLIPOptions {
    /// A job's settings as the options of its labeler: the one bridge from LabelAPI's settings to the kernels. The
    /// coordinator calls it at submit, a worker for each job, `label` and `run` before they start; it throws the
    /// settings' first broken rule, or names a mode or preset this build does not know (a newer coordinator's job).
    public init(_ settings: JobSettings) throws(SettingError) {
        try settings.validate()
        let mode = try JobSettings.known("mode", settings.mode), preset = try JobSettings.known("preset", settings.preset)
        self.init(mode: mode, shortSide: settings.shortSide, longSide: settings.longSide, promptDenoise: settings.promptDenoise,
                  keySmoothing: settings.keySmoothing, preset: preset, window: settings.window, stride: settings.stride,
                  pamrIterations: settings.pamrIterations, pamrDilations: settings.pamrDilations,
                  logitScale: settings.logitScale, minConfidence: settings.minConfidence, confidence: settings.saveConfidence)
    }
}
