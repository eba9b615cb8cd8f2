#!/usr/bin/env python3
"""Runs `hub export --format onnx` graphs through onnx and ONNX Runtime for ModelsTests (ONNXExportTests):

    python check_onnx.py JOB.json RESULT.json

JOB: {"cases": [{"key", "model": path to model.onnx, "batches": [{"inputs": {name: nested int lists}}],
"past": {"layers", "heads", "head_size"} (a causal LM with past key/values), "generate": [{"prompts", "steps"}]}]}.

For each case: onnx.checker.check_model(full_check=True) and strict shape inference, then an InferenceSession (CPU,
default optimizations) on each batch — a causal LM gets pasts of length 0 and position_ids 0…T−1, as its first
step does — and, for "generate", greedy decoding with the cache as optimum's ORTModelForCausalLM and transformers'
generate run it (prompts left-padded, position_ids from the mask, one token per step, presents fed back).
RESULT: {key: {"error"?: str, "outputs": [{name: {"shape", "values"}}], "generated": [[[ids]]]}}.
"""
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort


def run_case(case):
    result = {}
    model = onnx.load(case["model"])
    onnx.checker.check_model(case["model"], full_check=True)
    onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    session = ort.InferenceSession(case["model"], providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    past = case.get("past")

    def empty_past(rows):
        shape = (rows, past["heads"], 0, past["head_size"])
        return {f"past_key_values.{i}.{kind}": np.zeros(shape, np.float32)
                for i in range(past["layers"]) for kind in ("key", "value")}

    outputs = []
    for batch in case["batches"]:
        feeds = {k: np.array(v, dtype=np.int64) for k, v in batch["inputs"].items()}
        if past:
            rows, width = feeds["input_ids"].shape
            feeds["position_ids"] = np.tile(np.arange(width, dtype=np.int64), (rows, 1))
            feeds.update(empty_past(rows))
        values = session.run(None, feeds)
        outputs.append({n: {"shape": list(v.shape), "values": v.reshape(-1).tolist()}
                        for n, v in zip(names, values) if not n.startswith("present.")})
    result["outputs"] = outputs

    generated = []
    for job in case.get("generate", []):
        prompts, pad = job["prompts"], job.get("pad", 0)
        width = max(len(p) for p in prompts)
        ids = np.array([[pad] * (width - len(p)) + p for p in prompts], dtype=np.int64)
        mask = np.array([[0] * (width - len(p)) + [1] * len(p) for p in prompts], dtype=np.int64)
        positions = np.where(mask == 0, 1, np.cumsum(mask, axis=1) - 1)
        feeds = {"input_ids": ids, "attention_mask": mask, "position_ids": positions, **empty_past(len(prompts))}
        tokens = []
        for _ in range(job["steps"]):
            values = dict(zip(names, session.run(None, feeds)))
            chosen = values["logits"][:, -1, :].argmax(-1).astype(np.int64)
            tokens.append(chosen.tolist())
            mask = np.concatenate([mask, np.ones((len(prompts), 1), np.int64)], axis=1)
            feeds = {"input_ids": chosen[:, None], "attention_mask": mask,
                     "position_ids": feeds["position_ids"][:, -1:] + 1}
            for i in range(past["layers"]):
                for kind in ("key", "value"):
                    feeds[f"past_key_values.{i}.{kind}"] = values[f"present.{i}.{kind}"]
        generated.append(np.array(tokens).T.tolist())
    result["generated"] = generated
    return result


def main():
    with open(sys.argv[1]) as f:
        job = json.load(f)
    results = {}
    for case in job["cases"]:
        try:
            results[case["key"]] = run_case(case)
        except Exception as error:  # reported per case, so one bad graph does not hide the others
            results[case["key"]] = {"error": f"{type(error).__name__}: {error}"}
    with open(sys.argv[2], "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
