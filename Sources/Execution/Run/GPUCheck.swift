import Foundation
import Planning
import WorkflowSpec

/// One GPU as `nvidia-smi --query-gpu=index,uuid,name,memory.total,driver_version
/// --format=csv,noheader,nounits` lists it (memory in MiB).
public struct GPUInfo: Sendable, Equatable, Codable {
    public var index: Int
    public var uuid: String
    public var name: String
    public var memoryMiB: Int
    public var driver: String

    /// Memory in decimal gigabytes, as GPU makers and the catalog count it.
    public var memoryGB: Double { Double(memoryMiB) * 1_048_576 / 1e9 }

    enum CodingKeys: String, CodingKey {
        case index, uuid, name, driver
        case memoryMiB = "memory_mib"
    }
}

/// The machine's GPUs, read from `nvidia-smi` (the driver's own tool, on PATH wherever
/// the driver is installed).
public enum GPUInventory {
    public static let arguments = ["--query-gpu=index,uuid,name,memory.total,driver_version", "--format=csv,noheader,nounits"]

    /// What reading the GPUs gave: the list, or why there is none.
    public enum Reading: Sendable, Equatable {
        case gpus([GPUInfo])
        /// `nvidia-smi` is not on PATH (no driver, or a machine without GPUs).
        case noTool
        /// It ran but failed or printed something else (the message says what).
        case failed(String)
    }

    public static func read(program: String = "nvidia-smi") async -> Reading {
        guard ToolSupport.findExecutable(program) != nil else { return .noTool }
        guard let probe = try? await ProcessRunner.capture(program, arguments: arguments, includeStandardError: true) else {
            return .failed("\(program) could not be started")
        }
        guard probe.succeeded else {
            return .failed("\(program) failed: \(ToolVersions.firstLine(probe.text) ?? "no output")")
        }
        guard let gpus = parse(probe.text) else {
            return .failed("\(program) printed something other than its CSV: \(ToolVersions.firstLine(probe.text) ?? "")")
        }
        return .gpus(gpus)
    }

    /// `0, GPU-5c7f…, NVIDIA H200, 143771, 570.124.06` a line; nil when a line is not that.
    static func parse(_ text: String) -> [GPUInfo]? {
        var gpus: [GPUInfo] = []
        for line in text.split(whereSeparator: \.isNewline) where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == 5, let index = Int(fields[0]), let memory = Int(fields[3]) else { return nil }
            gpus.append(GPUInfo(index: index, uuid: fields[1], name: fields[2], memoryMiB: memory, driver: fields[4]))
        }
        return gpus
    }
}

/// `CUDA_VISIBLE_DEVICES` as the user set it: the devices synthset may schedule on, in
/// order. A task given GPU slots 0 and 1 gets the first two of them (`2,3` when the user
/// set `CUDA_VISIBLE_DEVICES=2,3`), never devices the user left out.
public enum VisibleDevices {
    /// The list, or nil when the variable is unset (every GPU is visible).
    public static func parse(_ value: String?) -> [String]? {
        guard let value else { return nil }
        return value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// This process's (read once: synthset never changes it).
    public static let current: [String]? = parse(ProcessInfo.processInfo.environment["CUDA_VISIBLE_DEVICES"])

    /// The device names of GPU slots, for a task's `CUDA_VISIBLE_DEVICES`.
    public static func names(of slots: [Int], visible: [String]? = current) -> [String] {
        slots.map { slot in
            guard let visible, slot < visible.count else { return String(slot) }
            return visible[slot]
        }
    }

    /// The GPUs of `gpus` that `visible` lets a program see, in its order (an index or a
    /// `GPU-…` UUID prefix each; MIG devices are not matched).
    static func filter(_ gpus: [GPUInfo], visible: [String]?) -> [GPUInfo] {
        guard let visible else { return gpus }
        return visible.compactMap { entry in
            if let index = Int(entry) { return gpus.first { $0.index == index } }
            return gpus.first { $0.uuid.hasPrefix(entry) }
        }
    }
}

/// Whether the machine's GPUs are the ones `hardware` declares, read before any GPU
/// work: enough of them visible, of the declared model, with the declared memory.
public enum GPUCheck {
    /// One contradiction, with how to resolve it.
    public struct Problem: Sendable, Equatable {
        /// What it is about: the devices named, how many GPUs, their model, their memory.
        public enum Kind: Sendable, Equatable { case devices, count, model, memory }

        public var kind: Kind
        public var message: String
        public var hint: String
    }

