/// synthset's training script, written to scratch space and run with the interpreter of
/// `tools.ultralytics` (a Python with ultralytics installed), as the raw labeler is.
///
/// Command line (``UltralyticsTrainTool/invocation(for:context:)`` builds it):
///
///     <python> synthset_train.py --data DATA.yaml --model yolov8n.yaml --epochs 10 --imgsz 320
///         --batch 16 --seed 0 --patience 100 --device cpu|0 --fraction 1 --output OUT --work WORK
///         [--evaluate NAME=yolo|coco=PATH ...]
///
/// It trains with `YOLO(model).train(...)` (plots and AMP off: AMP's check would download
/// yolo11n.pt, and plots want Arial.ttf), then validates `best.pt` on each split of the
/// export (`metrics/mAP50(B)`, `metrics/mAP50-95(B)`, precision, recall, per class from
/// `DetMetrics.box.class_result`), and on each `evaluate_on` dataset after renumbering its
/// labels into the model's classes by name. It writes `OUT.partial/` (weights.pt,
/// results.csv, metrics.json: ``TrainingMetrics``) and renames it to OUT at the end, so a
/// kill leaves nothing that looks finished. It never uses the network: YOLO_OFFLINE=1,
/// a config folder in scratch space, and sockets that refuse to connect.
///
/// Written from ultralytics 8.4.190 (PyPI): `engine/trainer.py` (results.csv columns,
/// weights/best.pt), `utils/metrics.py` (`DetMetrics`), `utils/checks.py` (`check_font`,
/// `check_amp`), `utils/__init__.py` (`YOLO_OFFLINE`, `YOLO_CONFIG_DIR`).
enum TrainingScript {
    static let fileName = "synthset_train.py"

    static let source = #"""
#!/usr/bin/env python3
# synthset training: one Ultralytics YOLO detector trained from an exported dataset.
# Written by synthset; see Sources/Execution/Tools/Ultralytics/TrainingScript.swift.
import argparse
import csv
import json
import os
import shutil
import socket
import sys

FORMAT = "synthset-training-metrics/1"


def no_network(*args, **kwargs):
    raise OSError("synthset: ultralytics/train never uses the network (blocked)")


def block_network():
    # Ultralytics reaches out for fonts, AMP check weights, dataset downloads and
    # analytics; YOLO_OFFLINE stops most of it, this stops the rest and says so in the log.
    socket.getaddrinfo = no_network
    socket.create_connection = no_network
    socket.socket.connect = no_network


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)         # data.yaml synthset wrote for this item
    parser.add_argument("--model", required=True)        # yolov8n.yaml (from scratch) or a weights file
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--imgsz", type=int, required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--patience", type=int, required=True)
    parser.add_argument("--device", required=True)       # cpu, or the GPU index synthset assigned
    parser.add_argument("--fraction", type=float, default=1.0)  # of the training split (synthset picked the images)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--output", required=True)       # the item's folder (in scratch space)
    parser.add_argument("--work", required=True)         # Ultralytics' run folder (scratch)
    parser.add_argument("--evaluate", action="append", default=[])  # name=format=path: the user's own datasets
    parser.add_argument("--check", action="store_true")  # import ultralytics, print its version, exit
    return parser.parse_args()


def fonts(config):
    # check_font() downloads Arial.ttf into the config folder when plots draw labels;
    # matplotlib ships DejaVu Sans, which serves as well.
    from matplotlib import font_manager
    source = font_manager.findfont("DejaVu Sans")
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        target = os.path.join(config, name)
        if not os.path.exists(target):
            shutil.copyfile(source, target)


def metrics_of(result, names):
    precision, recall, map50, map50_95 = (float(v) for v in result.box.mean_results())
    per_class = {}
    for position, index in enumerate(result.box.ap_class_index):
        p, r, m50, m = (float(v) for v in result.box.class_result(position))
        per_class[names[int(index)]] = {"precision": round(p, 6), "recall": round(r, 6),
                                        "map50": round(m50, 6), "map50_95": round(m, 6)}
    counts = getattr(result, "nt_per_class", None)
    instances = {names[i]: int(n) for i, n in enumerate(counts.tolist() if counts is not None else []) if i < len(names)}
    return {"precision": round(precision, 6), "recall": round(recall, 6), "map50": round(map50, 6),
            "map50_95": round(map50_95, 6), "classes": per_class, "instances": instances}


def list_images(listing):
    # A split as synthset lists it: one './images/<split>/<name>' line per image.
    root = os.path.dirname(listing)
    with open(listing) as handle:
        lines = [line.strip() for line in handle if line.strip()]
    return [os.path.join(root, line[2:]) if line.startswith("./") else line for line in lines]


