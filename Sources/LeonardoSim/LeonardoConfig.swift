import Foundation

/// Every size of the LEONARDO transformer-VAE. The defaults are the authors' released model
/// (`TransformerVAE(embed_size=128, num_layers=2, forward_expansion=2, heads=8, dropout=0,
/// length_trajectory=200, latent_space=12)`, 8.95 M parameters); small values build test models.
public struct LeonardoConfig: Codable, Equatable, Sendable {
    /// Frames per trajectory T (must be even: the encoder's stride-2 convolution halves it).
    public var length: Int = 200
    /// Latent dimension (z).
    public var latentDim: Int = 12
    /// Spatial channels of a trajectory (x, y).
    public var inputChannels: Int = 2
    /// Transformer width C.
    public var embedSize: Int = 128
    /// Attention heads (C must be divisible by it).
    public var heads: Int = 8
    /// Transformer blocks in the encoder and decoder blocks in the decoder.
    public var numLayers: Int = 2
    /// Feed-forward hidden width = forwardExpansion · C.
    public var forwardExpansion: Int = 2
    /// `encoder.conv1` kernel (padding kernel/2).
    public var inputKernel: Int = 3
    /// Channels of the encoder bottleneck convolutions (C/4 in the released code).
    public var bottleneckChannels: Int = 32
    /// `encoder.bottleneck.conv1` kernel (padding kernel/2).
    public var bottleneckKernel: Int = 7
    /// Width of `encoder.bottleneck.linear1` output.
    public var encoderHidden: Int = 512
    /// Width of `decoder.linear1` output.
    public var decoderHidden: Int = 1024
    /// Channels of the decoder's reshaped bottleneck (`decoder.bottleneck_decoding.linear1` outputs this × T).
    public var decoderChannels: Int = 32
    /// `decoder.bottleneck_decoding.convtranspose1` kernel (padding kernel/2).
    public var convTransposeKernel: Int = 7
    /// `decoder.conv_out` kernel (padding kernel/2).
    public var outputKernel: Int = 3
    /// false (default) reproduces the released forward loop, which feeds the bottleneck output e to every
    /// decoder block so that only the last one reaches the output; true chains the blocks.
    public var chainDecoderBlocks: Bool = false
    /// Which decoder front end turns the latent into the per-frame sequence; nil (the default, and every checkpoint
    /// written before the field existed) is the authors' `.authors`. Stored in the checkpoint's config.
    public var decoderVariant: DecoderVariant?
    /// Per-frame noise channels of the stationary decoder (nil: `DecoderVariant.defaultNoiseChannels`).
    public var noiseChannels: Int?

    public init() {}

    /// True when the decoder is the stationary variant (it then needs per-frame noise to decode).
    public var isStationary: Bool { decoderVariant == .stationary }
    /// Per-frame noise channels the decoder reads (0 for the authors' decoder).
    public var frameNoiseChannels: Int { isStationary ? (noiseChannels ?? DecoderVariant.defaultNoiseChannels) : 0 }

    /// The paper-size model.
    public static let paper = LeonardoConfig()

    /// A tiny model for tests (T = 16, C = 8, 2 heads, latent 3).
    public static var tiny: LeonardoConfig {
        var c = LeonardoConfig()
        c.length = 16; c.latentDim = 3; c.embedSize = 8; c.heads = 2; c.numLayers = 2; c.forwardExpansion = 2
        c.bottleneckChannels = 4; c.encoderHidden = 10; c.decoderHidden = 12; c.decoderChannels = 3
        return c
    }

    /// Checks the sizes; throws naming the first bad field.
    public func validate() throws {
        func need(_ ok: Bool, _ field: String, _ why: String) throws {
            if !ok { throw LeonardoError.invalidConfig(field: field, reason: why) }
        }
        try need(length >= 4 && length % 2 == 0, "length", "must be an even number >= 4, got \(length)")
        try need(latentDim >= 1, "latentDim", "must be >= 1")
        try need(inputChannels >= 1, "inputChannels", "must be >= 1")
        try need(embedSize >= 1 && heads >= 1 && embedSize % heads == 0, "heads",
                 "embedSize \(embedSize) must be divisible by heads \(heads)")
        try need(numLayers >= 1, "numLayers", "must be >= 1")
        try need(forwardExpansion >= 1, "forwardExpansion", "must be >= 1")
        for (k, name) in [(inputKernel, "inputKernel"), (bottleneckKernel, "bottleneckKernel"),
                          (convTransposeKernel, "convTransposeKernel"), (outputKernel, "outputKernel")] {
            try need(k >= 1 && k % 2 == 1, name, "must be an odd kernel size, got \(k)")
        }
        try need(frameNoiseChannels >= 0 && (!isStationary || frameNoiseChannels >= 1), "noiseChannels",
                 "must be >= 1 for the stationary decoder")
        try need(bottleneckChannels >= 1 && encoderHidden >= 1 && decoderHidden >= 1 && decoderChannels >= 1,
                 "bottleneckChannels", "hidden sizes must be >= 1")
    }
}

/// The decoder's front end: how the latent becomes the sequence of per-frame features that the transformer reads.
public enum DecoderVariant: String, Codable, Sendable, CaseIterable {
    /// The released model: `decoder.bottleneck_decoding.linear1` maps the latent to decoderChannels × T values,
    /// with its own weights and bias for every frame index, and the decoder outputs positions.
    case authors
    /// Stationary in time: the latent's projection is shared by every frame, each frame adds its own projected
    /// Gaussian noise (`noiseChannels` per frame), the decoder outputs steps, and positions are their running sum,
    /// normalised as the data are (paper eq. 6). No parameter belongs to one frame index.
    case stationary

    /// Per-frame noise channels when the config does not say.
    public static let defaultNoiseChannels = 8
}

/// Typed errors of LeonardoSim; each message says what is wrong and what to fix.
public enum LeonardoError: Error, CustomStringConvertible, Equatable {
    case invalidConfig(field: String, reason: String)
    case fileNotFound(String)
    case hdf5(String)
    case missingDataset(file: String, name: String)
    case shapeMismatch(file: String, name: String, expected: [Int], found: [Int])
    case wrongType(file: String, name: String, expected: String)
    case nonFinite(file: String, name: String)
    case invalidData(String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .invalidConfig(let f, let r): return "invalid model config: \(f) \(r)"
        case .fileNotFound(let p): return "file not found: \(p)"
        case .hdf5(let m): return m
        case .missingDataset(let f, let n): return "\(f): missing dataset '\(n)'"
        case .shapeMismatch(let f, let n, let e, let s):
            return "\(f): dataset '\(n)' has shape \(s), expected \(e)"
        case .wrongType(let f, let n, let e): return "\(f): dataset '\(n)' is not \(e)"
        case .nonFinite(let f, let n): return "\(f): dataset '\(n)' contains NaN or infinite values"
        case .invalidData(let m): return m
        case .invalidArgument(let m): return m
        }
    }
}
