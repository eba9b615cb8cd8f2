#!/usr/bin/env python3
"""transformers side of ModelsBench: the same models and shapes, 2 threads, median of runs after a warm-up; prints
`name<TAB>value` lines. Arguments: the all-MiniLM-L6-v2 folder, then optionally one part (load, forward, train,
generate)."""
import os
import statistics
import sys
import time

import torch
import transformers

torch.set_num_threads(2)
torch.manual_seed(0)
transformers.logging.set_verbosity_error()
minilm = sys.argv[1]
only = sys.argv[2] if len(sys.argv) > 2 else None


def wanted(part):
    return only is None or only == part


def median(runs, body):
    body()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        body()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


if wanted("load") and os.path.isfile(os.path.join(minilm, "model.safetensors")):
    print(f"load minilm\t{median(5, lambda: transformers.AutoModel.from_pretrained(minilm)):.5f}", flush=True)

bert = transformers.BertConfig(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                               intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2,
                               hidden_dropout_prob=0, attention_probs_dropout_prob=0)


def ids(batch, length, vocabulary):
    return torch.randint(1000, vocabulary, (batch, length))


if wanted("forward"):
    model = transformers.BertModel(bert).eval()
    for batch in (1, 8):
        x = ids(batch, 128, 30522)
        with torch.no_grad():
            print(f"bert forward {batch}x128\t{median(5 if batch == 1 else 3, lambda: model(input_ids=x)):.4f}",
                  flush=True)
if wanted("train"):
    model = transformers.BertForMaskedLM(bert).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.01)
    x = ids(8, 128, 30522)

    def step():
        optimizer.zero_grad()
        model(input_ids=x, labels=x).loss.backward()
        optimizer.step()

    print(f"bert train 8x128\t{median(3, step):.4f}", flush=True)
if wanted("generate"):
    config = transformers.GPT2Config(resid_pdrop=0, attn_pdrop=0, embd_pdrop=0)
    model = transformers.GPT2LMHeadModel(config).eval()
    prompt = ids(1, 8, 50257)
    with torch.no_grad():
        seconds = median(3, lambda: model.generate(prompt, max_new_tokens=32, min_new_tokens=32, do_sample=False,
                                                   pad_token_id=0))
    print(f"gpt2 greedy tokens/s\t{32 / seconds:.2f}", flush=True)
