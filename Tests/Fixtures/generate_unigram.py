#!/usr/bin/env python3
"""The SentencePiece family's tokenizer fixtures, from `tokenizers`, `sentencepiece` and transformers' own converter
(the reference venv plus `pip install sentencepiece protobuf`):

  /tmp/ref/bin/python Tests/Fixtures/generate_unigram.py [--retrain]

Reads Tests/Fixtures/tokenizers/corpus.json (generate_tokenizers.py) and writes under Tests/Fixtures/tokenizers/:
- xlmr-spm/: a SentencePiece Unigram model trained here with `sentencepiece` (nmt_nfkc normalization, 4,000
  pieces) as XLM-RoBERTa ships one (sentencepiece.bpe.model + tokenizer_config.json), and the tokenizer.json that
  transformers 5 converts it to (`from_pretrained` on the folder): Precompiled (the real charsmap) + Replace,
  WhitespaceSplit + Metaspace, Unigram, `<s> A </s></s> B </s>`, Metaspace decoder.
- xlmr-legacy/tokenizer.json: the same tokenizer in the layout most Hub repositories carry (tokenizers 0.13-era:
  Metaspace alone, with `add_prefix_space`, no WhitespaceSplit).
- unigram-trained/tokenizer.json: a Unigram trained by `tokenizers` on the Debian text, with byte fallback (the 256
  `<0xXX>` pieces), NFKC + Lowercase + Replace + Strip, Metaspace (prepend_scheme "first", split) and Llama's
  decoder chain (Replace ▁, ByteFallback, Fuse, Strip).
- Sources/Tokenizers/UnicodeCompositions.swift: Unicode's primary composites (canonical pairs that NFC
  recomposes, Hangul aside), from Python's unicodedata: Foundation on Linux does not compose starter pairs.
- unigram-tiny/tokenizer.json: 40 hand-picked pieces with every part above in 2 kB (FuzzTokenizer's seed).
- reference-unigram.json: for each, what `tokenizers` gives on every corpus line (every 8th for the tiny one) alone
  and every 16th pair (ids, type
  ids, offsets in code points, special-token mask, decode with and without special tokens).
"""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

import sentencepiece
import transformers
import unicodedata
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

ROOT = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(ROOT, "tokenizers")
random.seed(20261207)
# Training is not deterministic (sentencepiece's and tokenizers' trainers): the committed tokenizers are kept and
# only the references are rewritten, unless --retrain.
RETRAIN = "--retrain" in sys.argv


def encodings(tokenizer, lines, step=1):
    def record(encoding):
        return {"ids": encoding.ids, "type_ids": encoding.type_ids,
                "offsets": [x for pair in encoding.offsets for x in pair],
                "special": encoding.special_tokens_mask,
                "decoded": tokenizer.decode(encoding.ids),
                "decoded_all": tokenizer.decode(encoding.ids, skip_special_tokens=False)}
    singles = [dict(record(tokenizer.encode(lines[i])), line=i) for i in range(0, len(lines), step)]
    pairs = [dict(record(tokenizer.encode(lines[i], lines[i + 1])), a=i, b=i + 1)
             for i in range(0, len(lines) - 1, 16 * step)]
    return {"single": singles, "pair": pairs}


