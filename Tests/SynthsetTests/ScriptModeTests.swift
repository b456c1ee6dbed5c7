import Foundation
import Testing

/// `grounded-sam2/label` in script mode against the article's script, end to end.
@Suite(.serialized) struct ScriptModeTests {
    /// The article's grounded_sam2_batch_image.py (eivholt/edgeai-synthetic-cosmos-predict
    /// 9483899) as a stand-in: its argparse and defaults, its imports (`sam2.build_sam`,
    /// `sam2.sam2_image_predictor`, `grounding_dino.groundingdino.util.inference`; cv2,
    /// torch and supervision left out), models loaded from paths as given (relative ones
    /// against the working directory), one `<stem>.json` per `.jpg`/`.jpeg` and
    /// `annotated_<name>`, an image that fails printed and skipped. Detections come from
    /// the procedural ground truth beside the staged image.
    static let articleScript = #"""
import json, os, shutil, argparse
from sam2.build_sam import build_sam2
from sam2.sam2_image_predictor import SAM2ImagePredictor
from grounding_dino.groundingdino.util.inference import load_model, load_image, predict

def process_images_in_folder(input_folder, output_folder, json_output_folder, text_prompt, grounding_model, image_predictor,
                             box_threshold=0.25, text_threshold=0.25):
    if not os.path.exists(input_folder):
        raise FileNotFoundError(f"Input folder does not exist: {input_folder}")
    os.makedirs(output_folder, exist_ok=True)
    os.makedirs(json_output_folder, exist_ok=True)
    image_files = sorted(f for f in os.listdir(input_folder) if f.lower().endswith(('.jpg', '.jpeg')))
    for image_file in image_files:
        img_path = os.path.join(input_folder, image_file)
        try:
            image_source, image = load_image(img_path)
            detections = predict(model=grounding_model, image=image, caption=text_prompt,
                                 box_threshold=box_threshold, text_threshold=text_threshold)
            shutil.copy(img_path, os.path.join(output_folder, f"annotated_{image_file}"))
            frame_data = {"filename": image_file, "image_width": image_source["width"], "image_height": image_source["height"],
                          "detections": detections}
            with open(os.path.join(json_output_folder, os.path.splitext(image_file)[0] + '.json'), 'w') as f:
                json.dump(frame_data, f, indent=2)
        except Exception as e:
            print(f"Error processing {image_file}: {str(e)}")
            continue

def main():
    parser = argparse.ArgumentParser(description="Process images in a folder with Grounded SAM 2")
    parser.add_argument("--input_folder", required=True)
    parser.add_argument("--output_folder", required=True)
    parser.add_argument("--json_output_folder", required=True)
    parser.add_argument("--text_prompt", required=True)
    parser.add_argument("--box_threshold", type=float, default=0.25)
    parser.add_argument("--text_threshold", type=float, default=0.25)
    parser.add_argument("--grounding_config", default="grounding_dino/groundingdino/config/GroundingDINO_SwinT_OGC.py")
    parser.add_argument("--grounding_checkpoint", default="gdino_checkpoints/groundingdino_swint_ogc.pth")
    parser.add_argument("--sam2_checkpoint", default="./checkpoints/sam2.1_hiera_large.pt")
    parser.add_argument("--sam2_config", default="configs/sam2.1/sam2.1_hiera_l.yaml")
    args = parser.parse_args()
    grounding_model = load_model(model_config_path=args.grounding_config, model_checkpoint_path=args.grounding_checkpoint, device="cpu")
    sam2_model = build_sam2(args.sam2_config, args.sam2_checkpoint)
    image_predictor = SAM2ImagePredictor(sam2_model)
    process_images_in_folder(args.input_folder, args.output_folder, args.json_output_folder, args.text_prompt,
                             grounding_model, image_predictor, args.box_threshold, args.text_threshold)

if __name__ == "__main__":
    main()
"""#

    /// The fake checkout's packages, by path. `sam2.build_sam.build_sam2` looks its config
    /// up by name inside the package, as Hydra's `compose(config_name=...)` does after
    /// `initialize_config_module("sam2")` (IDEA-Research/Grounded-SAM-2 2c0178f,
    /// sam2/__init__.py and sam2/build_sam.py), and opens the checkpoint as given.
    static let checkout: [String: String] = [
        "sam2/__init__.py": "",
        "sam2/build_sam.py": #"""
import os
def build_sam2(config_file, ckpt_path=None, device="cuda", mode="eval", **kwargs):
    package = os.path.dirname(os.path.abspath(__file__))
    if not os.path.isfile(os.path.join(package, config_file)):
        raise Exception(f"hydra.errors.MissingConfigException: Cannot find primary config '{config_file}'")
    if ckpt_path is not None:
        open(ckpt_path, "rb").close()
    return {"config": config_file}
"""#,
        "sam2/sam2_image_predictor.py": "class SAM2ImagePredictor:\n    def __init__(self, model):\n        self.model = model\n",
        "sam2/configs/sam2.1/sam2.1_hiera_l.yaml": "# stand-in\n",
        "grounding_dino/__init__.py": "",
        "grounding_dino/groundingdino/__init__.py": "",
        "grounding_dino/groundingdino/util/__init__.py": "",
        "grounding_dino/groundingdino/config/GroundingDINO_SwinT_OGC.py": "# stand-in\n",
        "grounding_dino/groundingdino/util/inference.py": #"""
import json, os
def load_model(model_config_path, model_checkpoint_path, device="cuda"):
    open(model_config_path).close()
    open(model_checkpoint_path, "rb").close()
    return {"device": device}
def load_image(image_path):
    truth = json.load(open(os.path.splitext(os.path.realpath(image_path))[0] + ".json"))
    return {"width": truth["width"], "height": truth["height"]}, truth
def predict(model, image, caption, box_threshold, text_threshold):
    found = []
    for o in image["objects"]:
        b = o["bbox"]
        if b["xmax"] > b["xmin"] and b["ymax"] > b["ymin"] and 0.9 > box_threshold:
            found.append({"class": o["class"], "confidence": 0.9, "bbox": b})
    return found
"""#,
        "gdino_checkpoints/groundingdino_swint_ogc.pth": "weights",
        "checkpoints/sam2.1_hiera_large.pt": "weights",
    ]

    /// The article's script kept beside the recipe (outside the checkout) imports the
    /// checkout's packages, opens its relative weights from the checkout and finds
    /// `sam2_config` inside the sam2 package.
    @Test func theArticleScriptRunsFromOutsideTheCheckout() async throws {
        let directory = try TestSupport.temporaryDirectory("synthset-article")
        defer { try? FileManager.default.removeItem(at: directory) }
        let root = directory.appendingPathComponent("Grounded-SAM-2")
        for (path, text) in Self.checkout {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        try Data(Self.articleScript.utf8).write(to: directory.appendingPathComponent("grounded_sam2_batch_image.py"))
        let file = directory.appendingPathComponent("label.yaml")
        try Data("""
            version: 1
            name: article
            hardware: { gpu: h100-sxm }
            tools:
              grounded-sam2: { root: \(root.path), python: python3 }
            steps:
              scenes:
                uses: procedural/scenes
                seeds: 0..1
                size: [160, 96]
                objects:
                  can: { shape: cylinder, colors: [red], size: [0.2, 0.4], count: [1, 2] }
              labels:
                uses: grounded-sam2/label
                from: scenes
                mode: script
                script: grounded_sam2_batch_image.py
                classes: [can]
                options: { sam2_config: configs/sam2.1/sam2.1_hiera_l.yaml, sam2_checkpoint: ./checkpoints/sam2.1_hiera_large.pt }
            """.utf8).write(to: file)
        let workspace = directory.appendingPathComponent("ws")
        let result = try await Synthset.run(["run", file.path, "--workspace", workspace.path])
        #expect(result.status == 0, "\(result.output)")
        let labels = FramesTests.files(workspace, "labels", ext: "json").filter { !$0.lastPathComponent.hasSuffix(".stats.json") }
        #expect(labels.count == 2)
        for label in labels {
            let text = try String(contentsOf: label, encoding: .utf8)
            #expect(text.contains("\"can\""), "\(text)")
        }
    }
}
