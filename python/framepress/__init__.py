"""H.264 encoding of torch tensors and numpy arrays, with TorchCodec's encoder API.

Frames are ``uint8`` batches shaped ``(N, 3, H, W)`` (RGB), in any strides:
contiguous and channels-last tensors are read in place through DLPack, other
layouts are gathered one frame at a time. An ``(N, H, W, 3)`` array is passed
as a view in that order, which copies nothing:
``frames.permute(0, 3, 1, 2)`` (torch) or ``frames.transpose(0, 3, 1, 2)``
(numpy).

- :class:`VideoEncoder` encodes frames already in memory, to a file, a
  tensor or a file-like object.
- :class:`Encoder` and :class:`StreamingEncoder` take frames batch by batch,
  into one output with any number of video and audio streams.

CUDA tensors are encoded on their own GPU by the CUDA backend, read where
they lie (after the work queued on torch's current stream), with no copy
through host memory.

Bad arguments and frames raise ``ValueError``; encoding and I/O failures, and
calls in the wrong order, raise ``RuntimeError``. Every message says what was
expected and what came.
"""

from __future__ import annotations

import math
import os
import queue
import sys
import threading
from collections.abc import Mapping
from fractions import Fraction
from typing import Any, Protocol, Union

from . import _framepress
from ._framepress import NativeEncoder

__all__ = [
    "EXTRA_OPTIONS",
    "AudioStream",
    "Encoder",
    "StreamingEncoder",
    "VideoEncoder",
    "VideoStream",
    "cuda_device_count",
    "encode_batch",
]

__version__: str = _framepress.__version__


def cuda_device_count() -> int:
    """The number of CUDA devices framepress can encode on (0 without a
    driver); ``device="cuda:N"`` takes N below it."""
    return _framepress.cuda_device_count()


#: The FFmpeg option names ``extra_options`` accepts.
EXTRA_OPTIONS: tuple[str, ...] = tuple(_framepress.EXTRA_OPTIONS)


class SupportsDLPack(Protocol):
    """Frames: a ``torch.Tensor``, a ``numpy.ndarray`` or any DLPack exporter."""

    def __dlpack__(self, *args: Any, **kwargs: Any) -> Any: ...

    def __dlpack_device__(self) -> tuple[int, int]: ...


class SupportsWrite(Protocol):
    """A destination for :meth:`VideoEncoder.to_file_like`: has ``write(bytes)``."""

    def write(self, data: bytes, /) -> Any: ...


Path = Union[str, "os.PathLike[str]"]
FrameRate = Union[int, float, Fraction, str]
Crf = Union[int, float]
Preset = Union[str, int]
ExtraOptions = Mapping[str, Any]


def _frame_rate(value: FrameRate) -> tuple[int, int]:
    """A positive frame rate as an exact fraction (29.97 → 2997/100)."""
    bad = ValueError(
        f"invalid frame_rate {value!r} (expected a positive number such as 30, 29.97 "
        f"or '30000/1001')"
    )
    if isinstance(value, bool):
        raise bad
    try:
        if isinstance(value, float):
            if not math.isfinite(value):
                raise bad
            rate = Fraction(value).limit_denominator(1001)
        else:
            rate = Fraction(value)
    except (TypeError, ValueError, ZeroDivisionError):
        raise bad from None
    if rate <= 0:
        raise bad
    return rate.numerator, rate.denominator


def _dimension(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"invalid {name} {value!r} (expected a positive integer)")
    return value


