import Datasets
import Foundation

extension HTMLReport {
    /// The Training section: per training step, mAP against training images over its
    /// fractions, then per training its metrics per split and class, its per-epoch curves
    /// from results.csv, and test images with predicted boxes beside the ground truth.
    func trainingSection() -> String {
        var html = "<section id=\"training\"><h2>Training</h2>"
        html += "<p>Measured on this machine: training is not bit-reproducible across machines, so these figures are recorded in the lock file but kept out of the dataset fingerprint.</p>"
        let steps = report.trainings.reduce(into: [String]()) { if !$0.contains($1.step) { $0.append($1.step) } }
        for step in steps {
            let runs = report.trainings.filter { $0.step == step }.sorted { $0.metrics.fraction < $1.metrics.fraction }
            html += "<article class=\"training\" data-step=\"\(HTML.escape(step))\"><h3>\(HTML.escape(step))</h3>"
            if runs.count > 1 {
                let splits = runs[0].metrics.splits.keys.sorted()
                html += "<figure class=\"chart-card wide\"><figcaption>mAP50-95 against training images (does more data still help?)</figcaption>"
                html += SVGChart.lines(title: "\(step): mAP50-95 by training images", x: runs.map { Double($0.metrics.trainImages) },
                                       series: splits.enumerated().map { index, split in
                                           SVGChart.Series(name: split, color: Palette.color(index), values: runs.map { $0.metrics.splits[split]?.map50_95 ?? 0 })
                                       }, marker: nil, markerLabel: "", xLabel: "training images")
                html += "</figure>"
            }
            for run in runs { html += trainingRun(run) }
            html += "</article>"
        }
        return html + "</section>"
    }

    func trainingRun(_ run: TrainingSummary) -> String {
        let metrics = run.metrics
        var html = "<div class=\"training-run\" data-item=\"\(run.item.prefix(16))\"><h4>fraction \(metrics.fraction): \(HTML.number(metrics.trainImages)) training images, \(metrics.epochsRun) of \(metrics.epochs) epochs, <code>\(HTML.escape(metrics.model))</code> at \(metrics.imgsz) px</h4>"
        html += "<table class=\"numbers training-metrics\"><thead><tr><th>split</th><th>class</th><th>precision</th><th>recall</th><th>mAP50</th><th>mAP50-95</th></tr></thead><tbody>"
        func row(_ split: String, _ name: String, _ figures: TrainingMetrics.Figures, strong: Bool) -> String {
            "<tr\(strong ? " class=\"current\"" : "")><th>\(HTML.escape(split))</th><td class=\"text\">\(HTML.escape(name))</td>"
                + [figures.precision, figures.recall, figures.map50, figures.map50_95].map { "<td>\(HTML.number($0, decimals: 3))</td>" }.joined() + "</tr>"
        }
        for name in metrics.splits.keys.sorted() {
            guard let split = metrics.splits[name] else { continue }
            html += row(name, "all", split.figures, strong: name == metrics.headline)
            for className in metrics.classes where split.classes[className] != nil {
                html += row(name, className, split.classes[className]!, strong: false)
            }
        }
        html += "</tbody></table>"
        let epochs = run.epochs.compactMap { $0["epoch"] }
        if !epochs.isEmpty {
            let curves: [(String, String)] = [("metrics/mAP50(B)", "mAP50"), ("metrics/mAP50-95(B)", "mAP50-95"), ("metrics/precision(B)", "precision"), ("metrics/recall(B)", "recall")]
            html += "<div class=\"charts\"><figure class=\"chart-card\"><figcaption>Validation metrics per epoch (results.csv)</figcaption>"
            html += SVGChart.lines(title: "validation metrics per epoch", x: epochs,
                                   series: curves.enumerated().map { index, curve in
                                       SVGChart.Series(name: curve.1, color: Palette.color(index), values: run.epochs.map { $0[curve.0] ?? 0 })
                                   }, marker: nil, markerLabel: "", xLabel: "epoch", width: 420, height: 220)
            html += "</figure><figure class=\"chart-card\"><figcaption>Losses per epoch (results.csv)</figcaption>"
            let losses = ["train/box_loss", "train/cls_loss", "train/dfl_loss", "val/box_loss", "val/cls_loss", "val/dfl_loss"]
            html += SVGChart.lines(title: "losses per epoch", x: epochs,
                                   series: losses.enumerated().map { index, name in
                                       SVGChart.Series(name: name, color: Palette.color(index), values: run.epochs.map { $0[name] ?? 0 })
                                   }, marker: nil, markerLabel: "", xLabel: "epoch", width: 420, height: 220)
            html += "</figure></div>"
        }
        if !run.samples.isEmpty {
            html += "<p>Test images: ground truth dashed, predictions (confidence ≥ 0.25) solid.</p><div class=\"training-samples\">"
            for sample in run.samples {
                html += "<figure class=\"chart-card\"><svg class=\"prediction\" viewBox=\"0 0 \(sample.width) \(sample.height)\" width=\"\(min(320, sample.width * 2))\" role=\"img\" aria-label=\"\(HTML.escape(sample.name))\">"
                html += "<image href=\"\(HTML.escape(sample.href))\" width=\"\(sample.width)\" height=\"\(sample.height)\"/>"
                for box in sample.truth where box.count == 6 { html += Self.rect(box, classes: metrics.classes, dashed: true) }
                for box in sample.predicted where box.count == 6 { html += Self.rect(box, classes: metrics.classes, dashed: false) }
                html += "</svg><figcaption>\(HTML.escape(sample.name)): \(sample.truth.count) true, \(sample.predicted.count) predicted</figcaption></figure>"
            }
            html += "</div>"
        }
        return html + "</div>"
    }

    static func rect(_ box: [Double], classes: [String], dashed: Bool) -> String {
        let index = Int(box[0]), name = index >= 0 && index < classes.count ? classes[index] : "class \(index)"
        let label = dashed ? "\(name) (truth)" : "\(name) \(String(format: "%.2f", box[1]))"
        return "<rect class=\"\(dashed ? "truth" : "predicted")\" x=\"\(SVGChart.c(box[2]))\" y=\"\(SVGChart.c(box[3]))\" width=\"\(SVGChart.c(box[4] - box[2]))\" height=\"\(SVGChart.c(box[5] - box[3]))\" fill=\"none\" stroke=\"\(Palette.color(index))\" stroke-width=\"1.5\"\(dashed ? " stroke-dasharray=\"4 3\"" : "")><title>\(HTML.escape(label))</title></rect>"
    }
}
