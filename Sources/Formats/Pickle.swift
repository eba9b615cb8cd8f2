/// A pickled list; a reference so memo GETs share it rather than copy it.
package final class PickleList {
    package var items: [PickleValue] = []
}

/// A pickled dict (or OrderedDict): key–value pairs in insertion order.
package final class PickleDict {
    package var items: [(key: PickleValue, value: PickleValue)] = []
}

/// A persistent-id storage reference: PyTorch's `('storage', StorageType, key, location, numel)`.
package struct PickleStorage: Equatable {
    package let key: String
    package let dtype: StoredDType
    package let elementCount: Int
}

/// A tensor rebuilt from `_rebuild_tensor_v2` and friends: a strided view of a storage.
package struct PickleTensor: Equatable {
    package let storage: PickleStorage
    package let offset: Int
    package let shape: [Int]
    package let strides: [Int]
}

/// A value on the pickle stack.
package indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer too wide for Int, as little-endian two's-complement bytes (the legacy magic number).
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    /// A tuple and its nesting depth (tuples are values: their depth is exact and capped).
    case tuple([PickleValue], depth: Int)
    case list(PickleList)
    case dict(PickleDict)
    /// An allowlisted global, referred to but never called.
    case global(PickleGlobal)
    case storage(PickleStorage)
    case tensor(PickleTensor)

    var tupleDepth: Int {
        if case .tuple(_, let depth) = self { return depth }
        return 0
    }

    var kind: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case .global(let global): return global.rawValue
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }
}

/// The globals a checkpoint may name.
///
/// Anything else is refused.
package enum PickleGlobal: String, CaseIterable {
    case orderedDict = "collections.OrderedDict"
    case rebuildTensor = "torch._utils._rebuild_tensor"
    case rebuildTensorV2 = "torch._utils._rebuild_tensor_v2"
    case rebuildParameter = "torch._utils._rebuild_parameter"
    case rebuildParameterWithState = "torch._utils._rebuild_parameter_with_state"
    case size = "torch.Size"
    case doubleStorage = "torch.DoubleStorage", floatStorage = "torch.FloatStorage", halfStorage = "torch.HalfStorage"
    case bfloat16Storage = "torch.BFloat16Storage", longStorage = "torch.LongStorage", intStorage = "torch.IntStorage"
    case shortStorage = "torch.ShortStorage", charStorage = "torch.CharStorage", byteStorage = "torch.ByteStorage"
    case boolStorage = "torch.BoolStorage"
    case float64 = "torch.float64", float32 = "torch.float32", float16 = "torch.float16", bfloat16 = "torch.bfloat16"
    case int64 = "torch.int64", int32 = "torch.int32", int16 = "torch.int16", int8 = "torch.int8", uint8 = "torch.uint8"
    case boolType = "torch.bool"

    /// The element type of a storage class.
    var storageDType: StoredDType? {
        switch self {
        case .doubleStorage: return .f64
        case .floatStorage: return .f32
        case .halfStorage: return .f16
        case .bfloat16Storage: return .bf16
        case .longStorage: return .i64
        case .intStorage: return .i32
        case .shortStorage: return .i16
        case .charStorage: return .i8
        case .byteStorage: return .u8
        case .boolStorage: return .bool
        default: return nil
        }
    }
}

