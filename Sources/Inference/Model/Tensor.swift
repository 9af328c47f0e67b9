/// A read-only F32 tensor: a pointer into memory that `owner` (a `SafeTensorsFile`) keeps alive, and its
/// shape. Weights are immutable, so views are freely shared across threads.
public struct Tensor: @unchecked Sendable {
    public let pointer: UnsafePointer<Float>
    public let shape: [Int]
    /// Keeps the memory alive; nil for views whose caller guarantees that (inside a `withUnsafe…` scope).
    let owner: AnyObject?
    /// The same matrix in bf16, for a linear layer whose products run in bf16 (`Precision`).
    let bf16: BF16Weight?
    /// The matrix transposed, [in, out], for a linear layer whose product is faster that way round.
    let transposed: TransposedWeight?

    public init(_ pointer: UnsafePointer<Float>, shape: [Int], owner: AnyObject? = nil) {
        self.init(pointer, shape: shape, owner: owner, bf16: nil, transposed: nil)
    }

    private init(_ pointer: UnsafePointer<Float>, shape: [Int], owner: AnyObject?, bf16: BF16Weight?, transposed: TransposedWeight?) {
        self.pointer = pointer
        self.shape = shape
        self.owner = owner
        self.bf16 = bf16
        self.transposed = transposed
    }

    /// This weight with a bf16 copy for `linear` to use.
    package func withBF16() -> Tensor { Tensor(pointer, shape: shape, owner: owner, bf16: BF16Weight(self), transposed: nil) }

    /// This weight with a transposed copy for `linear` to use. Where the original is read in place from the model
    /// file, its pages are handed back to the kernel, so the copy does not add to the resident memory.
    func withTransposedCopy() -> Tensor {
        let copy = TransposedWeight(self)
        (owner as? SafeTensorsFile)?.releasePages(of: self)
        return Tensor(pointer, shape: shape, owner: owner, bf16: nil, transposed: copy)
    }

    public var count: Int { shape.reduce(1, *) }
    public var buffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }
    public subscript(i: Int) -> Float { pointer[i] }
}
