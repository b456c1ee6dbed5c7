import CJPEG
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension SceneRenderer {
    /// Encodes interleaved 8-bit RGB as a baseline JPEG with libjpeg: `JDCT_ISLOW`
    /// (bit-exact across libjpeg-turbo builds and CPU SIMD paths), 4:2:0 chroma and the
    /// standard Huffman tables, so equal pixels give equal bytes.
    ///
    /// libjpeg errors are caught in C (see `Sources/CJPEG/shim.h`) and never print or
    /// exit; with valid arguments none can occur.
    /// - Returns: the JPEG bytes, or `nil` if the arguments are invalid (buffer too
    ///   small, a dimension outside 1...65500) or libjpeg failed.
    public static func encodeJPEG(rgb: [UInt8], width: Int, height: Int,
                                  quality: Int) -> [UInt8]? {
        guard width > 0, height > 0, width <= 65500, height <= 65500,
              rgb.count >= width * height * 3 else { return nil }
        let q = Int32(min(100, max(1, quality)))
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let status = rgb.withUnsafeBufferPointer { buffer in
            synthset_jpeg_encode_rgb(buffer.baseAddress, Int32(width), Int32(height), q,
                                     &output, &size)
        }
        guard status == 0, let output else { return nil }
        defer { free(output) }
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }

    /// Cheap structural check that `bytes` is a complete baseline/progressive JPEG:
    /// starts with SOI, has a frame header (SOF0...SOF15 except DHT/JPG/DAC) followed
    /// by a start-of-scan, and ends with EOI. Parses markers in Swift rather than calling
    /// libjpeg, whose error path could terminate the process on hostile input.
    /// - Returns: the frame's width and height, or `nil` if the structure is invalid.
    public static func decodeJPEGHeader(_ bytes: [UInt8]) -> (width: Int, height: Int)? {
        let n = bytes.count
        guard n >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8,
              bytes[n - 2] == 0xFF, bytes[n - 1] == 0xD9 else { return nil }
        var i = 2
        var frame: (width: Int, height: Int)?
        while i + 1 < n {
            guard bytes[i] == 0xFF else { return nil }
            var marker = bytes[i + 1]
            i += 2
            while marker == 0xFF {                    // fill bytes before a marker
                guard i < n else { return nil }
                marker = bytes[i]
                i += 1
            }
            switch marker {
            case 0x01, 0xD0...0xD7:                   // standalone markers, no length
                continue
            case 0xD8, 0xD9, 0x00:                    // SOI/EOI before any scan: invalid
                return nil
            default:
                break
            }
            guard i + 1 < n else { return nil }
            let length = Int(bytes[i]) << 8 | Int(bytes[i + 1])
            guard length >= 2, i + length <= n else { return nil }
            switch marker {
            case 0xC0...0xC3, 0xC5...0xC7, 0xC9...0xCB, 0xCD...0xCF:
                guard length >= 8 else { return nil }
                let height = Int(bytes[i + 3]) << 8 | Int(bytes[i + 4])
                let width = Int(bytes[i + 5]) << 8 | Int(bytes[i + 6])
                guard width > 0, height > 0 else { return nil }
                frame = (width, height)
            case 0xDA:                                // start of scan: header complete
                return frame
            default:
                break
            }
            i += length
        }
        return nil
    }
}

/// Small JPEG previews of large ones, made with libjpeg's DCT scaling (the decoder skips
/// the work for the pixels it drops), for the QC report's gallery.
public enum JPEGThumbnail {
    public struct Result: Sendable {
        public var jpeg: [UInt8]
        public var width: Int
        public var height: Int
        /// The source image's size.
        public var fullWidth: Int
        public var fullHeight: Int
    }

    /// The largest libjpeg scale denominator (1, 2, 4 or 8) that keeps the width at least
    /// `minWidth` (1 when the image is already narrower).
    public static func scaleDenominator(width: Int, minWidth: Int) -> Int {
        [8, 4, 2].first { (width + $0 - 1) / $0 >= minWidth } ?? 1
    }

    /// Decodes `data` scaled so its width stays at least `minWidth`, and encodes the
    /// result at `quality`. Nil when `data` is not a JPEG libjpeg can read.
    public static func make(from data: [UInt8], minWidth: Int, quality: Int = 80) -> Result? {
        guard let header = SceneRenderer.decodeJPEGHeader(data) else { return nil }
        let denominator = scaleDenominator(width: header.width, minWidth: minWidth)
        var pixels: UnsafeMutablePointer<UInt8>?
        var width: Int32 = 0, height: Int32 = 0, fullWidth: Int32 = 0, fullHeight: Int32 = 0
        let status = data.withUnsafeBufferPointer { buffer in
            synthset_jpeg_decode_scaled(buffer.baseAddress, UInt(buffer.count), Int32(denominator), &pixels,
                                        &width, &height, &fullWidth, &fullHeight)
        }
        guard status == 0, let pixels else { return nil }
        defer { free(pixels) }
        let rgb = Array(UnsafeBufferPointer(start: pixels, count: Int(width) * Int(height) * 3))
        guard let jpeg = SceneRenderer.encodeJPEG(rgb: rgb, width: Int(width), height: Int(height), quality: quality) else {
            return nil
        }
        return Result(jpeg: jpeg, width: Int(width), height: Int(height), fullWidth: Int(fullWidth), fullHeight: Int(fullHeight))
    }
}
