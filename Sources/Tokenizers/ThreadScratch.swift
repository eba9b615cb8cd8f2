#if canImport(Glibc)
    import Glibc
#endif

/// One thread's working memory for encoding: buffers reused from text to text (a text then allocates only the arrays
/// of its `Encoding`) and that thread's BPE word caches, so threads encoding at once share nothing they write — no
/// lock, no reference count, no cache line passed back and forth between cores.
final class ThreadScratch {
    var buffers = Tokenizer.Buffers()
    var first = Tokenizer.Pieces()
    var second = Tokenizer.Pieces()
    /// Set while an encoding uses this scratch (a nested use gets a fresh one).
    private var busy = false

    /// Runs `body` with this thread's scratch.
    static func using<Result>(_ body: (ThreadScratch) -> Result) -> Result {
        let scratch = current
        guard !scratch.busy else { return body(ThreadScratch()) }
        scratch.busy = true
        defer { scratch.busy = false }
        return body(scratch)
    }

    private static var current: ThreadScratch {
        if let raw = pthread_getspecific(key) { return Unmanaged<ThreadScratch>.fromOpaque(raw).takeUnretainedValue() }
        let scratch = ThreadScratch()
        pthread_setspecific(key, Unmanaged.passRetained(scratch).toOpaque())
        return scratch
    }

    /// The thread-specific slot; its destructor releases a thread's scratch when the thread ends.
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { raw in
            if let raw { Unmanaged<ThreadScratch>.fromOpaque(raw).release() }
        }
        return key
    }()
}

extension Tokenizer.Buffers {
    /// How many models' word caches one thread keeps; the oldest goes when another is needed.
    static let cachedModels = 4

    /// This thread's word cache for the BPE model with `identity`.
    mutating func wordCache(for identity: UInt64) -> WordCache {
        if let found = wordCaches.first(where: { $0.model == identity }) { return found.cache }
        if wordCaches.count == Self.cachedModels { wordCaches.removeFirst() }
        let cache = WordCache()
        wordCaches.append((identity, cache))
        return cache
    }
}
