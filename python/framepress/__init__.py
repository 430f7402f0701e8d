"""H.264 encoding of torch tensors and numpy arrays, with TorchCodec's encoder API.

Frames are ``uint8`` batches shaped ``(N, 3, H, W)`` (RGB), in any strides:
contiguous and channels-last tensors are read in place through DLPack, other
layouts are gathered one frame at a time. An ``(N, H, W, 3)`` array is passed
as a view in that order, which copies nothing:
``frames.permute(0, 3, 1, 2)`` (torch) or ``frames.transpose(0, 3, 1, 2)``
(numpy).

- :class:`VideoEncoder` encodes frames already in memory, to a file, a
  tensor or a file-like object.
- :class:`Encoder` and :class:`StreamingEncoder` take frames batch by batch.

Bad arguments and frames raise ``ValueError``; encoding and I/O failures, and
calls in the wrong order, raise ``RuntimeError``. Every message says what was
expected and what came.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from fractions import Fraction
from typing import Any, Protocol, Union

from . import _framepress
from ._framepress import NativeVideoStream

__all__ = [
    "EXTRA_OPTIONS",
    "Encoder",
    "StreamingEncoder",
    "VideoEncoder",
    "VideoStream",
]

__version__: str = _framepress.__version__

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


def _new_stream(
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
) -> NativeVideoStream:
    return NativeVideoStream(
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


def _run(stream: NativeVideoStream, frames: Any) -> bytearray | None:
    """Encodes every frame and finishes; any failure discards the output."""
    try:
        stream.write(frames)
        return stream.close()
    except BaseException:
        stream.abort()
        raise


class VideoEncoder:
    """Encodes a batch of frames held in memory.

    Args:
        frames: ``uint8`` frames shaped ``(N, 3, H, W)``, N ≥ 1: a
            ``torch.Tensor`` or ``numpy.ndarray`` in any strides, read without
            a copy. CUDA tensors are encoded on their own GPU (not in this
            build: they raise ``RuntimeError``).
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
      0–51), ``crf``, ``g`` (GOP length), ``b`` (bitrate, e.g. ``"2M"``),
      ``preset``, ``profile`` (``"high"``, or ``"high444p"`` for lossless),
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

    def _stream(self, **options: Any) -> NativeVideoStream:
        return _new_stream(
            height=self._height,
            width=self._width,
            frame_rate=Fraction(*self._frame_rate),
            device=self._device,
            **options,
        )

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
        ``.mp4``/``.m4v`` (MP4) or ``.h264``/``.264`` (Annex B). The file
        appears only when complete; on any error nothing is left behind."""
        stream = self._stream(
            codec=codec,
            pixel_format=pixel_format,
            crf=crf,
            preset=preset,
            extra_options=extra_options,
        )
        stream.open_path(_dest(dest))
        _run(stream, self._frames)

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
        """Returns the encoded ``format`` (``"mp4"`` or ``"h264"``) bytes as a
        1-D ``uint8`` array: a CPU ``torch.Tensor`` when the frames were torch
        tensors, else a ``numpy.ndarray``."""
        stream = self._stream(
            codec=codec,
            pixel_format=pixel_format,
            crf=crf,
            preset=preset,
            extra_options=extra_options,
        )
        stream.open_memory(format)
        data = _run(stream, self._frames)
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
        """Writes the encoded ``format`` (``"mp4"`` or ``"h264"``) to any
        object with a ``write`` method; it need not be seekable. ``"h264"`` is
        written as it is encoded; ``"mp4"`` is assembled in a temporary file
        (its index goes first) and then written out in chunks."""
        stream = self._stream(
            codec=codec,
            pixel_format=pixel_format,
            crf=crf,
            preset=preset,
            extra_options=extra_options,
        )
        stream.open_writer(file_like, format)
        _run(stream, self._frames)


class VideoStream:
    """A video stream of an :class:`Encoder`, made by :meth:`Encoder.add_video`."""

    def __init__(self, encoder: Encoder, native: NativeVideoStream) -> None:
        self._encoder = encoder
        self._native = native

    def add_frames(self, frames: SupportsDLPack) -> None:
        """Encodes a batch of ``uint8`` frames shaped ``(N, 3, height, width)``.

        Call it any number of times while the encoder is open. Frames that do
        not fit the stream (size, dtype, device) raise ``ValueError`` and leave
        the stream as it was; an encoding or output failure raises
        ``RuntimeError`` and abandons the output.
        """
        self._encoder._check_writable(self)
        self._native.write(_prepare(frames))

    def write(self, frames: SupportsDLPack) -> None:
        """The same as :meth:`add_frames` (the name :class:`StreamingEncoder` uses)."""
        self.add_frames(frames)

    @property
    def height(self) -> int:
        return self._native.height

    @property
    def width(self) -> int:
        return self._native.width

    @property
    def frame_rate(self) -> Fraction:
        return Fraction(*self._native.frame_rate)

    @property
    def device(self) -> str | None:
        """Where the stream encodes: as asked, else the first frames' device
        (``None`` until then)."""
        return self._native.device

    @property
    def frames_written(self) -> int:
        """Frames encoded so far."""
        return self._native.frames_written

    def __repr__(self) -> str:
        return (
            f"VideoStream(height={self.height}, width={self.width}, "
            f"frame_rate={self.frame_rate}, device={self.device!r}, "
            f"frames_written={self.frames_written})"
        )


class Encoder:
    """Encodes frames that arrive in batches, into a file or a file-like.

    ::

        with Encoder() as encoder:
            video = encoder.add_video(height=256, width=256, frame_rate=30)
            encoder.open_file("out.mp4")
            for batch in batches:
                video.add_frames(batch)

    The order is: :meth:`add_video`, then :meth:`open_file` or
    :meth:`open_file_like`, then :meth:`VideoStream.add_frames` any number of
    times, then :meth:`close` (which leaving the ``with`` block does; leaving
    it by an exception abandons the output instead). Calls out of this order
    raise ``RuntimeError``. One video stream per output.
    """

    _open_hint = "call open_file() or open_file_like() first"

    def __init__(self) -> None:
        self._streams: list[VideoStream] = []
        self._state = "new"

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
        """Adds the video stream and returns it; the options are checked now.

        ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a ``torch.device``)
        is where encoding runs; ``None`` means the device of the first frames.
        The other options are those of :class:`VideoEncoder`.
        """
        if self._state != "new":
            raise RuntimeError("add_video() must be called before the output is opened")
        if self._streams:
            raise ValueError(
                "this encoder already has a video stream (expected one video stream per output)"
            )
        native = _new_stream(
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
        stream = VideoStream(self, native)
        self._streams.append(stream)
        return stream

    def _check_openable(self) -> None:
        if self._state == "open":
            raise RuntimeError("the output is already open (an encoder writes one output)")
        if self._state == "closed":
            raise RuntimeError("the encoder is closed (an encoder writes one output)")
        if not self._streams:
            raise RuntimeError("add a stream with add_video() before opening the output")

    def open_file(self, dest: Path) -> Encoder:
        """Opens ``dest``; its extension picks the container (``.mp4``,
        ``.m4v``, ``.h264``, ``.264``). The file appears when :meth:`close`
        succeeds; after an error nothing is left behind. Returns the encoder."""
        self._check_openable()
        path = _dest(dest)
        for stream in self._streams:
            stream._native.open_path(path)
        self._state = "open"
        return self

    def open_file_like(self, dest: SupportsWrite, *, format: str) -> Encoder:
        """Opens a file-like object (anything with ``write``) for ``format``
        ``"mp4"`` or ``"h264"``. ``"h264"`` is written as frames are encoded;
        ``"mp4"`` is written at :meth:`close`. Returns the encoder."""
        self._check_openable()
        for stream in self._streams:
            stream._native.open_writer(dest, format)
        self._state = "open"
        return self

    def _check_writable(self, stream: VideoStream) -> None:
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
        for stream in self._streams:
            stream._native.close()

    def _abort(self) -> None:
        self._state = "closed"
        for stream in self._streams:
            stream._native.abort()

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
        file-like object (then ``format`` is ``"mp4"`` or ``"h264"``). Use
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
                    'format is required for a file-like dest (expected "mp4" or "h264")'
                )
            self.open_file_like(dest, format=format)
        return self
