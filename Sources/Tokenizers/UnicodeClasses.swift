/// Lookups in the generated tables (`BertUnicodeTables`): sorted ranges and sorted maps, by binary search.
enum UnicodeClasses {
    /// Whether `scalar` lies in one of the flat `[first, last, first, last, …]` ranges.
    static func contains(_ ranges: [UInt32], _ scalar: UInt32) -> Bool {
        var low = 0
        var high = ranges.count / 2
        while low < high {
            let middle = (low + high) / 2
            if scalar < ranges[2 * middle] {
                high = middle
            } else if scalar > ranges[2 * middle + 1] {
                low = middle + 1
            } else {
                return true
            }
        }
        return false
    }

    /// The replacement of `scalar` in a map stored as sorted keys and offsets into values, or nil.
    static func lookup(
        _ keys: [UInt32], _ offsets: [UInt16], _ values: [UInt32], _ scalar: UInt32
    ) -> ArraySlice<UInt32>? {
        var low = 0
        var high = keys.count
        while low < high {
            let middle = (low + high) / 2
            if keys[middle] < scalar {
                low = middle + 1
            } else {
                high = middle
            }
        }
        guard low < keys.count, keys[low] == scalar else { return nil }
        return values[Int(offsets[low])..<Int(offsets[low + 1])]
    }

    /// A Hangul syllable's conjoining jamo (canonical decomposition), or nil for other scalars.
    static func hangulJamo(_ scalar: UInt32) -> [UInt32]? {
        guard scalar >= 0xAC00, scalar <= 0xD7A3 else { return nil }
        let index = scalar - 0xAC00
        let trailing = index % 28
        let jamo = [0x1100 + index / 588, 0x1161 + (index % 588) / 28]
        return trailing == 0 ? jamo : jamo + [0x11A7 + trailing]
    }
}
