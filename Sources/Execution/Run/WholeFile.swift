import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks that a file a tool wrote is whole, not cut short: a tool that dies (or is
/// killed) mid-write leaves a valid header with nothing behind it, which a header
/// check alone accepts.
///
/// Each check reads only the file's end (or, for MP4, its box headers), so it costs
/// the same for a 100 KB image and a 2 GB clip.
enum WholeFile {
    /// What is at a path, without following a symbolic link.
    enum Entry: Equatable {
        case missing, file, directory, symlink, other
    }

    /// The kind of entry at `url` (`lstat`: a link is reported as a link).
    static func entry(_ url: URL) -> Entry {
        status(url).entry
    }

    /// The kind of entry at `url` and its size, from one `lstat`.
    static func status(_ url: URL) -> (entry: Entry, size: Int64) {
        var info = stat()
        guard lstat(url.path, &info) == 0 else { return (.missing, 0) }
        let entry: Entry = switch info.st_mode & S_IFMT {
        case S_IFREG: .file
        case S_IFDIR: .directory
        case S_IFLNK: .symlink
        default: .other
        }
        return (entry, Int64(info.st_size))
    }

    /// Why the image is not whole, or nil when it is: a JPEG must end with its EOI
    /// marker (`FF D9`, optionally followed by zero padding), a PNG with its `IEND` chunk.
    static func imageProblem(_ url: URL, head: [UInt8]) -> String? {
        let tail = Self.tail(url, count: 64)
        if head.count >= 8, head[0] == 0x89, head[1] == 0x50, head[2] == 0x4E, head[3] == 0x47 {
            let iend: [UInt8] = [0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82]
            return tail.count >= 8 && Array(tail.suffix(8)) == iend
                ? nil : "\(url.lastPathComponent) is a truncated PNG (no IEND chunk at its end)"
        }
        var end = tail.count
        while end > 0 && tail[end - 1] == 0x00 { end -= 1 }
        return end >= 2 && tail[end - 2] == 0xFF && tail[end - 1] == 0xD9
            ? nil : "\(url.lastPathComponent) is a truncated JPEG (no end-of-image marker)"
    }

    /// Why the MP4 is not whole, or nil when it is: its top-level boxes must tile the
    /// file exactly and include the `moov` index, without which no player can read it.
    static func mp4Problem(_ url: URL) -> String? {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "cannot read \(url.lastPathComponent)" }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return "cannot read \(url.lastPathComponent)" }
        let size = UInt64(info.st_size)
        var offset: UInt64 = 0
        var sawIndex = false
        var header = [UInt8](repeating: 0, count: 16)
        while offset < size {
            let n = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 16, off_t(offset)) }
            guard n >= 8 else { return "\(url.lastPathComponent) is a truncated MP4 (a box header is cut off)" }
            var boxSize = header[0..<4].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let type = String(decoding: header[4..<8], as: UTF8.self)
            if boxSize == 1 {
                guard n >= 16 else { return "\(url.lastPathComponent) is a truncated MP4 (a box header is cut off)" }
                boxSize = header[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            } else if boxSize == 0 {
                boxSize = size - offset  // "to the end of the file"
            }
            guard boxSize >= 8, boxSize <= size - offset else {
                return "\(url.lastPathComponent) is a truncated MP4 (its '\(type)' box runs past the end of the file)"
            }
            if type == "moov" { sawIndex = true }
            offset += boxSize
        }
        return sawIndex ? nil : "\(url.lastPathComponent) is an incomplete MP4 (no 'moov' index)"
    }

    /// Why the file is not one JSON document, or nil when it is.
    static func jsonProblem(_ url: URL) -> String? {
        guard let data = FileManager.default.contents(atPath: url.path),
              (try? JSONSerialization.jsonObject(with: data)) != nil
        else { return "\(url.lastPathComponent) is not valid JSON (truncated or malformed)" }
        return nil
    }

    /// The last `count` bytes of a file (fewer when it is shorter).
    static func tail(_ url: URL, count: Int) -> [UInt8] {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return [] }
        defer { try? handle.close() }
        guard let end = try? handle.seekToEnd() else { return [] }
        try? handle.seek(toOffset: end > UInt64(count) ? end - UInt64(count) : 0)
        return [UInt8]((try? handle.readToEnd()) ?? Data())
    }
}
