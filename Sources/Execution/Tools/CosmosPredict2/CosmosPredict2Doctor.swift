import Foundation
import Planning
import WorkflowSpec

/// `synthset doctor` for cosmos-predict2: the checkout and its example script, the
/// interpreter's imports, and the checkpoint files the step loads, at the paths
/// `imaginaire/constants.py` builds (cosmos-predict2 661da47; reference/cosmos-predict2.md
/// §1 and §4): `<checkpoints>/nvidia/Cosmos-Predict2-<size>-Text2Image/model[_fast_tokenizer][_distilled].pt`,
/// `.../Cosmos-Predict2-<size>-Video2World/model-<res>p-<fps>fps[-natten].pt`, the T5
/// text encoder, the guardrail models unless disabled, and Cosmos-Reason1 for the prompt
/// refiner and the best-of-N critic. `<checkpoints>` is `--checkpoints` of
/// `COSMOS_PREDICT2_ARGS` (in `tools.cosmos-predict2.env` or synthset's environment),
/// else `checkpoints/`, relative to the checkout (the tool's working directory).
enum CosmosPredict2Doctor {
    static let family = CosmosPredict2Adapter.family

    static func checks(_ step: Step, script: String, context: DoctorContext) -> [DoctorCheck] {
        let workflow = context.workflow
        var checks: [DoctorCheck] = [.checkout(family, workflow: workflow, clone: "https://github.com/nvidia-cosmos/cosmos-predict2")]
        guard let root = ToolSupport.root(family, workflow: workflow) else { return checks }
        checks.append(.file("\(family): examples/\(script).py", root.appendingPathComponent("examples/\(script).py").path,
                            fix: "tools.\(family).root must be a cosmos-predict2 checkout (git clone https://github.com/nvidia-cosmos/cosmos-predict2)"))
        checks.append(.pythonImports(family, workflow: workflow, modules: ["torch", "imaginaire", "cosmos_predict2"],
                                     fix: "set tools.\(family).python to the Python of the environment made by the checkout's documentations/setup.md"))
        if CosmosPredict2Tool.runner(of: step) == .resident, let module = CosmosResidentWorker.modules[script] {
            checks.append(residentCheck(module: module, root: root, workflow: workflow))
        }
        let directory = checkpointsDirectory(root: root, workflow: workflow)
        for (file, fix) in checkpoints(step, script: script, root: root, directory: directory, workflow: workflow) {
            let shown = file.hasPrefix(root.path + "/") ? String(file.dropFirst(root.path.count + 1)) : file
            checks.append(.file("\(family): checkpoint \(shown)", file, fix: fix))
        }
        return checks
    }

