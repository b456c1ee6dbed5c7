import Foundation
import WorkflowSpec

/// Small JSON documents for `--json` output.
enum JSONOutput {
    static func encode(_ fields: [String: OptionValue], diagnostics: [Diagnostic]) -> String {
        struct Document: Encodable {
            var fields: [String: OptionValue]
            var diagnostics: [Diagnostic]
            func encode(to encoder: Encoder) throws {
                var container = encoder.container(keyedBy: Key.self)
                for (key, value) in fields { try container.encode(value, forKey: Key(key)) }
                try container.encode(diagnostics, forKey: Key("diagnostics"))
            }
            struct Key: CodingKey {
                var stringValue: String
                var intValue: Int? { nil }
                init(_ string: String) { stringValue = string }
                init?(stringValue: String) { self.stringValue = stringValue }
                init?(intValue: Int) { nil }
            }
        }
        return line(Document(fields: fields, diagnostics: diagnostics))
    }

    /// One value as one line of sorted-key JSON.
    static func line(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
