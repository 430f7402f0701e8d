#!/usr/bin/env python3
"""Throughput of the Python API on CUDA tensors: a clip already on the GPU
(torch, uint8 N×3×H×W) to MP4 bytes with ``VideoEncoder(...).to_tensor``.

    python3 bench/python_cuda.py --frames 600 --size 1920x1080 --gop 30 --gop 250

The frames are a panning pattern with noise, made on the GPU. Each setting
runs ``--repeat`` times after a warm-up; the median counts. Needs torch with
CUDA and the framepress package.
"""

from __future__ import annotations

import argparse
import statistics
import time


def make_frames(torch, n: int, height: int, width: int):
    """Made a few frames at a time, so that the int32 intermediates stay small."""
    frames = torch.empty((n, 3, height, width), dtype=torch.uint8, device="cuda")
    y = torch.arange(height, device="cuda", dtype=torch.int32).view(1, 1, height, 1)
    x = torch.arange(width, device="cuda", dtype=torch.int32).view(1, 1, 1, width)
    c = torch.arange(3, device="cuda", dtype=torch.int32).view(1, 3, 1, 1)
    for start in range(0, n, 16):
        end = min(start + 16, n)
        t = torch.arange(start, end, device="cuda", dtype=torch.int32).view(-1, 1, 1, 1)
        base = (x + 3 * t) * 2 + (y + 2 * t) + 40 * c
        noise = torch.randint(0, 12, base.shape, device="cuda", dtype=torch.int32)
        frames[start:end] = ((base + noise) % 256).to(torch.uint8)
    return frames


def main() -> None:
    import torch

    from framepress import VideoEncoder

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=600)
    p.add_argument("--size", default="1920x1080")
    p.add_argument("--gop", type=int, action="append", default=[])
    p.add_argument("--preset", default="ultrafast")
    p.add_argument("--qp", type=int, default=26)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    frames = make_frames(torch, args.frames, height, width)
    torch.cuda.synchronize()
    print(
        f"{torch.cuda.get_device_name()}: {args.frames} frames {width}x{height}, qp {args.qp}"
    )
    print("| GOP | fps (CUDA tensor → MP4 bytes) | KB/frame |")
    print("|---:|---:|---:|")
    for gop in args.gop or [30, 250]:
        options = dict(preset=args.preset, extra_options={"qp": args.qp, "g": gop})
        VideoEncoder(frames[: 2 * gop], frame_rate=30).to_tensor("mp4", **options)
        times, size = [], 0
        for _ in range(args.repeat):
            start = time.perf_counter()
            data = VideoEncoder(frames, frame_rate=30).to_tensor("mp4", **options)
            times.append(time.perf_counter() - start)
            size = data.numel()
        fps = args.frames / statistics.median(times)
        print(f"| {gop} | {fps:.0f} | {size / args.frames / 1024:.1f} |")


if __name__ == "__main__":
    main()
