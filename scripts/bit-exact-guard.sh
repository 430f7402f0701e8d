#!/usr/bin/env bash
# Bit-exactness guard for the CPU encoder.
#
# The CUDA backend reproduces the CPU encoder's bytes exactly, so speed work
# on the CPU path must not change a single output byte. This script encodes a
# fixed matrix of inputs (contents x sizes x presets x GOP x rate x deblocking,
# plus lossless, bitrate and thread-count cases) with the framepress CLI and
# records or checks the SHA-256 of every output.
#
# Usage:
#   scripts/bit-exact-guard.sh record HASHES   # write "case sha256" lines
#   scripts/bit-exact-guard.sh check  HASHES   # re-encode, compare, exit 1 on any difference
#
# Environment:
#   FRAMEPRESS_BIN     the CLI to test           [default: target/release/framepress]
#   FRAMEPRESS_FFMPEG  ffmpeg, to make the inputs [default: ffmpeg on PATH]
#   GUARD_DIR          where inputs and outputs go (inputs are reused) [default: a temporary folder]
#   GUARD_QUICK=1      skip the 1920x1080 cases
#
# The inputs themselves are hashed too ("input:" lines), so a different
# ffmpeg that makes different inputs is reported as such, not as an encoder
# change. Record with the code before a change, check after it.
#
# scripts/bit-exact-guard.sha256 holds the hashes recorded with the encoder
# as it was before the CPU speed work (commit 8ec823d), inputs made with the
# ffmpeg that scripts/fetch-tools.sh provides; every later commit of that
# work was checked against it. Recorded again when --qp began to code IDR
# pictures 3 lower (only the --qp 45 cases changed), and when ultrafast
# began to weigh fewer bare P_Skip macroblocks against intra (only its
# GOP-30 cases changed):
#   FRAMEPRESS_FFMPEG=.tools/ffmpeg scripts/bit-exact-guard.sh check scripts/bit-exact-guard.sha256
# (about 1.5 minutes on 2 cores; GUARD_QUICK=1 for about 40 seconds).
set -euo pipefail

mode=${1:-}
hashes=${2:-}
if [[ ( $mode != record && $mode != check ) || -z $hashes ]]; then
    sed -n '2,29p' "$0" >&2
    exit 2
fi
bin=${FRAMEPRESS_BIN:-target/release/framepress}
ffmpeg=${FRAMEPRESS_FFMPEG:-ffmpeg}
dir=${GUARD_DIR:-$(mktemp -d)}
mkdir -p "$dir"
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# make_input NAME SIZE FRAMES -> $dir/NAME-SIZE.y4m
make_input() {
    local name=$1 size=$2 frames=$3 file="$dir/$1-$2.y4m"
    local src
    case $name in
        testsrc2) src="testsrc2=size=$size:rate=30" ;;
        mandelbrot) src="mandelbrot=size=$size:rate=30" ;;
        noise) src="testsrc2=size=$size:rate=30" ;;
    esac
    if [[ ! -s $file ]]; then
        local vf=()
        [[ $name == noise ]] && vf=(-vf noise=alls=40:allf=t)
        "$ffmpeg" -v error -y -f lavfi -i "$src" "${vf[@]}" -frames:v "$frames" \
            -pix_fmt yuv420p "$file"
    fi
    echo "input:$name-$size $(sha256sum <"$file" | cut -d' ' -f1)" >>"$out"
}

# encode CASE INPUT ARGS... : one output, its hash appended to $out
encode() {
    local case=$1 input=$2
    shift 2
    "$bin" encode "$dir/$input.y4m" "$dir/out.h264" "$@" >/dev/null 2>&1 ||
        { echo "$case FAILED" >>"$out"; return; }
    echo "$case $(sha256sum <"$dir/out.h264" | cut -d' ' -f1)" >>"$out"
}

# full_matrix INPUT: presets x GOP x rate x deblocking
full_matrix() {
    local input=$1 preset gop rate db
    for preset in ultrafast medium slow; do
        for gop in 1 30; do
            for rate in "--qp 0" "--crf 23" "--qp 45"; do
                for db in on off; do
                    local flags=()
                    [[ $db == off ]] && flags=(--no-deblock)
                    # shellcheck disable=SC2086
                    encode "$input/$preset/g$gop/${rate// /}/db-$db" "$input" \
                        --preset "$preset" -g "$gop" $rate "${flags[@]}"
                done
            done
        done
    done
    encode "$input/lossless" "$input" --preset medium -g 30 --lossless
    encode "$input/bitrate" "$input" --preset fast -g 30 --bitrate 300k
    encode "$input/threads1" "$input" --preset medium -g 30 --crf 23 --threads 1
    encode "$input/threads3" "$input" --preset medium -g 30 --crf 23 --threads 3
}

# big_matrix INPUT: the 1080p cases (fewer, they are slow)
big_matrix() {
    local input=$1 preset gop
    for preset in ultrafast medium; do
        for gop in 1 30; do
            encode "$input/$preset/g$gop/crf23" "$input" --preset "$preset" -g "$gop" --crf 23
        done
    done
    encode "$input/ultrafast/g30/qp45/db-off" "$input" --preset ultrafast -g 30 --qp 45 --no-deblock
    encode "$input/slow/g30/qp0/threads1" "$input" --preset slow -g 30 --qp 0 --threads 1
}

for content in testsrc2 mandelbrot noise; do
    for size in 352x288 17x33; do
        make_input "$content" "$size" 30
        full_matrix "$content-$size"
    done
    if [[ ${GUARD_QUICK:-0} != 1 ]]; then
        make_input "$content" 1920x1080 8
        big_matrix "$content-1920x1080"
    fi
done

if [[ $mode == record ]]; then
    cp "$out" "$hashes"
    echo "recorded $(wc -l <"$hashes") hashes in $hashes"
    exit 0
fi
expected() {
    if [[ ${GUARD_QUICK:-0} == 1 ]]; then grep -v 1920x1080 "$hashes"; else cat "$hashes"; fi
}
if diff <(expected | sort) <(sort "$out"); then
    echo "bit-exact: all $(wc -l <"$out") hashes match"
else
    echo "MISMATCH: outputs differ from $hashes" >&2
    exit 1
fi
