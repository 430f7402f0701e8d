"""Round trips through FFmpeg, an independent decoder: frame count and size,
quality at a low qp, exactness when lossless, colour and stream settings."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest
from media import decode_rgb, decode_yuv, gradient, luma, noise, psnr

from framepress import Encoder, VideoEncoder


def grey_frames(n: int, h: int, w: int) -> np.ndarray:
    """Random greys (R = G = B): full-range luma is the value itself and the
    chroma is exactly neutral, so a lossless decode is known exactly."""
    g = np.random.default_rng(7).integers(0, 256, (n, 1, h, w), dtype=np.uint8)
    return np.repeat(g, 3, axis=1)


LAYOUTS = {
    "contiguous": lambda f: np.ascontiguousarray(f),
    "channels_last": lambda f: np.ascontiguousarray(f.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2),
    "strided": lambda f: np.pad(f, ((0, 0), (0, 0), (1, 2), (3, 1)))[:, :, 1:-2, 3:-1],
    "every_other_frame": lambda f: np.repeat(f, 2, axis=0)[::2],
    "reversed_rows": lambda f: np.ascontiguousarray(f[:, :, ::-1])[:, :, ::-1],
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_lossless_is_exact(tmp_path, ffmpeg, layout):
    frames = grey_frames(4, 48, 80)
    source = LAYOUTS[layout](frames)
    assert np.array_equal(source, frames)
    VideoEncoder(source, frame_rate=25).to_file(
        tmp_path / "out.mp4", crf=0, extra_options={"color_range": "pc", "profile": "high444p"}
    )
    y, u, v = decode_yuv(ffmpeg, tmp_path / "out.mp4", 48, 80)
    assert y.shape == (4, 48, 80)
    assert np.array_equal(y, frames[:, 0])
    assert (u == 128).all() and (v == 128).all()


def test_low_qp_is_close_to_the_input(tmp_path, ffmpeg):
    frames = noise(6, 64, 96, seed=3)
    VideoEncoder(frames, frame_rate=30).to_file(tmp_path / "out.mp4", extra_options={"qp": 1})
    y, u, v = decode_yuv(ffmpeg, tmp_path / "out.mp4", 64, 96)
    assert y.shape == (6, 64, 96) and u.shape == (6, 32, 48)
    assert psnr(y, luma(frames)) > 40


@pytest.mark.parametrize("fmt", ["mp4", "h264"])
def test_streamed_batches_decode_to_every_frame(tmp_path, ffmpeg, fmt):
    frames = gradient(12, 64, 64)
    dest = tmp_path / f"out.{fmt}"
    with Encoder() as encoder:
        video = encoder.add_video(height=64, width=64, frame_rate=24, extra_options={"qp": 4})
        encoder.open_file(dest)
        for batch in (frames[:5], frames[5:6], frames[6:]):
            video.add_frames(batch)
    assert video.frames_written == 12
    y, _, _ = decode_yuv(ffmpeg, dest, 64, 64)
    assert y.shape == (12, 64, 64)
    assert psnr(y, luma(frames)) > 40


def test_mp4_and_annexb_hold_the_same_pictures(tmp_path, ffmpeg):
    frames = noise(5, 32, 48, seed=11)
    encoder = VideoEncoder(frames, frame_rate=30)
    encoder.to_file(tmp_path / "a.mp4", crf=18)
    encoder.to_file(tmp_path / "a.h264", crf=18)
    mp4 = decode_yuv(ffmpeg, tmp_path / "a.mp4", 32, 48)
    annexb = decode_yuv(ffmpeg, tmp_path / "a.h264", 32, 48)
    for a, b in zip(mp4, annexb):
        assert np.array_equal(a, b)


def test_odd_sizes_decode_rounded_up_to_even(tmp_path, ffmpeg):
    # 4:2:0 H.264 crops in steps of two samples: 33x35 decodes as 34x36.
    frames = grey_frames(2, 33, 35)
    VideoEncoder(frames, frame_rate=30).to_file(
        tmp_path / "odd.mp4", crf=0, extra_options={"color_range": "full"}
    )
    y, _, _ = decode_yuv(ffmpeg, tmp_path / "odd.mp4", 33, 35)
    assert y.shape == (2, 34, 36)
    assert np.array_equal(y[:, :33, :35], frames[:, 0])


@pytest.mark.parametrize(
    "colour, rgb",
    [("red", (220, 20, 30)), ("green", (10, 200, 40)), ("blue", (30, 40, 210))],
)
@pytest.mark.parametrize("matrix", ["bt709", "bt601"])
@pytest.mark.parametrize("rng", ["tv", "pc"])
def test_colours_keep_their_channels(tmp_path, ffmpeg, colour, rgb, matrix, rng):
    frames = np.empty((2, 3, 32, 32), dtype=np.uint8)
    frames[:] = np.array(rgb, dtype=np.uint8)[None, :, None, None]
    VideoEncoder(frames.transpose(0, 2, 3, 1).copy().transpose(0, 3, 1, 2), frame_rate=30).to_file(
        tmp_path / "c.mp4", extra_options={"qp": 0, "colorspace": matrix, "color_range": rng}
    )
    out = decode_rgb(ffmpeg, tmp_path / "c.mp4", 32, 32)
    assert np.abs(out.astype(int) - np.array(rgb)).max() <= 4, f"{colour}: {out[0, 16, 16]}"


def showinfo(ffmpeg: str, path) -> str:
    result = subprocess.run(
        [ffmpeg, "-hide_banner", "-i", str(path), "-vf", "showinfo", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stderr


def test_gop_length_places_keyframes(tmp_path, ffmpeg):
    frames = gradient(10, 32, 32)
    VideoEncoder(frames, frame_rate=30).to_file(tmp_path / "g.mp4", extra_options={"g": 4})
    keys = [int(k) for k in re.findall(r"iskey:(\d)", showinfo(ffmpeg, tmp_path / "g.mp4"))]
    assert keys == [1, 0, 0, 0, 1, 0, 0, 0, 1, 0]


def test_colour_description_and_rate_are_signalled(tmp_path, ffmpeg):
    frames = gradient(3, 32, 32)
    VideoEncoder(frames, frame_rate="30000/1001").to_file(
        tmp_path / "s.mp4", extra_options={"colorspace": "smpte170m", "color_range": "jpeg"}
    )
    info = showinfo(ffmpeg, tmp_path / "s.mp4")
    assert "29.97 fps" in info
    assert re.search(r"color_range:pc", info) and re.search(
        r"color_space:(bt470bg|smpte170m)", info
    )


@pytest.mark.parametrize(
    "options",
    [
        {"crf": 35, "preset": "ultrafast"},
        {"preset": 6},
        {"extra_options": {"b": "300k", "g": 5}},
        {"extra_options": {"b": 2_000_000, "profile": "high", "movflags": "+faststart"}},
        {"codec": "libx264", "pixel_format": "yuv420p", "extra_options": {"preset": "veryfast"}},
        {"codec": "h264_nvenc", "crf": 0, "extra_options": {"profile": "high444p"}},
    ],
)
def test_settings_give_decodable_streams(tmp_path, ffmpeg, options):
    frames = gradient(8, 48, 64)
    VideoEncoder(frames, frame_rate=30).to_file(tmp_path / "o.mp4", **options)
    y, _, _ = decode_yuv(ffmpeg, tmp_path / "o.mp4", 48, 64)
    assert y.shape == (8, 48, 64)
    assert psnr(y, luma(frames)) > 30
