import Foundation

/// What every tool process launched inside a run gets, whichever adapter launches
/// it: set once by the executor for the run (a task-local, so concurrent runs in one
/// process, as in tests, never see each other's) and applied by ``ProcessRunner``.
public struct ToolProcessContext: Sendable {
    /// The variable that marks a tool process (and everything it starts) as started by
    /// one synthset run; the next run finds a killed run's leftovers by it.
    public static let markerVariable = "SYNTHSET_RUN_MARKER"

    /// Variables removed from every tool's environment: secrets meant for synthset
    /// alone (an upload step's `api_key_env`).
    public var withheldEnvironment: Set<String>
    /// This run's marker value (put in ``markerVariable``).
    public var marker: String

    /// Creates a context.
    public init(withheldEnvironment: Set<String>, marker: String) {
        self.withheldEnvironment = withheldEnvironment
        self.marker = marker
    }

    /// The context of the run the calling task belongs to, if any.
    @TaskLocal public static var current: ToolProcessContext?
}
