import Foundation

/// A stand-in `nvidia-smi` for tests, put first on PATH by the tests that use it (never
/// installed). It answers the one form synthset calls,
/// `--query-gpu=index,uuid,name,memory.total,driver_version --format=csv,noheader,nounits`
/// (one CSV line per GPU, as the real tool prints it), and `-L`; anything else exits 6
/// with the real tool's "Invalid combination of input arguments" message.
enum FakeNvidiaSMI {
    struct GPU {
        var name: String
        var memoryMiB: Int
    }

    /// A folder holding `nvidia-smi` for `gpus`, to put first on PATH; `exitCode` other
    /// than 0 makes it fail as the real tool does when the driver is gone.
    static func install(in directory: URL, gpus: [GPU], driver: String = "570.124.06", exitCode: Int = 0) throws -> URL {
        let bin = directory.appendingPathComponent("fake-bin", isDirectory: true)
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let rows = gpus.enumerated().map { index, gpu in
            "\(index), GPU-\(String(format: "%08x", 0x5c7f0000 + index))-aaaa-bbbb-cccc-000000000000, \(gpu.name), \(gpu.memoryMiB), \(driver)"
        }
        let list = gpus.enumerated().map { index, gpu in "GPU \(index): \(gpu.name) (UUID: GPU-\(String(format: "%08x", 0x5c7f0000 + index))-aaaa-bbbb-cccc-000000000000)" }
        let failure = exitCode == 0 ? "" : """
            echo "Failed to initialize NVML: Driver/library version mismatch"
            exit \(exitCode)

            """
        try TestSupport.script("""
            #!/bin/sh
            \(failure)if [ "$1" = "--query-gpu=index,uuid,name,memory.total,driver_version" ] && [ "$2" = "--format=csv,noheader,nounits" ] && [ $# -eq 2 ]; then
            cat <<'ROWS'
            \(rows.joined(separator: "\n"))
            ROWS
              exit 0
            fi
            if [ "$1" = "-L" ]; then
            cat <<'ROWS'
            \(list.joined(separator: "\n"))
            ROWS
              exit 0
            fi
            echo "Invalid combination of input arguments. Please run 'nvidia-smi -h' for help."
            exit 6
            """, at: bin.appendingPathComponent("nvidia-smi"))
        return bin
    }

    /// PATH with `bin` first.
    static func path(_ bin: URL) -> String {
        bin.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
    }

    static let h100 = GPU(name: "NVIDIA H100 80GB HBM3", memoryMiB: 81559)
    static let h100PCIe = GPU(name: "NVIDIA H100 PCIe", memoryMiB: 81559)
    static let rtx4090 = GPU(name: "NVIDIA GeForce RTX 4090", memoryMiB: 24564)
    static let rtx5090 = GPU(name: "NVIDIA GeForce RTX 5090", memoryMiB: 32607)
}
