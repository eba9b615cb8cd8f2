import CBLAS

/// The tensor engine (issue: tensor engine).
///
/// Until it lands, this only proves OpenBLAS links.
package enum TensorsLinkCheck {
    /// Dot product through OpenBLAS, used by the build smoke test.
    package static func dot(_ x: [Float], _ y: [Float]) -> Float {
        precondition(x.count == y.count)
        return cblas_sdot(Int32(x.count), x, 1, y, 1)
    }
}
