import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One `stat(2)` of a path: what resume and output checks need (size, folder or not).
///
/// `FileManager.attributesOfItem` answers the same question with a dictionary of a
/// dozen attributes, and on Linux looks up the owner's and group's names for each call;
/// at 100,000 outputs that is most of a no-op re-run.
struct FileStatus: Equatable {
    var size: Int64
    var isDirectory: Bool

    /// The status of `path` (following symbolic links), or nil when nothing is there.
    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        size = Int64(info.st_size)
        isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
    }
}
