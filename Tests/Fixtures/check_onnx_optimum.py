#!/usr/bin/env python3
"""Checks that `hub export --format onnx` folders load in optimum's ORTModel classes and that
ORTModelForCausalLM.generate (through the exported cache) gives transformers' tokens. Run by hand (optimum pulls in
torch, too large for the test venv; ONNXExportTests covers the graphs with onnx and onnxruntime alone):

    python3 -m venv /tmp/opt && /tmp/opt/bin/pip install "optimum[onnxruntime]" transformers
    swift build && /tmp/opt/bin/python Tests/Fixtures/check_onnx_optimum.py
"""
import os
import subprocess
import tempfile

import torch
import transformers
from optimum.onnxruntime import (ORTModelForCausalLM, ORTModelForFeatureExtraction, ORTModelForMaskedLM,
                                 ORTModelForQuestionAnswering, ORTModelForSequenceClassification)

ROOT = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(ROOT))
HUB = subprocess.check_output(["swift", "build", "--show-bin-path"], cwd=REPO, text=True).strip() + "/hub"
CASES = [
    ("parity/bert-base", "sentence-embedding", ORTModelForFeatureExtraction, "last_hidden_state"),
    ("parity/bert-masked-lm", None, ORTModelForMaskedLM, "logits"),
    ("parity/distilbert-sequence-classification", None, ORTModelForSequenceClassification, "logits"),
    ("parity/roberta-question-answering", None, ORTModelForQuestionAnswering, "start_logits"),
]

with tempfile.TemporaryDirectory() as scratch:
    for index, (folder, task, cls, output) in enumerate(CASES):
        target = os.path.join(scratch, str(index))
        subprocess.run([HUB, "export", os.path.join(ROOT, folder), "--format", "onnx", "-o", target]
                       + (["--task", task] if task else []), check=True, stdout=subprocess.DEVNULL)
        ids = torch.tensor([[2, 17, 45, 3]]) if "roberta" not in folder else torch.tensor([[0, 17, 45, 2]])
        inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
        if folder.startswith("parity/bert"):
            inputs["token_type_ids"] = torch.zeros_like(ids)
        ours = getattr(cls.from_pretrained(target)(**inputs), output)
        config = transformers.AutoConfig.from_pretrained(os.path.join(ROOT, folder))
        reference = getattr(getattr(transformers, config.architectures[0]).from_pretrained(
            os.path.join(ROOT, folder)).eval()(**inputs), output)
        print(f"{folder}: {cls.__name__} loads it; largest difference {float((ours - reference).abs().max().detach()):.2e}")

    target = os.path.join(scratch, "gpt2")
    subprocess.run([HUB, "export", os.path.join(ROOT, "models/tiny-gpt2"), "--format", "onnx", "--task", "causal-lm",
                    "-o", target], check=True, stdout=subprocess.DEVNULL)
    prompt = torch.tensor([[5, 17, 45, 120, 7]])
    settings = dict(attention_mask=torch.ones_like(prompt), max_new_tokens=20, do_sample=False, pad_token_id=0)
    ours = ORTModelForCausalLM.from_pretrained(target).generate(prompt, **settings)
    reference = transformers.GPT2LMHeadModel.from_pretrained(os.path.join(ROOT, "models/tiny-gpt2")).generate(
        prompt, **settings)
    assert ours.tolist() == reference.tolist(), (ours.tolist(), reference.tolist())
    print(f"tiny-gpt2: ORTModelForCausalLM.generate gives transformers' 20 tokens: {ours[0, 5:].tolist()}")
