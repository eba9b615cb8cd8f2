"""Hugging Face tokenizers beside ModelHub's TokenizersBench, single-threaded (RAYON_NUM_THREADS=1), three ways:

  peer_tokenizers.py CORPUS TOKENIZER...     encoding alone, line by line, best of 3:
                                             `path<TAB>MB/s<TAB>tokens` per tokenizer
  peer_tokenizers.py --load PATH...          per path (a tokenizer.json, or FOLDER/vocab.json+merges.txt):
                                             `path<TAB>first load ms<TAB>median of 5 more ms<TAB>resident MB added`,
                                             after loading two small tokenizers once (the library's first-use
                                             pages are not the tokenizer's memory)
  peer_tokenizers.py --whole TOKENIZER CORPUS  what a user's script does: load, encode every line, exit (the
                                             caller times the whole process)
"""
import os
import statistics
import sys
import time

os.environ["RAYON_NUM_THREADS"] = "1"
from tokenizers import Tokenizer  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SUFFIX = "/vocab.json+merges.txt"


def load(path):
    if path.endswith(SUFFIX):
        # GPT-2's two files, as transformers' converter assembles the fast tokenizer from them.
        from tokenizers import decoders, models, pre_tokenizers, processors
        folder = path[: -len(SUFFIX)]
        tokenizer = Tokenizer(models.BPE.from_file(folder + "/vocab.json", folder + "/merges.txt"))
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
        return tokenizer
    tokenizer = Tokenizer.from_file(path)
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def resident():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def lines_of(path):
    corpus = open(path, encoding="utf-8").read()
    return corpus.split("\n"), len(corpus.encode("utf-8"))


if sys.argv[1] == "--load":
    fixtures = os.path.join(os.path.dirname(HERE), "Tests", "Fixtures", "tokenizers")
    for warm in ("gpt2-bpe", "cased-wordpiece"):
        load(os.path.join(fixtures, warm, "tokenizer.json")).encode("warm up")
    for path in sys.argv[2:]:
        before = resident()
        start = time.perf_counter()
        kept = load(path)
        first = time.perf_counter() - start
        added = resident() - before
        times = []
        for _ in range(5):
            start = time.perf_counter()
            load(path)
            times.append(time.perf_counter() - start)
        print(f"{path}\t{first * 1e3:.1f}\t{statistics.median(times) * 1e3:.1f}\t{added / 1e6:.1f}")
elif sys.argv[1] == "--whole":
    tokenizer = load(sys.argv[2])
    lines, _ = lines_of(sys.argv[3])
    tokens = sum(len(tokenizer.encode(line)) for line in lines)
    print(f"tokens\t{tokens}")
else:
    lines, size = lines_of(sys.argv[1])
    for path in sys.argv[2:]:
        tokenizer = load(path)
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            tokens = sum(len(tokenizer.encode(line)) for line in lines)
            best = min(best, time.perf_counter() - start)
        print(f"{path}\t{size / best / 1e6:.3f}\t{tokens}")
