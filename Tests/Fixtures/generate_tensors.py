#!/usr/bin/env python3
"""Reference outputs and gradients of the tensor ops, from PyTorch, for Tests/TensorsTests/TorchParityTests.swift.

Run: /tmp/ref/bin/python Tests/Fixtures/generate_tensors.py  (needs torch and numpy) → Tests/Fixtures/tensors/ops.json

Each case: named float32 inputs (fixed seed), integer/bool arguments, the op's output, and for every float input
the gradient of sum(output * w) for the case's fixed weight tensor w (same shape as the output).
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tensors")
rng = np.random.default_rng(20261126)


def floats(*shape, low=-2.0, high=2.0):
    return torch.tensor(rng.uniform(low, high, size=shape), dtype=torch.float32, requires_grad=True)


def pack(t):
    t = t.detach()
    return {"shape": list(t.shape), "values": [float(v) for v in t.reshape(-1).tolist()]}


cases = []


def case(name, inputs, fn, extra=None):
    out = fn(**inputs)
    w = torch.tensor(rng.uniform(-1, 1, size=tuple(out.shape)), dtype=torch.float32)
    (out * w).sum().backward()
    cases.append({
        "name": name,
        "inputs": {k: pack(v) for k, v in inputs.items()},
        "extra": extra or {},
        "weight": pack(w),
        "output": pack(out),
        "grads": {k: pack(v.grad) for k, v in inputs.items() if v.grad is not None},
    })


def optimizers():
    """Five steps of each optimizer on loss = mean((x p + b − y)²), from the same start; schedules' factors."""
    start = {"p": rng.uniform(-1, 1, size=(3, 4)), "b": rng.uniform(-1, 1, size=(4,)),
             "x": rng.uniform(-1, 1, size=(5, 3)), "y": rng.uniform(-1, 1, size=(5, 4))}
    results = {}
    setups = {
        "sgd_momentum": lambda p, b: torch.optim.SGD([p, b], lr=0.1, momentum=0.9, weight_decay=0.01),
        "sgd_nesterov": lambda p, b: torch.optim.SGD([p, b], lr=0.05, momentum=0.8, nesterov=True),
        "adam": lambda p, b: torch.optim.Adam([p, b], lr=0.01, weight_decay=0.01),
        "adamw_groups_clipped": lambda p, b: torch.optim.AdamW(
            [{"params": [p], "weight_decay": 0.1}, {"params": [b], "weight_decay": 0.0}], lr=0.02),
    }
    for name, make in setups.items():
        p = torch.tensor(start["p"], dtype=torch.float32, requires_grad=True)
        b = torch.tensor(start["b"], dtype=torch.float32, requires_grad=True)
        x = torch.tensor(start["x"], dtype=torch.float32)
        y = torch.tensor(start["y"], dtype=torch.float32)
        optimizer = make(p, b)
        norms = []
        for _ in range(5):
            optimizer.zero_grad()
            loss = ((x @ p + b - y) ** 2).mean()
            loss.backward()
            if "clipped" in name:
                norms.append(float(torch.nn.utils.clip_grad_norm_([p, b], 0.05)))
            optimizer.step()
        results[name] = {"p": pack(p), "b": pack(b), "norms": norms}
    # Schedules: the multiplier at steps 0..11, and ReduceLROnPlateau's rate after each metric.
    model = torch.nn.Linear(1, 1)
    factors = {}
    for name, make in [
        ("linear", lambda o: __import__("transformers").get_linear_schedule_with_warmup(o, 3, 10)),
        ("cosine", lambda o: __import__("transformers").get_cosine_schedule_with_warmup(o, 3, 10)),
    ]:
        optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
        scheduler = make(optimizer)
        values = []
        for _ in range(12):
            values.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
        factors[name] = values
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=2, cooldown=1)
    metrics = [5, 4, 4, 4, 4, 3.9999, 3.9999, 3.9999, 3.9999, 3, 3, 3, 3, 3, 3]
    plateau_rates = []
    for metric in metrics:
        plateau.step(metric)
        plateau_rates.append(optimizer.param_groups[0]["lr"])
    return {"start": {k: pack(torch.tensor(v)) for k, v in start.items()}, "results": results,
            "schedules": factors, "plateau": {"metrics": metrics, "rates": plateau_rates}}


def lstm():
    """nn.LSTM(3, 4, batch_first=True) on [2, 5, 3]: weights, output, h_n, c_n and gradients of Σ output·w."""
    torch.manual_seed(5)
    layer = torch.nn.LSTM(3, 4, batch_first=True)
    x = floats(2, 5, 3)
    out, (h, c) = layer(x)
    w = torch.tensor(rng.uniform(-1, 1, size=tuple(out.shape)), dtype=torch.float32)
    (out * w).sum().backward()
    return {"weights": {k: pack(v) for k, v in layer.state_dict().items()}, "input": pack(x), "weight": pack(w),
            "output": pack(out), "hidden": pack(h[0]), "cell": pack(c[0]), "input_grad": pack(x.grad),
            "grads": {k: pack(v.grad) for k, v in layer.named_parameters()}}


