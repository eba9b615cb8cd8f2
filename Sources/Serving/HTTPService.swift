import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// The HTTP stack `hub serve` and `hub mirror` share: a Hummingbird router on HOST:PORT (HTTP/1.1, idle connections
/// closed), run until SIGTERM or SIGINT (or `stop()`), then a graceful shutdown — no new connections, requests in
/// flight finish within `shutdownTimeoutSeconds`.
final class HTTPService: Sendable {
    private let shutdown = Mutex<(group: ServiceGroup?, requested: Bool)>((nil, false))

    init() {}

    func run(
        router: Router<BasicRequestContext>, host: String, port: Int, idleTimeoutSeconds: Int,
        shutdownTimeoutSeconds: Int, label: String, onListening: @escaping @Sendable (String, Int) -> Void
    ) async throws {
        var logger = Logger(label: label)
        logger.logLevel = .warning
        let app = Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: .seconds(Int64(idleTimeoutSeconds)))),
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in onListening(host, channel.localAddress?.port ?? port) },
            logger: logger)
        var configuration = ServiceGroupConfiguration(
            services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(Int64(shutdownTimeoutSeconds))
        let group = ServiceGroup(configuration: configuration)
        let stopNow = shutdown.withLock { state -> Bool in
            state.group = group
            return state.requested
        }
        if stopNow { await group.triggerGracefulShutdown() }
        try await group.run()
    }

    /// Begins the graceful shutdown, as SIGTERM does (before `run`, `run` returns at once).
    func stop() async {
        let group = shutdown.withLock { state -> ServiceGroup? in
            state.requested = true
            return state.group
        }
        await group?.triggerGracefulShutdown()
    }
}