/// A pickle interpreter for PyTorch checkpoints: it reads opcodes into data and never calls anything.
///
/// Modelled on PyTorch's `weights_only` unpickler (`torch/_weights_only_unpickler.py`): an allowlist of opcodes
/// and of globals. A GLOBAL outside `PickleGlobal.allowed` is refused with its name; REDUCE only "applies" the
/// handful of constructors a state dict needs (OrderedDict, the tensor rebuild functions, torch.Size), by building
/// data. Every length is checked against the bytes that remain, and opcodes, memo, stack and MARKs are capped.
/// Lists and dicts are reference objects kept in an arena and torn down iteratively, so a deeply nested or
/// cyclic pickle can neither overflow the stack on release nor leak.
///
/// `run` executes one pickle program (up to STOP) and hands the result to a caller-supplied extractor.
package struct Unpickler {
    /// Resource caps (fickling's `InterpreterLimits` order of magnitude; real state dicts are far below).
    package static let maxOpcodes = 5_000_000
    package static let maxMemo = 1_000_000
    package static let maxStack = 1_000_000
    package static let maxMarks = 1_000
    package static let maxTupleDepth = 100
    package static let maxStringLength = 1 << 24

    private var reader: ByteReader
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private var lists: [PickleList] = []
    private var dicts: [PickleDict] = []
    private let persistentLoad: (PickleValue) throws -> PickleValue
    private var path: String { reader.path }

    /// Interprets the pickle that starts at `start` of `bytes` and returns `extract(result)` and the offset after STOP.
    /// - Parameters:
    ///   - persistentLoad: turns a BINPERSID id into a value (PyTorch's storage references).
    ///   - extract: reads what the caller needs out of the result before the object graph is torn down.
    package static func run<T>(
        _ bytes: UnsafeRawBufferPointer, path: String, start: Int = 0,
        persistentLoad: @escaping (PickleValue) throws -> PickleValue = { _ in
            throw PickleRejection("persistent ids are not allowed here")
        },
        extract: (PickleValue) throws -> T
    ) throws -> (value: T, end: Int) {
        var machine = Unpickler(reader: ByteReader(bytes, path: path, position: start), persistentLoad: persistentLoad)
        defer { machine.tearDown() }
        let result = try machine.execute()
        do {
            return (try extract(result), machine.reader.position)
        } catch let rejection as PickleRejection {
            throw FormatError.malformed(path: path, reason: rejection.reason)
        }
    }

    private init(reader: ByteReader, persistentLoad: @escaping (PickleValue) throws -> PickleValue) {
        self.reader = reader
        self.persistentLoad = persistentLoad
    }

    /// Empties every list and dict so that releasing the graph never recurses deeply and cycles are broken.
    private mutating func tearDown() {
        stack.removeAll()
        memo.removeAll()
        for list in lists { list.items.removeAll() }
        for dict in dicts { dict.items.removeAll() }
    }

    private func fail(_ reason: String, at offset: Int? = nil) -> FormatError {
        .badPickle(path: path, offset: offset ?? reader.position, reason: reason)
    }

    private mutating func pop(_ opcode: String) throws -> PickleValue {
        guard let last = stack.last, stack.count > (marks.last ?? 0) else { throw fail("\(opcode) on an empty stack") }
        stack.removeLast()
        return last
    }

    private mutating func push(_ value: PickleValue) throws {
        guard stack.count < Self.maxStack else { throw fail("stack exceeds \(Self.maxStack) entries") }
        stack.append(value)
    }

    /// Pops everything above the most recent MARK.
    private mutating func popMark(_ opcode: String) throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw fail("\(opcode) without a MARK") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private mutating func makeTuple(_ items: [PickleValue]) throws -> PickleValue {
        let depth = 1 + (items.map(\.tupleDepth).max() ?? 0)
        guard depth <= Self.maxTupleDepth else { throw fail("tuples nested deeper than \(Self.maxTupleDepth)") }
        return .tuple(items, depth: depth)
    }

    private mutating func newList(_ items: [PickleValue] = []) -> PickleValue {
        let list = PickleList()
        list.items = items
        lists.append(list)
        return .list(list)
    }

    private mutating func newDict() -> PickleDict {
        let dict = PickleDict()
        dicts.append(dict)
        return dict
    }

    private mutating func string(length: Int, _ opcode: String) throws -> String {
        guard length <= Self.maxStringLength else { throw fail("\(opcode) length \(length) exceeds the limit") }
        let start = reader.position
        let raw = try reader.take(length, what: "\(opcode) of \(length) bytes at \(start)")
        guard let text = String(validating: raw, as: UTF8.self) else {
            throw fail("\(opcode) is not valid UTF-8", at: start)
        }
        return text
    }

    private mutating func byteString(length: UInt64, _ opcode: String) throws -> [UInt8] {
        guard length <= UInt64(Self.maxStringLength) else { throw fail("\(opcode) length \(length) exceeds the limit") }
        return Array(try reader.take(Int(length), what: "\(opcode) of \(length) bytes"))
    }

    private mutating func line(_ what: String) throws -> String {
        var bytes: [UInt8] = []
        while true {
            let byte = try reader.u8(what)
            if byte == 0x0A { break }
            bytes.append(byte)
            guard bytes.count <= 256 else { throw fail("\(what) longer than 256 bytes") }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw fail("\(what) is not valid UTF-8") }
        return text
    }

    private func global(module: String, name: String) throws -> PickleValue {
        guard let global = PickleGlobal(rawValue: "\(module).\(name)") else {
            throw FormatError.forbiddenGlobal(path: path, global: "\(module).\(name)")
        }
        return .global(global)
    }

    private mutating func memoize(_ index: Int) throws {
        guard let top = stack.last else { throw fail("memo PUT on an empty stack") }
        guard memo.count < Self.maxMemo || memo[index] != nil else {
            throw fail("memo exceeds \(Self.maxMemo) entries")
        }
        memo[index] = top
    }

    private mutating func memoGet(_ index: Int) throws {
        guard let value = memo[index] else { throw fail("memo GET of missing entry \(index)") }
        try push(value)
    }

    private mutating func execute() throws -> PickleValue {
        var count = 0
        var sawProto = false
        while true {
            count += 1
            guard count <= Self.maxOpcodes else { throw fail("more than \(Self.maxOpcodes) opcodes") }
            let at = reader.position
            let opcode = try reader.u8("opcode")
            switch opcode {
            case 0x80:  // PROTO
                let version = try reader.u8("PROTO")
                guard !sawProto, count == 1 else { throw fail("PROTO is repeated or not first", at: at) }
                guard version <= 5 else { throw fail("pickle protocol \(version) is newer than 5", at: at) }
                sawProto = true
            case 0x95:  // FRAME: a length hint only
                _ = try reader.u64("FRAME")
            case 0x2E:  // STOP
                guard marks.isEmpty else { throw fail("STOP with an open MARK", at: at) }
                guard stack.count == 1, let result = stack.last else {
                    throw fail("STOP with \(stack.count) values on the stack", at: at)
                }
                return result
            case 0x28:  // MARK
                guard marks.count < Self.maxMarks else { throw fail("more than \(Self.maxMarks) open MARKs", at: at) }
                marks.append(stack.count)
            case 0x7D: try push(.dict(newDict()))  // EMPTY_DICT
            case 0x5D: try push(newList())  // EMPTY_LIST
            case 0x29: try push(try makeTuple([]))  // EMPTY_TUPLE
            case 0x4E: try push(.none)
            case 0x88: try push(.bool(true))
            case 0x89: try push(.bool(false))
            case 0x4A: try push(.int(Int(Int32(bitPattern: try reader.u32("BININT")))))
            case 0x4B: try push(.int(Int(try reader.u8("BININT1"))))
            case 0x4D: try push(.int(Int(try reader.u16("BININT2"))))
            case 0x8A:  // LONG1
                let length = Int(try reader.u8("LONG1"))
                guard length <= 16 else { throw fail("LONG1 of \(length) bytes is too large", at: at) }
                let raw = Array(try reader.take(length, what: "LONG1"))
                if length <= 8 {
                    var value: UInt64 = 0
                    for (i, byte) in raw.enumerated() { value |= UInt64(byte) << (8 * UInt64(i)) }
                    if length > 0, length < 8, raw[length - 1] & 0x80 != 0 { value |= ~0 << (8 * UInt64(length)) }
                    try push(.int(Int(Int64(bitPattern: value))))
                } else {
                    try push(.bigInt(raw))
                }
            case 0x47:  // BINFLOAT, big-endian
                let raw = try reader.take(8, what: "BINFLOAT")
                var bits: UInt64 = 0
                for byte in raw { bits = bits << 8 | UInt64(byte) }
                try push(.float(Double(bitPattern: bits)))
            case 0x58: try push(.string(try string(length: Int(try reader.u32("BINUNICODE")), "BINUNICODE")))
            case 0x8C: try push(.string(try string(length: Int(try reader.u8("SHORT_BINUNICODE")), "SHORT_BINUNICODE")))
            case 0x8D:
                let length = try reader.u64("BINUNICODE8")
                guard length <= UInt64(Self.maxStringLength) else {
                    throw fail("BINUNICODE8 length \(length) exceeds the limit", at: at)
                }
                try push(.string(try string(length: Int(length), "BINUNICODE8")))
            case 0x42: try push(.bytes(try byteString(length: UInt64(try reader.u32("BINBYTES")), "BINBYTES")))
            case 0x43:
                try push(.bytes(try byteString(length: UInt64(try reader.u8("SHORT_BINBYTES")), "SHORT_BINBYTES")))
            case 0x8E: try push(.bytes(try byteString(length: try reader.u64("BINBYTES8"), "BINBYTES8")))
            case 0x71: try memoize(Int(try reader.u8("BINPUT")))
            case 0x72: try memoize(Int(try reader.u32("LONG_BINPUT")))
            case 0x94: try memoize(memo.count)  // MEMOIZE
            case 0x68: try memoGet(Int(try reader.u8("BINGET")))
            case 0x6A: try memoGet(Int(try reader.u32("LONG_BINGET")))
            case 0x63:  // GLOBAL "module\nname\n"
                let module = try line("GLOBAL module")
                let name = try line("GLOBAL name")
                try push(try global(module: module, name: name))
            case 0x93:  // STACK_GLOBAL
                let name = try pop("STACK_GLOBAL"), module = try pop("STACK_GLOBAL")
                guard case .string(let nameText) = name, case .string(let moduleText) = module else {
                    throw fail("STACK_GLOBAL operands are not strings", at: at)
                }
                try push(try global(module: moduleText, name: nameText))
            case 0x74: try push(try makeTuple(try popMark("TUPLE")))  // TUPLE
            case 0x85: try push(try makeTuple([try pop("TUPLE1")]))
            case 0x86:
                let b = try pop("TUPLE2"), a = try pop("TUPLE2")
                try push(try makeTuple([a, b]))
            case 0x87:
                let c = try pop("TUPLE3"), b = try pop("TUPLE3"), a = try pop("TUPLE3")
                try push(try makeTuple([a, b, c]))
            case 0x6C: try push(newList(try popMark("LIST")))  // LIST
            case 0x64:  // DICT
                let items = try popMark("DICT")
                try push(.dict(try fill(newDict(), items, "DICT")))
            case 0x61:  // APPEND
                let value = try pop("APPEND")
                guard case .list(let list) = try pop("APPEND") else { throw fail("APPEND to a non-list", at: at) }
                list.items.append(value)
                try push(.list(list))
            case 0x65:  // APPENDS
                let items = try popMark("APPENDS")
                guard case .list(let list) = try pop("APPENDS") else { throw fail("APPENDS to a non-list", at: at) }
                list.items.append(contentsOf: items)
                try push(.list(list))
            case 0x73:  // SETITEM
                let value = try pop("SETITEM"), key = try pop("SETITEM")
                guard case .dict(let dict) = try pop("SETITEM") else { throw fail("SETITEM on a non-dict", at: at) }
                _ = try fill(dict, [key, value], "SETITEM")
                try push(.dict(dict))
            case 0x75:  // SETITEMS
                let items = try popMark("SETITEMS")
                guard case .dict(let dict) = try pop("SETITEMS") else { throw fail("SETITEMS on a non-dict", at: at) }
                _ = try fill(dict, items, "SETITEMS")
                try push(.dict(dict))
            case 0x30: _ = try pop("POP")  // POP
            case 0x31: _ = try popMark("POP_MARK")
            case 0x32:  // DUP
                guard let top = stack.last else { throw fail("DUP on an empty stack", at: at) }
                try push(top)
            case 0x51:  // BINPERSID
                let id = try pop("BINPERSID")
                do {
                    try push(try persistentLoad(id))
                } catch let rejection as PickleRejection {
                    throw fail(rejection.reason, at: at)
                }
            case 0x52:  // REDUCE
                let arguments = try pop("REDUCE"), callable = try pop("REDUCE")
                guard case .global(let global) = callable, case .tuple(let args, _) = arguments else {
                    throw fail("REDUCE of a \(callable.kind) with \(arguments.kind) arguments", at: at)
                }
                do {
                    try push(try reduce(global, args))
                } catch let rejection as PickleRejection {
                    throw fail(rejection.reason, at: at)
                }
            case 0x62:  // BUILD: state for OrderedDict (_metadata) or tensors (hooks); read and dropped
                let state = try pop("BUILD")
                let target = try pop("BUILD")
                switch (target, state) {
                case (.dict, .dict), (.dict, .tuple), (.tensor, _): try push(target)
                default: throw fail("BUILD on a \(target.kind)", at: at)
                }
            default:
                throw fail("opcode 0x\(String(opcode, radix: 16)) is not allowed", at: at)
            }
        }
    }

    private func fill(_ dict: PickleDict, _ items: [PickleValue], _ opcode: String) throws -> PickleDict {
        guard items.count % 2 == 0 else { throw fail("\(opcode) with an odd number of items") }
        for i in stride(from: 0, to: items.count, by: 2) { dict.items.append((items[i], items[i + 1])) }
        return dict
    }

    /// "Calls" an allowlisted constructor by building the data it would return.
    private mutating func reduce(_ global: PickleGlobal, _ args: [PickleValue]) throws -> PickleValue {
        switch global {
        case .orderedDict:
            guard args.isEmpty else { throw PickleRejection("OrderedDict with arguments") }
            return .dict(newDict())
        case .size:
            guard args.count == 1, case .tuple = args[0] else { throw PickleRejection("torch.Size expects one tuple") }
            return args[0]
        case .rebuildTensor, .rebuildTensorV2:
            // _rebuild_tensor(storage, storage_offset, size, stride); v2 adds requires_grad, backward_hooks[, metadata].
            let expected = global == .rebuildTensor ? 4...4 : 6...7
            guard expected.contains(args.count) else {
                throw PickleRejection("\(global.rawValue) expects \(expected) arguments, got \(args.count)")
            }
            guard case .storage(let storage) = args[0], case .int(let offset) = args[1],
                case .tuple(let sizes, _) = args[2], case .tuple(let strides, _) = args[3]
            else { throw PickleRejection("\(global.rawValue) arguments have the wrong types") }
            let shape = try integers(sizes, "size"), stride = try integers(strides, "stride")
            guard shape.count == stride.count else { throw PickleRejection("size and stride have different lengths") }
            guard offset >= 0 else { throw PickleRejection("negative storage offset") }
            return .tensor(PickleTensor(storage: storage, offset: offset, shape: shape, strides: stride))
        case .rebuildParameter, .rebuildParameterWithState:
            guard args.count >= 3, args.count <= 4, case .tensor = args[0] else {
                throw PickleRejection("\(global.rawValue) expects a tensor")
            }
            return args[0]
        default:
            throw PickleRejection("\(global.rawValue) cannot be called")
        }
    }

    private func integers(_ values: [PickleValue], _ what: String) throws -> [Int] {
        try values.map { value in
            guard case .int(let number) = value, number >= 0, number <= Shape.maxExtent else {
                throw PickleRejection("\(what) entries must be integers in 0...2^48-1")
            }
            return number
        }
    }
}

/// A reason the interpreter refuses input found inside a callback; reported with the opcode's offset.
package struct PickleRejection: Error {
    package let reason: String
    package init(_ reason: String) { self.reason = reason }
}
