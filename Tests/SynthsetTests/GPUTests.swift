import Foundation
import Testing

@testable import Execution
import Planning

/// GPUs as the machine has them: the user's CUDA_VISIBLE_DEVICES, and `hardware` checked
/// against a stand-in nvidia-smi before any GPU work.
@Suite(.serialized) struct GPUTests {
    /// Two GPU `command` steps that write the CUDA_VISIBLE_DEVICES they were given.
    static func recipe(gpu: String, count: Int, seeds: Int = 4) -> String {
        """
        version: 1
        name: gpus
        hardware: { gpu: \(gpu), count: \(count) }
        steps:
          probe:
            uses: command
            program: python3
            args: ["-c", "import os, sys, time; time.sleep(0.3); open(sys.argv[1], 'w').write(os.environ.get('CUDA_VISIBLE_DEVICES', '-'))", "{output}"]
            output: txt
            gpu: true
            seeds: 0..\(seeds - 1)
        """
    }

    static func run(_ recipe: String, gpus: [FakeNvidiaSMI.GPU]?, visible: String?, smiExit: Int = 0) async throws -> (TestSupport.Result, [String], URL) {
        let directory = try TestSupport.temporaryDirectory("synthset-gpus")
        let file = directory.appendingPathComponent("gpus.yaml")
        try Data(recipe.utf8).write(to: file)
        var environment: [String: String] = [:]
        if let gpus {
            environment["PATH"] = FakeNvidiaSMI.path(try FakeNvidiaSMI.install(in: directory, gpus: gpus, exitCode: smiExit))
        }
        if let visible { environment["CUDA_VISIBLE_DEVICES"] = visible }
        let result = try await Synthset.run(["run", file.path, "--workspace", directory.appendingPathComponent("ws").path], environment: environment)
        let outputs = directory.appendingPathComponent("ws/outputs/probe")
        let seen = ((try? FileManager.default.contentsOfDirectory(atPath: outputs.path)) ?? []).filter { $0.hasSuffix(".txt") }
            .compactMap { try? String(contentsOf: outputs.appendingPathComponent($0), encoding: .utf8) }
        return (result, seen.sorted(), directory)
    }

    @Test func tasksRunOnTheDevicesTheUserMadeVisible() async throws {
        let (result, seen, directory) = try await Self.run(Self.recipe(gpu: "h100-sxm", count: 2),
                                                           gpus: Array(repeating: FakeNvidiaSMI.h100, count: 4), visible: "2,3")
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(result.status == 0, "\(result.output)")
        #expect(seen.count == 4)
        #expect(Set(seen).isSubset(of: ["2", "3"]), "\(seen)")
        #expect(Set(seen) == ["2", "3"], "both visible GPUs are used: \(seen)")
        // Without the variable, slots are the machine's first GPUs.
        let (plain, plainSeen, plainDirectory) = try await Self.run(Self.recipe(gpu: "h100-sxm", count: 2),
                                                                    gpus: Array(repeating: FakeNvidiaSMI.h100, count: 4), visible: nil)
        defer { try? FileManager.default.removeItem(at: plainDirectory) }
        #expect(plain.status == 0, "\(plain.output)")
        #expect(Set(plainSeen) == ["0", "1"], "\(plainSeen)")
    }

