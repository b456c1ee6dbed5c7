import Foundation
import GRDB
import Planning
import WorkflowSpec
import WorkspaceStore

extension WorkflowService {
    /// Estimated against actual GPU-hours of the workspace's last finished run.
    public struct EstimateError: Sendable, Codable {
        public var runID: Int64
        public var status: String
        public var estimatedGPUHours: Double
        public var actualGPUHours: Double
        /// (actual - estimated) / estimated; nil when nothing was estimated.
        public var relativeError: Double?
    }

    /// The last run's estimate error, or nil when there is no workspace or finished run.
    public static func lastEstimateError(file: String, workspace override: String?) -> EstimateError? {
        guard let workflow = WorkflowLoader().load(file: file).workflow else { return nil }
        let workspace = workspace(for: workflow, override: override)
        guard let store = try? CheckpointStore.openForReading(path: workspace.store),
              let run = try? store.lastFinishedRun(), let id = run.id,
              let estimated = run.estimatedGPUSeconds, let actual = run.actualGPUSeconds else { return nil }
        return EstimateError(runID: id, status: run.status.rawValue, estimatedGPUHours: estimated / 3600,
                             actualGPUHours: actual / 3600, relativeError: estimated > 0 ? (actual - estimated) / estimated : nil)
    }
}
