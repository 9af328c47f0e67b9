import Logging

/// `labelmill model fetch`: downloads a model's files from the Hugging Face hub (or a mirror)
/// into a directory, resuming interrupted downloads and checking sizes and SHA-256 digests.
/// Files already present and matching the hub are left alone, so a rerun is cheap.
public enum ModelFetcher {
    /// Fetches `configuration.files` in order and returns them as they are on disk.
    public static func fetch(
        _ configuration: ModelFetchConfiguration,
        logger: Logger = Logger(label: "labelmill.model-fetch"),
        progress: (@Sendable (FetchProgress) -> Void)? = nil
    ) async throws(CurlError) -> [FetchedFile] {
        let session = CurlSession.Configuration(bearerToken: configuration.token, userAgent: "labelmill-model-fetch")
        let client = HTTPClient(configuration: .init(session: session, threads: 1), logger: logger)
        var fetched: [FetchedFile] = []
        for file in configuration.files {
            fetched.append(try await fetch(file, configuration, client: client, logger: logger, progress: progress))
        }
        return fetched
    }

    static func fetch(
        _ file: String, _ configuration: ModelFetchConfiguration, client: HTTPClient, logger: Logger,
        progress: (@Sendable (FetchProgress) -> Void)?
    ) async throws(CurlError) -> FetchedFile {
        let url = configuration.url(for: file)
        let destination = configuration.outputDirectory + "/" + file
        let expected = try await HubFileMetadata.probe(url, client: client, retry: configuration.retry)
        var metadata: Logger.Metadata = ["model.repo": "\(configuration.repo)", "model.file": "\(file)"]
        metadata["model.size"] = expected.size.map { "\($0)" }
        // The downloader keeps a file already there when it has the hub's size and (when published) digest.
        let request = DownloadRequest(
            url: url, destination: destination, expectedSize: expected.size, expectedSHA256: expected.sha256, resume: true)
        let result = try await client.download(request, retry: configuration.retry) { bytes, total in
            progress?(FetchProgress(file: file, bytes: bytes, total: total ?? expected.size))
        }
        if result.reused {
            logger.info("model.fetch.skip", metadata: metadata)
            progress?(FetchProgress(file: file, bytes: result.size, total: result.size, skipped: true))
        } else {
            metadata["model.resumed_from"] = "\(result.resumedFrom)"
            if let discarded = result.discarded { metadata["model.discarded"] = "\(discarded)" }
            logger.info("model.fetch.done", metadata: metadata)
        }
        return FetchedFile(
            name: file, path: destination, size: result.size, sha256: result.sha256,
            skipped: result.reused, verifiedSHA256: expected.sha256 != nil)
    }
}
