import Foundation
import Synchronization

/// A `.safetensors` file, memory-mapped: an 8-byte little-endian header length, a JSON header
/// `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`, then the raw data.
/// F32 tensors are read in place; F16 and BF16 are converted to F32 once, on first read.
///
/// Sendable: the mapping is read-only and never changes; the converted copies are kept behind a mutex.
public final class SafeTensorsFile: @unchecked Sendable {
    public enum DType: String, Sendable {
        case F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL

        var size: Int {
            switch self {
            case .F64, .I64: 8
            case .F32, .I32: 4
            case .F16, .BF16, .I16: 2
            case .I8, .U8, .BOOL: 1
            }
        }
    }

    public struct Entry: Sendable {
        public let dtype: DType
        public let shape: [Int]
        let begin: Int
        let end: Int
    }

    public let path: String
    public let entries: [String: Entry]
    public let metadata: [String: String]
    private let mapping: UnsafeMutableRawPointer
    private let mappedSize: Int
    private let dataStart: Int
    /// F32 copies of tensors that were stored as F16/BF16 or unaligned, by name (their addresses); freed with the file.
    private let converted = Mutex<[String: UInt]>([:])

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw InferenceError(.badModel, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw InferenceError(.badModel, "cannot stat \(path)") }
        let size = Int(info.st_size)
        guard size >= 8 else { throw InferenceError(.badModel, "\(path) is not a safetensors file: \(size) bytes") }
        guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
            throw InferenceError(.badModel, "cannot map \(path): \(String(cString: strerror(errno)))")
        }
        mapping = map
        mappedSize = size
        do {
            (entries, metadata, dataStart) = try Self.parseHeader(map, size: size, path: path)
        } catch {
            munmap(map, size)
            throw error
        }
    }

    /// Tells the kernel that `tensor`'s whole pages will not be read for a while, when it lies in the mapping: they
    /// leave the resident memory, and are read from the file again if ever touched (the mapping is read-only).
    /// Converted copies are left alone.
    func releasePages(of tensor: Tensor) {
        let first = Int(bitPattern: tensor.pointer), base = Int(bitPattern: mapping)
        let last = first + tensor.count * MemoryLayout<Float>.size
        guard first >= base, last <= base + mappedSize else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let (start, end) = ((first + page - 1) / page * page, last / page * page)
        if end > start { madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, Int32(MADV_DONTNEED)) }
    }

    deinit {
        munmap(mapping, mappedSize)
        converted.withLock { $0.values.forEach { UnsafeMutablePointer<Float>(bitPattern: $0)?.deallocate() } }
    }

    /// The tensor as F32, converting F16/BF16. Throws if it is missing or not a float tensor.
    public func floats(_ name: String) throws -> Tensor {
        guard let entry = entries[name] else { throw InferenceError(.badModel, "\(path): tensor \(name) is missing") }
        let count = entry.shape.reduce(1, *)
        let raw = UnsafeRawPointer(mapping) + dataStart + entry.begin
        switch entry.dtype {
        case .F32 where Int(bitPattern: raw) % MemoryLayout<Float>.alignment == 0:
            return Tensor(raw.assumingMemoryBound(to: Float.self), shape: entry.shape, owner: self)
        case .F32, .F16, .BF16:
            let address = converted.withLock { converted in
                if let address = converted[name] { return address }
                let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
                Self.convert(raw, dtype: entry.dtype, count: count, into: buffer)
                converted[name] = UInt(bitPattern: buffer)
                return UInt(bitPattern: buffer)
            }
            return Tensor(UnsafePointer(bitPattern: address)!, shape: entry.shape, owner: self)
        default:
            throw InferenceError(.badModel, "\(path): tensor \(name) has dtype \(entry.dtype.rawValue), expected F32, F16 or BF16")
        }
    }

    private static func convert(_ raw: UnsafeRawPointer, dtype: DType, count: Int, into out: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            switch dtype {
            case .F16:
                out[i] = Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            case .BF16:
                let bits = UInt32(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16
                out[i] = Float(bitPattern: bits)
            default:
                out[i] = raw.loadUnaligned(fromByteOffset: 4 * i, as: Float.self)
            }
        }
    }
}
