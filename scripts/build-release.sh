#!/usr/bin/env bash
# Builds the release CLI with profile-guided optimisation: an instrumented
# build encodes the built-in demo clip in several settings, and the final
# build is optimised with the branch and call counts it recorded (the output
# bytes are the same as a plain release build's; the encoder is faster).
# Both builds are compiled for the highest x86-64 level the build machine
# has of x86-64-v4 (v3 plus AVX-512 F, BW, CD, DQ and VL) and x86-64-v3
# (AVX2, BMI1/2, FMA, LZCNT, MOVBE: x86-64 processors of about 2015 on), so
# the whole encoder, not only its hand-written kernels, uses those
# instructions (v4 over v3: 32 vector registers, 2-3 % less time on an AVX-512
# machine); the binary then refuses, with a message, to run on a processor
# without them. FRAMEPRESS_TARGET_CPU names another level (x86-64-v3 for
# AVX2 machines, x86-64 for any x86-64 processor; native for this one).
#
#   scripts/build-release.sh          # -> target/pgo/release/framepress
#
# Needs llvm-profdata of the compiler's own LLVM (rustup's llvm-tools
# component, added here when rustup can). Without it the script says so and
# builds a plain `cargo build --release` instead (target/release/framepress),
# printing the binary's path last either way.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

plain() {
    echo "build-release: $1; building without profile-guided optimisation" >&2
    cargo build --release -p framepress-cli >&2
    echo "$root/target/release/framepress"
}

host=$(rustc -vV | sed -n 's/^host: //p')

# The CPU level: the highest of x86-64-v4 and x86-64-v3 whose features this
# machine all has.
target_cpu=${FRAMEPRESS_TARGET_CPU:-}
if [[ -z $target_cpu && $host == x86_64-* ]]; then
    features() { rustc --print cfg -C target-cpu="$1" | grep '^target_feature=' | sort; }
    for level in x86-64-v4 x86-64-v3; do
        if [[ -z $(comm -13 <(features native) <(features $level)) ]]; then
            target_cpu=$level
            break
        fi
    done
fi
cpu_flags=${target_cpu:+-Ctarget-cpu=$target_cpu}
echo "build-release: target CPU ${target_cpu:-default}" >&2
profdata="$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata"
if [[ ! -x $profdata ]] && command -v rustup >/dev/null; then
    # Bounded: without a way to rustup's servers this falls back below.
    timeout 180 rustup component add llvm-tools >&2 || true
fi
[[ -x $profdata ]] || { plain "no llvm-profdata (rustup component add llvm-tools)"; exit 0; }

work="$root/target/pgo"
raw="$work/profiles"
rm -rf "$raw" && mkdir -p "$raw"
echo "build-release: instrumented build" >&2
RUSTFLAGS="-Cprofile-generate=$raw $cpu_flags" CARGO_TARGET_DIR="$work/gen" \
    cargo build --release -p framepress-cli >&2
gen="$work/gen/release/framepress"
clip="$work/train.mp4"
echo "build-release: training on the demo clip" >&2
for threads in 1 2; do
    for qp in 22 27 32 37; do
        "$gen" demo "$clip" --size 1280x720 --frames 30 --preset ultrafast --qp "$qp" \
            --threads "$threads" 2>/dev/null
    done
done
for threads in 1 2; do
    "$gen" demo "$clip" --size 1920x1080 --frames 20 --preset ultrafast --qp 27 --threads "$threads" 2>/dev/null
done
for preset in superfast veryfast medium; do
    "$gen" demo "$clip" --size 640x360 --frames 20 --preset "$preset" --crf 23 2>/dev/null
done
"$gen" demo "$clip" --size 640x360 --frames 10 --lossless 2>/dev/null
rm -f "$clip"
"$profdata" merge -o "$work/merged.profdata" "$raw"
echo "build-release: optimised build" >&2
RUSTFLAGS="-Cprofile-use=$work/merged.profdata $cpu_flags" CARGO_TARGET_DIR="$work" \
    cargo build --release -p framepress-cli >&2
echo "$work/release/framepress"
