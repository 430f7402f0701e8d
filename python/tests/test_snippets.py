"""The two snippets from the issue run as written, with only the import
changed, on the CPU (test_cuda.py runs them on a GPU)."""

from __future__ import annotations

import pytest
from media import decode_yuv, luma, noise, psnr

from framepress import StreamingEncoder, VideoEncoder, cuda_device_count


@pytest.fixture
def frames():
    return noise(10, 256, 256)


def check(ffmpeg: str, path, frames) -> None:
    y, _, _ = decode_yuv(ffmpeg, path, 256, 256)
    assert y.shape == (10, 256, 256)
    assert psnr(y, luma(frames)) > 40


def test_video_encoder_snippet(tmp_path, monkeypatch, ffmpeg, frames):
    monkeypatch.chdir(tmp_path)
    VideoEncoder(frames, frame_rate=30).to_file("out.mp4", extra_options={"qp": 1})
    check(ffmpeg, tmp_path / "out.mp4", frames)


def test_streaming_encoder_snippet(tmp_path, monkeypatch, ffmpeg, frames):
    monkeypatch.chdir(tmp_path)
    encoder = StreamingEncoder()
    s = encoder.add_video(
        height=256, width=256, frame_rate=30, device="cpu", extra_options={"qp": 1}
    )
    with encoder.open("out.mp4"):
        s.write(frames)
    check(ffmpeg, tmp_path / "out.mp4", frames)


@pytest.mark.skipif(cuda_device_count() > 0, reason="a CUDA device is present (see test_cuda.py)")
def test_streaming_encoder_snippet_on_cuda_without_a_driver(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    encoder = StreamingEncoder()
    with pytest.raises(
        RuntimeError, match="cannot encode on cuda: this machine has no CUDA driver"
    ):
        encoder.add_video(
            height=256, width=256, frame_rate=30, device="cuda", extra_options={"qp": 1}
        )
    assert not (tmp_path / "out.mp4").exists()
