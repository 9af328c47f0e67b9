import LabelAPI
import Testing

@Suite struct ClassFileTests {
    /// A `# comment` line is a comment, not a class named "# comment" (rough edges, item 13).
    @Test func commentsAndBlankLinesAreNotClasses() {
        let file = ClassFile(text: "# animals first\ncat, kitten\n\n  # then the rest\ndog\r\nsky # not a comment mid-line\n")
        #expect(file.names == ["cat", "dog", "sky # not a comment mid-line"])
        #expect(file.synonyms == ["cat": ["kitten"]])
    }
}
