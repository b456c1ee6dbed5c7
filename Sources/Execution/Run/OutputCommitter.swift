import Crypto
import Foundation
import Planning
import WorkflowSpec

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
    func verify(_ output: ProducedOutput, kind: ToolKind.Output, expectedFrames: Int? = nil) throws {
        let path = output.file.path
        guard let status = FileStatus(path: path) else {
            throw OutputRejected(description: "the tool did not write \(output.file.lastPathComponent)")
        }
        if kind == .dataset {
            guard status.isDirectory else { throw OutputRejected(description: "expected a dataset folder at \(path)") }
            return
        }
        guard status.size > 0 else { throw OutputRejected(description: "\(output.file.lastPathComponent) is empty") }
        let head = MediaProbe.head(output.file)
        switch kind {
        case .image:
            guard MediaProbe.imageSize(head) != nil else {
                throw OutputRejected(description: "\(output.file.lastPathComponent) is not a decodable JPEG or PNG")
            }
        case .video:
            guard MediaProbe.isMP4(head) else { throw OutputRejected(description: "\(output.file.lastPathComponent) is not an MP4 file") }
            if let expectedFrames, let frames = try MediaProbe.videoFrames(output.file), frames != expectedFrames {
                throw OutputRejected(description: "\(output.file.lastPathComponent) has \(frames) frames, expected \(expectedFrames)")
            }
        case .labels, .upload:
            guard let data = FileManager.default.contents(atPath: path),
                  (try? JSONSerialization.jsonObject(with: data)) != nil else {
                throw OutputRejected(description: "\(output.file.lastPathComponent) is not valid JSON")
            }
        case .dataset, .file:
            break
        }
    }

    /// Moves companions then the main file into place; returns sha256 and size.
    func commit(_ output: ProducedOutput, to destination: String) throws -> (sha256: String, bytes: Int64) {
        let digest = try Self.sha256(of: output.file)
        for companion in output.companions {
            try place(companion.file, at: workspace.url(companion.destination))
        }
        try place(output.file, at: workspace.url(destination))
        return digest
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
        guard FileStatus(path: url.path)?.isDirectory == true else { return try sha256(ofFile: url.path) }
        // One stat per entry, and the lookup-table hex of ContentHash: an export folder
        // holds a few files per image, so this runs 400,000 times for 100,000 images.
        let base = url.path.hasSuffix("/") ? url.path : url.path + "/"
        let files = (FileManager.default.enumerator(atPath: url.path)?.allObjects as? [String] ?? []).sorted()
        var manifest = ""
        var total: Int64 = 0
        for file in files {
            guard let status = FileStatus(path: base + file), !status.isDirectory else { continue }
            let (hash, bytes) = try sha256(ofFile: base + file)
            manifest += "\(hash)  \(file)\n"
            total += bytes
        }
        return (ContentHash.sha256(manifest), total)
    }

    /// SHA-256 and size of one regular file.
    private static func sha256(ofFile path: String) throws -> (sha256: String, bytes: Int64) {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var hasher = SHA256()
        var total: Int64 = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
            total += Int64(chunk.count)
        }
        return (ContentHash.hex(hasher.finalize()), total)
    }
}
