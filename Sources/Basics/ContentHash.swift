import Crypto
import Foundation

/// SHA-256 as lowercase hex, the one hash synthset uses for ids and fingerprints.
public enum ContentHash {
    public static func sha256(_ data: Data) -> String {
        hex(SHA256.hash(data: data))
    }

    /// SHA-256 of raw bytes, without wrapping them in `Data` first.
    public static func sha256(bytes: UnsafeRawBufferPointer) -> String {
        hex(SHA256.hash(data: bytes))
    }

    package static func hex(_ digest: SHA256.Digest) -> String {
        // A lookup table, not String(format:): planning hashes every item, and
        // Foundation's formatting was most of the planner's time.
        String(unsafeUninitializedCapacity: 64) { buffer in
            var index = 0
            digest.withUnsafeBytes { raw in
                for byte in raw {
                    buffer[index] = hexDigits[Int(byte >> 4)]
                    buffer[index + 1] = hexDigits[Int(byte & 0x0F)]
                    index += 2
                }
            }
            return 64
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    public static func sha256(_ text: String) -> String { sha256(Data(text.utf8)) }

    /// SHA-256 of `texts` joined by `separator`, fed piece by piece: the same as hashing
    /// the joined text, without making it (a plan's 100,000 ids are 1.7 MB of it).
    public static func sha256(joining texts: some Sequence<String>, separator: String) -> String {
        var hasher = SHA256()
        var separatorBytes = separator
        var first = true
        for var text in texts {
            if !first { separatorBytes.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) } }
            first = false
            text.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        }
        return hex(hasher.finalize())
    }
}
