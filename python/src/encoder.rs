//! The native encoder behind the Python classes: any number of video and
//! audio streams into one output, through the states
//! configuring → open → closed (or failed).
//!
//! Streams are added first; opening the output starts the library's
//! `MediaWriter` with every stream; frames and samples then go to their
//! streams in any order, and the container interleaves them by time.

use std::path::PathBuf;
use std::sync::Mutex;

use framepress::{
    AudioCodec, AudioConfig, EncoderConfig, Fragmentation, MediaWriter, OutputOptions, StreamId,
    VideoStreamInfo,
};
use pyo3::prelude::*;
use pyo3::types::PyByteArray;

use crate::backend::{check_available, Device, Engine};
use crate::dlpack::{self, Exported};
use crate::error::{BindError, BindResult};
use crate::options::{build_config, Request};
use crate::output::{self, Finish, Finished};

/// A video stream: its settings, and once open, its engine.
struct Video {
    config: EncoderConfig,
    /// Named by `device=`, or else set by the first frames.
    device: Option<Device>,
    engine: Option<Engine>,
    frames: u64,
}

/// An audio stream: its settings and the samples it took.
struct Audio {
    config: AudioConfig,
    samples: u64,
}

enum Stream {
    Video(Box<Video>),
    Audio(Audio),
}

/// An open output.
struct Open {
    writer: MediaWriter,
    /// The writer's id of each stream, by index.
    ids: Vec<StreamId>,
    finish: Finish,
}

enum State {
    /// Streams may be added; no output yet.
    Configuring,
    /// (In a mutex only so that the class is `Sync`; reached through
    /// `&mut self`, it is never contended.)
    Open(Mutex<Box<Open>>),
    /// Finished successfully.
    Closed,
    /// Abandoned: after an error, or by `abort`; the output was discarded.
    Failed(String),
}

/// The native half of an encoder; the Python layer wraps it.
#[pyclass(module = "framepress._framepress")]
pub struct NativeEncoder {
    streams: Vec<Stream>,
    fragmentation: Fragmentation,
    state: State,
}

fn check_dimension(name: &str, value: i64) -> BindResult<u32> {
    let max = framepress::config::MAX_DIMENSION;
    match u32::try_from(value) {
        Ok(v) if (1..=max).contains(&v) => Ok(v),
        _ => Err(BindError::value(format!(
            "invalid {name} {value} (expected 1..={max})"
        ))),
    }
}

fn message(e: &BindError) -> String {
    match e {
        BindError::Value(m) | BindError::Runtime(m) => m.clone(),
        BindError::Python(err) => err.to_string(),
    }
}

impl NativeEncoder {
    fn expect_configuring(&self, action: &str) -> BindResult<()> {
        match self.state {
            State::Configuring => Ok(()),
            _ => Err(BindError::runtime(format!(
                "{action} must be called before the output is opened"
            ))),
        }
    }

    fn not_open(&self, action: &str) -> BindError {
        BindError::runtime(match &self.state {
            State::Configuring => format!("cannot {action}: the output is not open yet"),
            State::Closed => format!("cannot {action}: the output is already closed"),
            State::Failed(reason) => format!(
                "cannot {action}: the output was abandoned after an earlier error ({reason}), \
                 and nothing was written"
            ),
            State::Open(_) => format!("cannot {action}"),
        })
    }

    /// Starts the writer on `output` with every stream.
    fn open(&mut self, make: impl FnOnce(Fragmentation) -> BindResult<Opened>) -> BindResult<()> {
        match self.state {
            State::Configuring => {}
            State::Open(_) => {
                return Err(BindError::runtime(
                    "the output is already open (an encoder writes one output)",
                ))
            }
            _ => {
                return Err(BindError::runtime(
                    "the encoder is closed (an encoder writes one output)",
                ))
            }
        }
        if self.streams.is_empty() {
            return Err(BindError::runtime(
                "add a stream with add_video() or add_audio() before opening the output",
            ));
        }
        if self.streams.len() > 1 || matches!(self.streams[0], Stream::Audio(_)) {
            let (videos, audios) = self.counts();
            let check = |format: framepress::Format| -> BindResult<()> {
                if format == framepress::Format::AnnexB {
                    return Err(BindError::value(format!(
                        "a raw H.264 (Annex B) output carries one video stream, but this encoder \
                         has {videos} video and {audios} audio streams (use an .mp4, .mov or .mkv \
                         output)"
                    )));
                }
                Ok(())
            };
            return self.open_checked(make, check);
        }
        self.open_checked(make, |_| Ok(()))
    }

