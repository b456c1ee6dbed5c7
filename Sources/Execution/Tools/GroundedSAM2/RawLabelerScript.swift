/// synthset's own Grounding DINO labeler (raw mode), written to scratch space and run with
/// the interpreter of `tools.grounded-sam2` in its checkout.
///
/// Command line:
///
///     <python> grounded_sam2_raw.py --input_folder IN --json_output_folder OUT
///         --text_prompt "can. person." --box_floor 0.05
///         [--grounding_config C] [--grounding_checkpoint W] [--device cuda]
///
/// For every `.jpg`/`.jpeg` in IN it writes `OUT/<stem>.json` (`synthset-candidates/1`):
/// every one of the 900 query boxes whose best token score is `> box_floor`, its
/// normalized cx, cy, w, h, and the sigmoid score of every caption token, with the
/// caption's tokens from the model's own tokenizer. No threshold of the user's is applied
/// here: synthset applies `box_threshold`/`text_threshold` itself (`GroundingDINO.apply`),
/// so changing them re-runs no GPU work. An image that fails is reported on stderr and
/// gets no file (that item fails); the others go on. Exits 0 unless the model can't load.
///
/// It mirrors `groundingdino.util.inference.predict()`: caption lowercased, stripped, `.`
/// appended; `outputs["pred_logits"].sigmoid()` (900 x 256) and `outputs["pred_boxes"]`.
enum RawLabelerScript {
    static let fileName = "grounded_sam2_raw.py"

    static let source = #"""
#!/usr/bin/env python3
# synthset raw labeler: every Grounding DINO candidate box with per-token scores.
# Written by synthset; see Sources/Execution/Adapters/GroundedSAM2/RawLabelerScript.swift.
import argparse
import json
import os
import sys

FORMAT = "synthset-candidates/1"


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--input_folder", required=True)
    parser.add_argument("--json_output_folder", required=True)
    parser.add_argument("--text_prompt", required=True)
    parser.add_argument("--box_floor", type=float, required=True)  # synthset always passes it (ItemExpander.boxFloor)
    parser.add_argument("--grounding_config",
                        default="grounding_dino/groundingdino/config/GroundingDINO_SwinT_OGC.py")
    parser.add_argument("--grounding_checkpoint", default="gdino_checkpoints/groundingdino_swint_ogc.pth")
    parser.add_argument("--device", default=None)
    return parser.parse_args()


def import_inference():
    try:
        from groundingdino.util import inference
    except ImportError:
        # Grounded-SAM-2's demos import it from the checkout (the working directory).
        sys.path.insert(0, os.getcwd())
        from grounding_dino.groundingdino.util import inference
    return inference


def preprocess_caption(caption):
    # As groundingdino.util.inference.preprocess_caption.
    result = caption.lower().strip()
    if result.endswith("."):
        return result
    return result + "."


def main():
    args = parse_args()
    import torch
    inference = import_inference()
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    model = inference.load_model(model_config_path=args.grounding_config,
                                 model_checkpoint_path=args.grounding_checkpoint, device=device)
    model = model.to(device)  # as predict() does
    caption = preprocess_caption(args.text_prompt)
    tokenizer = model.tokenizer
    input_ids = tokenizer(caption)["input_ids"]
    tokens = tokenizer.convert_ids_to_tokens(input_ids)
    count = min(len(input_ids), 256)
    os.makedirs(args.json_output_folder, exist_ok=True)
    names = sorted(n for n in os.listdir(args.input_folder) if n.lower().endswith((".jpg", ".jpeg")))
    failed = 0
    for name in names:
        path = os.path.join(args.input_folder, name)
        try:
            image_source, image = inference.load_image(path)
            height, width = image_source.shape[:2]
            with torch.no_grad():
                outputs = model(image[None].to(device), captions=[caption])
            logits = outputs["pred_logits"].cpu().sigmoid()[0]  # (900, 256)
            boxes = outputs["pred_boxes"].cpu()[0]  # (900, 4), normalized cxcywh
            keep = logits.max(dim=1)[0] > args.box_floor
            candidates = []
            for box, scores in zip(boxes[keep].tolist(), logits[keep][:, :count].tolist()):
                candidates.append({"cxcywh": [round(v, 6) for v in box],
                                   "scores": [round(v, 6) for v in scores]})
            result = {"format": FORMAT, "image": name, "width": int(width), "height": int(height),
                      "caption": caption, "box_floor": args.box_floor, "tokens": tokens[:count],
                      "candidates": candidates}
            stem = os.path.splitext(name)[0]
            partial = os.path.join(args.json_output_folder, stem + ".json.partial")
            with open(partial, "w") as handle:
                json.dump(result, handle)
            os.replace(partial, os.path.join(args.json_output_folder, stem + ".json"))
            print(f"synthset-raw: {name}: {len(candidates)} candidates", flush=True)
        except Exception as error:  # one bad image must not lose the batch
            failed += 1
            print(f"synthset-raw: {name}: failed: {error!r}", file=sys.stderr, flush=True)
    print(f"synthset-raw: {len(names) - failed} of {len(names)} images labeled", flush=True)


if __name__ == "__main__":
    main()
"""#
}
