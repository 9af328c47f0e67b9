import Foundation
import Coordinator
import LabelAPI
import Testing

/// The claim's hand-written answer is the JSON `TaskAssignment`'s `Encodable` gives, for awkward strings too.
@Suite struct AssignmentJSONTests {
    static func object(_ bytes: some Sequence<UInt8>) throws -> NSDictionary {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? NSDictionary)
    }

    @Test(arguments: [nil, "s3://b/train-000001.tar"])
    func isWhatTheEncoderWrites(shard: String?) throws {
        var settings = JobSettings(mode: "sclip", synonyms: ["cat": ["kitty", "tabby \"cat\""]], leaseSeconds: 12.5)
        settings.tarShards = shard != nil
        let task = TaskAssignment(
            taskId: 9_007_199_254_740_993, jobId: "job-01", leaseToken: "ab\\cd", leaseSeconds: 60, attempt: 3,
            modelId: String(repeating: "a", count: 64), embeddingsSHA256: String(repeating: "b", count: 64), settings: settings,
            classCount: 5,
            images: [.init(id: "café", uri: "/v1/files/a b/é.png"), .init(id: "tab\there", uri: "https://h/x?a=1&b=\"2\"\n\u{01}"),
                     .init(id: "日本", uri: "s3://b/k/\u{1F600}.jpg")],
            shard: shard)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes = AssignmentJSON.encode(task, settings: [UInt8](try encoder.encode(settings)))
        #expect(try Self.object(bytes) == Self.object(try encoder.encode(task)))
        let decoded = try JSONDecoder().decode(TaskAssignment.self, from: Data(bytes))
        #expect(decoded.images == task.images && decoded.shard == shard && decoded.taskId == task.taskId)
        #expect(decoded.leaseToken == "ab\\cd" && decoded.settings.synonyms == settings.synonyms && decoded.settings.tarShards == settings.tarShards)
        #expect(AssignmentJSON.number(12.5) == "12.5" && AssignmentJSON.number(60) == "60")
    }
}
