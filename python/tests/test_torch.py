"""torch tensors: read through DLPack in any memory format; to_tensor gives a
torch tensor back. Skipped where torch is not installed (as in CI)."""

from __future__ import annotations

import io

import pytest
from media import noise

from framepress import Encoder, StreamingEncoder, VideoEncoder

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def frames():
    return torch.from_numpy(noise(5, 32, 48, seed=9))


def reference(frames) -> bytes:
    return VideoEncoder(frames.numpy().copy(), frame_rate=30).to_tensor("mp4", crf=20).tobytes()


def test_to_tensor_returns_a_torch_tensor(frames):
    data = VideoEncoder(frames, frame_rate=30).to_tensor("mp4", crf=20)
    assert isinstance(data, torch.Tensor)
    assert data.dtype == torch.uint8 and data.dim() == 1 and data.device.type == "cpu"
    assert bytes(data.numpy()) == reference(frames)
    data[0] = 0  # writable: no copy-on-write surprises


MEMORY_FORMATS = {
    "contiguous": lambda t: t.contiguous(),
    "channels_last": lambda t: t.contiguous(memory_format=torch.channels_last),
    "cropped": lambda t: torch.nn.functional.pad(t, (2, 3, 1, 1))[:, :, 1:-1, 2:-3],
    "permuted_nhwc": lambda t: t.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2),
    "expanded": lambda t: t[:1].expand(5, -1, -1, -1),
}


@pytest.mark.parametrize("name", sorted(MEMORY_FORMATS))
def test_memory_formats_give_the_same_bytes(frames, name):
    view = MEMORY_FORMATS[name](frames)
    expected = reference(view.contiguous())
    got = VideoEncoder(view, frame_rate=30).to_tensor("mp4", crf=20)
    assert bytes(got.numpy()) == expected


def test_channels_last_is_read_in_place(frames):
    cl = frames.contiguous(memory_format=torch.channels_last)
    assert not cl.is_contiguous() and cl.stride()[1] == 1
    assert bytes(VideoEncoder(cl, frame_rate=30).to_tensor("mp4", crf=20).numpy()) == reference(
        frames
    )


def test_streaming_snippet_with_torch(tmp_path, monkeypatch, frames):
    monkeypatch.chdir(tmp_path)
    encoder = StreamingEncoder()
    s = encoder.add_video(height=32, width=48, frame_rate=30, device=torch.device("cpu"), crf=20)
    with encoder.open("out.mp4"):
        s.write(frames[:2])
        s.write(frames[2:].contiguous(memory_format=torch.channels_last))
    assert (tmp_path / "out.mp4").read_bytes() == reference(frames)


def test_tensor_requiring_grad_gets_the_dtype_error():
    t = torch.zeros((1, 3, 8, 8), dtype=torch.float32, requires_grad=True)
    with pytest.raises(ValueError, match="dtype uint8, got float32"):
        VideoEncoder(t, frame_rate=30)


def test_file_like_with_torch(frames):
    sink = io.BytesIO()
    with Encoder() as enc:
        video = enc.add_video(height=32, width=48, frame_rate=30, crf=20)
        enc.open_file_like(sink, format="mp4")
        video.add_frames(frames)
    assert sink.getvalue() == reference(frames)
