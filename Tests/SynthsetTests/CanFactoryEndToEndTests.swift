import Datasets
import Foundation
import Testing

/// The shipped `workflows/can-factory.yaml`, run end to end against stand-ins that honor
/// the tools' contracts: Cosmos-Predict2 text2image and video2world (CosmosStandIn), real
/// ffmpeg frame extraction, synthset's raw Grounded-SAM-2 labeler interface, and export.
/// Only the tool locations and the ranges are changed (2 seeds, 2 + 2 prompts), so the
/// test exercises the recipe users start from, at a size CI can afford.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct CanFactoryEndToEndTests {
    /// synthset's raw labeler contract (`--input_folder --json_output_folder --text_prompt
    /// --box_floor`, `synthset-candidates/1` out) for images it knows nothing about: one
    /// centred candidate per image scored on the caption's `can` token, its size read from
    /// the JPEG's SOF marker.
    static let rawLabeler = #"""
    import argparse, json, os, sys
    p = argparse.ArgumentParser()
    for flag in ["--input_folder", "--json_output_folder", "--text_prompt"]:
        p.add_argument(flag, required=True)
    p.add_argument("--box_floor", type=float, required=True)
    p.add_argument("--grounding_config"); p.add_argument("--grounding_checkpoint"); p.add_argument("--device")
    a = p.parse_args()
    with open(os.environ["LABELER_LOG"], "a") as log:
        log.write(json.dumps({"argv": sys.argv[1:], "images": len(os.listdir(a.input_folder))}) + "\n")
    def size(path):
        data = open(path, "rb").read()
        i = 2
        while i + 9 < len(data):
            marker, length = data[i + 1], int.from_bytes(data[i + 2:i + 4], "big")
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                return int.from_bytes(data[i + 7:i + 9], "big"), int.from_bytes(data[i + 5:i + 7], "big")
            i += 2 + length
        raise SystemExit("not a JPEG: " + path)
    caption = a.text_prompt.lower().strip()
    tokens = ["[CLS]"]
    for word in caption.replace(".", " . ").split():
        tokens += ["fork", "##lift"] if word == "forklift" else [word]
    tokens.append("[SEP]")
    os.makedirs(a.json_output_folder, exist_ok=True)
    for name in sorted(os.listdir(a.input_folder)):
        if not name.lower().endswith((".jpg", ".jpeg")):
            continue
        width, height = size(os.path.join(a.input_folder, name))
        scores = [0.6 if token == "can" else 0.02 for token in tokens]
        out = {"format": "synthset-candidates/1", "image": name, "width": width, "height": height,
               "caption": caption, "box_floor": a.box_floor, "tokens": tokens,
               "candidates": [{"cxcywh": [0.5, 0.5, 0.5, 0.5], "scores": scores}]}
        json.dump(out, open(os.path.join(a.json_output_folder, os.path.splitext(name)[0] + ".json"), "w"))
    """#

    @Test func shippedRecipeRunsEndToEnd() async throws {
        _ = try requireFFmpeg()  // real frame extraction; the stand-in writes real clips with it
        let directory = try TestSupport.temporaryDirectory("synthset-can-factory-e2e")
        defer { try? FileManager.default.removeItem(at: directory) }
        let cosmos = try CosmosStandIn.make(in: directory)
        let groundedSAM = directory.appendingPathComponent("Grounded-SAM-2")
        try FileManager.default.createDirectory(at: groundedSAM, withIntermediateDirectories: true)
        try Self.rawLabeler.write(to: directory.appendingPathComponent("raw_labeler.py"), atomically: true, encoding: .utf8)

        // The shipped recipe with stand-in tool locations and smaller ranges.
        var recipe = try String(contentsOf: TestSupport.packageRoot.appendingPathComponent("workflows/can-factory.yaml"), encoding: .utf8)
        func replace(_ old: String, _ new: String) {
            #expect(recipe.contains(old), "workflows/can-factory.yaml no longer contains \(old)")
            recipe = recipe.replacingOccurrences(of: old, with: new)
        }
        replace("root: ~/cosmos-predict2", "root: \(cosmos.path)")
        replace("root: ~/Grounded-SAM-2", "root: \(groundedSAM.path)")
        replace("sample: { count: 12, seed: 7 }", "sample: { count: 2, seed: 7 }")
        replace("seeds: 0..9 ", "seeds: 0..1 ")
        replace("    uses: grounded-sam2/label\n", "    uses: grounded-sam2/label\n    script: raw_labeler.py\n")
        try recipe.write(to: directory.appendingPathComponent("can-factory.yaml"), atomically: true, encoding: .utf8)
        let prompts = try JSONSerialization.jsonObject(with: Data(contentsOf: TestSupport.packageRoot
            .appendingPathComponent("workflows/prompts/can-factory-llm.json"))) as? [Any]
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("prompts"), withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: Array(try #require(prompts).prefix(2)))
            .write(to: directory.appendingPathComponent("prompts/can-factory-llm.json"))

        let log = directory.appendingPathComponent("labeler.log")
        let result = try await TestSupport.run(["run", "can-factory.yaml", "--workspace", "ws"], in: directory,
                                               environment: ["LABELER_LOG": log.path, "SYNTHSET_RETRY_BACKOFF": "0.05"])
        #expect(result.status == 0, "\(result.output)")

        // 4 prompts x 2 seeds images, a clip each, 12 frames a clip (every 8th of 93).
        func count(_ step: String, _ ext: String) -> Int {
            ((try? FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("ws/outputs/\(step)").path)) ?? [])
                .filter { $0.hasSuffix(ext) }.count
        }
        #expect(count("images", ".jpg") == 8)
        #expect(count("clips", ".mp4") == 8)
        #expect(count("frames", ".jpg") == 8 * 12)
        #expect(count("labels", ".json") >= 8 + 96)  // label files (and their stats companions)

        // One text2image invocation per seed (one model, one negative prompt), one
        // video2world batch, one labeler invocation for all 104 images.
        let calls = try CosmosStandIn.invocations(cosmos)
        #expect(calls.filter { $0["script"] as? String == "text2image" }.count == 2)
        #expect(calls.filter { $0["script"] as? String == "video2world" }.count == 1)
        let labelerCalls = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        #expect(labelerCalls.count == 1)

        // The dataset holds every image and frame, each with its one can.
        let datasets = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("ws/outputs/dataset").path)
            .filter { !$0.hasPrefix(".") }
        #expect(datasets.count == 1)
        let report = try JSONDecoder().decode(DatasetReport.self, from: Data(contentsOf: directory
            .appendingPathComponent("ws/outputs/dataset/\(try #require(datasets.first))/report.json")))
        #expect(report.images == 104)
        #expect(report.boxesPerClass["can"] == 104)
        #expect(report.imagesWithoutObjects.isEmpty)
        #expect(report.splits.values.reduce(0) { $0 + $1.images } == 104)

        // Nothing is redone on a second run.
        let again = try await TestSupport.run(["run", "can-factory.yaml", "--workspace", "ws", "--json"], in: directory,
                                              environment: ["LABELER_LOG": log.path])
        #expect(again.status == 0)
        #expect(TestSupport.events(again.stdout).filter { $0["event"] as? String == "item_done" }.isEmpty)
        #expect(try CosmosStandIn.invocations(cosmos).count == calls.count)
    }
}
