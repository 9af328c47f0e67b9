// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "labelmill",
    products: [
        .executable(name: "labelmill", targets: ["labelmill"]),
        .library(name: "Inference", targets: ["Inference"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        // C shims: OpenBLAS is loaded at run time (so the kernel can be chosen before it initialises);
        // libpng needs setjmp-based error handling, which only C can do; libjpeg-turbo through TurboJPEG;
        // libcurl's variadic setopt calls.
        .target(name: "COpenBLAS", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "COneDNN", linkerSettings: [.linkedLibrary("dl"), .linkedLibrary("pthread")]),
        // Element-wise kernels, built for AVX-512 / AVX2 / baseline and chosen when loaded; their floating-point
        // freedoms are pragmas in the source (no unsafe flags: other packages may depend on this one).
        .target(name: "CKernels"),
        .target(name: "CPNG", linkerSettings: [.linkedLibrary("png16")]),
        .target(name: "CJPEG", linkerSettings: [.linkedLibrary("turbojpeg")]),
        .target(name: "CCurl", linkerSettings: [.linkedLibrary("curl")]),
        // What every module shares: SHA-256 in hex, atomic and durable file writes, cross-process file locks.
        .target(name: "Support", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "Inference",
            dependencies: [
                // LabelAPI: the settings' vocabulary (dense modes, presets, number formats), which the kernels switch on.
                "COpenBLAS", "COneDNN", "CKernels", "CPNG", "CJPEG", "Support", "LabelAPI",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Wire types and route paths shared by the coordinator and its clients.
        .target(name: "LabelAPI"),
        .target(
            name: "Coordinator",
            dependencies: [
                // LabelClient: its HTTP client fetches the images Label Studio serves, and its brush RLE encodes predictions.
                "Inference", "LabelAPI", "Support", "LabelClient",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            // The API's OpenAPI document, served at /openapi.json, and the dashboard's page, script and style.
            resources: [
                .embedInCode("Resources/openapi.json"), .embedInCode("Resources/dashboard.html"),
                .embedInCode("Resources/sign-in.html"), .embedInCode("Resources/app.js"), .embedInCode("Resources/app.css"),
                .embedInCode("Resources/favicon.svg"),
            ]
        ),
        // The coordinator's clients: HTTP over libcurl, the API client, S3, model downloads, exports, progress output.
        // The CLI, `run` and the worker use it; the coordinator too (it fetches the images Label Studio serves).
        .target(
            name: "LabelClient",
            dependencies: [
                "Inference", "LabelAPI", "CCurl", "Support",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The worker's loop: claim, label, upload, heartbeat.
        .target(
            name: "Worker",
            dependencies: [
                "Inference", "LabelAPI", "LabelClient", "Support",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // `labelmill run`: an embedded coordinator plus local workers.
        .target(
            name: "Runner",
            dependencies: [
                "Coordinator", "Worker", "LabelClient", "LabelAPI", "Inference", "Support",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "labelmill",
            dependencies: [
                "Inference", "Coordinator", "Worker", "LabelClient", "LabelAPI", "Runner", "Support",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "InferenceTests",
            dependencies: ["Inference", "CKernels", "Support", .product(name: "Logging", package: "swift-log")],
            resources: [.copy("Fixtures")]
        ),
        // What the coordinator's test targets share: a coordinator running in the test process, on loopback.
        .target(
            name: "TestSupport",
            dependencies: [
                "Coordinator", "LabelAPI", "LabelClient",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/TestSupport"
        ),
        // The store and the server: SQLite files, the routes in process (HummingbirdTesting's router) or on loopback.
        .testTarget(
            name: "CoordinatorTests",
            dependencies: [
                "Coordinator", "LabelAPI", "LabelClient", "Inference", "Support", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The whole system: real labelmill processes, workers, fault proxies, S3 (moto), browsers, Label Studio.
        .testTarget(
            name: "SystemTests",
            dependencies: [
                "Coordinator", "LabelAPI", "LabelClient", "Worker", "Inference", "Runner", "Support", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "WorkerTests",
            dependencies: [
                "Worker", "LabelClient", "LabelAPI", "Inference", "Support", "Runner",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)
