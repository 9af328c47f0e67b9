import ArgumentParser
import Foundation
import Inference
import LabelAPI

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Compute a job's class embeddings once ([K, E], with the model's sha256), for `label --embeddings`.",
        discussion: "Example:\n  labelmill embed --model clip-vit-base-patch16 --classes-file classes.txt \\\n    --out classes.safetensors")

    @Option(help: "A Hugging Face CLIP model directory.")
    var model: String

    @OptionGroup var classOptions: ClassOptions

    @Option(help: "Prompt templates: maskclip85, imagenet80 (the newer modes' default), single, or a file.")
    var templates = "maskclip85"

    @Option(help: "Output file (safetensors).")
    var out: String

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        _ = logging.bootstrap()
        do {
            let classes = try classOptions.read()
            let synonyms = classes.names.map { classes.synonyms[$0] ?? [] }
            let clip = try CLIPModel(directory: URL(fileURLWithPath: model), use: .textOnly)
            let embeddings = try ClassEmbeddings.compute(
                model: clip, classNames: classes.names, synonyms: synonyms, templates: try PromptTemplates.named(templates),
                modelSHA256: try clip.weightsSHA256())
            try embeddings.write(to: out)
            print("\(embeddings.classNames.count) classes × \(embeddings.templateCount) templates -> \(out)")
        } catch let error as InferenceError {
            throw CLIError(error.message)
        }
    }
}
