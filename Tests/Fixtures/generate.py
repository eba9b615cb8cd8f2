#!/usr/bin/env python3
"""Generates the committed test fixtures of ModelHub from the Python reference stack.

Run from the repository root with torch, transformers, tokenizers, safetensors, numpy, xxhash and zstandard
installed (see DEVELOPERS' guide: python3 -m venv /tmp/ref && /tmp/ref/bin/pip install ...):

    /tmp/ref/bin/python Tests/Fixtures/generate.py

Writes (deterministically, for a fixed seed; CI never runs this, it uses the committed outputs):
  Tests/Fixtures/models/       tiny BERT / GPT-2 / RoBERTa as Hugging Face folders (safetensors, .bin, sharded)
  Tests/Fixtures/checkpoints/  single-file checkpoints: safetensors, torch zip, torch legacy, odd tensors
  Tests/Fixtures/reference.json  for every checkpoint: name -> dtype, shape, sha256 of the contiguous bytes,
                               as torch itself loads them
  Tests/Fixtures/bad/          malformed files (docs/ARCHITECTURE.md (defences) tables S, Z, P) + manifest.json of expected errors
  formats/vectors/             .mhub conformance vectors written by an independent writer (write_mhub) +
                               manifest.json
"""

import hashlib
import io
import json
import os
import pickle
import shutil
import struct
import zipfile
import zlib

import numpy as np
import safetensors.torch
import torch
import transformers
import xxhash
import zstandard

ROOT = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(ROOT))
MODELS = os.path.join(ROOT, "models")
CHECKPOINTS = os.path.join(ROOT, "checkpoints")
BAD = os.path.join(ROOT, "bad")
VECTORS = os.path.join(REPO, "formats", "vectors")

DTYPE_NAMES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
    torch.bool: "BOOL",
}

reference = {}


def tensor_bytes(t):
    """The tensor's row-major little-endian bytes, as a reader must return them."""
    flat = t.detach().contiguous().reshape(-1)
    if flat.dtype == torch.bool:
        return flat.to(torch.uint8).numpy().tobytes()
    return flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b""


def describe(state):
    return {name: {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape),
                   "sha256": hashlib.sha256(tensor_bytes(t)).hexdigest()} for name, t in state.items()}


def record(relative, state):
    """Records what torch reads back from `relative` (loading it, not trusting what was saved)."""
    reference[relative] = describe(state)


def load_back(path):
    if path.endswith(".safetensors"):
        return safetensors.torch.load_file(path)
    loaded = torch.load(path, map_location="cpu", weights_only=True)
    return loaded["state_dict"] if "state_dict" in loaded else loaded


def quantize_int8_rows(w):
    """int8-row quantization as formats/mhub.md specifies it, in float32 arithmetic: (q, scales, dequantized)."""
    w = w.astype(np.float32)
    absmax = np.abs(w).max(axis=1) if w.shape[1] else np.zeros(w.shape[0], np.float32)
    scales = (absmax / np.float32(127)).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(scales[:, None] == 0, np.float32(0), np.rint(w / scales[:, None]))
    q = np.clip(q, -127, 127).astype(np.int8)
    return q, scales, (q.astype(np.float32) * scales[:, None]).astype(np.float32)


def int8_references(key, state):
    """What reading an int8 .mhub gives (dequantized values) and what it stores (values, scales) per tensor."""
    read, stored = {}, {}
    for name, t in state.items():
        t = t.detach()
        if t.dtype == torch.float32 and t.dim() == 2 and bool(torch.isfinite(t).all()):
            q, scales, dequantized = quantize_int8_rows(t.contiguous().numpy())
            read[name] = torch.from_numpy(dequantized)
            stored[name] = {"values": hashlib.sha256(q.tobytes()).hexdigest(),
                            "scales": hashlib.sha256(scales.tobytes()).hexdigest()}
        else:
            read[name] = t
    record(key + "@INT8", read)
    reference[key + "@INT8-stored"] = stored


def fresh(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)


# ---------------------------------------------------------------------------------------------------------
# Tokenizer files (tiny, trained on real text: the GPL-3 licence text Debian ships, else Python's Zen)

def corpus():
    for candidate in ["/usr/share/common-licenses/GPL-3", "/usr/share/common-licenses/Apache-2.0"]:
        if os.path.exists(candidate):
            with open(candidate, encoding="utf-8") as f:
                return [line.strip() for line in f if line.strip()]
    import this  # noqa: F401  (prints; fallback only)
    return ["Beautiful is better than ugly."]


