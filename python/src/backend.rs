//! Devices and the engines that encode on them.
//!
//! A stream encodes on one device: the one named by `device=`, or else the
//! device of its first frames. [`Engine`] is the seam for backends: the CPU
//! engine reads host frames; a CUDA engine (the `framepress-cuda` crate, not
//! in this build) will take the same DLPack views on their own GPU. Both
//! produce the same bitstream, so the parameter sets a sink was opened with
//! stay valid whichever engine encodes the first frame.

use std::fmt;

use framepress::{Encoder, EncoderConfig};
use pyo3::Python;

use crate::dlpack::Exported;
use crate::error::{BindError, BindResult};
use crate::frames::HostFrames;
use crate::sink::Sink;

/// Where frames live and are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Cpu,
    /// A CUDA device; `None` is "cuda" without an index (the current one).
    Cuda(Option<u32>),
}

impl Device {
    /// Parses `cpu`, `cuda` or `cuda:N` (also what `str(torch.device)` gives).
    pub fn parse(text: &str) -> BindResult<Device> {
        let t = text.trim().to_ascii_lowercase();
        if t == "cpu" {
            return Ok(Device::Cpu);
        }
        if t == "cuda" {
            return Ok(Device::Cuda(None));
        }
        if let Some(index) = t.strip_prefix("cuda:").and_then(|i| i.parse().ok()) {
            return Ok(Device::Cuda(Some(index)));
        }
        Err(BindError::value(format!(
            "invalid device '{text}' (expected \"cpu\", \"cuda\" or \"cuda:N\")"
        )))
    }

    /// Whether frames on `self` can be encoded by a stream on `stream`.
    pub fn fits(self, stream: Device) -> bool {
        match (self, stream) {
            (Device::Cpu, Device::Cpu) => true,
            (Device::Cuda(a), Device::Cuda(b)) => a.is_none() || b.is_none() || a == b,
            _ => false,
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => write!(f, "cpu"),
            Device::Cuda(None) => write!(f, "cuda"),
            Device::Cuda(Some(i)) => write!(f, "cuda:{i}"),
        }
    }
}

/// Fails unless this build can encode on `device`.
pub fn check_available(device: Device) -> BindResult<()> {
    match device {
        Device::Cpu => Ok(()),
        Device::Cuda(_) => Err(cuda_unavailable(device)),
    }
}

fn cuda_unavailable(device: Device) -> BindError {
    BindError::runtime(format!(
        "the CUDA backend is not available in this build (asked to encode on {device}); \
         encode on the CPU instead: device=\"cpu\" with frames in CPU memory (e.g. frames.cpu())"
    ))
}

/// An encoder on one device. Only the CPU engine exists in this build; a
/// CUDA engine adds a variant here, is chosen by [`Engine::new`] (or, for a
/// stream without `device=`, swapped in before its first CUDA frames), and
/// reads the frames' device pointer from [`Exported`] in [`Engine::encode`].
pub enum Engine {
    Cpu(CpuEngine),
}

impl Engine {
    /// Builds the engine for `device`.
    pub fn new(device: Device, config: &EncoderConfig) -> BindResult<Engine> {
        check_available(device)?;
        Ok(Engine::Cpu(CpuEngine::new(config)?))
    }

    /// Sequence and picture parameter sets (NAL units without start codes).
    pub fn parameter_sets(&self) -> (Vec<u8>, Vec<u8>) {
        match self {
            Engine::Cpu(e) => (e.encoder.sps().to_vec(), e.encoder.pps().to_vec()),
        }
    }

    /// The size a decoder will output (the frame size rounded up to even).
    pub fn output_size(&self) -> (u32, u32) {
        match self {
            Engine::Cpu(e) => e.encoder.output_size(),
        }
    }

    /// Frames encoded so far.
    pub fn frames(&self) -> u64 {
        match self {
            Engine::Cpu(e) => e.encoder.frames_sent(),
        }
    }

    /// Encodes a batch into `sink` with the GIL released. Between frames,
    /// Python may raise KeyboardInterrupt, which stops the batch.
    pub fn encode(
        &mut self,
        py: Python<'_>,
        frames: &Exported<'_>,
        sink: &mut Sink,
    ) -> BindResult<()> {
        let interrupted = || Python::attach(|py| py.check_signals()).map_err(BindError::from);
        match self {
            Engine::Cpu(cpu) => {
                let host = frames.host_frames()?;
                py.detach(|| cpu.encode(&host, sink, &interrupted))
            }
        }
    }
}

/// The library's CPU encoder, fed straight from host memory.
pub struct CpuEngine {
    encoder: Encoder,
    /// One frame gathered from strided memory, reused.
    scratch: Vec<u8>,
}

impl CpuEngine {
    fn new(config: &EncoderConfig) -> BindResult<CpuEngine> {
        Ok(CpuEngine {
            encoder: Encoder::new(config.clone())?,
            scratch: Vec::new(),
        })
    }

    /// Encodes `frames` and hands every packet to `sink`. `between` runs
    /// before each frame; its error stops the batch.
    fn encode(
        &mut self,
        frames: &HostFrames,
        sink: &mut Sink,
        between: &dyn Fn() -> BindResult<()>,
    ) -> BindResult<()> {
        self.adopt_layout(frames)?;
        let format = self.encoder.config().pixel_format;
        for i in 0..frames.count() {
            between()?;
            let frame = frames.frame(i, format, &mut self.scratch);
            self.encoder.send_frame(frame)?;
            while let Some(packet) = self.encoder.receive_packet() {
                sink.write_sample(&packet.nals, packet.keyframe)?;
            }
        }
        Ok(())
    }

    /// Before the first frame, switches the encoder to the layout the frames
    /// already have (planar or interleaved RGB), so they are read in place.
    /// Later batches in another layout are gathered into the chosen one.
    fn adopt_layout(&mut self, frames: &HostFrames) -> BindResult<()> {
        let wanted = frames.natural_format();
        let config = self.encoder.config();
        if self.encoder.frames_sent() > 0 || config.pixel_format == wanted {
            return Ok(());
        }
        let mut config = config.clone();
        config.pixel_format = wanted;
        let encoder = Encoder::new(config)?;
        if encoder.sps() != self.encoder.sps() || encoder.pps() != self.encoder.pps() {
            return Err(BindError::runtime(
                "internal error: the parameter sets depend on the input layout",
            ));
        }
        self.encoder = encoder;
        Ok(())
    }
}
