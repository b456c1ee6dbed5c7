import Foundation
import Planning
import WorkflowSpec

/// `synthset doctor` for cosmos-predict2.5: the checkout, `examples/inference.py` and the
/// interpreter's imports. Its checkpoints are not files to check: `cosmos_predict2/config.py`
/// (9557c1a) names them by UUID and downloads them from Hugging Face on first use.
extension CosmosPredict25Tool {
    public func doctorChecks(for step: Step, context: DoctorContext) -> [DoctorCheck] {
        let family = CosmosPredict25Adapter.family, workflow = context.workflow
        var checks: [DoctorCheck] = [.checkout(family, workflow: workflow, clone: "https://github.com/nvidia-cosmos/cosmos-predict2.5")]
        guard let root = ToolSupport.root(family, workflow: workflow) else { return checks }
        checks.append(.file("\(family): examples/inference.py", root.appendingPathComponent("examples/inference.py").path,
                            fix: "tools.\(family).root must be a cosmos-predict2.5 checkout (git clone https://github.com/nvidia-cosmos/cosmos-predict2.5)"))
        checks.append(.pythonImports(family, workflow: workflow, modules: ["torch", "cosmos_predict2"],
                                     fix: "set tools.\(family).python to the Python of the checkout's environment (its docs/setup.md: uv sync)"))
        return checks
    }
}
