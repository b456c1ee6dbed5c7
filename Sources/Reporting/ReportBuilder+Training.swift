import Datasets
import Foundation
import WorkspaceStore
import Planning
import WorkflowSpec

extension ReportBuilder {
    /// The finished trainings of the plan with their metrics, epochs and sample images;
    /// a training whose files cannot be read becomes a warning.
    func trainings(done: (PlannedItem) -> Bool, warnings: inout [String]) -> [TrainingSummary] {
        let items = Dictionary(plan.items.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var summaries: [TrainingSummary] = []
        for item in plan.items where item.kind == .model && done(item) {
            let folder = workspace.url(item.path)
            guard let metrics = try? TrainingMetrics.read(from: folder) else {
                warnings.append("\(item.step): \(item.path)/metrics.json could not be read")
                continue
            }
            let csv = (try? String(contentsOf: folder.appendingPathComponent("results.csv"), encoding: .utf8)) ?? ""
            var samples: [TrainingSummary.Sample] = []
            if let predictions = metrics.predictions, let export = item.inputs.first.flatMap({ items[$0] }) {
                let dataset = workspace.url(export.path)
                for name in predictions.images.keys.sorted() {
                    guard let image = predictions.images[name] else { continue }
                    let file = dataset.appendingPathComponent("images/\(predictions.split)/\(name)")
                    let labels = dataset.appendingPathComponent("labels/\(predictions.split)/\((name as NSString).deletingPathExtension).txt")
                    samples.append(TrainingSummary.Sample(
                        name: name, href: Self.relativePath(from: page.deletingLastPathComponent(), to: file),
                        width: image.width, height: image.height,
                        truth: Self.yoloBoxes((try? String(contentsOf: labels, encoding: .utf8)) ?? "", width: image.width, height: image.height),
                        predicted: image.boxes))
                }
            }
            summaries.append(TrainingSummary(step: item.step, item: item.id, metrics: metrics,
                                             epochs: TrainingMetrics.epochs(fromCSV: csv), samples: samples))
        }
        return summaries
    }

    /// YOLO label lines (`class cx cy w h`, normalized) as pixel boxes with confidence 1.
    static func yoloBoxes(_ text: String, width: Int, height: Int) -> [[Double]] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            let values = line.split(separator: " ").compactMap { Double($0) }
            guard values.count == 5 else { return nil }
            let w = Double(width), h = Double(height)
            return [values[0], 1, (values[1] - values[3] / 2) * w, (values[2] - values[4] / 2) * h,
                    (values[1] + values[3] / 2) * w, (values[2] + values[4] / 2) * h]
        }
    }
}
