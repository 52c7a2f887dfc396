// swift-tools-version:5.9
import PackageDescription

let package = Package(
    name: "MicroscopeGym",
    products: [
        .library(name: "LeonardoSim", targets: ["LeonardoSim"]),
        .library(name: "MicroscopeGym", targets: ["MicroscopeGym"]),
        .library(name: "Agents", targets: ["Agents"]),
        // The C ABI over MicroscopeGym (libMicroscopeGymC.so), loaded by the Python package in python/.
        .library(name: "MicroscopeGymC", type: .dynamic, targets: ["MicroscopeGymC"]),
        .executable(name: "gym-runner", targets: ["GymRunner"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries, found through pkg-config (Debian: libopenblas-dev, libhdf5-dev).
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5",
                       providers: [.apt(["libhdf5-dev"])]),
        // HDF5's type ids (H5T_NATIVE_FLOAT, H5P_DEFAULT, ...) are C macros over globals; this shim exposes them.
        .target(name: "HDF5Support", dependencies: ["CHDF5"], path: "Sources/HDF5Support"),
        // Hand-written SIMD kernels for decoder inference, chosen at run time by CPU (AVX-512F, AVX2+FMA, plain C).
        .target(name: "LeonardoKernels", path: "Sources/LeonardoKernels"),
        .target(name: "LeonardoSim", dependencies: ["CBLAS", "CHDF5", "HDF5Support", "LeonardoKernels"],
                path: "Sources/LeonardoSim"),
        .target(name: "MicroscopeGym", dependencies: ["LeonardoSim"], path: "Sources/MicroscopeGym"),
        .target(name: "Agents", dependencies: ["LeonardoSim", "MicroscopeGym"], path: "Sources/Agents"),
        .target(name: "MicroscopeGymC", dependencies: ["LeonardoSim", "MicroscopeGym", "Agents"], path: "Sources/MicroscopeGymC",
                exclude: ["microscope_gym.h"]),
        .executableTarget(name: "GymRunner",
                          dependencies: ["LeonardoSim", "MicroscopeGym", "Agents",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "Sources/GymRunner"),
        .testTarget(name: "LeonardoSimTests", dependencies: ["LeonardoSim"],
                    path: "Tests/LeonardoSimTests", resources: [.copy("Fixtures")]),
        .testTarget(name: "AgentsTests", dependencies: ["Agents", "MicroscopeGym", "LeonardoSim"], path: "Tests/AgentsTests"),
        .testTarget(name: "MicroscopeGymTests", dependencies: ["MicroscopeGym", "LeonardoSim"], path: "Tests/MicroscopeGymTests"),
        // Uses only the public API (no @testable): a custom agent and a toy environment from outside the module.
        .testTarget(name: "ExternalAgentTests", dependencies: ["Agents", "MicroscopeGym", "LeonardoSim"], path: "Tests/ExternalAgentTests"),
        // Runs the built gym-runner binary: bad input gives one clear line and a non-zero exit.
        .testTarget(name: "GymRunnerTests", dependencies: ["GymRunner", "LeonardoSim"], path: "Tests/GymRunnerTests"),
    ]
)
