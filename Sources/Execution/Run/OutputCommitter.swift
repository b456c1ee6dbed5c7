import Basics
import Datasets
import Crypto
import Foundation
import Planning
import WorkflowSpec
import WorkspaceStore

/// A file a tool wrote into scratch space for one item, waiting for verification.
public struct ProducedOutput: Sendable {
    public var itemID: String
    /// The item's main output in scratch space.
    public var file: URL
    /// Companion files (ground truth, prompt sidecars) and the workspace-relative path
    /// each goes to. They are moved before the main file, so a main file in place
    /// implies its companions are.
    public var companions: [(file: URL, destination: String)]

    public init(itemID: String, file: URL, companions: [(file: URL, destination: String)] = []) {
        self.itemID = itemID
        self.file = file
        self.companions = companions
    }
}

/// Why an output was refused.
public struct OutputRejected: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// Verifies an output, hashes it and renames it into place: a crash never leaves a
/// half-written file where a finished one is expected.
struct OutputCommitter: Sendable {
    let workspace: Workspace

    /// Checks an output before it is accepted. `expectedFrames`: the frame count a clip
    /// must have, checked with ffprobe when it is installed.
    func verify(_ output: ProducedOutput, kind: ToolKind.Output, expectedFrames: Int? = nil) async throws {
        let path = output.file.path
        let name = output.file.lastPathComponent
        // A link is never an output: it could point anywhere (outside the workspace, at
        // a file another step rewrites) and its target is not ours to commit.
        let (entry, size) = WholeFile.status(output.file)
        switch entry {
        case .missing: throw OutputRejected(description: "the tool did not write \(name)")
        case .symlink: throw OutputRejected(description: "\(name) is a symbolic link, not a file the tool wrote")
        case .other: throw OutputRejected(description: "\(name) is not a regular file")
        case .directory:
            guard kind.isFolder else { throw OutputRejected(description: "\(name) is a folder, expected a file") }
            return
        case .file:
            if kind.isFolder { throw OutputRejected(description: "expected a \(kind.rawValue) folder at \(path)") }
        }
        for companion in output.companions where WholeFile.entry(companion.file) != .file {
            throw OutputRejected(description: "\(companion.file.lastPathComponent) (beside \(name)) is missing or not a regular file")
        }
        // A regular file (checked above), so lstat's size is the file's.
        guard size > 0 else { throw OutputRejected(description: "\(name) is empty") }
        switch kind == .file ? Self.kind(byExtension: output.file.pathExtension) : kind {
        case .image:
            let head = MediaProbe.head(output.file)
            guard MediaProbe.imageSize(head) != nil else {
                throw OutputRejected(description: "\(name) is not a decodable JPEG or PNG")
            }
            if let problem = WholeFile.imageProblem(output.file, head: head) { throw OutputRejected(description: problem) }
        case .video:
            guard MediaProbe.isMP4(MediaProbe.head(output.file)) else { throw OutputRejected(description: "\(name) is not an MP4 file") }
            if let problem = WholeFile.mp4Problem(output.file) { throw OutputRejected(description: problem) }
            if let expectedFrames, let frames = try await MediaProbe.videoFrames(output.file), frames != expectedFrames {
                throw OutputRejected(description: "\(name) has \(frames) frames, expected \(expectedFrames)")
            }
        case .labels, .upload:
            if let problem = WholeFile.jsonProblem(output.file) { throw OutputRejected(description: problem) }
        case .dataset, .model, .file:
            break
        }
    }

    /// What a tool's file is by its extension, for tools that declare no kind (`command`):
    /// JPEG and PNG are checked as images, MP4 as clips, JSON as JSON.
    static func kind(byExtension ext: String) -> ToolKind.Output {
        switch ext.lowercased() {
        case "jpg", "jpeg", "png": .image
        case "mp4", "m4v": .video
        case "json": .labels
        default: .file
        }
    }

    /// Whether `output` is files (no folder) of at most 1 MiB in all: a few milliseconds
    /// of hashing at most.
    static func isSmall(_ output: ProducedOutput) -> Bool {
        var total: Int64 = 0
        for file in [output.file] + output.companions.map(\.file) {
            guard let status = FileStatus(path: file.path), !status.isDirectory else { return false }
            total += status.size
            if total > 1 << 20 { return false }
        }
        return true
    }

    /// Moves companions then the main file into place; returns the main file's sha256
    /// and size, and every other file the item consists of (its companions, the files
    /// inside a folder output) with theirs, so later runs can check them one by one.
    func commit(_ output: ProducedOutput, to destination: String) throws -> (sha256: String, bytes: Int64, files: [ItemFile]) {
        var files: [ItemFile] = []
        let digest: (sha256: String, bytes: Int64)
        if WholeFile.entry(output.file) == .directory {
            let listing = try Self.folderListing(output.file)
            digest = Self.folderDigest(listing)
            files = listing.map { ItemFile(path: destination + "/" + $0.path, bytes: $0.bytes, sha256: $0.sha256) }
        } else {
            digest = try Self.sha256(ofFileAt: output.file.path)
        }
        for companion in output.companions {
            let (sha256, bytes) = try Self.sha256(of: companion.file)
            files.append(ItemFile(path: companion.destination, bytes: bytes, sha256: sha256))
        }
        for companion in output.companions {
            try place(companion.file, at: workspace.url(companion.destination))
        }
        try place(output.file, at: workspace.url(destination))
        return (digest.sha256, digest.bytes, files)
    }

