import Foundation
import Synchronization

/// NFC, NFD, NFKC and NFKD as `tokenizers` computes them (its unicode-normalization-alignments crate): each output
/// character with its change in length, so offsets follow the library's.
///
/// Decomposition: each character's full decomposition (the first piece change 0, the rest +1), combining marks
/// ordered by class (a stable sort that carries the changes). Composition: a starter absorbs the following
/// characters it composes with, its change becoming the sum of theirs minus one each. Decompositions are
/// Foundation's (cached per character), combining classes Swift's, compositions the generated table
/// (UnicodeCompositions.swift) and Hangul's algorithm.
enum UnicodeNormalization {
    private static let decompositions = Mutex<[UInt64: [UInt32]]>([:])

    static func combiningClass(_ scalar: UInt32) -> UInt8 {
        scalar < 0x300 ? 0 : Unicode.Scalar(scalar).map { $0.properties.canonicalCombiningClass.rawValue } ?? 0
    }

    /// The full canonical (or compatibility) decomposition of one character.
    static func decomposition(_ scalar: UInt32, compatible: Bool) -> [UInt32] {
        if scalar < 0xA0 { return [scalar] }
        let key = UInt64(scalar) | (compatible ? 1 << 32 : 0)
        if let done = decompositions.withLock({ $0[key] }) { return done }
        guard let value = Unicode.Scalar(scalar) else { return [scalar] }
        let text = String(value)
        let result =
            (compatible ? text.decomposedStringWithCompatibilityMapping : text.decomposedStringWithCanonicalMapping)
            .unicodeScalars.map(\.value)
        decompositions.withLock { $0[key] = result }
        return result
    }

    /// The primary composite of `first` and `second`, or nil.
    static func compose(_ first: UInt32, _ second: UInt32) -> UInt32? {
        if second < 0x300 { return nil }  // no composition has a second character below U+0300
        // Hangul by the algorithm (Foundation on Linux does not compose an LV syllable with a trailing jamo).
        if (0x1100...0x1112).contains(first), (0x1161...0x1175).contains(second) {
            return 0xAC00 + ((first - 0x1100) * 21 + (second - 0x1161)) * 28
        }
        if (0xAC00...0xD7A3).contains(first), (first - 0xAC00) % 28 == 0, (0x11A8...0x11C2).contains(second) {
            return first + (second - 0x11A7)
        }
        let key = UInt64(first) << 32 | UInt64(second)
        var low = 0
        var high = unicodeCompositions.count
        while low < high {
            let middle = (low + high) / 2
            if unicodeCompositions[middle].key < key { low = middle + 1 } else { high = middle }
        }
        return low < unicodeCompositions.count && unicodeCompositions[low].key == key
            ? unicodeCompositions[low].value : nil
    }

    /// The normalized characters of `scalars` with their changes in length.
    static func changes(_ scalars: [UInt32], compatible: Bool, composed: Bool) -> [(scalar: UInt32, change: Int)] {
        // Decompositions: a buffer of (class, scalar, change); the run since the last starter is sorted by class
        // before a starter joins it, and at the end.
        var decomposed: [(scalar: UInt32, change: Int)] = []
        decomposed.reserveCapacity(scalars.count)
        var pending: [(combiningClass: UInt8, scalar: UInt32, change: Int)] = []
        func flush() {
            if pending.count > 1 {
                // A stable sort by class.
                pending = pending.enumerated().sorted {
                    ($0.element.combiningClass, $0.offset) < ($1.element.combiningClass, $1.offset)
                }.map(\.element)
            }
            for entry in pending { decomposed.append((entry.scalar, entry.change)) }
            pending.removeAll(keepingCapacity: true)
        }
        for scalar in scalars {
            for (index, piece) in decomposition(scalar, compatible: compatible).enumerated() {
                let pieceClass = combiningClass(piece)
                if pieceClass == 0 { flush() }
                pending.append((pieceClass, piece, index == 0 ? 0 : 1))
            }
        }
        flush()
        guard composed else { return decomposed }
        return recompose(decomposed)
    }

    /// The crate's `Recompositions` over decomposed characters.
    private static func recompose(_ input: [(scalar: UInt32, change: Int)]) -> [(scalar: UInt32, change: Int)] {
        var out: [(scalar: UInt32, change: Int)] = []
        out.reserveCapacity(input.count)
        var buffer: [(scalar: UInt32, change: Int)] = []
        var composee: (scalar: UInt32, change: Int)?
        var lastClass: UInt8?
        for character in input {
            let characterClass = combiningClass(character.scalar)
            guard let current = composee else {
                if characterClass != 0 {
                    out.append(character)
                } else {
                    composee = character
                }
                continue
            }
            if let last = lastClass {
                if last >= characterClass {
                    if characterClass == 0 {
                        out.append(current)
                        out += buffer
                        buffer.removeAll(keepingCapacity: true)
                        composee = character
                        lastClass = nil
                        continue
                    }
                    buffer.append(character)
                    lastClass = characterClass
                    continue
                }
                if let result = compose(current.scalar, character.scalar) {
                    composee = (result, current.change + character.change - 1)
                } else {
                    buffer.append(character)
                    lastClass = characterClass
                }
            } else if let result = compose(current.scalar, character.scalar) {
                composee = (result, current.change + character.change - 1)
            } else if characterClass == 0 {
                out.append(current)
                composee = character
            } else {
                buffer.append(character)
                lastClass = characterClass
            }
        }
        if let composee { out.append(composee) }
        out += buffer
        return out
    }
}
