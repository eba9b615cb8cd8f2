#!/usr/bin/env python3
"""GPT-2's real tokenizer (50,257 tokens), rebuilt from the copy of its ranks that ships on PyPI inside
openai-whisper's source archive (whisper/assets/gpt2.tiktoken: a base64 token and its rank per line; the ranks are
GPT-2's ids). Standard library only, so `make gpt2` runs it with any python3:

  python3 Tests/Fixtures/make_gpt2_tokenizer.py OUT_DIR [--archive openai_whisper-….tar.gz]

Without --archive it fetches the archive with `pip download` (no dependencies, nothing installed). OUT_DIR gets
vocab.json, merges.txt, tokenizer.json (laid out as tokenizers' `save` writes it: two-space indents, merges as
pairs), tokenizer_config.json and config.json, so the folder loads as a model folder too.

The merges: tokens 0–255 are the bytes; every later token is made by one merge, the pair BPE joins last when it
encodes the token's bytes with the lower-ranked tokens only (a merge's rank is its token's id − 256, as in GPT-2's
own merges.txt). Checked before writing: "Hello world" → [15496, 995], " Hello world" → [18435, 995].
"""
import argparse
import base64
import glob
import json
import os
import subprocess
import sys
import tarfile
import tempfile

ASSET = "whisper/assets/gpt2.tiktoken"
VERSION = "20250625"  # any release carries the same file; pinned so every machine builds the same folder


def bytes_to_unicode():
    """GPT-2's byte → printable character table (`Ġ` for the space, `Ċ` for the newline)."""
    printable = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(256 + extra)
            extra += 1
    return table


def read_ranks(archive):
    with tarfile.open(archive) as tar:
        member = next((m for m in tar.getmembers() if m.name.endswith(ASSET)), None)
        if member is None:
            raise SystemExit(f"{archive} has no {ASSET}")
        text = tar.extractfile(member).read().decode("ascii")
    ranks = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line:
            continue
        token, rank = line.split(" ")
        ranks[base64.b64decode(token)] = int(rank)
    if sorted(ranks.values()) != list(range(len(ranks))):
        raise SystemExit(f"{ASSET}: the ranks are not 0..{len(ranks) - 1}")
    return ranks


def last_merge(token, ranks):
    """The two parts BPE joins last when it builds `token` from its bytes with lower-ranked tokens only: repeatedly
    join the adjacent pair whose concatenation has the lowest rank (below the token's own)."""
    limit = ranks[token]
    parts = [bytes([b]) for b in token]
    while len(parts) > 2:
        best, at = None, None
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and rank < limit and (best is None or rank < best):
                best, at = rank, i
        if best is None:
            break
        parts[at:at + 2] = [parts[at] + parts[at + 1]]
    if len(parts) != 2 or parts[0] + parts[1] != token:
        raise SystemExit(f"token {limit} ({token!r}) is not one merge of lower-ranked tokens: {parts!r}")
    return parts


def encode(text, vocab, merge_ranks, byte_char):
    """A plain BPE of one pre-split word, for the self-check."""
    symbols = [byte_char[b] for b in text.encode("utf-8")]
    while len(symbols) > 1:
        pairs = [(merge_ranks.get((symbols[i], symbols[i + 1])), i) for i in range(len(symbols) - 1)]
        ranked = [p for p in pairs if p[0] is not None]
        if not ranked:
            break
        _, i = min(ranked)
        symbols[i:i + 2] = [symbols[i] + symbols[i + 1]]
    return [vocab[s] for s in symbols]


def fetch_archive(folder):
    # A source archive only: pip prepares its metadata in an isolated build environment (setuptools from PyPI).
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                    "openai-whisper==" + VERSION, "-d", folder], check=True)
    found = glob.glob(os.path.join(folder, "openai_whisper-*.tar.gz")) + glob.glob(
        os.path.join(folder, "openai-whisper-*.tar.gz"))
    if not found:
        raise SystemExit("pip downloaded no openai-whisper source archive")
    return found[0]


def write_atomically(path, text):
    temporary = path + ".tmp-" + str(os.getpid())
    with open(temporary, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(temporary, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out")
    parser.add_argument("--archive", help="openai-whisper's source archive (else pip downloads it)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    archive = args.archive
    with tempfile.TemporaryDirectory() as scratch:
        if archive is None:
            archive = fetch_archive(scratch)
        ranks = read_ranks(archive)
    byte_char = bytes_to_unicode()

    def as_text(token):
        return "".join(byte_char[b] for b in token)

    ordered = sorted(ranks, key=ranks.get)
    if any(len(ordered[i]) != 1 for i in range(256)):
        raise SystemExit("the first 256 ranks are not the single bytes")
    vocab = {as_text(token): ranks[token] for token in ordered}
    vocab["<|endoftext|>"] = len(vocab)
    merges = [tuple(as_text(part) for part in last_merge(token, ranks)) for token in ordered[256:]]
    merge_ranks = {pair: rank for rank, pair in enumerate(merges)}
    for text, want in [("Hello", [15496]), (" world", [995]), (" Hello", [18435])]:
        got = encode(text, vocab, merge_ranks, byte_char)
        if got != want:
            raise SystemExit(f"self-check failed: {text!r} → {got}, not {want}")

    write_atomically(os.path.join(args.out, "vocab.json"), json.dumps(vocab, ensure_ascii=False))
    write_atomically(os.path.join(args.out, "merges.txt"),
                     "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": 50256, "content": "<|endoftext|>", "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": True, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [list(pair) for pair in merges]},
    }
    write_atomically(os.path.join(args.out, "tokenizer.json"), json.dumps(tokenizer, ensure_ascii=False, indent=2))
    write_atomically(os.path.join(args.out, "tokenizer_config.json"),
                     json.dumps({"tokenizer_class": "GPT2Tokenizer", "model_max_length": 1024,
                                 "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
                                 "unk_token": "<|endoftext|>"}, indent=2))
    write_atomically(os.path.join(args.out, "config.json"),
                     json.dumps({"model_type": "gpt2", "vocab_size": len(vocab)}, indent=2))
    size = os.path.getsize(os.path.join(args.out, "tokenizer.json"))
    print(f"{args.out}: {len(vocab)} tokens, {len(merges)} merges; tokenizer.json {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
