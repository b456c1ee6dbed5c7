import Foundation
import Testing
@testable import Execution

/// `edge-impulse/upload` against a stand-in ingestion server on 127.0.0.1 that checks the
/// documented request shape and records every file it accepts.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct UploadTests {
    /// The stand-in server (Python's http.server): loopback only, bodies capped at 200 MB,
    /// exits by itself after its lifetime. It refuses (400) and records any request that
    /// breaks the documented shape, and can answer the first requests with 503.
    static let serverScript = #"""
# A stand-in for the Edge Impulse ingestion API, for synthset's tests. Loopback only;
# bounded request sizes; it exits by itself after its lifetime.
import json, os, sys, time, http.server

port_file, record_file = sys.argv[1], sys.argv[2]
fail_first = int(sys.argv[3])          # answer the first N requests with 503
max_files = int(sys.argv[4])           # files per request the client promised
lifetime = float(sys.argv[5])          # seconds before the server exits on its own
expected_key = os.environ["EXPECTED_KEY"]
state = {"requests": 0}

def record(entry):
    with open(record_file, "a") as f:
        f.write(json.dumps(entry) + "\n")

def parse_multipart(body, boundary):
    delimiter = b"--" + boundary
    chunks = body.split(delimiter)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise ValueError("body does not end with the closing boundary")
    parts = []
    for chunk in chunks[1:-1]:
        if not chunk.startswith(b"\r\n") or not chunk.endswith(b"\r\n"):
            raise ValueError("part not framed by CRLF")
        head, sep, content = chunk[2:-2].partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("part without headers")
        headers = {}
        for line in head.decode("utf-8").split("\r\n"):
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        disposition = headers.get("content-disposition", "")
        params = {}
        for item in disposition.split(";")[1:]:
            k, _, v = item.strip().partition("=")
            params[k] = v.strip('"')
        if not disposition.startswith("form-data"):
            raise ValueError("part is not form-data: " + disposition)
        parts.append((params.get("name"), params.get("filename"), headers.get("content-type"), content))
    return parts

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    def refuse(self, reason):
        record({"violation": reason, "path": self.path})
        self.reply(400, {"success": False, "error": reason})

    def do_GET(self):
        self.refuse("GET is not part of the ingestion API")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        if length <= 0 or length > 200 * 1024 * 1024:
            return self.refuse("missing or oversized Content-Length %d" % length)
        body = self.rfile.read(length)
        state["requests"] += 1
        if state["requests"] <= fail_first:
            record({"status": 503, "path": self.path})
            return self.reply(503, {"success": False, "error": "try again"})
        if self.path not in ("/api/training/files", "/api/testing/files", "/api/validation/files"):
            return self.refuse("unexpected path " + self.path)
        if self.headers.get("x-api-key") != expected_key:
            return self.refuse("missing or wrong x-api-key")
        if self.headers.get("x-disallow-duplicates") != "1":
            return self.refuse("x-disallow-duplicates is not 1")
        ctype = self.headers.get("Content-Type", "")
        if not ctype.startswith("multipart/form-data") or "boundary=" not in ctype:
            return self.refuse("Content-Type is " + ctype)
        boundary = ctype.split("boundary=", 1)[1].strip().strip('"').encode()
        try:
            parts = parse_multipart(body, boundary)
        except Exception as error:
            return self.refuse("bad multipart body: %s" % error)
        images, labels = [], None
        for name, filename, content_type, content in parts:
            if name != "data" or not filename:
                return self.refuse("part name=%r filename=%r" % (name, filename))
            if filename == "bounding_boxes.labels":
                if labels is not None:
                    return self.refuse("two labels parts")
                try:
                    labels = json.loads(content)
                except Exception:
                    return self.refuse("labels part is not JSON")
                if content_type != "application/json":
                    return self.refuse("labels part Content-Type " + str(content_type))
            else:
                if content_type != "image/jpeg" or not content.startswith(b"\xff\xd8"):
                    return self.refuse("image part %s is not a JPEG" % filename)
                images.append(filename)
        if labels is None:
            return self.refuse("no bounding_boxes.labels part")
        if labels.get("version") != 1 or labels.get("type") != "bounding-box-labels":
            return self.refuse("labels are not version-1 bounding-box-labels")
        boxes = labels.get("boundingBoxes")
        if not isinstance(boxes, dict) or set(boxes) != set(images):
            return self.refuse("labels keys do not match the request's images")
        if not images or len(images) > max_files or len(images) > 1000:
            return self.refuse("request has %d files" % len(images))
        record({"status": 200, "path": self.path, "files": images})
        self.reply(200, {"success": True, "files": [{"success": True, "fileName": n} for n in images]})

