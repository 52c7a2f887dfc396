import Foundation
import LeonardoKernels

/// A 1-D convolution over channels-last rows as products over overlapping windows (`lk_gemm_windows`): the input
/// is copied once into a zero-padded buffer, and output row s of trajectory n is the window of `kernel` padded rows
/// starting at row s·stride times `weights` (kernel·channels × outChannels, tap-major: row p·channels + c holds the
/// weights of tap p and input channel c). No im2col matrix and no scatter: the inference path of `Conv1d` and
/// `ConvTranspose1d` under `InferenceKernels.simd`.
func windowedConvolution(
    _ x: UnsafePointer<Float>, batch N: Int, length T: Int, channels: Int, padLeft: Int, padRight: Int, stride: Int,
    kernel K: Int, weights: UnsafePointer<Float>, outChannels: Int, bias: UnsafePointer<Float>?,
    _ y: UnsafeMutablePointer<Float>, outLength lo: Int, padded: FloatBuffer, level: KernelLevel
) {
    let paddedLength = T + padLeft + padRight
    let xp = padded.reserve(N * paddedLength * channels)
    for n in 0..<N {
        let dst = xp + n * paddedLength * channels
        dst.update(repeating: 0, count: padLeft * channels)
        (dst + padLeft * channels).update(from: x + n * T * channels, count: T * channels)
        (dst + (padLeft + T) * channels).update(repeating: 0, count: padRight * channels)
    }
    // Small batches split each trajectory's rows too, so every worker has work.
    let workers = Workers.count
    let chunks = N >= workers ? 1 : min(workers, max(1, lo / 24))
    let (depth, out, lda) = (Int32(K * channels), Int32(outChannels), Int32(stride * channels))
    parallelFor(N * chunks, workers: workers) { item, _ in
        let n = item / chunks
        let c = item % chunks
        let r0 = lo * c / chunks
        let r1 = lo * (c + 1) / chunks
        lk_gemm_windows(
            xp + n * paddedLength * channels + r0 * stride * channels, lda, Int32(r1 - r0), depth, weights, out, bias,
            y + (n * lo + r0) * outChannels, out, Int32(level.rawValue))
    }
}
