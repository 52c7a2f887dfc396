import Foundation

/// In-place ReLU and its backward pass (uses the layer's output: y > 0 ⇔ x > 0).
/// Every element is stored, selected or not: a store under a condition keeps the loop scalar with a branch per
/// element, while the select vectorises (same results, NaN and −0 included).
@inline(__always)
public func reluForward(_ x: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count {
        let v = x[i]
        x[i] = v < 0 ? 0 : v
    }
}

@inline(__always)
public func reluBackward(_ y: UnsafePointer<Float>, _ dy: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count {
        let g = dy[i]
        dy[i] = y[i] <= 0 ? 0 : g
    }
}

/// out[n, b, a] = x[n, a, b] for a batch of A×B matrices (switches channel-major and time-major layouts).
@inline(__always)
public func transposeBatch(
    _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, batch: Int, rows a: Int, cols b: Int
) {
    for n in 0..<batch {
        let xn = x + n * a * b
        let on = out + n * a * b
        for i in 0..<a { for j in 0..<b { on[j * a + i] = xn[i * b + j] } }
    }
}

/// out[n, a, b] += x[n, b, a]: the adjoint of `transposeBatch`, accumulating.
@inline(__always)
public func transposeBatchAdd(
    _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, batch: Int, rows a: Int, cols b: Int
) {
    for n in 0..<batch {
        let xn = x + n * a * b
        let on = out + n * a * b
        for i in 0..<a { for j in 0..<b { on[i * b + j] += xn[j * a + i] } }
    }
}
