"""Several streams in one output, audio, MOV and Matroska, fragmented output:
checked with FFmpeg and ffprobe."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from media import REPO, decode, gradient, noise

from framepress import Encoder, StreamingEncoder, VideoEncoder


@pytest.fixture(scope="session")
def ffprobe() -> str:
    path = os.environ.get("FRAMEPRESS_FFPROBE")
    local = REPO / ".tools" / "ffprobe"
    path = path or (str(local) if local.exists() else shutil.which("ffprobe"))
    if path is None:
        if os.environ.get("FRAMEPRESS_REQUIRE_TOOLS") == "1":
            pytest.fail("ffprobe is required (FRAMEPRESS_REQUIRE_TOOLS=1) but was not found")
        pytest.skip("ffprobe not found")
    return path


def probe(ffprobe: str, path: Path) -> dict:
    out = subprocess.run(
        [ffprobe, "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True,
        check=True,
    ).stdout
    return json.loads(out)


def sine(channels: int, n: int, rate: int, freq: float = 440.0) -> np.ndarray:
    t = np.arange(n) / rate
    return np.stack([0.5 * np.sin(2 * np.pi * freq * (c + 1) * t) for c in range(channels)]).astype(
        np.float32
    )


def decode_audio(ffmpeg: str, path: Path, stream: int, channels: int) -> np.ndarray:
    raw = subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(path), "-map", f"0:a:{stream}", "-f", "f32le", "-"],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, dtype="<f4").reshape(-1, channels).T


@pytest.mark.parametrize("ext", ["mp4", "mov", "mkv"])
def test_two_videos_and_audio_in_one_file(tmp_path, ffmpeg, ffprobe, ext):
    a, b = gradient(20, 48, 64), noise(10, 36, 40, seed=2)
    samples = sine(2, 48000, 48000)
    path = tmp_path / f"three.{ext}"
    with Encoder() as encoder:
        va = encoder.add_video(height=48, width=64, frame_rate=30, crf=20)
        vb = encoder.add_video(height=36, width=40, frame_rate=15, crf=20)
        audio = encoder.add_audio(sample_rate=48000, num_channels=2, bit_rate=128000)
        encoder.open_file(path)
        for i in range(10):
            va.add_frames(a[2 * i : 2 * i + 2])
            vb.add_frames(b[i : i + 1])
            audio.add_samples(samples[:, 4800 * i : 4800 * (i + 1)])
    assert (va.frames_written, vb.frames_written, audio.samples_written) == (20, 10, 48000)
    info = probe(ffprobe, path)
    streams = info["streams"]
    assert [s["codec_type"] for s in streams] == ["video", "video", "audio"]
    assert (streams[0]["width"], streams[0]["height"], streams[0]["r_frame_rate"]) == (
        64,
        48,
        "30/1",
    )
    assert (streams[1]["width"], streams[1]["height"], streams[1]["r_frame_rate"]) == (
        40,
        36,
        "15/1",
    )
    assert streams[2]["codec_name"] == "opus"
    assert (int(streams[2]["sample_rate"]), streams[2]["channels"]) == (48000, 2)
    assert abs(float(info["format"]["duration"]) - 1.0) < 0.05
    decoded = decode_audio(ffmpeg, path, 0, 2)
    n = min(decoded.shape[1], samples.shape[1])
    assert abs(decoded.shape[1] - samples.shape[1]) <= 960
    error = decoded[:, 2000:n] - samples[:, 2000:n]
    snr = 10 * np.log10(np.mean(samples[:, 2000:n] ** 2) / np.mean(error**2))
    assert snr > 20, f"Opus round trip SNR {snr:.1f} dB"


def test_pcm_audio_is_exact(tmp_path, ffmpeg):
    samples = np.random.default_rng(1).uniform(-1, 1, (3, 22050)).astype(np.float32)
    path = tmp_path / "pcm.mkv"
    with Encoder() as encoder:
        video = encoder.add_video(height=16, width=16, frame_rate=10)
        audio = encoder.add_audio(sample_rate=22050, num_channels=3, codec="pcm")
        encoder.open_file(path)
        video.add_frames(gradient(10, 16, 16))
        audio.add_samples(samples[:, :10000])
        audio.add_samples(samples[:, 10000:])
    assert np.array_equal(decode_audio(ffmpeg, path, 0, 3), samples)


def test_torch_samples(tmp_path, ffmpeg):
    torch = pytest.importorskip("torch")
    samples = sine(1, 16000, 16000)
    path = tmp_path / "t.mkv"
    with Encoder() as encoder:
        audio = encoder.add_audio(sample_rate=16000, num_channels=1, codec="pcm")
        encoder.open_file(path)
        audio.add_samples(torch.from_numpy(samples).double())
    assert np.allclose(decode_audio(ffmpeg, path, 0, 1), samples)


@pytest.mark.parametrize("fmt", ["mp4", "mov", "mkv"])
def test_containers_carry_the_same_video(tmp_path, ffmpeg, fmt):
    frames = gradient(8, 40, 48)
    reference = VideoEncoder(frames, frame_rate=24).to_tensor("h264", crf=20).tobytes()
    data = VideoEncoder(frames, frame_rate=24).to_tensor(fmt, crf=20).tobytes()
    (tmp_path / f"v.{fmt}").write_bytes(data)
    (tmp_path / "v.h264").write_bytes(reference)
    assert decode(ffmpeg, tmp_path / f"v.{fmt}") == decode(ffmpeg, tmp_path / "v.h264")
    file_path = tmp_path / f"f.{fmt}"
    VideoEncoder(frames, frame_rate=24).to_file(file_path, crf=20)
    assert file_path.read_bytes() == data


class WriteOnly:
    """A file-like that cannot seek, recording when bytes arrive."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def getvalue(self) -> bytes:
        return b"".join(self.chunks)


