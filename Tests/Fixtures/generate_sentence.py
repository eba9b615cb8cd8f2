#!/usr/bin/env python3
"""sentence-transformers' modules on the tiny BERT, for ModelsTests (SentenceTransformerTests):

  /tmp/ref/bin/python Tests/Fixtures/generate_sentence.py

Writes Tests/Fixtures/sentence/<case>/ — the module files a sentence-transformers folder carries beside the
transformer (modules.json, sentence_bert_config.json, config_sentence_transformers.json, 1_Pooling/config.json,
2_Dense/…, and tokenizer_config.json), without the transformer itself: the tests put Tests/Fixtures/models/tiny-bert's
other files beside them — and
Tests/Fixtures/sentence/reference.json: `SentenceTransformer(folder).encode(SENTENCES[, prompt_name])` for each case.

And, when `make mpnet` fetched it, Tests/Fixtures/parity/mpnet.json: the real all-mpnet-base-v2's embeddings of
generate_models.py's 23 sentences, by `SentenceTransformer(.cache/mpnet/all-mpnet-base-v2).encode`.

Cases: every pooling mode (cls, max, mean, mean_sqrt_len_tokens, weightedmean, lasttoken, and several at once, as
they concatenate), Dense with tanh and identity, Normalize or not, a prompt left out of pooling (include_prompt
false), in the layout sentence-transformers 6 writes and in the classic one Hub repositories carry
(`sentence_transformers.models.*` types, `pooling_mode_*_tokens` flags, `max_seq_length`).
"""
import json
import os
import shutil
import tempfile
import warnings

import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Dense, Normalize, Pooling, Transformer

warnings.filterwarnings("ignore")
ROOT = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(ROOT, "sentence")
TINY = os.path.join(ROOT, "models", "tiny-bert")
SENTENCES = ["the licence is free", "a b c", "free software for the people of the world", "x",
             "tools to read and write the files", "the the the the the the the the the the the"]
# The transformer's files the tests take from models/tiny-bert; tokenizer_config.json stays with the case, since
# sentence-transformers 6 keeps max_seq_length there (model_max_length) rather than in sentence_bert_config.json.
TRANSFORMER_FILES = {"config.json", "model.safetensors", "tokenizer.json", "vocab.txt"}
LEGACY_TYPES = {"Transformer": "sentence_transformers.models.Transformer",
                "Pooling": "sentence_transformers.models.Pooling", "Dense": "sentence_transformers.models.Dense",
                "Normalize": "sentence_transformers.models.Normalize"}
LEGACY_FLAGS = {"cls": "pooling_mode_cls_token", "max": "pooling_mode_max_tokens", "mean": "pooling_mode_mean_tokens",
                "mean_sqrt_len_tokens": "pooling_mode_mean_sqrt_len_tokens",
                "weightedmean": "pooling_mode_weightedmean_tokens", "lasttoken": "pooling_mode_lasttoken"}


def legacy(folder):
    """Rewrites a sentence-transformers 6 folder in the classic layout."""
    modules = json.load(open(os.path.join(folder, "modules.json")))
    for module in modules:
        module["type"] = LEGACY_TYPES[module["type"].rsplit(".", 1)[-1]]
        if module["type"].endswith("Pooling"):
            path = os.path.join(folder, module["path"], "config.json")
            config = json.load(open(path))
            modes = config["pooling_mode"] if isinstance(config["pooling_mode"], list) else [config["pooling_mode"]]
            classic = {"word_embedding_dimension": config["embedding_dimension"]}
            classic.update({flag: mode in modes for mode, flag in LEGACY_FLAGS.items()})
            classic["include_prompt"] = config.get("include_prompt", True)
            json.dump(classic, open(path, "w"), indent=2)
    json.dump(modules, open(os.path.join(folder, "modules.json"), "w"), indent=2)
    json.dump({"max_seq_length": 24, "do_lower_case": False},
              open(os.path.join(folder, "sentence_bert_config.json"), "w"), indent=2)


def case(name, pooling, dense=None, normalize=True, prompts=None, include_prompt=True, classic=False):
    torch.manual_seed(len(name))
    modules = [Transformer(TINY, max_seq_length=24)]
    modules.append(Pooling(32, pooling_mode=pooling, include_prompt=include_prompt))
    width = 32 * (len(pooling) if isinstance(pooling, list) else 1)
    if dense is not None:
        modules.append(Dense(width, 16, activation_function=dense))
    if normalize:
        modules.append(Normalize())
    model = SentenceTransformer(modules=modules, prompts=prompts)
    folder = os.path.join(OUT, name)
    shutil.rmtree(folder, ignore_errors=True)
    with tempfile.TemporaryDirectory() as scratch:
        model.save(scratch)
        if classic:
            legacy(scratch)
        reloaded = SentenceTransformer(scratch)
        entry = {"embeddings": reloaded.encode(SENTENCES).tolist()}
        if prompts:
            entry["prompt_name"] = "query"
            entry["with_prompt"] = reloaded.encode(SENTENCES, prompt_name="query").tolist()
        for base, _, names in os.walk(scratch):
            for file in names:
                relative = os.path.relpath(os.path.join(base, file), scratch)
                if relative in TRANSFORMER_FILES or relative == "README.md":
                    continue
                os.makedirs(os.path.dirname(os.path.join(folder, relative)), exist_ok=True)
                shutil.copy(os.path.join(base, file), os.path.join(folder, relative))
    return entry


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    reference = {"sentences": SENTENCES, "cases": {
        "cls-normalize-classic": case("cls-normalize-classic", "cls", classic=True),
        "max-mean-classic": case("max-mean-classic", ["max", "mean"], normalize=False, classic=True),
        "mean-dense-tanh": case("mean-dense-tanh", "mean", dense=torch.nn.Tanh()),
        "every-mode-dense-identity": case(
            "every-mode-dense-identity", ["cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"],
            dense=torch.nn.Identity(), normalize=False),
        "lasttoken-weightedmean": case("lasttoken-weightedmean", ["lasttoken", "weightedmean"]),
        "prompt-excluded": case("prompt-excluded", "mean", prompts={"query": "query: "}, include_prompt=False),
        "prompt-excluded-classic": case("prompt-excluded-classic", "mean", prompts={"query": "query: "},
                                        include_prompt=False, classic=True),
    }}
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
    total = sum(os.path.getsize(os.path.join(b, n)) for b, _, ns in os.walk(OUT) for n in ns)
    print(f"{len(reference['cases'])} cases, {total / 1e3:.0f} kB")
    mpnet = os.path.join(os.path.dirname(os.path.dirname(ROOT)), ".cache", "mpnet", "all-mpnet-base-v2")
    if os.path.isfile(os.path.join(mpnet, "model.safetensors")):
        import sentence_transformers
        from generate_models import SENTENCES as REAL
        embeddings = SentenceTransformer(mpnet).encode(REAL)
        with open(os.path.join(ROOT, "parity", "mpnet.json"), "w") as f:
            json.dump({"sentence_transformers": sentence_transformers.__version__, "sentences": REAL,
                       "embeddings": [[float(f"{v:.7g}") for v in row] for row in embeddings.tolist()]},
                      f, separators=(",", ":"))
        print(f"parity/mpnet.json: {len(REAL)} sentences")
    else:
        print("skipping parity/mpnet.json: .cache/mpnet has no all-mpnet-base-v2 (make mpnet)")


if __name__ == "__main__":
    main()
