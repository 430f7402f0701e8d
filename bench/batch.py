#!/usr/bin/env python3
"""Batch throughput: many clips encoded at once with `framepress batch`, for
several device lists, beside libx264 on the same host's cores.

    python3 bench/batch.py --framepress target/release/framepress \\
        --devices cpu --devices cuda:0 --devices cuda:0,cuda:0 --ffmpeg .tools/ffmpeg

Clips are synthetic y4m (a moving pattern with noise, so that motion search
and entropy coding both work) written once to a scratch directory; every
encoder reads them from the page cache and writes MP4 files, so container
bytes are in the timed path. Each configuration runs `--repeat` times and
the median wall time counts. Prints a Markdown table; `--out FILE` also
writes it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_clip(path: Path, width: int, height: int, frames: int, seed: int) -> None:
    """A y4m clip: a diagonal pattern panning by (3, 2) samples a frame, plus noise."""
    import numpy as np

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    cw, ch = (width + 1) // 2, (height + 1) // 2
    cy, cx = np.mgrid[0:ch, 0:cw]
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\n".encode())
        for i in range(frames):
            luma = ((x + 3 * i) * 2 + (y + 2 * i) + seed * 37) % 256
            luma = (luma + rng.integers(0, 12, luma.shape)) % 256
            u = ((cx + 2 * i) * 3 + seed * 11) % 256
            v = ((cy + i) * 2 + 128) % 256
            f.write(b"FRAME\n")
            for plane in (luma, u, v):
                f.write(plane.astype(np.uint8).tobytes())


def timed(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if run.returncode != 0:
        sys.exit(f"failed ({run.returncode}): {' '.join(command)}\n{run.stderr}")
    return elapsed, run.stderr


def framepress_row(args, clips: list[Path], devices: str, scratch: Path) -> tuple[str, float]:
    out = scratch / f"out-{devices.replace(',', '_').replace(':', '')}"
    times = []
    for _ in range(args.repeat):
        shutil.rmtree(out, ignore_errors=True)
        command = [args.framepress, "batch", *map(str, clips), "-o", str(out)]
        command += ["--devices", devices, "--preset", args.preset, "-g", str(args.gop)]
        command += ["--crf", str(args.crf)]
        elapsed, log = timed(command)
        if not re.search(rf"encoded {len(clips)} of {len(clips)} clips", log):
            sys.exit(f"framepress batch did not encode every clip:\n{log}")
        times.append(elapsed)
    return f"framepress {args.preset}, --devices {devices}", statistics.median(times)


def x264_row(args, clips: list[Path], scratch: Path) -> tuple[str, float]:
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        for clip in clips:
            command = [args.ffmpeg, "-v", "error", "-y", "-i", str(clip), "-c:v", "libx264"]
            command += ["-preset", "ultrafast", "-crf", str(args.crf), "-g", str(args.gop)]
            command += [str(scratch / f"x264-{clip.stem}.mp4")]
            timed(command)
        times.append(time.perf_counter() - start)
    return f"x264 ultrafast (FFmpeg, {os.cpu_count()} threads, clips one after another)", statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--framepress", required=True, help="the framepress binary")
    p.add_argument("--devices", action="append", default=[], help="a --devices list (repeatable)")
    p.add_argument("--ffmpeg", help="FFmpeg with libx264, for the x264 row")
    p.add_argument("--clips", type=int, default=8)
    p.add_argument("--frames", type=int, default=60)
    p.add_argument("--size", default="1920x1080")
    p.add_argument("--gop", type=int, default=30)
    p.add_argument("--crf", type=int, default=23)
    p.add_argument("--preset", default="ultrafast")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", type=Path, help="also write the table here")
    args = p.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    scratch = Path(tempfile.mkdtemp(prefix="framepress-batch-"))
    try:
        clips = [scratch / f"clip{i:02}.y4m" for i in range(args.clips)]
        for i, clip in enumerate(clips):
            write_clip(clip, width, height, args.frames, i)
        total = args.clips * args.frames
        rows = [framepress_row(args, clips, d, scratch) for d in args.devices or ["all"]]
        if args.ffmpeg:
            rows.append(x264_row(args, clips, scratch))
        lines = [
            f"{args.clips} clips of {args.frames} frames, {width}x{height}, GOP {args.gop}, crf "
            f"{args.crf}, MP4 files written; median of {args.repeat} runs.",
            "",
            "| encoder | wall s | fps (all clips) |",
            "|:---|---:|---:|",
        ]
        lines += [f"| {name} | {t:.2f} | {total / t:.0f} |" for name, t in rows]
        table = "\n".join(lines)
        print(table)
        if args.out:
            args.out.write_text(table + "\n")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
