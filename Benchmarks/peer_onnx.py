#!/usr/bin/env python3
"""ONNX Runtime side of ModelsBench's `onnx` part: our export of BERT-base beside torch.onnx.export's graph of the
same weights, in one process, alternating rounds. Prints `name<TAB>value` lines.

    peer_onnx.py FOLDER OURS.onnx [OURS_INT8.onnx] [ROUNDS]

FOLDER holds the weights (model.safetensors + config.json, what ModelsBench exported from). torch.onnx.export (the
TorchScript exporter at opset 17, as optimum runs it; dynamo=False) writes the peer graph, timed; with OURS_INT8,
onnxruntime.quantization.quantize_dynamic of that graph is the int8 peer. Every session: CPU, 2 intra-op threads,
ONNX Runtime's default optimizations. Each round times a median forward at 1 × 128 and 8 × 128 (inputs input_ids,
attention_mask, token_type_ids) for each graph in turn; the figures are medians over the rounds. The two graphs'
last_hidden_state are compared first (the largest absolute difference is printed).
"""
import statistics
import sys
import tempfile
import time

import numpy as np
import onnxruntime
import torch
import transformers

torch.set_num_threads(2)
transformers.logging.set_verbosity_error()
folder, ours = sys.argv[1], sys.argv[2]
ours_int8 = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3].endswith(".onnx") else None
rounds = int(sys.argv[-1]) if sys.argv[-1].isdigit() else 3


def median(runs, body):
    body()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        body()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def session(path):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def feeds(batch):
    generator = np.random.default_rng(3)
    ids = generator.integers(1000, 30522, size=(batch, 128), dtype=np.int64)
    return {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}


with tempfile.TemporaryDirectory() as scratch:
    class LastHiddenState(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    model = LastHiddenState(transformers.BertModel.from_pretrained(folder).eval())
    example = {k: torch.from_numpy(v) for k, v in feeds(1).items()}
    start = time.perf_counter()
    torch.onnx.export(model, tuple(example.values()), f"{scratch}/torch.onnx", dynamo=False, opset_version=17,
                      input_names=list(example), output_names=["last_hidden_state"],
                      dynamic_axes={**{k: {0: "batch_size", 1: "sequence_length"} for k in example},
                                    "last_hidden_state": {0: "batch_size", 1: "sequence_length"}})
    print(f"torch.onnx.export seconds\t{time.perf_counter() - start:.4f}", flush=True)
    graphs = {"ours": session(ours), "torch": session(f"{scratch}/torch.onnx")}
    if ours_int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic
        quantize_dynamic(f"{scratch}/torch.onnx", f"{scratch}/torch-int8.onnx", weight_type=QuantType.QInt8)
        graphs["ours int8"] = session(ours_int8)
        graphs["torch int8"] = session(f"{scratch}/torch-int8.onnx")

    x = feeds(8)
    reference = graphs["torch"].run(["last_hidden_state"], x)[0]
    print(f"ours vs torch max abs\t{np.abs(graphs['ours'].run(['last_hidden_state'], x)[0] - reference).max():.3g}")
    if ours_int8:
        def cosine(a, b):
            return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))
        for name in ("ours int8", "torch int8"):
            value = graphs[name].run(["last_hidden_state"], x)[0]
            print(f"{name} max abs from f32\t{np.abs(value - reference).max():.4g}")
            print(f"{name} cosine to f32\t{cosine(value, reference):.6f}")

    figures = {}
    for _ in range(rounds):
        for name, graph in graphs.items():
            for batch in (1, 8):
                inputs = feeds(batch)
                seconds = median(7 if batch == 1 else 3, lambda: graph.run(None, inputs))
                figures.setdefault(f"{name} forward {batch}x128", []).append(seconds)
    for name, values in figures.items():
        print(f"{name}\t{statistics.median(values):.5f}", flush=True)
