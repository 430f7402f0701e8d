#!/usr/bin/env bash
# The test command: installs the test tools (FFmpeg, ffprobe, test images) into .tools/, then checks formatting,
# lints, runs every test of the workspace in release mode with FFmpeg as the referee, and a short fuzz smoke.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

step() { printf '\n==> %s\n' "$*" >&2; }

step "fetching test tools"
"$ROOT/scripts/fetch-tools.sh"

export FRAMEPRESS_FFMPEG="$ROOT/.tools/ffmpeg"
export FRAMEPRESS_FFPROBE="$ROOT/.tools/ffprobe"
export FRAMEPRESS_TEST_IMAGES="$ROOT/.tools/images"
# Tests that need these tools fail instead of skipping when they are missing.
export FRAMEPRESS_REQUIRE_TOOLS=1
# The test set-up installs libopus-dev: a build without Opus audio is then an error.
export FRAMEPRESS_REQUIRE_OPUS=1
# NVRTC from PyPI's nvidia-cuda-nvrtc wheel: every CUDA kernel is compiled in CI (no GPU needed).
export FRAMEPRESS_NVRTC_DIR="$ROOT/.tools/nvrtc"
export LD_LIBRARY_PATH="$ROOT/.tools/nvrtc${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export FRAMEPRESS_REQUIRE_NVRTC=1

for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
        command -v rustup >/dev/null 2>&1 || { echo "test.sh: cargo $component is missing and rustup is not available" >&2; exit 1; }
        step "installing the $component component"
        rustup component add "$component"
    fi
done

step "cargo fmt --all -- --check"
cargo fmt --all -- --check

# The fuzz targets are a workspace of their own (fuzz/Cargo.toml), which `--all` does not reach.
step "cargo fmt --manifest-path fuzz/Cargo.toml -- --check"
cargo fmt --manifest-path fuzz/Cargo.toml -- --check

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test --workspace --release"
cargo test --workspace --release

# Fuzz smoke: builds the libFuzzer targets on this stable toolchain (RUSTC_BOOTSTRAP=1, no nightly or cargo-fuzz),
# replays fuzz/regressions/, then fuzzes each of the 4 targets for 15 s. About 2 minutes on a fresh 2-core machine
# (docs/RELIABILITY.md). libFuzzer itself is C++, built by libfuzzer-sys with the system's `c++`.
if ! command -v "${CXX:-c++}" >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        step "installing g++ (libFuzzer is built from C++ sources)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get -o DPkg::Lock::Timeout=600 -y -q --no-install-recommends install g++ ||
            { apt-get -o DPkg::Lock::Timeout=600 -q update &&
                apt-get -o DPkg::Lock::Timeout=600 -y -q --no-install-recommends install g++; }
    else
        echo "test.sh: the fuzz smoke needs a C++ compiler (${CXX:-c++}); install g++ or set CXX" >&2
        exit 1
    fi
fi
step "fuzz/run.sh 15 (fuzz smoke: regressions, then 15 s a target)"
"$ROOT/fuzz/run.sh" 15

step "python3 bench/bench.py --smoke (benchmark harness smoke run)"
python3 "$ROOT/bench/bench.py" --smoke

step "scripts/build-release.sh (profile-guided build): the same bytes as the plain release build"
cargo build --release -p framepress-cli
pgo_bin=$("$ROOT/scripts/build-release.sh" | tail -n 1)
if [ "$pgo_bin" = "$ROOT/target/release/framepress" ]; then
    echo "test.sh: no profile-guided build here (see the message above); its check is skipped" >&2
else
    pgo_out=$(mktemp -d)
    for settings in "--preset ultrafast --qp 27" "--preset medium --crf 23 --threads 1" "--lossless"; do
        # shellcheck disable=SC2086 # the settings are words
        "$ROOT/target/release/framepress" demo "$pgo_out/plain.mp4" --frames 12 $settings 2>/dev/null
        # shellcheck disable=SC2086
        "$pgo_bin" demo "$pgo_out/pgo.mp4" --frames 12 $settings 2>/dev/null
        cmp "$pgo_out/plain.mp4" "$pgo_out/pgo.mp4" ||
            { echo "test.sh: the profile-guided build wrote other bytes ($settings)" >&2; exit 1; }
    done
    rm -rf "$pgo_out"
fi

step "python/test.sh (Python package: release wheel + pytest)"
"$ROOT/python/test.sh"

step "all checks passed"
