#!/usr/bin/env bash
# The test command: installs the test tools (FFmpeg, ffprobe, test images) into .tools/, then checks formatting,
# lints, and runs every test of the workspace in release mode with FFmpeg as the referee.
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

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test --workspace --release"
cargo test --workspace --release

step "python3 bench/bench.py --smoke (benchmark harness smoke run)"
python3 "$ROOT/bench/bench.py" --smoke

step "python/test.sh (Python package: release wheel + pytest)"
"$ROOT/python/test.sh"

step "all checks passed"
