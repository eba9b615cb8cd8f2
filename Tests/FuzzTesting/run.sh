#!/usr/bin/env bash
# Builds the libFuzzer harnesses (debug, address sanitizer) and runs each for SECONDS (default 60), seeded from
# the committed fixtures. A finding is copied to FailCases/<harness>/ and the script exits non-zero; once fixed, the
# input joins Tests/Fixtures/bad (generate.py) so the normal test suite replays it. Usage: ./run.sh [SECONDS] [HARNESS...]
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
shift || true
harnesses=${*:-FuzzSafeTensors FuzzTorch FuzzMHub FuzzJSON FuzzConfig FuzzTokenizer FuzzServe FuzzSentenceModules}
fixtures=../Fixtures
swift build -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library 2>&1 | grep -Ev "ld.gold: warning" || true
bin=$(swift build -c debug --show-bin-path)
# Swift traps must reach libFuzzer as signals so it writes the reproducer (docs/ARCHITECTURE.md (defences) 3.2).
export SWIFT_BACKTRACE=enable=no
# -detect_leaks=0 below stops libFuzzer's own leak checks; this stops LeakSanitizer's report at exit too, which
# misreads class references inside Swift multi-payload enums (spare bits set) as lost: FuzzServe's long-lived server.
export ASAN_OPTIONS=detect_leaks=0
status=0
for harness in $harnesses; do
    corpus=.corpus/$harness
    mkdir -p "$corpus" "FailCases/$harness" .findings
    case $harness in
        FuzzSafeTensors) seeds="$fixtures/checkpoints/*.safetensors $fixtures/bad/s*" ;;
        FuzzTorch) seeds="$fixtures/checkpoints/*.pt $fixtures/checkpoints/*.bin $fixtures/checkpoints/*.pth $fixtures/bad/[pz]*" ;;
        FuzzMHub) seeds="../../formats/vectors/*.mhub" ;;
        FuzzJSON) seeds="$fixtures/reference.json $fixtures/bad/manifest.json $fixtures/models/tiny-bert/*.json" ;;
        FuzzConfig) seeds="$fixtures/models/*/config.json $fixtures/parity/*/config.json" ;;
        FuzzTokenizer) seeds="$fixtures/tokenizers/*/*.json $fixtures/tokenizers/*/merges.txt $fixtures/models/*/tokenizer.json" ;;
        FuzzServe) seeds="$fixtures/serve/*" ;;
        FuzzSentenceModules)
            # Each committed sentence-transformers folder as one input: modules.json, NUL, its Pooling config,
            # NUL, config_sentence_transformers.json (the harness cuts it there).
            seeds=""
            for folder in "$fixtures"/sentence/*/; do
                name=$(basename "$folder")
                { cat "$folder/modules.json"; printf '\0'; cat "$folder/1_Pooling/config.json"; printf '\0'
                  cat "$folder/config_sentence_transformers.json" 2>/dev/null || true; } > "$corpus/seed-$name"
            done ;;
    esac
    for seed in $seeds; do
        # Inputs above libFuzzer's max_len are cut; keep the small ones.
        [ "$(stat -c %s "$seed")" -le 65536 ] && cp "$seed" "$corpus/" || true
    done
    log=.findings/$harness.log
    set +e
    "$bin/$harness" "$corpus" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
        -detect_leaks=0 -artifact_prefix=".findings/$harness-" -print_final_stats=1 > "$log" 2>&1
    code=$?
    set -e
    runs=$(grep -Eo "stat::number_of_executed_units: *[0-9]+" "$log" | grep -Eo "[0-9]+$" || echo 0)
    if [ "$code" -ne 0 ]; then
        echo "$harness: FINDING (exit $code) after $runs runs; see $log"
        cp .findings/$harness-* "FailCases/$harness/" 2>/dev/null || true
        status=1
    elif [ "$runs" -eq 0 ]; then
        echo "$harness: did not fuzz (no runs reported); see $log"
        status=1
    else
        echo "$harness: $runs runs in ${seconds}s, no finding ($(grep -Eo "cov: [0-9]+" "$log" | tail -1))"
    fi
done
exit $status
