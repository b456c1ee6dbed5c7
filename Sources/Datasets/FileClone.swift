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

    /// A reflink where the file system can, else the bytes copied in the kernel
    /// (`sendfile`), on one pair of descriptors; false (with no target left) when neither
    /// works, so the caller can fall back to FileManager. An export places every image
    /// up to three times: a failed clone followed by `FileManager.copyItem` opened,
    /// stat'ed and unlinked each file over again, most of exporting 100,000 images.
    static func cloneOrCopy(_ source: String, to target: String) -> Bool {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { return false }
        defer { close(input) }
        var info = stat()
        guard fstat(input, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return false }
        let output = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, info.st_mode & 0o777)
        guard output >= 0 else { return false }
        var ok = ioctl(output, ficlone, input) == 0
        if !ok {
            var remaining = Int(info.st_size)
            ok = true
            while remaining > 0 {
                let sent = sendfile(output, input, nil, remaining)
                if sent < 0 && errno == EINTR { continue }
                if sent <= 0 { ok = false; break }
                remaining -= sent
            }
        }
        close(output)
        if !ok { unlink(target) }
        return ok
    }
}
#endif
