import Planning
import WorkflowSpec

/// `runner: resident` for `cosmos-predict2/text2image`, `/video2world` and `/text2world`:
/// synthset's worker (``source``, written to scratch as the raw labeler is) imports the
/// checkout's example modules, builds each pipeline once with the step's static options
/// and then calls the module's own seeded `process_single_generation` for every item of
/// the task, each with its own seed and negative prompt: one load per model per task,
/// where the CLI needs one per (seed, negative prompt). The calls and their keyword
/// arguments are those of the examples' `generate_image`/`generate_video` and, for
/// text2world, of `examples/text2world.py`'s two phases (all first frames with the
/// text2image pipeline, which is then freed, then all clips with the video2world one,
/// given the text encoder) at cosmos-predict2 661da47, so an item comes out as the CLI
/// would write it.
///
///     <python> <scratch>/cosmos_resident_worker.py --module examples.text2image
///         --answers <scratch>/answers.jsonl -- --model_size 2B [option flags]   < items
///     <python> -m torch.distributed.run --nproc_per_node=N <scratch>/cosmos_resident_worker.py ... -- ... --num_gpus N
///
/// The items come on standard input, one JSON line each (`prompt`, `negative_prompt`
/// (absent: the script's default), `seed`, `output`, and `input_path` for video2world),
/// written by synthset while the worker runs, at most one ahead of the item in hand
/// (``InvocationInput``); under `torch.distributed.run` rank 0 reads them and
/// broadcasts each to the other ranks. The worker answers each item with one JSON line
/// in the answers file (`{"output": ..., "ok": true}` or `"ok": false` with `error`),
/// flushed as it goes. Before loading anything it checks by introspection that the
/// modules have the functions and parameters it calls, and otherwise writes
/// `{"fatal": ...}` and exits 3 without loading (`--check` does only that). SIGINT or
/// SIGTERM, or the end of its input, stops it after the item in hand. An item that runs
/// past `SYNTHSET_ITEM_TIMEOUT` seconds (set by the runner from the estimate,
/// ``itemTimeout(_:)``) fails and ends the worker (exit 4); the unanswered items are
/// retried by the executor with a new worker.
enum CosmosResidentWorker {
    static let fileName = "cosmos_resident_worker.py"
    static let answersFile = "answers.jsonl"
    /// Exit status of a module that does not match what the worker calls.
    static let incompatibleStatus: Int32 = 3

    /// The example modules the worker can drive, by script.
    static let modules: [String: String] = [
        "text2image": "examples.text2image", "video2world": "examples.video2world", "text2world": "examples.text2world",
    ]

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
                      "--answers", .path(.scratch(answersFile)), "--"]
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
        // text2world makes every first frame before its first clip (upstream's two
        // phases, one pipeline in memory at a time): it reads all its items at once.
        let paced = tool.script != "text2world"
        return TaskInvocation(program: python, arguments: arguments,
                              environment: InvocationBuilder.environment(family, workflow: workflow, gpus: gpus),
                              workingDirectory: InvocationBuilder.checkout(family, workflow: workflow),
                              files: [InvocationFile(path: fileName, format: .text, content: .string(source))],
                              outputs: tool.outputs(for: items),
                              standardInput: InvocationInput(lines: lines, answers: paced ? .scratch(answersFile) : nil))
    }

    static let source = #"""
#!/usr/bin/env python3
# synthset's resident Cosmos-Predict2 worker: one load per pipeline, every item of the task.
# Written by synthset; see Sources/Execution/Tools/CosmosPredict2/CosmosResidentWorker.swift.
# Drives examples/text2image.py, examples/video2world.py and examples/text2world.py of
# cosmos-predict2 (661da47): parse_args(), setup_pipeline(args[, text_encoder]),
# process_single_generation(pipe, ...). Items: JSON lines on standard input.
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
# generate_video (and text2world's generate_first_frames / generate_videos) pass them.
TEXT2IMAGE = ["pipe", "prompt", "output_path", "negative_prompt", "aspect_ratio", "seed", "use_cuda_graphs", "benchmark"]
VIDEO2WORLD = ["pipe", "input_path", "prompt", "output_path", "negative_prompt", "aspect_ratio",
               "num_conditional_frames", "guidance", "seed", "benchmark", "use_cuda_graphs"]
