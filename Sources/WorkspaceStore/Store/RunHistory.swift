import Foundation
import GRDB
import Planning

extension CheckpointStore {
    /// The most recent run that finished (succeeded or failed) with both an estimate and
    /// a measured GPU time, and that ran at least one task (a run that found everything
    /// done estimates and takes nothing, and says nothing about the estimates).
    public func lastFinishedRun() throws -> RunRecord? {
        try database.read { db in
            try RunRecord
                .filter([RunStatus.succeeded.rawValue, RunStatus.failed.rawValue].contains(Column(RunRecord.CodingKeys.status)))
                .filter(Column(RunRecord.CodingKeys.estimatedGPUSeconds) != nil && Column(RunRecord.CodingKeys.actualGPUSeconds) != nil)
                .filter(sql: "EXISTS (SELECT 1 FROM tasks WHERE tasks.run_id = runs.id)")
                .order(Column(RunRecord.CodingKeys.id).desc)
                .fetchOne(db)
        }
    }
}

extension Plan {
    /// GPU-seconds the attempts took: duration times the GPUs the planned task holds (a
    /// torchrun task on 2 GPUs counts twice), the unit of the plan's `gpu_hours`. CPU
    /// attempts count nothing.
    public func gpuSeconds(_ attempts: [TaskRecord]) -> Double {
        let gpus = Dictionary(tasks.map { ($0.id, $0.gpus) }, uniquingKeysWith: { first, _ in first })
        return attempts.filter { $0.gpu != nil }.reduce(0) { $0 + ($1.duration ?? 0) * Double(gpus[$1.id] ?? 1) }
    }
}