def wordpiece_tokenizer(folder, lowercase=True, size=160):
    """A WordPiece vocabulary built deterministically (the tokenizers trainer breaks ties differently per run):
    special tokens, every character of the pre-tokenized corpus alone and as a ##continuation, then the most
    frequent words (ties alphabetical) up to `size`."""
    from collections import Counter
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, decoders
    normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    pre = pre_tokenizers.BertPreTokenizer()
    words = Counter(w for line in corpus() for w, _ in pre.pre_tokenize_str(normalizer.normalize_str(line)))
    chars = sorted({c for w in words for c in w})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + chars + ["##" + c for c in chars]
    for word, _ in sorted(words.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(vocab) >= size:
            break
        if word not in vocab:
            vocab.append(word)
    vocab = vocab[:size]
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre
    tok.decoder = decoders.WordPiece()
    tok.post_processor = processors.BertProcessing(("[SEP]", 3), ("[CLS]", 2))
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", do_lower_case=lowercase)
    fast.save_pretrained(folder)
    with open(os.path.join(folder, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("".join(token + "\n" for token in vocab))
    return len(vocab)


def bytelevel_tokenizer(folder, roberta):
    from tokenizers import ByteLevelBPETokenizer
    tok = ByteLevelBPETokenizer(add_prefix_space=False)
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"] if roberta else ["<|endoftext|>"]
    tok.train_from_iterator(corpus(), vocab_size=300, min_frequency=2, special_tokens=specials)
    tok.save_model(folder)
    if roberta:
        fast = transformers.RobertaTokenizerFast(
            vocab_file=os.path.join(folder, "vocab.json"), merges_file=os.path.join(folder, "merges.txt"))
    else:
        fast = transformers.GPT2TokenizerFast(
            vocab_file=os.path.join(folder, "vocab.json"), merges_file=os.path.join(folder, "merges.txt"))
    fast.save_pretrained(folder)  # tokenizer_config.json
    # transformers 5 builds these tokenizers without the vocab_file they are given (an empty vocabulary): write
    # tokenizer.json from the trained files with tokenizers itself, with RoBERTa's post-processor.
    from tokenizers import processors
    trained = ByteLevelBPETokenizer(
        os.path.join(folder, "vocab.json"), os.path.join(folder, "merges.txt"), add_prefix_space=False)
    trained.add_special_tokens(specials)
    if roberta:
        trained.post_processor = processors.RobertaProcessing(
            ("</s>", trained.token_to_id("</s>")), ("<s>", trained.token_to_id("<s>")), trim_offsets=True,
            add_prefix_space=False)
    trained.save(os.path.join(folder, "tokenizer.json"))
    return tok.get_vocab_size()


# ---------------------------------------------------------------------------------------------------------
# Tiny models

def tiny_models():
    fresh(MODELS)
    torch.manual_seed(0)

    bert_dir = os.path.join(MODELS, "tiny-bert")
    os.makedirs(bert_dir)
    vocab = wordpiece_tokenizer(bert_dir)
    config = transformers.BertConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                     intermediate_size=64, max_position_embeddings=64, type_vocab_size=2)
    bert = transformers.BertForMaskedLM(config).eval()
    bert.save_pretrained(bert_dir)  # model.safetensors; the tied decoder weight is stored once
    record("models/tiny-bert", load_back(os.path.join(bert_dir, "model.safetensors")))
    bert_state = bert.state_dict()

    gpt2_dir = os.path.join(MODELS, "tiny-gpt2")
    os.makedirs(gpt2_dir)
    vocab = bytelevel_tokenizer(gpt2_dir, roberta=False)
    config = transformers.GPT2Config(vocab_size=vocab, n_embd=32, n_layer=2, n_head=4, n_positions=64,
                                     bos_token_id=0, eos_token_id=0)
    gpt2 = transformers.GPT2LMHeadModel(config).eval()
    assert gpt2.lm_head.weight.data_ptr() == gpt2.transformer.wte.weight.data_ptr()
    gpt2.config.save_pretrained(gpt2_dir)
    gpt2_state = gpt2.state_dict()
    # pytorch_model.bin as transformers wrote it before safetensors: torch.save of the state dict, the tied
    # lm_head.weight and transformer.wte.weight sharing one storage.
    torch.save(gpt2_state, os.path.join(gpt2_dir, "pytorch_model.bin"))
    record("models/tiny-gpt2", load_back(os.path.join(gpt2_dir, "pytorch_model.bin")))

    roberta_dir = os.path.join(MODELS, "tiny-roberta")
    os.makedirs(roberta_dir)
    vocab = bytelevel_tokenizer(roberta_dir, roberta=True)
    config = transformers.RobertaConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                        intermediate_size=64, max_position_embeddings=66, type_vocab_size=1,
                                        pad_token_id=1, bos_token_id=0, eos_token_id=2)
    roberta = transformers.RobertaForMaskedLM(config).eval()
    # Sharded by transformers itself (model-0000N-of-0000M.safetensors + model.safetensors.index.json).
    roberta.save_pretrained(roberta_dir, max_shard_size="60KB")
    index = json.load(open(os.path.join(roberta_dir, "model.safetensors.index.json")))
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) > 1, shards
    roberta_state = {}
    for shard in shards:
        roberta_state.update(load_back(os.path.join(roberta_dir, shard)))
    record("models/tiny-roberta", roberta_state)

    sharded_bin = os.path.join(MODELS, "tiny-bert-sharded-bin")
    os.makedirs(sharded_bin)
    bert.config.save_pretrained(sharded_bin)
    write_sharded_bin(sharded_bin, bert_state)
    record("models/tiny-bert-sharded-bin", bert_state)
    return bert_state, gpt2_state, roberta_state


def split_two(state):
    names = list(state)
    half = len(names) // 2
    return [names[:half], names[half:]]


