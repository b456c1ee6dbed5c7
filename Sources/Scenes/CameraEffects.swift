/// Post-draw camera effects: box blur and sensor noise, both in integer arithmetic.
enum CameraEffects {
    /// Separable box blur of radius `radius` (window `2r + 1`, edges clamped) over
    /// interleaved RGB, in place. Running sums make the cost independent of the radius;
    /// the division by the window is a 16-bit fixed-point multiply (a hardware divide
    /// per sample would dominate the frame time), rounded down-biased so a window of
    /// 255s still maps to 255.
    static func boxBlur(_ pixels: UnsafeMutablePointer<UInt8>, width: Int, height: Int,
                        radius: Int) {
        guard radius > 0, width > 0, height > 0 else { return }
        let window = 2 * radius + 1
        let reciprocal = UInt32((1 << 16) / window)
        let half: UInt32 = 1 << 15
        let rowBytes = width * 3
        let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: rowBytes * height)
        defer { scratch.deallocate() }

        // Horizontal pass: pixels -> scratch. Each row is first copied into a buffer
        // padded with `radius + 1` clamped pixels per side so the inner loop is
        // branch-free, then the three channel sums slide along it together.
        let paddedPixels = width + 2 * radius + 1
        let padded = UnsafeMutablePointer<UInt8>.allocate(capacity: paddedPixels * 3)
        defer { padded.deallocate() }
        for y in 0..<height {
            let src = pixels + y * rowBytes
            let dst = scratch + y * rowBytes
            for i in 0..<radius {
                padded[i * 3] = src[0]
                padded[i * 3 + 1] = src[1]
                padded[i * 3 + 2] = src[2]
            }
            (padded + radius * 3).update(from: src, count: rowBytes)
            for i in (radius + width)..<paddedPixels {
                padded[i * 3] = src[rowBytes - 3]
                padded[i * 3 + 1] = src[rowBytes - 2]
                padded[i * 3 + 2] = src[rowBytes - 1]
            }
            var r: UInt32 = 0, g: UInt32 = 0, b: UInt32 = 0
            for i in 0..<window {
                r += UInt32(padded[i * 3])
                g += UInt32(padded[i * 3 + 1])
                b += UInt32(padded[i * 3 + 2])
            }
            var out = dst
            var leaving = padded
            var entering = padded + window * 3
            for _ in 0..<width {
                out[0] = UInt8(truncatingIfNeeded: (r &* reciprocal &+ half) >> 16)
                out[1] = UInt8(truncatingIfNeeded: (g &* reciprocal &+ half) >> 16)
                out[2] = UInt8(truncatingIfNeeded: (b &* reciprocal &+ half) >> 16)
                r = r &+ UInt32(entering[0]) &- UInt32(leaving[0])
                g = g &+ UInt32(entering[1]) &- UInt32(leaving[1])
                b = b &+ UInt32(entering[2]) &- UInt32(leaving[2])
                out += 3
                leaving += 3
                entering += 3
            }
        }

        // Vertical pass: scratch -> pixels, a whole row of column sums at a time so
        // memory is walked sequentially (and the loops vectorize).
        let sums = UnsafeMutablePointer<UInt32>.allocate(capacity: rowBytes)
        defer { sums.deallocate() }
        sums.initialize(repeating: 0, count: rowBytes)
        for k in -radius...radius {
            let row = scratch + min(max(k, 0), height - 1) * rowBytes
            for i in 0..<rowBytes { sums[i] &+= UInt32(row[i]) }
        }
        for y in 0..<height {
            let dst = pixels + y * rowBytes
            for i in 0..<rowBytes {
                dst[i] = UInt8(truncatingIfNeeded: (sums[i] &* reciprocal &+ half) >> 16)
            }
            let add = scratch + min(y + radius + 1, height - 1) * rowBytes
            let sub = scratch + max(y - radius, 0) * rowBytes
            for i in 0..<rowBytes { sums[i] = sums[i] &+ UInt32(add[i]) &- UInt32(sub[i]) }
        }
    }

    /// Adds independent uniform noise in `-amplitude...amplitude` to every byte of
    /// `count` bytes (each channel separately), clamped to 0...255.
    ///
    /// One xorshift64* draw supplies eight bytes; each random byte is scaled to
    /// `0...2 * amplitude` by a multiply-shift, and the add/clamp runs on eight lanes
    /// at once. Random bytes are taken in little-endian order explicitly so the stream
    /// does not depend on the machine's byte order.
    static func addNoise(_ pixels: UnsafeMutablePointer<UInt8>, count: Int, amplitude: Int,
                         seed: UInt64) {
        guard amplitude > 0, count > 0 else { return }
        let a = UInt16(min(255, amplitude))
        let levels = SIMD8<UInt16>(repeating: 2 * a + 1)
        let offset = SIMD8<UInt16>(repeating: a)
        let ceiling = SIMD8<UInt16>(repeating: 255)
        var state = seed | 1
        @inline(__always) func nextLanes() -> SIMD8<UInt16> {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            let r = state &* 0x2545_F491_4F6C_DD1D
            var lanes = SIMD8<UInt16>()
            for lane in 0..<8 { lanes[lane] = UInt16(truncatingIfNeeded: r >> (8 * UInt64(lane))) & 0xFF }
            return (lanes &* levels) &>> 8
        }
        @inline(__always) func apply(_ value: SIMD8<UInt16>, _ noise: SIMD8<UInt16>) -> SIMD8<UInt16> {
            // value + noise - a, clamped to 0...255, without leaving unsigned arithmetic.
            pointwiseMin(pointwiseMax(value &+ noise, offset) &- offset, ceiling)
        }
        let raw = UnsafeMutableRawPointer(pixels)
        var i = 0
        while i + 8 <= count {
            let value = SIMD8<UInt16>(truncatingIfNeeded: raw.loadUnaligned(fromByteOffset: i,
                                                                          as: SIMD8<UInt8>.self))
            let result = SIMD8<UInt8>(truncatingIfNeeded: apply(value, nextLanes()))
            raw.storeBytes(of: result, toByteOffset: i, as: SIMD8<UInt8>.self)
            i += 8
        }
        if i < count {
            let noise = nextLanes()
            for lane in 0..<(count - i) {
                let value = SIMD8<UInt16>(repeating: UInt16(pixels[i + lane]))
                pixels[i + lane] = UInt8(truncatingIfNeeded: apply(value, noise)[lane])
            }
        }
    }
}
