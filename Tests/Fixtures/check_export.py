#!/usr/bin/env python3
"""Checks that `hub export` folders load in transformers with the original tensors (run by hand with the
reference stack; CI relies on the byte-identity tests instead, which need no torch).

    make release && /tmp/ref/bin/python Tests/Fixtures/check_export.py
"""
import os
import subprocess
import sys
import tempfile

import torch
import transformers

ROOT = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(ROOT))
HUB = subprocess.check_output(["swift", "build", "-c", "release", "--show-bin-path"], cwd=REPO, text=True).strip() + "/hub"
CASES = [("tiny-bert", transformers.BertForMaskedLM, []), ("tiny-gpt2", transformers.GPT2LMHeadModel, []),
         ("tiny-roberta", transformers.RobertaForMaskedLM, []), ("tiny-bert-sharded-bin", transformers.BertForMaskedLM, []),
         ("tiny-gpt2", transformers.GPT2LMHeadModel, ["--dtype", "f16", "--compress", "zstd"])]

failures = 0
with tempfile.TemporaryDirectory() as scratch:
    for index, (name, cls, flags) in enumerate(CASES):
        source = os.path.join(ROOT, "models", name)
        mhub, folder = os.path.join(scratch, f"{index}.mhub"), os.path.join(scratch, f"{index}")
        subprocess.run([HUB, "convert", source, "-o", mhub, *flags], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([HUB, "export", mhub, "-o", folder], check=True, stdout=subprocess.DEVNULL)
        original = cls.from_pretrained(source).state_dict()
        loaded, info = cls.from_pretrained(folder, output_loading_info=True)
        loaded = loaded.state_dict()
        dtype = torch.float16 if "f16" in flags else torch.float32
        equal = all(torch.equal(original[k].to(dtype), loaded[k]) for k in original)
        problems = {k: v for k, v in info.items() if v}
        ok = equal and not problems
        failures += not ok
        print(f"{name} {' '.join(flags)}: {len(original)} tensors {'equal' if equal else 'DIFFER'}", problems or "")
sys.exit(1 if failures else 0)
