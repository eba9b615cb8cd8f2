import Tensors
import Testing

/// OpenBLAS is linked and callable (the tensor engine builds on it).
@Suite struct LinkTests {
    @Test func openBLASComputesADotProduct() {
        #expect(TensorsLinkCheck.dot([1, 2, 3], [4, -5, 6]) == 12)
    }
}