    /// What `gpus` (the machine's, all of them) say against the plan's hardware, when
    /// `visible` devices are the ones a tool may see. Pure.
    public static func problems(_ hardware: PlannedHardware, gpus: [GPUInfo], visible: [String]?) -> [Problem] {
        var problems: [Problem] = []
        let usable = VisibleDevices.filter(gpus, visible: visible)
        let declared = "hardware: { gpu: \(hardware.gpu ?? "?"), count: \(hardware.count) }"
        let shown = visible.map { "CUDA_VISIBLE_DEVICES=\($0.joined(separator: ",")) leaves \(usable.count) of the \(gpus.count)" }
            ?? "nvidia-smi lists \(gpus.count)"
        if let visible, visible.count > usable.count, !visible.contains(where: { $0.hasPrefix("MIG-") }) {
            let unknown = visible.filter { entry in VisibleDevices.filter(gpus, visible: [entry]).isEmpty }
            problems.append(Problem(kind: .devices, message: "CUDA_VISIBLE_DEVICES names \(unknown.joined(separator: ", ")), which nvidia-smi does not list (it lists \(gpus.map { String($0.index) }.joined(separator: ", ")))",
                                    hint: "set CUDA_VISIBLE_DEVICES to indices or GPU-… UUIDs from nvidia-smi -L"))
        }
        if usable.count < hardware.count {
            problems.append(Problem(kind: .count, message: "\(declared) asks for \(hardware.count) GPU\(hardware.count == 1 ? "" : "s") at once, but \(shown) GPU\(usable.count == 1 ? "" : "s")",
                                    hint: "set hardware.count (or --gpus) to \(max(usable.count, 1)), or make more GPUs visible"))
        }
        for gpu in usable.prefix(hardware.count) {
            if let name = hardware.name, !modelMatches(catalogName: name, reported: gpu.name) {
                problems.append(Problem(kind: .model, message: "GPU \(gpu.index) is a \(gpu.name), but \(declared) is a \(name): estimates, VRAM checks and timings would be for the wrong GPU",
                                        hint: "set hardware.gpu to this machine's GPU (synthset plan --gpu ID; the catalog ids are in docs/estimates.md), or run on a machine with \(name)s"))
            }
            if let vram = hardware.vramGB, gpu.memoryGB < vram * 0.9 {
                problems.append(Problem(kind: .memory, message: "GPU \(gpu.index) (\(gpu.name)) has \(format(gpu.memoryGB)) GB of memory, but the plan counts on \(format(vram)) GB",
                                        hint: "set hardware.vram_gb to \(Int(gpu.memoryGB.rounded(.down))) (or the right hardware.gpu) so the plan checks models against this GPU, or free the GPU"))
            }
        }
        return problems
    }

    /// Whether nvidia-smi's name is the catalog's GPU: every word of the catalog's name
    /// (past "NVIDIA" and "GeForce") is in it, and it names no other form factor
    /// ("NVIDIA H100 PCIe" is not an "H100 SXM"; plain "NVIDIA H200" is either).
    static func modelMatches(catalogName: String, reported: String) -> Bool {
        func words(_ text: String) -> [String] {
            text.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init)
                .filter { $0 != "nvidia" && $0 != "geforce" }
                .map { $0.hasPrefix("sxm") ? "sxm" : $0 }
        }
        let formFactors: Set<String> = ["sxm", "pcie", "nvl"]
        let wanted = words(catalogName), have = Set(words(reported))
        guard wanted.filter({ !formFactors.contains($0) }).allSatisfy(have.contains) else { return false }
        let wantedForm = Set(wanted).intersection(formFactors), haveForm = have.intersection(formFactors)
        return haveForm.isEmpty || wantedForm.isEmpty || !haveForm.isDisjoint(with: wantedForm)
    }

    static func format(_ value: Double) -> String { String(format: "%.1f", value) }

    /// The check before a run's GPU work, as diagnostics located at `hardware:`. Without
    /// nvidia-smi there is nothing to compare: a warning (the tools then fail on their own).
    public static func diagnostics(plan: Plan, workflow: Workflow, program: String = "nvidia-smi",
                                   visible: [String]? = VisibleDevices.current) async -> [Diagnostic] {
        let at = workflow.location(of: "hardware")
        switch await GPUInventory.read(program: program) {
        case .noTool:
            var found = [Diagnostic(.warning, "cannot check this machine's GPUs against 'hardware': nvidia-smi is not on PATH",
                                    hint: "install the NVIDIA driver (it brings nvidia-smi), or run where the GPUs are", at: at)]
            if let visible, visible.count < plan.hardware.count {
                found.append(Diagnostic(.error, "hardware asks for \(plan.hardware.count) GPUs at once, but CUDA_VISIBLE_DEVICES=\(visible.joined(separator: ",")) lists \(visible.count)",
                                        hint: "set hardware.count (or --gpus) to \(max(visible.count, 1)), or list more devices in CUDA_VISIBLE_DEVICES", at: at))
            }
            return found
        case .failed(let why):
            return [Diagnostic(.error, "cannot read this machine's GPUs: \(why)",
                               hint: "run nvidia-smi to see what is wrong (a driver/library version mismatch is fixed by a reboot)", at: at)]
        case .gpus(let gpus):
            return problems(plan.hardware, gpus: gpus, visible: visible).map { Diagnostic(.error, $0.message, hint: $0.hint, at: at) }
        }
    }
}
