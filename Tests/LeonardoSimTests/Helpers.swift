import Foundation
import XCTest
@testable import LeonardoSim

/// The package root: the first folder above this file that holds Package.swift.
func repositoryRoot(file: String = #filePath) -> URL {
    var folder = URL(fileURLWithPath: file).deletingLastPathComponent()
    while folder.path != "/"
        && !FileManager.default.fileExists(atPath: folder.appendingPathComponent("Package.swift").path)
    {
        folder = folder.deletingLastPathComponent()
    }
    return folder
}

enum Fixtures {
    static func path(_ name: String) -> String {
        Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil)!.path
    }
}

/// Asserts the norm-wise relative error max|a − b| / max|b| ≤ rel.
func assertClose(
    _ a: [Float], _ b: [Float], rel: Float, _ what: String, file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(a.count, b.count, "\(what): sizes differ", file: file, line: line)
    let scale = max(b.map { abs($0) }.max() ?? 0, 1e-30)
    var worst: Float = 0
    var worstIndex = 0
    for i in 0..<min(a.count, b.count) where abs(a[i] - b[i]) > worst {
        worst = abs(a[i] - b[i])
        worstIndex = i
    }
    XCTAssertLessThanOrEqual(
        worst / scale, rel,
        "\(what): relative error \(worst / scale) at \(worstIndex) (\(a[worstIndex]) vs \(b[worstIndex]), scale \(scale))",
        file: file, line: line)
}

func temporaryPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mgym-tests-\(getpid())")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

/// Random-walk trajectories normalised as in the paper (N×T×2).
func randomWalks(_ n: Int, length T: Int, seed: UInt64, persistence: Double = 0) -> [Float] {
    var rng = Xoshiro256StarStar(seed: seed)
    var out = [Float](repeating: 0, count: n * T * 2)
    for i in 0..<n {
        var x = 0.0
        var y = 0.0
        var vx = 0.0
        var vy = 0.0
        for t in 0..<T {
            vx = persistence * vx + rng.normal()
            vy = persistence * vy + rng.normal()
            x += vx
            y += vy
            out[(i * T + t) * 2] = Float(x)
            out[(i * T + t) * 2 + 1] = Float(y)
        }
    }
    return TrajectoryNormalization.normalize(out, length: T).normalized
}
