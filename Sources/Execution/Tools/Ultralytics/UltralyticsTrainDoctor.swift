import Foundation
import Planning
import WorkflowSpec

/// `synthset doctor` for ultralytics/train: ultralytics (with torch and torchvision's
/// operators) imports in `tools.ultralytics.python`, the check preflight runs too.
extension UltralyticsTrainTool {
    public func doctorChecks(for step: Step, context: DoctorContext) -> [DoctorCheck] {
        let workflow = context.workflow
        let python = ToolSupport.python(UltralyticsTrainAdapter.family, workflow: workflow)
        return [DoctorCheck("ultralytics: import ultralytics in \(python)") {
            if let problem = await UltralyticsTrainAdapter.ultralyticsProblem(workflow: workflow) { return .failed(problem.message, fix: problem.hint) }
            return .ok("ultralytics, torch and torchvision import")
        }]
    }
}
