"""PyTorch's side of `ModelsBench ddp`: fine-tune all-MiniLM-L6-v2 as a classifier of the Debian descriptions for one
epoch, the way a PyTorch user would spread it over processes — DistributedDataParallel with the gloo backend under
torchrun — or in one process when started without torchrun.

Usage: peer_ddp.py MODEL_DIR CSV THREADS_PER_PROCESS

The same work as ModelHub's run: 90% of the rows (the rest held out, not evaluated), global batch 16 split in
contiguous halves over the ranks, at most 64 tokens, batches of similar lengths (transformers' group_by_length:
shuffled, sorted by length within windows of 50 batches, the batches shuffled), AdamW (lr 5e-5, weight decay 0.01,
none on biases and LayerNorm weights), linear decay, gradient clipping at 1, dropout as the model's config says.
Rank 0 prints `examples/s<TAB>value`: examples per second over the training loop (model loading and tokenizing
excluded, as in ModelHub's figure).
"""

import csv
import os
import random
import sys
import time

import torch
import torch.distributed as dist
from tokenizers import Tokenizer
from transformers import AutoModelForSequenceClassification, get_linear_schedule_with_warmup

model_dir, csv_path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.set_num_threads(threads)
distributed = "RANK" in os.environ
if distributed:
    dist.init_process_group("gloo")
rank = dist.get_rank() if distributed else 0
world = dist.get_world_size() if distributed else 1

with open(csv_path, newline="") as handle:
    rows = list(csv.DictReader(handle))
labels = sorted({row["label"] for row in rows})
random.Random(1).shuffle(rows)
train = rows[: len(rows) - len(rows) // 10]

tokenizer = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
tokenizer.no_padding()
tokenizer.enable_truncation(64)
encoded = [(tokenizer.encode(row["text"]).ids, labels.index(row["label"])) for row in train]

batch_size = 16
generator = random.Random(42)
order = list(range(len(encoded)))
generator.shuffle(order)
window = batch_size * 50
order = [i for start in range(0, len(order), window) for i in sorted(order[start : start + window], key=lambda i: len(encoded[i][0]))]
batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
generator.shuffle(batches)

torch.manual_seed(0)
model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=len(labels))
model.train()
decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "LayerNorm" in n)]
no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=5e-5)
schedule = get_linear_schedule_with_warmup(optimizer, 0, len(batches))
if distributed:
    model = torch.nn.parallel.DistributedDataParallel(model)


def tensors(batch):
    length = max(len(encoded[i][0]) for i in batch)
    ids = torch.zeros(len(batch), length, dtype=torch.long)
    mask = torch.zeros(len(batch), length, dtype=torch.long)
    for row, i in enumerate(batch):
        tokens = encoded[i][0]
        ids[row, : len(tokens)] = torch.tensor(tokens)
        mask[row, : len(tokens)] = 1
    return ids, mask, torch.tensor([encoded[i][1] for i in batch])


if distributed:
    dist.barrier()
started = time.perf_counter()
examples = 0
for batch in batches:
    part = batch[len(batch) * rank // world : len(batch) * (rank + 1) // world]
    ids, mask, target = tensors(part)
    logits = model(input_ids=ids, attention_mask=mask).logits
    # Summed over the shard and divided by the global batch: DDP averages over ranks, so scale by the world size.
    loss = torch.nn.functional.cross_entropy(logits, target, reduction="sum") / len(batch) * world
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    schedule.step()
    optimizer.zero_grad(set_to_none=True)
    examples += len(batch)
if distributed:
    dist.barrier()
elapsed = time.perf_counter() - started
if rank == 0:
    print(f"examples/s\t{examples / elapsed}")
if distributed:
    dist.destroy_process_group()
