import Foundation
import LabelAPI

/// The prompts each class name is put into before the text tower; a class's embedding averages them.
public struct PromptTemplates: Sendable, Equatable {
    /// `maskclip85`, `single`, or `file:<path>`: recorded with class embeddings so a mismatch is visible.
    public let name: String
    public let templates: [String]

    public init(name: String, templates: [String]) throws {
        guard !templates.isEmpty else { throw InferenceError(.badArgument, "template set \(name) is empty") }
        for t in templates where t.components(separatedBy: "{}").count != 2 {
            throw InferenceError(.badArgument, "template \"\(t)\" must contain {} exactly once")
        }
        self.name = name
        self.templates = templates
    }

    /// `maskclip85`, `imagenet80` (CLIP's 80 ImageNet templates, the newer dense modes' set), `single`,
    /// `inline:<one template per line>`, or a path to a file with one template per line (blank lines and lines
    /// starting with # are skipped).
    public static func named(_ spec: String) throws -> PromptTemplates {
        switch TemplateSet(rawValue: spec) {
        case .maskclip85: return try PromptTemplates(name: spec, templates: imageNet80 + scene5)
        case .imagenet80: return try PromptTemplates(name: spec, templates: imageNet80)
        case .single: return try PromptTemplates(name: spec, templates: ["a photo of a {}."])
        case nil where spec.hasPrefix(JobSettings.inlineTemplatesPrefix):
            return try PromptTemplates(name: "inline", templates: lines(String(spec.dropFirst(JobSettings.inlineTemplatesPrefix.count))))
        case nil:
            guard let text = try? String(contentsOfFile: spec, encoding: .utf8) else {
                throw InferenceError(.badArgument, "--templates \(spec): not maskclip85, imagenet80, single or a readable file")
            }
            return try PromptTemplates(name: "file:\(spec)", templates: lines(text))
        }
    }

    private static func lines(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    public func prompts(for className: String) -> [String] {
        templates.map { $0.replacingOccurrences(of: "{}", with: className) }
    }

    /// CLIP's 80 ImageNet templates, in their published order.
    static let imageNet80 = [
        "a bad photo of a {}.", "a photo of many {}.", "a sculpture of a {}.", "a photo of the hard to see {}.",
        "a low resolution photo of the {}.", "a rendering of a {}.", "graffiti of a {}.", "a bad photo of the {}.",
        "a cropped photo of the {}.", "a tattoo of a {}.", "the embroidered {}.", "a photo of a hard to see {}.",
        "a bright photo of a {}.", "a photo of a clean {}.", "a photo of a dirty {}.", "a dark photo of the {}.",
        "a drawing of a {}.", "a photo of my {}.", "the plastic {}.", "a photo of the cool {}.",
        "a close-up photo of a {}.", "a black and white photo of the {}.", "a painting of the {}.",
        "a painting of a {}.", "a pixelated photo of the {}.", "a sculpture of the {}.", "a bright photo of the {}.",
        "a cropped photo of a {}.", "a plastic {}.", "a photo of the dirty {}.", "a jpeg corrupted photo of a {}.",
        "a blurry photo of the {}.", "a photo of the {}.", "a good photo of the {}.", "a rendering of the {}.",
        "a {} in a video game.", "a photo of one {}.", "a doodle of a {}.", "a close-up photo of the {}.",
        "a photo of a {}.", "the origami {}.", "the {} in a video game.", "a sketch of a {}.", "a doodle of the {}.",
        "a origami {}.", "a low resolution photo of a {}.", "the toy {}.", "a rendition of the {}.",
        "a photo of the clean {}.", "a photo of a large {}.", "a rendition of a {}.", "a photo of a nice {}.",
        "a photo of a weird {}.", "a blurry photo of a {}.", "a cartoon {}.", "art of a {}.", "a sketch of the {}.",
        "a embroidered {}.", "a pixelated photo of a {}.", "itap of the {}.", "a jpeg corrupted photo of the {}.",
        "a good photo of a {}.", "a plushie {}.", "a photo of the nice {}.", "a photo of the small {}.",
        "a photo of the weird {}.", "the cartoon {}.", "art of the {}.", "a drawing of the {}.",
        "a photo of the large {}.", "a black and white photo of a {}.", "the plushie {}.", "a dark photo of a {}.",
        "itap of a {}.", "graffiti of the {}.", "a toy {}.", "itap of my {}.", "a photo of a cool {}.",
        "a photo of a small {}.", "a tattoo of the {}.",
    ]

    /// The five scene templates MaskCLIP adds.
    static let scene5 = [
        "there is a {} in the scene.", "there is the {} in the scene.", "this is a {} in the scene.",
        "this is the {} in the scene.", "this is one {} in the scene.",
    ]
}
