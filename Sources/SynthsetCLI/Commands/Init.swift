import ArgumentParser
import Foundation

/// `synthset init`: writes a commented starter recipe.
struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a commented starter recipe (procedural scenes, or the article's can factory).",
        discussion: """
            The recipe starts with the yaml-language-server schema line; --schema sets the \
            path it points to (default: schemas/workflow.schema.json of synthset's \
            repository, relative to the recipe). Never overwrites a file (exit 2).
            """)

    enum Template: String, ExpressibleByArgument, CaseIterable {
        case procedural
        case canFactory = "can-factory"
    }

    @Argument(help: "Where to write the recipe.")
    var file: String = "workflow.yaml"

    @Option(help: "The starter: procedural (CPU only, no external tool) or can-factory (Cosmos-Predict2, Grounded-SAM-2).")
    var from: Template = .procedural

    @Option(help: "Path or URL of workflow.schema.json for the editor's schema line.")
    var schema: String = "../schemas/workflow.schema.json"

    func run() async throws {
        let url = URL(fileURLWithPath: (file as NSString).expandingTildeInPath)
        if FileManager.default.fileExists(atPath: url.path) {
            Console.error("\(file): error: the file exists; synthset init never overwrites one; choose another path or remove it\n")
            throw CommandError.invalidInput
        }
        let name = url.deletingPathExtension().lastPathComponent
            .map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "-" }
        let text = "# yaml-language-server: $schema=\(schema)\n" + Self.body(from, name: String(name))
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url, options: .withoutOverwriting)
        } catch {
            Console.error("\(file): error: cannot write the recipe: \(error.localizedDescription); check the folder's permissions\n")
            throw CommandError.invalidInput
        }
        Console.out("wrote \(file) (\(from.rawValue)); next: synthset plan \(file)\n")
    }

    static func body(_ template: Template, name: String) -> String {
        switch template {
        case .procedural:
            return """
                # A starter recipe: domain-randomized scenes rendered on the CPU with exact boxes,
                # exported as Pascal VOC, COCO, YOLO and Edge Impulse datasets. No GPU needed.
                #   synthset plan \(name).yaml     what it will make
                #   synthset run \(name).yaml      make it (resumable; finished work is never redone)
                version: 1
                name: \(name)
                description: Procedural scenes of cans and boxes for an edge detector.

                steps:
                  scenes:
                    uses: procedural/scenes
                    seeds: 0..99             # one scene per seed; adding seeds renames nothing
                    size: [640, 480]
                    objects:                 # class name: shape, colors, size (fraction of the image), count
                      can: { shape: cylinder, colors: [red, blue, silver], size: [0.12, 0.3], count: [1, 4] }
                      box: { shape: box, colors: [cardboard], size: [0.15, 0.35], count: [0, 2] }
                    background:
                      styles: [gradient, floor, checker, clutter]
                    camera:                  # ranges drawn per scene
                      blur: [0, 2]
                      noise: [0, 8]
                      jpeg_quality: [75, 95]
                  dataset:
                    uses: export
                    from: scenes             # procedural images carry exact ground truth
                    formats: [pascal-voc, coco, yolo, edge-impulse]
                    split: { train: 0.8, test: 0.2 }   # by scene: an option change moves no scene

                """
        case .canFactory:
            return """
                # A starter recipe after NVIDIA's Cosmos-Predict2 article: text2image stills,
                # video2world clips, frames, Grounded-SAM-2 labels, four dataset formats.
                #   synthset plan \(name).yaml     GPU-hours and dollars before you rent anything
                #   synthset run --dry-run \(name).yaml   what a run would still do
                version: 1
                name: \(name)
                description: Drink cans on a factory line, for an edge detector.

                hardware:
                  gpu: h100-sxm            # catalog id (synthset plan --help lists them): VRAM and speed
                  count: 1                 # GPUs used at once
                  price_per_gpu_hour: 2.90 # dollars, for the estimate

                tools:                     # where the external tools are checked out
                  cosmos-predict2: { root: ~/cosmos-predict2, python: python3 }
                  grounded-sam2: { root: ~/Grounded-SAM-2, python: python3 }

                prompts:
                  can_line:
                    template: >-
                      A conveyor belt in a factory. {color} drink cans are lined up on the belt.
                      The conveyor belt is colored {belt}. {light}
                    vars:
                      color: [Orange, Blue, Rainbow]
                      belt: [green, white, black]
                      light: ["The factory floor is well lit.", "Dim, warm yellow roof lights."]
                    sample: { count: 12, seed: 7 }   # a stable subset of the 18 combinations
                    negative: "sharp focus, ultra-high detail, DSLR, 4K"

                steps:
                  images:
                    uses: cosmos-predict2/text2image
                    model: 2B
                    prompts: [can_line]
                    seeds: 0..4              # one model load per seed (Cosmos re-seeds the whole batch)
                    options: { disable_guardrail: true }
                  clips:
                    uses: cosmos-predict2/video2world
                    from: images             # one clip per image
                    model: 2B
                    resolution: 480
                    fps: 16
                    prompt: "A conveyor belt steadily transports soda cans."
                  frames:
                    uses: ffmpeg/extract-frames
                    from: clips
                    every: 8                 # keep every 8th frame
                  labels:
                    uses: grounded-sam2/label
                    from: [images, frames]
                    classes: { can: can, person: person }   # phrase: class
                    box_threshold: 0.30      # changing thresholds re-runs no GPU work
                    text_threshold: 0.25
                  dataset:
                    uses: export
                    from: labels
                    formats: [pascal-voc, coco, yolo, edge-impulse]
                    split: { train: 0.8, test: 0.2 }   # by root image: its clips and frames share a split

                """
        }
    }
}
