import Basics
import Foundation
import WorkflowSpec

/// Writes the plan JSON: the plan object laid out as `JSONEncoder` with `.sortedKeys`,
/// `.prettyPrinted` and `.withoutEscapingSlashes` does, except that each element of `items`
/// and `tasks` is one line of compact JSON, byte for byte what `JSONEncoder` with
/// `.sortedKeys` and `.withoutEscapingSlashes` writes for it (a test holds it to both).
/// One line an element keeps a plan of 300,000 items to two thirds of the bytes its pretty
/// form took, and lets `grep ID` find a whole item or task. Items and tasks, nearly all of
/// a large plan, are written by hand on every core; the small parts go through
/// `JSONEncoder` and are indented afterwards the way Foundation indents (``PrettyPrinter``).
enum PlanJSONWriter {
    /// The whole plan JSON at once (without the trailing newline).
    static func json(_ plan: Plan, adding extra: [String: [UInt8]] = [:]) -> [UInt8] {
        var all: [UInt8] = []
        write(plan, adding: extra) { all.append(contentsOf: $0) }
        return all
    }

    /// Writes the plan JSON to `sink` a piece at a time, so a plan of millions of items is
    /// never held as one string. `extra` adds top-level members the plan itself does not
    /// hold (the cluster's jobs): each a key and its value as compact JSON, placed in key
    /// order among the plan's own.
    ///
    /// `invocations`, when given, builds each task's invocation in place of the one the task
    /// holds; it is asked for once the items are written.
    static func write(_ plan: Plan, adding extra: [String: [UInt8]] = [:], invocations: (() -> PlanInvocations)? = nil,
                      flushingEvery limit: Int = 1 << 20, to sink: ([UInt8]) -> Void) {
        var printer = PrettyPrinter()
        func feed(_ bytes: [UInt8]) {
            printer.feed(bytes)
            if printer.out.count >= limit {
                sink(printer.out)
                printer.out.removeAll(keepingCapacity: true)
            }
        }
        func feed(_ text: String) { feed(Array(text.utf8)) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func encoded(_ value: some Encodable) -> [UInt8] { Array((try? encoder.encode(value)) ?? Data("null".utf8)) }
        let out = CanonicalJSONWriter()
        func string(_ text: String) -> [UInt8] {
            out.reset()
            out.string(text)
            return out.bytes
        }
        // The plan's own members in key order, each preceded by the extra ones sorting before it.
        var pending = extra.sorted { $0.key < $1.key }[...]
        var first = true
        func member(_ key: String) {
            while let next = pending.first, next.key < key {
                pending.removeFirst()
                member(next.key)
                feed(next.value)
            }
            feed(first ? "{" : ","); first = false
            feed(string(key)); feed(":")
        }
        member("catalog_version"); feed(string(plan.catalogVersion))
        member("diagnostics"); feed(encoded(plan.diagnostics))
        member("format"); feed(string(plan.format))
        member("hardware"); feed(encoded(plan.hardware))
        member("items"); feed("[")
        // Items and tasks, nearly all of the output, are written on all cores.
        // Read in place: `plan.items[index]` in the closure copied each item (and each
        // task, invocation and all), contending for the reference counts they share.
        let layouts = SignatureLayout.layouts(of: plan.items)
        plan.items.withUnsafeBufferPointer { buffer in
            let items = UncheckedSendable(buffer)
            elements(buffer.count, into: &printer, to: sink) { out, index in
                item(out, items.value[index], layout: layouts[ObjectIdentifier(items.value[index].shape)])
            }
        }
        feed("]")
        member("manifest_sha256"); feed(string(plan.manifestSHA256))
        member("steps"); feed(encoded(plan.steps))
        member("tasks"); feed("[")
        let builder = invocations?()
        plan.tasks.withUnsafeBufferPointer { buffer in
            let tasks = UncheckedSendable(buffer)
            elements(buffer.count, chunkSize: 16, into: &printer, to: sink) { out, index in
                task(out, tasks.value[index], invocation: builder.map { $0.invocation(at: index) } ?? tasks.value[index].invocation)
            }
        }
        feed("]")
        member("totals"); feed(encoded(plan.totals))
        member("workflow"); feed(string(plan.workflow))
        for (key, value) in pending { member(key); feed(value) }
        feed("}")
        sink(printer.out)
    }

    /// The elements of a top-level array (`count` of them, each written by `write`), one
    /// compact line each, written in chunks of `chunkSize` on all cores, a batch of chunks
    /// at a time, and handed to `sink` in order after what `printer` holds (the array's
    /// opening bracket, at the depth of the plan's members).
    static func elements(_ count: Int, chunkSize: Int = 2048, into printer: inout PrettyPrinter,
                         to sink: ([UInt8]) -> Void, _ write: @Sendable (CanonicalJSONWriter, Int) -> Void) {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let chunksPerBatch = max(1, cores) * 2
        let batchSize = chunkSize * chunksPerBatch
        // One writer per chunk of a batch, emptied and written again for each batch: a new
        // buffer per chunk (megabytes, grown by doubling) cost a copy at each growth and
        // the kernel's zeroing of every fresh page, a fifth of the time spent on a large plan.
        let writers = UncheckedSendable((0..<min(chunksPerBatch, (count + chunkSize - 1) / chunkSize)).map { _ in
            CanonicalJSONWriter(capacity: 1 << 16)
        })
        for batchStart in stride(from: 0, to: count, by: batchSize) {
            let batchEnd = min(batchStart + batchSize, count)
            let chunkCount = (batchEnd - batchStart + chunkSize - 1) / chunkSize
            DispatchQueue.concurrentPerform(iterations: chunkCount) { chunk in
                let start = batchStart + chunk * chunkSize, end = min(start + chunkSize, batchEnd)
                let out = writers.value[chunk]
                out.reset()
                for index in start..<end {
                    // A comma, a new line and the indent of an element of the plan's array.
                    if index > start { out.raw(",\n    ") }
                    write(out, index)
                }
            }
            for chunk in 0..<chunkCount {
                if batchStart > 0 || chunk > 0 { printer.feed([UInt8(ascii: ",")]) }
                // What the printer holds (the comma, the new line after the opener) goes
                // first, then the chunk as it is, not copied into the printer's buffer.
                printer.appendIndented([])
                if !printer.out.isEmpty {
                    sink(printer.out)
                    printer.out.removeAll(keepingCapacity: true)
                }
                writers.value[chunk].withBytes { sink($0) }
            }
        }
    }

    static func item(_ out: CanonicalJSONWriter, _ item: PlannedItem, layout: SignatureLayout? = nil) {
        out.object {
            if let frameIndex = item.frameIndex { out.key("frame_index"); out.raw(String(frameIndex)) }
            out.key("id"); out.string(item.id)
            out.key("inputs"); out.array(item.inputs) { out.string($0) }
            out.key("kind"); out.string(item.kind.rawValue)
            out.key("lineage"); out.string(item.lineage)
            if let negative = item.negative { out.key("negative"); out.string(negative) }
            out.key("path"); item.writePath(to: out)
            if let prompt = item.prompt { out.key("prompt"); out.string(prompt) }
            if let ref = item.promptRef { out.key("prompt_ref"); out.string(ref) }
            if let seed = item.seed { out.key("seed"); out.raw(String(seed)) }
            out.key("signature")
            if let layout {
                layout.write(item, to: out)
            } else {
                let signature = item.signature
                out.object {
                    for field in ItemSignature.Field.allCases { signature.write(field, to: out) }
                }
            }
            out.key("step"); out.string(item.step)
        }
    }

    // MARK: invocations, by hand: what `JSONEncoder` with `.sortedKeys` writes for
    // ``TaskInvocation``'s Codable form (a test compares the two), at a fraction of its
    // cost on the batch files and parameters of large tasks.

    static func invocation(_ out: CanonicalJSONWriter, _ invocation: TaskInvocation) {
        out.object {
            out.key("arguments"); out.array(invocation.arguments) { argument(out, $0) }
            if let builtin = invocation.builtin { out.key("builtin"); out.string(builtin) }
            out.key("environment")
            out.object { for key in invocation.environment.keys.sorted() { out.key(key); out.string(invocation.environment[key]!) } }
            out.key("files")
            out.array(invocation.files) { file in
                out.object {
                    out.key("content"); content(out, file.content)
                    out.key("format"); out.string(file.format.rawValue)
                    out.key("path"); out.string(file.path)
                }
            }
            out.key("links")
            out.array(invocation.links) { link in
                out.object {
                    out.key("at"); out.string(link.at)
                    out.key("source"); path(out, link.source)
                }
            }
            out.key("outputs")
            out.array(invocation.outputs) { output in
                out.object {
                    out.key("companions")
                    out.array(output.companions) { companion in
                        out.object {
                            out.key("destination"); out.string(companion.destination)
                            out.key("file"); path(out, companion.file)
                        }
                    }
                    out.key("file"); path(out, output.file)
                    out.key("item"); out.string(output.item)
                }
            }
            if let parameters = invocation.parameters { out.key("parameters"); content(out, parameters) }
            if let program = invocation.program { out.key("program"); out.string(program) }
            if let input = invocation.standardInput {
                out.key("stdin")
                out.object {
                    out.key("ahead"); out.raw(String(input.ahead))
                    if let answers = input.answers { out.key("answers"); path(out, answers) }
                    out.key("lines"); out.array(input.lines) { content(out, $0) }
                }
            }
            if let directory = invocation.workingDirectory { out.key("working_directory"); path(out, directory) }
        }
    }

    static func path(_ out: CanonicalJSONWriter, _ path: InvocationPath) {
        out.object {
            switch path {
            case .scratch(let value): out.key("scratch"); out.string(value)
            case .workspace(let value): out.key("workspace"); out.string(value)
            case .absolute(let value): out.key("absolute"); out.string(value)
            }
        }
    }

    static func argument(_ out: CanonicalJSONWriter, _ argument: InvocationArgument) {
        switch argument {
        case .text(let text): out.string(text)
        case .path(let value): path(out, value)
        case .joined(let pieces): out.object { out.key("joined"); out.array(pieces) { Self.argument(out, $0) } }
        }
    }

    static func content(_ out: CanonicalJSONWriter, _ content: InvocationContent) {
        switch content {
        case .string(let text): out.string(text)
        case .int(let value): out.raw(String(value))
        case .number(let value): out.number(value)
        case .bool(let value): out.raw(value ? "true" : "false")
        case .path(let value): path(out, value)
        case .array(let values): out.array(values) { Self.content(out, $0) }
        case .object(let members) where members.count <= 16:
            // The same for the small objects of batch files and parameters (100,000 of
            // them in a large plan), without a dictionary: the members' order by a
            // stable insertion sort, the last of each run of equal keys written.
            withUnsafeTemporaryAllocation(of: Int.self, capacity: members.count) { order in
                for index in members.indices {
                    var slot = index
                    while slot > 0, members[order[slot - 1]].key > members[index].key {
                        order[slot] = order[slot - 1]
                        slot -= 1
                    }
                    order[slot] = index
                }
                out.object {
                    for position in members.indices
                    where position == members.count - 1 || members[order[position + 1]].key != members[order[position]].key {
                        out.key(members[order[position]].key)
                        Self.content(out, members[order[position]].value)
                    }
                }
            }
        case .object(let members):
            // Sorted, as `.sortedKeys` does; a repeated key keeps its last value, as a
            // keyed container does.
            var latest: [String: Int] = [:]
            for (index, member) in members.enumerated() { latest[member.key] = index }
            out.object {
                for key in latest.keys.sorted() { out.key(key); Self.content(out, members[latest[key]!].value) }
            }
        }
    }

    static func task(_ out: CanonicalJSONWriter, _ task: PlannedTask, invocation: TaskInvocation?) {
        out.object {
            out.key("depends_on"); out.array(task.dependsOn) { out.string($0) }
            out.key("device"); out.string(task.device.rawValue)
            out.key("gpus"); out.raw(String(task.gpus))
            out.key("id"); out.string(task.id)
            if let invocation {
                out.key("invocation")
                Self.invocation(out, invocation)
            }
            out.key("items"); out.array(task.items) { out.string($0) }
            if let model = task.model { out.key("model"); out.string(model) }
            out.key("seconds"); out.number(task.seconds)
            if let seed = task.seed { out.key("seed"); out.raw(String(seed)) }
            out.key("step"); out.string(task.step)
            out.key("uses"); out.string(task.uses.rawValue)
            if let vram = task.vramGB { out.key("vram_gb"); out.number(vram) }
        }
    }

}

/// How the signatures of one step's items are written in the plan JSON: the members every
/// item shares (tool, model, options, params...) encoded once, the item's own (prompt,
/// negative, seed, inputs) written per item. Rebuilding each item's signature and writing
/// its shared members again was a third of the time spent on items.
final class SignatureLayout: Sendable {
    enum Segment: Sendable {
        /// A shared member, key and value.
        case shared([UInt8])
        case own(ItemSignature.Field)
    }

