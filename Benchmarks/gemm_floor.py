#!/usr/bin/env python3
"""The matrix-product floor of TensorsBench's training step: every product of one BERT-base encoder layer's
forward and backward at 8 × 128 (the four projections, the two feed-forward products, attention's per-head
products), timed through OpenBLAS's cblas_sgemm (what ModelHub calls, via ctypes) and through torch.matmul (MKL
here) on the same 2 threads, then summed over 12 layers. No step can take less than its products; this prints how
long they take with each library and what 0.75× of a given PyTorch step time would leave. (Layer 0's input
gradients through Q, K and V, which neither side computes, are counted: 0.7% of the total.)

Usage: /tmp/ref/bin/python Benchmarks/gemm_floor.py [PYTORCH_STEP_SECONDS]   (torch and numpy needed)
"""
import ctypes
import ctypes.util
import statistics
import sys
import time

import numpy as np
import torch

torch.set_num_threads(2)
blas = ctypes.CDLL(ctypes.util.find_library("openblas") or "libopenblas.so.0")
blas.openblas_set_num_threads(2)
blas.cblas_sgemm.argtypes = [ctypes.c_int] * 6 + [
    ctypes.c_float, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_float, ctypes.c_void_p,
    ctypes.c_int,
]
ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112


def median_seconds(body, runs=9):
    for _ in range(3):
        body()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        body()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def products(transpose_a, transpose_b, m, n, k, batches):
    """(OpenBLAS seconds, torch seconds) for `batches` products op(A)[m, k] · op(B)[k, n]."""
    a = np.random.randn(batches, *((k, m) if transpose_a else (m, k))).astype(np.float32)
    b = np.random.randn(batches, *((n, k) if transpose_b else (k, n))).astype(np.float32)
    c = np.zeros((batches, m, n), np.float32)
    ta, tb = (TRANS if transpose_a else NO_TRANS), (TRANS if transpose_b else NO_TRANS)
    lda, ldb = a.shape[2], b.shape[2]
    a_step, b_step, c_step = a[0].nbytes, b[0].nbytes, c[0].nbytes

    def openblas():
        for i in range(batches):
            blas.cblas_sgemm(ROW_MAJOR, ta, tb, m, n, k, 1.0, a.ctypes.data + i * a_step, lda,
                             b.ctypes.data + i * b_step, ldb, 0.0, c.ctypes.data + i * c_step, n)

    ta_t, tb_t = torch.from_numpy(a), torch.from_numpy(b)
    left = ta_t.transpose(1, 2) if transpose_a else ta_t
    right = tb_t.transpose(1, 2) if transpose_b else tb_t
    if batches == 1:
        left, right = left[0], right[0]
    return median_seconds(openblas), median_seconds(lambda: torch.matmul(left, right))


tokens, width, inner, heads, length = 1024, 768, 3072, 12, 128
depth, pairs = width // heads, 8 * heads
layer = [  # (name, transpose A, transpose B, m, n, k, batches, count per layer)
    ("projection x·Wᵀ", False, True, tokens, width, width, 1, 4),
    ("feed-forward in x·Wᵀ", False, True, tokens, inner, width, 1, 1),
    ("feed-forward out x·Wᵀ", False, True, tokens, width, inner, 1, 1),
    ("scores Q·Kᵀ (per head)", False, True, length, length, depth, pairs, 1),
    ("P·V (per head)", False, False, length, depth, length, pairs, 1),
    ("projection dX = G·W", False, False, tokens, width, width, 1, 4),
    ("projection dW = Gᵀ·X", True, False, width, width, tokens, 1, 4),
    ("feed-forward in dX", False, False, tokens, width, inner, 1, 1),
    ("feed-forward in dW", True, False, inner, width, tokens, 1, 1),
    ("feed-forward out dX", False, False, tokens, inner, width, 1, 1),
    ("feed-forward out dW", True, False, width, inner, tokens, 1, 1),
    ("dP = dO·Vᵀ (per head)", False, True, length, length, depth, pairs, 1),
    ("dV = Pᵀ·dO, dK = dSᵀ·Q (per head)", True, False, length, depth, length, pairs, 2),
    ("dQ = dS·K (per head)", False, False, length, depth, length, pairs, 1),
]
totals = [0.0, 0.0]
flops = 0.0
print(f"{'product':38} {'OpenBLAS':>16} {'torch (MKL)':>16}")
for name, transpose_a, transpose_b, m, n, k, batches, count in layer:
    seconds = products(transpose_a, transpose_b, m, n, k, batches)
    work = 2.0 * m * n * k * batches
    flops += work * count
    for side in range(2):
        totals[side] += seconds[side] * count
    print(f"{name:38} {work / seconds[0] / 1e9:9.1f} GFLOP/s {work / seconds[1] / 1e9:9.1f} GFLOP/s")
print(f"12 layers: {12 * flops / 1e9:.0f} GFLOP of products; OpenBLAS {12 * totals[0]:.2f} s "
      f"({flops / totals[0] / 1e9:.0f} GFLOP/s), torch/MKL {12 * totals[1]:.2f} s ({flops / totals[1] / 1e9:.0f} GFLOP/s)")
if len(sys.argv) > 1:
    step = float(sys.argv[1])
    print(f"0.75× of a {step:.2f} s PyTorch step is {0.75 * step:.2f} s: "
          f"{0.75 * step / (12 * totals[0]):.2f}× the time OpenBLAS needs for the products alone")