def predictions(model, listing, limit, device, imgsz):
    # Predicted boxes for the first test images (the report draws them beside the truth).
    found = {}
    for path in list_images(listing)[:limit]:
        name = os.path.basename(path)
        result = model.predict(path, imgsz=imgsz, device=device, verbose=False, conf=0.25)[0]
        boxes = []
        for (x1, y1, x2, y2), conf, cls in zip(result.boxes.xyxy.tolist(), result.boxes.conf.tolist(), result.boxes.cls.tolist()):
            boxes.append([int(cls), round(conf, 4), round(x1, 1), round(y1, 1), round(x2, 1), round(y2, 1)])
        height, width = result.orig_shape[:2]
        found[name] = {"width": int(width), "height": int(height), "boxes": boxes}
    return found


def read_yaml(path):
    import yaml
    with open(path) as handle:
        return yaml.safe_load(handle)


def names_of(data):
    names = data.get("names") or []
    if isinstance(names, dict):
        return [str(names[k]) for k in sorted(names)]
    return [str(n) for n in names]


def stage_yolo(path, classes, target):
    # The user's YOLO dataset, its labels renumbered into the model's classes (by name).
    data = read_yaml(path)
    folder = os.path.dirname(os.path.abspath(path))
    root = data.get("path") or folder
    root = root if os.path.isabs(root) else os.path.join(folder, root)
    split = data.get("test") or data.get("val")
    source = split if os.path.isabs(split) else os.path.join(root, split)
    if os.path.isdir(source):
        images = sorted(os.path.join(source, n) for n in os.listdir(source) if n.lower().endswith((".jpg", ".jpeg", ".png")))
    else:
        with open(source) as handle:
            base = os.path.dirname(source)
            images = [os.path.join(base, l.strip()[2:]) if l.strip().startswith("./") else l.strip() for l in handle if l.strip()]
    mapping = {i: classes.index(n) for i, n in enumerate(names_of(data)) if n in classes}
    entries = []
    for image in images:
        label = os.path.splitext(image.replace(os.sep + "images" + os.sep, os.sep + "labels" + os.sep))[0] + ".txt"
        lines = []
        if os.path.exists(label):
            with open(label) as handle:
                for line in handle:
                    fields = line.split()
                    if len(fields) == 5 and int(float(fields[0])) in mapping:
                        lines.append(" ".join([str(mapping[int(float(fields[0]))])] + fields[1:]))
        entries.append((image, lines))
    return entries


def stage_coco(path, classes, target):
    # The user's COCO dataset as YOLO labels in the model's classes (by category name).
    with open(path) as handle:
        coco = json.load(handle)
    folder = os.path.dirname(os.path.abspath(path))
    categories = {c["id"]: classes.index(c["name"]) for c in coco["categories"] if c.get("name") in classes}
    boxes = {}
    for annotation in coco["annotations"]:
        if annotation.get("category_id") in categories and annotation.get("bbox"):
            boxes.setdefault(annotation["image_id"], []).append(annotation)
    # Where COCO layouts keep the images: beside the JSON, in images/, or for
    # annotations/instances_<split>.json in <split>/ or images/<split>/ beside annotations/.
    parent = os.path.dirname(folder)
    split = os.path.splitext(os.path.basename(path))[0].replace("instances_", "")
    folders = [folder, os.path.join(folder, "images"), parent, os.path.join(parent, "images"),
               os.path.join(parent, split), os.path.join(parent, "images", split)]
    entries = []
    for image in coco["images"]:
        file = next((os.path.join(f, image["file_name"]) for f in folders if os.path.exists(os.path.join(f, image["file_name"]))),
                    os.path.join(folder, image["file_name"]))
        width, height = float(image["width"]), float(image["height"])
        lines = []
        for annotation in boxes.get(image["id"], []):
            x, y, w, h = (float(v) for v in annotation["bbox"])
            lines.append(f"{categories[annotation['category_id']]} {(x + w / 2) / width:.6f} {(y + h / 2) / height:.6f} {w / width:.6f} {h / height:.6f}")
        entries.append((file, lines))
    return entries


