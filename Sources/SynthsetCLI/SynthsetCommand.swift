import ArgumentParser
import Foundation

/// The `synthset` command: turns a dataset recipe into a labeled dataset.
@available(macOS 10.15, *)
public struct SynthsetCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "synthset",
        abstract: "Turn a dataset recipe (YAML) into a labeled object-detection dataset.",
        discussion: """
            Exit codes: 0 success; 1 the run finished with failed items (or verify found \
            differences); 2 invalid input (usage, manifest, plan error such as a VRAM misfit, \
            a workspace that is locked, damaged or not writable); 70 an internal error (a bug: \
            please report it); 130 interrupted.
            """,
        version: SynthsetCommand.version,
        subcommands: [Init.self, Validate.self, PlanCommand.self, Run.self, Status.self, Report.self, Clean.self, Verify.self, Diff.self, DoctorCommand.self, Schema.self, Prompts.self]
    )

    /// synthset's version, also recorded in lock files of workflows it renders itself.
    static let version = "0.1.0"

    public init() {}
}

