"""Test frames, and FFmpeg as the independent decoder."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def find_ffmpeg() -> str | None:
    """FFmpeg from FRAMEPRESS_FFMPEG, the checkout's .tools/, or PATH."""
    env = os.environ.get("FRAMEPRESS_FFMPEG")
    if env:
        return env
    local = REPO / ".tools" / "ffmpeg"
    if local.is_file():
        return str(local)
    return shutil.which("ffmpeg")


def noise(n: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    """Uniform random N×3×H×W frames: the hardest content."""
    return np.random.default_rng(seed).integers(0, 256, (n, 3, h, w), dtype=np.uint8)


def gradient(n: int, h: int, w: int) -> np.ndarray:
    """Smooth moving colour ramps, N×3×H×W."""
    y, x = np.mgrid[0:h, 0:w]
    frames = np.empty((n, 3, h, w), dtype=np.uint8)
    for i in range(n):
        frames[i, 0] = (x * 255 // max(w - 1, 1) + 4 * i) % 256
        frames[i, 1] = (y * 255 // max(h - 1, 1) + 2 * i) % 256
        frames[i, 2] = ((x + y) * 127 // max(w + h - 2, 1) + 64) % 256
    return frames


def decode(ffmpeg: str, path: Path, pix_fmt: str = "yuv420p") -> bytes:
    """Decodes every frame of `path` to raw `pix_fmt`."""
    result = subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", pix_fmt, "-"],
        capture_output=True,
        check=True,
    )
    return result.stdout


def decode_yuv(ffmpeg: str, path: Path, height: int, width: int):
    """Decoded planes (Y, U, V), each N×h×w, of a yuv420p stream."""
    h, w = height + height % 2, width + width % 2
    raw = np.frombuffer(decode(ffmpeg, path), dtype=np.uint8)
    frame = h * w * 3 // 2
    assert raw.size % frame == 0, f"decoded {raw.size} bytes, not whole {w}x{h} frames"
    frames = raw.reshape(-1, frame)
    y = frames[:, : h * w].reshape(-1, h, w)
    u = frames[:, h * w : h * w * 5 // 4].reshape(-1, h // 2, w // 2)
    v = frames[:, h * w * 5 // 4 :].reshape(-1, h // 2, w // 2)
    return y, u, v


def decode_rgb(ffmpeg: str, path: Path, height: int, width: int) -> np.ndarray:
    """Decoded frames as N×H×W×3 RGB (FFmpeg converts with the signalled matrix)."""
    raw = np.frombuffer(decode(ffmpeg, path, "rgb24"), dtype=np.uint8)
    return raw.reshape(-1, height, width, 3)


def luma(frames: np.ndarray, kr: float = 0.2126, kb: float = 0.0722) -> np.ndarray:
    """BT.709 (by default) limited-range luma of N×3×H×W RGB frames, as floats."""
    r, g, b = (frames[:, c].astype(np.float64) for c in range(3))
    return 16 + 219 * (kr * r + (1 - kr - kb) * g + kb * b) / 255


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)
