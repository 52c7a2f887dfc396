import Foundation

/// In-place iterative radix-2 complex FFT (Cooley–Tukey, decimation in time) on split real/imaginary
/// arrays of double precision. Forward transform: X_k = Σ_j x_j exp(−2πi jk/N). Used by the circulant
/// embedding of fractional Gaussian noise, where N is a power of two of a few hundred points.
enum FFT {
    /// Transforms `re`/`im` (length N, a power of two) in place.
    static func forward(_ re: inout [Double], _ im: inout [Double]) {
        let n = re.count
        precondition(n == im.count && n > 0 && n & (n - 1) == 0, "FFT length must be a power of two")
        // Bit-reversal permutation.
        var j = 0
        for i in 1..<max(n, 2) where i < n {
            var bit = n >> 1
            while j & bit != 0 {
                j ^= bit
                bit >>= 1
            }
            j |= bit
            if i < j {
                re.swapAt(i, j)
                im.swapAt(i, j)
            }
        }
        var len = 2
        while len <= n {
            let angle = -2.0 * Double.pi / Double(len)
            let half = len / 2
            for k in 0..<half {
                let wr = cos(angle * Double(k))
                let wi = sin(angle * Double(k))
                var start = 0
                while start < n {
                    let a = start + k
                    let b = a + half
                    let tr = re[b] * wr - im[b] * wi
                    let ti = re[b] * wi + im[b] * wr
                    re[b] = re[a] - tr
                    im[b] = im[a] - ti
                    re[a] += tr
                    im[a] += ti
                    start += len
                }
            }
            len <<= 1
        }
    }

    /// The smallest power of two ≥ n.
    static func powerOfTwo(atLeast n: Int) -> Int {
        var m = 1
        while m < n { m <<= 1 }
        return m
    }
}
