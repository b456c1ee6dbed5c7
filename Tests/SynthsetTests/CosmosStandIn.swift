import Foundation
import Testing

/// A fake cosmos-predict2 / cosmos-predict2.5 checkout: Python example scripts with the
/// upstream scripts' arguments and behaviours (each script's comment names the upstream
/// files and commit it follows) (one seed for the whole
/// batch, guardrail skips with exit 0, JPEG whatever the extension, `.webp` inputs
/// rejected, `.jpeg` inputs crash the refiner), logging every invocation as one JSON line
/// to `<root>/invocations.jsonl`. text2image.py and video2world.py have the functions of
/// upstream's (cosmos-predict2 commit 661da47, examples/text2image.py and
/// examples/video2world.py: `parse_args`, `setup_pipeline`, `process_single_generation`),
/// which synthset's resident worker imports; every pipeline build is logged to
/// `<root>/loads.jsonl`. A prompt containing BLOCKME is "blocked by the
/// guardrail" unless `<root>/guardrail_off` exists.
enum CosmosStandIn {
    static func make(in directory: URL) throws -> URL {
        let root = directory.appendingPathComponent("cosmos-standin", isDirectory: true)
        let examples = root.appendingPathComponent("examples", isDirectory: true)
        try FileManager.default.createDirectory(at: examples, withIntermediateDirectories: true)
        let files = [
            "__init__.py": "",
            "_standin.py": common,
            "text2image.py": text2image,
            "video2world.py": video2world,
            "text2world.py": text2world,
            "video2world_bestofn.py": bestOfN,
            "inference.py": inference25,
        ]
        for (name, text) in files {
            try Data(text.utf8).write(to: examples.appendingPathComponent(name))
        }
        return root
    }

    /// Every logged invocation, in order.
    static func invocations(_ root: URL) throws -> [[String: Any]] {
        let file = root.appendingPathComponent("invocations.jsonl")
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    static let common = #"""
import hashlib, json, os, shutil, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffdb0043000503040404030504040405050506070c08070707070f0b0b090c110f1212110f111113161c1713141a1511111821181a1d1d1f1f1f13172224221e241c1e1f1effdb0043010505050706070e08080e1e1411141e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1effc00011080010001003012200021101031101ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffc4001f0100030101010101010101010000000000000102030405060708090a0bffc400b51100020102040403040705040400010277000102031104052131061241510761711322328108144291a1b1c109233352f0156272d10a162434e125f11718191a262728292a35363738393a434445464748494a535455565758595a636465666768696a737475767778797a82838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9faffda000c03010002110311003f00b7451457e547e967ffd9")
IMAGE_EXTENSIONS = [".png", ".jpg", ".jpeg", "webp"]  # sic: "webp" has no dot

def log_invocation(script, batch=None, samples=None):
    record = {"script": script, "argv": sys.argv[1:], "cwd": os.getcwd(),
              "env": {k: os.environ[k] for k in ("CUDA_VISIBLE_DEVICES", "COSMOS_PREDICT2_ARGS") if k in os.environ}}
    if batch is not None:
        record["batch"] = batch
    if samples is not None:
        record["samples"] = samples
    with open(os.path.join(ROOT, "invocations.jsonl"), "a") as f:
        f.write(json.dumps(record) + "\n")
    # STANDIN_SLEEP_S: hold the "GPU" a while, so concurrent invocations overlap.
    time.sleep(float(os.environ.get("STANDIN_SLEEP_S", "0")))

def blocked(prompt):
    return "BLOCKME" in prompt and not os.path.exists(os.path.join(ROOT, "guardrail_off"))

def write_image(path, prompt, seed):
    # Always JPEG, whatever the extension; same (prompt, seed) gives the same bytes.
    if not os.path.splitext(path)[1]:
        path += ".jpg"
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tag = hashlib.sha256(f"{seed}\n{prompt}".encode()).hexdigest().encode()
    comment = b"\xff\xfe" + (len(tag) + 2).to_bytes(2, "big") + tag
    with open(path, "wb") as f:
        f.write(JPEG[:2] + comment + JPEG[2:])
    return path

def template_clip(frames, fps):
    path = os.path.join(ROOT, f"_clip_{frames}_{fps}.mp4")
    if not os.path.exists(path):
        tmp = path + f".{os.getpid()}.mp4"
        if shutil.which("ffmpeg"):
            subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size=160x96:rate={fps}",
                            "-frames:v", str(frames), "-pix_fmt", "yuv420p", tmp], check=True)
        else:  # a bare ftyp box and an empty moov index: enough for synthset's MP4 check, not for ffmpeg
            with open(tmp, "wb") as f:
                f.write((24).to_bytes(4, "big") + b"ftypisom" + (512).to_bytes(4, "big") + b"isomiso2"
                        + (8).to_bytes(4, "big") + b"moov")
        os.replace(tmp, path)
    return path

