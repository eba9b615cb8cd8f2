#!/usr/bin/env python3
"""Twenty AdamW steps (lr 3e-3, no weight decay, dropout off) on each parity batch and its labels, by transformers,
for ModelsTests' NewArchitectureTrainingTests: the loss at every step.

    /tmp/ref/bin/python Tests/Fixtures/generate_trajectories.py

Writes Tests/Fixtures/parity/trajectories.json: {case: [loss, …]} for the cases below.
"""
import json
import os

import torch
import transformers

ROOT = os.path.dirname(os.path.abspath(__file__))
CASES = {
    "parity/xlm-roberta-sequence-classification": transformers.XLMRobertaForSequenceClassification,
    "parity/mpnet-sequence-classification": transformers.MPNetForSequenceClassification,
    "parity/mpnet-token-classification": transformers.MPNetForTokenClassification,
    "parity/modernbert-sequence-classification": transformers.ModernBertForSequenceClassification,
    "parity/modernbert-masked-lm": transformers.ModernBertForMaskedLM,
}

reference = json.load(open(os.path.join(ROOT, "parity", "reference.json")))
out = {}
for key, cls in CASES.items():
    entry = reference[key]
    # Evaluation mode turns every dropout off, the functional ones in attention too (gradients flow all the same).
    model = cls.from_pretrained(os.path.join(ROOT, key)).eval()
    inputs = {k: torch.tensor(v) for k, v in entry["inputs"].items()}
    labels = torch.tensor(entry["labels"]["labels"])
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0)
    losses = []
    for _ in range(20):
        optimizer.zero_grad()
        loss = model(**inputs, labels=labels).loss
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
    out[key] = losses
with open(os.path.join(ROOT, "parity", "trajectories.json"), "w") as f:
    json.dump(out, f, indent=1)
print({k: (round(v[0], 4), round(v[-1], 4)) for k, v in out.items()})
