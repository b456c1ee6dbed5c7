import Datasets
import Foundation
import Planning
import WorkflowSpec
import WorkspaceStore
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `edge-impulse/upload`: posts the Edge Impulse folders of an exported dataset to the
/// ingestion API (`POST {base_url}/api/{training|testing}/files`, `multipart/form-data`).
///
/// Per split, the images of `edge-impulse/<split>/` go in batches of at most 1,000 files
/// (and about 64 MB): one `data` part per image, plus one `data` part named
/// `bounding_boxes.labels` holding the labels of that batch's images. `train` goes to
/// `training`, `test` to `testing`, `validation` to `validation`. A 2xx reply counts only
/// when it says `success: true` (``Client/reply(_:)``). Headers: `x-api-key` (read from the
/// environment variable the step names, never written anywhere) and
/// `x-disallow-duplicates: 1`.
///
/// Every image accepted by the server is recorded in the store under its SHA-256 with the
/// endpoint as target, so a later dataset that holds the same images (more seeds) uploads
/// only the new ones. Connection errors, 408, 429 and 5xx are retried with exponential
/// backoff (honoring `Retry-After`). The item's output is a JSON receipt: what was sent,
/// counts and every request's status.
public struct EdgeImpulseUploadAdapter: ToolAdapter {
    /// The ingestion API's limit on files per request.
    public static let maxFilesPerRequest = 1000
    /// Keeps one request's body (built in memory) bounded when images are large.
    public static let maxBytesPerRequest = 64 << 20

    /// Files per request (hidden knob `SYNTHSET_UPLOAD_BATCH` for tests, capped at 1,000).
    public var batchSize: Int
    /// Tries per request, the first included.
    public var maxAttempts: Int
    /// Seconds before the first retry; doubles each time (`SYNTHSET_UPLOAD_BACKOFF`).
    public var backoff: Double

    public init(batchSize: Int? = nil, maxAttempts: Int = 5, backoff: Double? = nil,
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        let requested = batchSize ?? environment["SYNTHSET_UPLOAD_BATCH"].flatMap(Int.init) ?? Self.maxFilesPerRequest
        self.batchSize = min(max(requested, 1), Self.maxFilesPerRequest)
        self.maxAttempts = max(maxAttempts, 1)
        self.backoff = max(backoff ?? environment["SYNTHSET_UPLOAD_BACKOFF"].flatMap(Double.init) ?? 1, 0)
    }

    public func preflight(step: Step, workflow: Workflow) -> [Diagnostic] {
        guard let spec = step.upload else { return [] }
        var diagnostics: [Diagnostic] = []
        let value = ProcessInfo.processInfo.environment[spec.apiKeyEnvironment] ?? ""
        if value.isEmpty {
            diagnostics.append(Diagnostic(
                .error, "step '\(step.id)' (edge-impulse/upload) needs an Edge Impulse API key in the environment variable \(spec.apiKeyEnvironment), which is not set",
                hint: "export \(spec.apiKeyEnvironment)=...; synthset never stores the key",
                at: workflow.location(of: "steps.\(step.id).api_key_env")))
        }
        for upstream in step.from {
            guard let source = workflow.step(upstream), let export = source.export else { continue }
            if !export.formats.contains(.edgeImpulse) {
                diagnostics.append(Diagnostic(
                    .error, "step '\(step.id)' uploads the dataset of step '\(upstream)', which does not write the edge-impulse format",
                    hint: "add edge-impulse to 'formats:' of step '\(upstream)'",
                    at: workflow.location(of: "steps.\(upstream).formats")))
            }
        }
        return diagnostics
    }

    public func run(_ invocation: Invocation, produced: @Sendable (ProducedOutput) async -> Void) async throws -> InvocationOutcome {
        func failAll(_ reason: String) -> InvocationOutcome {
            InvocationOutcome(failures: Dictionary(uniqueKeysWithValues: invocation.items.map { ($0.id, reason) }))
        }
        guard let spec = invocation.step.upload else { return failAll("step has no upload settings") }
        guard let key = ProcessInfo.processInfo.environment[spec.apiKeyEnvironment], !key.isEmpty else {
            return failAll("the environment variable \(spec.apiKeyEnvironment) is not set; export it with the Edge Impulse API key")
        }
        let store: CheckpointStore
        do {
            store = try invocation.store ?? CheckpointStore(path: invocation.workspace.store)
        } catch {
            return failAll("cannot open the checkpoint store: \(error)")
        }
        let log = UploadLog(file: invocation.logFile, secret: key)
        let session = HTTPTransport.session(timeout: 300)
        defer { session.finishTasksAndInvalidate() }
        var transport = HTTPTransport(maxAttempts: maxAttempts, backoff: backoff, credentialHeaders: ["x-api-key"],
                                      log: { log.write($0) })
        // The key goes only to the configured origin: a redirect elsewhere fails the upload.
        transport.crossOriginRedirects = .refuse
        let client = Client(session: session, key: key, transport: transport, log: log)

        var failures: [String: String] = [:]
        for item in invocation.items {
            try Task.checkCancellation()
            guard let inputID = item.inputs.first, let dataset = invocation.inputs[inputID] else {
                failures[item.id] = "the upload item has no input dataset"
                continue
            }
            do {
                let receipt = try await upload(dataset: dataset, spec: spec, client: client, store: store,
                                               workspace: invocation.workspace, log: log)
                let file = invocation.scratch.appendingPathComponent(URL(fileURLWithPath: item.path).lastPathComponent)
                try Self.json(receipt, pretty: true).write(to: file)
                await produced(ProducedOutput(itemID: item.id, file: file))
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                failures[item.id] = log.redact("\(error)")
                log.write("failed: \(error)")
            }
        }
        return InvocationOutcome(failures: failures)
    }

