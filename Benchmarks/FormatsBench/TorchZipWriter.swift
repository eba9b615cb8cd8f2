import Formats
import Support

/// Writes a state dict the way `torch.save` (zip format) lays it out: `archive/data.pkl` (protocol-2 pickle of an
/// OrderedDict of `_rebuild_tensor_v2` calls), `archive/byteorder`, one stored, 64-byte-aligned record per storage
/// under `archive/data/`, and `archive/version`.
///
/// Lets the benchmark make a `.bin` without PyTorch.
enum TorchZipWriter {
    static func write(_ tensors: [(name: String, shape: [Int], bytes: [UInt8])], to path: String) throws {
        var pickle: [UInt8] = [0x80, 0x02]
        pickle += global("collections", "OrderedDict") + [0x29, 0x52]  // EMPTY_TUPLE, REDUCE
        pickle += [0x28]  // MARK
        for (index, tensor) in tensors.enumerated() {
            pickle += unicode(tensor.name)
            pickle += global("torch._utils", "_rebuild_tensor_v2") + [0x28]
            pickle +=
                [0x28] + unicode("storage") + global("torch", "FloatStorage") + unicode(String(index)) + unicode("cpu")
            pickle += int(tensor.shape.reduce(1, *)) + [0x74, 0x51]  // TUPLE, BINPERSID
            // storage offset, size, stride, requires_grad (NEWFALSE)
            pickle += int(0) + tuple(tensor.shape.map(int)) + tuple(strides(tensor.shape).map(int)) + [0x89]
            pickle += global("collections", "OrderedDict") + [0x29, 0x52]
            pickle += [0x74, 0x52]  // TUPLE, REDUCE
        }
        pickle += [0x75, 0x2E]  // SETITEMS, STOP
        var entries: [(String, [UInt8])] = [("archive/data.pkl", pickle), ("archive/byteorder", Array("little".utf8))]
        entries += tensors.enumerated().map { ("archive/data/\($0.offset)", $0.element.bytes) }
        entries.append(("archive/version", Array("3\n".utf8)))
        try AtomicFile.write(to: path) { out in
            var central: [UInt8] = []
            for (name, data) in entries {
                let offset = out.offset
                let headerLength = 30 + name.utf8.count + 4
                let padding = (64 - (offset + headerLength) % 64) % 64
                let crc = data.withUnsafeBytes { CRC32.checksum($0) }
                var local: [UInt8] = []
                local += le(0x0403_4b50, 4) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(UInt64(crc), 4)
                local +=
                    le(UInt64(data.count), 4) + le(UInt64(data.count), 4) + le(UInt64(name.utf8.count), 2)
                    + le(UInt64(4 + padding), 2)
                local +=
                    Array(name.utf8) + le(0xCAFE, 2) + le(UInt64(padding), 2) + [UInt8](repeating: 0x5A, count: padding)
                try local.withUnsafeBytes { try out.write($0) }
                try data.withUnsafeBytes { try out.write($0) }
                central +=
                    le(0x0201_4b50, 4) + le(20, 2) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(UInt64(crc), 4)
                central +=
                    le(UInt64(data.count), 4) + le(UInt64(data.count), 4) + le(UInt64(name.utf8.count), 2) + le(0, 2)
                central += le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(UInt64(offset), 4) + Array(name.utf8)
            }
            let directoryOffset = out.offset
            try central.withUnsafeBytes { try out.write($0) }
            let end =
                le(0x0605_4b50, 4) + le(0, 2) + le(0, 2) + le(UInt64(entries.count), 2) + le(UInt64(entries.count), 2)
                + le(UInt64(central.count), 4) + le(UInt64(directoryOffset), 4) + le(0, 2)
            try end.withUnsafeBytes { try out.write($0) }
        }
    }

    private static func le(_ value: UInt64, _ width: Int) -> [UInt8] {
        (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }
    private static func global(_ module: String, _ name: String) -> [UInt8] {
        [0x63] + Array("\(module)\n\(name)\n".utf8)
    }
    private static func unicode(_ text: String) -> [UInt8] {
        [0x58] + le(UInt64(text.utf8.count), 4) + Array(text.utf8)
    }
    private static func int(_ value: Int) -> [UInt8] { [0x4A] + le(UInt64(UInt32(truncatingIfNeeded: value)), 4) }
    private static func tuple(_ items: [[UInt8]]) -> [UInt8] { [0x28] + items.flatMap { $0 } + [0x74] }
    private static func strides(_ shape: [Int]) -> [Int] {
        var result = [Int](repeating: 1, count: shape.count)
        for axis in stride(from: shape.count - 2, through: 0, by: -1) {
            result[axis] = result[axis + 1] * shape[axis + 1]
        }
        return result
    }
}