def xlmr(lines):
    spm_folder = os.path.join(OUT, "xlmr-spm")
    legacy_path = os.path.join(OUT, "xlmr-legacy", "tokenizer.json")
    if not RETRAIN and os.path.exists(legacy_path):
        return {"xlmr-spm": os.path.join(spm_folder, "tokenizer.json"), "xlmr-legacy": legacy_path}
    shutil.rmtree(spm_folder, ignore_errors=True)
    os.makedirs(spm_folder)
    with tempfile.TemporaryDirectory() as scratch:
        with open(os.path.join(scratch, "train.txt"), "w") as f:
            f.write("\n".join(lines))
        # XLM-R's special pieces: <s>=0, <pad>=1, </s>=2, <unk>=3 in the fairseq layout transformers adds on top.
        sentencepiece.SentencePieceTrainer.train(
            input=os.path.join(scratch, "train.txt"), model_prefix=os.path.join(scratch, "spm"), vocab_size=4000,
            model_type="unigram", normalization_rule_name="nmt_nfkc", character_coverage=0.9995,
            bos_id=0, pad_id=1, eos_id=2, unk_id=3, num_threads=1, seed_sentencepiece_size=200000,
            input_sentence_size=0, shuffle_input_sentence=False)
        shutil.copy(os.path.join(scratch, "spm.model"), os.path.join(spm_folder, "sentencepiece.bpe.model"))
    with open(os.path.join(spm_folder, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": 512}, f)
    tokenizer = transformers.AutoTokenizer.from_pretrained(spm_folder)
    with tempfile.TemporaryDirectory() as scratch:
        tokenizer.save_pretrained(scratch)
        shutil.copy(os.path.join(scratch, "tokenizer.json"), os.path.join(spm_folder, "tokenizer.json"))
    current = json.load(open(os.path.join(spm_folder, "tokenizer.json")))

    legacy = json.loads(json.dumps(current))
    legacy["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": True}
    legacy["decoder"] = {"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": True}
    legacy_folder = os.path.join(OUT, "xlmr-legacy")
    os.makedirs(legacy_folder, exist_ok=True)
    with open(os.path.join(legacy_folder, "tokenizer.json"), "w") as f:
        json.dump(legacy, f, ensure_ascii=False, indent=2)
    return {"xlmr-spm": os.path.join(spm_folder, "tokenizer.json"),
            "xlmr-legacy": os.path.join(legacy_folder, "tokenizer.json")}


def trained(lines):
    folder = os.path.join(OUT, "unigram-trained")
    if not RETRAIN and os.path.exists(os.path.join(folder, "tokenizer.json")):
        return {"unigram-trained": os.path.join(folder, "tokenizer.json")}
    os.makedirs(folder, exist_ok=True)
    tokenizer = Tokenizer(models.Unigram())
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.NFKC(), normalizers.Lowercase(), normalizers.Replace(Regex(" {2,}"), " "), normalizers.Strip()])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="first", split=True)
    trainer = trainers.UnigramTrainer(vocab_size=3000, special_tokens=["<unk>", "<s>", "</s>"], unk_token="<unk>",
                                      shrinking_factor=0.75, max_piece_length=12, n_sub_iterations=2)
    tokenizer.train_from_iterator([line for i, line in enumerate(lines) if i % 2 == 0], trainer=trainer)
    # Byte fallback as Llama-style models have it: the 256 byte pieces after the vocabulary, unknown characters
    # (the odd lines are unseen in training) spelled as their UTF-8 bytes.
    state = json.loads(tokenizer.to_str())
    vocab = state["model"]["vocab"]
    floor = min(score for _, score in vocab)
    vocab += [[f"<0x{b:02X}>", floor - 1.0] for b in range(256)]
    model = models.Unigram(vocab=[tuple(v) for v in vocab], unk_id=state["model"]["unk_id"], byte_fallback=True)
    tokenizer.model = model
    tokenizer.decoder = decoders.Sequence([
        decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    bos, eos = tokenizer.token_to_id("<s>"), tokenizer.token_to_id("</s>")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> $B:1 </s>:1", special_tokens=[("<s>", bos), ("</s>", eos)])
    tokenizer.add_special_tokens(["<s>", "</s>", "<unk>"])
    path = os.path.join(folder, "tokenizer.json")
    tokenizer.save(path)
    return {"unigram-trained": path}


def composition_table():
    pairs = []
    for code in range(0x110000):
        if 0xAC00 <= code <= 0xD7A3:
            continue  # Hangul syllables compose by the algorithm
        mapping = unicodedata.decomposition(chr(code))
        if not mapping or mapping.startswith("<"):
            continue
        parts = [int(x, 16) for x in mapping.split()]
        if len(parts) == 2 and unicodedata.normalize("NFC", chr(parts[0]) + chr(parts[1])) == chr(code):
            pairs.append((parts[0], parts[1], code))
    pairs.sort()
    path = os.path.join(os.path.dirname(os.path.dirname(ROOT)), "Sources", "Tokenizers", "UnicodeCompositions.swift")
    with open(path, "w") as f:
        f.write("// Generated by Tests/Fixtures/generate_unigram.py from Python's unicodedata "
                f"(Unicode {unicodedata.unidata_version}); do not edit.\n\n")
        f.write("/// Unicode's primary composites as (first << 32 | second, composite), sorted: what NFC composes "
                "(Hangul aside).\n")
        f.write("let unicodeCompositions: [(key: UInt64, value: UInt32)] = [\n")
        for a, b, c in pairs:
            f.write(f"    (0x{a:X} << 32 | 0x{b:X}, 0x{c:X}),\n")
        f.write("]\n")
    subprocess.run(["swift", "format", "format", "--in-place", path], check=False)  # as `make lint` wants it
    print(f"{path}: {len(pairs)} compositions")


def tiny():
    pieces = [("<unk>", 0.0), ("<s>", 0.0), ("</s>", 0.0), ("\u2581", -2.0), ("\u2581a", -3.0), ("\u2581the", -3.5),
              ("e", -4.0), ("t", -4.0), ("h", -4.2), ("a", -4.1), ("s", -4.3), ("\u2581s", -4.4), ("é", -6.0),
              ("\u2581é", -6.5), ("ab", -5.0), ("ba", -5.5)]
    pieces += [(f"<0x{b:02X}>", -20.0) for b in (0x41, 0x42, 0xC3, 0xA9, 0xE2, 0x9C, 0x93)]
    tokenizer = Tokenizer(models.Unigram(vocab=pieces, unk_id=0, byte_fallback=True))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " "),
                                                 normalizers.Strip(), normalizers.Prepend("\u2581")])
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                                       pre_tokenizers.Metaspace(prepend_scheme="always")])
    tokenizer.decoder = decoders.Sequence([decoders.Metaspace(), decoders.ByteFallback(), decoders.Fuse()])
    tokenizer.post_processor = processors.TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> $B </s>",
                                                             special_tokens=[("<s>", 1), ("</s>", 2)])
    tokenizer.add_special_tokens(["<s>", "</s>"])
    folder = os.path.join(OUT, "unigram-tiny")
    os.makedirs(folder, exist_ok=True)
    tokenizer.save(os.path.join(folder, "tokenizer.json"))
    return {"unigram-tiny": os.path.join(folder, "tokenizer.json")}


def main():
    composition_table()
    with open(os.path.join(OUT, "corpus.json")) as f:
        lines = json.load(f)
    paths = {**xlmr(lines), **trained(lines), **tiny()}
    reference = {name: encodings(Tokenizer.from_file(path), lines, step=8 if name == "unigram-tiny" else 1)
                 for name, path in paths.items()}
    with open(os.path.join(OUT, "reference-unigram.json"), "w") as f:
        json.dump(reference, f, ensure_ascii=False, separators=(",", ":"))
    for name, path in paths.items():
        print(f"{name}: {os.path.getsize(path) / 1e3:.0f} kB")
    print(f"reference-unigram.json: {os.path.getsize(os.path.join(OUT, 'reference-unigram.json')) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
