"""The error catalogue: each bad input raises the right exception type with a
message that says what was expected and what came."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from media import noise

from framepress import Encoder, StreamingEncoder, VideoEncoder, cuda_device_count

CUDA_MISSING = "cannot encode on cuda.*: this machine has no CUDA driver"
no_driver = pytest.mark.skipif(
    cuda_device_count() > 0, reason="a CUDA device is present (see test_cuda.py)"
)


class FakeCudaFrames:
    """Frames that say they live on a CUDA device, as a CUDA tensor would."""

    def __init__(self, shape=(2, 3, 16, 16)) -> None:
        self._array = np.zeros(shape, dtype=np.uint8)

    def __dlpack_device__(self):
        return (2, 0)

    def __dlpack__(self, **kwargs):
        raise AssertionError("CUDA frames must not be read from the host")


def video(**overrides):
    options = dict(height=16, width=16, frame_rate=30)
    options.update(overrides)
    encoder = Encoder()
    return encoder, encoder.add_video(**options)


def open_video(**overrides):
    encoder, stream = video(**overrides)
    encoder.open_file_like(io.BytesIO(), format="h264")
    return encoder, stream


# Frames -------------------------------------------------------------------

BAD_FRAMES = [
    (np.zeros((2, 3, 8, 8), np.float32), "dtype uint8, got float32"),
    (np.zeros((2, 3, 8, 8), np.int16), "dtype uint8, got int16"),
    (np.zeros((2, 3, 8, 8), bool), "dtype uint8, got bool"),
    (np.zeros((3, 8, 8), np.uint8), "4-D (N, 3, H, W), got 3-D shape (3, 8, 8) (one frame?"),
    (np.zeros((1, 2, 3, 8, 8), np.uint8), "4-D (N, 3, H, W), got 5-D"),
    (
        np.zeros((2, 4, 8, 8), np.uint8),
        "3 (RGB) channels in dimension 1, shape (N, 3, H, W), got shape (2, 4, 8, 8)",
    ),
    (np.zeros((2, 8, 8, 3), np.uint8), "frames.transpose(0, 3, 1, 2)"),
    (
        np.zeros((2, 3, 0, 8), np.uint8),
        "frames have height 0, shape (2, 3, 0, 8) (expected a height in 1..=8192)",
    ),
    (np.zeros((1, 3, 1, 8193), np.uint8), "width 8193"),
    ([[[[0]]]], "torch.Tensor or a numpy.ndarray (any object with __dlpack__), got list"),
    ("frames", "got str"),
    (np.zeros((0, 3, 8, 8), np.uint8), "holds no frame"),
]


@pytest.mark.parametrize("frames, message", BAD_FRAMES)
def test_bad_frames_for_video_encoder(frames, message):
    with pytest.raises(ValueError) as info:
        VideoEncoder(frames, frame_rate=30)
    assert message in str(info.value)


@pytest.mark.parametrize("frames, message", BAD_FRAMES[:-1])
def test_bad_frames_for_a_stream_leave_it_usable(frames, message):
    encoder, stream = open_video(height=8, width=8)
    with pytest.raises(ValueError) as info:
        stream.add_frames(frames)
    assert message in str(info.value)
    stream.add_frames(noise(1, 8, 8))
    encoder.close()
    assert stream.frames_written == 1


def test_frame_size_cannot_change_mid_stream():
    encoder, stream = open_video()
    stream.add_frames(noise(2, 16, 16))
    with pytest.raises(
        ValueError, match=r"frames are 16x24 .* height=16, width=16 \(the frame size cannot change"
    ):
        stream.add_frames(noise(2, 16, 24))
    encoder.close()
    assert stream.frames_written == 2


def test_no_frames_is_a_no_op_for_a_stream():
    encoder, stream = open_video()
    stream.add_frames(np.zeros((0, 3, 16, 16), np.uint8))
    stream.add_frames(noise(1, 16, 16))
    encoder.close()
    assert stream.frames_written == 1


# Devices ------------------------------------------------------------------


@no_driver
def test_cuda_device_is_not_available():
    with pytest.raises(RuntimeError, match=CUDA_MISSING):
        video(device="cuda")
    with pytest.raises(RuntimeError, match=CUDA_MISSING):
        video(device="cuda:1")


@no_driver
def test_cuda_frames_are_not_available():
    with pytest.raises(RuntimeError, match=CUDA_MISSING):
        VideoEncoder(FakeCudaFrames(), frame_rate=30)
    encoder, stream = open_video()
    with pytest.raises(RuntimeError, match=CUDA_MISSING):
        stream.add_frames(FakeCudaFrames())


def test_mixed_devices():
    encoder, stream = open_video(device="cpu")
    with pytest.raises(
        ValueError, match=r"frames are on cuda:0 but the stream encodes on cpu \(mixed devices"
    ):
        stream.add_frames(FakeCudaFrames())
    encoder, stream = open_video()
    stream.add_frames(noise(1, 16, 16))
    with pytest.raises(ValueError, match="mixed devices"):
        stream.add_frames(FakeCudaFrames())


@pytest.mark.parametrize("device", ["tpu", "cuda:x", "gpu"])
def test_unknown_device(device):
    with pytest.raises(
        ValueError, match=rf"invalid device '{device}' \(expected \"cpu\", \"cuda\" or \"cuda:N\"\)"
    ):
        video(device=device)


# Stream settings ----------------------------------------------------------

BAD_SETTINGS = [
    (dict(frame_rate=0), "invalid frame_rate 0 (expected a positive number"),
    (dict(frame_rate=-30), "invalid frame_rate -30"),
    (dict(frame_rate=float("nan")), "invalid frame_rate nan"),
    (dict(frame_rate=float("inf")), "invalid frame_rate inf"),
    (dict(frame_rate=True), "invalid frame_rate True"),
    (dict(frame_rate="fast"), "invalid frame_rate 'fast'"),
    (dict(frame_rate=2**40), "invalid frame_rate"),
    (dict(height=0), "invalid height 0 (expected 1..=8192)"),
    (dict(width=-4), "invalid width -4 (expected 1..=8192)"),
    (dict(width=9000), "invalid width 9000 (expected 1..=8192)"),
    (dict(height=2.5), "invalid height 2.5 (expected a positive integer)"),
    (dict(codec="hevc"), "unsupported codec 'hevc' (expected h264 or an H.264 encoder name"),
    (dict(codec="libx265"), "framepress writes H.264 only"),
    (dict(pixel_format="yuv444p"), "unsupported pixel_format 'yuv444p' (expected yuv420p"),
    (dict(pixel_format="rgb24"), "expected yuv420p"),
    (dict(crf=52), "invalid crf '52' (expected an integer in 0..=51)"),
    (dict(crf=-1), "invalid crf '-1'"),
    (dict(crf=23.5), "invalid crf '23.5'"),
    (dict(crf=True), "invalid crf True"),
    (
        dict(preset="placebo"),
        "invalid preset 'placebo' (expected one of ultrafast, superfast, veryfast, faster, fast, medium, slow)",
    ),
    (dict(preset=9), "invalid preset '9' (expected a name such as medium or a number in 0..=6)"),
    (
        dict(extra_options={"tune": "film"}),
        "unknown extra option 'tune' (accepted: qp, crf, g, b, preset, profile, colorspace, color_range, movflags, frag_duration)",
    ),
    (dict(extra_options={"QP": 1}), "unknown extra option 'QP'"),
    (dict(extra_options={"qp": 52}), "invalid qp '52' (expected an integer in 0..=51)"),
    (dict(extra_options={"qp": "low"}), "invalid qp 'low'"),
    (
        dict(extra_options={"qp": 1, "crf": 20}),
        "crf and qp cannot be combined (expected one rate control: crf, qp or b)",
    ),
    (dict(crf=20, extra_options={"b": "1M"}), "crf and b cannot be combined"),
    (dict(crf=20, extra_options={"crf": 20}), "crf is given twice"),
    (dict(preset="fast", extra_options={"preset": "slow"}), "preset is given twice"),
    (dict(extra_options={"g": 0}), "invalid g '0' (expected an integer in 1..=100000)"),
    (
        dict(extra_options={"b": "fast"}),
        "invalid bitrate 'fast' (expected bits per second such as 2000000, 2000k or 2M)",
    ),
    (
        dict(extra_options={"b": "10"}),
        "invalid bitrate '10' (expected bits per second in 1000..=1e12",
    ),
    (
        dict(extra_options={"profile": "main"}),
        "invalid profile 'main' (expected high, or high444p with crf 0",
    ),
    (dict(crf=0, extra_options={"profile": "high"}), "invalid profile 'high' for lossless coding"),
    (
        dict(extra_options={"profile": "high444p"}),
        "High 4:4:4 Predictive is used only for lossless coding",
    ),
    (dict(extra_options={"qp": 0, "profile": "high444p"}), "used only for lossless coding (crf 0)"),
    (
        dict(extra_options={"colorspace": "bt2020nc"}),
        "invalid colorspace 'bt2020nc' (expected bt709, or bt601 / bt470bg / smpte170m)",
    ),
    (
        dict(extra_options={"color_range": "studio"}),
        "invalid color_range 'studio' (expected tv / mpeg / limited, or pc / jpeg / full)",
    ),
    (
        dict(extra_options={"movflags": "frag_keyframe+bogus"}),
        "invalid movflags 'bogus' (expected faststart, or frag_keyframe, empty_moov",
    ),
    (dict(extra_options={"frag_duration": 0}), "invalid frag_duration '0' (expected an integer"),
    (dict(extra_options={"frag_duration": "1s"}), "invalid frag_duration '1s'"),
    (
        dict(extra_options=[("qp", 1)]),
        "extra_options must be a dict of FFmpeg option names to values, got list",
    ),
    (dict(extra_options={1: 2}), "extra_options names must be strings, got 1"),
    (dict(extra_options={"qp": None}), "extra option 'qp' has no value"),
]


@pytest.mark.parametrize("settings, message", BAD_SETTINGS)
def test_bad_settings_for_add_video(settings, message):
    with pytest.raises(ValueError) as info:
        video(**settings)
    assert message in str(info.value)


@pytest.mark.parametrize(
    "settings, message",
    [(s, m) for s, m in BAD_SETTINGS if not {"height", "width"} & s.keys()],
)
def test_bad_settings_for_video_encoder(tmp_path, settings, message):
    rate = settings.pop("frame_rate", 30)
    with pytest.raises(ValueError) as info:
        VideoEncoder(noise(1, 16, 16), frame_rate=rate).to_file(tmp_path / "x.mp4", **settings)
    assert message in str(info.value)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "codec", [None, "h264", "H264", "libx264", "libopenh264", "h264_nvenc", "h264_qsv", "avc"]
)
def test_h264_codec_names_are_accepted(codec):
    video(codec=codec)


# Destinations ---------------------------------------------------------------


def test_unknown_extension(tmp_path):
    encoder = VideoEncoder(noise(1, 16, 16), frame_rate=30)
    with pytest.raises(
        ValueError,
        match=r"cannot tell the container of '.*out\.avi' from its extension \(expected a name ending in \.mp4, \.m4v, \.mov, \.mkv, \.h264 or \.264\)",
    ):
        encoder.to_file(tmp_path / "out.avi")
    with pytest.raises(ValueError, match="dest must be a file path"):
        encoder.to_file(io.BytesIO())


@pytest.mark.parametrize("fmt", ["webm", "avi", ""])
def test_unknown_format(fmt):
    encoder = VideoEncoder(noise(1, 16, 16), frame_rate=30)
    with pytest.raises(
        ValueError,
        match=rf"unsupported format '{fmt}' \(expected \"mp4\", \"mov\", \"mkv\" or \"h264\"",
    ):
        encoder.to_tensor(fmt)
    with pytest.raises(ValueError, match="unsupported format"):
        encoder.to_file_like(io.BytesIO(), fmt)


def test_file_like_without_write():
    with pytest.raises(ValueError, match="the file-like object must have a write method, got int"):
        VideoEncoder(noise(1, 16, 16), frame_rate=30).to_file_like(5, "h264")


def test_missing_directory_is_a_runtime_error(tmp_path):
    dest = tmp_path / "no" / "such" / "dir" / "out.mp4"
    with pytest.raises(
        RuntimeError, match="cannot create output file '.*out.mp4'.*check that the directory exists"
    ):
        VideoEncoder(noise(1, 16, 16), frame_rate=30).to_file(dest)


class FailingWriter:
    def __init__(self, fail_after: int = 0) -> None:
        self.calls = 0
        self.fail_after = fail_after

    def write(self, data: bytes) -> int:
        self.calls += 1
        if self.calls > self.fail_after:
            raise OSError(28, "No space left on device")
        return len(data)


@pytest.mark.parametrize("fmt", ["h264", "mp4"])
def test_file_like_write_failure_is_a_runtime_error_with_its_cause(fmt):
    with pytest.raises(RuntimeError, match="No space left on device") as info:
        VideoEncoder(noise(3, 16, 16), frame_rate=30).to_file_like(FailingWriter(), fmt)
    assert isinstance(info.value.__cause__, OSError)


def test_a_failed_stream_refuses_more_frames():
    encoder, stream = video()
    encoder.open_file_like(FailingWriter(fail_after=1), format="h264")
    with pytest.raises(RuntimeError, match="No space left"):
        stream.add_frames(noise(4, 16, 16))
    with pytest.raises(RuntimeError, match="the output was abandoned after an earlier error"):
        stream.add_frames(noise(1, 16, 16))
    with pytest.raises(RuntimeError, match="abandoned"):
        encoder.close()


def test_closing_without_frames_is_a_runtime_error(tmp_path):
    encoder, _ = video()
    encoder.open_file(tmp_path / "empty.mp4")
    with pytest.raises(
        RuntimeError, match="no frames were written to '.*empty.mp4', so no file was created"
    ):
        encoder.close()
    assert os.listdir(tmp_path) == []


# Call order -------------------------------------------------------------------


def test_frames_before_open():
    _, stream = video()
    with pytest.raises(
        RuntimeError,
        match=r"cannot add frames before the output is open: call open_file\(\) or open_file_like\(\) first",
    ):
        stream.add_frames(noise(1, 16, 16))
    encoder = StreamingEncoder()
    stream = encoder.add_video(height=16, width=16, frame_rate=30)
    with pytest.raises(RuntimeError, match=r"write inside `with encoder.open\(dest\):`"):
        stream.write(noise(1, 16, 16))


def test_frames_after_close(tmp_path):
    encoder = StreamingEncoder()
    stream = encoder.add_video(height=16, width=16, frame_rate=30)
    with encoder.open(tmp_path / "a.h264"):
        stream.write(noise(1, 16, 16))
    with pytest.raises(RuntimeError, match="cannot add frames: the encoder is closed"):
        stream.write(noise(1, 16, 16))


def test_other_calls_out_of_order(tmp_path):
    encoder = Encoder()
    with pytest.raises(RuntimeError, match=r"add a stream with add_video\(\) or add_audio\(\)"):
        encoder.open_file(tmp_path / "a.mp4")
    with pytest.raises(RuntimeError, match="cannot close: the output was never opened"):
        encoder.close()
    encoder.add_video(height=16, width=16, frame_rate=30)
    encoder.open_file_like(io.BytesIO(), format="h264")
    with pytest.raises(RuntimeError, match="the output is already open"):
        encoder.open_file(tmp_path / "b.mp4")
    with pytest.raises(
        RuntimeError, match=r"add_video\(\) must be called before the output is opened"
    ):
        encoder.add_video(height=16, width=16, frame_rate=30)
    with pytest.raises(
        RuntimeError, match=r"add_audio\(\) must be called before the output is opened"
    ):
        encoder.add_audio(sample_rate=48000, num_channels=2)
    encoder._streams[0].add_frames(noise(1, 16, 16))
    encoder.close()
    with pytest.raises(RuntimeError, match="the encoder is closed"):
        encoder.open_file(tmp_path / "c.mp4")


def test_streaming_open_arguments(tmp_path):
    encoder = StreamingEncoder()
    encoder.add_video(height=16, width=16, frame_rate=30)
    with pytest.raises(ValueError, match="format is given by the file name's extension"):
        encoder.open(tmp_path / "a.mp4", format="mp4")
    with pytest.raises(
        ValueError,
        match='format is required for a file-like dest \\(expected "mp4", "mov", "mkv" or "h264"\\)',
    ):
        encoder.open(io.BytesIO())


def test_context_manager_that_never_opened_does_nothing():
    with Encoder() as encoder:
        encoder.add_video(height=16, width=16, frame_rate=30)
