import Crypto
import Foundation
import GRDB
import LabelAPI
import Support

/// Checking and fingerprinting a submitted job.
extension Store {
    /// Checks what a job says besides its images (those are checked as they are inserted).
    static func validateHeader(_ new: NewJob) throws(StoreError) {
        do { try new.options.validate() } catch { throw .invalid("settings.\(error)") }
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
    }

    /// What an idempotency key stands for: the request's content (its images' ids and uris in order), not its
    /// line numbers. Streamed: one item at a time.
    static func requestDigest(_ new: NewJob, items: some Sequence<ManifestItem>) -> String {
        var hasher = SHA256()
        hasher.update(data: Data(json(DigestHeader(name: new.name, modelId: new.modelId, classes: new.classes, options: new.options)).utf8))
        for item in items {
            // Length-prefixed, so no choice of ids and uris can make two requests hash alike.
            for field in [item.id, item.uri] {
                hasher.update(data: Data("\n\(field.utf8.count):".utf8))
                hasher.update(data: Data(field.utf8))
            }
        }
        return SHA256Hex.hex(hasher.finalize())
    }

    /// The digest of a request whose manifest is a file: the job's header and the file's bytes, read once (at
    /// several hundred MB/s, so a 3-million-line manifest takes well under a second).
    public static func manifestDigest(_ new: NewJob, file path: String) throws(StoreError) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw .notFound("no manifest at \(path)") }
        defer { try? handle.close() }
        var hasher = SHA256()
        hasher.update(data: Data(json(DigestHeader(name: new.name, modelId: new.modelId, classes: new.classes, options: new.options)).utf8))
        hasher.update(data: Data("\nmanifest bytes:".utf8))
        do {
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        } catch {
            throw StoreError(.io, "reading the manifest \(path): \(error)")
        }
        return SHA256Hex.hex(hasher.finalize())
    }

    /// Sorted-keys JSON, as stored in TEXT columns and hashed for ids.
    static func json(_ value: some Encodable) -> String {
        let encoder = WireJSON.encoder()
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

/// The part of a job request its digest covers besides the images.
private struct DigestHeader: Encodable {
    var name: String?
    var modelId: String
    var classes: [String]
    var options: JobSettings
}
