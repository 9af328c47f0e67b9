import LabelAPI
import Testing

/// The rules for text that reaches a person: clipped, free of credentials, and linear in the input's size.
@Suite struct MessageTextTests {
    @Test func userInformationLeavesEveryURL() {
        #expect(MessageText.withoutCredentials("s3://b/k is unreachable at http://minio:SuperSecretPw@host:9000/b/k: refused")
                == "s3://b/k is unreachable at http://host:9000/b/k: refused")
        #expect(MessageText.withoutCredentials("GET https://user@example.com?x=1 and ftp://a:b@c") == "GET https://example.com?x=1 and ftp://c")
        // A password holding "@" is taken out whole; an "@" after the authority (a path, a mail address) stays.
        #expect(MessageText.withoutCredentials("http://u:p@ss@h/x@y mail me@example.com") == "http://h/x@y mail me@example.com")
        #expect(MessageText.withoutCredentials("no url here: a@b") == "no url here: a@b")
    }

    @Test func clippingKeepsTheStart() {
        #expect(MessageText.clipped("short", to: 10) == "short")
        #expect(MessageText.clipped("exactly10!", to: 10) == "exactly10!")
        #expect(MessageText.clipped(String(repeating: "é", count: 50), to: 4) == "ééé…")
    }

    @Test func replacingFindsEveryOccurrence() {
        #expect(MessageText.replacing("ab", with: "{x}", in: "abcabab") == "{x}c{x}{x}")
        #expect(MessageText.replacing("aab", with: "-", in: "aaab aab") == "a- -")
        #expect(MessageText.replacing("猫", with: "{id}", in: "猫 is 猫") == "{id} is {id}")
        #expect(MessageText.replacing("zz", with: "-", in: "abc") == "abc")
        // Linear: a 2 MB needle of one letter against a text of that letter does not take quadratic time.
        let long = String(repeating: "a", count: 2_000_000)
        #expect(MessageText.replacing(long, with: "{uri}", in: "x" + long + "y") == "x{uri}y")
    }
}
