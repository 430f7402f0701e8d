"""CUDA tensors, encoded on their own GPU: the same bytes as the CPU, read in
place after the work queued on torch's stream. Skipped without torch and a
CUDA device (as in CI); FRAMEPRESS_REQUIRE_GPU=1 turns the skip into a failure."""

from __future__ import annotations

import io
import os

import pytest
from media import decode_yuv, noise

from framepress import Encoder, StreamingEncoder, VideoEncoder, cuda_device_count, encode_batch

torch = pytest.importorskip("torch")

if not torch.cuda.is_available() or cuda_device_count() == 0:
    if os.environ.get("FRAMEPRESS_REQUIRE_GPU") == "1":
        raise RuntimeError("FRAMEPRESS_REQUIRE_GPU=1 but no CUDA device is usable")
    pytest.skip("no CUDA device", allow_module_level=True)


def cpu_bytes(frames, fmt="mp4", **options) -> bytes:
    host = frames.cpu().contiguous().numpy()
    return VideoEncoder(host, frame_rate=30).to_tensor(fmt, **options).tobytes()


def cuda_bytes(frames, fmt="mp4", **options) -> bytes:
    return bytes(VideoEncoder(frames, frame_rate=30).to_tensor(fmt, **options).numpy())


@pytest.fixture(scope="module")
def frames():
    return torch.from_numpy(noise(12, 72, 96, seed=3)).cuda()


SETTINGS = [
    dict(extra_options={"qp": 1}),
    dict(crf=0, extra_options={"g": 5}),
    dict(extra_options={"b": "300k", "g": 6}),
    dict(crf=23),
    dict(crf=30, preset="ultrafast", extra_options={"g": 4}),
    dict(crf=18, preset="medium", extra_options={"g": 1}),
    dict(extra_options={"qp": 30, "g": 5, "colorspace": "bt601", "color_range": "pc"}),
]


@pytest.mark.parametrize("settings", SETTINGS, ids=[str(s) for s in SETTINGS])
def test_cuda_bytes_equal_cpu_bytes(frames, settings):
    assert cuda_bytes(frames, **settings) == cpu_bytes(frames, **settings)


MEMORY_FORMATS = {
    "contiguous": lambda t: t.contiguous(),
    "channels_last": lambda t: t.contiguous(memory_format=torch.channels_last),
    "cropped": lambda t: torch.nn.functional.pad(t, (2, 3, 1, 1))[:, :, 1:-1, 2:-3],
    "cropped_channels_last": lambda t: torch.nn.functional.pad(t, (0, 4)).contiguous(
        memory_format=torch.channels_last
    )[..., :-4],
    "flipped": lambda t: t.flip(2).contiguous().flip(2),
    "expanded": lambda t: t[:1].expand(5, -1, -1, -1),
    "planes_apart": lambda t: t.transpose(0, 1).contiguous().transpose(0, 1),
}


@pytest.mark.parametrize("name", sorted(MEMORY_FORMATS))
def test_memory_formats_on_cuda(frames, name):
    view = MEMORY_FORMATS[name](frames)
    assert cuda_bytes(view, crf=20) == cpu_bytes(view, crf=20)


def test_layout_may_change_between_batches(frames):
    expected = cpu_bytes(frames, crf=20, extra_options={"g": 5})
    encoder = Encoder()
    video = encoder.add_video(height=72, width=96, frame_rate=30, crf=20, extra_options={"g": 5})
    sink = io.BytesIO()
    encoder.open_file_like(sink, format="mp4")
    video.add_frames(frames[:4].contiguous(memory_format=torch.channels_last))
    video.add_frames(frames[4:7])
    video.add_frames(frames[7:].flip(3).contiguous().flip(3))
    encoder.close()
    assert video.device == "cuda:0"
    assert sink.getvalue() == expected


def test_frames_written_on_another_stream_are_waited_for():
    side = torch.cuda.Stream()
    expected = []
    got = []
    for i in range(4):
        with torch.cuda.stream(side):
            # Queued on the side stream, large enough to still be running when the encoder starts.
            torch.cuda._sleep(20_000_000)
            batch = torch.full((3, 3, 256, 256), 17 * i, dtype=torch.uint8, device="cuda")
            batch += torch.arange(256, device="cuda", dtype=torch.uint8)
            got.append(cuda_bytes(batch, crf=25))
        expected.append(cpu_bytes(batch, crf=25))
    assert got == expected


