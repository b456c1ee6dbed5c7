import Foundation
import Planning
import WorkflowSpec

/// `synthset doctor` for command steps: the program is there.
extension CommandTool {
    public func doctorChecks(for step: Step, context: DoctorContext) -> [DoctorCheck] {
        guard let command = step.command else { return [] }
        let program = ToolSupport.program(command.program, workflow: context.workflow)
        return [DoctorCheck("command: \(command.program) (step '\(step.id)')") {
            ToolSupport.findExecutable(program, environment: command.environment) != nil
                ? .ok(ToolSupport.findExecutable(program, environment: command.environment) ?? program)
                : .failed("'\(program)' was not found", fix: "install it, or set 'program:' of step '\(step.id)' to its path")
        }]
    }
}
