import Inference

/// The run-length encodings other tools read masks in: COCO's (pycocotools) and Label Studio's brush format.
package enum SegmentationRLE {
    /// COCO's run lengths of the mask `map == index`, scanned column by column (top to bottom, then left to right),
    /// starting with a run of 0s (0 long when the first pixel is in the mask).
    package static func cocoCounts(_ map: LabelMap, index: UInt8) -> [Int] {
        var counts: [Int] = []
        var inside = false
        var run = 0
        map.indices.withUnsafeBufferPointer { pixels in
            for x in 0..<map.width {
                var offset = x
                for _ in 0..<map.height {
                    if (pixels[offset] == index) != inside {
                        counts.append(run)
                        inside.toggle()
                        run = 0
                    }
                    run += 1
                    offset += map.width
                }
            }
        }
        counts.append(run)
        return counts
    }

    /// COCO's compact string for `counts` (the form pycocotools writes): from the fourth count on, the difference to
    /// the count two before; each value as little-endian 5-bit groups, 0x20 marking "more follows" and 0x10 of the
    /// last group the sign; each group as the character 48 + group.
    package static func cocoString(_ counts: [Int]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(counts.count * 2)
        for (i, count) in counts.enumerated() {
            var x = Int64(count)
            if i > 2 { x -= Int64(counts[i - 2]) }
            while true {
                var group = UInt8(truncatingIfNeeded: x & 0x1F)
                x >>= 5  // arithmetic: the sign stays
                let more = group & 0x10 != 0 ? x != -1 : x != 0
                if more { group |= 0x20 }
                bytes.append(group + 48)
                if !more { break }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Label Studio's brush RLE of the mask `map == index`: the mask as row-major RGBA bytes (255 in the mask, 0
    /// outside, each pixel's value four times), packed MSB first as a 32-bit value count, the word size less one (5
    /// bits: 7), four run-size classes less one (4 bits each: 3, 4, 8 and 16 bits), then chunks of
    /// `1, class (2 bits), length - 1, value (8 bits)` for runs, and `0, 00, 000, value` for a single value. Ends
    /// padded with 1 to 8 zero bits, as Label Studio's own encoder does.
    package static func labelStudio(_ map: LabelMap, index: UInt8) -> [UInt8] {
        var bits = BitWriter()
        bits.write(UInt64(map.width * map.height * 4), count: 32)
        bits.write(7, count: 5)
        for size in runSizes { bits.write(UInt64(size - 1), count: 4) }
        func emit(_ value: UInt8, run: Int) {
            var left = run
            while left > 0 {
                let chunk = min(left, 1 << 16)
                if chunk == 1 {
                    bits.write(0, count: 6)
                    bits.write(UInt64(value), count: 8)
                } else {
                    let sizeClass = runSizes.firstIndex { chunk <= 1 << $0 }!
                    bits.write(1, count: 1)
                    bits.write(UInt64(sizeClass), count: 2)
                    bits.write(UInt64(chunk - 1), count: runSizes[sizeClass])
                    bits.write(UInt64(value), count: 8)
                }
                left -= chunk
            }
        }
        var current: UInt8 = map.indices.first == index ? 255 : 0
        var run = 0
        for pixel in map.indices {
            let value: UInt8 = pixel == index ? 255 : 0
            if value != current {
                emit(current, run: run)
                (current, run) = (value, 0)
            }
            run += 4
        }
        emit(current, run: run)
        bits.write(0, count: 8 - bits.count % 8)
        return bits.bytes
    }

    /// Bits per run length in each of Label Studio's four size classes.
    private static let runSizes = [3, 4, 8, 16]
}

/// Bits appended most significant first.
private struct BitWriter {
    var bytes: [UInt8] = []
    var count = 0

    mutating func write(_ value: UInt64, count width: Int) {
        for shift in stride(from: width - 1, through: 0, by: -1) {
            if count % 8 == 0 { bytes.append(0) }
            if (value >> UInt64(shift)) & 1 == 1 { bytes[bytes.count - 1] |= 0x80 >> UInt8(count % 8) }
            count += 1
        }
    }
}
