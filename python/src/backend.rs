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

/// Checks a device name: it parses, and this machine can encode on it.
#[pyo3::pyfunction]
pub fn check_device(name: &str) -> pyo3::PyResult<()> {
    Ok(check_available(Device::parse(name)?)?)
}

/// The number of CUDA devices this process can encode on (0 without a driver).
#[pyo3::pyfunction]
pub fn cuda_device_count() -> usize {
    framepress_cuda::runtime::device_count().unwrap_or(0)
}

/// An encoder on one device: the library's encoder, fed host frames in
/// place (or gathered into its layout), and on a CUDA device also frames in
/// device memory by pointer.
pub struct Engine {
    encoder: Encoder,
    /// One frame gathered from strided host memory, reused.
    scratch: Vec<u8>,
    cuda: bool,
}

/// Where a coded packet goes (the stream's output), from a thread without
/// the GIL.
pub type Emit<'a> = dyn FnMut(Packet) -> BindResult<()> + Send + 'a;

impl Engine {
    /// The CPU engine; it also gives the parameter sets of every engine.
    pub fn cpu(config: &EncoderConfig) -> BindResult<Engine> {
        Ok(Engine {
            encoder: Encoder::new(config.clone())?,
            scratch: Vec::new(),
            cuda: false,
        })
    }

    /// The CUDA engine on `device` for frames laid out as `format`.
    pub fn cuda(device: Device, config: &EncoderConfig, format: PixelFormat) -> BindResult<Engine> {
        check_available(device)?;
        let mut config = config.clone();
        config.device = framepress::Device::Cuda(device.cuda_index().unwrap_or(0));
        config.pixel_format = format;
        Ok(Engine {
            encoder: Encoder::new(config)?,
            scratch: Vec::new(),
            cuda: true,
        })
    }

    /// Sequence and picture parameter sets (NAL units without start codes).
    pub fn parameter_sets(&self) -> (Vec<u8>, Vec<u8>) {
        (self.encoder.sps().to_vec(), self.encoder.pps().to_vec())
    }

    /// The size a decoder will output (the frame size rounded up to even).
    pub fn output_size(&self) -> (u32, u32) {
        self.encoder.output_size()
    }

    /// Frames encoded so far.
    pub fn frames(&self) -> u64 {
        self.encoder.frames_sent()
    }

    /// The pixel format the engine reads.
    pub fn format(&self) -> PixelFormat {
        self.encoder.config().pixel_format
    }

    pub fn is_cuda(&self) -> bool {
        self.cuda
    }

    /// Encodes a batch with the GIL released, handing every packet to
    /// `emit`. Between frames (host memory) or groups of frames (device
    /// memory), Python may raise KeyboardInterrupt, which stops the batch.
    pub fn encode(
        &mut self,
        py: Python<'_>,
        frames: &Exported<'_>,
        emit: &mut Emit<'_>,
    ) -> BindResult<()> {
        let interrupted = || Python::attach(|py| py.check_signals()).map_err(BindError::from);
        if let Device::Cuda(_) = frames.device {
            if !self.cuda {
                return Err(BindError::runtime(
                    "internal error: frames in CUDA memory reached a CPU engine",
                ));
            }
            let device = frames.device_frames(self.format())?;
            return py.detach(|| self.encode_device(&device, emit, &interrupted));
        }
        let host = frames.host_frames()?;
        py.detach(|| self.encode_host(&host, emit, &interrupted))
    }

    /// Ends the stream: the packets still held come out.
    pub fn flush(&mut self, emit: &mut Emit<'_>) -> BindResult<()> {
        self.encoder.flush()?;
        self.drain(emit)
    }

    fn drain(&mut self, emit: &mut Emit<'_>) -> BindResult<()> {
        while let Some(packet) = self.encoder.receive_packet() {
            emit(packet)?;
        }
        Ok(())
    }

    /// Encodes frames in host memory; `between` runs before each frame and
    /// its error stops the batch.
    fn encode_host(
        &mut self,
        frames: &HostFrames,
        emit: &mut Emit<'_>,
        between: &dyn Fn() -> BindResult<()>,
    ) -> BindResult<()> {
        self.adopt_layout(frames)?;
        let format = self.format();
        for i in 0..frames.count() {
            between()?;
            let frame = frames.frame(i, format, &mut self.scratch);
            self.encoder.send_frame(frame)?;
            self.drain(emit)?;
        }
        Ok(())
    }

    /// Encodes frames in the memory of the engine's CUDA device, a group
    /// at a time.
    fn encode_device(
        &mut self,
        frames: &[DeviceFrame],
        emit: &mut Emit<'_>,
        between: &dyn Fn() -> BindResult<()>,
    ) -> BindResult<()> {
        // Groups hold whole GOPs when GOPs are short enough, so that the
        // CUDA backend codes them side by side.
        let gop = self.encoder.config().gop.max(1) as usize;
        let group = if gop > 1 {
            CUDA_GROUP.max(16 * gop)
        } else {
            CUDA_GROUP
        };
        for group in frames.chunks(group) {
            between()?;
            self.encoder.send_device_frames(group)?;
            self.drain(emit)?;
        }
        Ok(())
    }

    /// Before the first frame of a CPU engine, switches the encoder to the
    /// layout the frames already have (planar or interleaved RGB), so they
    /// are read in place. Later batches in another layout are gathered into
    /// the chosen one. (A CUDA engine is built for the first frames' layout.)
    fn adopt_layout(&mut self, frames: &HostFrames) -> BindResult<()> {
        let wanted = frames.natural_format();
        let config = self.encoder.config();
        if self.cuda || self.encoder.frames_sent() > 0 || config.pixel_format == wanted {
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

/// Frames coded per call to the CUDA backend, at least: KeyboardInterrupt
/// is checked between groups.
const CUDA_GROUP: usize = 64;
