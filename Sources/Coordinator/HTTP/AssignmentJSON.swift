import Foundation
import LabelAPI

/// The claim's answer, written by hand: it is the busiest response, and JSONEncoder spends most of its time on the
/// job's settings (some twenty fields), which `JobCache` encodes once per job. The same JSON as `TaskAssignment`'s
/// `Encodable` (`AssignmentJSONTests` compares them).
package enum AssignmentJSON {
    package static func encode(_ task: TaskAssignment, settings: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512 + settings.count + task.images.count * 96)
        func key(_ name: StaticString, first: Bool = false) {
            out.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(contentsOf: Array("\":".utf8))
        }
        key("taskId", first: true); out.append(contentsOf: Array(String(task.taskId).utf8))
        key("jobId"); string(task.jobId, to: &out)
        key("leaseToken"); string(task.leaseToken, to: &out)
        key("leaseSeconds"); out.append(contentsOf: Array(number(task.leaseSeconds).utf8))
        key("attempt"); out.append(contentsOf: Array(String(task.attempt).utf8))
        key("modelId"); string(task.modelId, to: &out)
        key("embeddingsSHA256"); string(task.embeddingsSHA256, to: &out)
        key("settings"); out.append(contentsOf: settings)
        key("classCount"); out.append(contentsOf: Array(String(task.classCount).utf8))
        key("images")
        out.append(UInt8(ascii: "["))
        for (index, image) in task.images.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: Array("{\"id\":".utf8))
            string(image.id, to: &out)
            out.append(contentsOf: Array(",\"uri\":".utf8))
            string(image.uri, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        if let shard = task.shard {
            key("shard"); string(shard, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// A JSON number for a finite double (lease lengths): whole ones without a fraction.
    package static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }

    /// `text` as a JSON string: quotes, backslashes and control characters escaped, the rest as UTF-8.
    static func string(_ text: String, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20: out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
