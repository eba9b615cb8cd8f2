// swift-tools-version:5.4
// libFuzzer harnesses for every parser in Formats, for config.json, for tokenizer files, for sentence-transformers'
// module files and for `hub serve`'s requests, kept out of the main package so its tests are not built with -sanitize=fuzzer. Tools version 5.4 on purpose: with ≥ 5.5, -parse-as-library executables fail to link
// (docs/ARCHITECTURE.md, defences: fuzzing). Build and run with ./run.sh (or `make fuzz` at the root).
import PackageDescription

let harnesses = [
    "FuzzSafeTensors", "FuzzTorch", "FuzzMHub", "FuzzJSON", "FuzzConfig", "FuzzTokenizer", "FuzzServe",
    "FuzzSentenceModules",
]

let package = Package(
    name: "FuzzTesting",
    dependencies: [.package(name: "ModelHub", path: "../..")],
    targets: [
        .target(
            name: "FuzzCommon",
            dependencies: [
                .product(name: "ModelHub", package: "ModelHub"), .product(name: "Serving", package: "ModelHub"),
            ])
    ] + harnesses.map { .executableTarget(name: $0, dependencies: ["FuzzCommon"]) }
)
