import Dispatch

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
    guard n >= Swift.max(minimum, 2) else { return body(0, n) }
    DispatchQueue.concurrentPerform(iterations: 2) { part in
        let start = n * part / 2
        body(start, n * (part + 1) / 2 - start)
    }
}
