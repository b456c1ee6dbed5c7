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
        switch WholeFile.entry(output.file) {
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
        guard (FileStatus(path: path)?.size ?? 0) > 0 else { throw OutputRejected(description: "\(name) is empty") }
        let head = MediaProbe.head(output.file)
        switch kind == .file ? Self.kind(byExtension: output.file.pathExtension) : kind {
        case .image:
            guard MediaProbe.imageSize(head) != nil else {
                throw OutputRejected(description: "\(name) is not a decodable JPEG or PNG")
            }
            if let problem = WholeFile.imageProblem(output.file, head: head) { throw OutputRejected(description: problem) }
        case .video:
            guard MediaProbe.isMP4(head) else { throw OutputRejected(description: "\(name) is not an MP4 file") }
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
            digest = try Self.sha256(of: output.file)
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
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        if Foundation.rename(source.path, target.path) != 0 {
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

    /// SHA-256 of a file read in 1 MiB chunks, or of a folder (sorted relative paths and
    /// their files' hashes).
    static func sha256(of url: URL) throws -> (sha256: String, bytes: Int64) {
        if FileStatus(path: url.path)?.isDirectory == true { return folderDigest(try folderListing(url)) }
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hasher = SHA256()
        var total: Int64 = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
            total += Int64(chunk.count)
        }
        return (ContentHash.hex(hasher.finalize()), total)
    }

    /// Every file inside a folder (sorted relative paths), with its hash and size.
    static func folderListing(_ url: URL) throws -> [ItemFile] {
        let names = (FileManager.default.enumerator(atPath: url.path)?.allObjects as? [String] ?? []).sorted()
        var files: [ItemFile] = []
        for name in names {
            // One stat per entry: an export folder holds a few files per image.
            let child = url.appendingPathComponent(name)
            if FileStatus(path: child.path)?.isDirectory == true { continue }
            let (hash, bytes) = try sha256(of: child)
            files.append(ItemFile(path: name, bytes: bytes, sha256: hash))
        }
        return files
    }

    /// A folder's hash: of its listing, one `hash  path` line per file.
    static func folderDigest(_ listing: [ItemFile]) -> (sha256: String, bytes: Int64) {
        let manifest = listing.map { "\($0.sha256)  \($0.path)\n" }.joined()
        return (ContentHash.sha256(manifest), listing.reduce(0) { $0 + $1.bytes })
    }
}
