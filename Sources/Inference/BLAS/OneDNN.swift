import COneDNN

/// oneDNN (Debian: libdnnl2), loaded on first use. It is optional: without it the products run on OpenBLAS in fp32.
public enum OneDNN {
    /// The library's version, or why it could not be loaded.
    static let loaded: Result<String, InferenceError> = {
        var message = [CChar](repeating: 0, count: 512)
        guard lm_dnnl_load(&message, message.count) == 0 else {
            let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            return .failure(InferenceError(.badModel, "\(text); install oneDNN (Debian: apt-get install libdnnl2)"))
        }
        return .success(String(cString: lm_dnnl_version()))
    }()

    public static var isLoaded: Bool { (try? loaded.get()) != nil }
    public static var version: String? { try? loaded.get() }

    /// What oneDNN's bf16 products run on here: AMX tiles, AVX-512 bf16 dot products, or nothing.
    public enum BF16Support: String, Sendable, Codable {
        case amx, avx512, none
    }

    public static var bf16Support: BF16Support {
        guard isLoaded else { return .none }
        switch lm_dnnl_bf16_level() {
        case 2: return .amx
        case 1: return .avx512
        default: return .none
        }
    }
}
