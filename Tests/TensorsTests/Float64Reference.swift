/// x Wᵀ + b in float64 for x [m, k] and W [n, k], and the sum of each output's product sizes (for float32's rounding
/// bound: k · 2⁻²³ of it): the oracle of the float32 and half products.
func exactLinear(
    _ x: [Float], _ w: [Float], _ bias: [Float]?, m: Int, k: Int, n: Int
) -> (values: [Double], sizes: [Double]) {
    var values = [Double](repeating: 0, count: m * n)
    var sizes = [Double](repeating: 0, count: m * n)
    for i in 0..<m {
        for j in 0..<n {
            var sum = Double(bias?[j] ?? 0)
            var size = abs(sum)
            for p in 0..<k {
                sum += Double(x[i * k + p]) * Double(w[j * k + p])
                size += abs(Double(x[i * k + p]) * Double(w[j * k + p]))
            }
            values[i * n + j] = sum
            sizes[i * n + j] = size
        }
    }
    return (values, sizes)
}
