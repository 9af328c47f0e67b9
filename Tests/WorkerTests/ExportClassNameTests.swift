import Foundation
import Testing
import LabelClient

/// Class names an export format cannot carry (rough edges, items 6 and 27): said at submit, where the name can still
/// change, and refused by that export, each with the same reason.
@Suite struct ExportClassNameTests {
    @Test func cvatNamesItsLimitsAtSubmitAndAtExport() throws {
        let notes = ExportFormat.cannotCarry(["cat", "background", "a:b", "c#d", "sky"])
        #expect(notes == [
            "class \"background\" cannot be exported as cvat: CVAT gives unlabeled pixels the name \"background\"",
            "class \"a:b\" cannot be exported as cvat: CVAT's labelmap.txt cannot hold a ':' or a '#' in a name",
            "class \"c#d\" cannot be exported as cvat: CVAT's labelmap.txt cannot hold a ':' or a '#' in a name",
        ])
        #expect(ExportFormat.cannotCarry(["cat", "dog"]).isEmpty)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cvat-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        for name in ["background", "a:b", "c#d"] {
            do {
                _ = try CVATWriter(directory: folder, classes: ["cat", name])
                Issue.record("cvat took a class named \(name)")
            } catch {
                #expect("\(error)".contains("class \"\(name)\" cannot be exported as cvat"), "\(error)")
            }
        }
        _ = try CVATWriter(directory: folder, classes: ["cat", "dog"])
    }
}
