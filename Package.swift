// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "labelmill",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "labelmill", targets: ["labelmill"]),
        .library(name: "Inference", targets: ["Inference"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // C shims: OpenBLAS is loaded at run time (so the kernel can be chosen before it initialises);
        // libpng needs setjmp-based error handling, which only C can do; libjpeg-turbo through TurboJPEG.
        .target(name: "COpenBLAS", linkerSettings: [.linkedLibrary("dl")]),
        // Element-wise kernels, built for AVX-512 / AVX2 / baseline and chosen when loaded.
        .target(
            name: "CKernels",
            cSettings: [.unsafeFlags(["-O3", "-fno-math-errno", "-fassociative-math", "-fno-signed-zeros",
                                      "-fno-trapping-math", "-ffp-contract=fast"])]
        ),
        .target(name: "CPNG", linkerSettings: [.linkedLibrary("png16")]),
        .target(name: "CJPEG", linkerSettings: [.linkedLibrary("turbojpeg")]),
        .target(
            name: "Inference",
            dependencies: [
                "COpenBLAS", "CKernels", "CPNG", "CJPEG",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        .executableTarget(
            name: "labelmill",
            dependencies: [
                "Inference",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "InferenceTests",
            dependencies: ["Inference"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
