import Foundation
import Yams

/// Reads a composed YAML `Node` tree into typed values, turning every mismatch into a
/// located diagnostic instead of stopping at the first one.
///
/// Codable decoding stops at the first error and ignores unknown keys; a manifest must
/// report every problem with its line and column, so the loader walks the node tree
/// through this reader instead.
package final class NodeReader {
    package let file: String
    package let text: String
    package private(set) var bag = DiagnosticBag()
    /// Where each dotted path (`steps.clips.model`) was written, for errors found later
    /// (a VRAM misfit is found by the planner but belongs on the `model:` line).
    package private(set) var sourceMap: [String: SourceLocation] = [:]

    package init(file: String, text: String) {
        self.file = file
        self.text = text
    }

    // MARK: Locations and reporting

    package func location(_ node: Node?) -> SourceLocation? {
        guard let mark = node?.mark else { return nil }
        return SourceLocation(file: file, line: mark.line, column: mark.column)
    }

    package func snippet(_ node: Node?) -> String? {
        node?.mark?.snippet(from: text)
    }

    package func error(_ message: String, hint: String? = nil, at node: Node?) {
        bag.append(Diagnostic(.error, message, hint: hint, at: location(node), snippet: snippet(node)))
    }

    package func warning(_ message: String, hint: String? = nil, at node: Node?) {
        bag.append(Diagnostic(.warning, message, hint: hint, at: location(node), snippet: snippet(node)))
    }

    package func append(_ diagnostic: Diagnostic) {
        bag.append(diagnostic)
    }

    /// Forgets the collected diagnostics (after they were handed to another reader).
    package func clear() {
        bag = DiagnosticBag()
    }

    // MARK: Typed scalars

    package static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            if scalar.string.isEmpty || node.tagName == .null { return "nothing (null)" }
            switch node.tagName {
            case .bool: return "a boolean '\(scalar.string)'"
            case .int: return "an integer '\(scalar.string)'"
            case .float: return "a number '\(scalar.string)'"
            default: return "the text '\(shortened(scalar.string))'"
            }
        }
    }

    /// What kind of node this is, without any of its text: for files that are not the
    /// manifest (a prompt file may be a link to anything), whose content is never echoed.
    package static func describeKind(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar: return node.tagName == .null ? "nothing (null)" : "a single value (plain text)"
        }
    }

    /// The first line of `text`, at most 60 characters: a message quotes a value, never
    /// pages of it.
    static func shortened(_ text: String) -> String {
        let line = text.prefix { $0 != "\n" && $0 != "\r" }
        return line.count > 60 || line.count < text.count ? String(line.prefix(60)) + "…" : String(line)
    }

    private func typeError(_ path: String, expected: String, node: Node, hint: String? = nil) {
        error("\(path): expected \(expected), found \(Self.describe(node))", hint: hint ?? "write \(expected) here", at: node)
    }

    /// A string scalar. Numbers and booleans are accepted as their text only where the
    /// caller says so (prompt vars such as `[1, 2]` are text).
    package func string(_ node: Node, _ path: String, allowNonText: Bool = false) -> String? {
        guard case .scalar(let scalar) = node, node.tagName != .null || !scalar.string.isEmpty else {
            typeError(path, expected: "a string", node: node)
            return nil
        }
        if !allowNonText, node.tagName != .str {
            typeError(path, expected: "a string", node: node, hint: "quote it if you mean the text \"\(scalar.string)\"")
            return nil
        }
        return scalar.string
    }

    package func int(_ node: Node, _ path: String) -> Int? {
        if node.tagName == .int, let value = node.int { return value }
        typeError(path, expected: "an integer", node: node)
        return nil
    }

    package func double(_ node: Node, _ path: String) -> Double? {
        if node.tagName == .int, let value = node.int { return Double(value) }
        if node.tagName == .float, let value = node.float, value.isFinite { return value }
        typeError(path, expected: "a number", node: node)
        return nil
    }

    package func bool(_ node: Node, _ path: String) -> Bool? {
        if node.tagName == .bool, let value = node.bool { return value }
        typeError(path, expected: "true or false", node: node)
        return nil
    }

    package func sequence(_ node: Node, _ path: String) -> [Node]? {
        guard case .sequence(let seq) = node else {
            typeError(path, expected: "a list", node: node)
            return nil
        }
        return Array(seq)
    }

    /// A string or a list of strings (`from: images` and `from: [images, frames]`).
    package func stringList(_ node: Node, _ path: String) -> [String]? {
        if case .sequence(let seq) = node {
            let values = seq.enumerated().compactMap { string($1, "\(path)[\($0)]") }
            return values.count == seq.count ? values : nil
        }
        return string(node, path).map { [$0] }
    }

    /// A two-element `[min, max]` list, or a single number meaning `[n, n]`.
    package func doubleRange(_ node: Node, _ path: String) -> ClosedRange<Double>? {
        if case .sequence(let seq) = node {
            guard seq.count == 2 else {
                error("\(path): expected [min, max], found a list of \(seq.count)", hint: "write two numbers, e.g. [0.1, 0.3]", at: node)
                return nil
            }
            guard let low = double(seq[0], "\(path)[0]"), let high = double(seq[1], "\(path)[1]") else { return nil }
            guard low <= high else {
                error("\(path): min \(low) is greater than max \(high)", hint: "write [min, max] in that order", at: node)
                return nil
            }
            return low...high
        }
        return double(node, path).map { $0...$0 }
    }

    package func intRange(_ node: Node, _ path: String) -> ClosedRange<Int>? {
        if case .sequence(let seq) = node {
            guard seq.count == 2 else {
                error("\(path): expected [min, max], found a list of \(seq.count)", hint: "write two integers, e.g. [1, 4]", at: node)
                return nil
            }
            guard let low = int(seq[0], "\(path)[0]"), let high = int(seq[1], "\(path)[1]") else { return nil }
            guard low <= high else {
                error("\(path): min \(low) is greater than max \(high)", hint: "write [min, max] in that order", at: node)
                return nil
            }
            return low...high
        }
        return int(node, path).map { $0...$0 }
    }

    // MARK: Mappings

    /// Reads a mapping whose keys are known, reporting unknown keys (with a suggestion
    /// and the valid set) and missing required keys.
    package func fields(_ node: Node, _ path: String, allowed: [String], required: [String] = [],
                        context: String? = nil) -> Fields? {
        guard let entries = entries(node, path) else { return nil }
        var values: [String: Node] = [:]
        var keyNodes: [String: Node] = [:]
        for entry in entries {
            if allowed.contains(entry.key) {
                let keyPath = path.isEmpty ? entry.key : "\(path).\(entry.key)"
                sourceMap[keyPath] = location(entry.keyNode)
                values[entry.key] = entry.value
                keyNodes[entry.key] = entry.keyNode
            } else {
                let where_ = context ?? (path.isEmpty ? "the manifest" : path)
                var hint = "valid keys: \(allowed.joined(separator: ", "))"
                if let guess = Self.closest(to: entry.key, in: allowed) {
                    hint = "did you mean '\(guess)'? " + hint
                }
                error("unknown key '\(entry.key)' in \(where_)", hint: hint, at: entry.keyNode)
            }
        }
        for key in required where values[key] == nil {
            let where_ = context ?? (path.isEmpty ? "the manifest" : path)
            error("\(where_) is missing required key '\(key)'", hint: "add '\(key):'", at: node)
        }
        return Fields(node: node, path: path, values: values, keyNodes: keyNodes)
    }

    /// The entries of a mapping in file order, with string keys.
    package func record(_ path: String, _ node: Node) {
        sourceMap[path] = location(node)
    }

    package func entries(_ node: Node, _ path: String) -> [(key: String, keyNode: Node, value: Node)]? {
        guard case .mapping(let mapping) = node else {
            typeError(path, expected: "a mapping", node: node)
            return nil
        }
        var result: [(key: String, keyNode: Node, value: Node)] = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                error("\(path): keys must be plain text", at: keyNode)
                continue
            }
            result.append((key, keyNode, value))
        }
        return result
    }

    /// The known keys of one mapping, with their nodes for later located errors.
    package struct Fields {
        package let node: Node
        package let path: String
        package let values: [String: Node]
        package let keyNodes: [String: Node]

        package subscript(key: String) -> Node? { values[key] }
        package func path(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
    }

    /// The allowed word closest to `word` by edit distance, if it is close enough to be a typo.
    package static func closest(to word: String, in candidates: [String]) -> String? {
        let scored = candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        return best.1 <= max(1, word.count / 3) ? best.0 : nil
    }

    /// Levenshtein distance, O(m·n) time and O(n) memory.
    package static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

extension Node {
    /// The resolved tag's name (Yams keeps `Tag.name` internal).
    package var tagName: Tag.Name { Tag.Name(rawValue: tag.rawValue) }
}
