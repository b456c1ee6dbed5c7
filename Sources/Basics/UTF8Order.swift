import Foundation

/// The order of strings by their UTF-8 bytes: SQLite's `BINARY` collation, and the order
/// `JSONEncoder`'s `.sortedKeys` writes keys in on Linux (swift-foundation `JSONWriter`).
/// Swift's own `<` agrees only for normalized text.
package enum UTF8Order {
    package static func precedes(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                let shared = min(x.count, y.count)
                let order = shared == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, shared)
                return order != 0 ? order < 0 : x.count < y.count
            }
        }
    }
}
