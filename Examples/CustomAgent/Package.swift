// swift-tools-version:5.9
// A package of your own that depends on MicroscopeGym and brings its own agent. Outside this repository, replace
// the path by the repository's URL and a version:
//     .package(url: "https://github.com/<owner>/MicroscopeGym", from: "0.1.0")
import PackageDescription

let package = Package(
    name: "CustomAgent",
    dependencies: [
        .package(name: "MicroscopeGym", path: "../..")
    ],
    targets: [
        .executableTarget(
            name: "CustomAgent",
            dependencies: [
                .product(name: "MicroscopeGym", package: "MicroscopeGym"),
                .product(name: "LeonardoSim", package: "MicroscopeGym"),
            ],
            path: "Sources/CustomAgent")
    ]
)