def _text(name: str, value: Any) -> str | None:
    """An option as the text FFmpeg would take (``qp=1`` and ``qp="1"`` alike)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"invalid {name} {value!r} (expected a number or a name, not a bool)")
    return str(value)


def _extra(extra_options: ExtraOptions | None) -> list[tuple[str, str]]:
    if extra_options is None:
        return []
    if not isinstance(extra_options, Mapping):
        raise ValueError(
            f"extra_options must be a dict of FFmpeg option names to values, got "
            f"{type(extra_options).__name__}"
        )
    pairs = []
    for key, value in extra_options.items():
        if not isinstance(key, str):
            raise ValueError(f"extra_options names must be strings, got {key!r}")
        text = _text(key, value)
        if text is None:
            raise ValueError(f"extra option '{key}' has no value (expected a number or a name)")
        pairs.append((key, text))
    return pairs


def _device(device: Any) -> str | None:
    """``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a ``torch.device``."""
    return None if device is None else str(device)


def _is_torch(frames: Any) -> bool:
    return type(frames).__module__.split(".")[0] == "torch"


def _prepare(frames: Any) -> Any:
    """Frames ready for DLPack: a torch tensor that requires grad is detached
    (a view, no copy), since DLPack refuses to export it."""
    if _is_torch(frames) and getattr(frames, "requires_grad", False):
        return frames.detach()
    return frames


def _dest(dest: Any) -> str:
    if not isinstance(dest, (str, os.PathLike)):
        raise ValueError(
            f"dest must be a file path (str or os.PathLike), got {type(dest).__name__}; "
            f"for a file object use to_file_like() / open_file_like()"
        )
    return os.fspath(dest)


def _video_options(
    *,
    height: int,
    width: int,
    frame_rate: FrameRate,
    device: Any,
    codec: str | None,
    pixel_format: str | None,
    crf: Crf | None,
    preset: Preset | None,
    extra_options: ExtraOptions | None,
) -> dict[str, Any]:
    """The arguments of ``NativeEncoder.add_video``, checked and as text."""
    return dict(
        height=_dimension("height", height),
        width=_dimension("width", width),
        frame_rate=_frame_rate(frame_rate),
        device=_device(device),
        codec=_text("codec", codec),
        pixel_format=_text("pixel_format", pixel_format),
        crf=_text("crf", crf),
        preset=_text("preset", preset),
        extra_options=_extra(extra_options),
    )


def _producer_stream(frames: Any) -> int | None:
    """torch's current CUDA stream on the frames' device (its handle), after
    whose queued work the frames may be read; ``None`` for other frames."""
    if _is_torch(frames) and getattr(frames, "is_cuda", False):
        torch = sys.modules["torch"]
        return int(torch.cuda.current_stream(frames.device).cuda_stream)
    return None


def _write(native: NativeEncoder, index: int, frames: Any) -> None:
    frames = _prepare(frames)
    native.write_video(index, frames, _producer_stream(frames))


def _run(native: NativeEncoder, frames: Any) -> bytearray | None:
    """Encodes every frame into stream 0 and finishes; any failure discards the output."""
    try:
        _write(native, 0, frames)
        return native.close()
    except BaseException:
        native.abort()
        raise


def _audio_bytes(samples: Any, channels: int) -> bytes:
    """``samples`` (channels × samples, float32) as C-ordered native float32 bytes."""
    import numpy

    if _is_torch(samples):
        if samples.is_floating_point():
            samples = samples.detach().to("cpu", sys.modules["torch"].float32)
        array = samples.numpy() if samples.device.type == "cpu" else None
        if array is None:  # pragma: no cover - every torch tensor is on the CPU by now
            raise ValueError("audio samples could not be moved to the CPU")
    else:
        array = numpy.asarray(samples)
    if array.dtype.kind != "f":
        raise ValueError(
            f"audio samples must be floating point (float32, nominally in -1..1), got dtype "
            f"{array.dtype} (convert them first, e.g. samples.astype(numpy.float32) / 32768 for "
            f"int16)"
        )
    if array.ndim != 2 or array.shape[0] != channels:
        raise ValueError(
            f"audio samples must be shaped (num_channels, num_samples) = ({channels}, N), got "
            f"shape {tuple(array.shape)}"
        )
    return numpy.ascontiguousarray(array, dtype=numpy.float32).tobytes()


class VideoEncoder:
    """Encodes a batch of frames held in memory.

    Args:
        frames: ``uint8`` frames shaped ``(N, 3, H, W)``, N ≥ 1: a
            ``torch.Tensor`` or ``numpy.ndarray`` in any strides, read without
            a copy. CUDA tensors are encoded on their own GPU by the CUDA
            backend, with the bytes the CPU gives.
        frame_rate: frames per second, e.g. ``30``, ``29.97`` or
            ``"30000/1001"``.

    Each ``to_*`` method takes the encoding options:

    - ``codec``: ``None``, ``"h264"``, or an H.264 encoder name such as
      ``"libx264"`` or ``"h264_nvenc"``; framepress writes H.264 only.
    - ``pixel_format``: ``None`` or ``"yuv420p"``, the output's format.
    - ``crf``: constant rate factor 0–51 (default 23); ``crf=0`` is lossless.
    - ``preset``: ``"ultrafast"`` … ``"slow"`` (or x264's number 0–6),
      default ``"medium"``.
    - ``extra_options``: FFmpeg options by name: ``qp`` (constant quantiser
      0–51 of P pictures; IDR pictures 3 lower, as libx264), ``crf``, ``g``
      (GOP length), ``b`` (bitrate, e.g. ``"2M"``), ``preset``, ``profile``
      (``"high"``, or ``"high444p"`` for lossless),
      ``colorspace`` (``"bt709"``, ``"bt601"``/``"bt470bg"``/``"smpte170m"``),
      ``color_range`` (``"tv"``/``"limited"``, ``"pc"``/``"full"``),
      ``movflags`` (``"faststart"``). Unknown names and bad values raise
      ``ValueError`` listing what is accepted.
    """

    def __init__(self, frames: SupportsDLPack, *, frame_rate: FrameRate) -> None:
        frames = _prepare(frames)
        count, height, width, device = _framepress.inspect_frames(frames)
        if count == 0:
            raise ValueError("frames holds no frame, shape (0, 3, H, W) (expected N >= 1)")
        self._frames = frames
        self._frame_rate = _frame_rate(frame_rate)
        self._height = height
        self._width = width
        self._device = device

    def _native(self, **options: Any) -> NativeEncoder:
        native = NativeEncoder()
        native.add_video(
            **_video_options(
                height=self._height,
                width=self._width,
                frame_rate=Fraction(*self._frame_rate),
                device=self._device,
                **options,
            )
        )
        return native

    def to_file(
        self,
        dest: Path,
        *,
        codec: str | None = None,
        pixel_format: str | None = None,
        crf: Crf | None = None,
        preset: Preset | None = None,
        extra_options: ExtraOptions | None = None,
    ) -> None:
        """Writes the video to ``dest``; its extension picks the container:
        ``.mp4``/``.m4v`` (MP4), ``.mov``, ``.mkv`` (Matroska) or
        ``.h264``/``.264`` (Annex B). The file appears only when complete; on
        any error nothing is left behind."""
        native = self._native(
            codec=codec,
            pixel_format=pixel_format,
            crf=crf,
            preset=preset,
            extra_options=extra_options,
        )
        native.open_path(_dest(dest))
        _run(native, self._frames)

    def to_tensor(
        self,
        format: str,
        *,
        codec: str | None = None,
        pixel_format: str | None = None,
        crf: Crf | None = None,
        preset: Preset | None = None,
        extra_options: ExtraOptions | None = None,
    ) -> Any:
        """Returns the encoded ``format`` (``"mp4"``, ``"mov"``, ``"mkv"`` or
        ``"h264"``) bytes as a
        1-D ``uint8`` array: a CPU ``torch.Tensor`` when the frames were torch
        tensors, else a ``numpy.ndarray``."""
        native = self._native(
            codec=codec,
            pixel_format=pixel_format,
            crf=crf,
            preset=preset,
            extra_options=extra_options,
        )
        native.open_memory(format)
        data = _run(native, self._frames)
        assert data is not None
        if _is_torch(self._frames):
            torch = sys.modules["torch"]  # imported by whoever made the frames
            return torch.frombuffer(data, dtype=torch.uint8)
        import numpy

        return numpy.frombuffer(data, dtype=numpy.uint8)

    def to_file_like(
        self,
        file_like: SupportsWrite,
        format: str,
        *,
        codec: str | None = None,
        pixel_format: str | None = None,
        crf: Crf | None = None,
        preset: Preset | None = None,
        extra_options: ExtraOptions | None = None,
    ) -> None:
        """Writes the encoded ``format`` (``"mp4"``, ``"mov"``, ``"mkv"`` or
        ``"h264"``) to any object with a ``write`` method; it need not be
        seekable. ``"h264"`` and fragmented output (``movflags``) are written
        as they are encoded; whole MP4, MOV and Matroska files are assembled
        in a temporary file (the index goes first) and then written out in
        chunks, so the bytes are those :meth:`to_file` writes."""
        native = self._native(
            codec=codec,
            pixel_format=pixel_format,
            crf=crf,
            preset=preset,
            extra_options=extra_options,
        )
        native.open_writer(file_like, format)
        _run(native, self._frames)


class _Stream:
    """A stream of an :class:`Encoder`: its place in the output."""

    def __init__(self, encoder: Encoder, index: int) -> None:
        self._encoder = encoder
        self._index = index

    @property
    def index(self) -> int:
        """The stream's position in the output, from 0."""
        return self._index


class VideoStream(_Stream):
    """A video stream of an :class:`Encoder`, made by :meth:`Encoder.add_video`."""

    def add_frames(self, frames: SupportsDLPack) -> None:
        """Encodes a batch of ``uint8`` frames shaped ``(N, 3, height, width)``.

        Call it any number of times while the encoder is open. Frames that do
        not fit the stream (size, dtype, device) raise ``ValueError`` and leave
        the stream as it was; an encoding or output failure raises
        ``RuntimeError`` and abandons the output.
        """
        self._encoder._check_writable()
        _write(self._encoder._native, self._index, frames)

    def write(self, frames: SupportsDLPack) -> None:
        """The same as :meth:`add_frames` (the name :class:`StreamingEncoder` uses)."""
        self.add_frames(frames)

    def _info(self) -> tuple[int, int, tuple[int, int]]:
        return self._encoder._native.video_info(self._index)

    @property
    def height(self) -> int:
        return self._info()[0]

    @property
    def width(self) -> int:
        return self._info()[1]

    @property
    def frame_rate(self) -> Fraction:
        return Fraction(*self._info()[2])

    @property
    def device(self) -> str | None:
        """Where the stream encodes: as asked, else the first frames' device
        (``None`` until then)."""
        return self._encoder._native.device(self._index)

    @property
    def frames_written(self) -> int:
        """Frames encoded so far."""
        return self._encoder._native.written(self._index)

    def __repr__(self) -> str:
        return (
            f"VideoStream(index={self.index}, height={self.height}, width={self.width}, "
            f"frame_rate={self.frame_rate}, device={self.device!r}, "
            f"frames_written={self.frames_written})"
        )


class AudioStream(_Stream):
    """An audio stream of an :class:`Encoder`, made by :meth:`Encoder.add_audio`."""

    def add_samples(self, samples: Any) -> None:
        """Encodes samples shaped ``(num_channels, num_samples)``: floating
        point (float32; others are converted), nominally in -1..1, finite; a
        ``numpy.ndarray`` or a ``torch.Tensor`` (CUDA tensors are copied to
        the CPU). Call it any number of times while the encoder is open."""
        self._encoder._check_writable()
        data = _audio_bytes(samples, self.num_channels)
        self._encoder._native.write_audio(self._index, data)

    def write(self, samples: Any) -> None:
        """The same as :meth:`add_samples`."""
        self.add_samples(samples)

    def _info(self) -> tuple[int, int, str]:
        return self._encoder._native.audio_info(self._index)

    @property
    def sample_rate(self) -> int:
        return self._info()[0]

    @property
    def num_channels(self) -> int:
        return self._info()[1]

    @property
    def codec(self) -> str:
        """``"opus"`` or ``"pcm"``."""
        return self._info()[2]

    @property
    def samples_written(self) -> int:
        """Samples per channel taken so far."""
        return self._encoder._native.written(self._index)

    def __repr__(self) -> str:
        return (
            f"AudioStream(index={self.index}, sample_rate={self.sample_rate}, "
            f"num_channels={self.num_channels}, codec={self.codec!r}, "
            f"samples_written={self.samples_written})"
        )


class Encoder:
    """Encodes frames and samples that arrive in batches, into one file or
    file-like with any number of video and audio streams.

    ::

        with Encoder() as encoder:
            video = encoder.add_video(height=256, width=256, frame_rate=30)
            audio = encoder.add_audio(sample_rate=48000, num_channels=2)
            encoder.open_file("out.mp4")
            for batch, samples in batches:
                video.add_frames(batch)
                audio.add_samples(samples)

    The order is: :meth:`add_video` / :meth:`add_audio`, then
    :meth:`open_file` or :meth:`open_file_like`, then
    :meth:`VideoStream.add_frames` and :meth:`AudioStream.add_samples` any
    number of times, in any order, then :meth:`close` (which leaving the
    ``with`` block does; leaving it by an exception abandons the output
    instead). Calls out of this order raise ``RuntimeError``. Streams may
    differ in size, rate and device; the container interleaves them by time.
    """

    _open_hint = "call open_file() or open_file_like() first"

    def __init__(self) -> None:
        self._native = NativeEncoder()
        self._streams: list[VideoStream | AudioStream] = []
        self._state = "new"

    def _check_configurable(self, method: str) -> None:
        if self._state != "new":
            raise RuntimeError(f"{method}() must be called before the output is opened")

    def add_video(
        self,
        *,
        height: int,
        width: int,
        frame_rate: FrameRate,
        device: Any = None,
        codec: str | None = None,
        pixel_format: str | None = None,
        crf: Crf | None = None,
        preset: Preset | None = None,
        extra_options: ExtraOptions | None = None,
    ) -> VideoStream:
        """Adds a video stream and returns it; the options are checked now.

        ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a ``torch.device``)
        is where encoding runs; ``None`` means the device of the first frames.
        The other options are those of :class:`VideoEncoder`;
        ``extra_options={"movflags": "frag_keyframe+empty_moov"}`` (or
        ``"frag_duration"`` in microseconds) makes the output fragmented:
        every complete fragment survives a crash of the process.
        """
        self._check_configurable("add_video")
        index = self._native.add_video(
            **_video_options(
                height=height,
                width=width,
                frame_rate=frame_rate,
                device=device,
                codec=codec,
                pixel_format=pixel_format,
                crf=crf,
                preset=preset,
                extra_options=extra_options,
            )
        )
        stream = VideoStream(self, index)
        self._streams.append(stream)
        return stream

    def add_audio(
        self,
        *,
        sample_rate: int,
        num_channels: int,
        codec: str | None = None,
        bit_rate: int | None = None,
    ) -> AudioStream:
        """Adds an audio stream and returns it; the options are checked now.

        ``codec`` is ``"opus"`` (the default: lossy, plays in browsers; in
        MP4, MOV and Matroska) or ``"pcm"`` (32-bit float, lossless).
        ``bit_rate`` is Opus' target in bits per second (``None``: libopus
        chooses, about 64 kb/s for stereo). Samples at any rate from 1 kHz to
        768 kHz are resampled to 48 kHz for Opus.
        """
        self._check_configurable("add_audio")
        for name, value in (("sample_rate", sample_rate), ("num_channels", num_channels)):
            _dimension(name, value)
        if bit_rate is not None:
            _dimension("bit_rate", bit_rate)
        index = self._native.add_audio(
            sample_rate=sample_rate,
            num_channels=num_channels,
            codec=_text("codec", codec),
            bit_rate=bit_rate,
        )
        stream = AudioStream(self, index)
        self._streams.append(stream)
        return stream

    def _check_openable(self) -> None:
        if self._state == "open":
            raise RuntimeError("the output is already open (an encoder writes one output)")
        if self._state == "closed":
            raise RuntimeError("the encoder is closed (an encoder writes one output)")
        if not self._streams:
            raise RuntimeError(
                "add a stream with add_video() or add_audio() before opening the output"
            )

    def open_file(self, dest: Path) -> Encoder:
        """Opens ``dest``; its extension picks the container (``.mp4``,
        ``.m4v``, ``.mov``, ``.mkv``, ``.h264``, ``.264``). The file appears
        when :meth:`close` succeeds; after an error nothing is left behind
        (fragmented output appears with its first fragment and keeps every
        complete fragment). Returns the encoder."""
        self._check_openable()
        self._native.open_path(_dest(dest))
        self._state = "open"
        return self

    def open_file_like(self, dest: SupportsWrite, *, format: str) -> Encoder:
        """Opens a file-like object (anything with ``write``) for ``format``
        ``"mp4"``, ``"mov"``, ``"mkv"`` or ``"h264"``. ``"h264"`` and
        fragmented output are written as frames are encoded; whole MP4, MOV
        and Matroska files are written at :meth:`close`. Returns the encoder."""
        self._check_openable()
        self._native.open_writer(dest, format)
        self._state = "open"
        return self

    def _check_writable(self) -> None:
        if self._state == "new":
            raise RuntimeError(f"cannot add frames before the output is open: {self._open_hint}")
        if self._state == "closed":
            raise RuntimeError("cannot add frames: the encoder is closed")

    def close(self) -> None:
        """Finishes the output. Closing again does nothing."""
        if self._state == "new":
            raise RuntimeError(f"cannot close: the output was never opened ({self._open_hint})")
        if self._state == "closed":
            return
        self._state = "closed"
        self._native.close()

    def _abort(self) -> None:
        self._state = "closed"
        self._native.abort()

    def __enter__(self) -> Encoder:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self._abort()
        elif self._state == "open":
            self.close()


class StreamingEncoder(Encoder):
    """An :class:`Encoder` whose output is opened with :meth:`open` as a
    context manager, and whose streams take frames with ``write``::

        encoder = StreamingEncoder()
        video = encoder.add_video(height=256, width=256, frame_rate=30, device="cpu")
        with encoder.open("out.mp4"):
            video.write(frames)
    """

    _open_hint = "write inside `with encoder.open(dest):`"

    def open(self, dest: Path | SupportsWrite, *, format: str | None = None) -> StreamingEncoder:
        """Opens a file path (the extension picks the container) or a
        file-like object (then ``format`` is ``"mp4"``, ``"mov"``, ``"mkv"``
        or ``"h264"``). Use
        it in a ``with`` statement: the output is finished when the block
        ends, and abandoned if it ends by an exception."""
        if isinstance(dest, (str, os.PathLike)):
            if format is not None:
                raise ValueError(
                    "format is given by the file name's extension; pass format only with a "
                    "file-like dest"
                )
            self.open_file(dest)
        else:
            if format is None:
                raise ValueError(
                    'format is required for a file-like dest (expected "mp4", "mov", "mkv" or '
                    '"h264")'
                )
            self.open_file_like(dest, format=format)
        return self


def _batch_devices(devices: Any) -> list[str]:
    """The workers' devices: ``None``/``"all"`` is every CUDA device, else the CPU."""
    if devices is None or devices == "all":
        n = cuda_device_count()
        return [f"cuda:{i}" for i in range(n)] if n else ["cpu"]
    if isinstance(devices, str):
        devices = devices.split(",")
    names = [_device(d).strip() for d in devices]
    if not names:
        raise ValueError("devices is empty (expected None, 'all', or a list such as ['cuda:0'])")
    for name in names:
        _framepress.check_device(name)
    return names


def _clip_device(clip: Any) -> str | None:
    """The CUDA device a clip's frames are on, or None for host memory."""
    if not hasattr(clip, "__dlpack_device__"):
        return None
    kind, index = clip.__dlpack_device__()
    return f"cuda:{index}" if kind in (2, 13) else None


def encode_batch(
    clips: list[SupportsDLPack],
    dests: list[Path],
    *,
    frame_rate: FrameRate,
    devices: Any = None,
    codec: str | None = None,
    pixel_format: str | None = None,
    crf: Crf | None = None,
    preset: Preset | None = None,
    extra_options: ExtraOptions | None = None,
) -> None:
    """Encodes many clips to files at once, one encoder per device.

    ``clips[i]`` (``uint8`` frames shaped ``(N, 3, H, W)``, sizes may differ)
    is written to ``dests[i]``. ``devices`` is ``None`` or ``"all"`` (every
    CUDA device, else the CPU), or a list such as ``["cuda:0", "cuda:1"]``;
    each device runs one encoder that takes the next clip when it is done
    with one. Clips in CUDA memory are encoded on their own device (which
    must be listed); clips in host memory go to whichever device is free.
    The other options are those of :meth:`VideoEncoder.to_file`.

    Every clip is attempted; if any fails, ``RuntimeError`` (or
    ``ValueError`` for bad arguments) names each failure after the others
    are written.
    """
    clips, dests = list(clips), [_dest(d) for d in dests]
    if len(clips) != len(dests):
        raise ValueError(
            f"{len(clips)} clips but {len(dests)} destinations (expected one destination per clip)"
        )
    names = _batch_devices(devices)
    options = dict(
        codec=codec, pixel_format=pixel_format, crf=crf, preset=preset, extra_options=extra_options
    )
    shared: queue.SimpleQueue[int] = queue.SimpleQueue()
    own: dict[str, queue.SimpleQueue[int]] = {name: queue.SimpleQueue() for name in names}
    for i, clip in enumerate(clips):
        where = _clip_device(clip)
        if where is None:
            shared.put(i)
            continue
        target = next((n for n in names if n == where or (n, where) == ("cuda", "cuda:0")), None)
        if target is None:
            raise ValueError(
                f"clip {i} is in the memory of {where}, which is not among the devices "
                f"{names} (add it, or move the clip)"
            )
        own[target].put(i)
    errors: dict[int, BaseException] = {}

    def encode(i: int, device: str) -> None:
        clip = _prepare(clips[i])
        count, height, width, _ = _framepress.inspect_frames(clip)
        encoder = Encoder()
        video = encoder.add_video(
            height=height, width=width, frame_rate=frame_rate, device=device, **options
        )
        with encoder:
            encoder.open_file(dests[i])
            video.add_frames(clip)

    def worker(device: str) -> None:
        for source in (own[device], shared):
            while True:
                try:
                    i = source.get_nowait()
                except queue.Empty:
                    break
                try:
                    encode(i, device)
                except Exception as e:  # reported below, after every clip was attempted
                    errors[i] = e

    threads = [threading.Thread(target=worker, args=(name,), daemon=True) for name in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        lines = "; ".join(f"clip {i} ({dests[i]}): {errors[i]}" for i in sorted(errors))
        kind = (
            ValueError if all(isinstance(e, ValueError) for e in errors.values()) else RuntimeError
        )
        raise kind(f"{len(errors)} of {len(clips)} clips failed: {lines}") from errors[min(errors)]