def write_sharded_bin(folder, state):
    weight_map, total = {}, 0
    for i, names in enumerate(split_two(state)):
        shard = f"pytorch_model-{i + 1:05d}-of-00002.bin"
        # Shards hold clones, as transformers' shard_checkpoint did, so no storage spans two files.
        torch.save({n: state[n].clone() for n in names}, os.path.join(folder, shard))
        for n in names:
            weight_map[n] = shard
            total += state[n].numel() * state[n].element_size()
    with open(os.path.join(folder, "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)


# ---------------------------------------------------------------------------------------------------------
# Single-file checkpoints

def special_state():
    """Tensors that exercise every path of a torch reader: views, strides, sharing, dtypes, 0-d, empty."""
    g = torch.Generator().manual_seed(1)
    base = torch.randn(6, 10, generator=g)
    ramp = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
    return {
        "base": base,
        "tied": base,                         # same tensor, one storage
        "offset_view": base[2:4],             # storage offset 20, contiguous
        "row_view": base[5],                  # offset 50, 1-d
        "transposed": base.t(),               # strides (1, 10)
        "strided": base[:, ::3],              # strides (10, 3)
        "permuted": ramp.permute(2, 0, 1),    # 3-d permutation
        "expanded": torch.tensor([1.0, 2.0, 3.0]).expand(4, 3),  # stride 0
        "float64": torch.randn(3, 2, generator=g, dtype=torch.float64),
        "float16": torch.randn(5, 3, generator=g).half(),
        "bfloat16": torch.randn(4, 4, generator=g).bfloat16(),
        "bfloat16_t": torch.randn(3, 5, generator=g).bfloat16().t(),
        "int64": torch.arange(-5, 7, dtype=torch.int64).reshape(3, 4),
        "int32": torch.tensor([[-(2 ** 31), 2 ** 31 - 1, 0]], dtype=torch.int32),
        "int16": torch.tensor([-300, 300], dtype=torch.int16),
        "int8": torch.tensor([-128, 127, 0, 5], dtype=torch.int8),
        "uint8": torch.tensor([0, 255, 17], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True, True]),
        "bool_t": torch.tensor([[True, False], [False, False], [True, True]]).t(),
        "scalar": torch.tensor(3.5),
        "scalar_int": torch.tensor(7, dtype=torch.int64),
        "empty": torch.zeros(0, 5),
        "empty_1d": torch.zeros(0, dtype=torch.int32),
        "param": torch.nn.Parameter(torch.randn(3, 4, generator=g)),
        "zero_row": torch.tensor([[0.0, 0.0, 0.0], [1.0, -2.0, 3.0], [0.5, -0.25, 1e-30]]),
        # f32 values where rounding to f16/bf16 is delicate: ties, subnormals, overflow, infinities, NaN.
        "edges": torch.tensor([0.0, -0.0, 1.0, 65504.0, 65520.0, 1e6, -1e6, 6e-8, 3e-8, 1e-40, 1.00048828125,
                               1.000732421875, 1.0009765625, 3.0e38, float("inf"), float("-inf"), float("nan"),
                               1.00390625, 1.005859375, -2.5e-5], dtype=torch.float32),
    }


def checkpoints(bert_state, gpt2_state, roberta_state):
    fresh(CHECKPOINTS)

    def save(name, obj, legacy=False):
        path = os.path.join(CHECKPOINTS, name)
        if name.endswith(".safetensors"):
            safetensors.torch.save_file(obj, path, metadata={"format": "pt", "source": "generate.py"})
        else:
            torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
        record("checkpoints/" + name, load_back(path))
        return path

    save("tiny-bert.zip.bin", bert_state)
    save("tiny-bert.legacy.bin", bert_state, legacy=True)
    save("tiny-gpt2.legacy.bin", gpt2_state, legacy=True)
    save("tiny-gpt2.safetensors", {k: v for k, v in gpt2_state.items() if k != "lm_head.weight"})
    save("tiny-roberta.zip.pt", roberta_state)
    special = special_state()
    save("special.zip.pt", special)
    save("special.legacy.pt", special, legacy=True)
    save("special.safetensors", {k: v.detach().contiguous().clone() for k, v in special.items()})
    # What torch's .to(float16 / bfloat16) makes of every F32 tensor (conversion references for hub convert --dtype).
    for target, suffix in [(torch.float16, "F16"), (torch.bfloat16, "BF16")]:
        for source in ["checkpoints/special.safetensors", "models/tiny-bert"]:
            state = special if source.startswith("checkpoints") else bert_state
            converted = {k: v.detach().to(target) if v.dtype == torch.float32 else v.detach() for k, v in state.items()}
            if source == "models/tiny-bert":
                converted = {k: converted[k] for k in reference["models/tiny-bert"]}
            record(f"{source}@{suffix}", converted)
    int8_references("checkpoints/special.safetensors", special)
    int8_references("models/tiny-bert", {k: bert_state[k] for k in reference["models/tiny-bert"]})
    save("special-wrapped.zip.pth", {"state_dict": special, "epoch": 3})
    # The same archive re-packed by our own zip writer with a different record prefix and ZIP64 records.
    entries = read_zip(os.path.join(CHECKPOINTS, "special.zip.pt"))
    renamed = [("my-model/" + name.split("/", 1)[1], data) for name, data in entries]
    with open(os.path.join(CHECKPOINTS, "special-zip64.pt"), "wb") as f:
        f.write(write_zip(renamed, zip64=True))
    record("checkpoints/special-zip64.pt", load_back(os.path.join(CHECKPOINTS, "special-zip64.pt")))


def read_zip(path):
    with zipfile.ZipFile(path) as z:
        return [(info.filename, z.read(info)) for info in z.infolist()]


def write_zip(entries, zip64=False, align=64, method=0, flags=0, comment=b""):
    """A minimal stored-entry zip writer (torch.save's layout: data 64-byte aligned), optionally all-ZIP64."""
    out = bytearray()
    central = bytearray()
    for name, data in entries:
        name_b = name.encode()
        crc = zlib.crc32(data) & 0xFFFFFFFF
        stored = data if method == 0 else zlib.compress(data)[2:-4]
        offset = len(out)
        header_len = 30 + len(name_b)
        local_extra = struct.pack("<HHQQ", 1, 16, len(data), len(stored)) if zip64 else b""
        pad = (-(offset + header_len + len(local_extra) + 4)) % align if align else 0
        if align:
            local_extra += struct.pack("<HH", 0xCAFE, pad) + b"Z" * pad
        size32 = 0xFFFFFFFF if zip64 else len(stored)
        usize32 = 0xFFFFFFFF if zip64 else len(data)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45 if zip64 else 20, flags, method, 0, 0x21, crc, size32,
                           usize32, len(name_b), len(local_extra)) + name_b + local_extra + stored
        central_extra = struct.pack("<HHQQQ", 1, 24, len(data), len(stored), offset) if zip64 else b""
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45 if zip64 else 20, 45 if zip64 else 20, flags,
                               method, 0, 0x21, crc, size32, usize32, len(name_b), len(central_extra), 0, 0, 0, 0,
                               0xFFFFFFFF if zip64 else offset) + name_b + central_extra
    cd_offset = len(out)
    out += central
    if zip64:
        eocd64 = len(out)
        out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries), len(central),
                           cd_offset)
        out += struct.pack("<IIQI", 0x07064B50, 0, eocd64, 1)
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, len(comment))
    else:
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), cd_offset,
                           len(comment))
    return bytes(out + comment)