    // MARK: one dataset

    struct UploadFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// The Edge Impulse category a dataset split goes to: `train` to training, `test` to
    /// testing, `validation` to validation (the ingestion API's own category; see
    /// `ExportUploaderInfoFileCategory` in edge-impulse-cli 64dbc03
    /// shared/bounding-box-file-types.ts).
    public static func category(of split: String) -> String {
        EdgeImpulse.category(ofSplit: split)
    }

    /// The store's upload target of an endpoint: the URL the files are posted to.
    public static func endpoint(baseURL: String, category: String) -> String {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return "\(base)/api/\(category)/files"
    }

    func upload(dataset: URL, spec: UploadSpec, client: Client, store: CheckpointStore,
                workspace: Workspace, log: UploadLog) async throws -> Receipt {
        let root = dataset.appendingPathComponent("edge-impulse")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw UploadFailure(description: "\(workspace.relative(dataset)) has no edge-impulse folder; add edge-impulse to the export step's formats")
        }
        var receipt = Receipt(dataset: workspace.relative(dataset), baseURL: spec.baseURL, apiKeyEnv: spec.apiKeyEnvironment,
                              batchSize: batchSize, splits: [:], requests: [], uploaded: 0, alreadyUploaded: 0)
        var problems: [String] = []
        var seenSplits = Set<String>()
        for split in spec.splits where seenSplits.insert(split).inserted {
            let folder = root.appendingPathComponent(split)
            let category = Self.category(of: split)
            let target = Self.endpoint(baseURL: spec.baseURL, category: category)
            var summary = Receipt.Split(category: category, endpoint: target, images: 0, uploaded: 0, alreadyUploaded: 0, failed: 0)
            guard FileManager.default.fileExists(atPath: folder.path) else {
                log.write("\(split): no edge-impulse/\(split) folder in the dataset (the split is empty); nothing to upload")
                receipt.splits[split] = summary
                continue
            }
            let labelsURL = folder.appendingPathComponent("bounding_boxes.labels")
            let labels: EdgeImpulse.LabelsFile
            do {
                labels = try JSONDecoder().decode(EdgeImpulse.LabelsFile.self, from: Data(contentsOf: labelsURL))
            } catch {
                throw UploadFailure(description: "cannot read \(workspace.relative(labelsURL)): \(error)")
            }
            let images = try FileManager.default.contentsOfDirectory(atPath: folder.path)
                .filter { ["jpg", "jpeg", "png"].contains(($0 as NSString).pathExtension.lowercased()) }
                .sorted()
            summary.images = images.count
            let done = try store.uploadedItemIDs(target: target)
            var pending: [PendingFile] = []
            var queued = Set<String>()
            // Hashing every image of a split takes a while: not on the concurrency pool.
            let digests = try await BlockingWork.run {
                try images.map { try OutputCommitter.sha256(of: folder.appendingPathComponent($0)) }
            }
            for (name, digest) in zip(images, digests) {
                let url = folder.appendingPathComponent(name)
                if done.contains(digest.sha256) || !queued.insert(digest.sha256).inserted {
                    summary.alreadyUploaded += 1
                    continue
                }
                pending.append(PendingFile(name: name, url: url, sha256: digest.sha256, bytes: Int(digest.bytes)))
            }
            log.write("\(split) -> \(target): \(images.count) images, \(summary.alreadyUploaded) already uploaded, \(pending.count) to send")
            for batch in Self.batches(pending, maxFiles: batchSize, maxBytes: Self.maxBytesPerRequest) {
                try Task.checkCancellation()
                var batchLabels = labels
                batchLabels.boundingBoxes = labels.boundingBoxes.filter { name, _ in batch.contains { $0.name == name } }
                let result = try await client.post(batch, labels: batchLabels, to: target)
                try store.recordUploads(itemIDs: result.accepted.map(\.sha256), target: target)
                summary.uploaded += result.accepted.count
                summary.failed += result.rejected.count
                receipt.requests.append(Receipt.Request(
                    split: split, category: category, files: batch.map(\.name), status: result.status,
                    attempts: result.attempts, accepted: result.accepted.count,
                    rejected: result.rejected.isEmpty ? nil : result.rejected.mapValues(log.redact)))
                for (name, reason) in result.rejected.sorted(by: { $0.key < $1.key }) {
                    problems.append("\(split)/\(name): \(log.redact(reason))")
                }
                if let error = result.error {
                    problems.append(log.redact(error))
                    receipt.splits[split] = summary
                    throw UploadFailure(description: "upload to \(target) failed: \(problems.joined(separator: "; "))")
                }
            }
            receipt.splits[split] = summary
            receipt.uploaded += summary.uploaded
            receipt.alreadyUploaded += summary.alreadyUploaded
        }
        if !problems.isEmpty {
            let shown = problems.prefix(5).joined(separator: "; ")
            throw UploadFailure(description: "\(problems.count) file(s) were refused: \(shown)\(problems.count > 5 ? "; ..." : "")")
        }
        log.write("uploaded \(receipt.uploaded) images, \(receipt.alreadyUploaded) already uploaded, in \(receipt.requests.count) request(s)")
        return receipt
    }

    struct PendingFile: Sendable {
        var name: String
        var url: URL
        var sha256: String
        var bytes: Int
    }

    /// Consecutive groups of at most `maxFiles` files and (unless one file alone is
    /// larger) `maxBytes` bytes.
    static func batches(_ files: [PendingFile], maxFiles: Int, maxBytes: Int) -> [[PendingFile]] {
        var batches: [[PendingFile]] = []
        var current: [PendingFile] = []
        var bytes = 0
        for file in files {
            if !current.isEmpty && (current.count >= maxFiles || bytes + file.bytes > maxBytes) {
                batches.append(current)
                current = []
                bytes = 0
            }
            current.append(file)
            bytes += file.bytes
        }
        if !current.isEmpty { batches.append(current) }
        return batches
    }

    /// Sorted-key JSON with a final newline.
    static func json<T: Encodable>(_ value: T, pretty: Bool = false) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted] : [.sortedKeys, .withoutEscapingSlashes]
        var data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        data.append(0x0A)
        return data
    }

    // MARK: receipt

    /// The upload item's output: what was sent where, and what came back. Never the key.
    struct Receipt: Codable, Sendable {
        struct Split: Codable, Sendable {
            var category: String
            var endpoint: String
            var images: Int
            var uploaded: Int
            var alreadyUploaded: Int
            var failed: Int

            enum CodingKeys: String, CodingKey {
                case category, endpoint, images, uploaded, failed
                case alreadyUploaded = "already_uploaded"
            }
        }

        struct Request: Codable, Sendable {
            var split: String
            var category: String
            var files: [String]
            var status: Int?
            var attempts: Int
            var accepted: Int
            var rejected: [String: String]?
        }

        var dataset: String
        var baseURL: String
        var apiKeyEnv: String
        var batchSize: Int
        var splits: [String: Split]
        var requests: [Request]
        var uploaded: Int
        var alreadyUploaded: Int

        enum CodingKeys: String, CodingKey {
            case dataset, splits, requests, uploaded
            case baseURL = "base_url"
            case apiKeyEnv = "api_key_env"
            case batchSize = "batch_size"
            case alreadyUploaded = "already_uploaded"
        }
    }

    // MARK: HTTP

    /// What one request (with its retries) achieved.
    struct PostResult: Sendable {
        var status: Int?
        var attempts: Int
        var accepted: [PendingFile]
        /// File name → the server's reason, for files it refused.
        var rejected: [String: String]
        /// Set when the request as a whole failed (after its retries).
        var error: String?
    }

    struct Client: Sendable {
        let session: URLSession
        let key: String
        let transport: HTTPTransport
        let log: UploadLog

        func post(_ batch: [PendingFile], labels: EdgeImpulse.LabelsFile, to target: String) async throws -> PostResult {
            guard let url = URL(string: target) else {
                return PostResult(status: nil, attempts: 0, accepted: [], rejected: [:], error: "\(target) is not a valid URL")
            }
            let boundary = "synthset-" + UUID().uuidString
            var parts: [Multipart.Part] = []
            for file in batch {
                let type = (file.name as NSString).pathExtension.lowercased() == "png" ? "image/png" : "image/jpeg"
                parts.append(Multipart.Part(name: "data", fileName: file.name, contentType: type, body: try Data(contentsOf: file.url)))
            }
            parts.append(Multipart.Part(name: "data", fileName: "bounding_boxes.labels", contentType: "application/json",
                                        body: EdgeImpulseUploadAdapter.json(labels)))
            var request = URLRequest(url: url)
            request.httpMethod = "POST"
            request.setValue("multipart/form-data; boundary=\(boundary)", forHTTPHeaderField: "Content-Type")
            request.setValue(key, forHTTPHeaderField: "x-api-key")
            request.setValue("1", forHTTPHeaderField: "x-disallow-duplicates")
            request.httpBody = Multipart.body(parts, boundary: boundary)

            log.write("POST \(target): \(batch.count) files")
            let response: HTTPTransport.Response
            do {
                response = try await transport.send(request, session: session)
            } catch let failure as HTTPTransport.Failure {
                return PostResult(status: nil, attempts: failure.attempts, accepted: [], rejected: [:], error: failure.description)
            }
            if (200..<300).contains(response.status) {
                switch Self.reply(response.data) {
                case .accepted(let rejected):
                    return PostResult(status: response.status, attempts: response.attempts,
                                      accepted: batch.filter { rejected[$0.name] == nil }, rejected: rejected, error: nil)
                case .failed(let reason):
                    return PostResult(status: response.status, attempts: response.attempts, accepted: [], rejected: [:],
                                      error: "\(target) answered HTTP \(response.status) but refused the request: \(reason)")
                }
            }
            let attempts = response.attempts
            return PostResult(status: response.status, attempts: attempts, accepted: [], rejected: [:],
                              error: "HTTP \(response.status) from \(target): \(HTTPTransport.snippet(response.data)) (after \(attempts) attempt\(attempts == 1 ? "" : "s"))")
        }

        /// What a 2xx reply says, read as edge-impulse-cli reads it (64dbc03,
        /// cli-common/make-image.ts `upload()`): a body that is not a JSON object, or
        /// `success: false`, fails the request; so does a `files` entry with
        /// `success: false` that names no file, since synthset cannot tell which file it
        /// was. A named refusal fails that file only, and a refusal as a duplicate means the
        /// file is already in the project, so it counts as uploaded.
        enum Reply: Equatable {
            case accepted(rejected: [String: String])
            case failed(String)
        }

        static func reply(_ data: Data) -> Reply {
            guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                return .failed("the reply is not an ingestion response: \(HTTPTransport.snippet(data))")
            }
            if object["success"] as? Bool != true {
                return .failed((object["error"] as? String) ?? "success is not true: \(HTTPTransport.snippet(data))")
            }
            var rejected: [String: String] = [:]
            var unnamed: [String] = []
            for file in object["files"] as? [[String: Any]] ?? [] {
                guard file["success"] as? Bool != true else { continue }
                let reason = (file["error"] as? String) ?? "refused"
                let lower = reason.lowercased()
                if lower.contains("duplicate") || lower.contains("already exists") { continue }
                if let name = (file["fileName"] ?? file["filename"] ?? file["name"]) as? String {
                    rejected[name] = reason
                } else {
                    unnamed.append(reason)
                }
            }
            if !unnamed.isEmpty {
                return .failed("\(unnamed.count) file(s) refused without a name: \(unnamed.prefix(3).joined(separator: "; "))")
            }
            return .accepted(rejected: rejected)
        }
    }
}

