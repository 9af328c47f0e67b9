import LabelAPI

/// What a ledger says about labeling: each lease that labeled images ends with one `task.labeled` event that counts
/// them, so an image labeled twice (a second lease redoing it, a relabel) shows as a count above the images done.
extension Array where Element == LedgerEntry {
    /// Images labeled, by every lease or by those `where` picks.
    func labeledImages(where include: (LedgerEntry) -> Bool = { _ in true }) -> Int {
        filter { $0.kind == .taskLabeled && include($0) }.reduce(0) { $0 + ($1.images ?? 0) }
    }

    /// Every label the ledger records was the first for its image: `done` images labeled once each, none again.
    func labeledOnce(done: Int) -> Bool {
        labeledImages() == done && !contains { $0.kind == .imageRelabeled || $0.kind == .imageDone }
    }
}
