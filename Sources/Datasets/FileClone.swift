import Foundation

#if os(Linux)
import Glibc

/// A reflink: `ioctl(FICLONE)` makes the target share the source's extents
/// copy-on-write (Btrfs, XFS, bcachefs), instant and free, yet an independent file:
/// writing either leaves the other as it was. File systems without it refuse, and the
/// caller copies the bytes.
enum FileClone {
    /// `FICLONE` from `<linux/fs.h>`: `_IOW(0x94, 9, int)`.
    static let ficlone: UInt = 0x4004_9409

    /// Clones `source` to a new file `target`; false (with no target left) when the
    /// file system cannot, so the caller can fall back to a plain copy.
    static func clone(_ source: String, to target: String) -> Bool {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { return false }
        defer { close(input) }
        var info = stat()
        guard fstat(input, &info) == 0 else { return false }
        let output = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, info.st_mode & 0o777)
        guard output >= 0 else { return false }
        let ok = ioctl(output, ficlone, input) == 0
        close(output)
        if !ok { unlink(target) }
        return ok
    }
}
#endif
