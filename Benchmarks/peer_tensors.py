#!/usr/bin/env python3
"""PyTorch side of TensorsBench: the same BERT-base-shaped encoder (post-norm blocks, separate q/k/v/output
projections, exact GELU), 2 threads, median of runs after a warm-up; prints `name<TAB>seconds` lines."""
import statistics
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(2)
torch.manual_seed(0)


class Block(torch.nn.Module):
    def __init__(self, width=768, heads=12, ff=3072):
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value, self.output = (torch.nn.Linear(width, width) for _ in range(4))
        self.norm1, self.norm2 = torch.nn.LayerNorm(width, eps=1e-12), torch.nn.LayerNorm(width, eps=1e-12)
        self.intermediate, self.dense = torch.nn.Linear(width, ff), torch.nn.Linear(ff, width)

    def forward(self, x):
        b, t, c = x.shape
        split = lambda y: y.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        a = F.scaled_dot_product_attention(split(self.query(x)), split(self.key(x)), split(self.value(x)))
        h = self.norm1(x + self.output(a.transpose(1, 2).reshape(b, t, c)))
        return self.norm2(h + self.dense(F.gelu(self.intermediate(h))))


def median(runs, body):
    body()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        body()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


model = torch.nn.Sequential(*[Block() for _ in range(12)])
for batch in (1, 8):
    x = torch.randn(batch, 128, 768)
    with torch.no_grad():
        print(f"forward {batch}x128\t{median(5 if batch == 1 else 3, lambda: model(x)):.4f}", flush=True)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
x = torch.randn(8, 128, 768)


def step():
    optimizer.zero_grad()
    (model(x) ** 2).mean().backward()
    optimizer.step()


print(f"train 8x128\t{median(3, step):.4f}", flush=True)