    /// `runner: resident`: the worker's own `--check` against the checkout (it imports the
    /// example modules and checks by introspection that they have what it calls; it loads
    /// nothing), run as a task runs it, from the checkout.
    static func residentCheck(module: String, root: URL, workflow: Workflow) -> DoctorCheck {
        let python = ToolSupport.python(family, workflow: workflow)
        let environment = InvocationBuilder.environment(family, workflow: workflow, checkoutOnPath: false)
        return DoctorCheck("\(family): the resident worker can drive \(module)") {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("synthset-doctor-\(UUID().uuidString.prefix(8))")
            defer { try? FileManager.default.removeItem(at: folder) }
            let worker = folder.appendingPathComponent(CosmosResidentWorker.fileName)
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                try Data(CosmosResidentWorker.source.utf8).write(to: worker)
            } catch {
                return .warning("cannot write the worker to \(folder.path): \(error)", fix: "free the temporary folder (TMPDIR)")
            }
            guard let probe = try? await ProcessRunner.capture(python, arguments: [worker.path, "--module", module, "--check"],
                                                               workingDirectory: root, environment: environment, includeStandardError: true) else {
                return .failed("'\(python)' could not be started", fix: "set tools.\(family).python to a working interpreter")
            }
            let lines = probe.text.split(whereSeparator: \.isNewline).map(String.init)
            let said = lines.last { $0.hasPrefix("synthset worker:") }.map { String($0.dropFirst("synthset worker: ".count)) }
            guard probe.succeeded else {
                return .failed(said ?? lines.last ?? "exit status \(probe.status)", fix: "use 'runner: cli' for this step, or a cosmos-predict2 checkout the worker knows (661da47)")
            }
            return .ok(said ?? "\(module) has what the worker calls")
        }
    }

    /// `--checkpoints` of `COSMOS_PREDICT2_ARGS`, absolute; `<root>/checkpoints` without it.
    static func checkpointsDirectory(root: URL, workflow: Workflow) -> URL {
        let args = workflow.tools[family]?.environment["COSMOS_PREDICT2_ARGS"] ?? ProcessInfo.processInfo.environment["COSMOS_PREDICT2_ARGS"] ?? ""
        let words = args.split(separator: " ").map(String.init)
        var value = "checkpoints"
        if let index = words.firstIndex(of: "--checkpoints"), index + 1 < words.count { value = words[index + 1] }
        if let inline = words.first(where: { $0.hasPrefix("--checkpoints=") }) { value = String(inline.dropFirst("--checkpoints=".count)) }
        if value.hasPrefix("~") { value = (value as NSString).expandingTildeInPath }
        return value.hasPrefix("/") ? URL(fileURLWithPath: value) : root.appendingPathComponent(value)
    }

    /// The files the step loads, each with the command that downloads it.
    static func checkpoints(_ step: Step, script: String, root: URL, directory: URL, workflow: Workflow) -> [(String, String)] {
        let size = step.model ?? "2B"
        let download = "cd \(root.path) && python -m scripts.download_checkpoints --checkpoint_dir \(directory.path)"
        func flag(_ name: String) -> Bool { if case .bool(true)? = step.options[name] { return true } else { return false } }
        func path(_ relative: String) -> String { directory.appendingPathComponent(relative).path }
        var files: [(String, String)] = []
        let video = TimingResolver.videoSettings(step)
        let natten = flag("natten")
        let videoDownload = "\(download) --model_types video2world --model_sizes \(size) --resolution \(video.resolution) --fps \(video.fps)" + (natten ? " --natten" : "")
        if script == "text2image" || script == "text2world" {
            var distilled = false
            if case .int(let steps)? = step.options["distill_steps"], steps > 0 { distilled = true }
            let name = "model" + (flag("use_fast_tokenizer") ? "_fast_tokenizer" : "") + (distilled ? "_distilled" : "") + ".pt"
            if case .string(let custom)? = step.options[script == "text2world" ? "dit_path_text2image" : "dit_path"] {
                files.append((ToolSupport.absolutePath(custom, workflow: workflow), "put your DiT checkpoint there, or remove the option"))
            } else {
                files.append((path("nvidia/Cosmos-Predict2-\(size)-Text2Image/\(name)"), "\(download) --model_types text2image --model_sizes \(size)"))
            }
        }
        if script != "text2image" {
            let custom = step.options[script == "text2world" ? "dit_path_video2world" : "dit_path"]
            if case .string(let file)? = custom {
                files.append((ToolSupport.absolutePath(file, workflow: workflow), "put your DiT checkpoint there, or remove the option"))
            } else {
                files.append((path("nvidia/Cosmos-Predict2-\(size)-Video2World/model-\(video.resolution)p-\(video.fps)fps\(natten ? "-natten" : "").pt"), videoDownload))
            }
            if script == "video2world_bestofn" {
                if case .string(let critic)? = step.options["checkpoint_dir"] {
                    files.append((ToolSupport.absolutePath(critic, workflow: workflow), "download nvidia/Cosmos-Reason1-7B there, or remove checkpoint_dir"))
                } else {
                    files.append((path("nvidia/Cosmos-Reason1-7B"), videoDownload))
                }
            } else if !flag("disable_prompt_refiner") {
                files.append((path("nvidia/Cosmos-Reason1-7B"), videoDownload + "  (the prompt refiner; or set disable_prompt_refiner: true)"))
            }
        }
        files.append((path("google-t5/t5-11b"), "\(download) --model_types \(script == "text2image" ? "text2image" : "video2world") --model_sizes \(size)  (every download brings the T5 encoder)"))
        if !flag("disable_guardrail") {
            let fix = "\(download) --model_sizes \(size)  (brings the guardrails; Llama-Guard-3-8B is gated: accept its terms and 'hf auth login' first), or set disable_guardrail: true"
            files.append((path("nvidia/Cosmos-Guardrail1"), fix))
            files.append((path("meta-llama/Llama-Guard-3-8B"), fix))
        }
        return files
    }
}

extension CosmosPredict2Tool {
    public func doctorChecks(for step: Step, context: DoctorContext) -> [DoctorCheck] {
        CosmosPredict2Doctor.checks(step, script: script, context: context)
    }
}

extension CosmosBestOfNTool {
    public func doctorChecks(for step: Step, context: DoctorContext) -> [DoctorCheck] {
        CosmosPredict2Doctor.checks(step, script: "video2world_bestofn", context: context)
    }
}