server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
server.timeout = 0.5
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
deadline = time.time() + lifetime
stop_file = port_file + ".stop"
while time.time() < deadline and not os.path.exists(stop_file):
    server.handle_request()
server.server_close()
"""#

    /// A running stand-in server.
    struct Server {
        var server: LoopbackServer
        var port: Int { server.port }
        var portFile: URL { server.portFile }

        static func start(in folder: URL, key: String, failFirst: Int, maxFiles: Int) async throws -> Server {
            Server(server: try await LoopbackServer.start(script: serverScript, arguments: [String(failFirst), String(maxFiles), "240"],
                                                          in: folder, environment: ["EXPECTED_KEY": key]))
        }

        func stop() async { await server.stop() }

        /// Every request the server answered, in order.
        func requests() -> [[String: Any]] { server.requests() }
    }

    static func workflow(seeds: Int, port: Int, keyVariable: String = "EI_TEST_KEY") -> String {
        """
        version: 1
        name: upload-e2e
        steps:
          scenes:
            uses: procedural/scenes
            seeds: 0..\(seeds - 1)
            size: [64, 48]
            objects:
              can: { shape: cylinder, colors: [red, blue], size: [0.2, 0.4], count: [0, 3] }
          dataset:
            uses: export
            from: scenes
            formats: [edge-impulse]
            split: { train: 0.6, test: 0.2, validation: 0.2 }
          upload:
            uses: edge-impulse/upload
            from: dataset
            api_key_env: \(keyVariable)
            base_url: http://127.0.0.1:\(port)
            splits: [train, test, validation]
        """
    }

    /// Files accepted by the server, by name, with how often each arrived.
    static func accepted(_ requests: [[String: Any]]) -> [String: Int] {
        var counts: [String: Int] = [:]
        for request in requests where request["status"] as? Int == 200 {
            for name in request["files"] as? [String] ?? [] { counts[name, default: 0] += 1 }
        }
        return counts
    }

    /// Image names of each split folder of every dataset under the workspace.
    static func datasetImages(_ workspace: URL) throws -> [String: Set<String>] {
        var result: [String: Set<String>] = [:]
        let outputs = workspace.appendingPathComponent("outputs/dataset")
        for dataset in try FileManager.default.contentsOfDirectory(atPath: outputs.path) where !dataset.hasPrefix(".") {
            let root = outputs.appendingPathComponent(dataset).appendingPathComponent("edge-impulse")
            for split in (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? [] {
                let names = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(split).path)
                    .filter { $0.hasSuffix(".jpg") }
                result[split, default: []].formUnion(names)
            }
        }
        return result
    }

    @Test func uploadsEveryImageOnceAcrossRunsInSmallBatchesWithRetries() async throws {
        let root = try TestSupport.temporaryDirectory("synthset-upload")
        defer { try? FileManager.default.removeItem(at: root) }
        let serverFolder = root.appendingPathComponent("server")
        let project = root.appendingPathComponent("project")
        try FileManager.default.createDirectory(at: serverFolder, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: project, withIntermediateDirectories: true)
        let key = "ei_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let server = try await Server.start(in: serverFolder, key: key, failFirst: 1, maxFiles: 7)
        // Should the test throw early, the server still exits within half a second.
        defer { _ = FileManager.default.createFile(atPath: server.portFile.path + ".stop", contents: nil) }
        let environment = ["EI_TEST_KEY": key, "SYNTHSET_UPLOAD_BATCH": "7", "SYNTHSET_UPLOAD_BACKOFF": "0.05",
                           "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"]
        let manifest = project.appendingPathComponent("upload.yaml")

        // Run 1: 30 images; the first request gets a 503 and is retried.
        try Self.workflow(seeds: 30, port: server.port).write(to: manifest, atomically: true, encoding: .utf8)
        let first = try await TestSupport.run(["run", "upload.yaml", "--workspace", "ws"], in: project, environment: environment)
        let afterFirst = server.requests()
        #expect(first.status == 0, "\(first.output)")
        #expect(afterFirst.first?["status"] as? Int == 503)
        #expect(afterFirst.count(where: { $0["status"] as? Int == 503 }) == 1)
        let firstCounts = Self.accepted(afterFirst)
        #expect(firstCounts.count == 30)
        #expect(firstCounts.values.allSatisfy { $0 == 1 })

        // Run 2: ten more seeds make a new dataset (old and new images); only the new go.
        try Self.workflow(seeds: 40, port: server.port).write(to: manifest, atomically: true, encoding: .utf8)
        let second = try await TestSupport.run(["run", "upload.yaml", "--workspace", "ws"], in: project, environment: environment)
        let requests = server.requests()
        await server.stop()
        #expect(second.status == 0, "\(second.output)")

        let violations = requests.compactMap { $0["violation"] as? String }
        #expect(violations.isEmpty, "\(violations)")
        let counts = Self.accepted(requests)
        #expect(counts.count == 40)
        #expect(counts.values.allSatisfy { $0 == 1 }, "files received more than once: \(counts.filter { $0.value > 1 })")
        let secondCounts = Self.accepted(Array(requests.dropFirst(afterFirst.count)))
        #expect(secondCounts.count == 10)
        #expect(Set(secondCounts.keys).isDisjoint(with: firstCounts.keys))
        for request in requests where request["status"] as? Int == 200 {
            #expect((request["files"] as? [String])?.count ?? 0 <= 7)
        }

        // Each split went to its category: train → training, test → testing, validation → validation.
        let workspace = project.appendingPathComponent("ws")
        let splits = try Self.datasetImages(workspace)
        #expect(splits.values.map(\.count).reduce(0, +) == 40)
        for request in requests where request["status"] as? Int == 200 {
            let path = request["path"] as? String
            for name in request["files"] as? [String] ?? [] {
                let split = splits.first { $0.value.contains(name) }?.key
                let category = ["train": "training", "test": "testing", "validation": "validation"][split ?? ""] ?? "?"
                #expect(path == "/api/\(category)/files", "\(name) in \(split ?? "?") went to \(path ?? "?")")
            }
        }

        // The receipts say what was sent; the second one skipped the 30 already there.
        let receipts = try FileManager.default.contentsOfDirectory(atPath: workspace.appendingPathComponent("outputs/upload").path)
            .filter { $0.hasSuffix(".json") }
        #expect(receipts.count == 2)
        let totals = try receipts.map { name -> (Int, Int) in
            let data = try Data(contentsOf: workspace.appendingPathComponent("outputs/upload/\(name)"))
            let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect(object["api_key_env"] as? String == "EI_TEST_KEY")
            return (object["uploaded"] as? Int ?? -1, object["already_uploaded"] as? Int ?? -1)
        }
        #expect(Set(totals.map { "\($0.0)+\($0.1)" }) == ["30+0", "10+30"])

        // The key is nowhere: not in any file of the project (store, logs, receipts), nor
        // in the output.
        let needle = Data(key.utf8)
        for (path, data) in TestSupport.files(under: project) {
            #expect(data.range(of: needle) == nil, "the API key appears in \(path)")
        }
        for result in [first, second] {
            #expect(!result.output.contains(key))
        }
    }

    @Test func missingKeyFailsPreflight() async throws {
        let project = try TestSupport.temporaryDirectory("synthset-upload-nokey")
        defer { try? FileManager.default.removeItem(at: project) }
        let variable = "SYNTHSET_TEST_UNSET_KEY_\(UUID().uuidString.prefix(8))"
        try Self.workflow(seeds: 3, port: 9, keyVariable: variable)
            .write(to: project.appendingPathComponent("upload.yaml"), atomically: true, encoding: .utf8)
        let result = try await TestSupport.run(["run", "upload.yaml", "--workspace", "ws"], in: project)
        #expect(result.status == 2, "\(result.output)")
        #expect(result.stderr.contains(variable))
        #expect(result.stderr.contains("export \(variable)="))
        #expect(result.stderr.contains("never stores the key"))
        // Nothing ran: no images were made.
        #expect(!FileManager.default.fileExists(atPath: project.appendingPathComponent("ws/outputs/scenes").path))
    }

    @Test func batchesRespectFileAndByteLimits() {
        func file(_ name: String, _ bytes: Int) -> EdgeImpulseUploadAdapter.PendingFile {
            .init(name: name, url: URL(fileURLWithPath: "/\(name)"), sha256: name, bytes: bytes)
        }
        let files = (0..<2500).map { file("\($0).jpg", 10) }
        let batches = EdgeImpulseUploadAdapter.batches(files, maxFiles: 1000, maxBytes: 1 << 30)
        #expect(batches.map(\.count) == [1000, 1000, 500])
        #expect(batches.flatMap { $0 }.map(\.name) == files.map(\.name))
        let big = EdgeImpulseUploadAdapter.batches([file("a", 60), file("b", 60), file("c", 200), file("d", 1)],
                                                   maxFiles: 1000, maxBytes: 100)
        #expect(big.map { $0.map(\.name) } == [["a"], ["b"], ["c"], ["d"]])
        #expect(EdgeImpulseUploadAdapter(batchSize: 5000).batchSize == 1000)
        #expect(EdgeImpulseUploadAdapter(environment: ["SYNTHSET_UPLOAD_BATCH": "7"]).batchSize == 7)
        #expect(EdgeImpulseUploadAdapter.category(of: "train") == "training")
        #expect(EdgeImpulseUploadAdapter.category(of: "test") == "testing")
        #expect(EdgeImpulseUploadAdapter.category(of: "validation") == "validation")
        #expect(EdgeImpulseUploadAdapter.endpoint(baseURL: "https://ingestion.edgeimpulse.com/", category: "testing")
                == "https://ingestion.edgeimpulse.com/api/testing/files")
    }

    @Test func multipartBodyFramesEachPart() {
        let body = Multipart.body([
            .init(name: "data", fileName: "a.jpg", contentType: "image/jpeg", body: Data([0xFF, 0xD8])),
            .init(name: "data", fileName: "bounding_boxes.labels", contentType: "application/json", body: Data("{}".utf8)),
        ], boundary: "B")
        let expected = Data("--B\r\nContent-Disposition: form-data; name=\"data\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n".utf8)
            + Data([0xFF, 0xD8])
            + Data("\r\n--B\r\nContent-Disposition: form-data; name=\"data\"; filename=\"bounding_boxes.labels\"\r\nContent-Type: application/json\r\n\r\n{}\r\n--B--\r\n".utf8)
        #expect(body == expected)
    }

    /// Replies read as edge-impulse-cli 64dbc03 `cli-common/make-image.ts` reads them.
    @Test func serverRepliesNameRefusedFiles() {
        typealias Client = EdgeImpulseUploadAdapter.Client
        let reply = Data(#"{"success":true,"files":[{"success":true,"fileName":"a.jpg"},{"success":false,"fileName":"b.jpg","error":"An item with this hash already exists"},{"success":false,"fileName":"c.jpg","error":"bad image"}]}"#.utf8)
        #expect(Client.reply(reply) == .accepted(rejected: ["c.jpg": "bad image"]))
        // A 200 whose body is no ingestion reply, or says success: false, fails the request.
        guard case .failed(let notJSON) = Client.reply(Data("not json".utf8)) else { Issue.record("not JSON was accepted"); return }
        #expect(notJSON.contains("not an ingestion response"))
        #expect(Client.reply(Data(#"{"success":false,"error":"Project is over its storage quota"}"#.utf8)) == .failed("Project is over its storage quota"))
        // A per-file failure without a name fails the whole request; an unnamed duplicate does not.
        guard case .failed(let unnamed) = Client.reply(Data(#"{"success":true,"files":[{"success":true},{"success":false,"error":"corrupt JPEG"}]}"#.utf8)) else {
            Issue.record("an unnamed refusal was ignored"); return
        }
        #expect(unnamed.contains("corrupt JPEG") && unnamed.contains("without a name"))
        #expect(Client.reply(Data(#"{"success":true,"files":[{"success":false,"error":"duplicate sample"}]}"#.utf8)) == .accepted(rejected: [:]))
    }

    /// A run against a server that answers 200 with `success: false` fails the upload item
    /// and records nothing as uploaded.
    @Test func successFalseFailsTheRun() async throws {
        let project = try TestSupport.temporaryDirectory("synthset-upload-refused")
        defer { try? FileManager.default.removeItem(at: project) }
        let script = #"""
