import Basics
import Foundation
import SceneFormats
import Synchronization
import WorkflowSpec

extension CanonicalJSONWriter {
    /// An object of option values, keys sorted.
    func options(_ values: [String: OptionValue]) {
        let keys = values.keys.sorted()
        object {
            for key in keys {
                self.key(key)
                switch values[key]! {
                case .bool(let flag): self.raw(flag ? "true" : "false")
                case .int(let number): self.raw(String(number))
                case .number(let number): self.number(number)
                case .string(let text): self.string(text)
                }
            }
        }
    }
}

/// Scene descriptions are large and shared by every item of a step: encode each once.
final class SceneJSONCache: Sendable {
    static let shared = SceneJSONCache()
    private let cache = Mutex<[SceneSpec: String]>([:])

    func json(_ scene: SceneSpec) -> String {
        if let hit = cache.withLock({ $0[scene] }) { return hit }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let text = String(decoding: (try? encoder.encode(scene)) ?? Data(), as: UTF8.self)
        cache.withLock { $0[scene] = text }
        return text
    }
}
