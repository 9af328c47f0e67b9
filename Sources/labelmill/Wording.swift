/// Counts and paths as a person writes them in a message: "1 image", "3 images", "out/labels" (not "out//labels").
enum Wording {
    /// `count` and the noun, singular for one: `counted(1, "label map")` is "1 label map".
    static func counted(_ count: Int, _ singular: String, plural: String? = nil) -> String {
        "\(count) \(count == 1 ? singular : plural ?? singular + "s")"
    }

    /// `folder/name`, whether or not `folder` ends with a slash.
    static func path(_ folder: String, _ name: String) -> String {
        var folder = Substring(folder)
        while folder.count > 1, folder.hasSuffix("/") { folder = folder.dropLast() }
        return folder == "/" ? "/" + name : "\(folder)/\(name)"
    }
}
