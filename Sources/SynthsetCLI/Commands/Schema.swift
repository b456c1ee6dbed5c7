import ArgumentParser
import Execution
import Foundation
import WorkflowSpec
import WorkspaceStore

struct Schema: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the manifest's JSON Schema, generated from the tool registry.",
        discussion: """
            Every step key carries its description, default and range from its tool's \
            definition. schemas/workflow.schema.json is this output, committed; point an \
            editor at it with '# yaml-language-server: $schema=<path>'.
            """)

    @Option(name: .shortAndLong, help: "Write the schema to this file instead of stdout.")
    var output: String?

    func run() async throws {
        let text = ManifestSchema.generate(.standard).rendered()
        guard let output else {
            Console.out(text)
            return
        }
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
        } catch {
            throw CommandError.user("cannot write \(output): \(FileErrorReason.of(error)); choose a writable path with -o")
        }
    }
}