    fn counts(&self) -> (usize, usize) {
        let videos = self
            .streams
            .iter()
            .filter(|s| matches!(s, Stream::Video(_)))
            .count();
        (videos, self.streams.len() - videos)
    }

    fn open_checked(
        &mut self,
        make: impl FnOnce(Fragmentation) -> BindResult<Opened>,
        check: impl Fn(framepress::Format) -> BindResult<()>,
    ) -> BindResult<()> {
        let (output, format, finish) = make(self.fragmentation)?;
        check(format)?;
        let options = OutputOptions {
            format: Some(format),
            fragmentation: self.fragmentation,
        };
        let mut writer = MediaWriter::new(output, format, &options)?;
        let mut ids = Vec::with_capacity(self.streams.len());
        for stream in &mut self.streams {
            let id = match stream {
                Stream::Video(v) => {
                    // The CPU engine gives the parameter sets (every engine
                    // writes the same) and encodes until frames say otherwise.
                    let engine = Engine::cpu(&v.config)?;
                    let (width, height) = engine.output_size();
                    let (sps, pps) = engine.parameter_sets();
                    v.engine = Some(engine);
                    writer.add_video_stream(&VideoStreamInfo {
                        width,
                        height,
                        frame_rate: v.config.frame_rate,
                        sps,
                        pps,
                    })?
                }
                Stream::Audio(a) => writer.add_audio(&a.config)?,
            };
            ids.push(id);
        }
        self.state = State::Open(Mutex::new(Box::new(Open {
            writer,
            ids,
            finish,
        })));
        Ok(())
    }

    fn video(&self, index: usize) -> BindResult<&Video> {
        match self.streams.get(index) {
            Some(Stream::Video(v)) => Ok(v),
            _ => Err(BindError::value(format!(
                "stream {index} is not a video stream"
            ))),
        }
    }

    /// Runs `f` on the open output; an error other than a rejected argument
    /// abandons it (a file output removes its partial file).
    fn guarded(
        &mut self,
        action: &str,
        f: impl FnOnce(&mut Vec<Stream>, &mut Open) -> BindResult<()>,
    ) -> BindResult<()> {
        let State::Open(open) = &mut self.state else {
            return Err(self.not_open(action));
        };
        let open = open.get_mut().unwrap_or_else(|e| e.into_inner());
        let result = f(&mut self.streams, open);
        if let Err(e) = &result {
            if !matches!(e, BindError::Value(_)) {
                let cause = open.finish.take_cause();
                self.state = State::Failed(message(e));
                if let Some(cause) = cause {
                    return Err(BindError::with_cause(message(e), Some(cause)));
                }
            }
        }
        result
    }