def main():
    torch.manual_seed(0)
    case("add_broadcast", {"a": floats(2, 3, 4), "b": floats(4)}, lambda a, b: a + b)
    case("mul_broadcast", {"a": floats(2, 3, 4), "b": floats(3, 1)}, lambda a, b: a * b)
    case("div", {"a": floats(3, 4), "b": floats(3, 4, low=0.5, high=2)}, lambda a, b: a / b)
    case("matmul", {"a": floats(5, 7), "b": floats(7, 3)}, lambda a, b: a @ b)
    case("matmul_batched_broadcast", {"a": floats(2, 4, 6), "b": floats(6, 5)}, lambda a, b: a @ b)
    case("matmul_transposed", {"a": floats(2, 3, 5, 4), "b": floats(2, 3, 6, 4)}, lambda a, b: a @ b.transpose(-1, -2))
    case("sum_axis", {"x": floats(3, 4, 5)}, lambda x: x.sum(dim=1))
    case("mean_keep", {"x": floats(3, 4, 5)}, lambda x: x.mean(dim=-1, keepdim=True))
    case("max_axis", {"x": floats(3, 4, 5)}, lambda x: x.max(dim=2).values)
    case("exp", {"x": floats(4, 5)}, lambda x: torch.exp(x))
    case("log", {"x": floats(4, 5, low=0.1, high=3)}, lambda x: torch.log(x))
    case("tanh", {"x": floats(4, 5)}, lambda x: torch.tanh(x))
    case("sigmoid", {"x": floats(4, 5, low=-6, high=6)}, lambda x: torch.sigmoid(x))
    case("relu", {"x": floats(4, 5)}, lambda x: F.relu(x))
    case("gelu", {"x": floats(4, 5, low=-4, high=4)}, lambda x: F.gelu(x))
    case("gelu_tanh", {"x": floats(4, 5, low=-4, high=4)}, lambda x: F.gelu(x, approximate="tanh"))
    case("softmax", {"x": floats(3, 7, low=-5, high=5)}, lambda x: F.softmax(x, dim=-1))
    case("softmax_axis0", {"x": floats(3, 7)}, lambda x: F.softmax(x, dim=0))
    case("log_softmax", {"x": floats(3, 7, low=-5, high=5)}, lambda x: F.log_softmax(x, dim=-1))
    case("layer_norm", {"x": floats(2, 3, 8), "w": floats(8), "b": floats(8)},
         lambda x, w, b: F.layer_norm(x, (8,), w, b, eps=1e-12), {"eps": 1e-12})
    ids = [[3, 0, 5], [5, 5, 1]]
    case("embedding", {"table": floats(7, 4)}, lambda table: F.embedding(torch.tensor(ids), table), {"ids": ids})
    index = [[0, 2], [1, 1], [3, 0]]
    case("gather", {"x": floats(3, 4)}, lambda x: torch.gather(x, 1, torch.tensor(index)), {"index": index})
    mask = [[True, False, False, True]]
    case("masked_fill", {"x": floats(3, 4)}, lambda x: x.masked_fill(torch.tensor(mask), -3.5), {"mask": mask})
    case("cat", {"a": floats(2, 3), "b": floats(2, 2)}, lambda a, b: torch.cat([a, b], dim=1))
    case("stack", {"a": floats(2, 3), "b": floats(2, 3)}, lambda a, b: torch.stack([a, b], dim=1))
    targets = [2, -100, 4, 0, 1]
    case("cross_entropy", {"logits": floats(5, 6)},
         lambda logits: F.cross_entropy(logits, torch.tensor(targets)), {"targets": targets})
    case("cross_entropy_smoothing", {"logits": floats(5, 6)},
         lambda logits: F.cross_entropy(logits, torch.tensor(targets), label_smoothing=0.1),
         {"targets": targets, "smoothing": 0.1})
    case("mse", {"a": floats(3, 4), "b": floats(3, 4)}, lambda a, b: F.mse_loss(a, b))
    case("bce_with_logits", {"x": floats(3, 4), "y": floats(3, 4, low=0, high=1)},
         lambda x, y: F.binary_cross_entropy_with_logits(x, y))
    keep = [[[[True, True, True, False, False]]], [[[True, True, True, True, True]]]]
    case("attention_padding", {"q": floats(2, 2, 3, 4), "k": floats(2, 2, 5, 4), "v": floats(2, 2, 5, 4)},
         lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=torch.tensor(keep)), {"mask": keep})
    case("attention_causal", {"q": floats(1, 2, 4, 8), "k": floats(1, 2, 4, 8), "v": floats(1, 2, 4, 8)},
         lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True))
    # Rows long enough for the vectorized float32 paths (8 lanes and a tail).
    case("softmax_long", {"x": floats(3, 37, low=-8, high=8)}, lambda x: F.softmax(x, dim=-1))
    case("gelu_long", {"x": floats(5, 29, low=-6, high=6)}, lambda x: F.gelu(x))
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "optim.json"), "w") as f:
        json.dump(optimizers(), f, separators=(",", ":"))
    with open(os.path.join(OUT, "lstm.json"), "w") as f:
        json.dump(lstm(), f, separators=(",", ":"))
    with open(os.path.join(OUT, "ops.json"), "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f, separators=(",", ":"))
    print(f"{len(cases)} cases, {os.path.getsize(os.path.join(OUT, 'ops.json')) / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
