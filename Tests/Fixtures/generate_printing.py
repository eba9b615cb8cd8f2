#!/usr/bin/env python3
"""How PyTorch prints tensors (`repr`, default print options), for TensorsTests' description test.

    /tmp/ref/bin/python Tests/Fixtures/generate_printing.py

Writes Tests/Fixtures/tensors/printing.json: for each case the dtype, shape, values (as Python floats, exact for
every dtype used; "nan", "inf", "-inf" for the others), whether it requires grad, and `repr(tensor)`.
"""

import json
import math
import os

import torch

ROOT = os.path.dirname(os.path.abspath(__file__))


def cases():
    g = torch.Generator().manual_seed(11)
    yield "int64 vector", torch.tensor([1, 2, 3])
    yield "negative ints", torch.tensor([[-10, 2], [300, -4]])
    yield "float vector", torch.tensor([1.5, -2.25, 3.0])
    yield "integral floats", torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    yield "small and large: scientific", torch.tensor([1e-5, 1.0, 250.0])
    yield "huge: scientific", torch.tensor([1e9, -3.0])
    yield "integral scientific", torch.tensor([1e9, 2.0])
    yield "wrapped vector", torch.arange(30, dtype=torch.float32) / 7
    yield "random matrix", torch.randn(3, 5, generator=g)
    yield "rank 3", torch.randn(2, 3, 4, generator=g)
    yield "rank 4", torch.arange(16, dtype=torch.float32).reshape(2, 2, 2, 2)
    yield "summarized matrix", torch.arange(2000, dtype=torch.float32).reshape(40, 50) / 3
    yield "summarized vector", torch.arange(1100)
    yield "summarized rank 3", torch.randn(12, 10, 11, generator=g)
    yield "float64", torch.tensor([0.1, 0.2], dtype=torch.float64)
    yield "float16", torch.tensor([0.1, 65504.0, -2.0], dtype=torch.float16)
    yield "bfloat16", torch.tensor([0.1, 3.0], dtype=torch.bfloat16)
    yield "int32", torch.tensor([5, -6], dtype=torch.int32)
    yield "int8", torch.tensor([[5, -6]], dtype=torch.int8)
    yield "bool", torch.tensor([True, False, True])
    yield "scalar", torch.tensor(3.25)
    yield "int scalar", torch.tensor(7)
    yield "empty matrix", torch.zeros(0, 3)
    yield "empty vector", torch.zeros(0)
    yield "empty ints", torch.zeros(0, dtype=torch.int64)
    yield "zeros", torch.zeros(2, 2)
    yield "non-finite", torch.tensor([float("nan"), float("inf"), -float("inf"), 1.5, 0.0])
    yield "requires grad", torch.tensor([[0.5, 1.25]], requires_grad=True)
    yield "long rows with a suffix", torch.randn(2, 9, generator=g, dtype=torch.float64)


def encode(value):
    """Non-finite values as the strings "nan", "inf", "-inf" (JSON has no literal for them)."""
    return value if math.isfinite(value) else str(value)


def main():
    out = []
    for name, t in cases():
        out.append({"name": name, "dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape),
                    "values": [encode(float(v)) for v in t.detach().reshape(-1).tolist()],
                    "requires_grad": t.requires_grad, "repr": repr(t)})
    with open(os.path.join(ROOT, "tensors", "printing.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
