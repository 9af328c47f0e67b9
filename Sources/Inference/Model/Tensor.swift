/// A read-only F32 tensor: a pointer into memory that `owner` (a `SafeTensorsFile`) keeps alive, and its
/// shape. Weights are immutable, so views are freely shared across threads.
public struct Tensor: @unchecked Sendable {
    public let pointer: UnsafePointer<Float>
    public let shape: [Int]
    /// Keeps the memory alive; nil for views whose caller guarantees that (inside a `withUnsafe…` scope).
    let owner: AnyObject?

    public init(_ pointer: UnsafePointer<Float>, shape: [Int], owner: AnyObject? = nil) {
        self.pointer = pointer
        self.shape = shape
        self.owner = owner
    }

    public var count: Int { shape.reduce(1, *) }
    public var buffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }
    public subscript(i: Int) -> Float { pointer[i] }
}
