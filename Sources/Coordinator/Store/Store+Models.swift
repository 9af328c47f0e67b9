import Foundation
import GRDB
import Support
import LabelAPI

/// Content-addressed blobs and the models made of them. The HTTP layer writes the files; the store knows them.
extension Store {
    /// Records a stored file. Recording the same digest again is a no-op (the first path stays); the same digest
    /// with another size is a `conflict`.
    public func recordBlob(sha256: String, size: Int64, relativePath: String) throws(StoreError) {
        try write("recording blob \(sha256)") { db in try recordBlob(db, sha256: sha256, size: size, relativePath: relativePath) }
    }

    public func recordBlob(_ db: Database, sha256: String, size: Int64, relativePath: String) throws {
        guard SHA256Hex.isValid(sha256) else { throw StoreError.invalid("blob sha256 must be 64 lowercase hex digits") }
        if size < 0 { throw StoreError.invalid("blob size must not be negative") }
        if relativePath.isEmpty { throw StoreError.invalid("blob relativePath is empty") }
        let at = timestamp()
        if let existing = try db.value(Int64.self, "SELECT size FROM blobs WHERE sha256 = ?", [sha256]) {
            if existing != size { throw StoreError.conflict("blob \(sha256) is stored with size \(existing), not \(size)") }
            return
        }
        try db.run("INSERT INTO blobs (sha256, size, relative_path, created_at) VALUES (?, ?, ?, ?)",
                   [sha256, size, relativePath, at])
    }

    public func blob(_ sha256: String) throws(StoreError) -> BlobRecord? {
        try read("reading blob \(sha256)") { db in try blob(db, sha256) }
    }

    public func blob(_ db: Database, _ sha256: String) throws -> BlobRecord? {
        try db.one("SELECT * FROM blobs WHERE sha256 = ?", [sha256]).map { row in
            BlobRecord(sha256: row["sha256"], size: row["size"], relativePath: row["relative_path"],
                       createdAt: Date(timeIntervalSince1970: row["created_at"]))
        }
    }

    /// Registers a model made of `files`, whose blobs must already be recorded. Its id is the SHA-256 of the
    /// canonical JSON of the files sorted by name (`modelId(files:)`). The same name and content again is a no-op;
    /// the same name with other content moves the name to the new id (the old id stays addressable).
    public func registerModel(name: String, files: [ModelFileEntry]) throws(StoreError) -> ModelRecord {
        try write("registering model \(name)") { db in try registerModel(db, name: name, files: files) }
    }

    public func registerModel(_ db: Database, name: String, files: [ModelFileEntry]) throws -> ModelRecord {
        if name.isEmpty || name.utf8.count > 200 || name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw StoreError.invalid("model name must be 1 to 200 bytes without control characters")
        }
        if files.isEmpty { throw StoreError.invalid("model \(name.debugDescription) has no files") }
        let sorted = files.sorted { $0.name < $1.name }
        for (index, file) in sorted.enumerated() {
            if let problem = ImageID.problem(file.name) { throw StoreError.invalid("model file name \(file.name.debugDescription) \(problem)") }
            if index > 0, sorted[index - 1].name == file.name { throw StoreError.invalid("model file \(file.name) appears twice") }
            if !SHA256Hex.isValid(file.sha256) { throw StoreError.invalid("model file \(file.name): sha256 must be 64 lowercase hex digits") }
        }
        let id = Self.modelId(files: sorted)
        let at = timestamp()
        for file in sorted {
            guard let size = try db.value(Int64.self, "SELECT size FROM blobs WHERE sha256 = ?", [file.sha256]) else {
                throw StoreError.invalid("model file \(file.name): blob \(file.sha256) is not stored")
            }
            if size != file.size { throw StoreError.invalid("model file \(file.name): size \(file.size) but its blob has \(size)") }
        }
        if try db.value(String.self, "SELECT id FROM models WHERE id = ?", [id]) == nil {
            try db.run("INSERT INTO models (id, name, created_at) VALUES (?, ?, ?)", [id, name, at])
            for file in sorted {
                try db.run("INSERT INTO model_files (model_id, name, sha256, size) VALUES (?, ?, ?, ?)",
                           [id, file.name, file.sha256, file.size])
            }
        } else {
            try db.run("UPDATE models SET name = ? WHERE id = ? AND name <> ?", [name, id, name])
        }
        try db.run("""
            INSERT INTO model_names (name, model_id, updated_at) VALUES (?, ?, ?)
            ON CONFLICT (name) DO UPDATE SET model_id = excluded.model_id, updated_at = excluded.updated_at
            WHERE model_id <> excluded.model_id
            """, [name, id, at])
        guard let model = try Self.model(db, id: id, name: name) else { throw StoreError(.io, "model \(id) vanished") }
        return model
    }

    /// A model by registered name (its current content) or by id.
    public func model(_ nameOrId: String) throws(StoreError) -> ModelRecord? {
        try read("reading model \(nameOrId)") { db in try model(db, nameOrId) }
    }

    public func model(_ db: Database, _ nameOrId: String) throws -> ModelRecord? {
        if let id = try db.value(String.self, "SELECT model_id FROM model_names WHERE name = ?", [nameOrId]) {
            return try Self.model(db, id: id, name: nameOrId)
        }
        return try Self.model(db, id: nameOrId, name: nil)
    }

    /// SHA-256 (hex) of `[{"name":…,"sha256":…,"size":…},…]` with the files sorted by name and keys sorted.
    public static func modelId(files: [ModelFileEntry]) -> String {
        SHA256Hex.of(Array(json(files.sorted { $0.name < $1.name }).utf8))
    }

    static func model(_ db: Database, id: String, name: String?) throws -> ModelRecord? {
        guard let row = try db.one("SELECT name, created_at FROM models WHERE id = ?", [id]) else { return nil }
        let files = try db.all("SELECT name, sha256, size FROM model_files WHERE model_id = ? ORDER BY name", [id]).map {
            ModelFileEntry(name: $0["name"], sha256: $0["sha256"], size: $0["size"])
        }
        return ModelRecord(id: id, name: name ?? row["name"], files: files, createdAt: Date(timeIntervalSince1970: row["created_at"]))
    }
}
