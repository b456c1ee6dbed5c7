/// An 8-bit RGB color with components already clamped to 0...255.
///
/// Components are stored as `Int` so shading math stays in plain integer arithmetic
/// (deterministic everywhere) and converts to bytes only when written.
struct RGBColor: Equatable {
    var r: Int
    var g: Int
    var b: Int

    init(r: Int, g: Int, b: Int) {
        self.r = RGBColor.clamp(r)
        self.g = RGBColor.clamp(g)
        self.b = RGBColor.clamp(b)
    }

    init(hex: UInt32) {
        self.init(r: Int((hex >> 16) & 0xFF), g: Int((hex >> 8) & 0xFF), b: Int(hex & 0xFF))
    }

    @inline(__always)
    static func clamp(_ v: Int) -> Int { v < 0 ? 0 : (v > 255 ? 255 : v) }

    /// The color times `factor / 256`, clamped; factors above 256 lighten.
    @inline(__always)
    func scaled(_ factor: Int) -> RGBColor {
        RGBColor(r: (r * factor) >> 8, g: (g * factor) >> 8, b: (b * factor) >> 8)
    }

    /// Linear blend: `t256 = 0` gives `self`, `256` gives `other`.
    func mixed(with other: RGBColor, _ t256: Int) -> RGBColor {
        RGBColor(r: r + ((other.r - r) * t256) / 256,
                 g: g + ((other.g - g) * t256) / 256,
                 b: b + ((other.b - b) * t256) / 256)
    }

    static func random(_ rng: inout SceneRandom) -> RGBColor {
        let v = rng.next()
        return RGBColor(r: Int(v & 0xFF), g: Int((v >> 8) & 0xFF), b: Int((v >> 16) & 0xFF))
    }

    /// A shade variation of the color: overall brightness times 0.8...1.2 plus a small
    /// per-channel tint, so instances of one base color are not identical.
    func jittered(_ rng: inout SceneRandom, tint: Int = 10) -> RGBColor {
        let shade = rng.int(in: 205...307)
        let base = scaled(shade)
        return RGBColor(r: base.r + rng.int(in: -tint...tint),
                        g: base.g + rng.int(in: -tint...tint),
                        b: base.b + rng.int(in: -tint...tint))
    }

    /// Picks one of `palette` (jittered), or a random color when the palette is empty.
    static func pick(from palette: [UInt32], _ rng: inout SceneRandom) -> RGBColor {
        if palette.isEmpty { return random(&rng) }
        return RGBColor(hex: palette[rng.int(0, palette.count)]).jittered(&rng)
    }
}

/// The frame being drawn: interleaved RGB bytes plus a parallel per-pixel object-id
/// buffer (0 = background) from which the exact, occlusion-aware boxes are computed.
///
/// Holds raw pointers into buffers owned by the renderer for the duration of one
/// render; it does no bounds checks, so every caller clips to the image first.
struct Canvas {
    let pixels: UnsafeMutablePointer<UInt8>
    let ids: UnsafeMutablePointer<UInt16>
    let width: Int
    let height: Int

    @inline(__always)
    func set(_ x: Int, _ y: Int, _ c: RGBColor) {
        let p = pixels + (y * width + x) * 3
        p[0] = UInt8(truncatingIfNeeded: c.r)
        p[1] = UInt8(truncatingIfNeeded: c.g)
        p[2] = UInt8(truncatingIfNeeded: c.b)
    }

    @inline(__always)
    func set(_ x: Int, _ y: Int, _ c: RGBColor, id: UInt16) {
        set(x, y, c)
        ids[y * width + x] = id
    }

    /// Fills `[x0, x1) x [y0, y1)` (clipped) with a color, leaving ids untouched:
    /// backgrounds and clutter are unlabeled.
    func fillRect(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: RGBColor) {
        let cx0 = max(0, x0), cx1 = min(width, x1)
        let cy0 = max(0, y0), cy1 = min(height, y1)
        guard cx0 < cx1, cy0 < cy1 else { return }
        let r = UInt8(truncatingIfNeeded: c.r)
        let g = UInt8(truncatingIfNeeded: c.g)
        let b = UInt8(truncatingIfNeeded: c.b)
        for y in cy0..<cy1 {
            var p = pixels + (y * width + cx0) * 3
            for _ in cx0..<cx1 {
                p[0] = r
                p[1] = g
                p[2] = b
                p += 3
            }
        }
    }

    /// Copies row `source` over rows `y0..<y1`; cheap way to replicate a row pattern.
    func copyRow(_ source: Int, to y0: Int, _ y1: Int) {
        let rowBytes = width * 3
        let src = UnsafeRawPointer(pixels + source * rowBytes)
        for y in max(0, y0)..<min(height, y1) where y != source {
            UnsafeMutableRawPointer(pixels + y * rowBytes).copyMemory(from: src, byteCount: rowBytes)
        }
    }

    /// Number of pixels in `[x0, x1) x [y0, y1)` (clipped) whose id is `id`.
    func count(id: UInt16, _ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int) -> Int {
        let cx0 = max(0, x0), cx1 = min(width, x1)
        let cy0 = max(0, y0), cy1 = min(height, y1)
        guard cx0 < cx1, cy0 < cy1 else { return 0 }
        var n = 0
        for y in cy0..<cy1 {
            let row = ids + y * width
            for x in cx0..<cx1 where row[x] == id { n += 1 }
        }
        return n
    }
}
