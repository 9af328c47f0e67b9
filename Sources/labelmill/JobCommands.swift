import ArgumentParser
import Foundation
import LabelAPI
import LabelClient

struct RetryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry", abstract: "Run a job's failed images again (a done or failed job runs again).",
        discussion: "Example:\n  labelmill retry --coordinator http://10.0.0.5:8080 --token-file token \\\n    job-0193c2a1f0e2d4a1b2c3")

    @OptionGroup var client: ClientOptions
    @Argument(help: "Job id.") var job: String

    func run() async throws {
        let coordinator = try client.client()
        let before = try await coordinator.job(job)
        let status = try await coordinator.retryFailed(job)
        let retried = before.images.failed - status.images.failed
        if retried > 0 {
            print("\(job): retrying \(retried) failed images; \(status.state.rawValue), \(status.images.pending) images pending, "
                  + "\(status.images.done) done, \(status.images.failed) failed")
        } else if status.images.failed == 0 {
            print("\(job): nothing to retry: no image has failed (\(status.state.rawValue), \(status.images.done) of \(status.images.total) done)")
        } else {
            print("\(job): nothing to retry: its \(status.images.failed) failed images were refused at submit, and their manifest "
                  + "lines are what is wrong (results.jsonl says why)")
        }
    }
}

struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel", abstract: "Cancel a job: nothing more is claimed, and live leases end.",
        discussion: "Example:\n  labelmill cancel --coordinator http://10.0.0.5:8080 --token-file token \\\n    job-0193c2a1f0e2d4a1b2c3")

    @OptionGroup var client: ClientOptions
    @Argument(help: "Job id.") var job: String

    func run() async throws {
        let status = try await client.client().cancel(job)
        print("\(job): \(status.state.rawValue), \(status.images.done) of \(status.images.total) images labeled")
    }
}

struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete a finished job with its label maps and ledger (export it first to keep them).",
        discussion: "Example:\n  labelmill delete --coordinator http://10.0.0.5:8080 --token-file token \\\n    job-0193c2a1f0e2d4a1b2c3")

    @OptionGroup var client: ClientOptions
    @Argument(help: "Job id.") var job: String

    func run() async throws {
        let deleted = try await client.client().deleteJob(job)
        print("deleted \(deleted.id): \(deleted.images) images, \(deleted.labelFiles) label maps")
    }
}
