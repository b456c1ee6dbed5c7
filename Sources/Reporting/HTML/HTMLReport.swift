import Datasets
import Foundation

/// The report as one static HTML page: server-side tables and SVG charts, and the
/// gallery's data as JSON that the page's inline script pages and filters. No network,
/// no external script, style or font: it works from a `file://` URL and from a copy of
/// the page with its `_files` folder.
public struct HTMLReport: Sendable {
    public var report: QualityReport
    public var generated: Date

    public init(report: QualityReport, generated: Date = Date()) {
        self.report = report
        self.generated = generated
    }

    public func render() throws -> String {
        let gallery = report.gallery
        var page = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        page += "<meta name=\"generator\" content=\"synthset report\">"
        page += "<title>\(HTML.escape(report.workflow)) · synthset report</title>"
        page += "<style>\(try Self.asset("report.css"))</style></head>"
        page += "<body data-images=\"\(gallery.images.count)\" data-boxes=\"\(report.boxes)\">"
        // First, so that an error anywhere in the page's script is caught and shown.
        page += "<div id=\"script-errors\" hidden></div><script>\(try Self.asset("errors.js"))</script>"
        page += header()
        page += nav()
        page += gallerySection()
        page += classesSection()
        page += thresholdsSection()
        if !report.trainings.isEmpty { page += trainingSection() }
        page += planSection()
        if !report.warnings.isEmpty { page += warningsSection() }
        page += "<footer>synthset report of <code>\(HTML.escape(report.manifest))</code> · plan \(report.planHash.prefix(12)) · generated \(Self.timestamp(generated))</footer>"
        let data = try Self.galleryJSON(gallery)
        page += "<script type=\"application/json\" id=\"gallery-data\">\(HTML.scriptJSON(data))</script>"
        page += "<script>\(try Self.asset("report.js"))</script>"
        return page + "</body></html>\n"
    }

