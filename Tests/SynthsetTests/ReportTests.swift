import Datasets
import Execution
import Foundation
import Planning
@testable import Reporting
import SceneFormats
import Scenes
import Testing
import WorkflowSpec
import WorkspaceStore

/// `synthset report`: the page is made by the built binary and opened in headless
/// Chromium; counts in the DOM are checked against the exported dataset and the
/// ground truth, which the report does not read the same way.
@Suite(.serialized) struct ReportTests {
    /// Where the browser tests keep their screenshots (a CI artifact, under the build folder).
    static let artifacts = TestSupport.packageRoot.appendingPathComponent(".build/report-artifacts")

    static func fileURL(_ page: URL, fragment: String = "") -> String {
        page.absoluteString + (fragment.isEmpty ? "" : "#" + fragment)
    }

    /// The gallery's JSON as embedded in the page.
    static func galleryData(_ page: URL) throws -> [String: Any] {
        let html = try String(contentsOf: page, encoding: .utf8)
        let open = "<script type=\"application/json\" id=\"gallery-data\">"
        let start = try #require(html.range(of: open))
        let end = try #require(html[start.upperBound...].range(of: "</script>"))
        let json = String(html[start.upperBound..<end.lowerBound])
        #expect(!json.contains("<"), "the embedded JSON must not contain '<'")
        return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    static func summary(_ result: TestSupport.Result) throws -> [String: Any] {
        try #require(TestSupport.events(result.stdout).last, "no JSON summary in:\n\(result.output)")
    }

    // MARK: The procedural demo in a real browser

    @Test func proceduralDemoReportOpensInChromiumWithTheRightCounts() async throws {
        let root = try TestSupport.temporaryDirectory("synthset-report")
        defer { try? FileManager.default.removeItem(at: root) }
        let recipe = try String(contentsOf: TestSupport.packageRoot.appendingPathComponent("workflows/demo-export.yaml"), encoding: .utf8)
        try recipe.write(to: root.appendingPathComponent("demo-export.yaml"), atomically: true, encoding: .utf8)
        let run = try await TestSupport.run(["run", "demo-export.yaml", "--workspace", "ws"], in: root)
        #expect(run.status == 0, "\(run.output)")

        // The truth the report should show, read independently: the export's report.json
        // and the procedural sidecars.
        let datasets = root.appendingPathComponent("ws/outputs/dataset")
        let dataset = try #require(try FileManager.default.contentsOfDirectory(atPath: datasets.path).first)
        let exported = try JSONDecoder().decode(DatasetReport.self, from: Data(contentsOf: datasets.appendingPathComponent(dataset).appendingPathComponent("report.json")))
        let scenes = root.appendingPathComponent("ws/outputs/scenes")
        let truths = try FileManager.default.contentsOfDirectory(atPath: scenes.path).filter { $0.hasSuffix(".json") }
            .map { try GroundTruth.decode(from: Data(contentsOf: scenes.appendingPathComponent($0))) }
        #expect(exported.images == 200 && truths.count == 200)
        #expect(truths.reduce(0) { $0 + $1.objects.count } == exported.boxes)

        let page = root.appendingPathComponent("out/report.html")
        let made = try await TestSupport.run(["report", "demo-export.yaml", "--workspace", "ws", "-o", "out/report.html", "--json"], in: root)
        #expect(made.status == 0, "\(made.output)")
        let summary = try Self.summary(made)
        #expect(summary["images"] as? Int == 200)
        #expect(summary["boxes"] as? Int == exported.boxes)
        #expect(summary["classes"] as? [String] == ["can", "box", "pallet"])

        // Every image and box, on one page.
        let all = try await Chromium.load(Self.fileURL(page, fragment: "per=all"))
        #expect(all.bodyAttribute("data-ready") == "1")
        #expect(all.bodyAttribute("data-script-errors") == nil)
        #expect(all.uncaughtErrors.isEmpty, "\(all.console)")
        #expect(all.count("<figure class=\"card\"") == 200)
        #expect(all.count("class=\"box\"") == exported.boxes)
        #expect(all.attribute("data-matching-boxes", ofElement: "gallery-status") == String(exported.boxes))
        #expect(all.attribute("data-shown-images", ofElement: "gallery-status") == "200")

        // The default view: the first page only, so only its images load.
        let first = try await Chromium.load(Self.fileURL(page))
        #expect(first.uncaughtErrors.isEmpty, "\(first.console)")
        #expect(first.count("<figure class=\"card\"") == 48)
        #expect(first.count("<img ") == 48)
        #expect(first.attribute("data-pages", ofElement: "gallery-status") == "5")
        #expect(first.attribute("data-matching-images", ofElement: "gallery-status") == "200")

        // Filters: a class (pallet is index 2) and a split, against the truth and the export.
        let withPallets = truths.filter { $0.objects.contains { $0.className == "pallet" } }.count
        let pallets = try await Chromium.load(Self.fileURL(page, fragment: "cls=2&per=all"))
        #expect(pallets.attribute("data-matching-images", ofElement: "gallery-status") == String(withPallets))
        #expect(pallets.count("<figure class=\"card\"") == withPallets)
        let test = try await Chromium.load(Self.fileURL(page, fragment: "split=1&per=all"))
        #expect(test.attribute("data-matching-images", ofElement: "gallery-status") == String(exported.splits["test"]?.images ?? -1))
        #expect(test.attribute("data-matching-boxes", ofElement: "gallery-status") == String(exported.splits["test"]?.boxes ?? -1))

        // Thumbnails (libjpeg's 1/4 scaling of 640x480) and full images resolve from the page.
        let data = try Self.galleryData(page)
        let images = try #require(data["images"] as? [[String: Any]])
        #expect(images.count == 200)
        #expect(Set(images.compactMap { $0["t"] as? String }).count == 200, "one thumbnail per image")
        for image in images {
            let thumb = try #require(image["t"] as? String), full = try #require(image["u"] as? String)
            #expect(thumb.hasPrefix("report_files/thumbs/") && full.hasPrefix("../ws/outputs/scenes/"))
            let bytes = try [UInt8](Data(contentsOf: page.deletingLastPathComponent().appendingPathComponent(thumb)))
            let size = try #require(SceneRenderer.decodeJPEGHeader(bytes))
            #expect(size == (160, 120))
            #expect(FileManager.default.fileExists(atPath: page.deletingLastPathComponent().appendingPathComponent(full).path))
        }

        // The screenshot: kept under the build folder (README's picture is made from it).
        let shot = Self.artifacts.appendingPathComponent("demo-report.png")
        try await Chromium.screenshot(Self.fileURL(page), to: shot, windowSize: "1280,1000")
        let png = try Data(contentsOf: shot)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 10_000)

        // The page's script after the first load, driven by a test script added to a copy:
        // fragment changes, a link to a section, paging, search, the 'none' class filter.
        let driver = #"""
        <script>
        (function () {
          var log = [];
          function status() {
            var s = document.getElementById('gallery-status');
            return { m: +s.getAttribute('data-matching-images'), page: +s.getAttribute('data-page'),
                     shown: +s.getAttribute('data-shown-images'), cls: document.getElementById('f-class').value,
                     split: document.getElementById('f-split').value, q: document.getElementById('f-text').value, hash: location.hash };
          }
          var steps = [
            function () { location.hash = 'cls=2'; },
            function () { location.hash = 'split=1'; },
            function () { location.hash = 'classes'; },
            function () { location.hash = 'per=48'; },
            function () { document.getElementById('next').click(); },
            function () { var t = document.getElementById('f-text'); t.value = 'scenes-1'; t.dispatchEvent(new Event('input')); },
            function () { location.hash = 'cls=none&per=all'; },
            function () { location.hash = 'page=999'; }
          ];
          var i = 0;
          function next() {
            if (i > 0) { log.push(status()); }
            if (i === steps.length) { document.body.setAttribute('data-driver', JSON.stringify(log)); return; }
            steps[i++]();
            setTimeout(next, 50);
          }
          setTimeout(next, 50);
        })();
        </script>
        """#
        let pageHTML = try String(contentsOf: page, encoding: .utf8)
        let driven = page.deletingLastPathComponent().appendingPathComponent("driven.html")
        try pageHTML.replacingOccurrences(of: "</body></html>", with: driver + "</body></html>").write(to: driven, atomically: true, encoding: .utf8)
        let session = try await Chromium.load(Self.fileURL(driven), virtualTime: 10_000)
        #expect(session.uncaughtErrors.isEmpty && session.bodyAttribute("data-script-errors") == nil, "\(session.console)")
        let log = try #require(session.bodyAttribute("data-driver"), "the driver did not finish")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
        let states = try #require(try JSONSerialization.jsonObject(with: Data(log.utf8)) as? [[String: Any]])
        try #require(states.count == 8)
        let testImages = exported.splits["test"]?.images ?? -1
        let withoutBoxes = truths.filter { $0.objects.isEmpty }.count
        let searched = (0..<200).filter { "scenes-\($0)-".hasPrefix("scenes-1") }.count
        // matching images, page, shown images, class, split, search, fragment
        func state(_ index: Int) -> [String] {
            let s = states[index]
            return ["m", "page", "shown"].map { "\(s[$0] as? Int ?? -1)" } + ["cls", "split", "q", "hash"].map { s[$0] as? String ?? "?" }
        }
        func view(_ matching: Int, _ page: Int, _ shown: Int, _ cls: String, _ split: String, _ q: String, _ hash: String) -> [String] {
            ["\(matching)", "\(page)", "\(shown)", cls, split, q, hash]
        }
        #expect(state(0) == view(withPallets, 1, min(withPallets, 48), "2", "", "", "#cls=2"))
        #expect(state(1) == view(testImages, 1, min(testImages, 48), "", "1", "", "#split=1"), "a new fragment replaces the old filters")
        #expect(state(2) == view(testImages, 1, min(testImages, 48), "", "1", "", "#classes"), "a link to a section keeps the view")
        #expect(state(3) == view(200, 1, 48, "", "", "", ""), "the default view needs no fragment")
        #expect(state(4) == view(200, 2, 48, "", "", "", "#page=2"))
        #expect(state(5) == view(searched, 1, 48, "", "", "scenes-1", "#q=scenes-1"))
        #expect(state(6) == view(withoutBoxes, 1, withoutBoxes, "none", "", "", "#cls=none&per=all"))
        #expect(state(7) == view(200, 5, 200 - 4 * 48, "", "", "", "#page=5"), "a page past the end shows the last")

        // A second report reuses the thumbnails and removes only stale ones of its own.
        let thumbs = page.deletingLastPathComponent().appendingPathComponent("report_files/thumbs")
        let kept = try #require(try FileManager.default.contentsOfDirectory(atPath: thumbs.path).sorted().first)
        let before = try FileManager.default.attributesOfItem(atPath: thumbs.appendingPathComponent(kept).path)[.modificationDate] as? Date
        try Data([1]).write(to: thumbs.appendingPathComponent("0123456789abcdef.jpg"))
        try Data([1]).write(to: thumbs.appendingPathComponent("notes.txt"))
        let again = try await TestSupport.run(["report", "demo-export.yaml", "--workspace", "ws", "-o", "out/report.html"], in: root)
        #expect(again.status == 0, "\(again.output)")
        let after = try FileManager.default.attributesOfItem(atPath: thumbs.appendingPathComponent(kept).path)[.modificationDate] as? Date
        #expect(before == after)
        #expect(!FileManager.default.fileExists(atPath: thumbs.appendingPathComponent("0123456789abcdef.jpg").path))
        #expect(FileManager.default.fileExists(atPath: thumbs.appendingPathComponent("notes.txt").path))
    }

    // MARK: User text is text

    @Test func htmlInPromptsAndDescriptionsShowsAsTextAndFailuresAreListed() async throws {
        let root = try TestSupport.temporaryDirectory("synthset-report-html")
        defer { try? FileManager.default.removeItem(at: root) }
        let image = try #require(SceneRenderer.encodeJPEG(rgb: [UInt8](repeating: 128, count: 64 * 48 * 3), width: 64, height: 48, quality: 80))
        try Data(image).write(to: root.appendingPathComponent("src-0.jpg"))
        let prompt = #"A can <script>document.body.setAttribute('data-pwned','1')</script> on <b id=\"injected\">a belt</b> & more"#
        try """
        version: 1
        name: html-prompt
        description: "Cans <i id=\\"desc-injected\\">everywhere</i>"
        steps:
          shots:
            uses: command
            program: cp
            args: ["\(root.path)/src-{seed}.jpg", "{output}"]
            output: jpg
            seeds: [0, 1]
            prompt: "\(prompt)"
        """.write(to: root.appendingPathComponent("w.yaml"), atomically: true, encoding: .utf8)
        let run = try await TestSupport.run(["run", "w.yaml", "--workspace", "ws", "--keep-going", "--retries", "0"], in: root)
        #expect(run.status == 1, "seed 1 has no source image: \(run.output)")
        let made = try await TestSupport.run(["report", "w.yaml", "--workspace", "ws", "-o", "report.html"], in: root)
        #expect(made.status == 0, "\(made.output)")
        let page = root.appendingPathComponent("report.html")
        let html = try String(contentsOf: page, encoding: .utf8)
        // Our three scripts and nothing else; the description escaped by the Swift side.
        #expect(html.components(separatedBy: "<script").count - 1 == 3)
        #expect(html.contains("Cans &lt;i id=&quot;desc-injected&quot;&gt;everywhere&lt;/i&gt;"))

        let dom = try await Chromium.load(Self.fileURL(page))
        #expect(dom.uncaughtErrors.isEmpty, "\(dom.console)")
        #expect(dom.bodyAttribute("data-ready") == "1")
        #expect(dom.bodyAttribute("data-pwned") == nil && dom.bodyAttribute("data-script-errors") == nil)
        #expect(!dom.dom.contains("<b id=\"injected\">") && !dom.dom.contains("<i id=\"desc-injected\">"))
        #expect(dom.count("<figure class=\"card\"") == 1)
        // The prompt is on the card and in the prompt filter, as text.
        let shown = #"&lt;script&gt;document.body.setAttribute('data-pwned','1')&lt;/script&gt; on &lt;b id="injected"&gt;a belt&lt;/b&gt; &amp; more"#
        #expect(dom.count(shown) == 1, "the card's text")
        #expect(dom.count("&lt;script&gt;document.body.setAttribute") == 4, "the card's text and title, the filter option's text and title")
        #expect(dom.count("<span class=\"prompt\"") == 1)
        // The failure is in the plan table and the failures list.
        #expect(dom.dom.contains("<tr class=\"has-failures\"><th>shots</th>"))
        #expect(dom.dom.contains("<h3>Failures</h3>"))

        // The unlabeled image's size (for its card) comes from its header, also when its
        // thumbnail is cached and the image itself is not decoded.
        for _ in 0..<2 {
            let again = try await TestSupport.run(["report", "w.yaml", "--workspace", "ws", "-o", "report.html"], in: root)
            #expect(again.status == 0, "\(again.output)")
            let images = try #require(try Self.galleryData(page)["images"] as? [[String: Any]])
            #expect(images.map { [$0["w"] as? Int, $0["h"] as? Int] } == [[64, 48]])
        }
    }

    @Test func everyUserStringIsEscapedOnTheSwiftSide() throws {
        let evil = "<img src=x onerror=alert(1)>\"'&"
        let escaped = "&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;"
        var counts = LabelStats()
        counts.unmatchedPhrases[evil] = 2
        let gallery = Gallery(classes: [evil, "can"], colors: ["#000", "#111"], steps: [evil], sources: [evil], splits: ["train"],
                              prompts: ["</script><script>alert(1)</script>\u{2028}<!--"],
                              images: [.init(name: evil, thumb: "t.jpg", href: "u.jpg", width: 10, height: 10, step: 0, source: 0, split: 0,
                                             prompt: 0, boxes: [.init(classIndex: 0, confidence: 0.5, xmin: 1, ymin: 1, xmax: 5, ymax: 5)])])
        let source = LabelSourceSummary.make(name: evil, kind: evil, classes: [evil], images: gallery.images, classNames: gallery.classes, stats: counts)
        let sweep = ThresholdSweep(step: evil, boxThreshold: 0.3, textThreshold: 0.25, floor: 0.05, images: 1, thresholds: [0.1, 0.3],
                                   classes: [evil], kept: [[2, 1]], imagesWithBoxes: [1, 1])
        let report = QualityReport(
            workflow: evil, description: evil, manifest: evil, planHash: "abc", workspace: evil, lastRun: evil, runningNow: evil,
            hardware: evil, pricePerGPUHour: 2, steps: [.init(step: evil, uses: evil, device: "gpu", planned: 1, done: 0, failed: 1, pending: 0,
                                                            estimatedHours: 1, measuredHours: 0.5, attempts: 1)],
            failures: [.init(step: evil, item: evil, error: evil, attempts: 1, log: evil)], gallery: gallery,
            sources: [source], sweeps: [sweep], warnings: [evil])
        let html = try HTMLReport(report: report, generated: Date(timeIntervalSince1970: 0)).render()
        #expect(!html.contains("<img"))
        #expect(html.components(separatedBy: "<script").count - 1 == 3)
        #expect(html.components(separatedBy: "</script>").count - 1 == 3)
        #expect(html.contains("<h1>\(escaped)</h1>"))
        #expect(html.contains("<q>\(escaped)</q> × 2"))
        #expect(html.contains("<li>\(escaped)</li>"))
        // The JSON block round-trips to the same strings.
        let json = try HTMLReport.galleryJSON(gallery)
        let safe = HTML.scriptJSON(json)
        #expect(!safe.contains("<") && !safe.contains(">") && !safe.contains("&"))
        let decoded = try #require(try JSONSerialization.jsonObject(with: Data(safe.utf8)) as? [String: Any])
        #expect(!safe.contains("\u{2028}"))
        #expect(decoded["prompts"] as? [String] == ["</script><script>alert(1)</script>\u{2028}<!--"])
        #expect(decoded["classes"] as? [String] == [evil, "can"])
    }

    // MARK: Thresholds and plan vs actual

    @Test func thresholdSweepMatchesTheStandInScoresAndGPUTimeIsMeasured() async throws {
        let images = 6
        let root = try LabelingEndToEndTests.setUp(mode: "raw", script: LabelingEndToEndTests.rawScript, boxThreshold: 0.25, images: images)
        defer { try? FileManager.default.removeItem(at: root) }
        try await LabelingEndToEndTests.run(root)
        let truth = try LabelingEndToEndTests.truth(root)

        let outcome = WorkflowService.loadAndPlan(file: root.appendingPathComponent("label.yaml").path, options: PlanOptions())
        let workflow = try #require(outcome.workflow), plan = try #require(outcome.plan)
        let workspace = Workspace(root: root.appendingPathComponent("ws"))
        let report = try ReportBuilder(workflow: workflow, plan: plan, workspace: workspace,
                                       page: root.appendingPathComponent("report.html")).build()
        let sweep = try #require(report.sweeps.first)
        #expect(report.sweeps.count == 1 && sweep.step == "labels" && sweep.images == images)
        #expect(sweep.thresholds.first == 0.05 && sweep.thresholds.last == 0.95 && sweep.thresholds.contains(0.25))
        // The stand-in scores truth objects 0.40 (even index) or 0.30 (odd); each image also
        // has a 0.5 ##lift box (forklift) and a 0.5 merged can/person box (can).
        for (t, threshold) in sweep.thresholds.enumerated() {
            var expected: [String: Int] = ["can": 0, "person": 0, "forklift": 0]
            for objects in truth {
                for (index, object) in objects.enumerated() where (index % 2 == 0 ? 0.40 : 0.30) > threshold {
                    expected[object.className, default: 0] += 1
                }
                if 0.5 > threshold { expected["can", default: 0] += 1; expected["forklift", default: 0] += 1 }
            }
            let actual = Dictionary(uniqueKeysWithValues: sweep.classes.enumerated().map { ($1, sweep.kept[$0][t]) })
            #expect(actual == expected, "at box_threshold \(threshold)")
        }
        // At the recipe's threshold the sweep agrees with what the step wrote.
        let labels = try #require(report.sources.first { $0.name == "labels" })
        let current = try #require(sweep.thresholds.firstIndex(of: 0.25))
        for figures in labels.classes {
            #expect(sweep.kept[sweep.classes.firstIndex(of: figures.name)!][current] == figures.kept, "\(figures.name)")
        }
        #expect(labels.classes.first { $0.name == "can" }?.dropped["threshold"] == images)
        #expect(labels.unassigned["empty"] == images)

        // GPU time: the candidates stage ran on the (stand-in) GPU; measured = its attempts.
        let store = try CheckpointStore(path: workspace.store)
        let attempts = try store.allTasks().filter { $0.step == "labels.candidates" }
        let gpuStep = try #require(report.steps.first { $0.step == "labels.candidates" })
        #expect(gpuStep.device == "gpu" && gpuStep.estimatedHours > 0 && gpuStep.done == images)
        #expect(abs(gpuStep.measuredHours * 3600 - attempts.reduce(0) { $0 + ($1.duration ?? 0) }) < 1e-6)

        // The page marks the recipe's threshold in the chart and the table.
        let html = try HTMLReport(report: report).render()
        #expect(html.contains("<tr class=\"current\"><th>0.25 (recipe)</th>"))
        #expect(html.contains("<line class=\"marker\""))
        // Procedural images labeled by a step keep their ground truth as a second source.
        #expect(Set(report.sources.map(\.name)) == ["scenes", "labels"])

        // `clean --orphans` keeps the labels' companions (the drop statistics).
        let clean = try await TestSupport.run(["clean", "label.yaml", "--workspace", "ws", "--orphans"], in: root)
        #expect(clean.status == 0, "\(clean.output)")
        let labelFiles = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("ws/outputs/labels").path)
        #expect(labelFiles.filter { $0.hasSuffix(".stats.json") }.count == images)

        // The sweep predicts what the step writes at another threshold, with NMS, a
        // minimum area and a per-image cap on: change the recipe, re-run (CPU only), compare.
        let recipe = root.appendingPathComponent("label.yaml")
        let limited = try String(contentsOf: recipe, encoding: .utf8).replacingOccurrences(
            of: "text_threshold: 0.25", with: "text_threshold: 0.25\n    nms_iou: 0.3\n    max_per_image: 2\n    min_box_area: 1000")
        try limited.write(to: recipe, atomically: true, encoding: .utf8)
        func reportNow() async throws -> QualityReport {
            try await LabelingEndToEndTests.run(root)
            let outcome = WorkflowService.loadAndPlan(file: recipe.path, options: PlanOptions())
            return try ReportBuilder(workflow: try #require(outcome.workflow), plan: try #require(outcome.plan), workspace: workspace,
                                     page: root.appendingPathComponent("report.html")).build()
        }
        let before = try await reportNow()
        let prediction = try #require(before.sweeps.first)
        let at = try #require(prediction.thresholds.firstIndex(of: 0.45)), now = try #require(prediction.thresholds.firstIndex(of: 0.25))
        let predicted = Dictionary(uniqueKeysWithValues: prediction.classes.enumerated().map { ($1, prediction.kept[$0][at]) })
        #expect(predicted != Dictionary(uniqueKeysWithValues: prediction.classes.enumerated().map { ($1, prediction.kept[$0][now]) }))
        try limited.replacingOccurrences(of: "box_threshold: 0.25", with: "box_threshold: 0.45").write(to: recipe, atomically: true, encoding: .utf8)
        let after = try await reportNow()
        let written = try #require(after.sources.first { $0.name == "labels" })
        #expect(Dictionary(uniqueKeysWithValues: written.classes.map { ($0.name, $0.kept) }) == predicted)
        #expect(LabelingEndToEndTests.invocations(root).count == 1, "threshold changes ran no labeler again")
    }

    // MARK: Before a run, and bad input

    @Test func reportBeforeAnyRunAndOnBadInput() async throws {
        let root = try TestSupport.temporaryDirectory("synthset-report-empty")
        defer { try? FileManager.default.removeItem(at: root) }
        let recipe = try String(contentsOf: TestSupport.packageRoot.appendingPathComponent("workflows/demo.yaml"), encoding: .utf8)
        try recipe.write(to: root.appendingPathComponent("demo.yaml"), atomically: true, encoding: .utf8)
        let empty = try await TestSupport.run(["report", "demo.yaml", "--workspace", "ws", "--json"], in: root)
        #expect(empty.status == 0, "\(empty.output)")
        #expect(try Self.summary(empty)["images"] as? Int == 0)
        let html = try String(contentsOf: root.appendingPathComponent("ws/report.html"), encoding: .utf8)
        #expect(html.contains("No finished images yet"))

        try "version: 1\nname: bad\nsteps:\n  s:\n    uses: procedural/scenes\n    seedz: 0..3\n"
            .write(to: root.appendingPathComponent("bad.yaml"), atomically: true, encoding: .utf8)
        let bad = try await TestSupport.run(["report", "bad.yaml", "-o", "bad/report.html"], in: root)
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("bad.yaml:6:5: error:"), "\(bad.stderr)")
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("bad").path))

        try FileManager.default.createDirectory(at: root.appendingPathComponent("folder"), withIntermediateDirectories: true)
        let folder = try await TestSupport.run(["report", "demo.yaml", "--workspace", "ws", "-o", "folder"], in: root)
        #expect(folder.status == 2 && folder.stderr.contains("is a folder"), "\(folder.output)")

        // A page under a regular file: nowhere to write, said before any work.
        try Data("x".utf8).write(to: root.appendingPathComponent("file.txt"))
        let blocked = try await TestSupport.run(["report", "demo.yaml", "--workspace", "ws", "-o", "file.txt/report.html"], in: root)
        #expect(blocked.status == 2, "\(blocked.output)")
        #expect(blocked.stderr.contains("error: cannot write the report in") && blocked.stderr.contains("choose a writable place with -o"),
                "\(blocked.stderr)")
    }

    // MARK: Pieces

    @Test func thumbnailsUseLibjpegScaling() throws {
        var rgb = [UInt8](repeating: 90, count: 640 * 480 * 3)
        for y in 0..<480 {
            for x in 0..<640 {
                let offset = (y * 640 + x) * 3
                rgb[offset] = UInt8(x / 3)
                rgb[offset + 1] = UInt8(y / 2)
            }
        }
        let jpeg = try #require(SceneRenderer.encodeJPEG(rgb: rgb, width: 640, height: 480, quality: 90))
        let thumbnail = try #require(JPEGThumbnail.make(from: jpeg, minWidth: 160))
        #expect(thumbnail.width == 160 && thumbnail.height == 120 && thumbnail.fullWidth == 640 && thumbnail.fullHeight == 480)
        #expect(SceneRenderer.decodeJPEGHeader(thumbnail.jpeg).map { [$0.width, $0.height] } == [160, 120])
        #expect(thumbnail.jpeg.count < jpeg.count / 4)
        #expect(JPEGThumbnail.scaleDenominator(width: 1280, minWidth: 160) == 8)
        #expect(JPEGThumbnail.scaleDenominator(width: 300, minWidth: 160) == 1)
        #expect(JPEGThumbnail.make(from: Array(jpeg.prefix(jpeg.count / 2)), minWidth: 160) == nil)
        #expect(JPEGThumbnail.make(from: [0x89, 0x50, 0x4E, 0x47], minWidth: 160) == nil)
        // Well framed (the Swift header check passes) but a Huffman table libjpeg rejects:
        // the C error path (setjmp) must return nil, not exit the process.
        var bogus = jpeg
        let dht = try #require((0..<(bogus.count - 1)).first { bogus[$0] == 0xFF && bogus[$0 + 1] == 0xC4 })
        for offset in (dht + 5)..<(dht + 21) { bogus[offset] = 0xFF }   // 16 code counts of 255: > 256 codes
        #expect(SceneRenderer.decodeJPEGHeader(bogus) != nil)
        #expect(JPEGThumbnail.make(from: bogus, minWidth: 160) == nil)
    }

    @Test func relativeURLsFromThePageToImages() {
        func path(_ from: String, _ to: String) -> String {
            ReportBuilder.relativePath(from: URL(fileURLWithPath: from), to: URL(fileURLWithPath: to))
        }
        #expect(path("/w/.synthset/x", "/w/.synthset/x/outputs/s/a.jpg") == "outputs/s/a.jpg")
        #expect(path("/tmp/out", "/w/ws/outputs/s/a.jpg") == "../../w/ws/outputs/s/a.jpg")
        #expect(path("/w/r", "/w/my ws/#1/a.jpg") == "../my%20ws/%231/a.jpg")
        // A colon would make a first segment a scheme (`ws:1/…`, `javascript:…`).
        #expect(path("/w", "/w/ws:1/a%b.jpg") == "ws%3A1/a%25b.jpg")
        #expect(path("/w", "/w/javascript:alert(1)/x.jpg").hasPrefix("javascript%3A"))
    }
}
