/// The merges of `merges.txt`, applied to one pre-tokenized word at a time (`bpe` in the reference).
///
/// It works on vocabulary ids instead of strings: a word starts as the ids of its bytes' symbols (the last one
/// with `</w>`), and a merge maps a pair of ids to its rank and to the id of the merged symbol. The ids that
/// are left at the end are the word's tokens, so no string is built or looked up while encoding.
struct BytePairEncoder: Sendable {
    struct Merge: Sendable {
        /// Line index in `merges.txt` after the header: lower merges first.
        let rank: Int32
        /// Id of the two symbols joined.
        let result: Int32
    }

    /// `byteSymbols[b]`: id of byte `b`'s symbol; `finalByteSymbols[b]`: the same with `</w>`.
    let byteSymbols: [Int32]
    let finalByteSymbols: [Int32]
    /// Keyed by `pairKey(first, second)`.
    let merges: [UInt64: Merge]

    static func pairKey(_ first: Int32, _ second: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: first)) << 32 | UInt64(UInt32(bitPattern: second))
    }

    /// Appends the tokens of one word (its UTF-8 bytes, not empty) to `ids`.
    ///
    /// Repeatedly picks the adjacent pair with the lowest rank and joins every occurrence of it, left to right
    /// without overlaps, until no adjacent pair has a merge.
    func encode(word bytes: [UInt8], into ids: inout [Int32]) {
        precondition(!bytes.isEmpty, "a pre-tokenized word has at least one byte")
        var symbols = bytes.map { byteSymbols[Int($0)] }
        symbols[symbols.count - 1] = finalByteSymbols[Int(bytes[bytes.count - 1])]
        while symbols.count > 1 {
            var best: (merge: Merge, first: Int32, second: Int32)?
            for i in 0..<(symbols.count - 1) {
                if let merge = merges[Self.pairKey(symbols[i], symbols[i + 1])],
                   merge.rank < best?.merge.rank ?? .max {
                    best = (merge, symbols[i], symbols[i + 1])
                }
            }
            guard let best else { break }
            var write = 0
            var read = 0
            while read < symbols.count {
                if read + 1 < symbols.count, symbols[read] == best.first, symbols[read + 1] == best.second {
                    symbols[write] = best.merge.result
                    read += 2
                } else {
                    symbols[write] = symbols[read]
                    read += 1
                }
                write += 1
            }
            symbols.removeLast(symbols.count - write)
        }
        ids.append(contentsOf: symbols)
    }
}
