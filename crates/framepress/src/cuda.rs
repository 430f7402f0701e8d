//! The CUDA backend behind [`crate::Encoder`]: frames are converted to YUV
//! on the host exactly as for the CPU backend and coded on the GPU by
//! `framepress-cuda`, which produces the bytes the CPU backend produces.
//! Intra-only streams (GOP 1) are coded in batches of frames; streams with
//! P pictures one picture at a time, the device coding a picture while the
//! host collects the one before. The qp of each picture comes from the rate
//! controller: constant qp or crf; with a target bitrate, each picture is
//! coded and collected before the next, and coded again at a higher qp when
//! the VBV check asks for it — the same decisions, so the same bytes, as on
//! the CPU. Lossless coding (transform bypass, 8.5.15) too.

use avc::encoder::EncodedFrame;
use avc::frame::YuvFrame;
use avc::params::StreamParams;
use avc::ratecontrol::{RateControl as RateController, RateMode};
use framepress_cuda::{CudaEncoder, PixelFormat as DevicePixelFormat};

use crate::config::{EncoderConfig, PixelFormat, RateControl};
use crate::encoder::core_settings;
use crate::error::{Error, Result};
use crate::vbv::{code_within_vbv, Recoder};

/// Frames coded together in one batch of an intra-only stream (a few frames
/// in flight at most).
const BATCH: usize = 16;

/// A frame in the memory of the CUDA device a stream encodes on, laid out in
/// the stream's configured [`PixelFormat`]; see
/// [`crate::Encoder::send_device_frames`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceFrame {
    /// Device address and row pitch in bytes of each plane, in the order of
    /// the pixel format (R, G, B for `Rgb24Planar`; one plane for `Rgb24`;
    /// Y, U, V for `Yuv420p`; Y, UV for `Nv12`); unused entries are ignored.
    pub planes: [(u64, usize); 3],
    /// The producer's CUDA stream (a `CUstream` handle as an integer) whose
    /// queued work must finish before the frame is read, or 0 for none.
    pub stream: usize,
}

impl DeviceFrame {
    /// A frame whose planes lie back to back from `ptr`, rows tightly
    /// packed (as [`crate::EncoderConfig::frame_bytes`] counts them).
    pub fn packed(format: PixelFormat, ptr: u64, width: u32, height: u32) -> DeviceFrame {
        let f = framepress_cuda::DeviceFrame::packed(
            device_format(format),
            ptr,
            width as usize,
            height as usize,
        );
        DeviceFrame {
            planes: f.planes,
            stream: 0,
        }
    }
}

/// The CUDA crate's name for a pixel format.
fn device_format(format: PixelFormat) -> DevicePixelFormat {
    match format {
        PixelFormat::Rgb24 => DevicePixelFormat::Rgb24,
        PixelFormat::Rgb24Planar => DevicePixelFormat::Rgb24Planar,
        PixelFormat::Yuv420p => DevicePixelFormat::Yuv420p,
        PixelFormat::Nv12 => DevicePixelFormat::Nv12,
    }
}

/// A CUDA encoder and the frames waiting for the next batch.
pub struct CudaBackend {
    encoder: CudaEncoder,
    /// GOP 1: frames waiting for the next batch.
    pending: Vec<YuvFrame>,
    /// GOP > 1: pictures sent to the device and not returned yet.
    in_flight: usize,
    intra_only: bool,
    /// Pictures per GOP.
    gop: usize,
    /// qp of IDR and of P pictures.
    qp_idr: u8,
    qp_p: u8,
}

