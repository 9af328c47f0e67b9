import Coordinator
import Testing

/// What the backend reads from a Label Studio project's label config: the `<BrushLabels>` to answer, the image
/// field, the classes in order with synonyms from `hint`, and a clear refusal of a config it cannot answer.
struct LabelStudioConfigTests {
    @Test func brushLabelsGiveTheClassesAndTheImageField() throws {
        let config = try LabelStudioConfig(xml: """
            <?xml version="1.0"?>
            <View>
              <!-- <BrushLabels name="commented" toName="x"/> is not read -->
              <Header value="Paint &quot;what&quot; you see &gt; here"/>
              <Image name="photo" value="$picture" zoom="true"/>
              <Choices name="kind" toName="photo"><Choice value="indoor"/></Choices>
              <BrushLabels name="tag" toName="photo">
                <Label value="cat" background="#ff0000"/>
                <Label value='person' hint="man, woman ,child"/>
                <Label value="R&amp;D lab"></Label>
              </BrushLabels>
              <Label value="outside the brush labels"/>
            </View>
            """)
        #expect(config.fromName == "tag" && config.toName == "photo" && config.dataKey == "picture")
        #expect(config.classes == ["cat", "person", "R&D lab"])
        #expect(config.synonyms == ["person": ["man", "woman", "child"]])
    }

    @Test func aConfigWithoutWhatTheBackendAnswersIsRefusedWithWhy() {
        let cases = [
            ("<View><Image name=\"image\" value=\"$image\"/><RectangleLabels name=\"r\" toName=\"image\"><Label value=\"a\"/></RectangleLabels></View>",
             "has no <BrushLabels>"),
            ("<View><BrushLabels name=\"tag\" toName=\"image\"><Label value=\"a\"/></BrushLabels></View>", "names no <Image name=\"image\""),
            ("<View><Image name=\"image\" value=\"$image\"/><BrushLabels name=\"tag\" toName=\"image\"></BrushLabels></View>", "has no <Label"),
            ("<View><Image name=\"image\" value=\"$image\"/><BrushLabels toName=\"image\"><Label value=\"a\"/></BrushLabels></View>", "needs name and toName"),
        ]
        for (xml, why) in cases {
            do {
                _ = try LabelStudioConfig(xml: xml)
                Issue.record("accepted: \(xml)")
            } catch {
                #expect(error.message.contains(why), "\(error.message)")
            }
        }
    }
}
