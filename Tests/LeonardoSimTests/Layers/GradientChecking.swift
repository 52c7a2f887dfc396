import XCTest

@testable import LeonardoSim

/// Finite-difference checking shared by `GradientTests` and `TrainingKernelTests`.
extension XCTestCase {
    /// Compares analytic and numeric derivatives: |a − n| ≤ tol·(max(|a|, |n|) + 1e-2·scale),
    /// scale = the largest analytic magnitude checked (so near-zero entries are judged at the tensor's scale).
    func check(
        _ analytic: [Double], _ numeric: [Double], tol: Double = 3e-2, _ what: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let scale = max(analytic.map(abs).max() ?? 0, numeric.map(abs).max() ?? 0, 1e-12)
        XCTAssertGreaterThan(
            scale, 1e-9, "\(what): gradient is identically zero, the check would be vacuous", file: file, line: line)
        for i in 0..<analytic.count {
            let a = analytic[i]
            let n = numeric[i]
            let err = abs(a - n) / (max(abs(a), abs(n)) + 1e-2 * scale)
            XCTAssertLessThanOrEqual(err, tol, "\(what)[\(i)]: analytic \(a) vs numeric \(n)", file: file, line: line)
        }
    }

    /// Generic layer check: `run(x)` computes y; `back(x, dy, dx)` accumulates grads. Objective J = Σ wᵢ·yᵢ.
    func checkLayer(
        _ name: String, store: ParameterStore, inputCount: Int, outputCount: Int, h: Float = 1e-2, seed: UInt64 = 11,
        run: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void,
        back: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
    ) {
        var rng = Xoshiro256StarStar(seed: seed)
        var x = (0..<inputCount).map { _ in Float(rng.normal()) }
        let w = (0..<outputCount).map { _ in Float(rng.normal()) }
        var y = [Float](repeating: 0, count: outputCount)
        func objective() -> Double {
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in run(xp.baseAddress!, yp.baseAddress!) }
            }
            return zip(w, y).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        _ = objective()
        store.zeroGrads()
        var dx = [Float](repeating: 0, count: inputCount)
        x.withUnsafeBufferPointer { xp in
            w.withUnsafeBufferPointer { wp in
                dx.withUnsafeMutableBufferPointer { dp in
                    back(xp.baseAddress!, wp.baseAddress!, dp.baseAddress!)
                }
            }
        }
        // inputs
        var numeric: [Double] = []
        var analytic: [Double] = []
        for i in 0..<inputCount {
            let orig = x[i]
            x[i] = orig + h
            let jp = objective()
            x[i] = orig - h
            let jm = objective()
            x[i] = orig
            numeric.append((jp - jm) / Double(2 * h))
            analytic.append(Double(dx[i]))
        }
        check(analytic, numeric, "\(name) d/dx")
        // parameters
        for r in store.refs {
            let p = store.value(r)
            let g = store.grad(r)
            var num: [Double] = []
            var ana: [Double] = []
            for i in 0..<r.count {
                let orig = p[i]
                p[i] = orig + h
                let jp = objective()
                p[i] = orig - h
                let jm = objective()
                p[i] = orig
                num.append((jp - jm) / Double(2 * h))
                ana.append(Double(g[i]))
            }
            check(ana, num, "\(name) d/d\(r.name)")
        }
    }

    func makeStore(_ build: (ParameterStore) -> Void) -> ParameterStore {
        let s = ParameterStore()
        build(s)
        var rng = Xoshiro256StarStar(seed: 5)
        s.finalize(rng: &rng)
        // LayerNorm gains/biases start at 1/0: perturb so their gradients are generic
        for r in s.refs {
            let p = s.value(r)
            for i in 0..<r.count { p[i] += Float(0.1 * rng.normal()) }
        }
        return s
    }

    func testLinear() {
        var layer: Linear!
        let s = makeStore { layer = Linear($0, "fc", 5, 4) }
        checkLayer(
            "Linear", store: s, inputCount: 3 * 5, outputCount: 3 * 4,
            run: { layer.forward($0, $1, rows: 3) }, back: { layer.backward($0, $1, $2, rows: 3) })
        var nb: Linear!
        let s2 = makeStore { nb = Linear($0, "fc", 4, 3, bias: false) }
        checkLayer(
            "Linear (no bias)", store: s2, inputCount: 2 * 4, outputCount: 2 * 3,
            run: { nb.forward($0, $1, rows: 2) }, back: { nb.backward($0, $1, $2, rows: 2) })
    }

    func testConv1dPaddedAndStrided() {
        var c: Conv1d!
        let s = makeStore { c = Conv1d($0, "conv", 3, 4, kernel: 3, padding: 1) }
        checkLayer(
            "Conv1d k3 p1", store: s, inputCount: 2 * 6 * 3, outputCount: 2 * 6 * 4,
            run: { c.forward($0, $1, batch: 2, length: 6) }, back: { c.backward($0, $1, $2, batch: 2, length: 6) })
        var c2: Conv1d!
        let s2 = makeStore { c2 = Conv1d($0, "conv", 3, 2, kernel: 2, stride: 2) }
        checkLayer(
            "Conv1d k2 s2", store: s2, inputCount: 2 * 6 * 3, outputCount: 2 * 3 * 2,
            run: { c2.forward($0, $1, batch: 2, length: 6) }, back: { c2.backward($0, $1, $2, batch: 2, length: 6) })
    }

    func testConvTranspose1d() {
        var c: ConvTranspose1d!
        let s = makeStore { c = ConvTranspose1d($0, "convt", 3, 4, kernel: 7, padding: 3) }
        checkLayer(
            "ConvTranspose1d", store: s, inputCount: 2 * 8 * 3, outputCount: 2 * 8 * 4,
            run: { c.forward($0, $1, batch: 2, length: 8) }, back: { c.backward($0, $1, $2, batch: 2, length: 8) })
    }

    func testLayerNorm() {
        var ln: LayerNorm!
        let s = makeStore { ln = LayerNorm($0, "ln", 6) }
        checkLayer(
            "LayerNorm", store: s, inputCount: 4 * 6, outputCount: 4 * 6, h: 3e-3,
            run: { ln.forward($0, $1, rows: 4) }, back: { ln.backward($0, $1, $2, rows: 4) })
    }
}