def write_video(path, frames, fps):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    shutil.copyfile(template_clip(frames, fps), path)

def write_sidecar(path, prompt, negative, refined=None):
    with open(os.path.splitext(path)[0] + ".txt", "w") as f:
        f.write(f"[Prompt]\n{prompt}\n[Negative Prompt]\n{negative}\n")
        if refined:
            f.write(f"[Refined Prompt]\n{refined}\n")

def write_config(save_path, args):
    os.makedirs(os.path.dirname(os.path.abspath(save_path)), exist_ok=True)
    with open(os.path.splitext(save_path)[0] + ".yaml", "w") as f:
        for key, value in sorted(vars(args).items()):
            f.write(f"{key}: {json.dumps(value)}\n")

def read_batch(path):
    with open(path) as f:
        return json.load(f)

def check_input(path, refiner_on):
    # Returns False when the tool would skip the item; raises like the prompt refiner.
    ext = os.path.splitext(path)[1]
    if ext not in IMAGE_EXTENSIONS and ext != ".mp4":
        print(f"Invalid input {path}: unsupported extension", flush=True)
        return False
    if refiner_on and not (path.endswith(".mp4") or path.endswith(".jpg") or path.endswith(".png")):
        raise ValueError(f"Unsupported file type for the prompt refiner: {path}")
    return True

