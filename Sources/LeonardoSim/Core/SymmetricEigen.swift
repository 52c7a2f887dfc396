import CBLAS
import Foundation

/// Symmetric eigendecomposition (LAPACK `dsyev` from OpenBLAS), double precision.
enum SymmetricEigen {
    /// Eigenvalues (ascending) and eigenvectors (columns of the row-major n×n result) of a symmetric matrix.
    static func decompose(_ a: [Double], n: Int) throws -> (values: [Double], vectors: [Double]) {
        precondition(a.count == n * n)
        // LAPACK is column-major; a symmetric matrix is its own transpose, and the eigenvectors come back as
        // columns of the column-major array, i.e. rows of the row-major view: transpose on the way out.
        var m = a
        var w = [Double](repeating: 0, count: n)
        var nn = Int32(n)
        var lda = Int32(n)
        var info: Int32 = 0
        var lwork: Int32 = -1
        var query = 0.0
        let jobz = Int8(UInt8(ascii: "V"))
        let uplo = Int8(UInt8(ascii: "U"))
        var jz = jobz
        var ul = uplo
        _ = OpenBLAS.prepared
        dsyev_(&jz, &ul, &nn, &m, &lda, &w, &query, &lwork, &info)
        lwork = Int32(query)
        var work = [Double](repeating: 0, count: max(Int(lwork), 1))
        dsyev_(&jz, &ul, &nn, &m, &lda, &w, &work, &lwork, &info)
        guard info == 0 else { throw LeonardoError.invalidData("dsyev failed (info \(info))") }
        var vectors = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { vectors[i * n + j] = m[j * n + i] } }
        return (w, vectors)
    }

    /// The principal square root of a symmetric positive semi-definite matrix, V·diag(√max(λ, 0))·Vᵀ.
    static func sqrtPSD(_ a: [Double], n: Int) throws -> [Double] {
        let (w, v) = try decompose(a, n: n)
        var out = [Double](repeating: 0, count: n * n)
        for k in 0..<n {
            let s = max(w[k], 0).squareRoot()
            if s == 0 { continue }
            for i in 0..<n {
                let vik = v[i * n + k] * s
                for j in 0..<n { out[i * n + j] += vik * v[j * n + k] }
            }
        }
        return out
    }
}
