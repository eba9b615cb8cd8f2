#!/usr/bin/env python3
"""What transformers outputs for the ONNX export tests: every parity model (each architecture and head) at batch 1
and at a padded batch of 3, with the sentence embeddings of the base encoders.

    /tmp/ref/bin/python Tests/Fixtures/generate_onnx.py

Writes Tests/Fixtures/parity/onnx.json: for each case (a parity folder, "as causal-lm" for GPT-2's LM head), the
inputs of each batch (input_ids, attention_mask, token_type_ids for BERT; rows right-padded with the config's pad id,
299 for GPT-2) and transformers' outputs in eval mode (last_hidden_state, logits, start_logits/end_logits; for base
encoders also sentence_embedding: the mean over the mask, L2-normalised, sentence-transformers' recipe), rounded to 7
significant digits. GPT-2's greedy generation through ONNX Runtime is checked against parity/generation.json.
"""
import json
import os

import torch
import transformers

ROOT = os.path.dirname(os.path.abspath(__file__))
PARITY = os.path.join(ROOT, "parity")

CASES = [
    "bert-base", "bert-masked-lm", "bert-sequence-classification", "bert-token-classification",
    "bert-question-answering", "roberta-base", "roberta-masked-lm", "roberta-sequence-classification",
    "roberta-token-classification", "roberta-question-answering", "distilbert-base", "distilbert-sinusoidal",
    "distilbert-masked-lm", "distilbert-sequence-classification", "distilbert-token-classification",
    "distilbert-question-answering", "gpt2-base", "gpt2-sequence-classification", "gpt2-base as causal-lm",
    "xlm-roberta-base", "xlm-roberta-masked-lm", "xlm-roberta-sequence-classification",
    "xlm-roberta-token-classification", "xlm-roberta-question-answering",
]

ROWS = {
    "bert": [[2, 17, 45, 99, 3, 150, 8, 77, 3], [2, 31, 64, 12, 3], [2, 3]],
    "distilbert": [[2, 17, 45, 99, 3, 150, 8, 77, 3], [2, 31, 64, 12, 3], [2, 3]],
    "roberta": [[0, 17, 45, 299, 2, 2, 150, 8, 2], [0, 31, 64, 12, 2], [0, 2]],
    "gpt2": [[5, 17, 45, 298, 150, 8, 77, 3, 9], [31, 64, 12, 120, 250], [6, 7]],
}
ROWS["xlm-roberta"] = ROWS["roberta"]
SINGLE = {
    "bert": [2, 40, 41, 42, 3, 90, 3],
    "distilbert": [2, 40, 41, 42, 3, 90, 3],
    "roberta": [0, 40, 41, 42, 2, 2, 90, 2],
    "gpt2": [40, 41, 42, 3, 90, 11, 12],
}
SINGLE["xlm-roberta"] = SINGLE["roberta"]


def rounded(t):
    return [float(f"{v:.7g}") for v in t.detach().reshape(-1).tolist()]


def batch(arch, rows, pad):
    width = max(len(r) for r in rows)
    ids = [r + [pad] * (width - len(r)) for r in rows]
    mask = [[1] * len(r) + [0] * (width - len(r)) for r in rows]
    inputs = {"input_ids": ids, "attention_mask": mask}
    if arch == "bert":  # the second segment starts after the first [SEP] (id 3)
        inputs["token_type_ids"] = [[0 if 3 not in r[:i] else 1 for i in range(len(r))] for r in ids]
    return inputs


def main():
    out = {"transformers": transformers.__version__, "torch": torch.__version__, "cases": {}}
    for case in CASES:
        folder = case.split(" ")[0]
        path = os.path.join(PARITY, folder)
        config = transformers.AutoConfig.from_pretrained(path)
        class_name = "GPT2LMHeadModel" if case.endswith("as causal-lm") else config.architectures[0]
        model = getattr(transformers, class_name).from_pretrained(path).eval()
        arch = config.model_type
        pad = 299 if arch == "gpt2" else config.pad_token_id
        entry = {"class": class_name, "batches": []}
        for rows in ([SINGLE[arch]], ROWS[arch]):
            inputs = batch(arch, rows, pad)
            tensors = {k: torch.tensor(v) for k, v in inputs.items()}
            with torch.no_grad():
                result = model(**tensors)
            outputs = {}
            for name in ("last_hidden_state", "logits", "start_logits", "end_logits"):
                value = getattr(result, name, None)
                if value is not None:
                    outputs[name] = {"shape": list(value.shape), "values": rounded(value)}
            if class_name.endswith("Model") and arch != "gpt2":
                mask = tensors["attention_mask"].unsqueeze(-1).float()
                pooled = (result.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                outputs["sentence_embedding"] = {"shape": list(pooled.shape), "values": rounded(pooled)}
            entry["batches"].append({"inputs": inputs, "outputs": outputs})
        out["cases"]["parity/" + case] = entry
    with open(os.path.join(PARITY, "onnx.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
