import Basics

/// The renderer's own PRNG: xoshiro256** seeded through SplitMix64.
///
/// The standard library's generators are unspecified and may change between releases,
/// so images would not be reproducible; this one is fully specified and uses only
/// integer arithmetic, so a seed yields the same stream on every machine.
struct SceneRandom {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    /// Independent streams per stage (background, objects, camera) keep each stage's
    /// draws unaffected by the others: a spec with no objects renders exactly the same
    /// background as the same spec with objects, which the tests rely on.
    enum Stream: UInt64 {
        case background = 1
        case objects = 2
        case camera = 3
    }

    init(seed: UInt64, stream: Stream) {
        self.init(seed: seed, streamID: stream.rawValue)
    }

    init(seed: UInt64, streamID: UInt64) {
        // Mix the stream id in through a full SplitMix round so that nearby seeds and
        // streams give unrelated states.
        var sm = SplitMix64(seed: SplitMix64.mix(seed &+ 0x9E37_79B9_7F4A_7C15) ^ (streamID &* 0xD1B5_4A32_D192_ED03))
        s0 = sm.next()
        s1 = sm.next()
        s2 = sm.next()
        s3 = sm.next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 0x9E37_79B9_7F4A_7C15 }  // xoshiro's one forbidden state
    }

    @inline(__always)
    mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// Uniform integer in `range` (inclusive); multiply-high mapping, no modulo bias
    /// worth caring about and no data-dependent loop, so the stream position is fixed.
    mutating func int(in range: ClosedRange<Int>) -> Int {
        let span = UInt64(bitPattern: Int64(range.upperBound &- range.lowerBound)) &+ 1
        if span == 0 { return Int(bitPattern: UInt(next())) }  // the full Int range
        return range.lowerBound &+ Int(bitPattern: UInt(next().multipliedFullWidth(by: span).high))
    }

    /// Uniform integer in `lower..<upper`; returns `lower` when the range is empty.
    mutating func int(_ lower: Int, _ upper: Int) -> Int {
        upper <= lower ? lower : int(in: lower...(upper - 1))
    }

    /// Uniform Double in [0, 1) with 53 random bits (exact: one int-to-double conversion
    /// and one power-of-two scaling).
    mutating func unit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// Uniform Double in `range`, using only IEEE-exact operations.
    mutating func double(in range: ClosedRange<Double>) -> Double {
        range.lowerBound + (range.upperBound - range.lowerBound) * unit()
    }

    /// True with probability `numerator / denominator`.
    mutating func chance(_ numerator: Int, in denominator: Int) -> Bool {
        int(0, denominator) < numerator
    }
}
