"""`make demo`'s client for `hub serve`: POST /v1/embeddings as the openai client sends it, then /metrics.

usage: demo_serve_client.py BASE_URL MODEL (standard library only)
"""

import json
import sys
import urllib.request

base, model = sys.argv[1], sys.argv[2]
texts = ["A man is eating food.", "A man is eating a piece of bread."]
request = urllib.request.Request(
    base + "/v1/embeddings",
    data=json.dumps({"model": model, "input": texts}).encode(),
    headers={"Content-Type": "application/json"},
)
reply = json.load(urllib.request.urlopen(request))
first, second = (item["embedding"] for item in reply["data"])
cosine = sum(x * y for x, y in zip(first, second))
print(f"POST /v1/embeddings: {len(reply['data'])} embeddings of {len(first)} values, cosine {cosine:.4f}, "
      f"usage {reply['usage']}")
metrics = urllib.request.urlopen(base + "/metrics").read().decode()
print("GET /metrics:", next(line for line in metrics.splitlines() if line.startswith("hub_requests_total")))
