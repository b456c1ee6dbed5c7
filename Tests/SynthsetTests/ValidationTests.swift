import Foundation
import Testing
import WorkflowSpec

/// One invalid manifest under `Fixtures/invalid/` and the diagnostic it must produce.
struct InvalidCase: Sendable, CustomTestStringConvertible {
    /// The fixture's file name.
    var fixture: String
    var line: Int
    var column: Int
    /// A substring of the message.
    var message: String
    /// The file the diagnostic must point into, when not the manifest (a prompt file).
    var inFile: String? = nil

    var testDescription: String { fixture }
}

let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/invalid")
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Every fixture with exactly one error: where it is and what it says.
let invalidCases: [InvalidCase] = [
    .init(fixture: "syntax-error.yaml", line: 7, column: 12, message: "YAML syntax error: while parsing a flow sequence (line 6)"),
    .init(fixture: "wrong-type.yaml", line: 8, column: 38, message: "steps.scenes.objects.can.count: expected an integer, found the text 'two'"),
    .init(fixture: "unknown-top-key.yaml", line: 3, column: 1, message: "unknown key 'descripton' in the workflow"),
    .init(fixture: "unknown-step-key.yaml", line: 11, column: 5, message: "unknown key 'max_batches' in step 'images' (cosmos-predict2/text2image)"),
    .init(fixture: "unknown-hardware-key.yaml", line: 5, column: 3, message: "unknown key 'vram' in hardware"),
    .init(fixture: "missing-version.yaml", line: 1, column: 1, message: "missing 'version'"),
    .init(fixture: "unsupported-version.yaml", line: 1, column: 10, message: "unsupported manifest version 2"),
    // Yams reports duplicates at the first key; the loader points at the second.
    .init(fixture: "duplicate-step.yaml", line: 13, column: 3, message: "duplicate key 'labels' (first at line 9)"),
    .init(fixture: "unknown-from.yaml", line: 11, column: 5, message: "step 'labels' takes input from unknown step 'scene'"),
    .init(fixture: "cycle.yaml", line: 7, column: 5, message: "steps form a cycle through 'from:': clips <- frames <- clips"),
    .init(fixture: "unknown-uses.yaml", line: 5, column: 11, message: "unknown tool 'procedural/scene' in uses"),
    // A step whose `uses` is wrong is reported once, not again by the steps reading from it.
    .init(fixture: "step-after-invalid.yaml", line: 6, column: 11, message: "unknown tool 'procedural/scene' in uses"),
    .init(fixture: "unknown-placeholder.yaml", line: 6, column: 15, message: "uses {belt} but no var 'belt' is defined"),
    .init(fixture: "unused-var.yaml", line: 9, column: 7, message: "var 'light' of prompt 'line' is never used in its template"),
    .init(fixture: "empty-matrix.yaml", line: 9, column: 13, message: "var 'belt' of prompt 'line' has no values, so the matrix is empty"),
    .init(fixture: "empty-seed-range.yaml", line: 6, column: 12, message: "seed range '5..2' is empty"),
    .init(fixture: "negative-seed.yaml", line: 6, column: 19, message: "seed must not be negative, found -3"),
    .init(fixture: "non-integer-seed.yaml", line: 6, column: 16, message: "seed must be an integer, found '2.5'"),
    .init(fixture: "bad-model.yaml", line: 7, column: 12, message: "model '7B' is not offered by cosmos-predict2/text2image"),
    .init(fixture: "bad-option.yaml", line: 11, column: 7, message: "option 'guidance_scale' is not accepted by cosmos-predict2/text2image"),
    .init(fixture: "box-threshold.yaml", line: 13, column: 20, message: "box_threshold must be between 0 and 1, found 1.5"),
    .init(fixture: "escaping-path.yaml", line: 6, column: 11, message: "'../../etc/prompts.json' escapes the manifest's folder"),
    .init(fixture: "missing-prompt-file.yaml", line: 6, column: 11, message: "prompt file 'prompts/does-not-exist.json' not found"),
    .init(fixture: "prompt-file-not-list.yaml", line: 1, column: 1, message: "prompt file must be a JSON list, found a mapping",
          inFile: "prompts/not-a-list.json"),
    .init(fixture: "prompt-file-number-item.yaml", line: 4, column: 3, message: "prompt 2 must be a string or an object with \"prompt\", found an integer '42'",
          inFile: "prompts/number-item.json"),
    .init(fixture: "llm-without-file.yaml", line: 9, column: 5, message: "prompt 'more' has 'llm' but no 'file' to pin the answer in"),
    .init(fixture: "llm-unknown-from.yaml", line: 9, column: 12, message: "prompt 'more' takes its LLM examples from unknown prompt set 'lines'"),
    .init(fixture: "llm-bad-endpoint.yaml", line: 9, column: 79, message: "'localhost:11434' is not an http(s) URL"),
    // Planning never asks the LLM: a pinned file not written yet names the command that writes it.
    .init(fixture: "llm-missing-pinned.yaml", line: 10, column: 11,
          message: "the pinned prompts of 'more' are not there yet: prompts/not-refreshed-yet.json does not exist"),
    .init(fixture: "pinned-bad-header.yaml", line: 4, column: 14, message: "llm.count: expected an integer, found the text 'two'",
          inFile: "prompts/bad-header.json"),
]

