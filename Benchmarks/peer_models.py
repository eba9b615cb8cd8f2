#!/usr/bin/env python3
"""transformers side of ModelsBench: the same models and shapes, 2 threads, median of runs after a warm-up; prints
`name<TAB>value` lines. Arguments: the all-MiniLM-L6-v2 folder, then optionally the parts to run (load, forward,
train, generate, finetune, int8, memory, archs; all when none is named). int8: BERT-base's forward and GPT-2's greedy
tokens in float32 and after `torch.ao.quantization.quantize_dynamic(model, {nn.Linear},
dtype=torch.qint8)` (GPT-2's blocks are transformers' Conv1D, which quantize_dynamic leaves in float32: only its LM
head becomes int8), and BERT-base's forward in ONNX Runtime after its own dynamic int8 quantization."""
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
only = set(sys.argv[2:])


def wanted(part):
    return not only or part in only


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
if wanted("archs"):
    # MPNet-base at 8 × 128 and ModernBERT-base at 1 × 512 and 8 × 512 (random weights, the released shapes).
    mpnet = transformers.MPNetModel(transformers.MPNetConfig(
        vocab_size=30527, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
        max_position_embeddings=514, hidden_dropout_prob=0, attention_probs_dropout_prob=0)).eval()
    x = ids(8, 128, 30527)
    with torch.no_grad():
        print(f"mpnet forward 8x128\t{median(3, lambda: mpnet(input_ids=x)):.4f}", flush=True)
    del mpnet
    modernbert = transformers.ModernBertModel(transformers.ModernBertConfig(
        vocab_size=50368, hidden_size=768, num_hidden_layers=22, num_attention_heads=12, intermediate_size=1152,
        max_position_embeddings=8192, local_attention=128, global_attn_every_n_layers=3)).eval()
    for batch in (1, 8):
        x = ids(batch, 512, 50368)
        with torch.no_grad():
            seconds = median(3 if batch == 1 else 1, lambda: modernbert(input_ids=x))
        print(f"modernbert forward {batch}x512\t{seconds:.4f}", flush=True)
    # Eight texts of 512, 448, ... 64 tokens padded to 512, as a tokenizer pads a batch.
    mask = torch.tensor([[1] * n + [0] * (512 - n) for n in range(512, 0, -64)])
    x = ids(8, 512, 50368)
    with torch.no_grad():
        seconds = median(1, lambda: modernbert(input_ids=x, attention_mask=mask))
    print(f"modernbert forward 8x512 padded\t{seconds:.4f}", flush=True)
if wanted("train"):
    model = transformers.BertForMaskedLM(bert).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.01)
    x = ids(8, 128, 30522)

    def step():
        optimizer.zero_grad()
        model(input_ids=x, labels=x).loss.backward()
        optimizer.step()

    print(f"bert train 8x128\t{median(3, step):.4f}", flush=True)
    if only == {"train"}:
        import resource
        print(f"bert train peak MB\t{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}", flush=True)
if wanted("generate"):
    config = transformers.GPT2Config(resid_pdrop=0, attn_pdrop=0, embd_pdrop=0)
    model = transformers.GPT2LMHeadModel(config).eval()
    prompt = ids(1, 8, 50257)
    with torch.no_grad():
        seconds = median(3, lambda: model.generate(prompt, max_new_tokens=32, min_new_tokens=32, do_sample=False,
                                                   pad_token_id=0))
    print(f"gpt2 greedy tokens/s\t{32 / seconds:.2f}", flush=True)
def ort_int8_forward():
    """ONNX Runtime's dynamic int8: `onnxruntime.quantization.quantize_dynamic` (QInt8 weights) of a `torch.onnx.export`
    of the same BERT-base, run with 2 intra-op threads. onnxruntime and onnx are pip-installed when missing; without
    them the part is skipped with a note on stderr."""
    import subprocess
    import tempfile
    try:
        import onnx  # noqa: F401
        import onnxruntime
    except ImportError:
        installed = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "onnx", "onnxruntime"],
                                   capture_output=True).returncode == 0
        if not installed:
            print("ONNX Runtime peer skipped: pip could not install onnx and onnxruntime", file=sys.stderr)
            return
        import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    class LastHiddenState(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids):
            return self.model(input_ids=input_ids).last_hidden_state

    with tempfile.TemporaryDirectory() as folder:
        model = transformers.BertModel(bert).eval()
        torch.onnx.export(LastHiddenState(model), (ids(1, 128, 30522),), f"{folder}/bert.onnx", dynamo=False,
                          input_names=["input_ids"], output_names=["last_hidden_state"], opset_version=17,
                          dynamic_axes={"input_ids": {0: "batch", 1: "length"}})
        quantize_dynamic(f"{folder}/bert.onnx", f"{folder}/bert-int8.onnx", weight_type=QuantType.QInt8)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 2
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(f"{folder}/bert-int8.onnx", options,
                                               providers=["CPUExecutionProvider"])
        for batch in (1, 8):
            x = ids(batch, 128, 30522).numpy()
            seconds = median(5 if batch == 1 else 3, lambda: session.run(None, {"input_ids": x}))
            print(f"ort int8 forward {batch}x128\t{seconds:.4f}", flush=True)


