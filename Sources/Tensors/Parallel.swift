import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// How many threads the engine's own parallel sections use: the two halves of element-wise kernels, of large
/// matrix products (`BLASDriver`), of int8 and half-precision products — 2, or 1 when several processes share a
/// host's cores (data-parallel ranks: two ranks on two cores would otherwise run four threads).
///
/// `MODELHUB_THREADS=1` sets it for a process; `Trainer` lowers it to the cores per rank on its host.
///
/// ```swift
/// EngineThreads.count = 1      // this process alone on one core
/// ```
public enum EngineThreads {
    private static let value = Atomic<Int>(
        getenv("MODELHUB_THREADS").flatMap { Int(String(cString: $0)) }.map { Swift.min(Swift.max($0, 1), 2) } ?? 2)

    /// 1 or 2 (values outside are clamped).
    public static var count: Int {
        get { value.load(ordering: .relaxed) }
        set { value.store(Swift.min(Swift.max(newValue, 1), 2), ordering: .relaxed) }
    }
}

/// A buffer the two threads of `splitInHalves` share, each reading or writing its own range.
package struct SharedBuffer<Element>: @unchecked Sendable {
    package let base: UnsafeMutablePointer<Element>
    package init(_ base: UnsafeMutablePointer<Element>) { self.base = base }
    package init(_ base: UnsafePointer<Element>) { self.base = UnsafeMutablePointer(mutating: base) }
}

/// Runs `body(start, count)` over [0, n) in two halves on two threads when there are at least `minimum` items, else
/// once on this thread.
///
/// For element-wise kernels between matrix products: OpenBLAS's workers sit idle then, so the second core is free.
/// Below a few hundred thousand elements waking a thread costs more than it saves.
package func splitInHalves(_ n: Int, minimum: Int = 1 << 18, _ body: @Sendable (Int, Int) -> Void) {
    guard n >= Swift.max(minimum, 2), EngineThreads.count > 1 else { return body(0, n) }
    DispatchQueue.concurrentPerform(iterations: 2) { part in
        let start = n * part / 2
        body(start, n * (part + 1) / 2 - start)
    }
}
