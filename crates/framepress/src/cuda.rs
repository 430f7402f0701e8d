//! The CUDA backend behind [`crate::Encoder`]: frames are converted to YUV
//! on the host exactly as for the CPU backend, gathered into batches, and
//! coded on the GPU by `framepress-cuda`, which produces the bytes the CPU
//! backend produces. It codes intra pictures (GOP 1) at a constant qp per
//! stream for now.

use avc::encoder::EncodedFrame;
use avc::frame::YuvFrame;
use avc::params::StreamParams;
use framepress_cuda::CudaIntraEncoder;

use crate::config::{EncoderConfig, RateControl};
use crate::error::{Error, Result};

/// Frames coded together in one batch (a few frames in flight at most).
const BATCH: usize = 16;

/// A CUDA encoder and the frames waiting for the next batch.
pub struct CudaBackend {
    encoder: CudaIntraEncoder,
    pending: Vec<YuvFrame>,
}

impl CudaBackend {
    /// Opens CUDA device `index` for a stream configured by `config`; fails
    /// with a clear error for settings the CUDA backend does not code yet.
    pub fn open(
        index: u32,
        config: &EncoderConfig,
        params: StreamParams,
        qp: u8,
    ) -> Result<CudaBackend> {
        check_supported(config)?;
        let mut encoder = CudaIntraEncoder::new(index as usize, params, qp).map_err(cuda_error)?;
        encoder.set_deblocking(config.deblock);
        encoder.set_keep_recon(config.keep_reconstruction);
        encoder.set_max_batch(BATCH);
        Ok(CudaBackend {
            encoder,
            pending: Vec::with_capacity(BATCH),
        })
    }

    /// Queues a frame; returns coded frames when a batch is complete.
    pub fn push(&mut self, frame: &YuvFrame) -> Result<Vec<EncodedFrame>> {
        self.pending.push(frame.clone());
        if self.pending.len() < BATCH {
            return Ok(Vec::new());
        }
        self.drain()
    }

    /// Frames queued for the next batch.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Codes every queued frame.
    pub fn drain(&mut self) -> Result<Vec<EncodedFrame>> {
        if self.pending.is_empty() {
            return Ok(Vec::new());
        }
        let coded = self
            .encoder
            .encode_batch(&self.pending)
            .map_err(cuda_error)?;
        self.pending.clear();
        Ok(coded)
    }
}

/// The settings the CUDA backend codes today: intra pictures at one qp.
fn check_supported(config: &EncoderConfig) -> Result<()> {
    let unsupported = |value: String, expected: &str| Error::InvalidOption {
        option: "device",
        value,
        expected: expected.to_string(),
    };
    if config.gop != 1 {
        return Err(unsupported(
            format!("{} with gop {}", config.device, config.gop),
            "gop 1 with a CUDA device (it codes intra pictures only so far), or --device cpu",
        ));
    }
    if config.is_lossless() {
        return Err(unsupported(
            format!("{} with lossless coding", config.device),
            "lossless coding on the CPU (--device cpu)",
        ));
    }
    if matches!(config.rate, RateControl::Bitrate { .. }) {
        return Err(unsupported(
            format!("{} with a target bitrate", config.device),
            "qp or crf with a CUDA device, or --device cpu for a bitrate",
        ));
    }
    Ok(())
}

fn cuda_error(e: framepress_cuda::CudaError) -> Error {
    Error::Cuda(e.to_string())
}