if wanted("int8"):
    # Beside ModelsBench's precisions: float32 and quantize_dynamic. (PyTorch's own bfloat16 is left out: without
    # AVX-512 BF16 its CPU kernels take minutes a round; the issue measures our bf16 against PyTorch's float32.)
    def reduced(model, dtype):
        if dtype == "int8":
            return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        return model

    for dtype in ("f32", "int8"):
        model = reduced(transformers.BertModel(bert).eval(), dtype)
        for batch in (1, 8):
            x = ids(batch, 128, 30522)
            with torch.no_grad():
                seconds = median(5 if batch == 1 else 3, lambda: model(input_ids=x))
            print(f"bert {dtype} forward {batch}x128\t{seconds:.4f}", flush=True)
    ort_int8_forward()
    config = transformers.GPT2Config(resid_pdrop=0, attn_pdrop=0, embd_pdrop=0)
    for dtype in ("f32", "int8"):
        model = reduced(transformers.GPT2LMHeadModel(config).eval(), dtype)
        prompt = ids(1, 8, 50257)
        with torch.no_grad():
            seconds = median(3, lambda: model.generate(prompt, max_new_tokens=32, min_new_tokens=32,
                                                       do_sample=False, pad_token_id=0))
        print(f"gpt2 {dtype} greedy tokens/s\t{32 / seconds:.2f}", flush=True)
if wanted("memory"):
    # Resident memory after loading BERT-base and one forward, in a fresh interpreter per precision (as ModelsBench
    # does): float32, bfloat16 weights (model.to(torch.bfloat16)) and quantize_dynamic's int8 Linear layers.
    import subprocess
    child = """
import sys, torch, transformers
torch.set_num_threads(2)
transformers.logging.set_verbosity_error()
model = transformers.BertModel(transformers.BertConfig(vocab_size=30522, hidden_size=768, num_hidden_layers=12,
    num_attention_heads=12, intermediate_size=3072, type_vocab_size=2)).eval()
if sys.argv[1] == "bf16":
    model = model.to(torch.bfloat16)
elif sys.argv[1] == "int8":
    model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
with torch.no_grad():
    model(input_ids=torch.randint(1000, 30000, (1, 128)))
import gc; gc.collect()
print(int(open("/proc/self/statm").read().split()[1]) * 4096 / 1e6)
"""
    for dtype in ("f32", "bf16", "int8"):
        megabytes = float(subprocess.run([sys.executable, "-c", child, dtype], capture_output=True, text=True,
                                         check=True).stdout)
        print(f"bert {dtype} resident MB\t{megabytes:.1f}", flush=True)
if wanted("finetune") and os.path.isfile(os.path.join(minilm, "model.safetensors")):
    # The loop transformers' Trainer runs (AdamW without decay on biases and LayerNorm weights, linear schedule,
    # clipping at 1, evaluation each epoch), written out: Trainer itself needs accelerate.
    import csv
    import random
    rows = list(csv.DictReader(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures",
                                                 "training", "debian.csv"))))
    labels = sorted({r["label"] for r in rows})
    random.Random(1).shuffle(rows)
    validation, train = rows[:80], rows[80:]
    tokenizer = transformers.AutoTokenizer.from_pretrained(minilm)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(minilm, num_labels=len(labels))
    decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "LayerNorm" in n)]
    rest = [p for n, p in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0}], lr=1e-4)
    steps = 2 * ((len(train) + 15) // 16)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: max(0.0, (steps - s) / steps))

    def batch(items):
        encoded = tokenizer([r["text"] for r in items], padding=True, truncation=True, max_length=64, return_tensors="pt")
        encoded["labels"] = torch.tensor([labels.index(r["label"]) for r in items])
        return encoded

    start = time.perf_counter()
    for epoch in range(2):
        model.train()
        random.Random(epoch).shuffle(train)
        for i in range(0, len(train), 16):
            optimizer.zero_grad()
            model(**batch(train[i:i + 16])).loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
        model.eval()
        with torch.no_grad():
            for i in range(0, len(validation), 32):
                model(**batch(validation[i:i + 32]))
    print(f"minilm finetune examples/s\t{2 * len(train) / (time.perf_counter() - start):.2f}", flush=True)
