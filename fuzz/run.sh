#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer on stable Rust and runs each for a while; fails if any input crashes one.
#
#   fuzz/run.sh                 # every target for 15 s (the CI smoke run, about 60 s plus the build)
#   fuzz/run.sh 3600 encode     # one target for an hour
#
# Exactly what cargo-fuzz does (`RUSTC_BOOTSTRAP=1 cargo fuzz run TARGET`), without needing cargo-fuzz installed:
# the crates are built with SanitizerCoverage (`-Cpasses=sancov-module`) and AddressSanitizer, which are nightly
# flags that RUSTC_BOOTSTRAP=1 lets a stable compiler take. Before fuzzing, every saved crash in
# fuzz/regressions/TARGET/ is replayed. Corpora grow in fuzz/corpus/TARGET (ignored by git), seeded from
# fuzz/seeds/TARGET; a crash is written to fuzz/artifacts/TARGET/.
set -euo pipefail

FUZZ="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$FUZZ"

seconds="${1:-15}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(options input encode container)

host="$(rustc -vV | sed -n 's/^host: //p')"
export RUSTC_BOOTSTRAP=1
# The target triple is named so that build scripts and proc macros are built without instrumentation.
export CARGO_TARGET_DIR="$FUZZ/target"
RUSTFLAGS="-Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares \
-Cllvm-args=-simplifycfg-branch-fold-threshold=0 \
--cfg fuzzing -Zsanitizer=address -Cdebug-assertions -Coverflow-checks" \
    cargo build --release --target "$host" --bins

bin="$CARGO_TARGET_DIR/$host/release"
status=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    if compgen -G "regressions/$t/*" >/dev/null; then
        echo "==> $t: replaying regressions/$t" >&2
        "$bin/$t" -runs=0 regressions/"$t"/* >/dev/null 2>&1 || {
            echo "fuzz target $t: a saved regression crashes again (run $bin/$t regressions/$t/*)" >&2
            status=1
            continue
        }
    fi
    seeds=()
    [ -d "seeds/$t" ] && seeds=("seeds/$t")
    echo "==> $t: fuzzing for ${seconds}s" >&2
    if ! "$bin/$t" "corpus/$t" "${seeds[@]}" -max_total_time="$seconds" -rss_limit_mb=2048 \
        -artifact_prefix="artifacts/$t/" -print_final_stats=1 >"artifacts/$t.log" 2>&1; then
        echo "fuzz target $t FAILED; the input is in fuzz/artifacts/$t/:" >&2
        grep -E "panicked|ERROR|SUMMARY|Test unit written" "artifacts/$t.log" >&2 || tail -20 "artifacts/$t.log" >&2
        status=1
        continue
    fi
    grep -E "^Done|stat::number_of_executed_units|cov:.*DONE" "artifacts/$t.log" | tail -2 >&2 || true
done
exit $status
