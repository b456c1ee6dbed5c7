import Datasets
@testable import Execution
import Foundation
import Testing

/// synthset's raw labeler script, run against fake `torch` and `groundingdino` modules
/// (numpy arrays behind the few tensor calls it makes): its output is what the Swift side
/// reads, and Grounding DINO's rules applied to it give the expected phrases.
@Suite struct RawLabelerScriptTests {
    static let fakeTorch = #"""
    import contextlib
    import numpy as np

    class T:
        def __init__(self, a): self.a = np.asarray(a)
        def cpu(self): return self
        def to(self, device): return self
        def sigmoid(self): return T(1 / (1 + np.exp(-self.a)))
        def max(self, dim): return (T(self.a.max(axis=dim)), T(self.a.argmax(axis=dim)))
        def __getitem__(self, key):
            if isinstance(key, T): key = key.a
            if isinstance(key, tuple): key = tuple(k.a if isinstance(k, T) else k for k in key)
            return T(self.a[key])
        def __gt__(self, other): return T(self.a > other)
        def tolist(self): return self.a.tolist()

    class cuda:
        @staticmethod
        def is_available(): return False

    def no_grad(): return contextlib.nullcontext()
    """#

    static let fakeInference = #"""
    import numpy as np
    import torch

    VOCAB = {"[CLS]": 101, "[SEP]": 102, ".": 1012, "can": 2064, "person": 2711, "fork": 9292, "##lift": 18411}
    NAMES = {v: k for k, v in VOCAB.items()}

    class Tokenizer:
        def __call__(self, caption):
            tokens = ["[CLS]"]
            for word in caption.replace(".", " . ").split():
                tokens += ["fork", "##lift"] if word == "forklift" else [word]
            return {"input_ids": [VOCAB[t] for t in tokens + ["[SEP]"]]}
        def convert_ids_to_tokens(self, ids): return [NAMES[i] for i in ids]

    class Model:
        tokenizer = Tokenizer()
        def to(self, device): return self
        def __call__(self, image, captions):
            assert captions == ["can. forklift."], captions
            logits = np.full((1, 900, 256), -9.0)
            boxes = np.full((1, 900, 4), 0.5)
            # tokens: [CLS] can . fork ##lift . [SEP]
            logits[0, 0, 1] = 2.0                   # can, 0.88
            logits[0, 1, 3], logits[0, 1, 4] = -2.0, 1.0   # ##lift only (fork 0.12)
            logits[0, 2, 1] = -2.5                  # 0.076: above the 0.05 floor only
            boxes[0, 0] = [0.25, 0.5, 0.1, 0.2]
            return {"pred_logits": torch.T(logits), "pred_boxes": torch.T(boxes)}

    def load_model(model_config_path, model_checkpoint_path, device="cuda"):
        return Model()

    def load_image(path):
        return np.zeros((40, 80, 3)), torch.T(np.zeros((3, 4, 4)))
    """#

    @Test func rawLabelerWritesCandidatesTheSwiftSideReads() async throws {
        let python = "/usr/bin/env"
        let check = try await TestSupport.run(["python3", "-c", "import numpy"], in: FileManager.default.temporaryDirectory,
                                              program: URL(fileURLWithPath: python))
        guard check.status == 0 else {
            Issue.record("python3 with numpy is needed for this test: \(check.output)")
            return
        }
        let root = try TestSupport.temporaryDirectory("synthset-raw")
        defer { try? FileManager.default.removeItem(at: root) }
        let fakes = root.appendingPathComponent("fakes")
        let package = fakes.appendingPathComponent("groundingdino/util")
        try FileManager.default.createDirectory(at: package, withIntermediateDirectories: true)
        try Self.fakeTorch.write(to: fakes.appendingPathComponent("torch.py"), atomically: true, encoding: .utf8)
        try "".write(to: fakes.appendingPathComponent("groundingdino/__init__.py"), atomically: true, encoding: .utf8)
        try "".write(to: package.appendingPathComponent("__init__.py"), atomically: true, encoding: .utf8)
        try Self.fakeInference.write(to: package.appendingPathComponent("inference.py"), atomically: true, encoding: .utf8)
        let input = root.appendingPathComponent("in"), output = root.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        for name in ["a.jpg", "b.jpeg", "c.png"] { try Data([0xFF]).write(to: input.appendingPathComponent(name)) }
        let script = root.appendingPathComponent(RawLabelerScript.fileName)
        try RawLabelerScript.source.write(to: script, atomically: true, encoding: .utf8)

        let result = try await TestSupport.run(
            ["python3", script.path, "--input_folder", input.path, "--json_output_folder", output.path,
             "--text_prompt", "Can. Forklift", "--box_floor", "0.05"],
            in: root, environment: ["PYTHONPATH": fakes.path], program: URL(fileURLWithPath: python))
        #expect(result.status == 0, "\(result.output)")
        let written = try FileManager.default.contentsOfDirectory(atPath: output.path).sorted()
        #expect(written == ["a.json", "b.json"])  // .jpg and .jpeg only

        let candidates = try LabelCandidates.decode(from: Data(contentsOf: output.appendingPathComponent("a.json")))
        #expect(candidates.caption == "can. forklift.")
        #expect(candidates.tokens == ["[CLS]", "can", ".", "fork", "##lift", ".", "[SEP]"])
        #expect(candidates.width == 80 && candidates.height == 40)
        #expect(candidates.candidates.count == 3)
        let (kept, below) = GroundingDINO.apply(candidates, boxThreshold: 0.3, textThreshold: 0.25)
        #expect(kept.map(\.phrase) == ["can", "##lift"])
        #expect(below.count == 1)
        #expect(kept[0].box == .init(xmin: 16, ymin: 16, xmax: 24, ymax: 24))
        let classes: [(phrase: String, className: String)] = [("can", "can"), ("forklift", "forklift")]
        let (labels, _) = LabelPostprocessor(classes: classes).process(kept, image: "a.jpg", width: 80, height: 40)
        #expect(labels.objects.map(\.className) == ["can", "forklift"])
    }
}
