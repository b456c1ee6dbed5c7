#!/usr/bin/env python3
"""Reads a synthset export with real consumers and checks that every format agrees.

Usage: check_dataset.py DATASET_FOLDER

- pycocotools loads annotations/instances_<split>.json;
- globox reads the same split as COCO, Pascal VOC (pascal-voc/<split>) and YOLO
  (labels/<split> with images/<split>, class names from data.yaml via PyYAML);
- the Edge Impulse bounding_boxes.labels file is checked against its spec.

Every reader must see the same images, the same number of boxes per class, and
coordinates within one pixel of COCO's (VOC is 1-based, so it differs by up to 1).
Prints a JSON summary on success; exits 1 with the list of problems otherwise.
"""
import json
import sys
from collections import Counter
from pathlib import Path

import yaml
from globox import AnnotationSet
from pycocotools.coco import COCO

TOLERANCE = 1.0 + 1e-6
problems = []


def fail(message):
    problems.append(message)


def boxes_by_image(annotation_set):
    """{image_id: sorted [(label, (l, t, r, b))]} from a globox AnnotationSet."""
    result = {}
    for annotation in annotation_set:
        result[annotation.image_id] = sorted(
            (box.label, tuple(float(c) for c in box.ltrb)) for box in annotation.boxes
        )
    return result


def counts(by_image):
    return Counter(label for boxes in by_image.values() for label, _ in boxes)


def compare(name, reference, other, split):
    if set(reference) != set(other):
        missing = sorted(set(reference) - set(other))[:5]
        extra = sorted(set(other) - set(reference))[:5]
        fail(f"{split}: {name} images differ from COCO (missing {missing}, extra {extra})")
        return
    if counts(reference) != counts(other):
        fail(f"{split}: {name} box counts {dict(counts(other))} != COCO {dict(counts(reference))}")
    for image_id, ref_boxes in reference.items():
        boxes = other[image_id]
        if len(boxes) != len(ref_boxes):
            fail(f"{split}/{image_id}: {name} has {len(boxes)} boxes, COCO {len(ref_boxes)}")
            continue
        # Match greedily per class by smallest coordinate difference (order-independent).
        remaining = list(boxes)
        for label, coords in ref_boxes:
            candidates = [b for b in remaining if b[0] == label]
            if not candidates:
                fail(f"{split}/{image_id}: {name} lacks a '{label}' box")
                continue
            best = min(candidates, key=lambda b: max(abs(x - y) for x, y in zip(b[1], coords)))
            delta = max(abs(x - y) for x, y in zip(best[1], coords))
            if delta > TOLERANCE:
                fail(f"{split}/{image_id}: {name} box {best[1]} is {delta:.3f} px from COCO {coords}")
            remaining.remove(best)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = Path(sys.argv[1])
    report = json.loads((root / "report.json").read_text())
    data = yaml.safe_load((root / "data.yaml").read_text())
    names = data["names"]
    if isinstance(names, dict):
        names = [names[i] for i in sorted(names)]
    if data.get("nc") != len(names):
        fail(f"data.yaml nc {data.get('nc')} != {len(names)} names")
    if names != report["classes"]:
        fail(f"data.yaml names {names} != report classes {report['classes']}")
    for key in ("train", "val", "test"):
        if key in data and not (root / data[key]).is_dir():
            fail(f"data.yaml {key}: {data[key]} is not a folder of the dataset")
    if "train" not in data or "val" not in data:
        fail("data.yaml needs train and val (Ultralytics requires both)")

    summary = {"splits": {}, "classes": names}
    total = Counter()
    for split in sorted(report["splits"]):
        coco_file = root / "annotations" / f"instances_{split}.json"
        images_dir = root / "images" / split

        # pycocotools
        coco = COCO(str(coco_file))
        coco_counts = Counter()
        for ann in coco.loadAnns(coco.getAnnIds()):
            coco_counts[coco.loadCats(ann["category_id"])[0]["name"]] += 1
            image = coco.loadImgs(ann["image_id"])[0]
            x, y, w, h = ann["bbox"]
            if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > image["width"] + 1e-6 or y + h > image["height"] + 1e-6:
                fail(f"{split}: COCO box {ann['bbox']} outside {image['file_name']}")
            if abs(ann["area"] - w * h) > 1e-6:
                fail(f"{split}: COCO area {ann['area']} != w*h")
        for image in coco.loadImgs(coco.getImgIds()):
            if not (images_dir / image["file_name"]).is_file():
                fail(f"{split}: COCO image {image['file_name']} missing from images/{split}")
        if len(coco.getImgIds()) != report["splits"][split]["images"]:
            fail(f"{split}: pycocotools sees {len(coco.getImgIds())} images, report says {report['splits'][split]['images']}")

        # globox, three formats
        coco_set = boxes_by_image(AnnotationSet.from_coco(coco_file))
        voc_set = boxes_by_image(AnnotationSet.from_pascal_voc(root / "pascal-voc" / split))
        yolo_raw = AnnotationSet.from_yolo_v5(root / "labels" / split, image_folder=images_dir)
        yolo_set = boxes_by_image(yolo_raw.map_labels({str(i): name for i, name in enumerate(names)}))
        if counts(coco_set) != coco_counts:
            fail(f"{split}: globox COCO counts {dict(counts(coco_set))} != pycocotools {dict(coco_counts)}")
        compare("Pascal VOC", coco_set, voc_set, split)
        compare("YOLO", coco_set, yolo_set, split)

        # Edge Impulse
        ei_dir = root / "edge-impulse" / split
        labels = json.loads((ei_dir / "bounding_boxes.labels").read_text())
        if labels.get("version") != 1 or labels.get("type") != "bounding-box-labels":
            fail(f"{split}: bounding_boxes.labels has version {labels.get('version')} type {labels.get('type')}")
        ei_set = {}
        for file_name, boxes in labels["boundingBoxes"].items():
            if not (ei_dir / file_name).is_file():
                fail(f"{split}: Edge Impulse image {file_name} is not beside bounding_boxes.labels")
            for box in boxes:
                if not all(isinstance(box[k], int) for k in ("x", "y", "width", "height")):
                    fail(f"{split}/{file_name}: Edge Impulse box {box} is not integers")
                if box["width"] <= 0 or box["height"] <= 0:
                    fail(f"{split}/{file_name}: Edge Impulse box {box} has no area")
            ei_set[file_name] = sorted(
                (b["label"], (b["x"], b["y"], b["x"] + b["width"], b["y"] + b["height"])) for b in boxes
            )
        compare("Edge Impulse", coco_set, ei_set, split)

        expected = Counter({k: v for k, v in report["splits"][split]["boxes_per_class"].items() if v})
        if coco_counts != expected:
            fail(f"{split}: COCO counts {dict(coco_counts)} != report {dict(expected)}")
        total += coco_counts
        summary["splits"][split] = {
            "images": len(coco.getImgIds()),
            "boxes_per_class": dict(sorted(coco_counts.items())),
            "voc_boxes": sum(counts(voc_set).values()),
            "yolo_boxes": sum(counts(yolo_set).values()),
            "edge_impulse_boxes": sum(counts(ei_set).values()),
        }
    if sum(total.values()) != report["boxes"]:
        fail(f"total boxes {sum(total.values())} != report {report['boxes']}")
    summary["boxes"] = sum(total.values())

    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
