"""encode_batch: many clips at once, one encoder per device; each output is
the bytes VideoEncoder.to_file writes for its clip."""

from __future__ import annotations

import numpy as np
import pytest
from media import gradient, noise

from framepress import VideoEncoder, cuda_device_count, encode_batch


def test_outputs_equal_single_encodes(tmp_path):
    clips = [noise(3, 32, 48, seed=1), gradient(9, 40, 40), noise(1, 17, 33, seed=2)]
    dests = [tmp_path / f"c{i}.mp4" for i in range(len(clips))]
    encode_batch(
        clips, dests, frame_rate=25, devices=["cpu", "cpu"], crf=22, extra_options={"g": 4}
    )
    for clip, dest in zip(clips, dests):
        single = tmp_path / "single.mp4"
        VideoEncoder(clip, frame_rate=25).to_file(single, crf=22, extra_options={"g": 4})
        assert dest.read_bytes() == single.read_bytes()


def test_default_devices_on_this_machine(tmp_path):
    dests = [tmp_path / "a.mkv", tmp_path / "b.h264"]
    encode_batch([gradient(2, 16, 16), gradient(3, 16, 32)], dests, frame_rate=30)
    assert all(d.stat().st_size > 0 for d in dests)


def test_a_failing_clip_is_reported_after_the_others(tmp_path):
    clips = [gradient(2, 16, 16), np.zeros((2, 3, 16, 16), np.float32), gradient(2, 16, 16)]
    dests = [tmp_path / f"{i}.mp4" for i in range(3)]
    with pytest.raises(ValueError, match=r"1 of 3 clips failed: clip 1 .*dtype uint8, got float32"):
        encode_batch(clips, dests, frame_rate=30, devices="cpu")
    assert dests[0].exists() and dests[2].exists() and not dests[1].exists()


def test_bad_batches():
    with pytest.raises(ValueError, match="2 clips but 1 destinations"):
        encode_batch([gradient(1, 8, 8)] * 2, ["a.mp4"], frame_rate=30)
    with pytest.raises(ValueError, match="invalid device 'tpu'"):
        encode_batch([gradient(1, 8, 8)], ["a.mp4"], frame_rate=30, devices=["tpu"])
    n = cuda_device_count()
    with pytest.raises(
        (ValueError, RuntimeError),
        match=rf"cannot encode on cuda:{n}|CUDA device {n} does not exist",
    ):
        encode_batch([gradient(1, 8, 8)], ["a.mp4"], frame_rate=30, devices=[f"cuda:{n}"])