def stage_evaluation(name, path, fmt, classes, work):
    target = os.path.join(work, "evaluate", name)
    images, labels = os.path.join(target, "images", "val"), os.path.join(target, "labels", "val")
    os.makedirs(images, exist_ok=True)
    os.makedirs(labels, exist_ok=True)
    entries = (stage_coco if fmt == "coco" else stage_yolo)(path, classes, target)
    missing = [image for image, _ in entries if not os.path.exists(image)]
    if missing:
        raise SystemExit(f"synthset-train: evaluate_on {name}: {len(missing)} images are missing, e.g. {missing[0]}")
    for index, (image, lines) in enumerate(entries):
        stem = f"{index:06d}-{os.path.splitext(os.path.basename(image))[0]}"
        link = os.path.join(images, stem + os.path.splitext(image)[1].lower())
        if not os.path.lexists(link):
            os.symlink(os.path.abspath(image), link)
        with open(os.path.join(labels, stem + ".txt"), "w") as handle:
            handle.write("".join(line + "\n" for line in lines))
    data = os.path.join(target, "data.yaml")
    with open(data, "w") as handle:
        json.dump({"path": target, "train": "images/val", "val": "images/val", "names": classes}, handle)
    return data, len(entries)


def main():
    args = parse_args()
    block_network()
    os.environ["YOLO_OFFLINE"] = "1"
    config = os.environ.setdefault("YOLO_CONFIG_DIR", os.path.join(args.work, "config"))
    os.makedirs(config, exist_ok=True)
    import ultralytics
    if args.check:
        print(f"ultralytics {ultralytics.__version__}")
        return
    from ultralytics import YOLO, settings
    settings.update({"sync": False, "datasets_dir": args.work, "weights_dir": os.path.join(args.work, "weights"),
                     "runs_dir": os.path.join(args.work, "runs")})
    fonts(config)
    data = read_yaml(args.data)
    names = names_of(data)
    evaluations = []
    for entry in args.evaluate:
        name, fmt, path = entry.split("=", 2)
        evaluations.append((name,) + stage_evaluation(name, path, fmt, names, args.work))

    model = YOLO(args.model)
    model.train(data=args.data, epochs=args.epochs, imgsz=args.imgsz, batch=args.batch, seed=args.seed,
                patience=args.patience, device=args.device, workers=args.workers, project=args.work, name="train",
                exist_ok=True, plots=False, amp=False, deterministic=True, verbose=False, val=True)
    run = os.path.join(args.work, "train")
    best = os.path.join(run, "weights", "best.pt")
    if not os.path.exists(best):
        best = os.path.join(run, "weights", "last.pt")
    trained = YOLO(best)

    splits = {}
    # synthset's data.yaml names the split behind 'val' (validation, else test, else train).
    val_split = data.get("synthset_val_split", "validation")
    has_test = data.get("test") and list_images(os.path.join(data["path"], data["test"]))
    evaluated = [(val_split, "val")] + ([("test", "test")] if has_test and val_split != "test" else [])
    for split, key in evaluated:
        result = trained.val(data=args.data, split=key, imgsz=args.imgsz,
                             batch=args.batch, device=args.device, plots=False, verbose=False,
                             project=args.work, name=f"val-{split}", exist_ok=True)
        splits[split] = metrics_of(result, names)
    for name, path, count in evaluations:
        result = trained.val(data=path, split="val", imgsz=args.imgsz, batch=args.batch, device=args.device,
                             plots=False, verbose=False, project=args.work, name=f"eval-{name}", exist_ok=True)
        splits[name] = metrics_of(result, names)

    # Everything goes into a partial folder renamed into place at the end: a kill before
    # that leaves no output synthset could mistake for a finished training.
    partial = args.output + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(partial)
    shutil.copyfile(best, os.path.join(partial, "weights.pt"))
    shutil.copyfile(os.path.join(run, "results.csv"), os.path.join(partial, "results.csv"))
    headline = "test" if "test" in splits else val_split
    with open(os.path.join(run, "results.csv")) as handle:
        epochs_run = sum(1 for _ in csv.DictReader(handle))
    listing = os.path.join(data["path"], data["test"] if headline == "test" else data["val"])
    metrics = {"format": FORMAT, "ultralytics": ultralytics.__version__, "model": args.model,
               "epochs": args.epochs, "epochs_run": epochs_run, "fraction": args.fraction,
               "train_images": len(list_images(os.path.join(data["path"], data["train"]))), "imgsz": args.imgsz, "seed": args.seed,
               "classes": names, "headline": headline,
               "map50": splits[headline]["map50"], "map50_95": splits[headline]["map50_95"],
               "precision": splits[headline]["precision"], "recall": splits[headline]["recall"],
               "splits": splits}
    metrics["predictions"] = {"split": headline, "images": predictions(trained, listing, 12, args.device, args.imgsz)}
    with open(os.path.join(partial, "metrics.json"), "w") as handle:
        json.dump(metrics, handle, indent=1, sort_keys=True)
    shutil.rmtree(args.output, ignore_errors=True)
    os.replace(partial, args.output)
    print(f"synthset-train: {headline} mAP50 {metrics['map50']:.4f} mAP50-95 {metrics['map50_95']:.4f}", flush=True)


if __name__ == "__main__":
    main()
"""#
}
