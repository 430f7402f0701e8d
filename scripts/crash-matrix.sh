#!/usr/bin/env bash
# The crash matrix: every qp and crf 0..51 × content (random, solid, gradient, natural, scenecut) × size (1x1 ..
# 3840x2160) × backend. Each case must finish, stay within the proven bound, and decode in FFmpeg to the encoder's
# reconstruction (on CUDA, also equal the CPU backend's bytes). The runner is the test
# crates/framepress/tests/reliability_matrix.rs; this script picks the slice.
#
#   scripts/crash-matrix.sh                       # the full matrix on the CPU (3640 cases; about an hour on 2 cores)
#   scripts/crash-matrix.sh --ci                  # the CI slice (also part of `cargo test`)
#   scripts/crash-matrix.sh --device cuda         # the full matrix on CUDA device 0, checked against the CPU
#   scripts/crash-matrix.sh --sizes 17x33,256x256 --rates qp:0-51 --contents random,natural --frames 5
#
# Options: --device cpu|cuda|cuda:N, --sizes WxH[,WxH...], --rates qp:A-B,crf:N,..., --contents a,b,...,
# --frames N, --jobs N (cases at once; default every core), --preset NAME, --gop N (default 250; 1 for intra only),
# --timeout SECONDS (per case: a hang fails the run). Exits non-zero if any case fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

test_name=crash_matrix_run
ignored=(--ignored)
while [ $# -gt 0 ]; do
    case "$1" in
        --ci) test_name=crash_matrix_ci_slice; ignored=() ;;
        --full) test_name=crash_matrix_run; ignored=(--ignored) ;;
        --device) export FRAMEPRESS_MATRIX_DEVICE="$2"; shift ;;
        --sizes) export FRAMEPRESS_MATRIX_SIZES="$2"; shift ;;
        --rates) export FRAMEPRESS_MATRIX_RATES="$2"; shift ;;
        --contents) export FRAMEPRESS_MATRIX_CONTENTS="$2"; shift ;;
        --frames) export FRAMEPRESS_MATRIX_FRAMES="$2"; shift ;;
        --jobs) export FRAMEPRESS_MATRIX_JOBS="$2"; shift ;;
        --preset) export FRAMEPRESS_MATRIX_PRESET="$2"; shift ;;
        --gop) export FRAMEPRESS_MATRIX_GOP="$2"; shift ;;
        --timeout) export FRAMEPRESS_MATRIX_TIMEOUT="$2"; shift ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "crash-matrix.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done

# FFmpeg is the referee: use the one scripts/fetch-tools.sh installs when present.
if [ -z "${FRAMEPRESS_FFMPEG:-}" ] && [ -x "$ROOT/.tools/ffmpeg" ]; then
    export FRAMEPRESS_FFMPEG="$ROOT/.tools/ffmpeg"
fi
if [ -z "${FRAMEPRESS_TEST_IMAGES:-}" ] && [ -d "$ROOT/.tools/images" ]; then
    export FRAMEPRESS_TEST_IMAGES="$ROOT/.tools/images"
fi

exec cargo test --release -p framepress --test reliability_matrix "$test_name" -- --exact --nocapture "${ignored[@]}"
