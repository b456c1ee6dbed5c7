/// The parts of a `/`-separated path, by plain byte work: what `NSString`'s
/// `lastPathComponent`, `pathExtension` and `deletingPathExtension` give for the paths
/// synthset makes (tested against Foundation), without the bridge, which cost most of
/// planning and exporting 100,000 items.
package enum PathParts {
    /// The last component (`abc.jpg` of `outputs/s/abc.jpg`).
    package static func fileName(of path: String) -> String {
        let utf8 = path.utf8
        guard let slash = utf8.lastIndex(of: UInt8(ascii: "/")) else { return path }
        return String(Substring(utf8[utf8.index(after: slash)...]))
    }

    /// `path` without the extension of its last component (a leading dot is no extension).
    package static func withoutExtension(_ path: String) -> String {
        guard let dot = extensionDot(path) else { return path }
        return String(Substring(path.utf8[..<dot]))
    }

    /// The last component's extension, without the dot; empty when it has none.
    package static func pathExtension(_ path: String) -> String {
        guard let dot = extensionDot(path) else { return "" }
        return String(Substring(path.utf8[path.utf8.index(after: dot)...]))
    }

    /// Where the last component's extension dot is, when it has one.
    private static func extensionDot(_ path: String) -> String.UTF8View.Index? {
        let utf8 = path.utf8
        let name = utf8.lastIndex(of: UInt8(ascii: "/")).map { utf8.index(after: $0) } ?? utf8.startIndex
        guard let dot = utf8[name...].lastIndex(of: UInt8(ascii: ".")), dot > name else { return nil }
        return dot
    }
}
