import SynthsetCLI

/// The executable: everything lives in SynthsetCLI.
@main
extension SynthsetCommand {}
