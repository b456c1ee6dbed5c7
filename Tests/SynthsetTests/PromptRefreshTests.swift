import Foundation
import Testing
@testable import Execution
import Planning
import WorkflowSpec

/// `synthset prompts refresh` against a stand-in chat completions server on 127.0.0.1, and
/// the pinned file it writes as planning reads it.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct PromptRefreshTests {
    /// The stand-in (Python's http.server, one thread per request): the request and answer
    /// shapes of the OpenAI-compatible API as Ollama implements it (ollama/ollama
    /// `openai/openai.go` at 00988753ff743bf26117964f6e43f9ebf10bce30: `ChatCompletionRequest`,
    /// `ChatCompletion`, `ErrorResponse`). It serves the answers of a JSON file in order
    /// (the last one repeats), refuses (400) a request that breaks the shape, records every
    /// request, listens on loopback only and exits by itself after its lifetime.
    static let serverScript = #"""
# A stand-in for an OpenAI-compatible chat completions server, for synthset's tests.
import json, os, sys, time, threading, http.server

port_file, record_file, answers_file, lifetime = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
answers = json.load(open(answers_file))
lock = threading.Lock()
state = {"next": 0}

def record(entry):
    with lock:
        with open(record_file, "a") as f:
            f.write(json.dumps(entry) + "\n")

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, data, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def refuse(self, reason):
        record({"violation": reason, "path": self.path})
        self.send(400, json.dumps({"error": {"message": reason, "type": "invalid_request_error"}}).encode())

    def do_GET(self):
        self.refuse("GET " + self.path)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        if length <= 0 or length > 1024 * 1024:
            return self.refuse("missing or oversized Content-Length %d" % length)
        raw = self.rfile.read(length)
        if self.path not in ("/v1/chat/completions", "/chat/completions"):
            record({"path": self.path, "status": 404})
            return self.send(404, json.dumps({"error": {"message": "404 page not found"}}).encode())
        if not self.headers.get("Content-Type", "").startswith("application/json"):
            return self.refuse("Content-Type is not application/json")
        try:
            body = json.loads(raw)
        except Exception:
            return self.refuse("body is not JSON")
        if not isinstance(body.get("model"), str) or body.get("stream") is not False:
            return self.refuse("model must be a string and stream false")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(
                isinstance(m, dict) and m.get("role") in ("system", "user", "assistant") and isinstance(m.get("content"), str)
                for m in messages):
            return self.refuse("messages must be a list of {role, content}")
        for key, kind in (("temperature", (int, float)), ("seed", int)):
            if key in body and not isinstance(body[key], kind):
                return self.refuse(key + " has the wrong type")
        with lock:
            index = min(state["next"], len(answers) - 1)
            state["next"] += 1
        answer = answers[index]
        record({"path": self.path, "authorization": self.headers.get("Authorization"), "body": body, "answer": index})
        time.sleep(answer.get("delay", 0))
        status = answer.get("status", 200)
        if "location" in answer:
            return self.send(status, b"", [("Location", answer["location"])])
        if "raw" in answer:
            return self.send(status, answer["raw"].encode())
        reply = {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": body["model"],
                 "system_fingerprint": "fp_standin",
                 "choices": [{"index": 0, "message": {"role": "assistant", "content": answer["content"]}, "finish_reason": "stop"}],
                 "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
        self.send(status, json.dumps(reply).encode())

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
server.timeout = 0.5
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
deadline = time.time() + lifetime
while time.time() < deadline and not os.path.exists(port_file + ".stop"):
    server.handle_request()
server.server_close()
"""#

    /// One answer of the stand-in.
    struct Answer: Encodable {
        var status = 200
        var content: String?
        var raw: String?
        var delay: Double?
        var location: String?

        static func prompts(_ prompts: [String], fenced: Bool = true) -> Answer {
            let list = "[\n" + prompts.map { "  " + PinnedPromptsFile.jsonString($0) }.joined(separator: ",\n") + "\n]"
            return Answer(content: fenced ? "Here are the prompts:\n```json\n\(list)\n```\n" : list)
        }
    }

    static func startServer(_ answers: [Answer], in folder: URL) async throws -> LoopbackServer {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("answers.json")
        try JSONEncoder().encode(answers).write(to: file)
        return try await LoopbackServer.start(script: serverScript, arguments: [file.path, "240"], in: folder)
    }

    static let key = "sk-test-4f1c9a7e0b2d"

    /// A recipe whose `variations` set asks the LLM at `port` for variations of `line`.
    static func recipe(port: Int, count: Int = 3, instruction: String = "Vary the can colors and the lighting.",
                       colors: String = "[Orange, Blue]", keyed: Bool = true) -> String {
        """
        version: 1
        name: llm-refresh
        hardware: { gpu: h100-sxm }
        prompts:
          line:
            template: "A conveyor belt in a factory. {color} drink cans on a green belt."
            vars: { color: \(colors) }
          variations:
            llm:
              from: line
              count: \(count)
              instruction: "\(instruction)"
              model: stand-in-8b
              endpoint: http://127.0.0.1:\(port)/v1
        \(keyed ? "      api_key_env: LLM_TEST_KEY\n" : "")      temperature: 0.8
              seed: 1
            file: prompts/variations.json
        steps:
          images:
            uses: cosmos-predict2/text2image
            model: 2B
            prompts: [line, variations]
            seeds: [0]
        """
    }

    static let fresh = [
        "A conveyor belt in a factory. Red drink cans on a green belt under cold neon light.",
        "A conveyor belt in a factory. Silver drink cans on a green belt at dusk, warm lamps.",
        "A conveyor belt in a factory. Purple drink cans on a green belt in harsh daylight.",
        "A conveyor belt in a factory. Yellow drink cans on a green belt, dim and foggy.",
    ]

    struct Project {
        var folder: URL
        var manifest: URL
        var pinned: URL { folder.appendingPathComponent("prompts/variations.json") }
    }

    static func project(_ text: String) throws -> Project {
        let folder = try TestSupport.temporaryDirectory("llm-refresh")
        let manifest = folder.appendingPathComponent("recipe.yaml")
        try text.write(to: manifest, atomically: true, encoding: .utf8)
        return Project(folder: folder, manifest: manifest)
    }

    static func refresh(_ project: Project, _ extra: [String] = [], key: String? = PromptRefreshTests.key) async throws -> TestSupport.Result {
        var environment = ["SYNTHSET_LLM_BACKOFF": "0.05"]
        if let key { environment["LLM_TEST_KEY"] = key }
        return try await TestSupport.run(["prompts", "refresh", project.manifest.path] + extra, in: project.folder,
                                         environment: environment)
    }

    /// Every file under the project and both streams: the key is in none of them.
    static func expectKeyNowhere(_ project: Project, _ results: [TestSupport.Result]) {
        for (path, data) in TestSupport.files(under: project.folder) {
            #expect(!String(decoding: data, as: UTF8.self).contains(key), "the key is in \(path)")
        }
        for result in results { #expect(!result.output.contains(key), "the key is in the output:\n\(result.output)") }
    }

    // MARK: the pinned file

    /// A good answer is pinned with its header; the same answer pins the same bytes; the
    /// request carried the key and the examples; planning reads the file and asks nothing.
    @Test func pinsAnAnswerDeterministicallyAndPlanningNeverAsks() async throws {
        let serverFolder = try TestSupport.temporaryDirectory("llm-server")
        let server = try await Self.startServer([.prompts(Array(Self.fresh.prefix(3)))], in: serverFolder)
        defer { _ = FileManager.default.createFile(atPath: server.portFile.path + ".stop", contents: nil) }
        let project = try Self.project(Self.recipe(port: server.port))

        // Before the refresh, planning names the command to run.
        let before = try await TestSupport.run(["plan", project.manifest.path], in: project.folder)
        #expect(before.status == 2)
        #expect(before.stderr.contains("recipe.yaml:18:11: error: the pinned prompts of 'variations' are not there yet"), "\(before.stderr)")
        #expect(before.stderr.contains("synthset prompts refresh"))

        let first = try await Self.refresh(project)
        #expect(first.status == 0, "\(first.output)")
        #expect(first.stdout.contains("variations: 3 new prompts from 1 request; 3 pinned in prompts/variations.json"), "\(first.stdout)")
        let pinned = try Data(contentsOf: project.pinned)
        let examples = ["A conveyor belt in a factory. Orange drink cans on a green belt.",
                        "A conveyor belt in a factory. Blue drink cans on a green belt."]
        let expected = """
            {
              "format": "synthset-prompts/1",
              "llm": {
                "count": 3,
                "endpoint": "http://127.0.0.1:\(server.port)/v1",
                "examples": 2,
                "examples_sha256": "\(PinnedPromptsFile.examplesHash(examples))",
                "from": "line",
                "instruction": "Vary the can colors and the lighting.",
                "model": "stand-in-8b",
                "seed": 1,
                "temperature": 0.8
              },
              "prompts": [
                "\(Self.fresh[0])",
                "\(Self.fresh[1])",
                "\(Self.fresh[2])"
              ]
            }

            """
        #expect(String(decoding: pinned, as: UTF8.self) == expected)

        let requests = server.requests()
        #expect(requests.count == 1)
        let request = try #require(requests.first)
        #expect(request["path"] as? String == "/v1/chat/completions")
        #expect(request["authorization"] as? String == "Bearer \(Self.key)")
        let body = try #require(request["body"] as? [String: Any])
        #expect(body["model"] as? String == "stand-in-8b")
        #expect(body["temperature"] as? Double == 0.8)
        #expect(body["seed"] as? Int == 1)
        let user = try #require((body["messages"] as? [[String: Any]])?.last?["content"] as? String)
        #expect(user.contains("Vary the can colors and the lighting."))
        for example in examples { #expect(user.contains(example)) }
        #expect(user.contains("Write 3 new prompts"))

        // The same answer again: the same bytes.
        let second = try await Self.refresh(project)
        #expect(second.status == 0, "\(second.output)")
        #expect(try Data(contentsOf: project.pinned) == pinned)

        // Planning reads the pinned prompts and sends nothing.
        let plan = try await TestSupport.run(["plan", project.manifest.path, "--format", "json"], in: project.folder)
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(!plan.stderr.contains("warning"), "\(plan.stderr)")
        for prompt in Self.fresh.prefix(3) { #expect(plan.stdout.contains(prompt)) }
        #expect(server.requests().count == 2)
        Self.expectKeyNowhere(project, [before, first, second, plan])
        await server.stop()
    }

    /// Duplicates, example copies, empty and overlong prompts are dropped, and the missing
    /// ones are asked for again, listing what exists so they are not repeated.
    @Test func dropsBadPromptsAndAsksForTheRest() async throws {
        let serverFolder = try TestSupport.temporaryDirectory("llm-server")
        let example = "A conveyor belt in a factory. Blue drink cans on a green belt."
        let server = try await Self.startServer([
            .prompts([Self.fresh[0], "  " + Self.fresh[0].uppercased() + " ", example, "", String(repeating: "x", count: 2001)]),
            Answer(content: "Sure!\n1. \(Self.fresh[0])\n2. \"\(Self.fresh[1])\"\n"),
            .prompts([Self.fresh[2], Self.fresh[3]], fenced: false),
        ], in: serverFolder)
        defer { _ = FileManager.default.createFile(atPath: server.portFile.path + ".stop", contents: nil) }
        let project = try Self.project(Self.recipe(port: server.port))
        let result = try await Self.refresh(project)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout.contains("3 new prompts from 3 requests, dropped 6 (1 empty or not text, 1 identical to an example, 1 longer than 2000 characters, 1 more than asked for, 2 duplicate)"), "\(result.stdout)")
        let workflow = try #require(WorkflowLoader().load(file: project.manifest.path).workflow)
        let set = try #require(workflow.promptSet("variations"))
        guard case .file(_, let prompts, _) = set.source else { Issue.record("not a file set"); return }
        #expect(prompts.map(\.prompt) == Array(Self.fresh.prefix(3)))
        let requests = server.requests()
        #expect(requests.count == 3)
        let third = try #require(((requests.last?["body"] as? [String: Any])?["messages"] as? [[String: Any]])?.last?["content"] as? String)
        #expect(third.contains("Write 1 new prompt,"))
        #expect(third.contains("do not repeat them"))
        #expect(third.contains(Self.fresh[1]))
        await server.stop()
    }

    /// An answer that stays short writes nothing and says what came back.
    @Test func aShortAnswerWritesNothing() async throws {
        let serverFolder = try TestSupport.temporaryDirectory("llm-server")
        let server = try await Self.startServer([.prompts([Self.fresh[0]])], in: serverFolder)
        defer { _ = FileManager.default.createFile(atPath: server.portFile.path + ".stop", contents: nil) }
        let project = try Self.project(Self.recipe(port: server.port))
        let result = try await Self.refresh(project)
        #expect(result.status == 1)
        #expect(result.stderr.contains("error: prompt set 'variations': stand-in-8b at http://127.0.0.1:\(server.port)/v1 gave 1 usable prompt of the 3 asked for in 3 requests; dropped: 2 duplicate; nothing was written"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: project.pinned.path))
        #expect(server.requests().count == 3)
        await server.stop()
    }

    /// Prose without prompts, a body that is not JSON, and JSON without choices: each a
    /// clear error, nothing written, the key masked even when the server echoes it.
    @Test func malformedAnswersAreClearErrors() async throws {
        let cases: [(Answer, String)] = [
            (Answer(content: "I cannot help with that."), "the last answer could not be read: the answer is neither a JSON list of prompts nor numbered lines: \"I cannot help with that.\""),
            (Answer(raw: "<html>gateway</html>"), "is not JSON: <html>gateway</html>; is llm.endpoint an OpenAI-compatible chat completions API?"),
            (Answer(raw: "{\"object\": \"list\"}"), "has no choices[0].message"),
            (Answer(status: 401, raw: "{\"error\": {\"message\": \"invalid key \(Self.key)\"}}"), "HTTP 401 from http://127.0.0.1:"),
        ]
        for (answer, message) in cases {
            let serverFolder = try TestSupport.temporaryDirectory("llm-server")
            let server = try await Self.startServer([answer], in: serverFolder)
            let project = try Self.project(Self.recipe(port: server.port))
            let result = try await Self.refresh(project)
            await server.stop()
            #expect(result.status == 1, "\(result.output)")
            #expect(result.stderr.contains(message), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: project.pinned.path))
            Self.expectKeyNowhere(project, [result])
        }
    }

    /// A server that does not answer in time is retried, then reported; an endpoint where
    /// nothing listens is reported as unreachable. Both in bounded time.
    @Test func slowAndUnreachableEndpoints() async throws {
        let serverFolder = try TestSupport.temporaryDirectory("llm-server")
        let server = try await Self.startServer([Answer(content: "[]", delay: 4)], in: serverFolder)
        defer { _ = FileManager.default.createFile(atPath: server.portFile.path + ".stop", contents: nil) }
        let project = try Self.project(Self.recipe(port: server.port))
        let started = Date()
        let slow = try await Self.refresh(project, ["--timeout", "1", "--tries", "2"])
        #expect(Date().timeIntervalSince(started) < 15)
        #expect(slow.status == 1)
        #expect(slow.stderr.contains("POST http://127.0.0.1:\(server.port)/v1/chat/completions: no answer within 1 s (after 2 attempts); a local model may need longer: raise --timeout"), "\(slow.stderr)")
        #expect(server.requests().count == 2)
        await server.stop()

        // The stopped server's port has nothing listening now.
        let gone = try Self.project(Self.recipe(port: server.port))
        let unreachable = try await Self.refresh(gone, ["--tries", "2"])
        #expect(unreachable.status == 1)
        #expect(unreachable.stderr.contains("cannot reach it: connection refused (after 2 attempts); is the server running"), "\(unreachable.stderr)")
        #expect(!FileManager.default.fileExists(atPath: gone.pinned.path))
    }

    /// 503 is retried with backoff; a redirect to another origin is followed without the key.
    @Test func retriesAndRedirectsKeepTheKeyHome() async throws {
        let otherFolder = try TestSupport.temporaryDirectory("llm-server")
        let other = try await Self.startServer([.prompts(Array(Self.fresh.prefix(3)))], in: otherFolder)
        defer { _ = FileManager.default.createFile(atPath: other.portFile.path + ".stop", contents: nil) }
        let serverFolder = try TestSupport.temporaryDirectory("llm-server")
        let server = try await Self.startServer([
            Answer(status: 503, raw: "{\"error\": \"loading model\"}"),
            Answer(status: 307, location: "http://127.0.0.1:\(other.port)/v1/chat/completions"),
        ], in: serverFolder)
        defer { _ = FileManager.default.createFile(atPath: server.portFile.path + ".stop", contents: nil) }
        let project = try Self.project(Self.recipe(port: server.port))
        let result = try await Self.refresh(project)
        #expect(result.status == 0, "\(result.output)")
        let home = server.requests()
        #expect(home.count == 2)
        #expect(home.allSatisfy { $0["authorization"] as? String == "Bearer \(Self.key)" })
        let away = other.requests()
        #expect(away.count == 1)
        #expect(away.first?["authorization"] is NSNull || away.first?["authorization"] == nil, "the key went to another origin: \(away)")
        // The redirected request kept its method and body.
        #expect((away.first?["body"] as? [String: Any])?["model"] as? String == "stand-in-8b")
        await server.stop()
        await other.stop()
    }

    /// `--append` keeps the pinned prompts, so their images keep their ids; `--dry-run`
    /// prints and writes nothing.
    @Test func appendKeepsIdsAndDryRunWritesNothing() async throws {
        let serverFolder = try TestSupport.temporaryDirectory("llm-server")
        let server = try await Self.startServer([
            .prompts(Array(Self.fresh.prefix(2))),
            .prompts([Self.fresh[3]]),
            .prompts([Self.fresh[2]]),
        ], in: serverFolder)
        defer { _ = FileManager.default.createFile(atPath: server.portFile.path + ".stop", contents: nil) }
        let project = try Self.project(Self.recipe(port: server.port, count: 2))
        let first = try await Self.refresh(project)
        #expect(first.status == 0, "\(first.output)")
        let planned = try Self.itemIDs(project)

        let dry = try await Self.refresh(project, ["--append", "--count", "1", "--dry-run"])
        #expect(dry.status == 0, "\(dry.output)")
        #expect(dry.stdout.contains(Self.fresh[3] + "\n"))
        #expect(dry.stdout.contains("kept 2, 1 new prompt from 1 request; 3 would be pinned in (dry run, nothing written)"), "\(dry.stdout)")
        #expect(try Self.itemIDs(project) == planned)

        let appended = try await Self.refresh(project, ["--append", "--count", "1"])
        #expect(appended.status == 0, "\(appended.output)")
        let workflow = try #require(WorkflowLoader().load(file: project.manifest.path).workflow)
        guard case .file(_, let prompts, _) = workflow.promptSet("variations")?.source else { Issue.record("not a file set"); return }
        #expect(prompts.map(\.prompt) == [Self.fresh[0], Self.fresh[1], Self.fresh[2]])
        let after = try Self.itemIDs(project)
        #expect(after.count == planned.count + 1)
        #expect(planned.isSubset(of: after))
        await server.stop()
    }

    static func itemIDs(_ project: Project) throws -> Set<String> {
        let workflow = try #require(WorkflowLoader().load(file: project.manifest.path).workflow)
        let plan = try #require(Planner().plan(workflow).plan)
        return Set(plan.items.map(\.id))
    }

    /// A declared key variable that is not set is a located error before anything is sent.
    @Test func aMissingKeyIsARecipeError() async throws {
        let project = try Self.project(Self.recipe(port: 9))
        let result = try await Self.refresh(project, [], key: nil)
        #expect(result.status == 2)
        #expect(result.stderr.contains("recipe.yaml:15:7: error: prompt set 'variations' needs an API key in the environment variable LLM_TEST_KEY, which is not set"), "\(result.stderr)")
        let unknown = try await Self.refresh(project, ["variatons"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("no prompt set 'variatons'") && unknown.stderr.contains("did you mean 'variations'?"), "\(unknown.stderr)")
    }

    /// The shipped example plans from its committed pinned file, with nothing to warn about.
    @Test func theExampleIsPinnedAndCurrent() throws {
        let result = WorkflowLoader().load(file: repositoryRoot.appendingPathComponent("workflows/can-factory-llm.yaml").path)
        let workflow = try #require(result.workflow, "\(render(result.diagnostics))")
        #expect(result.diagnostics.isEmpty, "\(render(result.diagnostics))")
        let set = try #require(workflow.promptSet("variations"))
        let header = try #require(set.pinned, "the example's pinned file has no header")
        guard case .file(_, let prompts, _) = set.source else { Issue.record("not a file set"); return }
        #expect(prompts.count == set.llm?.count)
        #expect(header.examplesSHA256 == PinnedPromptsFile.examplesHash(PinnedPrompts.examples(of: set, in: workflow)))
        let planned = Planner().plan(workflow)
        #expect(planned.plan != nil)
        #expect(planned.diagnostics.isEmpty, "\(render(planned.diagnostics))")
    }

    // MARK: staleness

    /// A pinned file whose examples or instruction no longer match the recipe plans with
    /// a warning that says what changed.
    @Test func aStalePinnedFileIsAWarning() throws {
        let project = try Self.project(Self.recipe(port: 9))
        let examples = ["A conveyor belt in a factory. Orange drink cans on a green belt.",
                        "A conveyor belt in a factory. Blue drink cans on a green belt."]
        let header = PinnedPromptsHeader(count: 1, endpoint: "http://127.0.0.1:9/v1", examples: 2,
                                         examplesSHA256: PinnedPromptsFile.examplesHash(examples), from: "line",
                                         instruction: "Vary the can colors and the lighting.", model: "stand-in-8b", seed: 1, temperature: 0.8)
        try FileManager.default.createDirectory(at: project.pinned.deletingLastPathComponent(), withIntermediateDirectories: true)
        try PinnedPromptsFile.render(header: header, prompts: [FilePrompt(prompt: Self.fresh[0])]).write(to: project.pinned)
        func warnings() throws -> [String] {
            let workflow = try #require(WorkflowLoader().load(file: project.manifest.path).workflow)
            return Planner().plan(workflow).diagnostics.filter { $0.severity == .warning }.map(\.description)
        }
        #expect(try warnings().isEmpty)
        try Self.recipe(port: 9, instruction: "Only night scenes.", colors: "[Orange, Blue, Red]")
            .write(to: project.manifest, atomically: true, encoding: .utf8)
        let stale = try warnings()
        #expect(stale.count == 1)
        #expect(stale.first?.contains("recipe.yaml:9:5: warning: the pinned prompts of 'variations' (prompts/variations.json) no longer match the recipe: the examples of 'line' changed (3 now, 2 when pinned); the instruction changed") == true, "\(stale)")
        #expect(stale.first?.contains("synthset prompts refresh") == true)
    }
}

/// Reading answers and checking prompts, without a server.
@Suite struct PromptAnswerTests {
    @Test(arguments: [
        ("```json\n[\"a cat\", \"a dog\"]\n```", ["a cat", "a dog"]),
        ("Here you go: [\"a cat\", \"a dog\",] Enjoy!", ["a cat", "a dog"]),
        ("[{\"prompt\": \"a cat\"}, {\"prompt\": \"a dog\", \"seed\": 3}]", ["a cat", "a dog"]),
        ("{\"prompts\": [\"a cat\"]}", ["a cat"]),
        ("<think>they want animals [maybe]</think>\n[\"a cat\"]", ["a cat"]),
        ("Prompts:\n1. a cat\n2) \"a dog\"\n- a bird\nThat is all.", ["a cat", "a dog", "a bird"]),
        ("[\"a cat\", 42]", ["a cat", ""]),
    ])
    func readsAnswers(_ answer: String, _ expected: [String]) {
        #expect(PromptAnswerParser.parse(answer) == .prompts(expected))
    }

    @Test func unreadableAnswersSaySo() {
        guard case .unreadable(let reason) = PromptAnswerParser.parse("No.") else { Issue.record("parsed"); return }
        #expect(reason.contains("neither a JSON list"))
        #expect(PromptAnswerParser.parse("  \n") == .unreadable("the answer is empty"))
    }

    @Test func checksDropWhatCannotBePinned() {
        var checker = PromptChecker(examples: ["An example."], existing: ["Pinned before."], secrets: ["sk-1"])
        checker.offer(["A new one.", "a  NEW one.", "an example.", "pinned before.", " ", "uses sk-1 here", "Another.", "Third."], upTo: 2)
        #expect(checker.accepted == ["A new one.", "Another."])
        #expect(checker.dropped.map(\.reason) == ["duplicate", "identical to an example", "duplicate", "empty or not text",
                                                  "contains the API key", "more than asked for"])
        #expect(!checker.dropped.contains { $0.prompt.contains("sk-1") })
    }

    @Test func sameOriginIsSchemeHostAndPort() throws {
        let a = try #require(URL(string: "http://127.0.0.1:8000/v1/chat/completions"))
        #expect(HTTPTransport.sameOrigin(a, try #require(URL(string: "http://127.0.0.1:8000/other"))))
        #expect(!HTTPTransport.sameOrigin(a, try #require(URL(string: "http://127.0.0.1:8001/v1"))))
        #expect(!HTTPTransport.sameOrigin(a, try #require(URL(string: "https://127.0.0.1:8000/v1"))))
        #expect(HTTPTransport.sameOrigin(try #require(URL(string: "https://api.example.com/v1")),
                                         try #require(URL(string: "https://API.example.com:443/v2"))))
    }

    @Test func theURLEndsInChatCompletions() {
        #expect(ChatCompletionsClient.url(endpoint: "http://localhost:11434/v1/")?.absoluteString == "http://localhost:11434/v1/chat/completions")
        #expect(ChatCompletionsClient.url(endpoint: "https://x.test/v1/chat/completions")?.absoluteString == "https://x.test/v1/chat/completions")
    }
}