    fn encode_video(
        &mut self,
        py: Python<'_>,
        index: usize,
        frames: &Bound<'_, PyAny>,
        stream: Option<usize>,
    ) -> BindResult<()> {
        if !matches!(self.state, State::Open(_)) {
            return Err(self.not_open("write frames"));
        }
        let video = self.video(index)?;
        let frames_device = dlpack::frames_device(frames)?;
        check_device(video.device, frames_device)?;
        let exported = dlpack::export(frames, stream)?;
        check_device(video.device, exported.device)?;
        let (config, device) = (video.config.clone(), video.device);
        let shape = exported.shape;
        if (shape.height, shape.width) != (config.height, config.width) {
            return Err(BindError::value(format!(
                "frames are {}x{} (height x width) but the stream was added with height={}, \
                 width={} (the frame size cannot change within a stream)",
                shape.height, shape.width, config.height, config.width
            )));
        }
        let exported = match device_copy_if_needed(frames, exported, &self.streams[index])? {
            Some(e) => e,
            None => return Ok(()),
        };
        self.guarded("write frames", |streams, open| {
            let Some(Stream::Video(v)) = streams.get_mut(index) else {
                return Err(BindError::runtime(
                    "internal error: the video stream vanished",
                ));
            };
            let target = match (device, exported.device) {
                (Some(Device::Cuda(None)) | None, Device::Cuda(i)) => Device::Cuda(i),
                (Some(d), _) => d,
                (None, d) => d,
            };

            v.device = Some(target);
            if shape.count == 0 {
                return Ok(());
            }
            choose_engine(v, target, &exported)?;
            let engine = v
                .engine
                .as_mut()
                .ok_or_else(|| BindError::runtime("no engine"))?;
            let id = open.ids[index];
            let writer = &mut open.writer;
            let mut emit =
                |p: framepress::Packet| -> BindResult<()> { Ok(writer.write_packet(id, &p)?) };
            engine.encode(py, &exported, &mut emit)?;
            v.frames = engine.frames();
            Ok(())
        })
    }

    fn encode_audio(&mut self, py: Python<'_>, index: usize, samples: &[f32]) -> BindResult<()> {
        if !matches!(self.state, State::Open(_)) {
            return Err(self.not_open("add samples"));
        }
        let channels = match self.streams.get(index) {
            Some(Stream::Audio(a)) => usize::from(a.config.channels),
            _ => {
                return Err(BindError::value(format!(
                    "stream {index} is not an audio stream"
                )))
            }
        };
        if !samples.len().is_multiple_of(channels) {
            return Err(BindError::value(format!(
                "{} sample values do not fill {channels} channels (expected channels × samples)",
                samples.len()
            )));
        }
        self.guarded("add samples", |streams, open| {
            let id = open.ids[index];
            let writer = &mut open.writer;
            py.detach(|| writer.add_samples(id, samples))?;
            if let Some(Stream::Audio(a)) = streams.get_mut(index) {
                a.samples += (samples.len() / channels) as u64;
            }
            Ok(())
        })
    }

    /// Flushes every video engine into the writer and finishes the container.
    fn finish(&mut self, py: Python<'_>) -> BindResult<Finished> {
        let State::Open(open) = std::mem::replace(&mut self.state, State::Closed) else {
            return Err(BindError::runtime(
                "internal error: finishing an output that is not open",
            ));
        };
        let open = open.into_inner().unwrap_or_else(|e| e.into_inner());
        let Open {
            mut writer,
            ids,
            finish,
        } = *open;
        let mut result = Ok(());
        for (index, stream) in self.streams.iter_mut().enumerate() {
            if let Stream::Video(video) = stream {
                let Some(engine) = video.engine.as_mut() else {
                    continue;
                };
                let id = ids[index];
                let w = &mut writer;
                let mut emit =
                    |p: framepress::Packet| -> BindResult<()> { Ok(w.write_packet(id, &p)?) };
                result = py.detach(|| engine.flush(&mut emit));
                if result.is_err() {
                    break;
                }
            }
        }
        let outcome = result
            .and_then(|()| {
                py.detach(|| writer.finish())
                    .map(|_| ())
                    .map_err(BindError::from)
            })
            .map_err(|e| match finish.take_cause() {
                Some(cause) => BindError::with_cause(message(&e), Some(cause)),
                None => e,
            });
        match outcome.and_then(|()| py.detach(|| finish.run())) {
            Ok(done) => Ok(done),
            Err(e) => {
                self.state = State::Failed(format!("finishing the output failed: {}", message(&e)));
                Err(e)
            }
        }
    }
}

/// What opening an output gives: the output, its format and what to do
/// when the container is finished.
type Opened = (framepress::Output, framepress::Format, Finish);

/// Checks that frames on `frames` may go to a stream on `stream`: frames
/// in host memory go to any stream (a CUDA stream uploads them), frames in
/// CUDA memory only to a stream on their own device.
fn check_device(stream: Option<Device>, frames: Device) -> BindResult<()> {
    if let Some(stream) = stream {
        let fits = frames == Device::Cpu || frames.fits(stream);
        if !fits {
            return Err(BindError::value(format!(
                "frames are on {frames} but the stream encodes on {stream} (mixed devices: \
                 move the frames first, e.g. frames.to(\"{stream}\"))"
            )));
        }
    }
    check_available(frames)
}

