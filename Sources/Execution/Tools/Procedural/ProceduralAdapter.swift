import Foundation
import Planning
import SceneFormats
import Scenes
import WorkflowSpec

/// The built-in `procedural/scenes` generator, run in-process on a CPU slot. Each image
/// is committed as soon as it is rendered, with its ground truth beside it
/// (`<name>.json`, format `synthset-boxes/1`).
public struct ProceduralAdapter: ToolAdapter {
    public init() {}

    public func preflight(step: Step, workflow: Workflow) -> [Diagnostic] { [] }

    public func run(_ invocation: Invocation, produced: @Sendable (ProducedOutput) async -> Void) async throws -> InvocationOutcome {
        let spec: SceneSpec
        do { spec = try invocation.planned.decodedParameters(ProceduralParameters.self).scene } catch {
            return InvocationOutcome(failures: Dictionary(uniqueKeysWithValues: invocation.items.map { ($0.id, "\(error)") }))
        }
        let renderer = SceneRenderer(spec: spec)
        var failures: [String: String] = [:]
        for item in invocation.items {
            if Task.isCancelled { break }
            let finalName = URL(fileURLWithPath: item.path).lastPathComponent
            let scene = renderer.render(seed: UInt64(item.seed ?? 0), imageName: finalName)
            let image = invocation.scratch.appendingPathComponent(finalName)
            let truth = image.deletingPathExtension().appendingPathExtension("json")
            do {
                try Data(scene.jpeg).write(to: image)
                try scene.truth.encoded().write(to: truth)
            } catch {
                failures[item.id] = "cannot write to scratch space: \(error.localizedDescription)"
                continue
            }
            let truthDestination = (item.path as NSString).deletingPathExtension + ".json"
            await produced(ProducedOutput(itemID: item.id, file: image, companions: [(truth, truthDestination)]))
        }
        return InvocationOutcome(failures: failures)
    }
}
