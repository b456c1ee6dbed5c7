import Planning
import WorkflowSpec

/// `runner: resident` for `cosmos-predict2/text2image` and `/video2world`: synthset's
/// worker (``source``, written to scratch as the raw labeler is) imports the checkout's
/// `examples/<script>.py`, builds the pipeline once with the step's static options and
/// then calls the module's own seeded `process_single_generation` for every item of the
/// task, each with its own seed and negative prompt: one model load per task, where the
/// CLI needs one per (seed, negative prompt). The calls and their keyword arguments are
/// those of the example's `generate_image`/`generate_video` at cosmos-predict2 661da47,
/// so an item comes out as the CLI would write it.
///
///     <python> <scratch>/cosmos_resident_worker.py --module examples.text2image
///         --items <scratch>/items.jsonl --answers <scratch>/answers.jsonl -- --model_size 2B [option flags]
///     <python> -m torch.distributed.run --nproc_per_node=N <scratch>/cosmos_resident_worker.py ... -- ... --num_gpus N
///
/// The items are JSON lines (`prompt`, `negative_prompt` (absent: the script's default),
/// `seed`, `output`, and `input_path` for video2world); the worker answers each with one
/// JSON line in the answers file (`{"output": ..., "ok": true}` or `"ok": false` with
/// `error`), flushed as it goes. Before loading anything it checks by introspection that
/// the module has the functions and parameters it calls, and otherwise writes
/// `{"fatal": ...}` and exits 3 without loading. An item that runs past
/// `SYNTHSET_ITEM_TIMEOUT` seconds (set by the runner from the estimate,
/// ``itemTimeout(_:)``) fails and ends the worker (exit 4); the unanswered items are
/// retried by the executor with a new worker.
enum CosmosResidentWorker {
    static let fileName = "cosmos_resident_worker.py"
    static let itemsFile = "items.jsonl"
    static let answersFile = "answers.jsonl"
    /// Exit status of a module that does not match what the worker calls.
    static let incompatibleStatus: Int32 = 3

    /// The example modules the worker can drive, by script.
    static let modules: [String: String] = ["text2image": "examples.text2image", "video2world": "examples.video2world"]

    /// The per-item limit: 5 times the task's estimated seconds per item (its model load
    /// included, so generous), at least 10 minutes; none without an estimate. A value of
    /// `SYNTHSET_ITEM_TIMEOUT` in `tools.cosmos-predict2.env` wins.
    static func itemTimeout(_ task: PlannedTask) -> Int? {
        guard task.seconds > 0, !task.items.isEmpty else { return nil }
        return max(600, Int((5 * task.seconds / Double(task.items.count)).rounded(.up)))
    }

    static func invocation(for items: [PlannedItem], tool: CosmosPredict2Tool, context: InvocationContext) -> TaskInvocation {
        let step = context.step, workflow = context.workflow, family = CosmosPredict2Adapter.family
        let gpus = tool.multiGPU ? step.gpus ?? 1 : 1
        let python = ToolSupport.python(family, workflow: workflow)
        let worker = InvocationArgument.path(.scratch(fileName))
        var arguments: [InvocationArgument] = gpus > 1 ? ["-m", "torch.distributed.run", .text("--nproc_per_node=\(gpus)"), worker] : [worker]
        arguments += ["--module", .text(modules[tool.script] ?? "examples.\(tool.script)"),
                      "--items", .path(.scratch(itemsFile)), "--answers", .path(.scratch(answersFile)), "--"]
        arguments += tool.staticArguments(step, workflow: workflow, gpus: gpus)
        var lines: [InvocationContent] = []
        for item in items {
            var members: [InvocationContent.Member] = [.init("prompt", .string(item.prompt ?? ""))]
            if let negative = item.negative { members.append(.init("negative_prompt", .string(negative))) }
            members.append(.init("seed", .int(item.seed ?? 0)))
            if tool.requiresInput {
                let input = item.inputs.first.flatMap(context.inputPath).map(InvocationPath.workspace)
                members.append(.init("input_path", input.map(InvocationContent.path) ?? .string("")))
            }
            members.append(.init("output", .path(.scratch(item.scratchName))))
            lines.append(.object(members))
        }
        return TaskInvocation(program: python, arguments: arguments,
                              environment: InvocationBuilder.environment(family, workflow: workflow, gpus: gpus),
                              workingDirectory: InvocationBuilder.checkout(family, workflow: workflow),
                              files: [InvocationFile(path: fileName, format: .text, content: .string(source)),
                                      InvocationFile(path: itemsFile, format: .jsonl, content: .array(lines))],
                              outputs: tool.outputs(for: items))
    }

    static let source = #"""
#!/usr/bin/env python3
# synthset's resident Cosmos-Predict2 worker: one pipeline load, every item of the task.
# Written by synthset; see Sources/Execution/Tools/CosmosPredict2/CosmosResidentWorker.swift.
# Drives examples/text2image.py and examples/video2world.py of cosmos-predict2 (661da47):
# parse_args(), setup_pipeline(args), process_single_generation(pipe, ...).
import argparse
import importlib
import inspect
import json
import os
import signal
import sys
import threading
import time
import traceback

# Keyword arguments of process_single_generation, per module, as generate_image /
# generate_video pass them.
CALLS = {
    "examples.text2image": ["pipe", "prompt", "output_path", "negative_prompt", "aspect_ratio", "seed",
                            "use_cuda_graphs", "benchmark"],
    "examples.video2world": ["pipe", "input_path", "prompt", "output_path", "negative_prompt", "aspect_ratio",
                             "num_conditional_frames", "guidance", "seed", "benchmark", "use_cuda_graphs"],
}
INCOMPATIBLE = 3
TIMED_OUT = 4
stopping = False


def is_writer():
    return os.environ.get("RANK", "0") == "0"


class Answers:
    def __init__(self, path):
        self.file = open(path, "a") if is_writer() else None
        self.lock = threading.Lock()

