import Foundation
import GRDB
import LabelAPI

/// Checking and fingerprinting a submitted job.
extension Store {
    static func validate(_ new: NewJob) throws(StoreError) {
        if new.items.isEmpty { throw .invalid("the job has no images") }
        if let problem = new.options.problem { throw .invalid("options: \(problem)") }
        if new.modelId.isEmpty { throw .invalid("modelId is empty") }
        if new.classes.isEmpty { throw .invalid("the job has no classes") }
        var seenClasses = Set<String>()
        for (index, name) in new.classes.enumerated() {
            if name.trimmingCharacters(in: .whitespaces).isEmpty { throw .invalid("class \(index) is empty") }
            if !seenClasses.insert(name).inserted { throw .invalid("class \(name.debugDescription) appears twice") }
        }
        if let key = new.idempotencyKey, key.isEmpty || key.utf8.count > 200 {
            throw .invalid("idempotency key must be 1 to 200 bytes")
        }
        var lineOfID: [String: Int] = [:]
        if new.items.allSatisfy({ $0.rejection != nil }) { throw .invalid("the job has no usable images") }
        for item in new.items {
            if item.rejection == nil, let problem = ImageID.problem(item.id) {
                throw .invalid("manifest line \(item.line): id \(item.id.debugDescription) \(problem)")
            }
            if item.rejection == nil, item.uri.isEmpty { throw .invalid("manifest line \(item.line): uri is empty") }
            if let first = lineOfID.updateValue(item.line, forKey: item.id) {
                throw .invalid("manifest line \(item.line): id \(item.id.debugDescription) duplicates line \(first)")
            }
        }
    }

    /// What an idempotency key stands for: the request's content, not its line numbers.
    static func requestDigest(_ new: NewJob) -> String {
        struct Canonical: Encodable {
            var name: String?
            var modelId: String
            var classes: [String]
            var options: JobSettings
            var items: [[String]]
        }
        let canonical = Canonical(name: new.name, modelId: new.modelId, classes: new.classes, options: new.options,
                                  items: new.items.map { [$0.id, $0.uri] })
        return SHA256Hex.digest(Data(json(canonical).utf8))
    }

    /// Sorted-keys JSON, as stored in TEXT columns and hashed for ids.
    static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain structs of strings and numbers cannot fail; a failure is a programming error.
        guard let data = try? encoder.encode(value), let text = String(data: data, encoding: .utf8) else {
            preconditionFailure("cannot encode \(type(of: value)) as JSON")
        }
        return text
    }

    /// `job-` + 12 hex digits of Unix milliseconds + 8 random hex digits: unique and sortable by creation.
    static func newJobId(_ date: Date) -> String {
        let millis = UInt64(max(0, (date.timeIntervalSince1970 * 1000).rounded(.down)))
        var hex = String(millis, radix: 16)
        hex = String(repeating: "0", count: max(0, 12 - hex.count)) + hex
        return "job-" + hex + randomHex(bits: 32)
    }

    /// A model id, or a registered name's current id.
    static func resolveModel(_ db: Database, _ nameOrId: String) throws -> String {
        if let id = try db.value(String.self, "SELECT id FROM models WHERE id = ?", [nameOrId]) { return id }
        if let id = try db.value(String.self, "SELECT model_id FROM model_names WHERE name = ?", [nameOrId]) { return id }
        throw StoreError.invalid("model \(nameOrId.debugDescription) is not registered")
    }
}
