/// What the built-in `procedural/scenes` generator draws: the object classes, the
/// background and the camera effects, each as a range the generator samples per image.
///
/// A `SceneSpec` plus a seed determines an image byte for byte, on any machine: the
/// renderer uses only integer arithmetic and IEEE-754 float operations that are exact
/// across platforms (no `sin`/`exp` from libm), with its own PRNG.
public struct SceneSpec: Sendable, Codable, Hashable {
    /// Image width in pixels.
    public var width: Int
    /// Image height in pixels.
    public var height: Int
    /// Object classes, in manifest order; each image draws some of each.
    public var objects: [ObjectClass]
    /// How the background is randomized.
    public var background: Background
    /// Camera effects applied after the scene is drawn.
    public var camera: Camera

    public init(width: Int = 640, height: Int = 480, objects: [ObjectClass],
                background: Background = Background(), camera: Camera = Camera()) {
        self.width = width
        self.height = height
        self.objects = objects
        self.background = background
        self.camera = camera
    }

    /// One class of object: its label, how it is drawn, and how many and how large.
    public struct ObjectClass: Sendable, Codable, Hashable {
        /// The dataset class name written into the ground truth.
        public var name: String
        public var shape: Shape
        /// Base colors as 0xRRGGBB; each instance picks one and jitters its shade.
        public var colors: [UInt32]
        /// Object height as a fraction of the image height, sampled uniformly.
        public var size: ClosedRange<Double>
        /// Instances per image, sampled uniformly (inclusive).
        public var count: ClosedRange<Int>

        public init(name: String, shape: Shape, colors: [UInt32],
                    size: ClosedRange<Double> = 0.1...0.3, count: ClosedRange<Int> = 1...4) {
            self.name = name
            self.shape = shape
            self.colors = colors
            self.size = size
            self.count = count
        }
    }

    /// The shapes the renderer can draw, each shaded as a simple solid.
    public enum Shape: String, Sendable, Codable, Hashable, CaseIterable {
        /// An upright cylinder (a drink can): horizontal shading, elliptical top.
        case cylinder
        /// A box seen at a slight angle: a front face and a lighter top face.
        case box
        /// A flat pallet: a slab with dark gaps between boards.
        case pallet
        /// A sphere with a radial highlight.
        case sphere
    }

    /// Background randomization.
    public struct Background: Sendable, Codable, Hashable {
        /// Styles the generator picks from per image.
        public var styles: [Style]
        /// Base colors as 0xRRGGBB; empty means random colors.
        public var colors: [UInt32]

        public init(styles: [Style] = Style.allCases, colors: [UInt32] = []) {
            self.styles = styles
            self.colors = colors
        }

        public enum Style: String, Sendable, Codable, Hashable, CaseIterable {
            /// A vertical two-color gradient.
            case gradient
            /// A floor: a wall color above a horizon, a floor color below.
            case floor
            /// A checkerboard of two colors with random cell size.
            case checker
            /// Random rectangles of clutter (no labels).
            case clutter
        }
    }

    /// Camera effects, each sampled uniformly per image.
    public struct Camera: Sendable, Codable, Hashable {
        /// Box-blur radius in pixels (0 = sharp).
        public var blur: ClosedRange<Int>
        /// Sensor noise amplitude in 8-bit levels (0 = none).
        public var noise: ClosedRange<Int>
        /// JPEG quality, 1...100.
        public var jpegQuality: ClosedRange<Int>

        public init(blur: ClosedRange<Int> = 0...1, noise: ClosedRange<Int> = 0...6,
                    jpegQuality: ClosedRange<Int> = 80...92) {
            self.blur = blur
            self.noise = noise
            self.jpegQuality = jpegQuality
        }
    }
}