def video_parser(description):
    import argparse
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--model_size", choices=["2B", "14B"], default="2B")
    p.add_argument("--resolution", choices=["480", "720"], default="720", type=str)
    p.add_argument("--fps", choices=[10, 16], default=16, type=int)
    p.add_argument("--load_ema", action="store_true")
    p.add_argument("--prompt", type=str, default="")
    p.add_argument("--negative_prompt", type=str, default="The video captures a series of frames showing ugly scenes...")
    p.add_argument("--aspect_ratio", choices=["1:1", "4:3", "3:4", "16:9", "9:16"], default="16:9")
    p.add_argument("--guidance", type=float, default=7.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save_path", type=str, default="output/generated_video.mp4")
    p.add_argument("--num_gpus", type=int, default=1)
    for flag in ["--disable_guardrail", "--offload_guardrail", "--disable_prompt_refiner", "--offload_prompt_refiner",
                 "--offload_text_encoder", "--downcast_text_encoder", "--benchmark", "--use_cuda_graphs", "--natten"]:
        p.add_argument(flag, action="store_true")
    return p

def frames_for(fps):
    return 93 if int(fps) == 16 else 61

def record_load(script, args):
    # One line per pipeline build (a model load), with the process id.
    with open(os.path.join(ROOT, "loads.jsonl"), "a") as f:
        f.write(json.dumps({"script": script, "pid": os.getpid(), "model_size": args.model_size}) + "\n")

GENERATED = [0]

def before_generation():
    # With <root>/slow holding S, every generation takes S seconds. With
    # <root>/hang_after holding N, the Nth generation of a process hangs (the marker is
    # removed first, so the next process goes through). Each generation is logged to
    # <root>/started.jsonl as it starts, so a test knows when an item is in hand.
    with open(os.path.join(ROOT, "started.jsonl"), "a") as f:
        f.write(json.dumps({"pid": os.getpid()}) + "\n")
    slow = os.path.join(ROOT, "slow")
    if os.path.exists(slow):
        import time
        with open(slow) as f:
            time.sleep(float(f.read().strip() or "0"))
    marker = os.path.join(ROOT, "hang_after")
    if os.path.exists(marker):
        with open(marker) as f:
            limit = int(f.read().strip() or "0")
        if GENERATED[0] + 1 >= limit:
            os.remove(marker)
            import time
            time.sleep(3600)

def generated(output):
    # One line per generation, with the process id; then the die_after check.
    with open(os.path.join(ROOT, "generations.jsonl"), "a") as f:
        f.write(json.dumps({"pid": os.getpid(), "output": os.path.basename(output)}) + "\n")
    GENERATED[0] += 1
    marker = os.path.join(ROOT, "die_after")
    if os.path.exists(marker):
        with open(marker) as f:
            limit = int(f.read().strip() or "0")
        if GENERATED[0] >= limit:
            os.remove(marker)
            import signal
            os.kill(os.getpid(), signal.SIGKILL)
"""#

    /// In the shape of cosmos-predict2 661da47 `examples/text2image.py`: `parse_args()`,
    /// `setup_pipeline(args, text_encoder=None)` (the load: one line appended to
    /// `<root>/loads.jsonl`), `process_single_generation(pipe, prompt, output_path,
    /// negative_prompt, aspect_ratio, seed, use_cuda_graphs, benchmark) -> bool` writing the
    /// JPEG and its `.txt`, and `generate_image(args, pipe)` for the command line. With
    /// `<root>/die_after` holding N, the process kills itself (SIGKILL) after N generations,
    /// removing the file first so the next run goes through; with `<root>/hang_after`
    /// holding N, the Nth generation hangs.
    static let text2image = #"""
import argparse, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _standin as s

def parse_args():
    p = argparse.ArgumentParser(description="Text2Image stand-in")
    p.add_argument("--model_size", choices=["0.6B", "2B", "14B"], default="2B")
    p.add_argument("--distill_steps", type=int, choices=[0, 1, 2, 3, 4], default=0)
    p.add_argument("--dit_path", type=str, default="")
    p.add_argument("--load_ema", action="store_true")
    p.add_argument("--prompt", type=str, default="A nice broom")
    p.add_argument("--batch_input_json", type=str, default=None)
    p.add_argument("--negative_prompt", type=str, default="")
    p.add_argument("--aspect_ratio", choices=["1:1", "4:3", "3:4", "16:9", "9:16"], default="16:9")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save_path", type=str, default="output/generated_image.jpg")
    for flag in ["--use_cuda_graphs", "--disable_guardrail", "--offload_guardrail", "--benchmark", "--use_fast_tokenizer"]:
        p.add_argument(flag, action="store_true")
    return p.parse_args()

def setup_pipeline(args, text_encoder=None):
    s.record_load("text2image", args)
    return {"model_size": args.model_size}

def process_single_generation(pipe, prompt, output_path, negative_prompt, aspect_ratio, seed, use_cuda_graphs, benchmark):
    s.before_generation()
    if s.blocked(prompt):
        print("Guardrail blocked the prompt; skipping", flush=True)
        return False
    out = s.write_image(output_path, prompt, seed)
    s.write_sidecar(out, prompt, negative_prompt)
    s.generated(out)
    return True

def generate_image(args, pipe):
    batch = s.read_batch(args.batch_input_json) if args.batch_input_json else None
    items = batch if batch is not None else [{"prompt": args.prompt, "output_image": args.save_path}]
    for idx, item in enumerate(items):
        prompt = item.get("prompt")
        if not prompt:
            print(f"Skipping item {idx}: no prompt", flush=True)
            continue
        process_single_generation(pipe, prompt, item.get("output_image", f"output_{idx}.jpg"), args.negative_prompt,
                                  args.aspect_ratio, args.seed, args.use_cuda_graphs, args.benchmark)

if __name__ == "__main__":
    args = parse_args()
    s.log_invocation("text2image", batch=s.read_batch(args.batch_input_json) if args.batch_input_json else None)
    s.write_config(args.save_path, args)
    generate_image(args, setup_pipeline(args))
    sys.exit(0)
"""#

    /// In the shape of cosmos-predict2 661da47 `examples/video2world.py`, as
    /// ``text2image`` (loads logged, `die_after` honoured).
    static let video2world = #"""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _standin as s

def parse_args():
    p = s.video_parser("Video2World stand-in")
    p.add_argument("--dit_path", type=str, default="")
    p.add_argument("--input_path", type=str, default="assets/video2world/input0.jpg")
    p.add_argument("--num_conditional_frames", type=int, choices=[1, 5], default=1)
    p.add_argument("--batch_input_json", type=str, default=None)
    return p.parse_args()

def setup_pipeline(args, text_encoder=None):
    s.record_load("video2world", args)
    return {"fps": args.fps, "refiner": not args.disable_prompt_refiner}

def process_single_generation(pipe, input_path, prompt, output_path, negative_prompt, aspect_ratio,
                              num_conditional_frames, guidance, seed, benchmark=False, use_cuda_graphs=False):
    if not s.check_input(input_path, pipe["refiner"]):
        return False
    if s.blocked(prompt):
        print("Guardrail blocked the prompt; skipping", flush=True)
        return False
    s.write_video(output_path, s.frames_for(pipe["fps"]), pipe["fps"])
    s.write_sidecar(output_path, prompt, negative_prompt, refined=("Refined: " + prompt) if pipe["refiner"] else None)
    s.generated(output_path)
    return True

def generate_video(args, pipe):
    batch = s.read_batch(args.batch_input_json) if args.batch_input_json else None
    items = batch if batch is not None else [{"input_video": args.input_path, "prompt": args.prompt, "output_video": args.save_path}]
    for idx, item in enumerate(items):
        prompt, source = item.get("prompt"), item.get("input_video")
        if not prompt or not source:
            print(f"Skipping item {idx}: missing prompt or input", flush=True)
            continue
        process_single_generation(pipe=pipe, input_path=source, prompt=prompt, output_path=item.get("output_video", f"output_{idx}.mp4"),
                                  negative_prompt=args.negative_prompt, aspect_ratio=args.aspect_ratio,
                                  num_conditional_frames=args.num_conditional_frames, guidance=args.guidance, seed=args.seed,
                                  benchmark=args.benchmark, use_cuda_graphs=args.use_cuda_graphs)

if __name__ == "__main__":
    args = parse_args()
    s.log_invocation("video2world", batch=s.read_batch(args.batch_input_json) if args.batch_input_json else None)
    s.write_config(args.save_path, args)
    generate_video(args, setup_pipeline(args))
    sys.exit(0)
"""#

    /// In the shape of cosmos-predict2 661da47 `examples/text2world.py`: its own
    /// `parse_args()`, and the two phases of its `__main__` with the functions it imports
    /// from text2image.py and video2world.py: every first frame (`<stem>_temp.jpg`, one
    /// `--seed` and `--negative_prompt` for the batch) with the text2image pipeline, then
    /// every clip from them with the video2world pipeline (given the text encoder), the
    /// temporary images removed. Each pipeline build is logged to `loads.jsonl`.
    static let text2world = #"""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _standin as s
from examples.text2image import process_single_generation as process_single_image_generation
from examples.text2image import setup_pipeline as setup_text2image_pipeline
from examples.video2world import process_single_generation as process_single_video_generation
from examples.video2world import setup_pipeline as setup_video2world_pipeline

def parse_args():
    p = s.video_parser("Text2World stand-in")
    p.add_argument("--distill_steps", type=int, choices=[0, 1, 2, 3, 4], default=0)
    p.add_argument("--dit_path_text2image", type=str, default="")
    p.add_argument("--dit_path_video2world", type=str, default="")
    p.add_argument("--batch_input_json", type=str, default=None)
    return p.parse_args()

def generate_first_frames(text2image_pipe, args):
    batch_items = []
    items = s.read_batch(args.batch_input_json) if args.batch_input_json else [{"prompt": args.prompt, "output_video": args.save_path}]
    for idx, item in enumerate(items):
        prompt = item.get("prompt", "")
        output_video = item.get("output_video", f"output_{idx}.mp4")
        if not prompt:
            continue
        temp_image_name = os.path.splitext(output_video)[0] + "_temp.jpg"
        if process_single_image_generation(pipe=text2image_pipe, prompt=prompt, output_path=temp_image_name,
                                           negative_prompt=args.negative_prompt, aspect_ratio=args.aspect_ratio,
                                           seed=args.seed, use_cuda_graphs=args.use_cuda_graphs, benchmark=args.benchmark):
            batch_items.append({"prompt": prompt, "output_video": output_video, "temp_image_path": temp_image_name})
    return batch_items

def generate_videos(video2world_pipe, batch_items, args):
    for item in batch_items:
        process_single_video_generation(pipe=video2world_pipe, input_path=item["temp_image_path"], prompt=item["prompt"],
                                        output_path=item["output_video"], negative_prompt=args.negative_prompt,
                                        aspect_ratio=args.aspect_ratio, num_conditional_frames=1, guidance=args.guidance,
                                        seed=args.seed, benchmark=args.benchmark, use_cuda_graphs=args.use_cuda_graphs)
        if os.path.exists(item["temp_image_path"]):
            os.remove(item["temp_image_path"])

if __name__ == "__main__":
    args = parse_args()
    s.log_invocation("text2world", batch=s.read_batch(args.batch_input_json) if args.batch_input_json else None)
    s.write_config(args.save_path, args)
    args.dit_path = args.dit_path_text2image
    args.use_fast_tokenizer = False
    text2image_pipe = setup_text2image_pipeline(args)
    batch_items = generate_first_frames(text2image_pipe, args)
    del text2image_pipe
    args.dit_path = args.dit_path_video2world
    video2world_pipe = setup_video2world_pipeline(args, text_encoder=None)
    generate_videos(video2world_pipe, batch_items, args)
    sys.exit(0)
"""#

    /// cosmos-predict2 661da47 `examples/video2world_bestofn.py`, read in full:
    /// `parse_args()` defines video2world's flags except `--batch_input_json`, `--natten`,
    /// `--use_cuda_graphs` and `--benchmark` (argparse exits 2 on them), plus
    /// `--gr00t_variant` (gr1|droid), `--prompt_prefix`, `--num_generations`,
    /// `--skip_generation`, `--num_critic_trials`, `--checkpoint_dir`. `generate_video`
    /// validates the input (a failed validation returns no videos), writes
    /// `<save_path>/<input stem>_seed{seed+i}.mp4` per generation; no video at all exits 1
    /// ("Failed to generate any videos"). The critic then writes
    /// `<video stem>_score{int(score*100):03d}.json` and `.html` beside each video. The
    /// prompt prefix reaches only the GR00T pipeline; each call is logged with its
    /// effective prompt.
    static let bestOfN = #"""
import hashlib, json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _standin as s
import argparse

p = argparse.ArgumentParser(description="Best-of-N Video Generation stand-in")
p.add_argument("--model_size", choices=["2B", "14B"], default="2B")
p.add_argument("--resolution", choices=["480", "720"], default="720", type=str)
p.add_argument("--fps", choices=[10, 16], default=16, type=int)
p.add_argument("--dit_path", type=str, default="")
p.add_argument("--load_ema", action="store_true")
p.add_argument("--prompt", type=str, default="")
p.add_argument("--input_path", type=str, default="assets/video2world/input0.jpg")
p.add_argument("--negative_prompt", type=str, default="The video captures a series of frames showing ugly scenes...")
p.add_argument("--aspect_ratio", choices=["1:1", "4:3", "3:4", "16:9", "9:16"], default="16:9", type=str)
p.add_argument("--num_conditional_frames", type=int, default=1, choices=[1, 5])
p.add_argument("--guidance", type=float, default=7)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--save_path", type=str, default="output/best-of-n")
p.add_argument("--num_gpus", type=int, default=1)
for flag in ["--disable_guardrail", "--offload_guardrail", "--disable_prompt_refiner", "--offload_prompt_refiner",
             "--offload_text_encoder", "--downcast_text_encoder"]:
    p.add_argument(flag, action="store_true")
p.add_argument("--gr00t_variant", type=str, default="", choices=["gr1", "droid"])
p.add_argument("--prompt_prefix", type=str, default="The robot arm is performing a task. ")
p.add_argument("--num_generations", type=int, default=2)
p.add_argument("--skip_generation", action="store_true")
p.add_argument("--num_critic_trials", type=int, default=5)
p.add_argument("--checkpoint_dir", type=str, default="checkpoints/nvidia/Cosmos-Reason1-7B")
args = p.parse_args()
prompt = (args.prompt_prefix + args.prompt) if args.gr00t_variant else args.prompt
s.log_invocation("video2world_bestofn", samples=[{"prompt": prompt}])
os.makedirs(args.save_path, exist_ok=True)
videos = []
if s.check_input(args.input_path, not args.disable_prompt_refiner):
    stem = os.path.splitext(os.path.basename(args.input_path))[0]
    for i in range(args.num_generations):
        seed = args.seed + i
        if s.blocked(prompt):
            continue  # process_single_generation returns False: logged, not fatal
        out = os.path.join(args.save_path, f"{stem}_seed{seed}.mp4")
        s.write_video(out, s.frames_for(args.fps), args.fps)
        s.write_sidecar(out, prompt, args.negative_prompt)
        videos.append((seed, out))
if not videos:
    print("Failed to generate any videos, exiting", flush=True)
    sys.exit(1)
for seed, out in videos:
    digest = hashlib.sha256(f"{seed}/{prompt}".encode()).digest()
    answers = ["<think>looks fine</think><answer>%s</answer>" % ("No" if digest[t] % 3 else "Yes")
               for t in range(args.num_critic_trials)]
    score = sum("No" in a for a in answers) / len(answers)
    name = os.path.splitext(out)[0] + f"_score{int(score * 100):03d}"
    with open(name + ".json", "w") as f:
        json.dump(answers, f)
    with open(name + ".html", "w") as f:
        f.write("<html></html>")
"""#

    /// nvidia-cosmos/cosmos-predict2.5 9557c1a (v1.4.2), read in full: `examples/inference.py`
    /// (a tyro CLI: `-i/--input-files FILE...`, `-o/--output-dir`, `--model`, setup bools
    /// as `--x`/`--no-x`, sample overrides such as `--inference-type`; an unknown
    /// argument exits 2), `cosmos_predict2/config.py` (`InferenceArguments.from_files`:
    /// `.json` is one sample, `.jsonl` one per line, other suffixes raise; every sample is
    /// validated with the CLI overrides merged in, before the model loads: unknown keys
    /// (`extra="forbid"`), a missing prompt, guidance outside 0..7, an `input_path` that
    /// is not a file or whose suffix is not one of `.png .jpg .jpeg .webp .mp4` print the
    /// error and exit 1; relative paths resolve against the file's folder; duplicate names
    /// exit 1) and `cosmos_predict2/inference.py` (the load writes `<out>/config.yaml`;
    /// then per sample `<name>.json` first, the text guardrail (a block is skipped with
    /// `keep_going`, else raises), `generate_vid2world` (a resolution other than "none"
    /// or "H,W" raises or asserts, uncaught: the process dies with exit 1 and the rest of
    /// the batch is lost), `<name>.mp4` last, with
    /// `get_pixel_num_frames(state_t=24)` = 93 frames unless `enable_autoregressive`).
    /// Loads are logged to `<root>/loads.jsonl`, the invocation to `invocations.jsonl`.
    static let inference25 = #"""
import argparse, json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _standin as s

MODELS = ["2B/pre-trained", "2B/post-trained", "2B/distilled", "14B/pre-trained", "14B/post-trained"]
SETUP_BOOLS = {"offload_diffusion_model": False, "offload_tokenizer": False, "offload_text_encoder": False,
               "disable_guardrails": False, "offload_guardrail_models": True, "keep_going": True, "profile": False}
SAMPLE_KEYS = {"name", "prompt_path", "prompt", "negative_prompt", "seed", "guidance", "inference_type", "input_path",
               "resolution", "num_output_frames", "num_steps", "enable_autoregressive", "chunk_size", "chunk_overlap"}
EXTENSIONS = [".png", ".jpg", ".jpeg", ".webp", ".mp4"]

p = argparse.ArgumentParser(description="Base model inference script (stand-in)", allow_abbrev=False)
p.add_argument("-i", "--input-files", nargs="+", required=True)
p.add_argument("-o", "--output-dir", required=True)
p.add_argument("--model", choices=MODELS, default="2B/post-trained")
p.add_argument("--checkpoint-path"); p.add_argument("--experiment"); p.add_argument("--config-file", default="")
p.add_argument("--context-parallel-size", type=int)
for name, default in SETUP_BOOLS.items():
    flag = name.replace("_", "-")
    p.add_argument("--" + flag, dest=name, action="store_true", default=default)
    p.add_argument("--no-" + flag, dest=name, action="store_false")
overrides = {"inference_type": str, "prompt": str, "negative_prompt": str, "seed": int, "guidance": int,
             "resolution": str, "num_output_frames": int, "num_steps": int, "input_path": str, "prompt_path": str}
for name, kind in overrides.items():
    p.add_argument("--" + name.replace("_", "-"), dest="o_" + name, type=kind, default=None)
args = p.parse_args()
override = {k[2:]: v for k, v in vars(args).items() if k.startswith("o_") and v is not None}

def fail(message):
    print(message, file=sys.stderr, flush=True)
    sys.exit(1)

samples, raw = [], []
for path in args.input_files:
    with open(path) as f:
        text = f.read()
    if path.endswith(".jsonl"):
        data = [json.loads(line) for line in text.splitlines() if line]
    elif path.endswith(".json"):
        data = [json.loads(text)]
    else:
        raise ValueError("Unsupported file extension")
    base = os.path.dirname(os.path.abspath(path))
    for i, sample in enumerate(data):
        raw.append(sample)
        sample = dict(sample, **override)
        unknown = set(sample) - SAMPLE_KEYS
        if unknown:
            fail(f"Error validating parameters from '{path}' at line {i}\n{sorted(unknown)}: Extra inputs are not permitted")
        if "name" not in sample or "inference_type" not in sample:
            fail(f"Error validating parameters from '{path}' at line {i}\nname and inference_type are required")
        if sample.get("prompt") is None:
            fail(f"Error validating parameters from '{path}' at line {i}\nprompt: Field required")
        if not isinstance(sample.get("guidance", 7), int) or not 0 <= sample.get("guidance", 7) <= 7:
            fail(f"Error validating parameters from '{path}' at line {i}\nguidance: must be an integer in 0..7")
        if not isinstance(sample.get("resolution", "none"), str):
            fail(f"Error validating parameters from '{path}' at line {i}\nresolution: Input should be a valid string")
        if sample["inference_type"] != "text2world":
            source = sample.get("input_path")
            if source is None:
                fail(f"input_path is required for inference type {sample['inference_type']}")
            source = os.path.join(base, os.path.expanduser(source))
            if not os.path.isfile(source):
                fail(f"Error validating parameters from '{path}' at line {i}\ninput_path: Path does not point to a file")
            if os.path.splitext(source)[1] not in EXTENSIONS:
                fail(f"input_path has unsupported file extension '{os.path.splitext(source)[1]}'")
            sample["input_path"] = source
        samples.append(sample)
names = [x["name"] for x in samples]
if len(set(names)) != len(names):
    fail("Error: Inference samplename is not unique")
s.log_invocation("inference", samples=raw)
s.record_load("inference", argparse.Namespace(model_size=args.model))
os.makedirs(args.output_dir, exist_ok=True)
with open(os.path.join(args.output_dir, "config.yaml"), "w") as f:
    f.write(json.dumps({k: v for k, v in vars(args).items() if not k.startswith("o_")}, sort_keys=True) + "\n")
for sample in samples:
    out = os.path.join(args.output_dir, sample["name"])
    with open(out + ".json", "w") as f:
        json.dump(sample, f)
    if not args.disable_guardrails and s.blocked(sample["prompt"]):
        if args.keep_going:
            continue
        raise Exception("Guardrail blocked text2world generation.")
    resolution = sample.get("resolution", "none")
    if resolution != "none":
        size = tuple(int(x) for x in resolution.split(","))
        assert len(size) == 2, "Resolution must be in 'H,W' format"
    frames = sample.get("num_output_frames", 77) if sample.get("enable_autoregressive") else 93
    s.write_video(out + ".mp4", frames, 16)
    s.generated(out + ".mp4")
sys.exit(0)
"""#
}

/// Runs the built binary with fast retries, from the system's temporary folder.
enum Synthset {
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> TestSupport.Result {
        var env = ["SYNTHSET_RETRY_BACKOFF": "0.05"]
        env.merge(environment) { _, new in new }
        return try await TestSupport.run(arguments, in: FileManager.default.temporaryDirectory, environment: env)
    }
}

/// Where ffmpeg is, or a failed expectation telling how to install it.
func requireFFmpeg() throws -> String {
    let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        .map { "\($0)/ffmpeg" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    return try #require(path, "ffmpeg is not installed: install it (apt-get install ffmpeg) to run this test")
}

/// Runs a program to completion (test setup).
@discardableResult
func shell(_ program: String, _ arguments: [String]) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
}
