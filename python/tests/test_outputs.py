"""Every way out gives the same bytes: to_file, to_tensor, to_file_like
(seekable or not), Encoder and StreamingEncoder; and every input layout
gives the same bytes as contiguous frames."""

from __future__ import annotations

import io
import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from media import gradient, noise

import framepress
from framepress import Encoder, StreamingEncoder, VideoEncoder

OPTIONS = {"extra_options": {"qp": 20, "g": 3}}


class WriteOnly:
    """A file-like that can only write: no seek, tell or read."""

    def __init__(self) -> None:
        self.chunks: list = []

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def getvalue(self) -> bytes:
        return b"".join(self.chunks)


class ShortWrites(WriteOnly):
    """A raw stream that writes at most 1000 bytes a call, like os.write."""

    def write(self, data: bytes) -> int:
        return super().write(data[:1000])


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    return noise(7, 48, 64, seed=5)


def every_output(frames, fmt: str, tmp_path: Path) -> dict:
    """The stream written every way the API offers."""
    out = {}
    encoder = VideoEncoder(frames, frame_rate=30)
    encoder.to_file(tmp_path / f"v.{fmt}", **OPTIONS)
    out["to_file"] = (tmp_path / f"v.{fmt}").read_bytes()
    tensor = encoder.to_tensor(fmt, **OPTIONS)
    assert isinstance(tensor, np.ndarray) and tensor.dtype == np.uint8 and tensor.ndim == 1
    out["to_tensor"] = tensor.tobytes()
    for name, sink in [
        ("bytesio", io.BytesIO()),
        ("write_only", WriteOnly()),
        ("short", ShortWrites()),
    ]:
        encoder.to_file_like(sink, fmt, **OPTIONS)
        out[f"to_file_like_{name}"] = sink.getvalue()
    with open(tmp_path / f"f.{fmt}", "wb") as f:
        encoder.to_file_like(f, fmt, **OPTIONS)
    out["to_file_like_file"] = (tmp_path / f"f.{fmt}").read_bytes()

    with Encoder() as enc:
        video = enc.add_video(height=48, width=64, frame_rate=30, **OPTIONS)
        enc.open_file(tmp_path / f"e.{fmt}")
        video.add_frames(frames[:2])
        video.add_frames(frames[2:])
    out["encoder_file"] = (tmp_path / f"e.{fmt}").read_bytes()

    sink = io.BytesIO()
    with Encoder() as enc:
        video = enc.add_video(height=48, width=64, frame_rate=30, **OPTIONS)
        enc.open_file_like(sink, format=fmt)
        for frame in frames:
            video.add_frames(frame[None])
    out["encoder_file_like"] = sink.getvalue()

    streaming = StreamingEncoder()
    video = streaming.add_video(height=48, width=64, frame_rate=30, device="cpu", **OPTIONS)
    with streaming.open(str(tmp_path / f"s.{fmt}")):
        video.write(frames[:4])
        video.write(frames[4:])
    out["streaming_file"] = (tmp_path / f"s.{fmt}").read_bytes()

    streaming = StreamingEncoder()
    video = streaming.add_video(height=48, width=64, frame_rate=30, **OPTIONS)
    sink = WriteOnly()
    with streaming.open(sink, format=fmt):
        video.write(frames)
    out["streaming_file_like"] = sink.getvalue()
    return out


@pytest.mark.parametrize("fmt", ["mp4", "h264"])
def test_every_output_gives_the_same_bytes(tmp_path, frames, fmt):
    out = every_output(frames, fmt, tmp_path)
    reference = out["to_file"]
    assert len(reference) > 1000
    for name, data in out.items():
        assert data == reference, f"{name} differs from to_file"
    if fmt == "mp4":
        assert reference[4:8] == b"ftyp"
        assert reference.index(b"moov") < reference.index(b"mdat"), "not faststart"
    else:
        assert reference.startswith(b"\x00\x00\x00\x01\x67"), "Annex B starts with an SPS"


