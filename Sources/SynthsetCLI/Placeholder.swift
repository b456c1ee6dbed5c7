import ArgumentParser

/// Placeholder root command.
public struct SynthsetCommand: ParsableCommand {
    public init() {}
    public func run() throws {}
}
