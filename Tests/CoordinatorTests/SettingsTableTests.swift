import Foundation
import Inference
import LabelAPI
import Testing

/// The job settings' one table (`JobSettings.described`): it covers every setting, the OpenAPI document says what it
/// says, its ranges are the ones `validate` enforces, and a mode's protocol is written once.
@Suite struct SettingsTableTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let document = root.appendingPathComponent("Sources/Coordinator/Resources/openapi.json")

    static func schema(_ name: String) throws -> [String: Any] {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: document)) as? [String: Any]
        let schemas = (json?["components"] as? [String: Any])?["schemas"] as? [String: Any]
        return try #require(schemas?[name] as? [String: Any], "openapi.json has no schema \(name)")
    }

    /// Every key a job's settings encode, `output` included.
    static var settingKeys: Set<String> {
        var settings = JobSettings()
        settings.output = "file:///shared/labels/"
        let json = try? JSONSerialization.jsonObject(with: JSONEncoder().encode(settings)) as? [String: Any]
        return Set(json?.keys ?? [:].keys)
    }

    /// What the table says of one setting, as its property in `JobSettingsInput` says it.
    static func expectedProperty(_ setting: SettingDescription) -> [String: Any] {
        var property: [String: Any] = ["description": setting.description]
        switch setting.allowed {
        case .integers(let range): (property["minimum"], property["maximum"]) = (range.lowerBound, range.upperBound)
        case .numbers(let range): (property["minimum"], property["maximum"]) = (range.lowerBound, range.upperBound)
        case .names(let names): property["enum"] = names
        case .pattern(let pattern): property["pattern"] = pattern
        case .integerList(let range, let count):
            (property["minItems"], property["maxItems"]) = (count.lowerBound, count.upperBound)
            property["items"] = ["minimum": range.lowerBound, "maximum": range.upperBound]
        case .any: break
        }
        return property
    }

    static func json(_ value: Any) -> String {
        let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
        return data.map { String(decoding: $0, as: UTF8.self) } ?? "\(value)"
    }

    /// The table names every setting once, and the API document's request schema lists exactly those, each with
    /// the table's description and allowed values (and, where it gives a default, the settings' own). To bring the
    /// document in line after changing the table, set LABELMILL_SETTINGS_TABLE=FILE: the test writes the expected
    /// properties there.
    @Test func theAPIDocumentSaysWhatTheTableSays() throws {
        let keys = JobSettings.described.map(\.key)
        #expect(Set(keys).count == keys.count, "a setting is described twice")
        #expect(Set(keys) == Self.settingKeys, "described only: \(Set(keys).subtracting(Self.settingKeys)); not described: \(Self.settingKeys.subtracting(keys))")
        let expected = Dictionary(uniqueKeysWithValues: JobSettings.described.map { ($0.key, Self.expectedProperty($0)) })
        if let path = ProcessInfo.processInfo.environment["LABELMILL_SETTINGS_TABLE"] {
            try Data(Self.json(expected).utf8).write(to: URL(fileURLWithPath: path))
        }
        let input = try Self.schema("JobSettingsInput")
        let properties = try #require(input["properties"] as? [String: [String: Any]])
        #expect(Set(properties.keys) == Set(keys))
        let defaults = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(JobSettings())) as? [String: Any])
        for (key, want) in expected {
            let property = properties[key] ?? [:]
            for field in ["description", "minimum", "maximum", "enum", "pattern", "minItems", "maxItems"] {
                #expect(Self.json(property[field] ?? NSNull()) == Self.json(want[field] ?? NSNull()), "\(key).\(field)")
            }
            let items = (property["items"] as? [String: Any]).map { ["minimum": $0["minimum"] ?? NSNull(), "maximum": $0["maximum"] ?? NSNull()] }
            if want["items"] != nil { #expect(Self.json(items ?? [:]) == Self.json(want["items"]!), "\(key).items") }
            if let given = property["default"] {
                #expect(Self.json(given) == Self.json(defaults[key] ?? NSNull()), "\(key).default is not JobSettings()'s")
            }
        }
        // The response schema has every key the coordinator encodes, and requires all but output.
        let settings = try Self.schema("JobSettings")
        #expect(Set((settings["properties"] as? [String: Any])?.keys ?? [:].keys) == Self.settingKeys)
        #expect(Set(settings["required"] as? [String] ?? []) == Self.settingKeys.subtracting(["output"]))
    }

    /// docs/API.md's table of settings is the table, row by row (LABELMILL_SETTINGS_TABLE=FILE writes its rows to
    /// FILE.md).
    @Test func theAPIGuideListsTheTable() throws {
        let rows = JobSettings.described.map { "| `\($0.key)` | \($0.help) | \($0.default) |" }
        if let path = ProcessInfo.processInfo.environment["LABELMILL_SETTINGS_TABLE"] {
            try Data((rows.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path + ".md"))
        }
        let guide = try String(contentsOf: Self.root.appendingPathComponent("docs/API.md"), encoding: .utf8)
        let lines = guide.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let header = try #require(lines.firstIndex(of: "| setting | what it does | default |"), "docs/API.md has no table of settings")
        let table = lines[(header + 2)...].prefix { $0.hasPrefix("|") }
        #expect(Array(table) == rows)
    }

    /// The table's ranges are validate's: each range's ends pass and a step outside each end is refused, naming
    /// the setting; names outside a list are refused with the list.
    @Test func theTablesRangesAreTheOnesEnforced() throws {
        func settings(_ key: String, _ value: Any) throws -> JobSettings {
            var object: [String: Any] = [key: value]
            if key == "stride" { object["window"] = 2048 }  // a stride needs a window at least as long
            if key == "longSide" { object["shortSide"] = 16 }
            return try JSONDecoder().decode(JobSettings.self, from: JSONSerialization.data(withJSONObject: object))
        }
        func refused(_ key: String, _ value: Any) throws -> SettingError? {
            do { try settings(key, value).validate() } catch let error as SettingError { return error }
            return nil
        }
        for setting in JobSettings.described {
            let key = setting.key
            switch setting.allowed {
            case .integers(let range):
                if key != "window" { #expect(try refused(key, range.lowerBound) == nil, "\(key) = \(range.lowerBound)") }
                #expect(try refused(key, range.upperBound) == nil, "\(key) = \(range.upperBound)")
                #expect(try refused(key, range.lowerBound - 1)?.field == key, "\(key) = \(range.lowerBound - 1)")
                #expect(try refused(key, range.upperBound + 1)?.field == key, "\(key) = \(range.upperBound + 1)")
            case .numbers(let range):
                #expect(try refused(key, range.lowerBound) == nil && refused(key, range.upperBound) == nil, "\(key)")
                #expect(try refused(key, range.lowerBound - 0.5)?.field == key && refused(key, range.upperBound + 0.5)?.field == key, "\(key)")
            case .names(let names):
                for name in names { #expect(try refused(key, name) == nil, "\(key) = \(name)") }
                let error = try refused(key, "nonesuch")
                #expect(error?.field == key && error?.allowed.contains(names.last!) == true, "\(key) = nonesuch: \(String(describing: error))")
            case .integerList(let range, let count):
                #expect(try refused(key, Array(repeating: range.upperBound, count: count.upperBound)) == nil, "\(key)")
                #expect(try refused(key, [range.upperBound + 1])?.field == key && refused(key, [Int]())?.field == key, "\(key)")
            case .pattern, .any: break
            }
        }
    }

    /// A mode's protocol is the table's: a job that gives only its mode gets the defaults the help describes, and
    /// the kernels take every mode the table names.
    @Test func aModeIsItsProtocol() throws {
        for mode in DenseMode.allCases {
            let settings = JobSettings(mode: Named(mode))
            let defaults = mode.defaults
            #expect(settings.shortSide == defaults.shortSide && settings.window == defaults.window && settings.stride == defaults.stride)
            #expect(settings.pamrIterations == defaults.pamrIterations && settings.logitScale == defaults.logitScale)
            #expect(settings.templates == defaults.templates)
            #expect(try MaskCLIPOptions(settings).mode == mode)
            #expect(JobSettings.described("shortSide").description.contains("\(defaults.shortSide)"))
        }
        // docs/DENSE-MODES.md's table of protocols says the same.
        let guide = try String(contentsOf: Self.root.appendingPathComponent("docs/DENSE-MODES.md"), encoding: .utf8)
        for mode in DenseMode.allCases {
            let row = try #require(guide.split(separator: "\n").first { $0.hasPrefix("| `\(mode.rawValue)` |") }, "\(mode) has no row")
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            let d = mode.defaults
            #expect(cells[1] == "\(d.shortSide)" && cells[5] == "`\(d.templates.rawValue)`" && cells[6] == "\(Int(d.logitScale))", "\(row)")
            #expect(cells[2] == (d.window == 0 ? "whole image" : "\(d.window) / \(d.stride)"), "\(row)")
            #expect(cells[3].hasPrefix(d.pamrIterations == 0 ? "off" : "\(d.pamrIterations) iterations"), "\(row)")
            #expect(cells[4] == "\(mode.defaultPromptDenoise(window: d.window))".replacingOccurrences(of: ".0", with: ""), "\(row)")
        }
        // A mode this build does not know decodes as sent and is refused by name, in the coordinator's words and
        // the kernels' (a newer coordinator's job at an older worker).
        let newer = try JSONDecoder().decode(JobSettings.self, from: Data(#"{"mode": "futureclip", "preset": "clip"}"#.utf8))
        #expect(newer.mode.rawValue == "futureclip" && newer.mode.known == nil)
        #expect(String(decoding: try JSONEncoder().encode(newer.mode), as: UTF8.self) == #""futureclip""#)
        #expect(throws: SettingError(field: "mode", value: #""futureclip""#, allowed: DenseMode.allowedNames)) { try newer.validate() }
        #expect(throws: SettingError.self) { try MaskCLIPOptions(newer) }
        // The kernels' options are checked by the same rules: key smoothing outside maskclip, refused either way.
        let smoothed = MaskCLIPOptions(mode: .naclip, promptDenoise: 0, keySmoothing: 1)
        #expect(throws: SettingError(field: "keySmoothing", value: "1.0", allowed: "0 in mode naclip (key smoothing uses MaskCLIP's last-block keys)")) {
            try smoothed.settings.validate()
        }
    }
}