    @Test(arguments: [
        // (machine, visible, hardware gpu, count, expected message, expected hint)
        ([FakeNvidiaSMI.h100, FakeNvidiaSMI.h100], "1", "h100-sxm", 2, "asks for 2 GPUs at once, but CUDA_VISIBLE_DEVICES=1 leaves 1 of the 2 GPU", "set hardware.count (or --gpus) to 1"),
        ([FakeNvidiaSMI.h100], nil, "h100-sxm", 2, "asks for 2 GPUs at once, but nvidia-smi lists 1 GPU", "set hardware.count (or --gpus) to 1"),
        ([FakeNvidiaSMI.rtx4090], nil, "rtx-5090", 1, "GPU 0 is a NVIDIA GeForce RTX 4090, but hardware: { gpu: rtx-5090, count: 1 } is a NVIDIA GeForce RTX 5090", "set hardware.gpu to this machine's GPU"),
        ([FakeNvidiaSMI.h100PCIe], nil, "h100-sxm", 1, "GPU 0 is a NVIDIA H100 PCIe, but hardware: { gpu: h100-sxm, count: 1 } is a NVIDIA H100 SXM", "set hardware.gpu"),
        ([FakeNvidiaSMI.GPU(name: "NVIDIA GeForce RTX 5090", memoryMiB: 16303)], nil, "rtx-5090", 1, "has 17.1 GB of memory, but the plan counts on 32.0 GB", "set hardware.vram_gb to 17"),
        ([FakeNvidiaSMI.h100], "GPU-deadbeef", "h100-sxm", 1, "CUDA_VISIBLE_DEVICES names GPU-deadbeef, which nvidia-smi does not list", "nvidia-smi -L"),
    ] as [([FakeNvidiaSMI.GPU], String?, String, Int, String, String)])
    func aMachineThatContradictsHardwareStopsBeforeGPUWork(_ machine: [FakeNvidiaSMI.GPU], _ visible: String?, _ gpu: String, _ count: Int,
                                                           _ message: String, _ hint: String) async throws {
        let (result, seen, directory) = try await Self.run(Self.recipe(gpu: gpu, count: count), gpus: machine, visible: visible)
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(result.status == 2, "\(result.output)")
        #expect(result.stderr.contains("gpus.yaml:3:"), "located at hardware: \(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.contains(hint), "\(result.stderr)")
        #expect(seen.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("ws/state.db").path), "nothing was written")
    }

    @Test func aBrokenDriverStopsTheRunAndNoNvidiaSMIOnlyWarns() async throws {
        let (broken, _, brokenDirectory) = try await Self.run(Self.recipe(gpu: "h100-sxm", count: 1), gpus: [FakeNvidiaSMI.h100], visible: nil, smiExit: 18)
        defer { try? FileManager.default.removeItem(at: brokenDirectory) }
        #expect(broken.status == 2, "\(broken.output)")
        #expect(broken.stderr.contains("cannot read this machine's GPUs") && broken.stderr.contains("Driver/library version mismatch"), "\(broken.stderr)")
        // No nvidia-smi at all (this CI machine): a warning, and the run goes on.
        let (absent, seen, absentDirectory) = try await Self.run(Self.recipe(gpu: "h100-sxm", count: 1, seeds: 1),
                                                                 gpus: nil, visible: nil)
        defer { try? FileManager.default.removeItem(at: absentDirectory) }
        if ToolSupport.findExecutable("nvidia-smi") == nil {
            #expect(absent.status == 0, "\(absent.output)")
            #expect(absent.stderr.contains("warning: cannot check this machine's GPUs against 'hardware': nvidia-smi is not on PATH"), "\(absent.stderr)")
            #expect(seen == ["0"])
        }
    }

    @Test func matchingNamesAndReadingTheCSV() {
        #expect(GPUCheck.modelMatches(catalogName: "NVIDIA H200 SXM", reported: "NVIDIA H200"))
        #expect(GPUCheck.modelMatches(catalogName: "NVIDIA H100 SXM", reported: "NVIDIA H100 80GB HBM3"))
        #expect(!GPUCheck.modelMatches(catalogName: "NVIDIA H100 SXM", reported: "NVIDIA H100 PCIe"))
        #expect(GPUCheck.modelMatches(catalogName: "NVIDIA A100 80GB", reported: "NVIDIA A100-SXM4-80GB"))
        #expect(!GPUCheck.modelMatches(catalogName: "NVIDIA A100 80GB", reported: "NVIDIA A100-SXM4-40GB"))
        #expect(GPUCheck.modelMatches(catalogName: "NVIDIA RTX 6000 Ada", reported: "NVIDIA RTX 6000 Ada Generation"))
        #expect(!GPUCheck.modelMatches(catalogName: "NVIDIA GeForce RTX 5090", reported: "NVIDIA GeForce RTX 4090"))
        let gpus = GPUInventory.parse("0, GPU-1, NVIDIA H200, 143771, 570.124.06\n1, GPU-2, NVIDIA H200, 143771, 570.124.06\n")
        #expect(gpus?.count == 2 && gpus?.last?.memoryMiB == 143771)
        #expect(GPUInventory.parse("No devices were found") == nil)
        #expect(VisibleDevices.names(of: [0, 1], visible: ["2", "3"]) == ["2", "3"])
        #expect(VisibleDevices.names(of: [1], visible: nil) == ["1"])
        #expect(VisibleDevices.parse("") == [])
    }
}
