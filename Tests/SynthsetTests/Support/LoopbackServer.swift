import Foundation

/// A stand-in HTTP server for tests: a Python script that listens on 127.0.0.1 on a free
/// port, writes that port to `<folder>/port`, records requests as JSON lines in
/// `<folder>/requests.jsonl`, polls for `<folder>/port.stop` and exits by itself after its
/// lifetime. The script gets `port_file records_file` and then `arguments`.
struct LoopbackServer {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    var process: TestSupport.Launched
    var port: Int
    var portFile: URL
    var records: URL

    static func start(script text: String, arguments: [String], in folder: URL,
                      environment: [String: String] = [:]) async throws -> LoopbackServer {
        let script = folder.appendingPathComponent("server.py")
        try text.write(to: script, atomically: true, encoding: .utf8)
        let portFile = folder.appendingPathComponent("port")
        let records = folder.appendingPathComponent("requests.jsonl")
        let process = try TestSupport.launch(["python3", script.path, portFile.path, records.path] + arguments,
                                             in: folder, environment: environment, program: URL(fileURLWithPath: "/usr/bin/env"))
        for _ in 0..<500 {
            if let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text) {
                return LoopbackServer(process: process, port: port, portFile: portFile, records: records)
            }
            if !process.process.isRunning { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        if process.process.isRunning { kill(process.process.processIdentifier, SIGKILL) }
        let result = await process.result()
        throw Failure(description: "the stand-in server did not start:\n\(result.output)")
    }

    /// Asks the server to exit (it polls for a stop file every half second; a signal
    /// may be blocked in children of the test process), then kills it if it lingers.
    func stop() async {
        _ = FileManager.default.createFile(atPath: portFile.path + ".stop", contents: nil)
        for _ in 0..<250 where process.process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        if process.process.isRunning { kill(process.process.processIdentifier, SIGKILL) }
        await process.wait()
    }

    /// Every request the server recorded, in order.
    func requests() -> [[String: Any]] {
        let text = (try? String(contentsOf: records, encoding: .utf8)) ?? ""
        return TestSupport.events(text)
    }
}
