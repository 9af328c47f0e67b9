import Foundation
import LabelAPI
import Logging
import Support

/// `labelmill label`: one model, one class list, many images, label maps into a directory.
public struct LabelConfiguration: Sendable {
    public var modelDirectory: URL
    public var classNames: [String]
    /// Each class's synonyms, in class order (or empty: none).
    public var synonyms: [[String]]
    /// `maskclip85`, `imagenet80`, `single` or a template file; nil: maskclip85, or what the embeddings file was made with.
    public var templates: String?
    /// A class-embeddings file made by `labelmill embed`; when set, the text tower does not run.
    public var embeddingsFile: String?
    public var options: MaskCLIPOptions
    public var precision: Precision
    public var maxPixels: Int
    public var outputDirectory: URL
    /// Image files, and folders whose images (subfolders included) are labeled into the same subfolders of the output.
    public var images: [String]

    public init(modelDirectory: URL, classNames: [String], synonyms: [[String]] = [], templates: String? = nil,
                embeddingsFile: String? = nil, options: MaskCLIPOptions = .init(), precision: Precision = .fp32,
                maxPixels: Int = ImageCodec.defaultMaxPixels,
                outputDirectory: URL, images: [String]) {
        self.modelDirectory = modelDirectory
        self.classNames = classNames
        self.synonyms = synonyms
        self.templates = templates
        self.embeddingsFile = embeddingsFile
        self.options = options
        self.precision = precision
        self.maxPixels = maxPixels
        self.outputDirectory = outputDirectory
        self.images = images
    }
}

extension LabelConfiguration {
    /// `embeddings`, read from `file`, if the classes and templates given (when given) are the ones it was made with.
    func check(_ embeddings: ClassEmbeddings, from file: String) throws -> ClassEmbeddings {
        if !classNames.isEmpty, classNames != embeddings.classNames {
            throw InferenceError(.badArgument, "the classes given (\(classNames.joined(separator: ","))) are not those of \(file) "
                                 + "(\(embeddings.classNames.joined(separator: ","))): leave them out, or embed them again")
        }
        if !classNames.isEmpty, (synonyms.isEmpty ? classNames.map { _ in [] } : synonyms) != embeddings.synonyms {
            throw InferenceError(.badArgument, "the classes' synonyms given are not those of \(file): leave the classes out, or embed them again")
        }
        if let templates {
            let given = try PromptTemplates.named(templates).name
            // A template file is named by its path; the same file moved is still the same templates.
            guard given == embeddings.templates || (given.hasPrefix("file:") && embeddings.templates.hasPrefix("file:")) else {
                throw InferenceError(.badArgument, "--templates \(templates) is not what \(file) was made with "
                                     + "(\(embeddings.templates)): leave it out, or embed again")
            }
        }
        return embeddings
    }
}

public struct LabelReport: Sendable {
    public var labeled: [String] = []
    /// Image path and the reason it failed.
    public var failed: [(image: String, reason: String)] = []
}

public enum LabelRun {
    /// Labels every image; a failing image is reported and the rest still run. Throws only for what fails the
    /// whole run (model, classes, output directory).
    /// OUT/confidence/<stem>.png holds each image's confidence map when the options ask for them.
    public static let confidenceFolder = "confidence"

