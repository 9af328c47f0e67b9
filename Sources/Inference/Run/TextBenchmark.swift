import Foundation

extension Benchmark {
    public struct TextResult: Codable, Sendable {
        public var classes: Int
        public var templates: Int
        public var prompts: Int
        public var seconds: Double

        enum CodingKeys: String, CodingKey { case classes, templates, prompts, seconds = "text_seconds" }
    }

    /// PASCAL VOC's 20 classes plus background: the class set the published VOC numbers use.
    public static let vocClasses = [
        "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
        "dining table", "dog", "horse", "motorbike", "person", "potted plant", "sheep", "sofa", "train", "tv monitor",
    ]

    /// Time to compute the class matrix (tokenize, text tower, averaging) for `classNames` × `templates`.
    public static func text(model: CLIPModel, classNames: [String] = vocClasses, templates: PromptTemplates) throws -> TextResult {
        let start = DispatchTime.now().uptimeNanoseconds
        _ = try ClassEmbeddings.compute(model: model, classNames: classNames, templates: templates, modelSHA256: "")
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return TextResult(classes: classNames.count, templates: templates.templates.count,
                          prompts: classNames.count * templates.templates.count, seconds: seconds)
    }
}