/// Frames in CUDA memory whose layout the CUDA backend cannot read in place,
/// or whose layout differs from the one the stream's CUDA engine was built
/// for, are copied on their device into that layout (torch tensors:
/// `contiguous()`); `None` when a batch is empty.
fn device_copy_if_needed<'py>(
    frames: &Bound<'py, PyAny>,
    exported: Exported<'py>,
    stream: &Stream,
) -> BindResult<Option<Exported<'py>>> {
    if exported.shape.count == 0 {
        return Ok(Some(exported));
    }
    if !matches!(exported.device, Device::Cuda(_)) {
        return Ok(Some(exported));
    }
    let engine_format = match stream {
        Stream::Video(v) => v
            .engine
            .as_ref()
            .filter(|e| e.is_cuda())
            .map(Engine::format),
        Stream::Audio(_) => None,
    };
    let have = exported.device_format();
    let want = engine_format.or(have);
    if have.is_some() && have == want {
        return Ok(Some(exported));
    }
    let interleaved = want == Some(framepress::PixelFormat::Rgb24);
    if !frames.hasattr("contiguous")? {
        return Err(BindError::value(format!(
            "frames in CUDA memory must be laid out as N×3×H×W with contiguous rows (planar, as \
             a contiguous tensor) or as N×H×W×3 (channels-last){}; make a contiguous copy first",
            if interleaved {
                ", as the earlier frames of this stream"
            } else {
                ""
            }
        )));
    }
    let copy = if interleaved {
        frames
            .call_method1("permute", (0, 2, 3, 1))?
            .call_method0("contiguous")?
            .call_method1("permute", (0, 3, 1, 2))?
    } else {
        frames.call_method0("contiguous")?
    };
    drop(exported);
    // The copy is queued on torch's current stream; its capsule keeps it alive.
    Ok(Some(dlpack::export(&copy, current_torch_stream(&copy)?)?))
}

/// torch's current CUDA stream of the tensor's device, as a handle.
fn current_torch_stream(tensor: &Bound<'_, PyAny>) -> BindResult<Option<usize>> {
    let py = tensor.py();
    let Ok(torch) = py.import("torch") else {
        return Ok(None);
    };
    let device = tensor.getattr("device")?;
    let stream = torch
        .getattr("cuda")?
        .call_method1("current_stream", (device,))?
        .getattr("cuda_stream")?
        .extract::<usize>()?;
    Ok(Some(stream))
}

/// Before the first frames of a stream, picks its engine by the device it
/// encodes on: a CUDA stream replaces the CPU engine by a CUDA engine built
/// for the layout of the first frames (in device or host memory).
fn choose_engine(video: &mut Video, device: Device, frames: &Exported<'_>) -> BindResult<()> {
    let Device::Cuda(_) = device else {
        return Ok(());
    };
    if video.engine.as_ref().is_some_and(Engine::is_cuda) {
        return Ok(());
    }
    if video.frames > 0 {
        return Err(BindError::value(format!(
            "frames are on {device} but the stream's earlier frames were encoded on the CPU \
             (mixed devices: keep a stream's frames on one device)"
        )));
    }
    let format = match frames.device {
        Device::Cuda(_) => frames
            .device_format()
            .ok_or_else(|| BindError::runtime("internal error: device frames without a layout"))?,
        Device::Cpu => frames.host_frames()?.natural_format(),
    };
    let engine = Engine::cuda(device, &video.config, format)?;
    if let Some(cpu) = &video.engine {
        if cpu.parameter_sets() != engine.parameter_sets() {
            return Err(BindError::runtime(
                "internal error: the CUDA engine's parameter sets differ from the CPU engine's",
            ));
        }
    }
    video.engine = Some(engine);
    Ok(())
}

#[pymethods]
impl NativeEncoder {
    #[new]
    fn new() -> Self {
        NativeEncoder {
            streams: Vec::new(),
            fragmentation: Fragmentation::Auto,
            state: State::Configuring,
        }
    }

