import Foundation
import GRDB
import LabelAPI

/// Store records as the API's wire types.
extension LedgerEvent {
    var wire: LedgerEntry {
        LedgerEntry(seq: seq, at: at.timeIntervalSince1970, kind: kind, taskId: taskId, imageId: imageId,
                    workerId: workerId, reason: reason, images: images)
    }
}

extension ModelRecord {
    var wire: ModelManifest {
        ModelManifest(id: id, name: name, files: files.map { ModelFile(name: $0.name, sha256: $0.sha256, size: $0.size) })
    }
}
