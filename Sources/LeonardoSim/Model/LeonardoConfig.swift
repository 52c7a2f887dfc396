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
        c.length = 16
        c.latentDim = 3
        c.embedSize = 8
        c.heads = 2
        c.numLayers = 2
        c.forwardExpansion = 2
        c.bottleneckChannels = 4
        c.encoderHidden = 10
        c.decoderHidden = 12
        c.decoderChannels = 3
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
        try need(
            embedSize >= 1 && heads >= 1 && embedSize % heads == 0, "heads",
            "embedSize \(embedSize) must be divisible by heads \(heads)")
        try need(numLayers >= 1, "numLayers", "must be >= 1")
        try need(forwardExpansion >= 1, "forwardExpansion", "must be >= 1")
        for (k, name) in [
            (inputKernel, "inputKernel"), (bottleneckKernel, "bottleneckKernel"),
            (convTransposeKernel, "convTransposeKernel"), (outputKernel, "outputKernel")
        ] {
            try need(k >= 1 && k % 2 == 1, name, "must be an odd kernel size, got \(k)")
        }
        try need(
            frameNoiseChannels >= 0 && (!isStationary || frameNoiseChannels >= 1), "noiseChannels",
            "must be >= 1 for the stationary decoder")
        try need(
            bottleneckChannels >= 1 && encoderHidden >= 1 && decoderHidden >= 1 && decoderChannels >= 1,
            "bottleneckChannels", "hidden sizes must be >= 1")
    }
}