    /// Adds a video stream after checking every option; returns its index.
    #[pyo3(signature = (*, height, width, frame_rate, device=None, codec=None, pixel_format=None,
                        crf=None, preset=None, extra_options=Vec::new()))]
    #[allow(clippy::too_many_arguments)]
    fn add_video(
        &mut self,
        height: i64,
        width: i64,
        frame_rate: (u64, u64),
        device: Option<&str>,
        codec: Option<String>,
        pixel_format: Option<String>,
        crf: Option<String>,
        preset: Option<String>,
        extra_options: Vec<(String, String)>,
    ) -> PyResult<usize> {
        self.expect_configuring("add_video()")?;
        let request = Request {
            height: check_dimension("height", height)?,
            width: check_dimension("width", width)?,
            frame_rate,
            codec,
            pixel_format,
            crf,
            preset,
            extra: extra_options,
        };
        let built = build_config(&request)?;
        let device = device.map(Device::parse).transpose()?;
        if let Some(d) = device {
            check_available(d)?;
        }
        if built.fragmentation != Fragmentation::Auto {
            self.fragmentation = built.fragmentation;
        }
        self.streams.push(Stream::Video(Box::new(Video {
            config: built.config,
            device,
            engine: None,
            frames: 0,
        })));
        Ok(self.streams.len() - 1)
    }

    /// Adds an audio stream; returns its index.
    #[pyo3(signature = (*, sample_rate, num_channels, codec=None, bit_rate=None))]
    fn add_audio(
        &mut self,
        sample_rate: i64,
        num_channels: i64,
        codec: Option<String>,
        bit_rate: Option<i64>,
    ) -> PyResult<usize> {
        self.expect_configuring("add_audio()")?;
        let config = audio_config(sample_rate, num_channels, codec.as_deref(), bit_rate)?;
        self.streams
            .push(Stream::Audio(Audio { config, samples: 0 }));
        Ok(self.streams.len() - 1)
    }

    /// Opens a file; its extension picks the container.
    fn open_path(&mut self, path: PathBuf) -> PyResult<()> {
        Ok(self.open(|_| output::file(&path))?)
    }

    /// Collects the output in memory; `close` returns it.
    fn open_memory(&mut self, format: &str) -> PyResult<()> {
        let format = output::parse_format(format)?;
        Ok(self.open(|_| {
            let (out, finish) = output::memory();
            Ok((out, format, finish))
        })?)
    }

    /// Writes into an object with a `write` method.
    fn open_writer(&mut self, target: &Bound<'_, PyAny>, format: &str) -> PyResult<()> {
        let format = output::parse_format(format)?;
        if !target.hasattr("write")? {
            let name = target.get_type().name()?;
            return Err(BindError::value(format!(
                "the file-like object must have a write method, got {name}"
            ))
            .into());
        }
        let target = target.clone().unbind();
        Ok(self.open(|fragmentation| {
            let (out, finish) = output::file_like(target, format, fragmentation)?;
            Ok((out, format, finish))
        })?)
    }

    /// Encodes a batch of N×3×H×W uint8 frames into video stream `index`.
    /// `stream`: the producer's current CUDA stream, for CUDA frames.
    #[pyo3(signature = (index, frames, stream=None))]
    fn write_video(
        &mut self,
        py: Python<'_>,
        index: usize,
        frames: &Bound<'_, PyAny>,
        stream: Option<usize>,
    ) -> PyResult<()> {
        Ok(self.encode_video(py, index, frames, stream)?)
    }

    /// Adds samples to audio stream `index`: native-endian float32 values,
    /// channels × samples in C order, as `numpy.ndarray.tobytes()` gives them.
    fn write_audio(&mut self, py: Python<'_>, index: usize, samples: &[u8]) -> PyResult<()> {
        if !samples.len().is_multiple_of(4) {
            return Err(BindError::value(format!(
                "audio data of {} bytes is not a whole number of float32 values",
                samples.len()
            ))
            .into());
        }
        let values: Vec<f32> = samples
            .chunks_exact(4)
            .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Ok(self.encode_audio(py, index, &values)?)
    }

    /// Finishes the output. Returns the bytes of a memory output, else
    /// None. Closing a closed encoder does nothing.
    fn close<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyByteArray>>> {
        match &self.state {
            State::Open(_) => match self.finish(py)? {
                Finished::Written => Ok(None),
                Finished::Bytes(bytes) => Ok(Some(PyByteArray::new(py, &bytes))),
            },
            State::Closed => Ok(None),
            _ => Err(self.not_open("close the output").into()),
        }
    }

    /// Abandons the output: a file output leaves no file behind.
    fn abort(&mut self) {
        if !matches!(self.state, State::Closed) {
            self.state = State::Failed("the output was aborted".into());
        }
    }

    /// Frames (video) or samples per channel (audio) written to stream `index`.
    fn written(&self, index: usize) -> u64 {
        match self.streams.get(index) {
            Some(Stream::Video(v)) => v.frames,
            Some(Stream::Audio(a)) => a.samples,
            None => 0,
        }
    }

    /// The device video stream `index` encodes on, or None until frames arrive.
    fn device(&self, index: usize) -> Option<String> {
        self.video(index).ok()?.device.map(|d| d.to_string())
    }

    /// (height, width, (num, den)) of video stream `index`.
    fn video_info(&self, index: usize) -> PyResult<(u32, u32, (u32, u32))> {
        let v = self.video(index)?;
        let c = &v.config;
        Ok((c.height, c.width, (c.frame_rate.num, c.frame_rate.den)))
    }

    /// (sample_rate, num_channels, codec) of audio stream `index`.
    fn audio_info(&self, index: usize) -> PyResult<(u32, u16, &'static str)> {
        match self.streams.get(index) {
            Some(Stream::Audio(a)) => Ok((
                a.config.sample_rate,
                a.config.channels,
                a.config.codec.name(),
            )),
            _ => Err(BindError::value(format!("stream {index} is not an audio stream")).into()),
        }
    }

    /// "configuring", "open", "closed" or "failed".
    #[getter]
    fn state(&self) -> &'static str {
        match self.state {
            State::Configuring => "configuring",
            State::Open(_) => "open",
            State::Closed => "closed",
            State::Failed(_) => "failed",
        }
    }
}