func loadFixture(_ name: String) -> WorkflowLoader.Result {
    WorkflowLoader().load(file: fixturesDirectory.appendingPathComponent(name).path)
}

func render(_ diagnostics: [Diagnostic]) -> String {
    diagnostics.map(\.description).joined(separator: "\n")
}

@Suite struct ValidationTests {
    @Test(arguments: invalidCases)
    func invalidFixtureReportsOneLocatedError(_ expected: InvalidCase) throws {
        let result = loadFixture(expected.fixture)
        #expect(result.workflow == nil)
        #expect(result.errors.count == 1, "expected exactly one error, got:\n\(render(result.errors))")
        let error = try #require(result.errors.first)
        #expect(error.message.contains(expected.message), "message: \(error.message)")
        let location = try #require(error.location, "no location: \(error)")
        #expect(location.line == expected.line && location.column == expected.column,
                "expected \(expected.line):\(expected.column), got \(location.line):\(location.column) for \(error)")
        let file = expected.inFile ?? expected.fixture
        #expect(location.file.hasSuffix("/" + file), "points into \(location.file), expected \(file)")
        let hint = try #require(error.hint, "no hint: \(error)")
        #expect(!hint.isEmpty)
    }

    /// Checks that suggest a fix or list the valid choices do so.
    @Test func hintsListChoicesAndSuggestions() throws {
        let cases: [(String, [String])] = [
            ("bad-option.yaml", ["disable_guardrail", "aspect_ratio", "distill_steps", "use_fast_tokenizer"]),
            ("bad-model.yaml", ["0.6B", "2B", "14B"]),
            ("unknown-top-key.yaml", ["did you mean 'description'?"]),
            ("unknown-step-key.yaml", ["did you mean 'max_batch'?"]),
            ("unknown-hardware-key.yaml", ["vram_gb"]),
            ("unknown-from.yaml", ["did you mean 'scenes'?"]),
            ("llm-unknown-from.yaml", ["did you mean 'line'?"]),
            ("llm-missing-pinned.yaml", ["synthset prompts refresh", "llm-missing-pinned.yaml more"]),
            ("unknown-uses.yaml", ["did you mean 'procedural/scenes'?"]),
        ]
        for (fixture, needles) in cases {
            let hint = try #require(loadFixture(fixture).errors.first?.hint, "\(fixture) has no hint")
            for needle in needles {
                #expect(hint.contains(needle), "\(fixture): hint '\(hint)' lacks '\(needle)'")
            }
        }
    }

    @Test func everyFixtureIsCovered() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: fixturesDirectory.path).filter { $0.hasSuffix(".yaml") }
        let covered = Set(invalidCases.map(\.fixture) + ["several-errors.yaml"])
        #expect(Set(names) == covered)
    }

    /// One file with many problems: every one is reported, each at its own place.
    @Test func severalErrorsAreAllReported() throws {
        let result = loadFixture("several-errors.yaml")
        #expect(result.workflow == nil)
        let expected: [(line: Int, column: Int, message: String)] = [
            (5, 10, "hardware.count: expected an integer, found the text 'many'"),
            (11, 7, "var 'light' of prompt 'line' is never used"),
            (15, 12, "model '7B' is not offered"),
            (17, 12, "seed range '9..0' is empty"),
            (20, 5, "takes input from unknown step 'imagez'"),
            (22, 21, "text_threshold must be between 0 and 1, found -0.2"),
        ]
        #expect(result.errors.count == expected.count, "got:\n\(render(result.errors))")
        for item in expected {
            let match = result.errors.first {
                $0.location?.line == item.line && $0.location?.column == item.column && $0.message.contains(item.message)
            }
            #expect(match != nil, "missing \(item.line):\(item.column) \(item.message) in:\n\(render(result.errors))")
            #expect(match?.hint?.isEmpty == false)
        }
    }

    /// The example workflows load with no errors and no warnings.
    @Test(arguments: (try? FileManager.default.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent("workflows").path))?
        .filter { $0.hasSuffix(".yaml") }.sorted() ?? [])
    func exampleWorkflowLoads(_ name: String) throws {
        let result = WorkflowLoader().load(file: repositoryRoot.appendingPathComponent("workflows/\(name)").path)
        #expect(result.diagnostics.isEmpty, "\(render(result.diagnostics))")
        #expect(result.workflow != nil)
    }

    @Test func canFactoryIsTheDesignExample() throws {
        let result = WorkflowLoader().load(file: repositoryRoot.appendingPathComponent("Tests/SynthsetTests/Fixtures/design/can-factory.yaml").path)
        let workflow = try #require(result.workflow)
        #expect(workflow.hardware?.gpu == "rtx-5090")
        #expect(workflow.steps.map(\.id) == ["images", "clips", "frames", "labels", "dataset"])
        guard case .file(_, let prompts, _)? = workflow.promptSet("enhanced")?.source else {
            Issue.record("enhanced is not a prompt file")
            return
        }
        #expect(prompts.count == 30)
        #expect(Set(prompts.map(\.prompt)).count == 30)
    }
}
