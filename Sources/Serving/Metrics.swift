import Synchronization

/// The server's counters and histograms, rendered in Prometheus' text format at `GET /metrics`.
///
/// Labels come from a fixed set (the routes the server knows, the statuses it sends), so a client cannot grow the
/// registry by asking for odd paths.
///
/// ```swift
/// let metrics = ServerMetrics()
/// metrics.recordRequest(endpoint: "/embed", status: 200, seconds: 0.004)
/// print(metrics.render(queueDepth: 0))
/// ```
public final class ServerMetrics: Sendable {
    /// Upper bounds of the latency and queue-time buckets, in seconds.
    static let secondBuckets: [Double] = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
    ]
    /// Upper bounds of the batch-size buckets (rows per forward pass).
    static let batchBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256]
    /// Upper bounds of the padded-tokens-per-batch buckets.
    static let tokenBuckets: [Double] = [16, 64, 256, 1024, 4096, 16384, 65536]

    struct Histogram {
        let bounds: [Double]
        var counts: [Int]
        var sum = 0.0
        var count = 0

        init(_ bounds: [Double]) {
            self.bounds = bounds
            counts = [Int](repeating: 0, count: bounds.count)
        }

        mutating func observe(_ value: Double) {
            for (index, bound) in bounds.enumerated() where value <= bound { counts[index] += 1 }
            sum += value
            count += 1
        }
    }

    struct State {
        var requests: [String: Int] = [:]  // "endpoint\u{0}status" → count
        var latency: [String: Histogram] = [:]
        var queueTime = Histogram(secondBuckets)
        var batchSize = Histogram(batchBuckets)
        var batchTokens = Histogram(tokenBuckets)
        var decodeRows = Histogram(batchBuckets)
        var promptTokens = 0
        var completionTokens = 0
        var inFlight = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Counts a finished request and its latency.
    public func recordRequest(endpoint: String, status: Int, seconds: Double) {
        state.withLock {
            $0.requests[endpoint + "\u{0}" + String(status), default: 0] += 1
            $0.latency[endpoint, default: Histogram(Self.secondBuckets)].observe(seconds)
        }
    }

    /// A request entered (+1) or left (−1) the server.
    func inFlight(_ change: Int) { state.withLock { $0.inFlight += change } }

    /// The requests being served now.
    public var inFlightCount: Int { state.withLock { $0.inFlight } }

    /// One forward pass: its rows, padded tokens, and how long each of its requests waited in the queue.
    func recordBatch(rows: Int, paddedTokens: Int, queueSeconds: [Double]) {
        state.withLock {
            $0.batchSize.observe(Double(rows))
            $0.batchTokens.observe(Double(paddedTokens))
            for seconds in queueSeconds { $0.queueTime.observe(seconds) }
        }
    }

    /// One decoding step of the running batch, with its rows (sequences).
    func recordDecodeStep(rows: Int) { state.withLock { $0.decodeRows.observe(Double(rows)) } }

    /// Tokens read (prompts, texts to embed or classify) and generated.
    func recordTokens(prompt: Int, completion: Int) {
        state.withLock {
            $0.promptTokens += prompt
            $0.completionTokens += completion
        }
    }

    /// The Prometheus exposition text; `queueDepth` is the work waiting for a worker now.
    public func render(queueDepth: Int, runningSequences: Int) -> String {
        let snapshot = state.withLock { $0 }
        var lines: [String] = []
        func header(_ name: String, _ type: String, _ help: String) {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) \(type)")
        }
        func histogram(_ name: String, _ labels: String, _ histogram: Histogram) {
            let prefix = labels.isEmpty ? "" : labels + ","
            for (bound, count) in zip(histogram.bounds, histogram.counts) {
                lines.append("\(name)_bucket{\(prefix)le=\"\(format(bound))\"} \(count)")
            }
            lines.append("\(name)_bucket{\(prefix)le=\"+Inf\"} \(histogram.count)")
            let braces = labels.isEmpty ? "" : "{\(labels)}"
            lines.append("\(name)_sum\(braces) \(format(histogram.sum))")
            lines.append("\(name)_count\(braces) \(histogram.count)")
        }
        header("hub_requests_total", "counter", "Requests answered, by endpoint and HTTP status.")
        for key in snapshot.requests.keys.sorted() {
            let parts = key.split(separator: "\u{0}", omittingEmptySubsequences: false)
            lines.append(
                "hub_requests_total{endpoint=\"\(parts[0])\",status=\"\(parts[1])\"} \(snapshot.requests[key] ?? 0)")
        }
        header("hub_request_duration_seconds", "histogram", "Time from the request's head to the response's end.")
        for (endpoint, latency) in snapshot.latency.sorted(by: { $0.key < $1.key }) {
            histogram("hub_request_duration_seconds", "endpoint=\"\(endpoint)\"", latency)
        }
        header("hub_queue_duration_seconds", "histogram", "Time an input waited for a forward pass.")
        histogram("hub_queue_duration_seconds", "", snapshot.queueTime)
        header("hub_batch_size", "histogram", "Rows per embedding or classification forward pass.")
        histogram("hub_batch_size", "", snapshot.batchSize)
        header("hub_batch_tokens", "histogram", "Padded tokens per embedding or classification forward pass.")
        histogram("hub_batch_tokens", "", snapshot.batchTokens)
        header("hub_decode_batch_size", "histogram", "Sequences per decoding step of a completion batch.")
        histogram("hub_decode_batch_size", "", snapshot.decodeRows)
        header("hub_tokens_total", "counter", "Tokens read from inputs and prompts, and tokens generated.")
        lines.append("hub_tokens_total{kind=\"input\"} \(snapshot.promptTokens)")
        lines.append("hub_tokens_total{kind=\"generated\"} \(snapshot.completionTokens)")
        header("hub_queue_depth", "gauge", "Inputs and prompts waiting for a worker.")
        lines.append("hub_queue_depth \(queueDepth)")
        header("hub_running_sequences", "gauge", "Sequences in the running generation batch.")
        lines.append("hub_running_sequences \(runningSequences)")
        header("hub_requests_in_flight", "gauge", "Requests being served.")
        lines.append("hub_requests_in_flight \(snapshot.inFlight)")
        return lines.joined(separator: "\n") + "\n"
    }

    private func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