# ---------------------------------------------------------------------------------------------------------
# Malformed inputs: each must give one clear error line naming the file, exit 1, no output left behind.

bad_manifest = {}


def bad(name, data, error, stage="open"):
    """`error` is a substring of the one-line message; `stage` says whether opening or --verify must fail."""
    with open(os.path.join(BAD, name), "wb") as f:
        f.write(data)
    bad_manifest[name] = {"error": error, "stage": stage}


def safetensors_file(header, data=b"", raw_header=None):
    text = raw_header if raw_header is not None else json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def torch_zip(pkl, storages=None, prefix="archive", byteorder=b"little", **kwargs):
    entries = [(f"{prefix}/data.pkl", pkl)]
    if byteorder is not None:
        entries.append((f"{prefix}/byteorder", byteorder))
    for key, data in (storages or {}).items():
        entries.append((f"{prefix}/data/{key}", data))
    entries.append((f"{prefix}/version", b"3\n"))
    return write_zip(entries, **kwargs)


def tensor_pickle(storage_numel=4, offset=0, size=(2, 2), stride=(2, 1), dtype="FloatStorage", key="0", args=None):
    """A protocol-2 pickle of {'w': _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())}."""
    def tup(values):
        return b"(" + b"".join(b"K" + bytes([v]) if 0 <= v < 256 else b"J" + struct.pack("<i", v) for v in values) + b"t"
    p = b"\x80\x02}q\x00X\x01\x00\x00\x00wq\x01ctorch._utils\n_rebuild_tensor_v2\nq\x02("
    p += b"(X\x07\x00\x00\x00storageq\x03ctorch\n" + dtype.encode() + b"\nq\x04X" + struct.pack("<I", len(key)) + key.encode()
    p += b"X\x03\x00\x00\x00cpuq\x05" + (b"K" + bytes([storage_numel]) if storage_numel < 256 else b"J" + struct.pack("<i", storage_numel)) + b"tq\x06Q"
    if args is None:
        p += (b"K" + bytes([offset]) if offset < 256 else b"J" + struct.pack("<i", offset)) + tup(size) + tup(stride)
        p += b"\x89ccollections\nOrderedDict\nq\x07)Rq\x08"
    else:
        p += args
    p += b"tq\x09Rq\x0as."
    return p


