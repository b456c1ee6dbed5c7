import Foundation

/// Reads the commit a git checkout is at from its `.git` folder, without running git
/// (loading a manifest must stay cheap): `HEAD` holds a commit or a ref, resolved through
/// `refs/` or `packed-refs`; a worktree's or submodule's `.git` file points at its folder.
enum GitCheckout {
    static func head(of root: URL) -> String? {
        guard var gitDirectory = gitDirectory(of: root),
              var head = read(gitDirectory.appendingPathComponent("HEAD")) else { return nil }
        // A linked worktree keeps its refs in the main repository ("commondir").
        let common = read(gitDirectory.appendingPathComponent("commondir")).map { path in
            path.hasPrefix("/") ? URL(fileURLWithPath: path) : gitDirectory.appendingPathComponent(path).standardizedFileURL
        }
        for _ in 0..<5 {
            guard head.hasPrefix("ref: ") else { return isCommit(head) ? head : nil }
            let ref = String(head.dropFirst(5))
            if let value = read(gitDirectory.appendingPathComponent(ref)) ?? common.flatMap({ read($0.appendingPathComponent(ref)) }) {
                head = value
                continue
            }
            let packed = read(gitDirectory.appendingPathComponent("packed-refs")) ?? common.flatMap { read($0.appendingPathComponent("packed-refs")) }
            guard let line = packed?.split(separator: "\n").first(where: { $0.hasSuffix(" " + ref) }) else { return nil }
            head = String(line.prefix { $0 != " " })
            gitDirectory = gitDirectory.standardizedFileURL
        }
        return nil
    }

    private static func gitDirectory(of root: URL) -> URL? {
        let dotGit = root.appendingPathComponent(".git")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dotGit.path, isDirectory: &isDirectory) else { return nil }
        if isDirectory.boolValue { return dotGit }
        guard let pointer = read(dotGit), pointer.hasPrefix("gitdir: ") else { return nil }
        let path = String(pointer.dropFirst(8))
        return path.hasPrefix("/") ? URL(fileURLWithPath: path) : root.appendingPathComponent(path).standardizedFileURL
    }

    private static func read(_ url: URL) -> String? {
        guard let data = FileManager.default.contents(atPath: url.path), data.count < 1 << 16 else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }

    private static func isCommit(_ text: String) -> Bool {
        (text.count == 40 || text.count == 64) && text.allSatisfy(\.isHexDigit)
    }
}