# What each mode calls: (module, function, keyword arguments); setup_pipeline takes the options.
NEEDS = {
    "examples.text2image": [("examples.text2image", "parse_args", []), ("examples.text2image", "setup_pipeline", None),
                            ("examples.text2image", "process_single_generation", TEXT2IMAGE)],
    "examples.video2world": [("examples.video2world", "parse_args", []), ("examples.video2world", "setup_pipeline", None),
                             ("examples.video2world", "process_single_generation", VIDEO2WORLD)],
    "examples.text2world": [("examples.text2world", "parse_args", []),
                            ("examples.text2image", "setup_pipeline", None),
                            ("examples.text2image", "process_single_generation", TEXT2IMAGE),
                            ("examples.video2world", "setup_pipeline", ["args", "text_encoder"]),
                            ("examples.video2world", "process_single_generation", VIDEO2WORLD)],
}
INCOMPATIBLE = 3
TIMED_OUT = 4
stopping = False


def is_writer():
    return os.environ.get("RANK", "0") == "0"


def distributed():
    """torch.distributed, when this worker is one of several ranks and it is set up."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return None
    import torch.distributed as dist
    return dist if dist.is_available() and dist.is_initialized() else None


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


def next_item():
    """The next item from standard input (rank 0 reads, the others get its broadcast), or
    None at the end of the input or when stopping."""
    item = None if stopping else _read_local()
    dist = distributed()
    if dist is not None:
        box = [item]
        dist.broadcast_object_list(box, src=0)
        item = box[0]
    return None if stopping else item


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


def incompatible(mode, modules):
    """What the modules lack of what the worker calls, or None."""
    for module_name, name, parameters in NEEDS[mode]:
        function = getattr(modules[module_name], name, None)
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
            if parameters and "text_encoder" in parameters and "text_encoder" not in accepted and not takes_any:
                return f"{module_name}.setup_pipeline() has no parameter text_encoder"
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


def generate(call, module, answers, watchdog, output):
    """One seeded call; answers for the item when it fails. True when the file was written."""
    watchdog.start(output)
    try:
        ok = module.process_single_generation(**call)
    except Exception as error:
        traceback.print_exc()
        answers.write({"output": output, "ok": False, "error": f"{type(error).__name__}: {error}"})
        return False
    finally:
        watchdog.stop()
    if ok is False:
        answers.write({"output": output, "ok": False,
                       "error": "the tool wrote nothing (guardrail or input check?) — see log"})
        return False
    return True


def run_single(mode, module, args, answers, watchdog):
    """text2image / video2world: one pipeline, then item after item as they come."""
    pipe = module.setup_pipeline(args)  # the one load
    print("synthset worker: pipeline ready", flush=True)
    index = 0
    while True:
        item = next_item()
        if item is None:
            break
        index += 1
        output, prompt = item["output"], item.get("prompt", "")
        if not prompt or (mode == "examples.video2world" and not item.get("input_path")):
            answers.write({"output": output, "ok": False, "error": "missing prompt or input"})
            continue
        print(f"synthset worker: item {index} seed {item['seed']}", flush=True)
        call = {"pipe": pipe, "prompt": prompt, "output_path": output,
                "negative_prompt": item.get("negative_prompt", args.negative_prompt),
                "aspect_ratio": args.aspect_ratio, "seed": item["seed"],
                "use_cuda_graphs": args.use_cuda_graphs, "benchmark": args.benchmark}
        if mode == "examples.video2world":
            call.update(input_path=item["input_path"], num_conditional_frames=args.num_conditional_frames,
                        guidance=args.guidance)
        if generate(call, module, answers, watchdog, output):
            answers.write({"output": output, "ok": True})
    if stopping:
        print("synthset worker: stopped after the current item", flush=True)


def run_text2world(modules, args, answers, watchdog):
    """text2world as examples/text2world.py runs it: rank 0 makes every first frame with
    the text2image pipeline, which is then freed; the video2world pipeline (given the
    text encoder) makes the clips. Each item keeps its own seed and negative prompt."""
    text2image, video2world = modules["examples.text2image"], modules["examples.video2world"]
    args.dit_path = args.dit_path_text2image
    args.use_fast_tokenizer = False
    image_pipe = text2image.setup_pipeline(args)  # load 1
    text_encoder = getattr(image_pipe, "text_encoder", None) if image_pipe is not None else None
    print("synthset worker: text2image pipeline ready", flush=True)
    kept = []
    if image_pipe is not None:
        while True:
            item = None if stopping else _read_local()
            if item is None:
                break
            output, prompt = item["output"], item.get("prompt", "")
            if not prompt:
                answers.write({"output": output, "ok": False, "error": "missing prompt"})
                continue
            negative = item.get("negative_prompt", args.negative_prompt)
            first_frame = os.path.splitext(output)[0] + "_temp.jpg"
            call = {"pipe": image_pipe, "prompt": prompt, "output_path": first_frame, "negative_prompt": negative,
                    "aspect_ratio": args.aspect_ratio, "seed": item["seed"],
                    "use_cuda_graphs": args.use_cuda_graphs, "benchmark": args.benchmark}
            if generate(call, text2image, answers, watchdog, output):
                kept.append(dict(item, temp_image_path=first_frame, negative_prompt=negative))
    dist = distributed()
    if dist is not None:
        box = [kept]
        dist.broadcast_object_list(box, src=0)
        kept = box[0]
    del image_pipe
    try:
        import torch
        torch.cuda.empty_cache()
    except Exception:
        pass
    if stopping:
        print("synthset worker: stopped after the current item", flush=True)
        return
    args.dit_path = args.dit_path_video2world
    video_pipe = video2world.setup_pipeline(args, text_encoder=text_encoder if is_writer() else None)  # load 2
    print(f"synthset worker: video2world pipeline ready; {len(kept)} clip(s)", flush=True)
    for item in kept:
        if stopping:
            print("synthset worker: stopped after the current item", flush=True)
            break
        output = item["output"]
        call = {"pipe": video_pipe, "input_path": item["temp_image_path"], "prompt": item["prompt"], "output_path": output,
                "negative_prompt": item["negative_prompt"], "aspect_ratio": args.aspect_ratio,
                "num_conditional_frames": 1, "guidance": args.guidance, "seed": item["seed"],
                "benchmark": args.benchmark, "use_cuda_graphs": args.use_cuda_graphs}
        if generate(call, video2world, answers, watchdog, output):
            answers.write({"output": output, "ok": True})
        if os.path.exists(item["temp_image_path"]):
            os.remove(item["temp_image_path"])


def _read_local():
    """Rank 0's next item without a broadcast (text2world broadcasts its first frames
    instead, as upstream does); None on the other ranks and at the end of the input."""
    if not is_writer():
        return None
    while True:
        line = sys.stdin.readline()
        if not line:
            return None
        if line.strip():
            return json.loads(line)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--module", required=True, choices=sorted(NEEDS))
    parser.add_argument("--answers")
    parser.add_argument("--check", action="store_true", help="only check the checkout's modules, load nothing")
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    own = parser.parse_args()
    static = own.rest[1:] if own.rest[:1] == ["--"] else own.rest
    answers = Answers(own.answers or os.devnull)
    # Run as a file, the worker's folder is sys.path[0]; the checkout (the CWD) holds examples/.
    sys.path.insert(0, os.getcwd())
    modules = {}
    for name in dict.fromkeys(module for module, _, _ in NEEDS[own.module]):
        try:
            modules[name] = importlib.import_module(name)
        except Exception as error:
            message = f"cannot import {name} from {os.getcwd()}: {type(error).__name__}: {error}"
            print(f"synthset worker: {message}", file=sys.stderr, flush=True)
            answers.write({"fatal": message})
            traceback.print_exc()
            return INCOMPATIBLE
    problem = incompatible(own.module, modules)
    if problem:
        message = f"{problem}: synthset's resident worker cannot drive this checkout; use 'runner: cli' for this step"
        print(f"synthset worker: {message}", file=sys.stderr, flush=True)
        answers.write({"fatal": message})
        return INCOMPATIBLE
    if own.check:
        print(f"synthset worker: {own.module} has what the resident worker calls", flush=True)
        return 0
    main_module = modules[own.module]
    sys.argv = [getattr(main_module, "__file__", own.module)] + static
    args = main_module.parse_args()
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    watchdog = Watchdog(answers)
    try:
        if own.module == "examples.text2world":
            run_text2world(modules, args, answers, watchdog)
        else:
            run_single(own.module, main_module, args, answers, watchdog)
    finally:
        cleanup = getattr(modules.get("examples.video2world"), "cleanup_distributed", None)
        if callable(cleanup):
            cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
"""#
}