impl CudaBackend {
    /// Opens CUDA device `index` for a stream configured by `config`; fails
    /// with a clear error for settings the CUDA backend does not code.
    /// `qp` is the rate controller's qp of IDR pictures.
    pub fn open(
        index: u32,
        config: &EncoderConfig,
        params: StreamParams,
        qp: u8,
    ) -> Result<CudaBackend> {
        let (fps_num, fps_den) = (params.fps_num, params.fps_den);
        let qp_p = match config.rate {
            RateControl::Qp(q) => RateController::new(RateMode::ConstantQp(q), fps_num, fps_den),
            RateControl::Crf(c) => RateController::new(RateMode::Crf(c), fps_num, fps_den),
            // Each picture's qp comes from the stream's rate controller.
            RateControl::Bitrate { .. } => RateController::new(RateMode::ConstantQp(qp), 1, 1),
        }
        .picture_qp(false);
        let mut encoder =
            CudaEncoder::new(index as usize, params, core_settings(config)).map_err(cuda_error)?;
        encoder.set_keep_recon(config.keep_reconstruction);
        encoder.set_max_batch(BATCH);
        Ok(CudaBackend {
            encoder,
            pending: Vec::with_capacity(BATCH),
            in_flight: 0,
            intra_only: config.gop <= 1,
            gop: config.gop.max(1) as usize,
            qp_idr: qp,
            qp_p,
        })
    }

    /// Queues a frame; returns the coded frames that are finished.
    pub fn push(&mut self, frame: &YuvFrame) -> Result<Vec<EncodedFrame>> {
        if !self.intra_only {
            let qp = if self.encoder.next_is_idr() {
                self.qp_idr
            } else {
                self.qp_p
            };
            let coded = self.encoder.send_frame(frame, qp).map_err(cuda_error)?;
            self.in_flight = self.in_flight + 1 - coded.len();
            return Ok(coded);
        }
        self.pending.push(frame.clone());
        if self.pending.len() < BATCH {
            return Ok(Vec::new());
        }
        self.drain()
    }

    /// Codes frames that are in device memory, after every frame queued
    /// before them, and waits until all are coded (so the caller may reuse
    /// the memory once this returns). Whole GOPs among them are coded side
    /// by side, which fills the GPU. Returns every picture finished.
    pub fn push_device(
        &mut self,
        frames: &[DeviceFrame],
        format: PixelFormat,
    ) -> Result<Vec<EncodedFrame>> {
        let mut coded = self.drain()?;
        let frames: Vec<framepress_cuda::DeviceFrame> = frames
            .iter()
            .map(|f| {
                framepress_cuda::DeviceFrame {
                    format: device_format(format),
                    planes: f.planes,
                    stream: std::ptr::null_mut(),
                }
                .after_handle(f.stream)
            })
            .collect();
        // Up to the next GOP boundary one after another, then whole GOPs
        // side by side, then the rest one after another.
        let lead = if self.intra_only {
            frames.len()
        } else {
            let types = self.encoder.picture_types(frames.len());
            types.iter().position(|&idr| idr).unwrap_or(frames.len())
        };
        let (head, tail) = frames.split_at(lead);
        coded.extend(self.code_in_order(head)?);
        let (whole, rest) = tail.split_at(self.whole_gops(tail.len()) * self.gop);
        if !whole.is_empty() {
            let gops: Vec<&[framepress_cuda::DeviceFrame]> = whole.chunks(self.gop).collect();
            let out = self
                .encoder
                .encode_gops_device(&gops, self.qp_idr, self.qp_p)
                .map_err(cuda_error)?;
            coded.extend(out.into_iter().flatten());
        }
        coded.extend(self.code_in_order(rest)?);
        self.in_flight = 0;
        Ok(coded)
    }

    /// Codes device frames one picture after another and waits for them.
    fn code_in_order(
        &mut self,
        frames: &[framepress_cuda::DeviceFrame],
    ) -> Result<Vec<EncodedFrame>> {
        if frames.is_empty() {
            return Ok(Vec::new());
        }
        let qps: Vec<u8> = self
            .encoder
            .picture_types(frames.len())
            .into_iter()
            .map(|idr| if idr { self.qp_idr } else { self.qp_p })
            .collect();
        self.encoder.encode_device(frames, &qps).map_err(cuda_error)
    }

