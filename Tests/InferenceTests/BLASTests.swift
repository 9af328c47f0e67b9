import Foundation
import Testing
import Inference

/// The OpenBLAS kernel trap: a generic kernel on a CPU with AVX2/AVX-512 is replaced before use.
@Suite struct BLASTests {
    @Test func policyReplacesOnlyGenericKernels() {
        let avx512 = BLASKernelPolicy(override: .auto, cpuHasAVX512: true, cpuHasAVX2: true)
        #expect(avx512.decide(detected: "Prescott") == .reload("SkylakeX"))
        #expect(avx512.decide(detected: "Sandybridge") == .reload("SkylakeX"))
        #expect(avx512.decide(detected: "Cooperlake") == .keep)
        #expect(avx512.decide(detected: "SkylakeX") == .keep)
        let avx2 = BLASKernelPolicy(override: .auto, cpuHasAVX512: false, cpuHasAVX2: true)
        #expect(avx2.decide(detected: "Prescott") == .reload("Haswell"))
        #expect(avx2.decide(detected: "Zen") == .keep)
        let old = BLASKernelPolicy(override: .auto, cpuHasAVX512: false, cpuHasAVX2: false)
        #expect(old.decide(detected: "Prescott") == .keep)
        let keep = BLASKernelPolicy(override: .keep, cpuHasAVX512: true, cpuHasAVX2: true)
        #expect(keep.decide(detected: "Prescott") == .keep)
    }

    @Test func overrideParsing() {
        #expect(BLASKernelPolicy.Override(environmentValue: nil) == .auto)
        #expect(BLASKernelPolicy.Override(environmentValue: " Auto ") == .auto)
        #expect(BLASKernelPolicy.Override(environmentValue: "keep") == .keep)
        #expect(BLASKernelPolicy.Override(environmentValue: "Haswell") == .force("Haswell"))
        #expect(BLASKernelPolicy(override: .force("Zen"), cpuHasAVX512: true, cpuHasAVX2: true).forcedBeforeLoad == "Zen")
    }

    @Test func loadedKernelIsAVectorKernelWhereTheCPUHasOne() {
        if BLAS.cpuHasAVX2 {
            #expect(BLASKernelPolicy.isVectorKernel(BLAS.info.kernel), "running \(BLAS.info.kernel)")
        }
        #expect(BLAS.info.threads >= 1)
    }

    struct Reported: Decodable {
        let kernel: String
        let replaced: String?
    }

    /// Runs `labelmill bench blas --json` in a child process, so OpenBLAS loads fresh with `environment`.
    static func reportedKernel(_ environment: [String: String]) throws -> Reported {
        try benchBlas(environment)
    }

    static let taskset = "/usr/bin/taskset"

    /// `labelmill bench blas --json [arguments]` in a fresh process with `environment` (under `taskset -c CPUS`
    /// when given), its last line decoded.
    static func benchBlas<Report: Decodable>(_ environment: [String: String], cpus: String? = nil,
                                             arguments: [String] = []) throws -> Report {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("labelmill")
        let command = [executable.path, "bench", "blas", "--size", "64", "--json", "--log-level", "error"] + arguments
        let process = Process()
        process.executableURL = URL(fileURLWithPath: cpus == nil ? executable.path : taskset)
        process.arguments = cpus.map { ["-c", $0] + command } ?? Array(command.dropFirst())
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let lastLine = try #require(String(decoding: output, as: UTF8.self).split(separator: "\n").last)
        return try JSONDecoder().decode(Report.self, from: Data(lastLine.utf8))
    }

    @Test(.enabled(if: BLAS.cpuHasAVX2, "the CPU has no AVX2: nothing to replace"))
    func genericKernelIsReplacedInAFreshProcess() throws {
        // OPENBLAS_CORETYPE=Prescott reproduces what Debian's OpenBLAS 0.3.21 does on CPUs it does not know.
        let fixed = try Self.reportedKernel(["OPENBLAS_CORETYPE": "Prescott", "LABELMILL_BLAS_CORETYPE": "auto"])
        #expect(fixed.kernel == (BLAS.cpuHasAVX512 ? "SkylakeX" : "Haswell"))
        #expect(fixed.replaced == "Prescott")
        let kept = try Self.reportedKernel(["OPENBLAS_CORETYPE": "Prescott", "LABELMILL_BLAS_CORETYPE": "keep"])
        #expect(kept.kernel == "Prescott")
        #expect(kept.replaced == nil)
        let forced = try Self.reportedKernel(["LABELMILL_BLAS_CORETYPE": "Haswell"])
        #expect(forced.kernel == "Haswell")
    }
}
