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

    /// This thread's scratch, marked in use until `release()`; a fresh one if it is in use already.
    ///
    /// A pair of calls rather than a closure: a closure would capture the tokenizer, and copying it retains every
    /// array it holds — atomic writes to memory every thread reads, which is what kept two cores from scaling.
    static func acquire() -> ThreadScratch {
        let scratch = current
        guard !scratch.busy else { return ThreadScratch() }
        scratch.busy = true
        return scratch
    }

    func release() { busy = false }

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
    /// How many other models' word caches one thread keeps; the oldest goes when another is needed.
    static let cachedModels = 4

    /// Makes `wordCache` the cache of the BPE or Unigram model with `identity` (models are numbered from 1), putting
    /// the one it held back among the others.
    mutating func selectWordCache(for identity: UInt64) {
        guard wordCacheModel != identity else { return }
        if wordCacheModel != 0 {
            if wordCaches.count == Self.cachedModels { wordCaches.removeFirst() }
            wordCaches.append((wordCacheModel, wordCache))
        }
        if let index = wordCaches.firstIndex(where: { $0.model == identity }) {
            wordCache = wordCaches.remove(at: index).cache
        } else {
            wordCache = WordCache()
        }
        wordCacheModel = identity
    }
}

/// A subword model as the encoding loop calls it: one word's pieces into `buffers.pieces`.
protocol WordModel {
    func tokenize(_ word: UnsafeBufferPointer<UInt32>, buffers: inout Tokenizer.Buffers)
}

extension Unigram: WordModel {
    /// With `buffers.wordCache`, which `selectWordCache(for:)` made this model's: words repeat, and most of a
    /// text's words then skip the Viterbi search.
    func tokenize(_ word: UnsafeBufferPointer<UInt32>, buffers: inout Tokenizer.Buffers) {
        if buffers.wordCache.lookup(word, into: &buffers.pieces) { return }
        let first = buffers.pieces.count
        tokenize(word, into: &buffers.pieces, scratch: &buffers.unigram)
        let found = Array(buffers.pieces[first...])
        buffers.wordCache.store(word, found)
    }
}

extension WordPiece: WordModel {
    func tokenize(_ word: UnsafeBufferPointer<UInt32>, buffers: inout Tokenizer.Buffers) {
        tokenize(word, into: &buffers.pieces, scratch: &buffers.wordPiece)
    }
}

extension BPE: WordModel {
    /// With `buffers.wordCache`, which `selectWordCache(for:)` made this model's.
    func tokenize(_ word: UnsafeBufferPointer<UInt32>, buffers: inout Tokenizer.Buffers) {
        tokenize(word, into: &buffers.pieces, cache: &buffers.wordCache)
    }
}

extension WordLevel: WordModel {
    func tokenize(_ word: UnsafeBufferPointer<UInt32>, buffers: inout Tokenizer.Buffers) {
        tokenize(word, into: &buffers.pieces, bytes: &buffers.wordPiece.utf8)
    }
}
