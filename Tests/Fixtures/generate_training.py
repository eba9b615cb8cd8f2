#!/usr/bin/env python3
"""Reference for the vocabulary builder: torchtext's `basic_english` tokenizer and `build_vocab_from_iterator` order,
reproduced from torchtext 0.18's source (torchtext/data/utils.py `_basic_english_normalize`, torchtext/vocab/
vocab_factory.py) since torchtext no longer installs beside current torch, on the Debian descriptions.

    python3 Tests/Fixtures/generate_training.py      (standard library only)

Writes Tests/Fixtures/training/vocabulary.json: the tokens of 40 descriptions and the first 200 words of the
vocabulary built from all of them (specials <unk>, <pad>; min_freq 2)."""
import collections
import csv
import json
import os
import re

ROOT = os.path.dirname(os.path.abspath(__file__))

# torchtext/data/utils.py
_patterns = [r"\'", r"\"", r"\.", r"<br \/>", r",", r"\(", r"\)", r"\!", r"\?", r"\;", r"\:", r"\s+"]
_replacements = [" '  ", "", " . ", " ", " , ", " ( ", " ) ", " ! ", " ? ", " ", " ", " "]
_patterns_dict = list((re.compile(p), r) for p, r in zip(_patterns, _replacements))


def _basic_english_normalize(line):
    line = line.lower()
    for pattern_re, replaced_str in _patterns_dict:
        line = pattern_re.sub(replaced_str, line)
    return line.split()


# torchtext/vocab/vocab_factory.py build_vocab_from_iterator (specials first, special_first=True)
def build_vocab(iterator, min_freq, specials):
    counter = collections.Counter()
    for tokens in iterator:
        counter.update(tokens)
    specials = specials or []
    for tok in specials:
        del counter[tok]
    sorted_by_freq_tuples = sorted(counter.items(), key=lambda x: x[0])
    sorted_by_freq_tuples.sort(key=lambda x: x[1], reverse=True)
    ordered = [t for t, f in sorted_by_freq_tuples if f >= min_freq]
    return specials + ordered


texts = [row["text"] for row in csv.DictReader(open(os.path.join(ROOT, "training", "debian.csv")))]
texts += ["Don't stop: it's \"quoted\"; <br />and (parenthesised)! Really? Yes.", "  MiXeD   Case\ttabs\nnewline  "]
vocabulary = build_vocab(map(_basic_english_normalize, texts), 2, ["<unk>", "<pad>"])
with open(os.path.join(ROOT, "training", "vocabulary.json"), "w") as f:
    json.dump({"texts": texts[:40] + texts[-2:], "tokens": [_basic_english_normalize(t) for t in texts[:40] + texts[-2:]],
               "size": len(vocabulary), "words": vocabulary[:200]}, f, ensure_ascii=False)
print(len(vocabulary), "words")
