// swift-tools-version:6.1
// gridtop: a terminal dashboard for electricity-grid control rooms on consortium blockchains.
//
// Layers (one direction, see docs/architecture.md):
//   ChainCore (pure: hex, JSON, Keccak-256, RLP, ABI, headers)
//   GridCore  (pure: assets, topology, schema v1 events, interval balances)
//   LedgerClient (I/O: JSON-RPC over WebSocket to ledger nodes) ──LedgerUpdate──▶
//   Alerts (detectors, alarm book), AlarmJournal (SQLite)
//   ControlRoom (the application core: one input stream → monitor → journal → sink and display)
//     ──state──▶ OperatorTUI (ScreenData → cell buffer → ncursesw)
//   GridSimulator (the embedded simulated network, served over real WebSockets)
//   SiteConfig (the site's config.toml: nodes, metering contracts, journal, operator, theme)
//   gridtop (thin executable: argument parsing and wiring of front ends over ControlRoom)
import PackageDescription

let package = Package(
    name: "gridtop",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "gridtop", targets: ["gridtop"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket.git", from: "1.6.2"),
    ],
    targets: [
        .target(name: "ChainCore"),
        .target(name: "GridCore", dependencies: ["ChainCore"]),
        .target(
            name: "LedgerClient",
            dependencies: [
                "ChainCore", "GridCore",
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                // For `wss://` to an IP address (`IPAddressWebSocket`): the WebSocket handler itself.
                .product(name: "WSCore", package: "swift-websocket"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "GridSimulator",
            dependencies: [
                "ChainCore", "GridCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        .target(name: "Alerts", dependencies: ["ChainCore", "GridCore"]),
        .target(
            name: "SiteConfig",
            dependencies: ["ChainCore", "LedgerClient", .product(name: "TOMLKit", package: "TOMLKit")]
        ),
        .target(
            name: "AlarmJournal",
            dependencies: ["ChainCore", "GridCore", "Alerts", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .systemLibrary(
            name: "CNcursesw",
            pkgConfig: "ncursesw",
            providers: [.apt(["libncursesw5-dev"])]
        ),
        .target(name: "OperatorTUI", dependencies: ["CNcursesw", "ChainCore", "GridCore", "Alerts"]),
        .target(name: "ControlRoom", dependencies: ["ChainCore", "GridCore", "LedgerClient", "Alerts", "AlarmJournal"]),
        .executableTarget(
            name: "gridtop",
            dependencies: [
                "ChainCore", "GridCore", "LedgerClient", "GridSimulator", "Alerts", "AlarmJournal", "ControlRoom", "OperatorTUI", "SiteConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "GridtopBench",
            dependencies: [
                "LedgerClient", "GridSimulator", "OperatorTUI", "Alerts", "AlarmJournal",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "DetectionReport", dependencies: ["GridCore", "GridSimulator", "Alerts"]),
        // A throwaway PKI (openssl) and a TLS front for the TLS tests of two test targets.
        .target(
            name: "TLSTestSupport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Tests/TLSTestSupport"
        ),
        .testTarget(name: "ChainCoreTests", dependencies: ["ChainCore"], resources: [.copy("Fixtures")]),
        .testTarget(name: "GridCoreTests", dependencies: ["GridCore"]),
        .testTarget(
            name: "LedgerClientTests",
            dependencies: [
                "LedgerClient", "GridSimulator", "TLSTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "GridSimulatorTests",
            dependencies: [
                "GridSimulator",
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ]
        ),
        .testTarget(name: "AlertsTests", dependencies: ["Alerts"]),
        .testTarget(name: "ControlRoomTests", dependencies: ["ControlRoom", "AlarmJournal", "Alerts", "GridCore", "ChainCore"]),
        .testTarget(name: "SiteConfigTests", dependencies: ["SiteConfig", "LedgerClient"]),
        .testTarget(name: "AlarmJournalTests", dependencies: ["AlarmJournal", "gridtop"]),
        .testTarget(name: "OperatorTUITests", dependencies: ["OperatorTUI"], exclude: ["Golden"]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "gridtop", "TLSTestSupport",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
    ]
)
