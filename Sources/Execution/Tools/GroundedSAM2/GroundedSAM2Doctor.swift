import Foundation
import Planning
import WorkflowSpec

/// `synthset doctor` for grounded-sam2/label: the checkout, the script a custom step
/// names, the imports the script makes (`grounding_dino.groundingdino`, and `sam2` in
/// script mode), and the weights and configs it opens, resolved against the checkout as
/// the script does (its defaults: grounded_sam2_batch_image.py of eivholt/
/// edgeai-synthetic-cosmos-predict 9483899); `sam2_config` inside the sam2 package.
extension LabelTool {
    public func doctorChecks(for step: Step, context: DoctorContext) -> [DoctorCheck] {
        let family = GroundedSAM2Adapter.family, workflow = context.workflow
        guard let labeling = step.labeling else { return [] }
        var checks: [DoctorCheck] = [.checkout(family, workflow: workflow, clone: "https://github.com/IDEA-Research/Grounded-SAM-2")]
        if let script = labeling.script {
            let path = ToolSupport.absolutePath(script, workflow: workflow)
            checks.append(.file("\(family): script \(script)", path, fix: "set 'script:' of step '\(step.id)' to the labeling script, relative to the manifest or absolute"))
        }
        let script = labeling.mode == .script
        checks.append(.pythonImports(family, workflow: workflow,
                                     modules: ["torch", "grounding_dino.groundingdino.util.inference"] + (script ? ["sam2.build_sam"] : []),
                                     fix: "install Grounded-SAM-2 as its README says (pip install -e . and pip install --no-build-isolation -e grounding_dino) in the environment of tools.\(family).python"))
        guard let root = ToolSupport.root(family, workflow: workflow) else { return checks }
        func option(_ name: String, _ fallback: String) -> String {
            if case .string(let value)? = step.options[name] { return value }
            return fallback
        }
        var files: [(String, String, String)] = [
            ("grounding_config", option("grounding_config", "grounding_dino/groundingdino/config/GroundingDINO_SwinT_OGC.py"), "it comes with the checkout; set options.grounding_config to the file"),
            ("grounding_checkpoint", option("grounding_checkpoint", "gdino_checkpoints/groundingdino_swint_ogc.pth"),
             "cd \(root.path)/gdino_checkpoints && bash download_ckpts.sh"),
        ]
        if script {
            files.append(("sam2_checkpoint", option("sam2_checkpoint", "./checkpoints/sam2.1_hiera_large.pt"), "cd \(root.path)/checkpoints && bash download_ckpts.sh"))
        }
        for (name, value, fix) in files {
            checks.append(.file("\(family): \(name) \(value)", Self.checkoutPath(value, root: root), fix: fix))
        }
        if script {
            let config = option("sam2_config", "configs/sam2.1/sam2.1_hiera_l.yaml")
            checks.append(.file("\(family): sam2_config \(config) in the sam2 package", root.appendingPathComponent("sam2").appendingPathComponent(config).path,
                                fix: "set options.sam2_config to a config name listed under \(root.path)/sam2/configs"))
        }
        return checks
    }
}