    private func place(_ source: URL, at target: URL) throws {
        // The target's folder is there but for the first output of a step: made then.
        var moved = Foundation.rename(source.path, target.path) == 0
        if !moved && errno == ENOENT && FileManager.default.fileExists(atPath: source.path) {
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            moved = Foundation.rename(source.path, target.path) == 0
        }
        if !moved {
            let code = errno
            // A folder cannot replace a folder with rename(2): move the old one aside first.
            if code == ENOTEMPTY || code == EEXIST {
                let aside = target.deletingLastPathComponent().appendingPathComponent(".old-\(UUID().uuidString)")
                try FileManager.default.moveItem(at: target, to: aside)
                try FileManager.default.moveItem(at: source, to: target)
                try? FileManager.default.removeItem(at: aside)
                return
            }
            throw OutputRejected(description: "cannot move output into place at \(target.path): \(String(cString: strerror(code)))")
        }
    }

    /// SHA-256 of a file, or of a folder (sorted relative paths and their files' hashes).
    static func sha256(of url: URL) throws -> (sha256: String, bytes: Int64) {
        if FileStatus(path: url.path)?.isDirectory == true { return folderDigest(try folderListing(url)) }
        return try sha256(ofFileAt: url.path)
    }

    /// SHA-256 and size of one file, read in 64 KiB pieces with plain `read(2)`.
    static func sha256(ofFileAt path: String) throws -> (sha256: String, bytes: Int64) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw OutputRejected(description: "cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { buffer.deallocate() }
        var hasher = SHA256()
        var total: Int64 = 0
        while true {
            let count = read(fd, buffer.baseAddress, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw OutputRejected(description: "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            total += Int64(count)
        }
        return (ContentHash.hex(hasher.finalize()), total)
    }

    /// Every file inside a folder (sorted relative paths), with its hash and size; the
    /// files are hashed on every core (an export folder holds a few files per image).
    /// Hard links (an export's format folders share the copy in `images/`) are read once:
    /// a later path of an inode already hashed is only checked, by `stat`, to still be
    /// that inode with that size.
    static func folderListing(_ url: URL) throws -> [ItemFile] {
        let root = url.path
        let entries = try files(under: root).sorted { $0.path < $1.path }
        var firstOfInode: [UInt64: Int] = [:]
        var sameAs = [Int?](repeating: nil, count: entries.count)
        for (index, entry) in entries.enumerated() where entry.inode != 0 {
            if let first = firstOfInode[entry.inode] { sameAs[index] = first } else { firstOfInode[entry.inode] = index }
        }
        let linked = sameAs
        let hashed = Parallel.map(entries.count) { index -> Result<(sha256: String, bytes: Int64), any Error>? in
            linked[index] == nil ? Result { try sha256(ofFileAt: root + "/" + entries[index].path) } : nil
        }
        return try entries.indices.map { index in
            let path = entries[index].path
            if let first = sameAs[index], let (hash, bytes) = try? hashed[first]?.get() {
                var info = stat()
                if stat(root + "/" + path, &info) == 0, UInt64(info.st_ino) == entries[index].inode, Int64(info.st_size) == bytes {
                    return ItemFile(path: path, bytes: bytes, sha256: hash)
                }
            }
            let (hash, bytes) = try hashed[index]?.get() ?? sha256(ofFileAt: root + "/" + path)
            return ItemFile(path: path, bytes: bytes, sha256: hash)
        }
    }

    /// The files under `root` (relative paths, with the inode number `readdir(3)` gives,
    /// 0 when it gives none), found with `readdir(3)`: regular files, and links to them;
    /// folders are walked (links to folders are not).
    static func files(under root: String) throws -> [(path: String, inode: UInt64)] {
        var found: [(path: String, inode: UInt64)] = []
        var pending = [""]
        while let relative = pending.popLast() {
            let folder = relative.isEmpty ? root : root + "/" + relative
            guard let directory = opendir(folder) else {
                throw OutputRejected(description: "cannot list \(folder): \(String(cString: strerror(errno)))")
            }
            defer { closedir(directory) }
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name == "." || name == ".." { continue }
                let path = relative.isEmpty ? name : relative + "/" + name
                switch Int32(entry.pointee.d_type) {
                case Int32(DT_DIR): pending.append(path)
                case Int32(DT_REG): found.append((path, UInt64(entry.pointee.d_ino)))
                default:
                    // A link (or a file system that does not say): what it is, followed.
                    var info = stat()
                    guard stat(root + "/" + path, &info) == 0 else { continue }
                    let kind = info.st_mode & S_IFMT
                    if kind == S_IFREG {
                        found.append((path, 0))  // a symbolic link's entry is not its target's inode
                    } else if kind == S_IFDIR && Int32(entry.pointee.d_type) == Int32(DT_UNKNOWN) {
                        pending.append(path)
                    }
                }
            }
        }
        return found
    }

    /// A folder's hash: of its listing, one `hash  path` line per file.
    static func folderDigest(_ listing: [ItemFile]) -> (sha256: String, bytes: Int64) {
        let manifest = listing.map { "\($0.sha256)  \($0.path)\n" }.joined()
        return (ContentHash.sha256(manifest), listing.reduce(0) { $0 + $1.bytes })
    }
}