    public static func run(_ configuration: LabelConfiguration, logger: Logger) throws -> LabelReport {
        let inputs = try expand(configuration.images)
        if configuration.options.confidence, let clash = inputs.first(where: { $0.name.hasPrefix(confidenceFolder + "/") }) {
            throw InferenceError(.badArgument, "\(clash.path) would be labeled into \(confidenceFolder)/, where the confidence maps go: "
                                 + "label that folder on its own, or without --save-confidence")
        }
        // Everything the user gave is checked before the model loads (seconds for a real one).
        let embedded = try configuration.embeddingsFile.map { file in try configuration.check(try ClassEmbeddings(contentsOf: file), from: file) }
        let templates = try embedded == nil ? PromptTemplates.named(configuration.templates ?? "maskclip85") : nil
        if embedded == nil { try ClassEmbeddings.validate(classNames: configuration.classNames, synonyms: configuration.synonyms) }
        let model = try CLIPModel(directory: configuration.modelDirectory, precision: configuration.precision)
        logger.info("model.loaded", metadata: ["model.path": "\(configuration.modelDirectory.path)", "blas": "\(BLAS.info)",
                                               "precision": "\(model.precision)"])
        let sha = try model.weightsSHA256()
        let classes: ClassEmbeddings
        if let embedded {
            classes = embedded
            try classes.check(modelSHA256: sha)
        } else {
            let started = Date()
            classes = try ClassEmbeddings.compute(model: model, classNames: configuration.classNames, synonyms: configuration.synonyms,
                                                  templates: templates!, modelSHA256: sha)
            logger.info("classes.embedded", metadata: ["classes.count": "\(classes.classNames.count)",
                                                       "classes.seconds": "\(Date().timeIntervalSince(started))"])
        }
        let maskCLIP = try MaskCLIP(model: model, classes: classes, options: configuration.options)
        let out = configuration.outputDirectory
        do {
            try AtomicFile.createDirectories(out.path)
            try AtomicFile.write([UInt8](try ClassList(classes.classNames, synonyms: classes.synonyms).json()),
                                 to: out.appendingPathComponent("classes.json").path)
        } catch let error as FileError {
            throw InferenceError(.io, "cannot write the labels: \(error)")
        }
        var report = LabelReport()
        var written = Set<String>()
        for (path, stem) in inputs {
            do {
                guard written.insert(stem).inserted else {
                    throw InferenceError(.badArgument, "another image already wrote \(stem).png")
                }
                let started = Date()
                let image = try ImageCodec.read(contentsOf: path, maxPixels: configuration.maxPixels)
                let labeled = try maskCLIP.labels(image)
                let png = try ImageCodec.encodeLabelPNG(labeled.labels)
                do {
                    // The confidence map first: a label map on disk always has its confidence map beside it.
                    if let confidence = labeled.confidence {
                        let file = out.appendingPathComponent("\(Self.confidenceFolder)/\(stem).png").path
                        try AtomicFile.createDirectories((file as NSString).deletingLastPathComponent)
                        try AtomicFile.write(try confidence.png(), to: file)
                    }
                    try AtomicFile.write(png, to: out.appendingPathComponent("\(stem).png").path)
                } catch let error as FileError {
                    throw InferenceError(.io, error.description)
                }
                report.labeled.append(path)
                logger.info("image.labeled", metadata: ["image.path": "\(path)", "image.size": "\(image.width)x\(image.height)",
                                                        "image.seconds": "\(Date().timeIntervalSince(started))"])
            } catch {
                report.failed.append((path, "\(error)"))
                // The caller reports each failure in the report (label prints one line each): logged here only as detail.
                logger.info("image.failed", metadata: ["image.path": "\(path)", "error": "\(error)"])
            }
        }
        return report
    }

    /// Image files with the name of their label map (the file's stem), and the images of folders with their path
    /// under the folder (`cats/001` writes `OUT/cats/001.png`). A folder without images is an error.
    static func expand(_ paths: [String]) throws -> [(path: String, name: String)] {
        let entries = try paths.flatMap { path -> [ImageFolder.Entry] in
            guard ImageFolder.isFolder(path) else {
                return [ImageFolder.Entry(path: path, name: URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent)]
            }
            let entries = try ImageFolder.images(in: URL(fileURLWithPath: path))
            if entries.isEmpty {
                throw InferenceError(.badArgument, "the folder \(path) has no images (.jpg, .jpeg or .png files, in subfolders too)")
            }
            return entries
        }
        // `a/x.jpg b/x.png` as arguments: like two files of one folder, each keeps its extension in its name.
        return ImageFolder.disambiguated(entries).map { ($0.path, $0.name) }
    }
}
