import Basics
@testable import Execution
import Foundation
@testable import Planning
import Testing

/// Hostile and mistyped input replayed against the built binary (issue 13): runaway
/// plans, bad numbers, paths that leave the manifest's folder, secrets that leak.
/// Each must be a clear exit-2 error (or a refusal) that writes nothing.
@Suite(.timeLimit(.minutes(5)))
struct HostileInputTests {
    static func write(_ text: String, _ url: URL) throws {
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    static func matrix(vars: Int, values: Int) -> String {
        let names = (0..<vars).map { "v\($0)" }
        let template = names.map { "{\($0)}" }.joined(separator: " ")
        let declared = names.map { name in
            "      \(name): [" + (0..<values).map { "\"\(name)-\($0)\"" }.joined(separator: ", ") + "]"
        }.joined(separator: "\n")
        return """
            version: 1
            name: matrix
            prompts:
              big:
                template: "\(template)"
                vars:
            \(declared)
            steps:
              gen:
                uses: command
                program: /bin/true
                args: ["{output}"]
                prompts: [big]
                seeds: 0
            """
    }

    @Test("Runaway prompt matrices are a located error naming the product, fast and small", arguments: [(10, 100), (9, 100), (8, 10)])
    func runawayMatrix(vars: Int, values: Int) async throws {
        let dir = try TestSupport.temporaryDirectory("matrix")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.write(Self.matrix(vars: vars, values: values), dir.appendingPathComponent("w.yaml"))
        let started = Date()
        let result = try await TestSupport.run(["plan", "w.yaml"], in: dir)
        #expect(result.status == 2, "\(vars)x\(values): \(result.output.prefix(500))")
        #expect(result.stderr.contains("w.yaml:"), "not located: \(result.stderr)")
        #expect(result.stderr.contains("\(vars) vars of \(values) values"), "\(result.stderr)")
        let exponent = vars * Int(log10(Double(values)).rounded())
        #expect(result.stderr.contains(exponent > 15 ? "10^\(exponent)" : String(Int(pow(Double(values), Double(vars))))), "\(result.stderr)")
        #expect(result.stderr.contains("--max-items"), "\(result.stderr)")
        // Wall time, so only a guard against expanding the matrix (10^20 items never end):
        // with the whole suite starting at once, trivial runs beside it took 57-87 s.
        #expect(Date().timeIntervalSince(started) < 120, "took \(Date().timeIntervalSince(started)) s")
    }

    @Test("--max-items lowers and raises the limit")
    func maxItems() async throws {
        let dir = try TestSupport.temporaryDirectory("maxitems")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.write(Self.matrix(vars: 2, values: 4), dir.appendingPathComponent("w.yaml"))
        let low = try await TestSupport.run(["plan", "w.yaml", "--max-items", "10"], in: dir)
        #expect(low.status == 2 && low.stderr.contains("2 vars of 4 values"), "\(low.output)")
        let fine = try await TestSupport.run(["plan", "w.yaml", "--max-items", "16"], in: dir)
        #expect(fine.status == 0, "\(fine.output)")
        let zero = try await TestSupport.run(["plan", "w.yaml", "--max-items", "0"], in: dir)
        #expect(zero.status == 2 && zero.stderr.contains("--max-items"), "\(zero.output)")
    }

    @Test("Hostile seed ranges are located errors, never a crash or an empty plan", arguments: [
        "\"0..4294967295\"", "{ from: 5, count: 9223372036854775807 }", "\"0..99999999999999999999\"",
        "{ from: 0, count: 20000000 }",
    ])
    func hostileSeeds(seeds: String) async throws {
        let dir = try TestSupport.temporaryDirectory("seeds")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.write("""
            version: 1
            name: seeds
            steps:
              scenes:
                uses: procedural/scenes
                seeds: \(seeds)
                size: [64, 48]
                objects:
                  can: { shape: cylinder, colors: [red], size: [0.2, 0.4], count: [1, 2] }
            """, dir.appendingPathComponent("w.yaml"))
        for verb in ["validate", "plan"] {
            let result = try await TestSupport.run([verb, "w.yaml"], in: dir)
            #expect(result.status == 2, "\(verb) \(seeds): \(result.output.prefix(400))")
            #expect(result.stderr.contains("w.yaml:6:"), "\(verb) \(seeds): not located: \(result.stderr)")
        }
    }

    @Test("Numeric options out of range exit 2 with a clear message", arguments: [
        ["run", "w.yaml", "--grace", "nan"], ["run", "w.yaml", "--grace", "inf"], ["run", "w.yaml", "--grace", "-1"],
        ["run", "w.yaml", "--gpus", "9223372036854775807"], ["plan", "w.yaml", "--gpus", "9223372036854775807"],
        ["run", "w.yaml", "--jobs", "0"], ["run", "w.yaml", "--jobs", "9223372036854775807"],
        ["diff", "w.yaml", "w.yaml", "--gpus", "0"],
    ])
    func numericOptions(arguments: [String]) async throws {
        let dir = try TestSupport.temporaryDirectory("options")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.write(Self.matrix(vars: 1, values: 2), dir.appendingPathComponent("w.yaml"))
        let result = try await TestSupport.run(arguments, in: dir)
        #expect(result.status == 2, "\(arguments): \(result.output)")
        let option = arguments.first { $0.hasPrefix("--") }!
        #expect(result.stderr.contains(option), "\(arguments): \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent(".synthset").path), "wrote a workspace")
    }

    @Test("An estimate that overflows is an error, and plan JSON never holds inf or nan")
    func noInfinityInJSON() async throws {
        let dir = try TestSupport.temporaryDirectory("inf")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.write("""
            version: 1
            name: inf
            catalog:
              timings:
                - { uses: procedural/scenes, seconds_per_item: 1.0e308 }
            steps:
              scenes:
                uses: procedural/scenes
                seeds: 0..9
                size: [64, 48]
                objects:
                  can: { shape: cylinder, colors: [red], size: [0.2, 0.4], count: [1, 2] }
            """, dir.appendingPathComponent("w.yaml"))
        let result = try await TestSupport.run(["plan", "w.yaml", "--format", "json"], in: dir)
        #expect(!result.stdout.contains("inf") && !result.stdout.contains("nan"), "\(result.stdout.prefix(400))")
        #expect(result.status == 2 && result.stderr.contains("estimate overflows"), "\(result.output.prefix(400))")
        let out = CanonicalJSONWriter()
        out.number(.infinity)
        out.number(.nan)
        #expect(String(decoding: out.bytes, as: UTF8.self) == "nullnull")
    }

    @Test("Argument templates that leave the scratch folder are rejected at validation")
    func escapingTemplates() async throws {
        let dir = try TestSupport.temporaryDirectory("escape")
        defer { try? FileManager.default.removeItem(at: dir) }
        for argument in ["{output_dir}/../../x", "--out={output}/../y", "{workspace}/../z"] {
            try Self.write("""
                version: 1
                name: escape
                steps:
                  gen:
                    uses: command
                    program: /bin/true
                    args: ["{output}", "\(argument)"]
                    seeds: 0
                """, dir.appendingPathComponent("w.yaml"))
            let result = try await TestSupport.run(["validate", "w.yaml"], in: dir)
            #expect(result.status == 2, "\(argument): \(result.output)")
            #expect(result.stderr.contains("w.yaml:7:") && result.stderr.contains("'..'"), "\(argument): \(result.stderr)")
        }
    }

    @Test("Prompt files are confined to the manifest's folder, links followed, contents never printed")
    func promptFileLinks() async throws {
        let root = try TestSupport.temporaryDirectory("links")
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("recipe")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Self.write(#"["a secret prompt outside"]"#, root.appendingPathComponent("outside.json"))
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("outside.json").path,
                                                   withDestinationPath: root.appendingPathComponent("outside.json").path)
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("passwd.json").path, withDestinationPath: "/etc/passwd")
        try Self.write("not json, a private note\nsecond line", dir.appendingPathComponent("notes.json"))
        for (file, message) in [("outside.json", "outside the manifest's folder"), ("passwd.json", "outside the manifest's folder"),
                                ("notes.json", "must be a JSON list")] {
            try Self.write("""
                version: 1
                name: links
                prompts:
                  p: { file: \(file) }
                steps:
                  gen:
                    uses: command
                    program: /bin/true
                    args: ["{output}"]
                    prompts: [p]
                    seeds: 0
                """, dir.appendingPathComponent("w.yaml"))
            let result = try await TestSupport.run(["validate", "w.yaml"], in: dir)
            #expect(result.status == 2, "\(file): \(result.output)")
            #expect(result.stderr.contains(message), "\(file): \(result.stderr)")
            // Outside files: nothing of them. A file of the recipe's own: at most the located
            // line under the caret, never the file.
            #expect(!result.output.contains("root:") && !result.output.contains("a secret prompt") && !result.output.contains("second line"),
                    "\(file): printed the file's contents: \(result.output)")
        }
    }

    @Test("clean never follows a link out of the workspace")
    func cleanKeepsLinkTargets() async throws {
        let dir = try TestSupport.temporaryDirectory("cleanlinks")
        defer { try? FileManager.default.removeItem(at: dir) }
        let precious = dir.appendingPathComponent("precious")
        try FileManager.default.createDirectory(at: precious, withIntermediateDirectories: true)
        try Data("keep me".utf8).write(to: precious.appendingPathComponent("data.txt"))
        try TestSupport.script("#!/bin/sh\nprintf x > \"$2\"\n", at: dir.appendingPathComponent("tool.sh"))
        try Self.write("""
            version: 1
            name: cl
            steps:
              gen:
                uses: command
                program: ./tool.sh
                args: ["{seed}", "{output}"]
                seeds: 0
                output: txt
            """, dir.appendingPathComponent("w.yaml"))
        #expect(try await TestSupport.run(["run", "w.yaml"], in: dir).status == 0)
        let outputs = dir.appendingPathComponent(".synthset/cl/outputs")
        try FileManager.default.createSymbolicLink(atPath: outputs.appendingPathComponent("stray").path, withDestinationPath: precious.path)
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent(".synthset/cl/link").path, withDestinationPath: precious.path)
        let orphans = try await TestSupport.run(["clean", "w.yaml", "--orphans"], in: dir)
        #expect(orphans.status == 0, "\(orphans.output)")
        #expect(!FileManager.default.fileExists(atPath: outputs.appendingPathComponent("stray").path), "the stray link stays")
        let all = try await TestSupport.run(["clean", "w.yaml", "--all"], in: dir)
        #expect(all.status == 0, "\(all.output)")
        #expect((try? String(contentsOf: precious.appendingPathComponent("data.txt"), encoding: .utf8)) == "keep me")
    }

    @Test("The upload key's variable reaches no other tool")
    func keyWithheldFromTools() async throws {
        let dir = try TestSupport.temporaryDirectory("withheld")
        defer { try? FileManager.default.removeItem(at: dir) }
        try TestSupport.script("#!/bin/sh\nenv > \"$2\"\n", at: dir.appendingPathComponent("tool.sh"))
        try Self.write("""
            version: 1
            name: withheld
            steps:
              scenes:
                uses: procedural/scenes
                seeds: 0
                size: [64, 48]
                objects:
                  can: { shape: cylinder, colors: [red], size: [0.2, 0.4], count: [1, 2] }
              env:
                uses: command
                program: ./tool.sh
                args: ["{seed}", "{output}"]
                seeds: 0..1
                output: txt
              dataset:
                uses: export
                from: scenes
                formats: [edge-impulse]
              upload:
                uses: edge-impulse/upload
                from: dataset
                api_key_env: EI_WITHHELD_KEY
                base_url: http://127.0.0.1:9
            """, dir.appendingPathComponent("w.yaml"))
        let key = "ei_secret_\(UUID().uuidString)"
        let result = try await TestSupport.run(["run", "w.yaml", "--only", "env"], in: dir,
                                               environment: ["EI_WITHHELD_KEY": key, "OTHER_VAR": "visible"])
        #expect(result.status == 0, "\(result.output)")
        let dumps = TestSupport.files(under: dir.appendingPathComponent(".synthset/withheld/outputs/env"))
        #expect(dumps.count == 2)
        for (path, data) in dumps {
            let text = String(decoding: data, as: UTF8.self)
            #expect(!text.contains("EI_WITHHELD_KEY") && !text.contains(key), "\(path) has the key")
            #expect(text.contains("OTHER_VAR=visible"), "\(path): other variables still pass")
        }
    }

    @Test("The key is masked in its JSON-escaped and percent-encoded forms")
    func maskingForms() {
        let key = #"ab"c\d/e f+g%"#
        let json = String(decoding: try! JSONSerialization.data(withJSONObject: ["k": key]), as: UTF8.self)
        let percent = key.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        for text in ["raw \(key) end", "json \(json) end", "url ?key=\(percent) end", "lower \(percent.lowercased()) end"] {
            let masked = SecretMask([key])(text)
            #expect(!masked.contains("c\\d") && !masked.contains("ab\\\"c") && !masked.contains(percent) && !masked.contains(#"ab"c"#),
                    "\(text) → \(masked)")
            #expect(masked.contains("***"), "\(text) → \(masked)")
        }
    }

    /// Two loopback servers: the first answers every POST with a 307 to the second,
    /// which records the headers it got and accepts.
    static let redirectServers = #"""
        import http.server, json, os, sys, threading, time
        folder = sys.argv[1]
        class Target(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a): pass
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with open(os.path.join(folder, "target.jsonl"), "a") as f:
                    f.write(json.dumps({"key": self.headers.get("x-api-key")}) + "\n")
                body = b'{"success": true}'
                self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
        target = http.server.HTTPServer(("127.0.0.1", 0), Target)
        class Redirect(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a): pass
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(307)
                self.send_header("Location", "http://127.0.0.1:%d%s" % (target.server_address[1], self.path))
                self.send_header("Content-Length", "0"); self.end_headers()
        redirect = http.server.HTTPServer(("127.0.0.1", 0), Redirect)
        for server in (target, redirect):
            threading.Thread(target=server.serve_forever, daemon=True).start()
        with open(os.path.join(folder, "port.tmp"), "w") as f: f.write(str(redirect.server_address[1]))
        os.rename(os.path.join(folder, "port.tmp"), os.path.join(folder, "port"))
        deadline = time.time() + 120
        while time.time() < deadline and not os.path.exists(os.path.join(folder, "stop")): time.sleep(0.2)
        """#

    @Test("An upload redirected to another origin fails and the key never arrives there")
    func redirectElsewhereFails() async throws {
        let dir = try TestSupport.temporaryDirectory("redirect")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.redirectServers.write(to: dir.appendingPathComponent("servers.py"), atomically: true, encoding: .utf8)
        let servers = try TestSupport.launch(["python3", "servers.py", dir.path], in: dir, program: URL(fileURLWithPath: "/usr/bin/env"))
        defer { _ = FileManager.default.createFile(atPath: dir.appendingPathComponent("stop").path, contents: nil) }
        var port: Int?
        for _ in 0..<250 where port == nil {
            port = (try? String(contentsOf: dir.appendingPathComponent("port"), encoding: .utf8)).flatMap { Int($0) }
            if port == nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        let redirectPort = try #require(port, "the servers did not start")
        try Self.write("""
            version: 1
            name: redirect
            steps:
              scenes:
                uses: procedural/scenes
                seeds: 0..1
                size: [64, 48]
                objects:
                  can: { shape: cylinder, colors: [red], size: [0.2, 0.4], count: [1, 2] }
              dataset:
                uses: export
                from: scenes
                formats: [edge-impulse]
              upload:
                uses: edge-impulse/upload
                from: dataset
                api_key_env: EI_REDIRECT_KEY
                base_url: http://127.0.0.1:\(redirectPort)
                retries: 0
            """, dir.appendingPathComponent("w.yaml"))
        let key = "ei_redirect_\(UUID().uuidString)"
        let result = try await TestSupport.run(["run", "w.yaml"], in: dir, environment: ["EI_REDIRECT_KEY": key])
        _ = FileManager.default.createFile(atPath: dir.appendingPathComponent("stop").path, contents: nil)
        await servers.wait()
        #expect(result.status == 1, "a redirected upload must not count as uploaded: \(result.output)")
        let seen = (try? String(contentsOf: dir.appendingPathComponent("target.jsonl"), encoding: .utf8)) ?? ""
        #expect(!seen.contains(key), "the key reached the other origin: \(seen)")
        #expect(!result.output.contains(key))
    }

    @Test("Redirects never carry the key to another origin")
    func sameOriginRedirectsOnly() {
        let a = URL(string: "https://ingestion.edgeimpulse.com/api/training/files")!
        #expect(HTTPTransport.sameOrigin(a, URL(string: "https://ingestion.edgeimpulse.com:443/other")!))
        #expect(!HTTPTransport.sameOrigin(a, URL(string: "https://evil.example/api/training/files")!))
        #expect(!HTTPTransport.sameOrigin(a, URL(string: "http://ingestion.edgeimpulse.com/api/training/files")!))
        #expect(!HTTPTransport.sameOrigin(URL(string: "http://127.0.0.1:8000/x")!, URL(string: "http://127.0.0.1:8001/x")!))
    }
}
