//! One video stream: its settings, its engine and its output, through the
//! states configured → open → closed (or failed).

use std::path::PathBuf;

use container::VideoTrack;
use framepress::EncoderConfig;
use pyo3::prelude::*;
use pyo3::types::PyByteArray;

use crate::backend::{check_available, Device, Engine};
use crate::dlpack;
use crate::error::{BindError, BindResult};
use crate::options::{build_config, Request};
use crate::sink::{Finished, Format, Sink};

/// An open output and the engine that feeds it.
struct Output {
    engine: Engine,
    sink: Sink,
}

enum State {
    /// Configured, no output yet.
    Ready,
    Open(Box<Output>),
    /// Finished successfully.
    Closed,
    /// Abandoned: after an error, or by `abort`; the output was discarded.
    Failed(String),
}

/// The native half of a video stream; the Python layer wraps it.
#[pyclass(module = "framepress._framepress")]
pub struct NativeVideoStream {
    config: EncoderConfig,
    /// Named by `device=`, or else set by the first frames.
    device: Option<Device>,
    frames: u64,
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

impl NativeVideoStream {
    fn engine_device(&self) -> Device {
        // Until frames say otherwise, parameter sets come from the CPU
        // engine; every engine writes the same ones.
        self.device.unwrap_or(Device::Cpu)
    }

    fn open(&mut self, make_sink: impl FnOnce(&VideoTrack) -> BindResult<Sink>) -> BindResult<()> {
        self.expect_ready()?;
        let engine = Engine::new(self.engine_device(), &self.config)?;
        let (width, height) = engine.output_size();
        let (sps, pps) = engine.parameter_sets();
        let track = VideoTrack {
            width,
            height,
            frame_rate_num: self.config.frame_rate.num,
            frame_rate_den: self.config.frame_rate.den,
            sps,
            pps,
        };
        let sink = make_sink(&track)?;
        self.state = State::Open(Box::new(Output { engine, sink }));
        Ok(())
    }

    fn expect_ready(&self) -> BindResult<()> {
        match &self.state {
            State::Ready => Ok(()),
            _ => Err(BindError::runtime(
                "the stream was already opened (each stream writes one output)",
            )),
        }
    }

    fn not_open(&self, action: &str) -> BindError {
        BindError::runtime(match &self.state {
            State::Ready => format!("cannot {action}: the output is not open yet"),
            State::Closed => format!("cannot {action}: the output is already closed"),
            State::Failed(reason) => format!(
                "cannot {action}: the output was abandoned after an earlier error ({reason}), \
                 and nothing was written"
            ),
            State::Open(_) => format!("cannot {action}"),
        })
    }

    /// Checks that frames on `device` may go to this stream.
    fn check_device(&self, device: Device) -> BindResult<()> {
        if let Some(stream) = self.device {
            if !device.fits(stream) {
                return Err(BindError::value(format!(
                    "frames are on {device} but the stream encodes on {stream} (mixed devices: \
                     move the frames first, e.g. frames.to(\"{stream}\"))"
                )));
            }
        }
        check_available(device)
    }