/// A `multipart/form-data` body (RFC 7578).
enum Multipart {
    struct Part: Sendable {
        var name: String
        var fileName: String
        var contentType: String
        var body: Data
    }

    static func body(_ parts: [Part], boundary: String) -> Data {
        var data = Data()
        for part in parts {
            data.append(Data("--\(boundary)\r\n".utf8))
            data.append(Data("Content-Disposition: form-data; name=\"\(escape(part.name))\"; filename=\"\(escape(part.fileName))\"\r\n".utf8))
            data.append(Data("Content-Type: \(part.contentType)\r\n\r\n".utf8))
            data.append(part.body)
            data.append(Data("\r\n".utf8))
        }
        data.append(Data("--\(boundary)--\r\n".utf8))
        return data
    }

    /// Quotes and line breaks cannot appear in a quoted parameter (RFC 7578 section 4.2).
    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\"", with: "%22").replacingOccurrences(of: "\r", with: "%0D")
            .replacingOccurrences(of: "\n", with: "%0A")
    }
}

/// Appends lines to the task's log, with any occurrence of the key (in any of its
/// escaped forms, see ``SecretMask/forms(of:)``) masked.
struct UploadLog: Sendable {
    let file: URL
    let mask: SecretMask

    init(file: URL, secret: String) {
        self.file = file
        self.mask = SecretMask([secret])
    }

    func redact(_ text: String) -> String { mask(text) }

    func write(_ line: String) {
        guard let handle = try? FileHandle(forWritingTo: file) else { return }
        defer { try? handle.close() }
        _ = try? handle.seekToEnd()
        try? handle.write(contentsOf: Data((redact(line) + "\n").utf8))
    }
}
