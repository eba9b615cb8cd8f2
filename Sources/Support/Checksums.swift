import CCrypto

/// XXH64 (seed 0), the per-tensor checksum of `.mhub` files: fast enough to check every byte at load.
///
/// Reference: Yann Collet's xxHash specification (`doc/xxhash_spec.md`), 64-bit variant.
/// `XXH64.hash("abc") == 0x44BC2CF5AD770999`.
///
/// ```swift
/// XXH64.hash("abc")                                  // 0x44BC2CF5AD770999
/// XXH64.hex(bytes.withUnsafeBytes { XXH64.hash($0) })
/// ```
public enum XXH64 {
    private static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let p3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

    @inline(__always) private static func round(_ acc: UInt64, _ lane: UInt64) -> UInt64 {
        let a = acc &+ lane &* p2
        return ((a << 31) | (a >> 33)) &* p1
    }

    @inline(__always) private static func merge(_ acc: UInt64, _ value: UInt64) -> UInt64 {
        (acc ^ round(0, value)) &* p1 &+ p4
    }

    /// The XXH64 of `bytes` with `seed`.
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        let count = bytes.count
        guard let base = bytes.baseAddress else { return finish(seed &+ p5, base: nil, tail: 0, count: 0) }
        var offset = 0
        var h: UInt64
        if count >= 32 {
            var v1 = seed &+ p1 &+ p2, v2 = seed &+ p2, v3 = seed, v4 = seed &- p1
            while count - offset >= 32 {
                v1 = round(v1, base.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian)
                v2 = round(v2, base.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self).littleEndian)
                v3 = round(v3, base.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self).littleEndian)
                v4 = round(v4, base.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self).littleEndian)
                offset += 32
            }
            h =
                ((v1 << 1) | (v1 >> 63)) &+ ((v2 << 7) | (v2 >> 57)) &+ ((v3 << 12) | (v3 >> 52))
                &+ ((v4 << 18) | (v4 >> 46))
            h = merge(h, v1)
            h = merge(h, v2)
            h = merge(h, v3)
            h = merge(h, v4)
        } else {
            h = seed &+ p5
        }
        return finish(h &+ UInt64(count), base: base + offset, tail: count - offset, count: count)
    }

    /// Hash of a string's UTF-8 bytes (tests and test vectors).
    public static func hash(_ text: String) -> UInt64 {
        var copy = text
        return copy.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }

    private static func finish(_ start: UInt64, base: UnsafeRawPointer?, tail: Int, count: Int) -> UInt64 {
        var h = start
        var offset = 0
        if let base {
            while tail - offset >= 8 {
                h ^= round(0, base.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian)
                h = ((h << 27) | (h >> 37)) &* p1 &+ p4
                offset += 8
            }
            if tail - offset >= 4 {
                h ^= UInt64(base.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian) &* p1
                h = ((h << 23) | (h >> 41)) &* p2 &+ p3
                offset += 4
            }
            while offset < tail {
                h ^= UInt64(base.load(fromByteOffset: offset, as: UInt8.self)) &* p5
                h = ((h << 11) | (h >> 53)) &* p1
                offset += 1
            }
        }
        h ^= h >> 33
        h = h &* p2
        h ^= h >> 29
        h = h &* p3
        h ^= h >> 32
        return h
    }

    /// Sixteen lowercase hex digits, the spelling used in `.mhub` metadata.
    public static func hex(_ value: UInt64) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: 16 - text.count) + text
    }
}

/// An incremental message digest through libcrypto (SHA-NI where the CPU has it).
///
/// ```swift
/// let digest = SHA256()
/// bytes.withUnsafeBytes { digest.update($0) }
/// digest.finalizeHex()
/// ```
public class MessageDigest {
    private let context: OpaquePointer

    init(_ algorithm: OpaquePointer?) {
        guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed: out of memory") }
        self.context = context
        EVP_DigestInit_ex(context, algorithm, nil)
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Adds bytes to the digest.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        EVP_DigestUpdate(context, base, bytes.count)
    }

    /// The digest as lowercase hex digits; the hasher is spent afterwards.
    public func finalizeHex() -> String {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &digest, &length)
        return digest.prefix(Int(length)).map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
    }
}

/// Incremental SHA-256: provenance hashes, and the check of downloaded LFS files (their etag is the SHA-256).
///
/// ```swift
/// Array("abc".utf8).withUnsafeBytes(SHA256.hex)   // "ba7816bf…"
/// ```
public final class SHA256: MessageDigest {
    public init() { super.init(EVP_sha256()) }

    /// SHA-256 of a whole buffer, as hex.
    public static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        let hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalizeHex()
    }
}

/// Incremental SHA-1, for git blob ids (the etag of a small, non-LFS file on the Hub: SHA-1 of `blob SIZE\0` + bytes).
///
/// ```swift
/// let digest = SHA1()
/// Array("blob 3\0abc".utf8).withUnsafeBytes { digest.update($0) }
/// digest.finalizeHex()                            // the git blob id of "abc"
/// ```
public final class SHA1: MessageDigest {
    public init() { super.init(EVP_sha1()) }
}
