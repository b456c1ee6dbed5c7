import Yams

extension StepParser {
    /// A `[height, width]` list or an `"H,W"` string at `key`, as "H,W"; nil when the key
    /// is absent or says "none" (the tool's own size). Anything else is a located error
    /// with `hint` (`why` says what the tool does with it).
    package func heightWidth(_ key: String, why: String, hint: String) -> String? {
        guard let node = node(key) else { return nil }
        var size: [Int]?
        if let list = node.sequence {
            let values = list.compactMap { reader.int($0, path(key)) }
            if values.count == list.count { size = values } else { return nil }  // reported by reader.int
        } else if let scalar = node.scalar, node.tagName != .int {
            if scalar.string == "none" { return nil }
            let parts = scalar.string.split(separator: ",", omittingEmptySubsequences: false)
                .map { Int($0.trimmingCharacters(in: .whitespaces)) }
            if parts.allSatisfy({ $0 != nil }) { size = parts.compactMap { $0 } }
        }
        if let size, size.count == 2, size.allSatisfy({ $0 > 0 }) { return "\(size[0]),\(size[1])" }
        reader.error("\(key) \(NodeReader.describe(node)) is not [height, width]: \(why)", hint: hint, at: node)
        return nil
    }

    /// Reports an error at the key of option `name` (or at `options:`).
    package func optionError(_ name: String, _ message: String, hint: String) {
        let options = node("options")
        let at = options.flatMap { reader.entries($0, path("options"))?.first { $0.key == name }?.keyNode }
        reader.error(message, hint: hint, at: at ?? options ?? fields.node)
    }
}
