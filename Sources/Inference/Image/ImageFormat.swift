/// The encoded formats `ImageCodec` reads, told apart by their first bytes.
enum ImageFormat: Sendable, Equatable {
    case jpeg
    case png

    private static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    private static let jpegSignature: [UInt8] = [0xFF, 0xD8, 0xFF]

    /// Throws `.badImage` for anything else, showing the first bytes so a misnamed file is easy to spot.
    init(sniffing bytes: [UInt8]) throws {
        if bytes.starts(with: Self.jpegSignature) {
            self = .jpeg
        } else if bytes.starts(with: Self.pngSignature) {
            self = .png
        } else if bytes.isEmpty {
            throw InferenceError(.badImage, "not a JPEG or PNG image: the data is empty")
        } else {
            let head = bytes.prefix(8).map { byte in
                let digits = String(byte, radix: 16)
                return byte < 16 ? "0" + digits : digits
            }
            throw InferenceError(.badImage, "not a JPEG or PNG image (starts with \(head.joined(separator: " ")))")
        }
    }
}
