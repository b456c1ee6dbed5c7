// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "synthset",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "synthset", targets: ["synthset"]),
        // Installed beside synthset: ends a tool's process group when synthset dies.
        .executable(name: "synthset-supervise", targets: ["synthset-supervise"]),
        .library(name: "SynthsetCore", targets: ["Scenes", "WorkflowSpec", "Planning", "Execution", "Datasets", "Reporting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
    ],
    targets: [
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG"),
        // The renderer is a per-pixel hot loop: optimize it in debug builds too, so tests
        // and the demo do not crawl (debug Swift is ~20x slower there).
        .target(name: "Scenes", dependencies: ["CJPEG"],
                swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        .target(
            name: "WorkflowSpec",
            dependencies: ["Scenes", .product(name: "Yams", package: "Yams"), .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "Planning",
            dependencies: ["WorkflowSpec", .product(name: "Crypto", package: "swift-crypto")],
            resources: [.copy("Resources/catalog.json")]
        ),
        .target(
            name: "Datasets",
            dependencies: ["Planning", "Scenes", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "Execution",
            dependencies: [
                "Planning", "Datasets", "Scenes",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .target(
            name: "Reporting",
            dependencies: ["Planning", "Datasets", "Execution", "Scenes", "WorkflowSpec"],
            resources: [.copy("Resources/report.css"), .copy("Resources/report.js"), .copy("Resources/errors.js")]
        ),
        .target(
            name: "SynthsetCLI",
            dependencies: [
                "WorkflowSpec", "Planning", "Execution", "Datasets", "Reporting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "synthset", dependencies: ["SynthsetCLI"]),
        .executableTarget(name: "synthset-supervise", path: "Sources/synthset-supervise"),
        .executableTarget(name: "scenes-bench", dependencies: ["Scenes"], path: "Benchmarks/ScenesBench"),
        .testTarget(
            name: "SynthsetTests",
            dependencies: ["Scenes", "WorkflowSpec", "Planning", "Execution", "Datasets", "Reporting", "SynthsetCLI"],
            exclude: ["Consumers"],
            resources: [.copy("Fixtures")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
