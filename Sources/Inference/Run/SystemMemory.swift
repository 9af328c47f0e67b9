import Foundation

/// How much memory this process may still take: the least of the machine's available memory and what its
/// cgroup (a container's or a systemd unit's `MemoryMax=`) leaves, so a guard can refuse work that would
/// otherwise end in an allocation failure or the OOM killer.
public enum SystemMemory {
    /// Bytes available now, or nil when nothing can be read (then no guard applies).
    public static func available() -> Int? {
        [meminfoAvailable(), cgroupRemaining()].compactMap { $0 }.min()
    }

    /// `MemAvailable` of /proc/meminfo.
    static func meminfoAvailable() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ")
            if fields.count >= 2, let kib = Int(fields[1]) { return kib * 1024 }
        }
        return nil
    }

    /// The cgroup's limit minus its usage (cgroup v2, then v1); nil without a limit.
    static func cgroupRemaining() -> Int? {
        func number(_ path: String) -> Int? {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
            return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        for (limit, usage) in [("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                               ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes")] {
            // "max" (v2) does not parse, and v1 reports "no limit" as a huge number.
            guard let limit = number(limit), limit < 1 << 60, let usage = number(usage) else { continue }
            return max(0, limit - usage)
        }
        return nil
    }
}