    /// How many whole GOPs, at the start of `frames` (the stream at a GOP
    /// boundary), to code side by side (picture k of every GOP in one
    /// step): at least two, of more than one picture each (intra-only
    /// streams are coded in batches anyway). The bytes are those of coding
    /// the pictures one after another: closed GOPs are independent.
    fn whole_gops(&self, frames: usize) -> usize {
        let gops = frames / self.gop;
        if self.intra_only || gops < 2 {
            return 0;
        }
        gops
    }

    /// Codes `frame` at the qp `rate` gives, again at a higher qp while its
    /// VBV check asks for one (as the CPU encoder does), after finishing
    /// every picture queued before it. Returns the coded pictures (those
    /// queued before, then this one) and this one's qp.
    pub fn push_with_rate(
        &mut self,
        frame: &YuvFrame,
        rate: &mut RateController,
    ) -> Result<(Vec<EncodedFrame>, u8)> {
        let mut done = self.drain()?;
        let (coded, qp) = self.code_with_rate(rate, |enc, qp| enc.encode(frame, qp))?;
        done.push(coded);
        Ok((done, qp))
    }

    /// [`CudaBackend::push_with_rate`] for a frame in device memory (read
    /// again for each attempt; all are done when this returns).
    pub fn push_device_with_rate(
        &mut self,
        frame: &DeviceFrame,
        format: PixelFormat,
        rate: &mut RateController,
    ) -> Result<(Vec<EncodedFrame>, u8)> {
        let mut done = self.drain()?;
        let device = framepress_cuda::DeviceFrame {
            format: device_format(format),
            planes: frame.planes,
            stream: std::ptr::null_mut(),
        }
        .after_handle(frame.stream);
        let (coded, qp) = self.code_with_rate(rate, |enc, qp| {
            let mut out = enc.encode_device(&[device], &[qp])?;
            out.pop()
                .ok_or_else(|| framepress_cuda::CudaError::InvalidInput("no frame coded".into()))
        })?;
        done.push(coded);
        Ok((done, qp))
    }

    /// The rate controller's VBV loop over this backend's encoder.
    fn code_with_rate(
        &mut self,
        rate: &mut RateController,
        code: impl FnMut(&mut CudaEncoder, u8) -> framepress_cuda::Result<EncodedFrame>,
    ) -> Result<(EncodedFrame, u8)> {
        let idr = self.encoder.next_is_idr();
        let mut picture = CudaPicture {
            encoder: &mut self.encoder,
            code,
        };
        code_within_vbv(rate, idr, &mut picture)
    }

    /// Frames queued or in flight, not yet returned.
    pub fn pending(&self) -> usize {
        self.pending.len() + self.in_flight
    }

    /// Codes every queued frame and returns them.
    pub fn drain(&mut self) -> Result<Vec<EncodedFrame>> {
        if !self.intra_only {
            let coded = self.encoder.flush().map_err(cuda_error)?;
            self.in_flight = self.in_flight.saturating_sub(coded.len());
            return Ok(coded);
        }
        if self.pending.is_empty() {
            return Ok(Vec::new());
        }
        let qps = vec![self.qp_idr; self.pending.len()];
        let coded = self
            .encoder
            .encode_batch(&self.pending, &qps)
            .map_err(cuda_error)?;
        self.pending.clear();
        Ok(coded)
    }
}

/// The CUDA coding of one picture, for the VBV loop.
struct CudaPicture<'a, F> {
    encoder: &'a mut CudaEncoder,
    code: F,
}

impl<F> Recoder for CudaPicture<'_, F>
where
    F: FnMut(&mut CudaEncoder, u8) -> framepress_cuda::Result<EncodedFrame>,
{
    type Mark = framepress_cuda::Checkpoint;

    fn mark(&mut self) -> Self::Mark {
        self.encoder.checkpoint()
    }

    fn rewind(&mut self, mark: Self::Mark) -> Result<()> {
        self.encoder.rewind(mark).map_err(cuda_error)
    }

    fn code(&mut self, qp: u8) -> Result<EncodedFrame> {
        (self.code)(self.encoder, qp).map_err(cuda_error)
    }
}

fn cuda_error(e: framepress_cuda::CudaError) -> Error {
    Error::Cuda(e.to_string())
}