def bad_files():
    fresh(BAD)
    good_header = {"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}
    body = struct.pack("<4f", 1, 2, 3, 4)
    # S: safetensors
    bad("s01-empty.safetensors", b"", "truncated")
    bad("s01-short.safetensors", b"\x05\x00\x00", "truncated")
    bad("s02-huge-header.safetensors", struct.pack("<Q", 1 << 40) + b"{}", "header length")
    bad("s03-max-header.safetensors", struct.pack("<Q", (1 << 64) - 1) + b"{}", "header length")
    bad("s03-header-past-end.safetensors", struct.pack("<Q", 500) + b'{"a":1}', "truncated")
    bad("s04-not-utf8.safetensors", safetensors_file(None, raw_header=b'{"\xff\xfe": 1}'), "UTF-8")
    bad("s05-not-json.safetensors", safetensors_file(None, raw_header=b"{"), "JSON")
    bad("s05-array.safetensors", safetensors_file([1, 2]), "not a JSON object")
    bad("s05-no-offsets.safetensors", safetensors_file({"w": {"dtype": "F32", "shape": [2, 2]}}, body), "data_offsets")
    bad("s05-extra-field.safetensors",
        safetensors_file({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16], "x": 1}}, body), "'x'")
    bad("s06-duplicate-name.safetensors",
        safetensors_file(None, body + body, raw_header=b'{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},'
                                                       b'"w":{"dtype":"F32","shape":[2,2],"data_offsets":[16,32]}}'),
        "duplicate")
    bad("s07-metadata-int.safetensors", safetensors_file({"__metadata__": {"x": 0}, **good_header}, body), "__metadata__")
    bad("s09-unknown-dtype.safetensors",
        safetensors_file({"w": {"dtype": "F31", "shape": [2, 2], "data_offsets": [0, 16]}}, body), "F31")
    bad("s10-negative-shape.safetensors",
        safetensors_file({"w": {"dtype": "F32", "shape": [-2, 2], "data_offsets": [0, 16]}}, body), "shape")
    bad("s10-fraction-offset.safetensors",
        safetensors_file(None, body, raw_header=b'{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16.0]}}'),
        "data_offsets")
    bad("s10-exponent-shape.safetensors",
        safetensors_file(None, body, raw_header=b'{"w":{"dtype":"F32","shape":[2e0,2],"data_offsets":[0,16]}}'),
        "shape")
    bad("s11-overflow.safetensors",
        safetensors_file({"w": {"dtype": "F32", "shape": [2, 18446744073709551614], "data_offsets": [0, 16]}}, body),
        "shape")
    bad("s11-product-overflow.safetensors",
        safetensors_file({"w": {"dtype": "F32", "shape": [1 << 47, 1 << 47], "data_offsets": [0, 16]}}, body),
        "overflow")
    bad("s13-wrong-length.safetensors",
        safetensors_file({"w": {"dtype": "I32", "shape": [2, 2], "data_offsets": [0, 4]}}, body[:4]), "16")
    bad("s14-overlap.safetensors",
        safetensors_file({"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                          "b": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}, body), "overlap")
    bad("s14-gap.safetensors",
        safetensors_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                          "b": {"dtype": "F32", "shape": [1], "data_offsets": [12, 16]}}, body), "gap")
    bad("s14-begin-after-end.safetensors",
        safetensors_file({"w": {"dtype": "F32", "shape": [0], "data_offsets": [16, 0]}}, body), "data_offsets")
    bad("s15-trailing.safetensors", safetensors_file(good_header, body + b"EXTRA"), "trailing")
    bad("s15-truncated.safetensors", safetensors_file(good_header, body[:10]), "only 10 bytes")
    # Z: zip container (torch.save >= 1.6)
    good_pickle = tensor_pickle()
    good_zip = torch_zip(good_pickle, {"0": body})
    bad("z01-no-eocd.pt", good_zip[:-22], "central directory")
    bad("z01-truncated-half.pt", good_zip[: len(good_zip) // 2], "central directory")
    eocd = len(good_zip) - 22
    bad("z02-cd-out-of-bounds.pt", good_zip[:eocd + 16] + struct.pack("<I", 0x7FFFFFF0) + good_zip[eocd + 20:],
        "central directory")
    count_lie = bytearray(good_zip)
    struct.pack_into("<HH", count_lie, eocd + 8, 9, 9)
    bad("z02-entry-count.pt", bytes(count_lie), "central directory")
    z64 = torch_zip(good_pickle, {"0": body}, zip64=True)
    locator = len(z64) - 22 - 20
    broken = bytearray(z64)
    struct.pack_into("<Q", broken, locator + 8, 3)
    bad("z03-zip64-locator.pt", bytes(broken), "ZIP64")
    local_name = bytearray(good_zip)
    local_name[30:30 + 7] = b"ARCHIVE"
    bad("z05-local-name-differs.pt", bytes(local_name), "different entry")
    bomb_data = tensor_pickle(storage_numel=0, size=(0,), stride=(1,))
    bad("z06-deflate-bomb.pt", torch_zip(bomb_data, {"0": bytes(50_000_000)}, method=8), "compressed")
    bad("z07-encrypted.pt", torch_zip(good_pickle, {"0": body}, flags=1), "encrypted")
    bad("z08-quoted-overlap.pt", quoted_overlap_zip(good_pickle, body), "overlap")
    crc_bad = bytearray(good_zip)
    pos = good_zip.index(body)
    crc_bad[pos] ^= 0xFF
    bad("z09-crc.pt", bytes(crc_bad), "CRC-32", stage="verify")
    bad("z11-no-data-pkl.pt", write_zip([("archive/data/0", body), ("archive/version", b"3\n")]), "data.pkl")
    bad("z11-storage-missing.pt", torch_zip(good_pickle, {}), "storage")
    bad("z12-storage-size.pt", torch_zip(good_pickle, {"0": body[:12]}), "storage")
    bad("z13-view-out-of-bounds.pt", torch_zip(tensor_pickle(offset=2), {"0": body}), "storage")
    bad("z13-stride-out-of-bounds.pt", torch_zip(tensor_pickle(stride=(3, 1)), {"0": body}), "storage")
    bad("z14-big-endian.pt", torch_zip(good_pickle, {"0": body}, byteorder=b"big"), "big")
    # P: pickle
    def evil(module, name):
        return (b"\x80\x02c" + module + b"\n" + name + b"\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.")
    bad("p01-posix-system.pt", torch_zip(evil(b"posix", b"system")), "posix.system")
    bad("p01-os-system.pt", torch_zip(evil(b"os", b"system")), "os.system")
    bad("p01-builtins-eval.pt", torch_zip(evil(b"builtins", b"eval")), "builtins.eval")
    bad("p01-subprocess.pt", torch_zip(evil(b"subprocess", b"Popen")), "subprocess.Popen")
    stack_global = (b"\x80\x04\x8c\x08builtins\x94\x8c\x04exec\x94\x93\x94\x8c\x05pass\n\x94\x85\x94R\x94.")
    bad("p01-stack-global-exec.pt", torch_zip(stack_global), "builtins.exec")
    bad("p01-legacy-eval.bin", legacy_stream(evil(b"builtins", b"eval")), "builtins.eval")
    reduce_dict = b"\x80\x02c__builtin__\ndict\nq\x00)Rq\x01."
    bad("p02-reduce-dict.pt", torch_zip(reduce_dict), "__builtin__.dict")
    wrong_arity = tensor_pickle(args=b"K\x00")
    bad("p02-rebuild-arity.pt", torch_zip(wrong_arity, {"0": body}), "_rebuild_tensor_v2")
    bad("p06-unknown-opcode.pt", torch_zip(b"\x80\x02}\xff."), "opcode")
    bad("p06-protocol-6.pt", torch_zip(b"\x80\x06}."), "protocol")
    bad("p07-stack-underflow.pt", torch_zip(b"\x80\x02\x87."), "stack")
    bad("p07-missing-memo.pt", torch_zip(b"\x80\x02h\x05."), "memo")
    bad("p08-huge-unicode.pt", torch_zip(b"\x80\x02X\xff\xff\xff\xffabc."), "exceeds")
    bad("p09-deep-lists.pt", torch_zip(b"\x80\x02" + b"(]" * 100_000 + b"."), "MARK")
    bad("p09-deep-tuples.pt", torch_zip(b"\x80\x02)" + b"\x85" * 100_000 + b"."), "deep")
    bad("p10-many-marks.pt", torch_zip(b"\x80\x02" + b"(" * 100_000 + b"}."), "MARK")
    bad("p11-trailing.pt", torch_zip(b"\x80\x02}.EXTRA", {}), "after STOP")
    # P14: legacy stream
    legacy_good = open(os.path.join(CHECKPOINTS, "special.legacy.pt"), "rb").read()
    bad("p14-legacy-bad-magic.bin", b"\x80\x02\x8a\x0a" + b"\x00" * 10 + legacy_good[14:], "magic")
    bad("p14-legacy-truncated.bin", legacy_good[: len(legacy_good) - 7], "truncated")
    bad("p14-legacy-trailing.bin", legacy_good + b"\x00" * 9, "after the last storage")
    tar = bytearray(1024)
    tar[0:7] = b"sys_inf"
    tar[257:262] = b"ustar"
    bad("p14-tar.bin", bytes(tar), "tar")
    bad("p00-not-a-checkpoint.bin", b"hello, world: this is not a checkpoint\n", "unrecognized")
    with open(os.path.join(BAD, "manifest.json"), "w") as f:
        json.dump(bad_manifest, f, indent=1, sort_keys=True)


def legacy_stream(state_pickle):
    magic = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    version = pickle.dumps(1001, protocol=2)
    sys_info = pickle.dumps({"protocol_version": 1001, "little_endian": True,
                             "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2)
    return magic + version + sys_info + state_pickle + pickle.dumps([], protocol=2)


def quoted_overlap_zip(pkl, body):
    """A zip whose entry 'archive/data/0' holds, inside its data, a complete local record that a second
    central-directory entry points at (the "quoted overlap" zip bomb construction)."""
    inner_name = b"archive/data/1"
    inner = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0x21, zlib.crc32(body), len(body), len(body),
                        len(inner_name), 0) + inner_name + body
    entries = [("archive/data.pkl", pkl), ("archive/byteorder", b"little"), ("archive/data/0", inner)]
    z = write_zip(entries, align=0)
    inner_offset = z.index(inner)
    cd_offset = z.index(b"PK\x01\x02")
    central = z[cd_offset:len(z) - 22]
    central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0x21, zlib.crc32(body), len(body),
                           len(body), len(inner_name), 0, 0, 0, 0, 0, inner_offset) + inner_name
    return z[:cd_offset] + central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 4, 4, len(central), cd_offset, 0)


# ---------------------------------------------------------------------------------------------------------
# .mhub conformance vectors, written independently of the Swift writer (formats/mhub.md)

def align64(n):
    return (n + 63) // 64 * 64


def write_mhub(tensors, files=(), metadata=None, provenance=None, major=1, minor=0, flags=0, mutate=None):
    """tensors: [(name, dtype, shape, raw bytes, encoding)], files: [(path, bytes, encoding)]."""
    blobs = bytearray()
    entries, file_entries = [], []
    position = 64

    def place(stored):
        nonlocal position, blobs
        start = align64(position)
        blobs += bytes(start - position) + stored
        position = start + len(stored)
        return start

    for name, dtype, shape, raw, encoding, *quantized in tensors:
        values = quantized[0][0] if quantized else raw
        stored = zstandard.ZstdCompressor(level=3, write_checksum=True).compress(values) if encoding == "zstd" else values
        offset = place(stored)
        entry = {"name": name, "dtype": dtype, "shape": shape, "offset": offset, "length": len(stored),
                 "encoding": encoding, "xxh64": xxhash.xxh64(stored).hexdigest()}
        if quantized:
            scales = quantized[0][1]
            entry["quantization"] = "int8-row"
            entry["scales"] = {"offset": place(scales), "length": len(scales), "xxh64": xxhash.xxh64(scales).hexdigest()}
        entries.append(entry)
    for path, raw, encoding in files:
        stored = zstandard.ZstdCompressor(level=3).compress(raw) if encoding == "zstd" else raw
        offset = place(stored)
        entry = {"path": path, "offset": offset, "length": len(stored), "encoding": encoding,
                 "xxh64": xxhash.xxh64(stored).hexdigest()}
        if encoding == "zstd":
            entry["raw_length"] = len(raw)
        file_entries.append(entry)
    meta = {"tensors": entries, "files": file_entries}
    if metadata is not None:
        meta["metadata"] = metadata
    if provenance is not None:
        meta["provenance"] = provenance
    if mutate:
        mutate(meta)
    text = meta["__raw__"] if "__raw__" in meta else json.dumps(meta, separators=(",", ":")).encode()
    meta_offset = align64(position)
    blobs += bytes(meta_offset - position)
    header = struct.pack("<8sHHIQQQQ16s", b"\x89MHUB\r\n\x1a", major, minor, flags, meta_offset, len(text),
                         xxhash.xxh64(text).intdigest(), meta_offset + len(text), bytes(16))
    return header + bytes(blobs) + text


def vectors():
    fresh(VECTORS)
    manifest = {}
    g = torch.Generator().manual_seed(2)
    w = torch.randn(3, 5, generator=g)
    sample = [
        ("embeddings.weight", "F32", [3, 5], tensor_bytes(w), "raw"),
        ("half", "F16", [2, 3], tensor_bytes(torch.randn(2, 3, generator=g).half()), "raw"),
        ("brain", "BF16", [4], tensor_bytes(torch.randn(4, generator=g).bfloat16()), "raw"),
        ("ids", "I64", [2, 2], tensor_bytes(torch.tensor([[1, -2], [3, 1 << 40]])), "raw"),
        ("mask", "BOOL", [3], tensor_bytes(torch.tensor([True, False, True])), "raw"),
        ("scalar", "F32", [], tensor_bytes(torch.tensor(2.5)), "raw"),
        ("empty", "F32", [0, 4], b"", "raw"),
        ("bytes", "U8", [5], bytes([0, 1, 2, 254, 255]), "raw"),
        ("small_ints", "I8", [3], bytes([0x80, 0x7F, 0x00]), "raw"),
        ("counts", "I32", [2], struct.pack("<2i", -7, 7), "raw"),
    ]
    zeros = ("zeros", "F32", [256, 64], bytes(256 * 64 * 4), "zstd")
    config = json.dumps({"model_type": "bert", "hidden_size": 5}).encode()
    files = [("config.json", config, "raw"), ("tokenizer/vocab.txt", b"[PAD]\n[UNK]\nhello\n", "zstd")]

    def ok(name, data, tensors):
        with open(os.path.join(VECTORS, name), "wb") as f:
            f.write(data)
        manifest[name] = {"expect": "ok",
                          "tensors": {t[0]: hashlib.sha256(t[3]).hexdigest() for t in tensors}}

    def fail(name, data, error, stage="open"):
        with open(os.path.join(VECTORS, name), "wb") as f:
            f.write(data)
        manifest[name] = {"expect": "error", "stage": stage, "error": error}

    ok("empty.mhub", write_mhub([]), [])
    ok("tensors.mhub", write_mhub(sample, metadata={"format": "pt"}), sample)
    ok("zstd-and-files.mhub", write_mhub(sample[:2] + [zeros], files,
                                         provenance={"source": "vectors", "converter": "generate.py"}),
       sample[:2] + [zeros])
    ok("minor-version-7.mhub", write_mhub(sample[:1], minor=7), sample[:1])
    matrix = torch.randn(5, 7, generator=g)
    matrix[2] = 0
    q, scales, dequantized = quantize_int8_rows(matrix.numpy())
    quantized = ("dense.weight", "F32", [5, 7], dequantized.tobytes(), "raw", (q.tobytes(), scales.tobytes()))
    quantized_zstd = ("dense2.weight", "F32", [5, 7], dequantized.tobytes(), "zstd", (q.tobytes(), scales.tobytes()))
    ok("int8-row.mhub", write_mhub([quantized, sample[0], quantized_zstd]), [quantized, sample[0], quantized_zstd])
    ok("unknown-top-level-key.mhub", write_mhub(sample[:1], mutate=lambda m: m.update({"future": [1, 2]})), sample[:1])

    base = write_mhub(sample[:3])
    fail("bad-magic.mhub", b"\x89MHUX" + base[5:], "magic")
    fail("truncated-header.mhub", base[:40], "64")
    fail("major-version-2.mhub", write_mhub(sample[:1], major=2), "newer")
    fail("flags-set.mhub", write_mhub(sample[:1], flags=4), "flags")
    reserved = bytearray(base)
    reserved[60] = 1
    fail("reserved-nonzero.mhub", bytes(reserved), "reserved")
    checksum = bytearray(base)
    checksum[len(base) - 3] ^= 0x20
    fail("metadata-checksum.mhub", bytes(checksum), "checksum")
    fail("truncated.mhub", base[:-10], "file has")
    fail("appended.mhub", base + b"\x00" * 64, "file has")
    fail("not-json.mhub", write_mhub([], mutate=lambda m: m.update({"__raw__": b"{\"tensors\": [}"})), "JSON")
    fail("duplicate-json-key.mhub",
         write_mhub([], mutate=lambda m: m.update({"__raw__": b'{"tensors":[],"files":[],"files":[]}'})), "duplicate")
    fail("no-tensors-key.mhub", write_mhub([], mutate=lambda m: m.update({"__raw__": b'{"files":[]}'})), "tensors")

    def entry(field, value, index=0):
        def mutate(m):
            m["tensors"][index][field] = value
        return mutate
    fail("unknown-dtype.mhub", write_mhub(sample[:1], mutate=entry("dtype", "F24")), "F24")
    fail("length-mismatch.mhub", write_mhub(sample[:1], mutate=entry("shape", [3, 4])), "length")
    fail("shape-overflow.mhub", write_mhub(sample[:1], mutate=entry("shape", [1 << 40, 1 << 40])), "overflow")
    fail("negative-offset.mhub", write_mhub(sample[:1], mutate=entry("offset", -64)), "offset")
    fail("offset-out-of-bounds.mhub", write_mhub(sample[:1], mutate=entry("offset", 1 << 30)), "offset")
    fail("misaligned-offset.mhub", write_mhub(sample[:1], mutate=entry("offset", 65)), "offset")
    fail("overlap.mhub", write_mhub(sample[:2], mutate=entry("offset", 64, index=1)), "offset")
    fail("duplicate-name.mhub", write_mhub(sample[:2], mutate=entry("name", "embeddings.weight", index=1)), "twice")
    fail("bad-xxh64-text.mhub", write_mhub(sample[:1], mutate=entry("xxh64", "xyz")), "xxh64")
    fail("unknown-encoding.mhub", write_mhub(sample[:1], mutate=entry("encoding", "gzip")), "gzip")
    fail("unsafe-file-path.mhub", write_mhub([], [("../../etc/passwd", b"x", "raw")]), "path")
    fail("absolute-file-path.mhub", write_mhub([], [("/etc/passwd", b"x", "raw")]), "path")
    fail("metadata-not-strings.mhub", write_mhub(sample[:1], metadata={"a": 1}), "metadata")
    corrupt = bytearray(write_mhub(sample[:1]))
    corrupt[64] ^= 0x01
    fail("tensor-checksum.mhub", bytes(corrupt), "checksum mismatch", stage="verify")

    lie = sample[:1] + [("zeros", "F32", [256, 32], bytes(256 * 64 * 4), "zstd")]
    fail("zstd-size-mismatch.mhub", write_mhub(lie), "declares", stage="verify")
    fail("int8-unknown-scheme.mhub", write_mhub([quantized], mutate=entry("quantization", "int4-row")), "int4-row")
    fail("int8-on-f16.mhub", write_mhub([quantized], mutate=entry("dtype", "F16")), "two-dimensional F32")
    fail("int8-no-scales.mhub", write_mhub([quantized], mutate=lambda m: m["tensors"][0].pop("scales")), "no scales")
    fail("int8-scales-length.mhub",
         write_mhub([quantized], mutate=lambda m: m["tensors"][0]["scales"].update({"length": 16})), "scales")
    bad_scale = bytearray(write_mhub([quantized]))
    bad_scale[64 + 64] ^= 0x40
    fail("int8-scales-checksum.mhub", bytes(bad_scale), "scales", stage="verify")
    with open(os.path.join(VECTORS, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)


def hf_cache():
    """A cache written by huggingface_hub itself (against fake_hub.py on loopback): the org/name repo of tiny-bert
    by snapshot_download, tiny-gpt2 under a legacy short name (its own folder, as the Python client names it), and
    a second revision ref pointing at the same commit."""
    from fake_hub import FakeHub
    import huggingface_hub
    cache = os.path.join(ROOT, "hf-cache")
    shutil.rmtree(cache, ignore_errors=True)
    bert_commit, gpt2_commit = "1f0c2b8d3e4a5b6c7d8e9f00112233445566778a", "9a8b7c6d5e4f30211203f4e5d6c7b8a9f0e1d2c3"
    repos = {"modelhub-test/tiny-bert": (os.path.join(MODELS, "tiny-bert"), bert_commit),
             "modelhub-test/tiny-gpt2": (os.path.join(MODELS, "tiny-gpt2"), gpt2_commit)}
    with FakeHub(repos, aliases={"tiny-gpt2": "modelhub-test/tiny-gpt2"}) as hub:
        os.environ["HF_HUB_DISABLE_XET"] = "1"
        os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
        api = huggingface_hub.HfApi(endpoint=hub.endpoint)
        huggingface_hub.snapshot_download("modelhub-test/tiny-bert", cache_dir=cache, endpoint=hub.endpoint)
        huggingface_hub.snapshot_download("modelhub-test/tiny-bert", revision="v1.0", cache_dir=cache,
                                          endpoint=hub.endpoint)
        for name in ["config.json", "pytorch_model.bin", "vocab.json", "merges.txt", "tokenizer.json"]:
            huggingface_hub.hf_hub_download("tiny-gpt2", name, cache_dir=cache, endpoint=hub.endpoint)
        del api
    shutil.rmtree(os.path.join(cache, ".locks"), ignore_errors=True)  # empty lock files; not part of the layout


def main():
    print("torch", torch.__version__, "transformers", transformers.__version__)
    bert_state, gpt2_state, roberta_state = tiny_models()
    checkpoints(bert_state, gpt2_state, roberta_state)
    bad_files()
    vectors()
    hf_cache()
    with open(os.path.join(ROOT, "reference.json"), "w") as f:
        json.dump(reference, f, indent=1, sort_keys=True)
    total = 0
    for folder, _, names in os.walk(ROOT):
        total += sum(os.path.getsize(os.path.join(folder, n)) for n in names)
    print(f"fixtures: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