import json, os, sys, time, http.server
port_file, record_file = sys.argv[1], sys.argv[2]
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(record_file, "a") as f:
            f.write(json.dumps({"path": self.path}) + "\n")
        data = json.dumps({"success": False, "error": "Project is over its storage quota"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
server.timeout = 0.5
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
deadline = time.time() + 120
while time.time() < deadline and not os.path.exists(port_file + ".stop"):
    server.handle_request()
"""#
        let server = try await LoopbackServer.start(script: script, arguments: [], in: project)
        defer { Task { await server.stop() } }
        try Self.workflow(seeds: 4, port: server.port, keyVariable: "EI_TEST_KEY")
            .write(to: project.appendingPathComponent("upload.yaml"), atomically: true, encoding: .utf8)
        let result = try await TestSupport.run(["run", "upload.yaml", "--workspace", "ws"], in: project,
                                               environment: ["EI_TEST_KEY": "ei_refused_key", "SYNTHSET_UPLOAD_BACKOFF": "0", "SYNTHSET_RETRY_BACKOFF": "0.05"])
        #expect(result.status == 1, "\(result.output)")
        #expect(result.output.contains("over its storage quota"), "\(result.output)")
        #expect(!server.requests().isEmpty)
        let receipts = (try? FileManager.default.contentsOfDirectory(atPath: project.appendingPathComponent("ws/outputs/upload").path)) ?? []
        #expect(receipts.filter { $0.hasSuffix(".json") }.isEmpty, "\(receipts)")
    }
}
