import CJPEG

/// The only Swift file that talks to libjpeg-turbo (through the CJPEG shim); no C type leaves it.
enum JPEGCodec {
    static func dimensions(_ bytes: [UInt8]) throws -> (width: Int, height: Int) {
        var header = cjpeg_header()
        var message = [CChar](repeating: 0, count: Int(CJPEG_MESSAGE_CAPACITY))
        let status = bytes.withUnsafeBufferPointer { cjpeg_read_header($0.baseAddress, $0.count, &header, &message) }
        try check(status, message)
        return (Int(header.width), Int(header.height))
    }

    /// Header first (limit checked before allocating), then TurboJPEG writes straight into the array.
    static func decodeRGB(_ bytes: [UInt8], maxPixels: Int) throws -> RGBImage {
        let (width, height) = try dimensions(bytes)
        try ImageCodec.checkPixelLimit(width: width, height: height, maxPixels: maxPixels, format: "JPEG")
        let count = width * height * 3
        var header = cjpeg_header()
        var message = [CChar](repeating: 0, count: Int(CJPEG_MESSAGE_CAPACITY))
        let pixels = try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            let status = bytes.withUnsafeBufferPointer { data in
                cjpeg_decode_rgb(data.baseAddress, data.count, UInt64(maxPixels), buffer.baseAddress, count,
                                 &header, &message)
            }
            try check(status, message)
            initialized = count
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// A baseline JPEG of `image` at `quality` (1–100).
    static func encode(_ image: RGBImage, quality: Int) throws -> [UInt8] {
        var jpeg: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: Int(CJPEG_MESSAGE_CAPACITY))
        let status = image.pixels.withUnsafeBufferPointer {
            cjpeg_encode_rgb($0.baseAddress, UInt32(image.width), UInt32(image.height), Int32(quality), &jpeg, &size, &message)
        }
        try check(status, message)
        defer { cjpeg_free(jpeg) }
        return [UInt8](UnsafeBufferPointer(start: jpeg, count: size))
    }

    private static func check(_ status: Int32, _ message: [CChar]) throws {
        guard status != Int32(CJPEG_OK.rawValue) else { return }
        let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        switch UInt32(status) {
        case CJPEG_TOO_LARGE.rawValue: throw InferenceError(.imageTooLarge, "JPEG image is too large: \(text)")
        case CJPEG_BAD_ARGUMENT.rawValue: throw InferenceError(.badArgument, "cannot decode JPEG: \(text)")
        default: throw InferenceError(.badImage, "cannot decode JPEG: \(text)")
        }
    }
}
