import ArgumentParser
import Foundation
import LabelClient

extension ExportFormat: ExpressibleByArgument {}

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write a job's label maps in a layout other tools read.",
        discussion: """
            Formats (each also gets classes.json and results.jsonl, every image's state and
            failure reason):
              labelmill     labels/<id>.png (the default)
              mmseg         img_dir/, ann_dir/, splits/, dataset.py (mmsegmentation)
              coco          annotations.json (RLE per class per image), images/
              label-studio  tasks.json (brush pre-annotations), labeling-config.xml
              cvat          cvat.zip ("Segmentation mask 1.1": labelmap.txt, ...)
              hf            image and label columns, id2label.json (datasets)
            Label maps hold the class index per pixel, 255 where no class applies. mmseg,
            coco, cvat and hf copy the images too: this machine reads them from their
            manifest URIs (paths, http(s), s3:// with its AWS credentials, or the
            coordinator's --image-root); an image it cannot read is left out and named.
            Exits 1 when images failed or were left out; a rerun completes an interrupted
            export.

            Examples:
              labelmill export --coordinator http://10.0.0.5:8080 --token-file token \\
                job-0193c2a1f0e2d4a1b2c3 --out results/
              labelmill export job-0193c2a1f0e2d4a1b2c3 --format coco --out coco/
            """)

    @OptionGroup var client: ClientOptions
    @Argument(help: "Job id.") var job: String
    @Option(help: "Output directory.") var out: String
    @Option(help: "Layout: \(ExportFormat.allCases.map(\.rawValue).joined(separator: ", ")).") var format: ExportFormat = .labelmill
    @Option(help: "label-studio: task images at this URL + the image id (default: their manifest URIs).") var imageBaseURL: String?

    func run() async throws {
        let options = JobExport.Options(format: format, imageBaseURL: imageBaseURL)
        let summary = try await JobExport.run(client: client.client(), job: job, to: URL(fileURLWithPath: out), options: options)
        print("exported \(Wording.counted(summary.labels, "label map")) (\(format.rawValue)) and \(Wording.counted(summary.results, "result")) to \(out)")
        for line in summary.unreadable.prefix(10) { FileHandle.standardError.write(Data("labelmill: left out \(line)\n".utf8)) }
        if summary.unreadable.count > 10 { FileHandle.standardError.write(Data("labelmill: ... and \(summary.unreadable.count - 10) more left out\n".utf8)) }
        if summary.failed > 0 || !summary.unreadable.isEmpty {
            var reasons: [String] = []
            if summary.failed > 0 {
                reasons.append("\(Wording.counted(summary.failed, "image")) failed; their reasons are in \(Wording.path(out, "results.jsonl"))")
            }
            if !summary.unreadable.isEmpty {
                reasons.append("\(Wording.counted(summary.unreadable.count, "labeled image")) could not be read here and \(summary.unreadable.count == 1 ? "was" : "were") left out")
            }
            FileHandle.standardError.write(Data("labelmill: \(reasons.joined(separator: "; "))\n".utf8))
            throw ExitCode(1)
        }
    }
}
