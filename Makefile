# ModelHub — build, test, demo and benchmark entry points. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
SWIFT ?= swift
DEB_PACKAGES := libopenblas-dev libcurl4-openssl-dev libzstd-dev libsqlite3-dev libssl-dev
DEMO_DIR := .demo

.PHONY: deps build release test lint format demo bench fuzz sanitize registry clean

# Installs only the Debian packages that are missing (needs root or sudo when any is missing).
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
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
LINTED := Sources $(wildcard Tests/*Tests) Tests/FuzzTesting/Sources Tests/FuzzTesting/Package.swift Benchmarks Package.swift

test: deps lint
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --parallel

# End to end, offline, on committed fixtures: catalog search; a tiny BERT by name from a Hugging Face cache → .mhub;
# a PyTorch .bin → f16 + zstd .mhub; inspect and verify; export as an HF folder; convert back and compare.
demo: release
	@rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	@bin=$$($(SWIFT) build -c release --show-bin-path)/hub; set -e; \
	echo "== hub search roberta   (the built-in catalog)"; \
	$$bin search roberta; \
	echo; echo "== hub convert modelhub-test/tiny-bert   (by name, from a cache huggingface_hub wrote: Tests/Fixtures/hf-cache)"; \
	HF_HUB_CACHE=Tests/Fixtures/hf-cache $$bin convert modelhub-test/tiny-bert -o $(DEMO_DIR)/tiny-bert.mhub; \
	echo; echo "== hub convert Tests/Fixtures/models/tiny-gpt2/pytorch_model.bin --dtype f16 --compress zstd"; \
	$$bin convert Tests/Fixtures/models/tiny-gpt2/pytorch_model.bin -o $(DEMO_DIR)/tiny-gpt2-f16.mhub --dtype f16 --compress zstd; \
	echo; echo "== hub inspect $(DEMO_DIR)/tiny-bert.mhub (first lines)"; \
	$$bin inspect $(DEMO_DIR)/tiny-bert.mhub | head -n 12; \
	echo; echo "== hub inspect --verify $(DEMO_DIR)/tiny-gpt2-f16.mhub (every byte read, every checksum checked)"; \
	$$bin inspect --verify $(DEMO_DIR)/tiny-gpt2-f16.mhub | tail -n 1; \
	echo; echo "== hub export $(DEMO_DIR)/tiny-bert.mhub -o $(DEMO_DIR)/tiny-bert-hf"; \
	$$bin export $(DEMO_DIR)/tiny-bert.mhub -o $(DEMO_DIR)/tiny-bert-hf; \
	ls -l $(DEMO_DIR)/tiny-bert-hf; \
	echo; echo "== round trip: the exported folder converts back to the same tensors"; \
	$$bin convert $(DEMO_DIR)/tiny-bert-hf -o $(DEMO_DIR)/roundtrip.mhub > /dev/null; \
	$$bin inspect --json $(DEMO_DIR)/tiny-bert.mhub | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["tensors"]))' > $(DEMO_DIR)/a.json; \
	$$bin inspect --json $(DEMO_DIR)/roundtrip.mhub | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["tensors"]))' > $(DEMO_DIR)/b.json; \
	cmp $(DEMO_DIR)/a.json $(DEMO_DIR)/b.json && echo "tensor table identical ($$(python3 -c 'import json; print(len(json.load(open("$(DEMO_DIR)/a.json"))))') tensors)"

# Conversion throughput and open time on a BERT-base-sized random checkpoint (made by the benchmark itself),
# beside PyTorch when PEER_PYTHON (default: the reference venv /tmp/ref, else python3) has torch.
PEER_PYTHON ?= $(shell test -x /tmp/ref/bin/python && echo /tmp/ref/bin/python || echo python3)
bench: release
	PEER_PYTHON=$(PEER_PYTHON) $(SWIFT) run -c release --skip-build FormatsBench

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