def test_seed_snippets_on_cuda(tmp_path, monkeypatch, ffmpeg):
    monkeypatch.chdir(tmp_path)
    frames = torch.randint(0, 256, (10, 3, 256, 256), dtype=torch.uint8, device="cuda")
    VideoEncoder(frames, frame_rate=30).to_file("a.mp4", extra_options={"qp": 1})
    encoder = StreamingEncoder()
    s = encoder.add_video(
        height=256, width=256, frame_rate=30, device="cuda", extra_options={"qp": 1}
    )
    with encoder.open("out.mp4"):
        s.write(frames)
    a, b = (tmp_path / "a.mp4").read_bytes(), (tmp_path / "out.mp4").read_bytes()
    assert a == b == cpu_bytes(frames, extra_options={"qp": 1})
    y, u, v = decode_yuv(ffmpeg, tmp_path / "out.mp4", 256, 256)
    assert y.shape == (10, 256, 256)


def test_cuda_and_cpu_streams_in_one_file(tmp_path, frames, ffmpeg):
    host = noise(6, 40, 56, seed=5)
    with Encoder() as encoder:
        gpu = encoder.add_video(height=72, width=96, frame_rate=30, device="cuda:0", crf=22)
        cpu = encoder.add_video(height=40, width=56, frame_rate=25, device="cpu", crf=22)
        encoder.open_file(tmp_path / "two.mkv")
        gpu.add_frames(frames)
        cpu.add_frames(host)
    assert (gpu.frames_written, cpu.frames_written) == (12, 6)
    assert (tmp_path / "two.mkv").stat().st_size > 1000


def test_host_frames_on_a_cuda_stream_are_uploaded(frames):
    expected = cpu_bytes(frames, crf=21, extra_options={"g": 4})
    encoder = Encoder()
    video = encoder.add_video(
        height=72, width=96, frame_rate=30, device="cuda", crf=21, extra_options={"g": 4}
    )
    sink = io.BytesIO()
    encoder.open_file_like(sink, format="mp4")
    video.add_frames(frames[:5].cpu().numpy())
    video.add_frames(frames[5:])
    encoder.close()
    assert video.device == "cuda:0"
    assert sink.getvalue() == expected


def test_device_errors(frames):
    n = cuda_device_count()
    with pytest.raises(ValueError, match=rf"CUDA device {n} does not exist .*this machine has {n}"):
        Encoder().add_video(height=8, width=8, frame_rate=30, device=f"cuda:{n}")
    encoder = Encoder()
    video = encoder.add_video(height=72, width=96, frame_rate=30, device="cpu")
    encoder.open_file_like(io.BytesIO(), format="h264")
    with pytest.raises(ValueError, match="frames are on cuda:0 but the stream encodes on cpu"):
        video.add_frames(frames[:2])
    video.add_frames(frames[:2].cpu())
    encoder.close()



def test_random_frames_at_every_low_qp_finish(tmp_path, ffmpeg):
    frames = torch.randint(0, 256, (3, 3, 256, 256), dtype=torch.uint8, device="cuda")
    for qp in range(0, 6):
        path = tmp_path / f"q{qp}.mp4"
        VideoEncoder(frames, frame_rate=30).to_file(path, extra_options={"qp": qp})
        y, _, _ = decode_yuv(ffmpeg, path, 256, 256)
        assert y.shape[0] == 3
        assert path.read_bytes() == cpu_bytes(frames, extra_options={"qp": qp})


def test_batch_on_the_gpu_equals_the_cpu(tmp_path, frames):
    clips = [
        frames[:6],
        frames[6:].cpu().numpy(),
        torch.from_numpy(noise(4, 40, 56, seed=8))
        .cuda()
        .contiguous(memory_format=torch.channels_last),
    ]
    gpu = [tmp_path / f"g{i}.mp4" for i in range(3)]
    cpu = [tmp_path / f"c{i}.mp4" for i in range(3)]
    encode_batch(clips, gpu, frame_rate=30, crf=22, extra_options={"g": 4})
    host = [c.cpu().numpy() if hasattr(c, "cpu") else c for c in clips]
    encode_batch(host, cpu, frame_rate=30, devices="cpu", crf=22, extra_options={"g": 4})
    assert [p.read_bytes() for p in gpu] == [p.read_bytes() for p in cpu]
