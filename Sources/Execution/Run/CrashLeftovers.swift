import Foundation
import WorkspaceStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What a killed run leaves behind, found and removed by the next run (which holds the
/// workspace lock, so nothing found belongs to a live run).
enum CrashLeftovers {
    /// Removes a dataset folder moved aside but never deleted (`.old-<UUID>` beside
    /// folder outputs, see `OutputCommitter.place`) and half-written lock files beside
    /// the recipe (`.<recipe>.lock.<UUID>.tmp`). Returns one line per thing removed.
    static func sweep(workspace: Workspace, recipe: String, folderOutputs: [String]) -> [String] {
        var removed: [String] = []
        let fm = FileManager.default
        let parents = Set(folderOutputs.map { workspace.url($0).deletingLastPathComponent().path })
        for parent in parents.sorted() {
            for name in (try? fm.contentsOfDirectory(atPath: parent)) ?? [] where name.hasPrefix(".old-") {
                let url = URL(fileURLWithPath: parent).appendingPathComponent(name)
                if (try? fm.removeItem(at: url)) != nil {
                    removed.append("removed \(workspace.relative(url)), left by an interrupted run")
                }
            }
        }
        let recipeURL = URL(fileURLWithPath: recipe).standardizedFileURL
        let folder = recipeURL.deletingLastPathComponent()
        let prefix = ".\(LockFile.url(forRecipe: recipe).lastPathComponent)."
        for name in (try? fm.contentsOfDirectory(atPath: folder.path)) ?? [] where name.hasPrefix(prefix) && name.hasSuffix(".tmp") {
            let url = folder.appendingPathComponent(name)
            if (try? fm.removeItem(at: url)) != nil { removed.append("removed \(url.path), a lock file an interrupted run was writing") }
        }
        return removed
    }
}

/// Tool processes a killed run left running (a SIGKILLed synthset cannot end them, and
/// a tool without the watchdog keeps its GPU busy): found by the run's marker in
/// their environment and ended, TERM then KILL, before anything is scheduled.
enum OrphanedTools {
    /// Ends the tools of every recorded dead run on this host; one line per group ended.
    static func end(store: CheckpointStore, grace: Duration = .seconds(5)) -> [String] {
        guard let records = try? store.toolProcesses(), !records.isEmpty else { return [] }
        let host = ProcessProbe.hostName()
        var lines: [String] = []
        let markers = Set(records.filter { $0.host == host }.map(\.marker))
        var live = markedProcesses(markers)
        for record in records where record.host == host {
            let pids = live[record.marker, default: []]
            if !pids.isEmpty {
                for pid in pids { _ = kill(pid, SIGTERM) }
                let deadline = ContinuousClock.now + grace
                var remaining = pids.filter(ProcessProbe.isAlive)
                while !remaining.isEmpty && ContinuousClock.now < deadline {
                    usleep(50_000)
                    remaining = remaining.filter(ProcessProbe.isAlive)
                }
                for pid in remaining { _ = kill(pid, SIGKILL) }
                // A non-positive pgid is the run's own record, made before any tool started.
                lines.append("ended \(pids.count) tool process\(pids.count == 1 ? "" : "es") \(record.pgid > 0 ? "(group \(record.pgid)) " : "")"
                             + "left running by run \(record.runID), which did not finish\(remaining.isEmpty ? "" : " (\(remaining.count) needed SIGKILL)")")
            }
            try? store.removeToolProcess(pgid: record.pgid, runID: record.runID)
            // Every process of that run carries its marker: one pass ends them all.
            live[record.marker] = nil
        }
        return lines
    }

    /// Live processes whose environment holds one of `markers`, by marker.
    static func markedProcesses(_ markers: Set<String>) -> [String: [Int32]] {
        #if os(Linux)
        guard !markers.isEmpty, let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [:] }
        let wanted = Dictionary(uniqueKeysWithValues: markers.map { (Array("\(ToolProcessContext.markerVariable)=\($0)".utf8), $0) })
        var found: [String: [Int32]] = [:]
        let me = getpid()
        for entry in entries {
            guard let pid = Int32(entry), pid != me, ProcessProbe.isAlive(pid),
                  let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { continue }
            for variable in data.split(separator: 0) {
                if let marker = wanted[Array(variable)] { found[marker, default: []].append(pid); break }
            }
        }
        return found
        #else
        return [:]
        #endif
    }
}