/// The audio settings, checked.
fn audio_config(
    sample_rate: i64,
    num_channels: i64,
    codec: Option<&str>,
    bit_rate: Option<i64>,
) -> BindResult<AudioConfig> {
    let sample_rate = u32::try_from(sample_rate).map_err(|_| {
        BindError::value(format!(
            "invalid sample_rate {sample_rate} (expected samples per second in 1000..=768000)"
        ))
    })?;
    let channels = u16::try_from(num_channels).map_err(|_| {
        BindError::value(format!(
            "invalid num_channels {num_channels} (expected 1..={})",
            framepress::audio::MAX_AUDIO_CHANNELS
        ))
    })?;
    let mut config = AudioConfig::new(sample_rate, channels);
    if let Some(name) = codec {
        config.codec = AudioCodec::from_name(name)?;
    }
    if let Some(b) = bit_rate {
        if config.codec != AudioCodec::Opus {
            return Err(BindError::value(format!(
                "bit_rate applies to Opus only; {} audio is lossless (drop bit_rate, or use \
                 codec=\"opus\")",
                config.codec.name()
            )));
        }
        config.bitrate = u32::try_from(b).map_err(|_| {
            BindError::value(format!(
                "invalid bit_rate {b} (expected bits per second, e.g. 128000)"
            ))
        })?;
    }
    config.validate()?;
    Ok(config)
}

/// Checks `frames` and returns (count, height, width, device) without
/// encoding anything.
#[pyfunction]
pub fn inspect_frames(frames: &Bound<'_, PyAny>) -> PyResult<(usize, u32, u32, String)> {
    let device = dlpack::frames_device(frames)?;
    check_available(device)?;
    let exported = dlpack::export(frames, None)?;
    let shape = exported.shape;
    Ok((
        shape.count,
        shape.height,
        shape.width,
        exported.device.to_string(),
    ))
}
