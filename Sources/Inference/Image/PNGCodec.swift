import CPNG

/// The only Swift file that talks to libpng (through the CPNG shim); no C type leaves it.
enum PNGCodec {
    static func dimensions(_ bytes: [UInt8]) throws -> (width: Int, height: Int) {
        var header = cpng_header()
        var message = [CChar](repeating: 0, count: Int(CPNG_MESSAGE_CAPACITY))
        let status = bytes.withUnsafeBufferPointer { cpng_read_header($0.baseAddress, $0.count, &header, &message) }
        try check(status, message)
        return (Int(header.width), Int(header.height))
    }

    static func decodeRGB(_ bytes: [UInt8], maxPixels: Int) throws -> RGBImage {
        let (width, height, pixels) = try decode(bytes, output: CPNG_OUTPUT_RGB, maxPixels: maxPixels)
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    static func decodeIndices(_ bytes: [UInt8], maxPixels: Int) throws -> LabelMap {
        let (width, height, indices) = try decode(bytes, output: CPNG_OUTPUT_INDICES, maxPixels: maxPixels)
        return LabelMap(width: width, height: height, indices: indices)
    }

    static func encodePalette(_ map: LabelMap, palette: LabelPalette) throws -> [UInt8] {
        try encode(map.indices, width: map.width, height: map.height, palette: palette)
    }

    /// 8-bit pixels as a palette PNG, or a grayscale one without a palette.
    static func encode(_ pixels: [UInt8], width: Int, height: Int, palette: LabelPalette?) throws -> [UInt8] {
        let plte = palette?.colors.flatMap { [$0.0, $0.1, $0.2] }
        var message = [CChar](repeating: 0, count: Int(CPNG_MESSAGE_CAPACITY))
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        func encode(_ plte: UnsafePointer<UInt8>?) -> Int32 {
            pixels.withUnsafeBufferPointer { indices in
                cpng_encode_palette(indices.baseAddress, UInt32(width), UInt32(height), plte, &output, &size, &message)
            }
        }
        let status = plte.map { encode($0) } ?? encode(nil)
        defer { cpng_free(output) }
        try check(status, message, action: "encode")
        return Array(UnsafeBufferPointer(start: output, count: size))
    }

    /// Header first (limit checked before allocating), then libpng writes straight into the array.
    private static func decode(_ bytes: [UInt8], output: cpng_output, maxPixels: Int) throws
        -> (width: Int, height: Int, bytes: [UInt8])
    {
        let (width, height) = try dimensions(bytes)
        try ImageCodec.checkPixelLimit(width: width, height: height, maxPixels: maxPixels, format: "PNG")
        let count = width * height * cpng_output_channels(output)
        var header = cpng_header()
        var message = [CChar](repeating: 0, count: Int(CPNG_MESSAGE_CAPACITY))
        let pixels = try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            let status = bytes.withUnsafeBufferPointer { data in
                cpng_decode(data.baseAddress, data.count, output, UInt64(maxPixels), buffer.baseAddress, count,
                            &header, &message)
            }
            try check(status, message)
            initialized = count
        }
        return (width, height, pixels)
    }

    private static func check(_ status: Int32, _ message: [CChar], action: String = "decode") throws {
        guard status != Int32(CPNG_OK.rawValue) else { return }
        let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        switch UInt32(status) {
        case CPNG_TOO_LARGE.rawValue: throw InferenceError(.imageTooLarge, "PNG image is too large: \(text)")
        case CPNG_BAD_ARGUMENT.rawValue: throw InferenceError(.badArgument, "cannot \(action) PNG: \(text)")
        default: throw InferenceError(.badImage, "cannot \(action) PNG: \(text)")
        }
    }
}
