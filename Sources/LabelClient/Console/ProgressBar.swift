/// Renders one line of download progress, e.g.
/// `model.safetensors  312.4/598.5 MB  52%  [#####.....]  41.2 MB/s`.
/// A pure value: the caller supplies bytes and elapsed time and decides where and how often to
/// draw (the CLI rewrites one stderr line with `\r`), so it is testable without a terminal.
public struct ProgressBar: Sendable, Equatable {
    public var label: String
    /// Characters between the brackets.
    public var width: Int
    /// Bytes already on disk when timing started (a resumed part); left out of the rate.
    public var startBytes: Int64

    public init(label: String, width: Int = 10, startBytes: Int64 = 0) {
        self.label = label
        self.width = width
        self.startBytes = startBytes
    }

    /// The line for `bytes` of `total` after `elapsed`; the rate is omitted until time has passed.
    public func render(bytes: Int64, total: Int64?, elapsed: Duration) -> String {
        var parts = [label]
        if let total {
            let unit = ByteUnit.fitting(total)
            parts.append("\(unit.format(bytes))/\(unit.format(total)) \(unit.symbol)")
            let fraction = total > 0 ? min(1, max(0, Double(bytes) / Double(total))) : 1
            parts.append("\(Int(fraction * 100))%")
            let filled = Int(fraction * Double(width))
            parts.append("[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]")
        } else {
            let unit = ByteUnit.fitting(bytes)
            parts.append("\(unit.format(bytes)) \(unit.symbol)")
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        if seconds > 0 {
            let rate = Int64(Double(max(0, bytes - startBytes)) / seconds)
            let unit = ByteUnit.fitting(rate)
            parts.append("\(unit.format(rate)) \(unit.symbol)/s")
        }
        return parts.joined(separator: "  ")
    }
}

/// Decimal byte units, as the hub and most download tools show sizes.
package struct ByteUnit: Equatable {
    package var symbol: String
    var scale: Int64

    static let all = [
        ByteUnit(symbol: "GB", scale: 1_000_000_000), ByteUnit(symbol: "MB", scale: 1_000_000),
        ByteUnit(symbol: "kB", scale: 1_000), ByteUnit(symbol: "B", scale: 1),
    ]

    /// The largest unit of which `value` holds at least one.
    package static func fitting(_ value: Int64) -> ByteUnit {
        all.first { value >= $0.scale } ?? all[all.count - 1]
    }

    /// One decimal (none for plain bytes), rounded half up.
    package func format(_ value: Int64) -> String {
        guard scale > 1 else { return "\(value)" }
        let tenths = (value * 10 + scale / 2) / scale
        return "\(tenths / 10).\(tenths % 10)"
    }
}
