"""Bad inputs added by the reliability work (docs/RELIABILITY.md): the
regression found by fuzzing the option parsers, and inputs the catalogue in
test_errors.py did not cover yet."""

from __future__ import annotations

import io

import numpy as np
import pytest

from framepress import Encoder, VideoEncoder


def video(**overrides):
    options = dict(height=16, width=16, frame_rate=30)
    options.update(overrides)
    encoder = Encoder()
    return encoder, encoder.add_video(**options)


# Found by the `options` fuzz target: a bitrate below half a bit per second
# parsed as 0 instead of being refused with the text that was given.
@pytest.mark.parametrize("bitrate", [".2", "0.4", "0.0000001k", "0", "-1M", "inf", "nan", "2T"])
def test_bitrate_that_is_no_bitrate_is_a_value_error(bitrate):
    with pytest.raises(ValueError) as info:
        video(extra_options={"b": bitrate})
    assert f"invalid bitrate '{bitrate}'" in str(info.value)


def test_frames_of_a_new_size_mid_stream_raise_and_the_stream_goes_on():
    encoder, stream = video()
    out = io.BytesIO()
    encoder.open_file_like(out, format="h264")
    stream.add_frames(np.zeros((1, 3, 16, 16), np.uint8))
    with pytest.raises(ValueError):
        stream.add_frames(np.zeros((1, 3, 32, 16), np.uint8))
    stream.add_frames(np.full((1, 3, 16, 16), 200, np.uint8))
    encoder.close()
    assert out.getvalue().startswith(b"\x00\x00\x00\x01")


def test_non_contiguous_odd_strided_frames_encode():
    # Every other column of a wider array: strides no encoder path expects.
    frames = np.arange(2 * 3 * 9 * 22, dtype=np.uint8).reshape(2, 3, 9, 22)[:, :, :, ::2]
    data = VideoEncoder(frames, frame_rate=30).to_tensor("h264")
    assert len(data) > 0


def test_write_failure_midway_is_a_runtime_error():
    class Flaky(io.RawIOBase):
        def __init__(self):
            self.calls = 0

        def writable(self):
            return True

        def write(self, b):
            self.calls += 1
            if self.calls > 2:
                raise OSError(28, "No space left on device")
            return len(b)

    frames = np.random.default_rng(1).integers(0, 256, (6, 3, 64, 64), dtype=np.uint8)
    with pytest.raises(RuntimeError) as info:
        VideoEncoder(frames, frame_rate=30).to_file_like(Flaky(), "h264", crf=0)
    assert "No space left" in str(info.value)


def test_file_like_closed_under_the_writer_is_a_runtime_error():
    from framepress import StreamingEncoder

    frames = np.random.default_rng(2).integers(0, 256, (4, 3, 64, 64), dtype=np.uint8)
    out = io.BytesIO()
    encoder = StreamingEncoder()
    video = encoder.add_video(height=64, width=64, frame_rate=30, extra_options={"qp": 0})
    with pytest.raises(RuntimeError) as info:
        with encoder.open(out, format="h264"):
            video.write(frames)
            out.close()
            video.write(frames)
    assert "closed" in str(info.value)