    fn write_frames(&mut self, py: Python<'_>, frames: &Bound<'_, PyAny>) -> BindResult<()> {
        if !matches!(self.state, State::Open(_)) {
            return Err(self.not_open("write frames"));
        }
        self.check_device(dlpack::frames_device(frames)?)?;
        let exported = dlpack::export(frames)?;
        self.check_device(exported.device)?;
        let shape = exported.shape;
        if (shape.height, shape.width) != (self.config.height, self.config.width) {
            return Err(BindError::value(format!(
                "frames are {}x{} (height x width) but the stream was added with height={}, \
                 width={} (the frame size cannot change within a stream)",
                shape.height, shape.width, self.config.height, self.config.width
            )));
        }
        self.device = Some(exported.device);
        if shape.count == 0 {
            return Ok(());
        }
        let State::Open(output) = &mut self.state else {
            unreachable!("checked above");
        };
        let Output { engine, sink } = &mut **output;
        match engine.encode(py, &exported, sink) {
            Ok(()) => {
                self.frames = engine.frames();
                Ok(())
            }
            Err(e) => {
                // Part of the batch may be in the output: drop it (a file
                // output removes its partial file) rather than finish a
                // stream that lacks frames the caller sent.
                let reason = match &e {
                    BindError::Value(m) | BindError::Runtime(m) => m.clone(),
                    BindError::Python(err) => err.to_string(),
                };
                self.state = State::Failed(reason);
                Err(e)
            }
        }
    }
}

#[pymethods]
impl NativeVideoStream {
    /// Validates the settings; the output is opened by one of the `open_*` methods.
    #[new]
    #[pyo3(signature = (*, height, width, frame_rate, device=None, codec=None, pixel_format=None,
                        crf=None, preset=None, extra_options=Vec::new()))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        height: i64,
        width: i64,
        frame_rate: (u64, u64),
        device: Option<&str>,
        codec: Option<String>,
        pixel_format: Option<String>,
        crf: Option<String>,
        preset: Option<String>,
        extra_options: Vec<(String, String)>,
    ) -> PyResult<Self> {
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
        let config = build_config(&request)?;
        let device = device.map(Device::parse).transpose()?;
        if let Some(d) = device {
            check_available(d)?;
        }
        Ok(NativeVideoStream {
            config,
            device,
            frames: 0,
            state: State::Ready,
        })
    }

    /// Opens a file; its extension (.mp4, .m4v, .h264, .264) picks the container.
    fn open_path(&mut self, path: PathBuf) -> PyResult<()> {
        Format::from_path(&path)?;
        Ok(self.open(|track| Sink::file(&path, track))?)
    }

    /// Collects the stream in memory; `close` returns it.
    fn open_memory(&mut self, format: &str) -> PyResult<()> {
        let format = Format::parse(format)?;
        Ok(self.open(|track| Sink::memory(format, track))?)
    }

    /// Writes into an object with a `write` method.
    fn open_writer(&mut self, target: &Bound<'_, PyAny>, format: &str) -> PyResult<()> {
        let format = Format::parse(format)?;
        if !target.hasattr("write")? {
            let name = target.get_type().name()?;
            return Err(BindError::value(format!(
                "the file-like object must have a write method, got {name}"
            ))
            .into());
        }
        let target = target.clone().unbind();
        Ok(self.open(|track| Sink::writer(target, format, track))?)
    }

    /// Encodes a batch of N×3×H×W uint8 frames.
    fn write(&mut self, py: Python<'_>, frames: &Bound<'_, PyAny>) -> PyResult<()> {
        Ok(self.write_frames(py, frames)?)
    }

    /// Finishes the output. Returns the stream's bytes for a memory output,
    /// else None. Closing a closed stream does nothing.
    fn close<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyByteArray>>> {
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Open(output) => {
                let Output { engine, sink } = *output;
                drop(engine);
                match py.detach(|| sink.finish()) {
                    Ok(Finished::Written) => Ok(None),
                    Ok(Finished::Bytes(bytes)) => Ok(Some(PyByteArray::new(py, &bytes))),
                    Err(e) => {
                        self.state = State::Failed("finishing the output failed".into());
                        Err(e.into())
                    }
                }
            }
            State::Closed => Ok(None),
            other => {
                self.state = other;
                Err(self.not_open("close the output").into())
            }
        }
    }

    /// Abandons the output: a file output leaves no file behind.
    fn abort(&mut self) {
        if !matches!(self.state, State::Closed) {
            self.state = State::Failed("the output was aborted".into());
        }
    }

    /// Frames encoded so far.
    #[getter]
    fn frames_written(&self) -> u64 {
        self.frames
    }

    /// The device the stream encodes on, or None until frames arrive.
    #[getter]
    fn device(&self) -> Option<String> {
        self.device.map(|d| d.to_string())
    }

    #[getter]
    fn height(&self) -> u32 {
        self.config.height
    }

    #[getter]
    fn width(&self) -> u32 {
        self.config.width
    }

    /// The frame rate as (numerator, denominator).
    #[getter]
    fn frame_rate(&self) -> (u32, u32) {
        (self.config.frame_rate.num, self.config.frame_rate.den)
    }

    /// "ready", "open", "closed" or "failed".
    #[getter]
    fn state(&self) -> &'static str {
        match self.state {
            State::Ready => "ready",
            State::Open(_) => "open",
            State::Closed => "closed",
            State::Failed(_) => "failed",
        }
    }
}

/// Checks `frames` and returns (count, height, width, device) without
/// encoding anything.
#[pyfunction]
pub fn inspect_frames(frames: &Bound<'_, PyAny>) -> PyResult<(usize, u32, u32, String)> {
    let device = dlpack::frames_device(frames)?;
    check_available(device)?;
    let exported = dlpack::export(frames)?;
    let shape = exported.shape;
    Ok((
        shape.count,
        shape.height,
        shape.width,
        exported.device.to_string(),
    ))
}
