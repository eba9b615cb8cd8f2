"""Hugging Face tokenizers on the same corpus, single-threaded (TokenizersBench runs it): one line per tokenizer,
`path<TAB>MB/s<TAB>tokens`, best of 3, encoding line by line as the Swift side does."""
import os
import sys
import time

os.environ["RAYON_NUM_THREADS"] = "1"
from tokenizers import Tokenizer  # noqa: E402

corpus = open(sys.argv[1], encoding="utf-8").read()
lines = corpus.split("\n")
size = len(corpus.encode("utf-8")) + 1
for path in sys.argv[2:]:
    tokenizer = Tokenizer.from_file(path)
    tokenizer.no_truncation()
    tokenizer.no_padding()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        tokens = sum(len(tokenizer.encode(line)) for line in lines)
        best = min(best, time.perf_counter() - start)
    print(f"{path}\t{size / best / 1e6:.3f}\t{tokens}")
