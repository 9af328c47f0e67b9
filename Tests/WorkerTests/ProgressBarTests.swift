import Testing
import LabelClient

@Suite("ProgressBar rendering")
struct ProgressBarTests {
    @Test("known total: amounts, percentage, bar and rate")
    func knownTotal() {
        let bar = ProgressBar(label: "model.safetensors", startBytes: 271_200_000)
        let line = bar.render(bytes: 312_400_000, total: 598_500_000, elapsed: .seconds(1))
        #expect(line == "model.safetensors  312.4/598.5 MB  52%  [#####.....]  41.2 MB/s")
    }

    @Test("no rate before time has passed; a finished file is a full bar")
    func edges() {
        let bar = ProgressBar(label: "vocab.json", width: 4)
        #expect(bar.render(bytes: 0, total: 862_328, elapsed: .zero) == "vocab.json  0.0/862.3 kB  0%  [....]")
        #expect(bar.render(bytes: 862_328, total: 862_328, elapsed: .milliseconds(500))
            == "vocab.json  862.3/862.3 kB  100%  [####]  1.7 MB/s")
        #expect(bar.render(bytes: 0, total: 0, elapsed: .zero) == "vocab.json  0/0 B  100%  [####]")
    }

    @Test("unknown total: amount and rate only")
    func unknownTotal() {
        let line = ProgressBar(label: "merges.txt").render(bytes: 2_500_000_000, total: nil, elapsed: .seconds(100))
        #expect(line == "merges.txt  2.5 GB  25.0 MB/s")
    }

    @Test("byte units pick the largest that fits and round half up")
    func units() {
        #expect(ByteUnit.fitting(999).symbol == "B")
        #expect(ByteUnit.fitting(1_000).symbol == "kB")
        #expect(ByteUnit.fitting(598_641_023).format(598_641_023) == "598.6")
        #expect(ByteUnit.fitting(1_049).format(1_049) == "1.0")
        #expect(ByteUnit.fitting(1_050).format(1_050) == "1.1")
    }
}
