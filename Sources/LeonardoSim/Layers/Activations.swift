import Foundation

/// In-place ReLU and its backward pass (uses the layer's output: y > 0 ⇔ x > 0).
@inline(__always)
public func reluForward(_ x: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count where x[i] < 0 { x[i] = 0 }
}

@inline(__always)
public func reluBackward(_ y: UnsafePointer<Float>, _ dy: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count where y[i] <= 0 { dy[i] = 0 }
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
