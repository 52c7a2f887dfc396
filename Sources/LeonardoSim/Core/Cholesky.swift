import Foundation

/// Lower Cholesky factor of a symmetric positive-definite L×L matrix (row-major), in double precision.
func choleskyLower(_ a: [Double], _ L: Int) throws -> [Double] {
    var c = [Double](repeating: 0, count: L * L)
    for i in 0..<L {
        for j in 0...i {
            var s = a[i * L + j]
            for k in 0..<j { s -= c[i * L + k] * c[j * L + k] }
            if i == j {
                guard s > 0 else {
                    throw LeonardoError.invalidData("latent prior: covariance is not positive definite (pivot \(i))")
                }
                c[i * L + i] = s.squareRoot()
            } else {
                c[i * L + j] = s / c[j * L + j]
            }
        }
    }
    return c
}