    let segments: [Segment]

    /// For a shape whose items differ only in members the item holds as they are; nil when
    /// a shared member changes per item (the frame index inside `params`).
    init?(_ shape: SignatureShape) {
        guard !shape.fromItem.contains(.frame) else { return nil }
        var own: Set<ItemSignature.Field> = []
        if shape.fromItem.contains(.prompt) { own.formUnion([.prompt, .negative]) }
        if shape.fromItem.contains(.seed) { own.insert(.seed) }
        if shape.fromItem.contains(.inputs) { own.insert(.inputs) }
        let scratch = CanonicalJSONWriter()
        var segments: [Segment] = []
        for field in ItemSignature.Field.allCases {
            if own.contains(field) {
                segments.append(.own(field))
                continue
            }
            scratch.reset()
            scratch.object { shape.base.write(field, to: scratch) }
            let bytes = scratch.bytes
            guard bytes.count > 2 else { continue }  // absent: `{}`
            segments.append(.shared(Array(bytes[1..<(bytes.count - 1)])))
        }
        self.segments = segments
    }

    /// The signature object of `item` (one of the shape's items), as ``PlannedItem/signature``
    /// written whole would be.
    func write(_ item: PlannedItem, to out: CanonicalJSONWriter) {
        out.object {
            for segment in segments {
                switch segment {
                case .shared(let bytes): out.member(encoded: bytes)
                case .own(.prompt): if let prompt = item.prompt { out.key("prompt"); out.string(prompt) }
                case .own(.negative): if let negative = item.negative { out.key("negative"); out.string(negative) }
                case .own(.seed): if let seed = item.seed { out.key("seed"); out.raw(String(seed)) }
                case .own(.inputs): if !item.inputs.isEmpty { out.key("inputs"); out.array(item.inputs) { out.string($0) } }
                case .own: break
                }
            }
        }
    }

    /// The layouts of the steps' shapes, by shape. A plan read back from JSON has a shape
    /// per item: past a few dozen shapes, items are written as before.
    static func layouts(of items: [PlannedItem]) -> [ObjectIdentifier: SignatureLayout] {
        var layouts: [ObjectIdentifier: SignatureLayout] = [:]
        var seen: Set<ObjectIdentifier> = []
        var last: ObjectIdentifier?
        for index in items.indices {
            let shape = items[index].shape, key = ObjectIdentifier(shape)
            // A step's items are together and share one shape.
            guard key != last else { continue }
            last = key
            guard seen.insert(key).inserted else { continue }
            guard seen.count <= 64 else { break }
            layouts[key] = SignatureLayout(shape)
        }
        return layouts
    }
}
