// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "synthset",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "synthset", targets: ["synthset"]),
        // Installed beside synthset: ends a tool's process group when synthset dies.
        .executable(name: "synthset-supervise", targets: ["synthset-supervise"]),
        .library(name: "SynthsetCore", targets: ["Basics", "SceneFormats", "Scenes", "WorkflowSpec", "Planning", "WorkspaceStore", "Execution", "Datasets", "Reporting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
    ],
    targets: [
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG"),
        // The renderer is a per-pixel hot loop: optimize it in debug builds too, so tests
        // and the demo do not crawl (debug Swift is ~20x slower there).
        // What every layer shares: content hashing, canonical JSON, graph algorithms,
        // parallel map, the seeded PRNG.
        .target(name: "Basics", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // The scene description and the exact-box format, read by the manifest and the
        // datasets without linking the renderer.
        .target(name: "SceneFormats"),
        .target(name: "Scenes", dependencies: ["Basics", "CJPEG", "SceneFormats"],
                swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        .target(
            name: "WorkflowSpec",
            dependencies: ["Basics", "SceneFormats", .product(name: "Yams", package: "Yams")]
        ),
        .target(
            name: "Planning",
            dependencies: ["Basics", "SceneFormats", "WorkflowSpec", .product(name: "Crypto", package: "swift-crypto")],
            resources: [.copy("Resources/catalog.json")]
        ),
        .target(
            name: "Datasets",
            dependencies: ["Basics", "SceneFormats", "Scenes", "WorkflowSpec", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // The workspace on disk: its folders, the checkpoint store and the lock; what
        // the executor writes and the report, status and verify read.
        .target(
            name: "WorkspaceStore",
            dependencies: ["Basics", "WorkflowSpec", "Planning", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // posix_spawn with glibc's _np file actions and pidfds, for tool launches.
        .target(name: "CSpawn"),
        .target(
            name: "Execution",
            dependencies: [
                "Basics", "CSpawn", "WorkflowSpec", "Planning", "Datasets", "SceneFormats", "Scenes", "WorkspaceStore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .target(
            name: "Reporting",
            dependencies: ["Basics", "Planning", "Datasets", "WorkspaceStore", "SceneFormats", "Scenes", "WorkflowSpec"],
            resources: [.copy("Resources/report.css"), .copy("Resources/report.js"), .copy("Resources/errors.js")]
        ),
        .target(
            name: "SynthsetCLI",
            dependencies: [
                "WorkflowSpec", "Planning", "WorkspaceStore", "Execution", "Reporting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "synthset", dependencies: ["SynthsetCLI"]),
        // Plain C, the watchdog each synthset process starts once: linked statically, so
        // that no dynamic loader maps the Swift runtime and C++ libraries SwiftPM links
        // into every executable (at link time the static runtime warns about its unused
        // dlopen).
        .executableTarget(name: "synthset-supervise", path: "Sources/synthset-supervise",
                          linkerSettings: [.unsafeFlags(["-static-executable"], .when(platforms: [.linux]))]),
        .executableTarget(name: "scenes-bench", dependencies: ["SceneFormats", "Scenes"], path: "Benchmarks/ScenesBench"),
        .testTarget(
            name: "SynthsetTests",
            dependencies: ["Basics", "SceneFormats", "Scenes", "WorkflowSpec", "Planning", "WorkspaceStore", "Execution", "Datasets", "Reporting", "SynthsetCLI",
                           .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            exclude: ["Consumers"],
            resources: [.copy("Fixtures")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
