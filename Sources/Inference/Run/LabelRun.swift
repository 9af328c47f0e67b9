import Foundation
import Logging
import Support

/// `labelmill label`: one model, one class list, many images, label maps into a directory.
public struct LabelConfiguration: Sendable {
    public var modelDirectory: URL
    public var classNames: [String]
    /// `maskclip85`, `single` or a template file.
    public var templates: String
    /// A class-embeddings file made by `labelmill embed`; when set, the text tower does not run.
    public var embeddingsFile: String?
    public var options: MaskCLIPOptions
    public var maxPixels: Int
    public var outputDirectory: URL
    /// Image files, and folders whose images (subfolders included) are labeled into the same subfolders of the output.
    public var images: [String]

    public init(modelDirectory: URL, classNames: [String], templates: String = "maskclip85", embeddingsFile: String? = nil,
                options: MaskCLIPOptions = .init(), maxPixels: Int = ImageCodec.defaultMaxPixels,
                outputDirectory: URL, images: [String]) {
        self.modelDirectory = modelDirectory
        self.classNames = classNames
        self.templates = templates
        self.embeddingsFile = embeddingsFile
        self.options = options
        self.maxPixels = maxPixels
        self.outputDirectory = outputDirectory
        self.images = images
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
    public static func run(_ configuration: LabelConfiguration, logger: Logger) throws -> LabelReport {
        let inputs = try expand(configuration.images)
        let model = try CLIPModel(directory: configuration.modelDirectory)
        logger.info("model.loaded", metadata: ["model.path": "\(configuration.modelDirectory.path)", "blas": "\(BLAS.info)"])
        let sha = try model.weightsSHA256()
        let classes: ClassEmbeddings
        if let file = configuration.embeddingsFile {
            classes = try ClassEmbeddings(contentsOf: file)
            try classes.check(modelSHA256: sha)
            if !configuration.classNames.isEmpty, configuration.classNames != classes.classNames {
                throw InferenceError(.badArgument, "the classes given (\(configuration.classNames.joined(separator: ","))) are not those of "
                                     + "\(file) (\(classes.classNames.joined(separator: ","))): leave them out, or embed them again")
            }
        } else {
            let started = Date()
            classes = try ClassEmbeddings.compute(model: model, classNames: configuration.classNames,
                                                  templates: try PromptTemplates.named(configuration.templates),
                                                  modelSHA256: sha)
            logger.info("classes.embedded", metadata: ["classes.count": "\(classes.classNames.count)",
                                                       "classes.seconds": "\(Date().timeIntervalSince(started))"])
        }
        let maskCLIP = try MaskCLIP(model: model, classes: classes, options: configuration.options)
        let out = configuration.outputDirectory
        do {
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
            try AtomicFile.write([UInt8](ClassList(classes.classNames).json()), to: out.appendingPathComponent("classes.json").path)
        } catch {
            throw InferenceError(.io, "cannot write to \(out.path): \(error.localizedDescription)")
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
                let png = try ImageCodec.encodeLabelPNG(try maskCLIP.label(image))
                do { try AtomicFile.write(png, to: out.appendingPathComponent("\(stem).png").path) } catch {
                    throw InferenceError(.io, error.description)
                }
                report.labeled.append(path)
                logger.info("image.labeled", metadata: ["image.path": "\(path)", "image.size": "\(image.width)x\(image.height)",
                                                        "image.seconds": "\(Date().timeIntervalSince(started))"])
            } catch {
                report.failed.append((path, "\(error)"))
                logger.error("image.failed", metadata: ["image.path": "\(path)", "error": "\(error)"])
            }
        }
        return report
    }

    /// Image files with the name of their label map (the file's stem), and the images of folders with their path
    /// under the folder (`cats/001` writes `OUT/cats/001.png`). A folder without images is an error.
    static func expand(_ paths: [String]) throws -> [(path: String, name: String)] {
        try paths.flatMap { path -> [(path: String, name: String)] in
            guard ImageFolder.isFolder(path) else { return [(path, URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent)] }
            let entries = try ImageFolder.images(in: URL(fileURLWithPath: path))
            if entries.isEmpty {
                throw InferenceError(.badArgument, "the folder \(path) has no images (.jpg, .jpeg or .png files, in subfolders too)")
            }
            return entries.map { ($0.path, $0.name) }
        }
    }
}
