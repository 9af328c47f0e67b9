import LabelAPI

/// glibc's allocator hands freed memory back to the kernel as soon as the top of a heap has 128 KiB free, and
/// each coordinator request frees about that much; the next request then faults the same pages back in, zeroed.
/// Under `bench coordinator` that cycle (page faults and `madvise`) took about a sixth of the server's CPU time.
/// Keeping a few MiB mapped instead costs nothing next to that.
enum AllocatorTuning {
    static func forServer() {
        _ = mallopt(trimThreshold, 64 << 20)
        _ = mallopt(topPad, 4 << 20)
        _ = mallopt(mmapThreshold, 4 << 20)
    }

    // glibc's <malloc.h>, which the Glibc module does not export.
    private static let trimThreshold: Int32 = -1
    private static let topPad: Int32 = -2
    private static let mmapThreshold: Int32 = -3
}

@_silgen_name("mallopt")
private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
