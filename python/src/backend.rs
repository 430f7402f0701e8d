//! Devices and the engines that encode on them.
//!
//! A stream encodes on one device: the one named by `device=`, or else the
//! device of its first frames. The CPU engine reads host frames in place;
//! the CUDA engine hands the frames' device pointers to the library's CUDA
//! backend, ordered after the producer's stream, with no copy through host
//! memory. Both produce the same bitstream, so the parameter sets an output
//! was opened with stay valid whichever engine codes the first frame.

use std::fmt;

use framepress::{DeviceFrame, Encoder, EncoderConfig, Packet, PixelFormat};
use pyo3::Python;

use crate::dlpack::Exported;
use crate::error::{BindError, BindResult};
use crate::frames::HostFrames;

/// Where frames live and are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Cpu,
    /// A CUDA device; `None` is "cuda" without an index (the frames' device,
    /// else device 0).
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

    /// The CUDA device index, `cuda` meaning device 0.
    fn cuda_index(self) -> Option<u32> {
        match self {
            Device::Cpu => None,
            Device::Cuda(i) => Some(i.unwrap_or(0)),
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

/// Fails unless this machine can encode on `device`: a CUDA driver must be
/// present and the index must name one of its devices.
pub fn check_available(device: Device) -> BindResult<()> {
    let Some(index) = device.cuda_index() else {
        return Ok(());
    };
    let count = framepress_cuda::runtime::device_count().map_err(|e| {
        let why = match e {
            framepress_cuda::CudaError::NoDriver => {
                "this machine has no CUDA driver (libcuda.so could not be loaded)".to_string()
            }
            framepress_cuda::CudaError::NoDevice => "the CUDA driver reports no device".to_string(),
            other => other.to_string(),
        };
        BindError::runtime(format!(
            "cannot encode on {device}: {why}; encode on the CPU instead: device=\"cpu\" with \
             frames in CPU memory (e.g. frames.cpu())"
        ))
    })?;
    if index as usize >= count {
        return Err(BindError::value(format!(
            "CUDA device {index} does not exist (asked for {device}; this machine has {count} \
             CUDA device{}{})",
            if count == 1 { "" } else { "s" },
            match count {
                0 => String::new(),
                1 => ": cuda:0".to_string(),
                n => format!(": cuda:0 to cuda:{}", n - 1),
            }
        )));
    }
    Ok(())
}

/// The number of CUDA devices this process can encode on (0 without a driver).
#[pyo3::pyfunction]
pub fn cuda_device_count() -> usize {
    framepress_cuda::runtime::device_count().unwrap_or(0)
}

/// An encoder on one device.
pub enum Engine {
    Cpu(CpuEngine),
    Cuda(CudaEngine),
}

/// Where a coded packet goes (the stream's output), from a thread without
/// the GIL.
pub type Emit<'a> = dyn FnMut(Packet) -> BindResult<()> + Send + 'a;

impl Engine {
    /// The CPU engine; it also gives the parameter sets of every engine.
    pub fn cpu(config: &EncoderConfig) -> BindResult<Engine> {
        Ok(Engine::Cpu(CpuEngine {
            encoder: Encoder::new(config.clone())?,
            scratch: Vec::new(),
        }))
    }

    /// The CUDA engine on `device` for frames laid out as `format`.
    pub fn cuda(device: Device, config: &EncoderConfig, format: PixelFormat) -> BindResult<Engine> {
        check_available(device)?;
        let mut config = config.clone();
        config.device = framepress::Device::Cuda(device.cuda_index().unwrap_or(0));
        config.pixel_format = format;
        Ok(Engine::Cuda(CudaEngine {
            encoder: Encoder::new(config)?,
        }))
    }

    /// Sequence and picture parameter sets (NAL units without start codes).
    pub fn parameter_sets(&self) -> (Vec<u8>, Vec<u8>) {
        let e = self.encoder();
        (e.sps().to_vec(), e.pps().to_vec())
    }

    /// The size a decoder will output (the frame size rounded up to even).
    pub fn output_size(&self) -> (u32, u32) {
        self.encoder().output_size()
    }

    /// Frames encoded so far.
    pub fn frames(&self) -> u64 {
        self.encoder().frames_sent()
    }

    /// The pixel format the engine reads.
    pub fn format(&self) -> PixelFormat {
        self.encoder().config().pixel_format
    }

    pub fn is_cuda(&self) -> bool {
        matches!(self, Engine::Cuda(_))
    }

    fn encoder(&self) -> &Encoder {
        match self {
            Engine::Cpu(e) => &e.encoder,
            Engine::Cuda(e) => &e.encoder,
        }
    }

    /// Encodes a batch with the GIL released, handing every packet to
    /// `emit`. Between frames (CPU) or groups of frames (CUDA), Python may
    /// raise KeyboardInterrupt, which stops the batch.
    pub fn encode(
        &mut self,
        py: Python<'_>,
        frames: &Exported<'_>,
        emit: &mut Emit<'_>,
    ) -> BindResult<()> {
        let interrupted = || Python::attach(|py| py.check_signals()).map_err(BindError::from);
        match self {
            Engine::Cpu(cpu) => {
                let host = frames.host_frames()?;
                py.detach(|| cpu.encode(&host, emit, &interrupted))
            }
            Engine::Cuda(cuda) => {
                let device = frames.device_frames(cuda.encoder.config().pixel_format)?;
                py.detach(|| cuda.encode(&device, emit, &interrupted))
            }
        }
    }

    /// Ends the stream: the packets still held come out.
    pub fn flush(&mut self, emit: &mut Emit<'_>) -> BindResult<()> {
        let encoder = match self {
            Engine::Cpu(e) => &mut e.encoder,
            Engine::Cuda(e) => &mut e.encoder,
        };
        encoder.flush()?;
        drain(encoder, emit)
    }
}

fn drain(encoder: &mut Encoder, emit: &mut Emit<'_>) -> BindResult<()> {
    while let Some(packet) = encoder.receive_packet() {
        emit(packet)?;
    }
    Ok(())
}

/// The library's CPU encoder, fed straight from host memory.
pub struct CpuEngine {
    encoder: Encoder,
    /// One frame gathered from strided memory, reused.
    scratch: Vec<u8>,
}

impl CpuEngine {
    /// Encodes `frames`; `between` runs before each frame and its error
    /// stops the batch.
    fn encode(
        &mut self,
        frames: &HostFrames,
        emit: &mut Emit<'_>,
        between: &dyn Fn() -> BindResult<()>,
    ) -> BindResult<()> {
        self.adopt_layout(frames)?;
        let format = self.encoder.config().pixel_format;
        for i in 0..frames.count() {
            between()?;
            let frame = frames.frame(i, format, &mut self.scratch);
            self.encoder.send_frame(frame)?;
            drain(&mut self.encoder, emit)?;
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

/// Frames coded per call to the CUDA backend: KeyboardInterrupt is checked
/// between groups.
const CUDA_GROUP: usize = 64;

/// The library's CUDA encoder, fed with device pointers.
pub struct CudaEngine {
    encoder: Encoder,
}

impl CudaEngine {
    fn encode(
        &mut self,
        frames: &[DeviceFrame],
        emit: &mut Emit<'_>,
        between: &dyn Fn() -> BindResult<()>,
    ) -> BindResult<()> {
        for group in frames.chunks(CUDA_GROUP) {
            between()?;
            self.encoder.send_device_frames(group)?;
            drain(&mut self.encoder, emit)?;
        }
        Ok(())
    }
}
