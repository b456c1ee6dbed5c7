import SceneFormats

/// One finished image: the JPEG file contents and its ground truth.
public struct RenderedScene: Sendable {
    /// The encoded JPEG. Empty only if libjpeg failed, which the renderer's input
    /// validation rules out; ``SceneRenderer/decodeJPEGHeader(_:)`` rejects it.
    public var jpeg: [UInt8]
    /// Exact boxes of the visible objects, with the image name set.
    public var truth: GroundTruth

    /// Pairs encoded bytes with their truth (e.g. for fakes in executor tests).
    public init(jpeg: [UInt8], truth: GroundTruth) {
        self.jpeg = jpeg
        self.truth = truth
    }
}

/// An image before JPEG encoding, for tests, previews and benchmarks.
public struct RenderedPixels: Sendable {
    /// Image width in pixels.
    public var width: Int
    /// Image height in pixels.
    public var height: Int
    /// Interleaved 8-bit RGB, rows top to bottom, `width * height * 3` bytes, after the
    /// camera effects that were requested.
    public var rgb: [UInt8]
    /// Per pixel, which labeled object is visible there before blur: 0 for background,
    /// `i + 1` for `truth.objects[i]`, and ``unlabeledObjectID`` for an object dropped
    /// from the truth because it is mostly occluded.
    public var objectIDs: [UInt16]
    /// The ground truth for this image.
    public var truth: GroundTruth
    /// The JPEG quality sampled for this image (used by ``SceneRenderer/render(seed:imageName:)``).
    public var jpegQuality: Int
    /// The blur radius sampled for this image (applied only if camera effects were on).
    public var blurRadius: Int
    /// The noise amplitude sampled for this image (applied only if camera effects were on).
    public var noiseAmplitude: Int

    /// Marks pixels of objects that were drawn but left out of the truth.
    public static let unlabeledObjectID = UInt16.max
}
