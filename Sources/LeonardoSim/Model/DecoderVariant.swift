import Foundation

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
