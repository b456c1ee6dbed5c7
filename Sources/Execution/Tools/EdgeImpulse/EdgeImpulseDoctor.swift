import Foundation
import Planning
import WorkflowSpec

/// `synthset doctor` for edge-impulse/upload: the API key's variable is set (its value
/// is never shown).
extension EdgeImpulseUploadTool {
    public func doctorChecks(for step: Step, context: DoctorContext) -> [DoctorCheck] {
        guard let spec = step.upload else { return [] }
        let variable = spec.apiKeyEnvironment
        return [DoctorCheck("edge-impulse: API key in $\(variable)") {
            let value = ProcessInfo.processInfo.environment[variable] ?? ""
            return value.isEmpty
                ? .failed("\(variable) is not set", fix: "export \(variable)=ei_... (the project's API key, Edge Impulse Studio > Dashboard > Keys); synthset never stores it")
                : .ok("\(variable) is set")
        }]
    }
}
