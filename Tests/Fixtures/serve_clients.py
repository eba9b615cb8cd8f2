"""The Python clients users have, against a running `hub serve`, nothing changed but the base URL.

usage: serve_clients.py BASE_URL REFERENCE.json

REFERENCE.json holds what the library computes for the same inputs (`hub run --task embed --json`, `hub generate
--greedy --json`): {"embed_model", "texts", "embeddings", "lm_model", "prompt", "max_tokens", "completion"}.
Checks, with the `openai` package: embeddings.create (its default base64 encoding, and floats), completions.create
greedy with and without stream=True; with huggingface_hub: InferenceClient(base_url).feature_extraction. Prints one
JSON line of results; exits 1 on any mismatch (embeddings within 1e-5, completions identical).
"""

import json
import sys

import numpy as np
import openai
from huggingface_hub import InferenceClient

TOLERANCE = 1e-5


def main() -> int:
    base, reference_path = sys.argv[1], sys.argv[2]
    with open(reference_path) as handle:
        reference = json.load(handle)
    expected = np.array(reference["embeddings"], dtype=np.float32)
    failures = []
    results = {"openai": openai.__version__}

    client = openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0)
    for encoding_format in (None, "float"):
        kwargs = {} if encoding_format is None else {"encoding_format": encoding_format}
        response = client.embeddings.create(model=reference["embed_model"], input=reference["texts"], **kwargs)
        got = np.array([item.embedding for item in response.data], dtype=np.float32)
        difference = float(np.abs(got - expected).max())
        results[f"embeddings_{encoding_format or 'default'}_max_difference"] = difference
        if got.shape != expected.shape or difference > TOLERANCE:
            failures.append(f"openai embeddings ({encoding_format or 'default'}): difference {difference}")
        if response.usage.prompt_tokens <= 0:
            failures.append("openai embeddings: no usage.prompt_tokens")

    completion = client.completions.create(
        model=reference["lm_model"], prompt=reference["prompt"], max_tokens=reference["max_tokens"], temperature=0
    )
    results["completion"] = completion.choices[0].text
    if completion.choices[0].text != reference["completion"]:
        failures.append(f"openai completion {completion.choices[0].text!r} != {reference['completion']!r}")
    if completion.usage.completion_tokens != reference["max_tokens"]:
        failures.append(f"openai completion usage {completion.usage}")

    pieces, reasons = [], []
    stream = client.completions.create(
        model=reference["lm_model"],
        prompt=reference["prompt"],
        max_tokens=reference["max_tokens"],
        temperature=0,
        stream=True,
    )
    for chunk in stream:
        for choice in chunk.choices:
            pieces.append(choice.text)
            if choice.finish_reason:
                reasons.append(choice.finish_reason)
    results["stream_chunks"] = len(pieces)
    if "".join(pieces) != reference["completion"] or reasons != ["length"]:
        failures.append(f"openai stream {''.join(pieces)!r} {reasons} != {reference['completion']!r}")

    hf = InferenceClient(base_url=base)
    features = np.asarray(hf.feature_extraction(reference["texts"][0]), dtype=np.float32).reshape(-1)
    difference = float(np.abs(features - expected[0]).max())
    results["feature_extraction_max_difference"] = difference
    if features.shape != expected[0].shape or difference > TOLERANCE:
        failures.append(f"huggingface_hub feature_extraction: difference {difference}, shape {features.shape}")

    results["failures"] = failures
    print(json.dumps(results))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
