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
        self.init(info)
    }

    /// The status of `path` relative to the open folder `directory` (``Folder``): the
    /// kernel walks only the relative part, and no absolute path string is made (200,000
    /// of each on a no-op re-run of 100,000 images).
    init?(_ path: String, in directory: Folder) {
        var info = stat()
        guard fstatat(directory.descriptor, path, &info, 0) == 0 else { return nil }
        self.init(info)
    }

    private init(_ info: stat) {
        size = Int64(info.st_size)
        isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// A folder held open for ``init(_:in:)``, closed when the last reference goes.
    final class Folder: Sendable {
        let descriptor: Int32

        /// Nil when the folder cannot be opened.
        init?(path: String) {
            let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard descriptor >= 0 else { return nil }
            self.descriptor = descriptor
        }

        deinit { close(descriptor) }
    }
}