    static func galleryJSON(_ gallery: Gallery) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return try encoder.encode(gallery)
    }

    static func asset(_ name: String) throws -> String {
        let parts = name.split(separator: ".")
        guard let url = Bundle.module.url(forResource: String(parts[0]), withExtension: String(parts[1])) else {
            throw DatasetError("the report asset \(name) is missing from this build")
        }
        return try String(contentsOf: url, encoding: .utf8)
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withSpaceBetweenDateAndTime]
        return formatter.string(from: date) + " UTC"
    }

    // MARK: - Sections

    func header() -> String {
        var html = "<header><h1>\(HTML.escape(report.workflow))</h1>"
        if let description = report.description { html += "<p class=\"description\">\(HTML.escape(description))</p>" }
        html += "<dl class=\"facts\">"
        html += "<dt>manifest</dt><dd><code>\(HTML.escape(report.manifest))</code></dd>"
        html += "<dt>workspace</dt><dd><code>\(HTML.escape(report.workspace))</code></dd>"
        html += "<dt>last run</dt><dd>\(HTML.escape(report.lastRun ?? "none yet"))</dd>"
        if let running = report.runningNow { html += "<dt>running now</dt><dd class=\"running\">\(HTML.escape(running)); figures are a snapshot</dd>" }
        if let hardware = report.hardware { html += "<dt>hardware</dt><dd>\(HTML.escape(hardware))</dd>" }
        html += "</dl>"
        let planned = report.steps.reduce(0) { $0 + $1.planned }
        let done = report.steps.reduce(0) { $0 + $1.done }
        let failed = report.steps.reduce(0) { $0 + $1.failed }
        html += "<div class=\"tiles\">"
        html += tile("images", HTML.number(report.images), id: "tile-images")
        html += tile("boxes", HTML.number(report.boxes), id: "tile-boxes")
        html += tile("classes", HTML.number(report.gallery.classes.count), id: "tile-classes")
        html += tile("items done", "\(HTML.number(done)) / \(HTML.number(planned))", id: "tile-done")
        html += tile("failed", HTML.number(failed), id: "tile-failed", warn: failed > 0)
        html += "</div></header>"
        return html
    }

    func tile(_ label: String, _ value: String, id: String, warn: Bool = false) -> String {
        "<div class=\"tile\(warn ? " warn" : "")\" id=\"\(id)\"><span class=\"value\">\(value)</span><span class=\"label\">\(HTML.escape(label))</span></div>"
    }

    func nav() -> String {
        "<nav><a href=\"#gallery-section\">Gallery</a><a href=\"#classes\">Classes</a><a href=\"#thresholds\">Thresholds</a>"
            + (report.trainings.isEmpty ? "" : "<a href=\"#training\">Training</a>") + "<a href=\"#plan\">Plan vs actual</a>"
            + (report.warnings.isEmpty ? "" : "<a href=\"#warnings\">Warnings (\(report.warnings.count))</a>") + "</nav>"
    }

    func gallerySection() -> String {
        var html = "<section id=\"gallery-section\"><h2>Gallery</h2>"
        if report.gallery.images.isEmpty {
            html += "<p class=\"empty\">No finished images yet. Run <code>synthset run \(HTML.escape(report.manifest))</code>, then make the report again.</p>"
        }
        html += "<form id=\"filters\" class=\"filters\">"
        for (id, label) in [("f-class", "class"), ("f-step", "step"), ("f-source", "labels"), ("f-split", "split"), ("f-prompt", "prompt")] {
            html += "<label>\(label) <select id=\"\(id)\"></select></label>"
        }
        html += "<label>search <input id=\"f-text\" type=\"search\" placeholder=\"file name or prompt\"></label>"
        html += "<label>per page <select id=\"f-per\"></select></label></form>"
        html += "<div class=\"legend\" id=\"class-legend\">"
        for (index, name) in report.gallery.classes.enumerated() {
            html += "<span class=\"swatch\" style=\"--c:\(Palette.color(index))\">\(HTML.escape(name))</span>"
        }
        html += "</div>"
        html += "<div class=\"pager\"><button type=\"button\" id=\"prev\">‹ previous</button><span id=\"gallery-status\" role=\"status\"></span><button type=\"button\" id=\"next\">next ›</button></div>"
        html += "<div id=\"gallery\" class=\"gallery\"></div>"
        html += "<noscript><p>The gallery needs JavaScript (inline, no network); the tables below do not.</p></noscript>"
        return html + "</section>"
    }

    func classesSection() -> String {
        var html = "<section id=\"classes\"><h2>Classes</h2>"
        if report.sources.isEmpty { html += "<p class=\"empty\">No labeled images yet.</p>" }
        let colorIndex = Dictionary(report.gallery.classes.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        for source in report.sources {
            html += "<article class=\"source\"><h3>\(HTML.escape(source.name)) <small>\(HTML.escape(source.kind))</small></h3>"
            html += "<p>\(HTML.number(source.images)) images, \(HTML.number(source.imagesWithoutBoxes)) without any box.</p>"
            let reasons: [LabelDropReason] = [.threshold, .nms, .size, .maxPerImage]
            html += "<table class=\"numbers\"><thead><tr><th>class</th><th>kept</th>"
            if source.hasDropStats {
                html += reasons.map { "<th>dropped: \(Self.reasonLabel($0))</th>" }.joined()
            }
            html += "<th>images with it</th><th>boxes / image</th><th>mean confidence</th><th>small / medium / large</th></tr></thead><tbody>"
            for figures in source.classes {
                let color = Palette.color(colorIndex[figures.name] ?? 0)
                html += "<tr><th><span class=\"swatch\" style=\"--c:\(color)\">\(HTML.escape(figures.name))</span></th><td>\(HTML.number(figures.kept))</td>"
                if source.hasDropStats {
                    html += reasons.map { "<td>\(HTML.number(figures.dropped[$0.rawValue] ?? 0))</td>" }.joined()
                }
                let perImage = source.images > 0 ? Double(figures.kept) / Double(source.images) : 0
                html += "<td>\(HTML.number(figures.images))</td><td>\(HTML.number(perImage, decimals: 2))</td>"
                html += "<td>\(figures.meanConfidence.map { HTML.number($0, decimals: 3) } ?? "–")</td>"
                html += "<td>\(figures.coco.map { HTML.number($0) }.joined(separator: " / "))</td></tr>"
            }
            html += "</tbody></table>"
            if source.hasDropStats {
                let unassigned = [LabelDropReason.threshold, .unmatched, .empty, .merged].map { "\(Self.reasonLabel($0)) \(HTML.number(source.unassigned[$0.rawValue] ?? 0))" }
                html += "<p>Dropped before a class was known: \(unassigned.joined(separator: ", ")).</p>"
                if !source.unmatchedPhrases.isEmpty {
                    let top = source.unmatchedPhrases.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(12)
                    html += "<p>Unmatched phrases (add them to <code>classes:</code> if they are objects you want): "
                    html += top.map { "<q>\(HTML.escape($0.key))</q> × \(HTML.number($0.value))" }.joined(separator: ", ") + "</p>"
                }
            }
            html += "<div class=\"charts\">"
            for figures in source.classes where figures.kept > 0 || source.classes.count <= 8 {
                let color = Palette.color(colorIndex[figures.name] ?? 0)
                let perImageLabels = (0..<LabelSourceSummary.boxesPerImageBins).map { $0 == LabelSourceSummary.boxesPerImageBins - 1 ? "\($0)+" : String($0) }
                html += "<figure class=\"chart-card\"><figcaption>\(HTML.escape(figures.name)): images by boxes per image</figcaption>"
                html += SVGChart.bars(title: "\(figures.name): images by number of boxes", categories: perImageLabels,
                                      series: [.init(name: "", color: color, values: figures.boxesPerImage.map(Double.init))])
                html += "</figure>"
                let edges = LabelSourceSummary.sizeBins
                let sizeLabels = (0..<(edges.count - 1)).map { String(format: "%.2f", min(edges[$0], 1)) }
                html += "<figure class=\"chart-card\"><figcaption>\(HTML.escape(figures.name)): box size, √(box area ÷ image area)</figcaption>"
                html += SVGChart.bars(title: "\(figures.name): boxes by relative size", categories: sizeLabels,
                                      series: [.init(name: "", color: color, values: figures.sizes.map(Double.init))])
                html += "</figure>"
            }
            html += "</div></article>"
        }
        return html + "</section>"
    }

    static func reasonLabel(_ reason: LabelDropReason) -> String {
        switch reason {
        case .threshold: "threshold"
        case .nms: "NMS"
        case .unmatched: "unmatched phrase"
        case .empty: "empty phrase"
        case .merged: "merged phrase"
        case .size: "size"
        case .maxPerImage: "max per image"
        }
    }

    func thresholdsSection() -> String {
        var html = "<section id=\"thresholds\"><h2>Thresholds</h2>"
        if report.sweeps.isEmpty {
            html += "<p class=\"empty\">No raw-mode label step has candidates yet: a threshold sweep needs the boxes Grounding DINO scored before <code>box_threshold</code> (<code>mode: raw</code>, the default). Procedural ground truth and script-mode labels have none.</p>"
        }
        let colorIndex = Dictionary(report.gallery.classes.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        for sweep in report.sweeps {
            html += "<article class=\"sweep\" data-step=\"\(HTML.escape(sweep.step))\"><h3>\(HTML.escape(sweep.step)) <small>\(HTML.number(sweep.images)) images, text_threshold \(sweep.textThreshold)</small></h3>"
            html += "<p>Boxes kept per class if <code>box_threshold</code> were each value, everything else as in the recipe. The dashed line is the recipe's \(sweep.boxThreshold). Changing it re-runs only the CPU post-processing.</p>"
            let series = sweep.classes.enumerated().map { index, name in
                SVGChart.Series(name: name, color: Palette.color(colorIndex[name] ?? index), values: sweep.kept[index].map(Double.init))
            }
            html += SVGChart.lines(title: "\(sweep.step): boxes kept by box_threshold", x: sweep.thresholds, series: series,
                                   marker: sweep.boxThreshold, markerLabel: "box_threshold \(sweep.boxThreshold)", xLabel: "box_threshold")
            html += "<table class=\"numbers sweep-table\"><thead><tr><th>box_threshold</th>"
            html += sweep.classes.map { "<th>\(HTML.escape($0))</th>" }.joined() + "<th>images with boxes</th></tr></thead><tbody>"
            for (t, threshold) in sweep.thresholds.enumerated() {
                let current = threshold == sweep.boxThreshold
                html += "<tr\(current ? " class=\"current\"" : "")><th>\(String(format: "%.2f", threshold))\(current ? " (recipe)" : "")</th>"
                html += sweep.kept.map { "<td>\(HTML.number($0[t]))</td>" }.joined()
                html += "<td>\(HTML.number(sweep.imagesWithBoxes[t]))</td></tr>"
            }
            html += "</tbody></table></article>"
        }
        return html + "</section>"
    }

    /// A complete step's estimate error as a signed percentage, else a dash.
    static func estimateError(_ step: QualityReport.StepProgress) -> String {
        guard step.estimatedHours > 0, step.attempts > 0, step.pending == 0, step.failed == 0 else { return "–" }
        return String(format: "%+.0f%%", (step.measuredHours - step.estimatedHours) / step.estimatedHours * 100)
    }

    func planSection() -> String {
        var html = "<section id=\"plan\"><h2>Plan vs actual</h2>"
        html += "<p>Estimated hours are the plan's for the whole step (GPU-hours on a GPU, busy hours on a CPU); measured hours add up every attempt of every run, failed ones included; the error, (measured - estimated) / estimated, is shown once a step is complete.</p>"
        html += "<table class=\"numbers\"><thead><tr><th>step</th><th>uses</th><th>device</th><th>planned</th><th>done</th><th>failed</th><th>pending</th><th>estimated</th><th>measured</th><th>error</th><th>attempts</th></tr></thead><tbody>"
        for step in report.steps {
            html += "<tr\(step.failed > 0 ? " class=\"has-failures\"" : "")><th>\(HTML.escape(step.step))</th><td class=\"text\">\(HTML.escape(step.uses))</td><td class=\"text\">\(step.device)</td>"
            html += "<td>\(HTML.number(step.planned))</td><td>\(HTML.number(step.done))</td><td>\(HTML.number(step.failed))</td><td>\(HTML.number(step.pending))</td>"
            html += "<td>\(step.estimatedHours > 0 ? HTML.hours(step.estimatedHours) : "–")</td><td>\(step.attempts > 0 ? HTML.hours(step.measuredHours) : "–")</td><td>\(Self.estimateError(step))</td><td>\(HTML.number(step.attempts))</td></tr>"
        }
        let gpu = report.steps.filter { $0.device == "gpu" }
        let estimated = gpu.reduce(0) { $0 + $1.estimatedHours }, measured = gpu.reduce(0) { $0 + $1.measuredHours }
        html += "</tbody><tfoot><tr><th colspan=\"7\">GPU total</th><td>\(HTML.hours(estimated))</td><td>\(HTML.hours(measured))</td><td></td><td></td></tr>"
        if let price = report.pricePerGPUHour {
            html += "<tr><th colspan=\"7\">at $\(HTML.number(price, decimals: 2)) per GPU-hour</th><td>$\(HTML.number(estimated * price, decimals: 2))</td><td>$\(HTML.number(measured * price, decimals: 2))</td><td></td><td></td></tr>"
        }
        html += "</tfoot></table>"
        let charted = report.steps.filter { $0.estimatedHours > 0 || $0.measuredHours > 0 }
        if !charted.isEmpty {
            html += "<figure class=\"chart-card wide\"><figcaption>Estimated against measured hours per step</figcaption>"
            html += SVGChart.bars(title: "estimated and measured hours per step", categories: charted.map(\.step),
                                  series: [.init(name: "estimated", color: "#9aa5b1", values: charted.map(\.estimatedHours)),
                                           .init(name: "measured", color: "#2f6fd6", values: charted.map(\.measuredHours))],
                                  width: max(320, Double(charted.count) * 90), height: 190, value: HTML.hours)
            html += "</figure>"
        }
        if !report.failures.isEmpty {
            html += "<h3>Failures</h3><table class=\"failures\"><thead><tr><th>step</th><th>item</th><th>attempts</th><th>error</th><th>log</th></tr></thead><tbody>"
            for failure in report.failures {
                html += "<tr><td>\(HTML.escape(failure.step))</td><td><code>\(HTML.escape(String(failure.item.prefix(12))))</code></td><td>\(failure.attempts)</td>"
                html += "<td>\(HTML.escape(failure.error))</td><td>\(failure.log.map { "<code>\(HTML.escape($0))</code>" } ?? "")</td></tr>"
            }
            html += "</tbody></table>"
        }
        return html + "</section>"
    }

    func warningsSection() -> String {
        "<section id=\"warnings\"><h2>Warnings</h2><ul>" + report.warnings.prefix(200).map { "<li>\(HTML.escape($0))</li>" }.joined()
            + (report.warnings.count > 200 ? "<li>… and \(report.warnings.count - 200) more</li>" : "") + "</ul></section>"
    }
}