def channels_last(f: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(f.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


LAYOUTS = {
    # N×H×W×3 memory seen as N×3×H×W: read in place as interleaved RGB.
    "channels_last": channels_last,
    # Frames spaced apart: the frame stride is free.
    "frame_stride": lambda f: np.stack([f, f], axis=1)[:, 0],
    # Crops, padding, negative strides, channel orders: gathered.
    "cropped": lambda f: np.pad(f, ((0, 0), (0, 0), (2, 2), (5, 3)))[:, :, 2:-2, 5:-3],
    "cropped_channels_last": lambda f: channels_last(np.pad(f, ((0, 0), (0, 0), (0, 0), (0, 4))))[
        ..., :-4
    ],
    "flipped": lambda f: np.ascontiguousarray(f[:, :, ::-1, ::-1])[:, :, ::-1, ::-1],
    "bgr_reversed": lambda f: np.ascontiguousarray(f[:, ::-1])[:, ::-1],
    "planes_apart": lambda f: np.ascontiguousarray(f.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3),
    "fortran": lambda f: np.asfortranarray(f),
    "read_only": lambda f: _read_only(f),
}


def _read_only(f: np.ndarray) -> np.ndarray:
    g = f.copy()
    g.flags.writeable = False
    return g


def versioned_dlpack() -> bool:
    """numpy 2.1 and later export read-only arrays (DLPack 1.0)."""
    try:
        np.zeros(1).__dlpack__(max_version=(1, 0))
    except TypeError:
        return False
    return True


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_layouts_give_the_same_bytes(frames, layout):
    view = LAYOUTS[layout](frames)
    if layout == "read_only" and not versioned_dlpack():
        with pytest.raises(ValueError, match="numpy before 2.1 cannot export read-only arrays"):
            VideoEncoder(view, frame_rate=30)
        return
    assert np.array_equal(view, frames)
    expected = VideoEncoder(np.ascontiguousarray(frames), frame_rate=30).to_tensor("h264", crf=20)
    got = VideoEncoder(view, frame_rate=30).to_tensor("h264", crf=20)
    assert np.array_equal(got, expected)


def test_layouts_may_change_between_batches(frames):
    expected = VideoEncoder(frames, frame_rate=30).to_tensor("mp4", crf=20)
    sink = io.BytesIO()
    with Encoder() as enc:
        video = enc.add_video(height=48, width=64, frame_rate=30, crf=20)
        enc.open_file_like(sink, format="mp4")
        video.add_frames(channels_last(frames[:3]))
        video.add_frames(frames[3:5])
        video.add_frames(LAYOUTS["cropped"](frames[5:]))
    assert sink.getvalue() == expected.tobytes()


def test_frames_are_not_copied_for_the_encoder(frames):
    # The same memory is encoded whether the caller keeps a view or not.
    big = np.concatenate([frames, frames])
    a = VideoEncoder(big[:7], frame_rate=30).to_tensor("h264", crf=20)
    b = VideoEncoder(frames, frame_rate=30).to_tensor("h264", crf=20)
    assert np.array_equal(a, b)


def test_to_tensor_is_a_writable_numpy_array(frames):
    data = VideoEncoder(frames, frame_rate=30).to_tensor("mp4")
    assert data.flags.writeable and data.dtype == np.uint8 and data.shape == (data.size,)


@pytest.mark.parametrize("rate", [30, 30.0, "30", Fraction(30), "60/2"])
def test_frame_rate_spellings_agree(frames, rate):
    expected = VideoEncoder(frames[:2], frame_rate=30).to_tensor("mp4", crf=30)
    assert np.array_equal(
        VideoEncoder(frames[:2], frame_rate=rate).to_tensor("mp4", crf=30), expected
    )


def test_ntsc_rate_from_a_float_is_exact():
    a = VideoEncoder(gradient(2, 16, 16), frame_rate=30000 / 1001).to_tensor("mp4")
    b = VideoEncoder(gradient(2, 16, 16), frame_rate="30000/1001").to_tensor("mp4")
    assert np.array_equal(a, b)


def test_qp_values_may_be_text_or_numbers(frames):
    a = VideoEncoder(frames[:2], frame_rate=30).to_tensor("h264", extra_options={"qp": 7})
    b = VideoEncoder(frames[:2], frame_rate=30).to_tensor("h264", extra_options={"qp": "7"})
    c = VideoEncoder(frames[:2], frame_rate=30).to_tensor("h264", extra_options={"qp": 7.0})
    assert np.array_equal(a, b) and np.array_equal(a, c)


def test_an_aborted_output_leaves_no_file(tmp_path, frames):
    dest = tmp_path / "abandoned.mp4"
    with pytest.raises(KeyError):
        with Encoder() as enc:
            video = enc.add_video(height=48, width=64, frame_rate=30)
            enc.open_file(dest)
            video.add_frames(frames)
            raise KeyError("the caller failed")
    assert os.listdir(tmp_path) == []


def test_the_output_appears_only_when_closed(tmp_path, frames):
    dest = tmp_path / "late.mp4"
    encoder = StreamingEncoder()
    video = encoder.add_video(height=48, width=64, frame_rate=30)
    with encoder.open(dest):
        video.write(frames)
        assert not dest.exists()
    assert dest.stat().st_size > 0
    assert [p.name for p in tmp_path.iterdir()] == ["late.mp4"]


def test_stream_properties(frames):
    encoder = Encoder()
    video = encoder.add_video(height=48, width=64, frame_rate=29.97)
    assert (video.height, video.width, video.frame_rate) == (48, 64, Fraction(2997, 100))
    assert video.device is None and video.frames_written == 0
    encoder.open_file_like(io.BytesIO(), format="h264")
    video.add_frames(frames[:3])
    assert video.device == "cpu" and video.frames_written == 3
    encoder.close()
    encoder.close()  # closing again does nothing
    assert "frames_written=3" in repr(video)


def test_module_metadata():
    assert framepress.__version__
    assert framepress.EXTRA_OPTIONS == (
        "qp",
        "crf",
        "g",
        "b",
        "preset",
        "profile",
        "colorspace",
        "color_range",
        "movflags",
        "frag_duration",
    )
