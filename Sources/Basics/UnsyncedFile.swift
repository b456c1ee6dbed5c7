import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Files written without a disk flush each, made durable together by one
/// ``syncFileSystem(containing:)``.
///
/// `Data.write(to:)` on Linux calls `fsync(2)` after every file, atomic or not: about
/// 2 ms each here, so an export of 100,000 images (400,000 files) spent 13 minutes
/// waiting for the disk. Outputs are written into scratch space, renamed into place,
/// and only then recorded done; the executor syncs the file system once before the
/// store transaction that marks a group of items done (see `DoneRecorder`), which is
/// the one ordering crash safety needs: no done record can reach the disk before the
/// files it vouches for.
package enum UnsyncedFile {
    /// A write that failed, with the path and the system's reason.
    package struct WriteError: Error, CustomStringConvertible {
        package var path: String
        package var reason: String
        package var description: String { "cannot write \(path): \(reason)" }
    }

    /// Writes `data` to `url` (created, or truncated when it exists), with no fsync;
    /// `creatingFolders`: the folders above it are made when missing (looked for only then).
    package static func write(_ data: Data, to url: URL, creatingFolders: Bool = false) throws {
        try write(data, toPath: url.path, creatingFolders: creatingFolders)
    }

    /// ``write(_:to:creatingFolders:)`` by path.
    package static func write(_ data: Data, toPath path: String, creatingFolders: Bool = false) throws {
        let flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC
        let fd: Int32
        do {
            fd = creatingFolders ? try openCreatingFolder(path, flags: flags, mode: 0o666) : open(path, flags, 0o666)
        } catch {
            throw WriteError(path: path, reason: "cannot create \((path as NSString).deletingLastPathComponent): \(error)")
        }
        guard fd >= 0 else { throw WriteError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard data.withUnsafeBytes({ writeAll($0, to: fd) }) else {
            throw WriteError(path: path, reason: String(cString: strerror(errno)))
        }
    }

    /// Writes all of `bytes` to `fd` (again after a short write or EINTR); false, with
    /// `errno` set, when a write fails.
    @discardableResult
    package static func writeAll(_ bytes: UnsafeRawBufferPointer, to fd: Int32) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = Foundation.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            if written == 0 { return false }
            offset += written
        }
        return true
    }

    /// `open(2)` of a file to create; when its folder is missing, the folder (and those
    /// above it) is made and the open tried once more, so an existing folder costs no
    /// lookups. Returns the descriptor, or -1 with `errno` set; throws the folder's error.
    package static func openCreatingFolder(_ path: String, flags: Int32, mode: mode_t) throws -> Int32 {
        let fd = open(path, flags, mode)
        guard fd < 0 && errno == ENOENT else { return fd }
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        return open(path, flags, mode)
    }

    /// Flushes everything written so far on the file system that holds `path` (file data,
    /// new names, renames) to the disk: `syncfs(2)` on Linux, `sync(2)` elsewhere.
    package static func syncFileSystem(containing path: String) throws {
        #if os(Linux)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw WriteError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard linuxSyncfs(fd) == 0 else { throw WriteError(path: path, reason: "syncfs: " + String(cString: strerror(errno))) }
        #else
        sync()
        #endif
    }
}

#if os(Linux)
/// `syncfs(2)` from glibc; Swift's Glibc module leaves out the GNU extensions.
@_silgen_name("syncfs")
private func linuxSyncfs(_ fd: Int32) -> Int32
#endif
