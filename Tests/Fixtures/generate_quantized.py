#!/usr/bin/env python3
"""What PyTorch's dynamic int8 quantization costs on the tiny parity models, for ModelsTests' int8 accuracy bound:

    /tmp/ref/bin/python Tests/Fixtures/generate_quantized.py

For each case below: the model from its parity folder (the weights of parity/reference.json), on 32 rows of 16 random
token ids (the last three rows padded by 2, 5 and 9 positions; stored, so both sides see the same), its float32
output, and the same after `torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)` —
GPT-2's Conv1D layers first rewritten as the equivalent nn.Linear, which quantize_dynamic would otherwise leave in
float32. Writes Tests/Fixtures/parity/quantized.json: per case the output compared, the largest absolute
difference from float32 and the cosine between the two (flattened), and torch's version.
"""
import json
import os

import torch
import transformers
from transformers.pytorch_utils import Conv1D

ROOT = os.path.dirname(os.path.abspath(__file__))
CASES = {
    "parity/bert-base": (transformers.BertModel, "last_hidden_state"),
    "parity/bert-sequence-classification": (transformers.BertForSequenceClassification, "logits"),
    "parity/roberta-masked-lm": (transformers.RobertaForMaskedLM, "logits"),
    "parity/distilbert-token-classification": (transformers.DistilBertForTokenClassification, "logits"),
    "parity/gpt2-base as causal-lm": (transformers.GPT2LMHeadModel, "logits"),
}


def linear_from_conv1d(module):
    """Every transformers Conv1D (x·W + b, W [in, out]) as the nn.Linear computing the same."""
    for name, child in module.named_children():
        if isinstance(child, Conv1D):
            linear = torch.nn.Linear(child.weight.shape[0], child.weight.shape[1])
            linear.weight.data = child.weight.data.t().contiguous()
            linear.bias.data = child.bias.data.clone()
            setattr(module, name, linear)
        else:
            linear_from_conv1d(child)
    return module


def main():
    torch.manual_seed(0)
    reference = json.load(open(os.path.join(ROOT, "parity", "reference.json")))
    out = {"torch": torch.__version__}
    for key, (cls, output) in CASES.items():
        folder = os.path.join(ROOT, key.split(" as ")[0])
        model = cls.from_pretrained(folder).eval()
        generator = torch.Generator().manual_seed(len(out))
        low = 5
        ids = torch.randint(low, model.config.vocab_size, (32, 16), generator=generator)
        mask = torch.ones(32, 16, dtype=torch.long)
        for row, padding in [(29, 2), (30, 5), (31, 9)]:
            mask[row, 16 - padding:] = 0
            ids[row, 16 - padding:] = model.config.pad_token_id or 0
        given = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in reference[key]["inputs"]:
            given["token_type_ids"] = torch.zeros(32, 16, dtype=torch.long)
        with torch.no_grad():
            exact = getattr(model(**given), output).flatten()
            quantized = torch.ao.quantization.quantize_dynamic(
                linear_from_conv1d(model), {torch.nn.Linear}, dtype=torch.qint8)
            approximate = getattr(quantized(**given), output).flatten()
        out[key] = {
            "inputs": {name: value.tolist() for name, value in given.items()},
            "output": output,
            "max_abs": float((exact - approximate).abs().max()),
            "cosine": float(torch.nn.functional.cosine_similarity(exact, approximate, dim=0)),
        }
        print(key, out[key])
    with open(os.path.join(ROOT, "parity", "quantized.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