    def write(self, record):
        with self.lock:
            if self.file:
                self.file.write(json.dumps(record) + "\n")
                self.file.flush()
                os.fsync(self.file.fileno())


class Watchdog:
    """Ends the worker when one item runs past SYNTHSET_ITEM_TIMEOUT seconds: that item
    fails, the unanswered ones are retried by synthset with a new worker."""

    def __init__(self, answers):
        self.limit = float(os.environ.get("SYNTHSET_ITEM_TIMEOUT") or 0)
        self.answers, self.output, self.since = answers, None, None
        if self.limit > 0:
            threading.Thread(target=self.watch, daemon=True).start()

    def start(self, output):
        self.output, self.since = output, time.monotonic()

    def stop(self):
        self.since = None

    def watch(self):
        while True:
            time.sleep(min(1.0, self.limit / 4))
            since = self.since
            if since is not None and time.monotonic() - since > self.limit:
                message = f"timed out after {self.limit:g} s (the per-item limit synthset derived from the estimate)"
                print(f"synthset worker: {os.path.basename(self.output)} {message}", file=sys.stderr, flush=True)
                self.answers.write({"output": self.output, "ok": False, "error": message})
                os._exit(TIMED_OUT)


def incompatible(module_name, module):
    """What the module lacks of what the worker calls, or None."""
    needed = {"parse_args": [], "setup_pipeline": ["args"], "process_single_generation": CALLS[module_name]}
    for name, parameters in needed.items():
        function = getattr(module, name, None)
        if not callable(function):
            return f"{module_name} has no function {name}()"
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):
            continue
        accepted = signature.parameters
        takes_any = any(p.kind == inspect.Parameter.VAR_KEYWORD for p in accepted.values())
        if name == "setup_pipeline":
            positional = [p for p in accepted.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            if not positional and not any(p.kind == p.VAR_POSITIONAL for p in accepted.values()):
                return f"{module_name}.setup_pipeline() takes no argument for the parsed options"
            continue
        missing = [p for p in parameters if p not in accepted and not takes_any]
        if missing:
            return f"{module_name}.{name}() has no parameter {', '.join(missing)}"
        required = [p.name for p in accepted.values()
                    if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in parameters]
        if required:
            return f"{module_name}.{name}() requires {', '.join(required)}, which the worker does not pass"
    return None


def on_signal(signum, frame):
    # Ctrl-C / SIGTERM: finish the current item, then stop.
    global stopping
    stopping = True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--module", required=True, choices=sorted(CALLS))
    parser.add_argument("--items", required=True)
    parser.add_argument("--answers", required=True)
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    own = parser.parse_args()
    static = own.rest[1:] if own.rest[:1] == ["--"] else own.rest
    answers = Answers(own.answers)
    # Run as a file, the worker's folder is sys.path[0]; the checkout (the CWD) holds examples/.
    sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(own.module)
    except Exception as error:
        answers.write({"fatal": f"cannot import {own.module} from {os.getcwd()}: {error}"})
        traceback.print_exc()
        return INCOMPATIBLE
    problem = incompatible(own.module, module)
    if problem:
        message = f"{problem}: synthset's resident worker cannot drive this checkout; use 'runner: cli' for this step"
        print(f"synthset worker: {message}", file=sys.stderr, flush=True)
        answers.write({"fatal": message})
        return INCOMPATIBLE
    with open(own.items) as f:
        items = [json.loads(line) for line in f if line.strip()]
    sys.argv = [getattr(module, "__file__", own.module)] + static
    args = module.parse_args()
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    pipe = module.setup_pipeline(args)  # the one load
    print(f"synthset worker: pipeline ready; {len(items)} item(s)", flush=True)
    watchdog = Watchdog(answers)
    try:
        for index, item in enumerate(items):
            if stopping:
                print("synthset worker: stopping after the current item", flush=True)
                break
            output, prompt = item["output"], item.get("prompt", "")
            negative = item.get("negative_prompt", args.negative_prompt)
            if not prompt or (own.module == "examples.video2world" and not item.get("input_path")):
                answers.write({"output": output, "ok": False, "error": "missing prompt or input"})
                continue
            print(f"synthset worker: item {index + 1}/{len(items)} seed {item['seed']}", flush=True)
            call = {"pipe": pipe, "prompt": prompt, "output_path": output, "negative_prompt": negative,
                    "aspect_ratio": args.aspect_ratio, "seed": item["seed"],
                    "use_cuda_graphs": args.use_cuda_graphs, "benchmark": args.benchmark}
            if own.module == "examples.video2world":
                call.update(input_path=item["input_path"], num_conditional_frames=args.num_conditional_frames,
                            guidance=args.guidance)
            watchdog.start(output)
            try:
                ok = module.process_single_generation(**call)
            except Exception as error:
                traceback.print_exc()
                answers.write({"output": output, "ok": False, "error": f"{type(error).__name__}: {error}"})
                continue
            finally:
                watchdog.stop()
            if ok is False:
                answers.write({"output": output, "ok": False,
                               "error": "the tool wrote nothing (guardrail or input check?) — see log"})
            else:
                answers.write({"output": output, "ok": True})
    finally:
        cleanup = getattr(module, "cleanup_distributed", None)
        if callable(cleanup):
            cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
"""#
}
