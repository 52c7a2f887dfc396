import Foundation

/// Wall time and floating-point operations per stage of a forward pass, gathered through the layers' own forward
/// (`LeonardoDecoder.profile`): what `gym-runner perf bench --layers` prints. Stages keep the order in which they
/// first ran; a stage that runs several times per pass (the layer norms, several blocks) adds up.
public final class StageProfile {
    public private(set) var names: [String] = []
    public private(set) var seconds: [String: Double] = [:]
    public private(set) var flops: [String: Int] = [:]

    public init() {}

    /// Runs `body` as stage `name`, adding its wall time and `flops`.
    public func time<T>(_ name: String, flops f: Int, _ body: () -> T) -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        let result = body()
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        if seconds[name] == nil { names.append(name) }
        seconds[name, default: 0] += elapsed
        flops[name, default: 0] += f
        return result
    }

    /// Forgets everything timed so far.
    public func reset() {
        names = []
        seconds = [:]
        flops = [:]
    }
}

/// Runs `body` as a stage of `profile` when there is one, else just runs it.
@inline(__always)
func stage<T>(_ profile: StageProfile?, _ name: String, flops: @autoclosure () -> Int = 0, _ body: () -> T) -> T {
    guard let profile else { return body() }
    return profile.time(name, flops: flops(), body)
}
