#!/usr/bin/env python3
"""PyTorch side of `make bench` (FormatsBench): the conversion and open jobs ModelHub times, done the Python way
on the same files. Prints one JSON object of median seconds. Usage: peer_formats.py SAFETENSORS BIN SCRATCH"""
import json
import os
import statistics
import sys
import time

import safetensors
import safetensors.torch
import torch

torch.set_num_threads(2)
safetensors_path, bin_path, scratch = sys.argv[1:4]


def median_time(runs, job):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bin_to_safetensors():
    state = torch.load(bin_path, map_location="cpu", weights_only=True)
    safetensors.torch.save_file(state, os.path.join(scratch, "peer.safetensors"), metadata={"format": "pt"})


def safetensors_roundtrip():
    safetensors.torch.save_file(safetensors.torch.load_file(safetensors_path), os.path.join(scratch, "peer.safetensors"),
                                metadata={"format": "pt"})


def safe_open():
    with safetensors.safe_open(safetensors_path, framework="pt") as f:
        f.keys()


def torch_load_mmap():
    torch.load(bin_path, map_location="cpu", weights_only=True, mmap=True)


result = {
    "versions": f"torch {torch.__version__}, safetensors {safetensors.__version__}",
    "bin_to_safetensors": median_time(3, bin_to_safetensors),
    "safetensors_roundtrip": median_time(3, safetensors_roundtrip),
    "safe_open": median_time(50, safe_open),
    "torch_load_mmap": median_time(20, torch_load_mmap),
}
os.remove(os.path.join(scratch, "peer.safetensors"))
print(json.dumps(result))
