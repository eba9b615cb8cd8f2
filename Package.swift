// swift-tools-version:6.1
// ModelHub: pretrained transformers from a name to working Swift code, on Linux, on the CPU.
// Layout and module boundaries: docs/ARCHITECTURE.md. Dependency direction:
// Support ◀ {Tensors, Formats, Tokenizers, Hub, Collectives}; Tensors ◀ NN ◀ Models ◀ Training ◀ ModelHub ◀ HubCLI;
// Collectives ◀ Training; Models ◀ Serving ◀ HubCLI; Formats, Tokenizers and Hub know nothing of models, nor of
// each other.
import PackageDescription

// MARK: - System libraries (Debian's -dev packages; `make deps` installs them)

let systemLibraries: [Target] = [
    .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
    .systemLibrary(name: "CZstd", path: "Sources/CZstd"),
    .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
    // libcrypto for SHA-256 (SHA-NI where the CPU has it): provenance hashes and download checks.
    .systemLibrary(name: "CCrypto", path: "Sources/CCrypto"),
    // A C target rather than a bare module map: curl_easy_setopt is variadic and Swift cannot call it.
    .target(name: "CCurl", path: "Sources/CCurl", linkerSettings: [.linkedLibrary("curl")]),
    // Vectorized float32 kernels (GELU, softmax) in C: plain loops over polynomial exp/erf, built for AVX-512, AVX2
    // and baseline x86-64 and picked at run time — Swift SIMD needs a target-CPU flag to vectorize these.
    .target(name: "CKernels", path: "Sources/CKernels"),
    // Open MPI (libopenmpi-dev): its include path from pkg-config; shim.h turns its handle macros into functions.
    .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c"),
]

// MARK: - Library modules

let modules: [Target] = [
    // The ground floor: strict JSON, bounded file reads, atomic files, mapped files, checksums, the f16/bf16
    // conversion. No checkpoint formats, no tensors.
    .target(name: "Support", dependencies: ["CCrypto"]),
    .target(name: "Tensors", dependencies: ["Support", "CBLAS", "CKernels"]),
    .target(name: "NN", dependencies: ["Tensors", "CKernels"]),
    .target(name: "Formats", dependencies: ["Support", "CZstd"]),
    .target(name: "Tokenizers", dependencies: ["Support"]),
    .target(name: "Hub", dependencies: ["Support", "CCurl", "CSQLite"]),
    .target(name: "Models", dependencies: ["NN", "Formats", "Tokenizers", "Hub"]),
    // Datasets, collators, the Trainer and its checkpoints: over Models, which knows nothing of training.
    .target(
        name: "Training", dependencies: ["Models", "NN", "Formats", "Tokenizers", "Tensors", "Collectives", "CKernels"]),
    // Processes working as one (MPI): rank, size, allreduce, broadcast, barrier, abort; one process without mpirun.
    .target(name: "Collectives", dependencies: ["CMPI", "Support"]),
    // The umbrella users import: only `@_exported import`s.
    .target(
        name: "ModelHub",
        dependencies: [
            "Support", "Tensors", "NN", "Formats", "Tokenizers", "Hub", "Models", "Training", "Collectives",
        ]),
    .target(name: "TestSupport", dependencies: ["Support", "Tensors"]),
    // `hub serve`: the OpenAI and text-embeddings-inference APIs over Hummingbird 2 (SwiftNIO), batching and limits.
    .target(
        name: "Serving",
        dependencies: [
            "Hub", "Models", "Support", "Tensors", "Tokenizers", .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ]
    ),
]

// MARK: - The `hub` command

let cli: [Target] = [
    .executableTarget(
        name: "HubCLI",
        dependencies: ["ModelHub", "Serving", .product(name: "ArgumentParser", package: "swift-argument-parser")]
    )
]

// MARK: - Benchmarks (`make bench`, always -c release)

let benchmarks: [Target] = [
    .executableTarget(name: "FormatsBench", dependencies: ["Formats", "TestSupport"], path: "Benchmarks/FormatsBench"),
    .executableTarget(name: "HubBench", dependencies: ["Hub", "Serving", "TestSupport"], path: "Benchmarks/HubBench"),
    .executableTarget(
        name: "ModelsBench",
        dependencies: ["Collectives", "Formats", "Models", "NN", "Tensors", "TestSupport", "Training"],
        path: "Benchmarks/ModelsBench"),
    .executableTarget(name: "ServeBench", dependencies: ["TestSupport"], path: "Benchmarks/ServeBench"),
    .executableTarget(
        name: "TensorsBench", dependencies: ["Tensors", "NN", "CBLAS", "TestSupport"], path: "Benchmarks/TensorsBench"),
    .executableTarget(
        name: "TokenizersBench", dependencies: ["Tokenizers", "TestSupport"], path: "Benchmarks/TokenizersBench"),
]

// MARK: - Examples (`swift run -c release SentenceSimilarity`, … `TextGeneration`, `TextClassification`, `LSTMClassifier`)

let examples: [Target] = [
    .executableTarget(name: "SentenceSimilarity", dependencies: ["ModelHub"], path: "Examples/SentenceSimilarity"),
    .executableTarget(name: "TextGeneration", dependencies: ["ModelHub"], path: "Examples/TextGeneration"),
    .executableTarget(name: "TextClassification", dependencies: ["ModelHub"], path: "Examples/TextClassification"),
    .executableTarget(name: "LSTMClassifier", dependencies: ["ModelHub"], path: "Examples/LSTMClassifier"),
]

// MARK: - Tests (one target per module)

let tests: [Target] = [
    .testTarget(name: "SupportTests", dependencies: ["Support", "TestSupport"]),
    .testTarget(name: "TensorsTests", dependencies: ["Support", "Tensors", "TestSupport"]),
    .testTarget(name: "NNTests", dependencies: ["Support", "NN", "TestSupport"]),
    .testTarget(name: "HubTests", dependencies: ["Support", "Hub", "TestSupport"]),
    .testTarget(name: "TokenizersTests", dependencies: ["Support", "Tokenizers", "TestSupport"]),
    .testTarget(name: "ModelsTests", dependencies: ["Support", "Models", "TestSupport"]),
    .testTarget(name: "TrainingTests", dependencies: ["Support", "Training", "Models", "TestSupport"]),
    // CollectivesTests runs MPIProbe (a rank) under a real mpirun.
    .executableTarget(name: "MPIProbe", dependencies: ["Collectives"], path: "Tests/MPIProbe"),
    .testTarget(name: "CollectivesTests", dependencies: ["Collectives", "Support", "TestSupport"]),
    .testTarget(name: "FormatsTests", dependencies: ["Support", "Formats", "TestSupport"]),
    // Runs the built `hub` binary as a user would; depending on HubCLI makes `swift test` build it.
    .testTarget(name: "ServingTests", dependencies: ["Serving", "Models", "Support", "TestSupport"]),
    .testTarget(name: "HubCLITests", dependencies: ["HubCLI", "Support", "Formats", "Models", "TestSupport"]),
]

let package = Package(
    name: "ModelHub",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "ModelHub", targets: ["ModelHub"]),
        // The HTTP server behind `hub serve`, for programs that embed it (ModelServer).
        .library(name: "Serving", targets: ["Serving"]),
        .executable(name: "hub", targets: ["HubCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // No traits: swift-configuration support and full Foundation are not needed, and cost build time.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        // Already in Hummingbird's graph; named for the signal-driven graceful shutdown, NIO's body-size error and
        // the Hub's own header names (HTTPField).
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: systemLibraries + modules + cli + benchmarks + examples + tests
)