def test_fragmented_output_streams_into_a_file_like(tmp_path, ffmpeg):
    frames = gradient(30, 32, 32)
    sink = WriteOnly()
    encoder = StreamingEncoder()
    video = encoder.add_video(
        height=32,
        width=32,
        frame_rate=30,
        extra_options={"g": 10, "movflags": "frag_keyframe+empty_moov"},
    )
    with encoder.open(sink, format="mp4"):
        video.write(frames[:15])
        written_before_close = len(sink.getvalue())
        video.write(frames[15:])
    assert written_before_close > 0, "fragments are written as they complete"
    data = sink.getvalue()
    assert b"moof" in data
    (tmp_path / "frag.mp4").write_bytes(data)
    whole = VideoEncoder(frames, frame_rate=30).to_tensor("mp4", extra_options={"g": 10}).tobytes()
    (tmp_path / "whole.mp4").write_bytes(whole)
    assert decode(ffmpeg, tmp_path / "frag.mp4") == decode(ffmpeg, tmp_path / "whole.mp4")


def test_fragmented_file_keeps_complete_fragments_after_an_error(tmp_path, ffmpeg):
    frames = gradient(20, 32, 32)
    path = tmp_path / "crash.mp4"
    encoder = Encoder()
    video = encoder.add_video(
        height=32, width=32, frame_rate=30, extra_options={"g": 5, "frag_duration": 1}
    )
    encoder.open_file(path)
    video.add_frames(frames)
    encoder._abort()  # the process giving up mid-stream
    assert path.exists(), "complete fragments stay on disk"
    decoded = decode(ffmpeg, path)
    assert 0 < len(decoded) // (32 * 32 * 3 // 2) <= 20


AUDIO_ERRORS = [
    (dict(sample_rate=0, num_channels=2), ValueError, "invalid audio sample rate '0'"),
    (dict(sample_rate=500, num_channels=2), ValueError, "invalid audio sample rate '500'"),
    (dict(sample_rate=48000, num_channels=0), ValueError, "invalid audio channels '0'"),
    (
        dict(sample_rate=48000, num_channels=9),
        ValueError,
        "invalid audio channels '9' (expected 1..=8)",
    ),
    (
        dict(sample_rate=48000, num_channels=2, codec="mp3"),
        ValueError,
        "invalid audio codec 'mp3' (expected opus or pcm)",
    ),
    (
        dict(sample_rate=48000, num_channels=2, codec="pcm", bit_rate=64000),
        ValueError,
        "bit_rate applies to Opus only",
    ),
    (
        dict(sample_rate=48000, num_channels=2, bit_rate=100),
        ValueError,
        "invalid audio bitrate '100'",
    ),
    (
        dict(sample_rate=48000.0, num_channels=2),
        ValueError,
        "invalid sample_rate 48000.0 (expected a positive integer)",
    ),
]


@pytest.mark.parametrize("options, kind, message", AUDIO_ERRORS)
def test_bad_audio_settings(options, kind, message):
    with pytest.raises(kind) as info:
        Encoder().add_audio(**options)
    assert message in str(info.value)


BAD_SAMPLES = [
    (np.zeros((2, 100), np.int16), "audio samples must be floating point"),
    (np.zeros(100, np.float32), "shaped (num_channels, num_samples) = (2, N), got shape (100,)"),
    (np.zeros((1, 100), np.float32), "got shape (1, 100)"),
    (np.zeros((100, 2), np.float32), "got shape (100, 2)"),
    (np.full((2, 10), np.nan, np.float32), "finite"),
]


@pytest.mark.parametrize("samples, message", BAD_SAMPLES)
def test_bad_samples(samples, message):
    encoder = Encoder()
    audio = encoder.add_audio(sample_rate=48000, num_channels=2, codec="pcm")
    encoder.open_file_like(io.BytesIO(), format="mkv")
    with pytest.raises(ValueError) as info:
        audio.add_samples(samples)
    assert message in str(info.value)
    audio.add_samples(np.zeros((2, 10), np.float32))  # the stream is still usable
    encoder.close()


def test_audio_calls_out_of_order(tmp_path):
    encoder = Encoder()
    audio = encoder.add_audio(sample_rate=48000, num_channels=1)
    with pytest.raises(RuntimeError, match="cannot add frames before the output is open"):
        audio.add_samples(np.zeros((1, 10), np.float32))
    with pytest.raises(
        ValueError,
        match=r"raw H.264 \(Annex B\) output carries one video stream, but this encoder has 0 video and 1 audio",
    ):
        encoder.open_file(tmp_path / "audio.h264")
    assert not (tmp_path / "audio.h264").exists()
