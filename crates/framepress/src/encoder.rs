//! The public encoder: a validated configuration builds it, frames go in
//! with [`Encoder::send_frame`], packets come out with
//! [`Encoder::receive_packet`], and [`Encoder::flush`] drains it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use avc::encoder::{pad_rows_in_place, EncodedFrame, Encoder as CoreEncoder, EncoderSettings};
use avc::frame::YuvFrame;
use avc::me::MeParams;
use avc::params::{ColourSpace, StreamParams};
use avc::ratecontrol::{RateControl as RateController, RateMode};

use crate::colour::{shape, to_yuv420_into};
use crate::config::{
    ColourMatrix, ColourRange, Device, EncoderConfig, PixelFormat, Preset, RateControl,
};
use crate::cuda::{CudaBackend, DeviceFrame};
use crate::error::{Error, Result};
use crate::vbv::{code_within_vbv, Recoder};

/// One coded frame: an access unit in decoding order.
#[derive(Debug, Clone)]
pub struct Packet {
    /// Slice NAL units (header byte + escaped payload, no start codes).
    /// Parameter sets are in [`Encoder::sps`] and [`Encoder::pps`].
    pub nals: Vec<Vec<u8>>,
    /// Index of the frame in the stream, from 0.
    pub index: u64,
    /// An IDR picture: decoding can start here.
    pub keyframe: bool,
    /// The quantiser the picture was coded with.
    pub qp: u8,
    /// The decoder's output for this frame, when
    /// [`EncoderConfig::keep_reconstruction`] is set.
    pub recon: Option<YuvFrame>,
}

impl Packet {
    /// Bytes of the slice NAL units (without start codes or length prefixes).
    pub fn payload_len(&self) -> usize {
        self.nals.iter().map(Vec::len).sum()
    }
}

/// A frame in the encoder's own layout, to be filled in place: the I420
/// planes (Y, then U, then V) of the configured size, which is the layout
/// of a packed yuv420p frame split where its planes meet. Sending one with
/// [`Encoder::send_input_frame`] saves the copy that
/// [`Encoder::send_frame`] makes from a packed buffer.
#[derive(Debug, Clone, Default)]
pub struct InputFrame {
    frame: YuvFrame,
}

impl InputFrame {
    /// A frame of `width`×`height` luma samples, every sample 0.
    pub fn new(width: u32, height: u32) -> InputFrame {
        InputFrame {
            frame: frame_with_room(width, height),
        }
    }

    /// Its size in luma samples.
    pub fn size(&self) -> (u32, u32) {
        (self.frame.y.width as u32, self.frame.y.height as u32)
    }

    /// The Y, U and V planes, each its rows one after another (chroma planes
    /// are half the size, rounded up).
    pub fn planes_mut(&mut self) -> [&mut [u8]; 3] {
        let f = &mut self.frame;
        [&mut f.y.data, &mut f.u.data, &mut f.v.data]
    }
}

/// A frame of zeros with room for the rows that pad it to whole
/// macroblocks, which the encoder adds in place.
fn frame_with_room(width: u32, height: u32) -> YuvFrame {
    let (w, h) = (width as usize, height as usize);
    YuvFrame::zeroed_with_room(w, h, h.next_multiple_of(16))
}

/// An H.264 encoder on the CPU.
pub struct Encoder {
    config: EncoderConfig,
    core: CoreEncoder,
    /// Set when the stream is coded on a CUDA device.
    /// (In a mutex only so that the encoder stays `Sync`; it is reached
    /// through `&mut self`, so it is never contended.)
    cuda: Option<Mutex<CudaBackend>>,
    rate: RateController,
    /// Shared with the callers of [`Encoder::run_on_threads`] and
    /// [`crate::MediaWriter::run_on_video_threads`].
    pool: Arc<rayon::ThreadPool>,
    scratch: YuvFrame,
    next_index: u64,
    ready: VecDeque<Packet>,
    broken: bool,
}

impl Encoder {
    /// Validates `config` and builds an encoder.
    pub fn new(config: EncoderConfig) -> Result<Encoder> {
        config.validate()?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(config.threads)
            .build()
            .map_err(|e| Error::InvalidOption {
                option: "threads",
                value: config.threads.to_string(),
                expected: format!("a thread count this system can start ({e})"),
            })?;
        let pool = Arc::new(pool);
        let rate = RateController::new(
            rate_mode(&config),
            config.frame_rate.num,
            config.frame_rate.den,
        );
        let cuda = match config.device {
            Device::Cpu => None,
            Device::Cuda(index) => {
                let qp = rate.picture_qp(true);
                Some(Mutex::new(CudaBackend::open(
                    index,
                    &config,
                    stream_params(&config),
                    qp,
                )?))
            }
        };
        let mut core = CoreEncoder::new(stream_params(&config), core_settings(&config));
        core.set_keep_recon(config.keep_reconstruction);
        Ok(Encoder {
            core,
            cuda,
            rate,
            pool,
            scratch: frame_with_room(config.width, config.height),
            config,
            next_index: 0,
            ready: VecDeque::new(),
            broken: false,
        })
    }

    pub fn config(&self) -> &EncoderConfig {
        &self.config
    }

    /// Runs `f` with the encoder on one of the encoder's own threads. The
    /// encoder hands each frame to its threads and waits for them; a loop
    /// that feeds it from inside `f` codes each frame on the thread it runs
    /// on, with no hand-over per frame (measured at 720p: 0.2–0.4 ms per
    /// frame of wake-ups).
    pub fn run_on_threads<R: Send>(&mut self, f: impl FnOnce(&mut Encoder) -> R + Send) -> R {
        self.thread_pool().install(|| f(self))
    }

    /// The encoder's threads, for a caller that runs with the encoder
    /// borrowed mutably on one of them.
    pub(crate) fn thread_pool(&self) -> Arc<rayon::ThreadPool> {
        Arc::clone(&self.pool)
    }

    /// The sequence parameter set NAL unit.
    pub fn sps(&self) -> &[u8] {
        self.core.sps()
    }

    /// The picture parameter set NAL unit.
    pub fn pps(&self) -> &[u8] {
        self.core.pps()
    }

    /// The size a decoder outputs: the configured size rounded up to even,
    /// since 4:2:0 H.264 crops in steps of two samples (7.4.2.1.1).
    pub fn output_size(&self) -> (u32, u32) {
        self.core.params().coded_display_size()
    }

    /// Encodes one frame laid out in the configured pixel format.
    pub fn send_frame(&mut self, frame: &[u8]) -> Result<()> {
        if self.broken {
            return Err(Error::InvalidState);
        }
        let c = &self.config;
        let expected = c.frame_bytes();
        if frame.len() != expected {
            return Err(Error::FrameSize {
                index: self.next_index,
                got: frame.len(),
                expected,
                detail: format!("{}x{} {}", c.width, c.height, c.pixel_format.name()),
            });
        }
        // Converted by the encoder's threads (rows in parallel).
        let scratch = &mut self.scratch;
        self.pool.install(|| {
            to_yuv420_into(
                c.pixel_format,
                c.matrix,
                c.range,
                c.width,
                c.height,
                frame,
                scratch,
            )
        })?;
        self.code_scratch()
    }

    /// Encodes a frame given in the encoder's own layout (I420 samples,
    /// whatever the configured pixel format), swapping it for the encoder's
    /// buffer: afterwards `frame` holds a frame of the same size to fill
    /// with the next picture (its samples are left over from earlier ones).
    pub fn send_input_frame(&mut self, frame: &mut InputFrame) -> Result<()> {
        if self.broken {
            return Err(Error::InvalidState);
        }
        let c = &self.config;
        if frame.size() != (c.width, c.height) {
            let (w, h) = frame.size();
            let i420 = PixelFormat::Yuv420p;
            return Err(Error::FrameSize {
                index: self.next_index,
                got: i420.frame_bytes(w, h),
                expected: i420.frame_bytes(c.width, c.height),
                detail: format!(
                    "an input frame of {w}x{h} for a {}x{} stream (make it with Encoder::input_frame)",
                    c.width, c.height
                ),
            });
        }
        std::mem::swap(&mut frame.frame, &mut self.scratch);
        // The picture coded before may have been padded in place: give the
        // buffer handed back its visible size again (the rows below go).
        shape(&mut frame.frame, c.width as usize, c.height as usize);
        self.code_scratch()
    }

    /// A frame of the configured size for [`Encoder::send_input_frame`].
    pub fn input_frame(&self) -> InputFrame {
        InputFrame::new(self.config.width, self.config.height)
    }

    /// Codes the frame in `scratch` (on the device, or here) and queues its packets.
    fn code_scratch(&mut self) -> Result<()> {
        self.next_index += 1;
        if let Some(cuda) = self.cuda.as_mut().map(cuda_mut) {
            if matches!(self.rate.mode(), RateMode::Bitrate { .. }) {
                let (coded, qp) = cuda
                    .push_with_rate(&self.scratch, &mut self.rate)
                    .inspect_err(|_| self.broken = true)?;
                self.queue_cuda_at(coded, Some(qp));
                return Ok(());
            }
            let coded = cuda
                .push(&self.scratch)
                .inspect_err(|_| self.broken = true)?;
            self.queue_cuda(coded);
            return Ok(());
        }
        let (coded, qp) = self.code_picture().inspect_err(|_| self.broken = true)?;
        self.ready.push_back(Packet {
            nals: coded.nals,
            index: self.next_index - 1,
            keyframe: coded.idr,
            qp,
            recon: self.config.keep_reconstruction.then_some(coded.recon),
        });
        Ok(())
    }

    /// Encodes frames that lie in the memory of the stream's CUDA device
    /// ([`crate::config::Device::Cuda`]), in the configured pixel format,
    /// without a copy to the host: the device converts and codes them, and
    /// the bytes equal those of the same frames sent with
    /// [`Encoder::send_frame`]. Each frame is read after the work queued on
    /// its `stream`; the call returns once every frame has been read and
    /// coded, so the memory may then be reused. Packets come out of
    /// [`Encoder::receive_packet`] as usual.
    pub fn send_device_frames(&mut self, frames: &[DeviceFrame]) -> Result<()> {
        if self.broken {
            return Err(Error::InvalidState);
        }
        let format = self.config.pixel_format;
        let Some(cuda) = self.cuda.as_mut().map(cuda_mut) else {
            return Err(Error::InvalidInput(format!(
                "frames in CUDA device memory need an encoder on a CUDA device, but this one \
                 encodes on {} (set EncoderConfig::device to Device::Cuda(n), or send host \
                 frames with send_frame)",
                self.config.device
            )));
        };
        if matches!(self.rate.mode(), RateMode::Bitrate { .. }) {
            // A target bitrate: picture after picture, each qp from the rate
            // controller (as send_frame).
            for frame in frames {
                let cuda = self
                    .cuda
                    .as_mut()
                    .map(cuda_mut)
                    .ok_or(Error::InvalidState)?;
                let (coded, qp) = cuda
                    .push_device_with_rate(frame, format, &mut self.rate)
                    .inspect_err(|_| self.broken = true)?;
                self.next_index += 1;
                self.queue_cuda_at(coded, Some(qp));
            }
            return Ok(());
        }
        let coded = cuda
            .push_device(frames, format)
            .inspect_err(|_| self.broken = true)?;
        self.next_index += frames.len() as u64;
        self.queue_cuda(coded);
        Ok(())
    }

    /// Queues pictures coded by the CUDA backend, in order.
    fn queue_cuda(&mut self, coded: Vec<EncodedFrame>) {
        self.queue_cuda_at(coded, None);
    }

    /// Queues pictures coded by the CUDA backend, in order; `last_qp` is
    /// the qp of the last one when the rate controller chose it per picture.
    fn queue_cuda_at(&mut self, coded: Vec<EncodedFrame>, last_qp: Option<u8>) {
        let pending = self
            .cuda
            .as_mut()
            .map_or(0, |c| cuda_mut(c).pending() as u64);
        let first = self.next_index - pending - coded.len() as u64;
        let count = coded.len();
        for (k, frame) in coded.into_iter().enumerate() {
            let qp = match last_qp {
                Some(q) if k + 1 == count => q,
                _ => self.rate.picture_qp(frame.idr),
            };
            self.ready.push_back(Packet {
                nals: frame.nals,
                index: first + k as u64,
                keyframe: frame.idr,
                qp,
                recon: self.config.keep_reconstruction.then_some(frame.recon),
            });
        }
    }

    /// Codes the frame in `scratch` at the rate controller's qp, coding it
    /// again at a higher qp if it would overflow the VBV buffer.
    fn code_picture(&mut self) -> Result<(EncodedFrame, u8)> {
        let idr = self.core.next_is_idr();
        // Padding in place is a few rows; the core's own padding copies all.
        let rows = (self.config.height as usize).div_ceil(16) * 16;
        let padded = pad_rows_in_place(&mut self.scratch, rows);
        let mut picture = CpuPicture {
            core: &mut self.core,
            pool: &self.pool,
            frame: &self.scratch,
            padded,
        };
        code_within_vbv(&mut self.rate, idr, &mut picture)
    }

    /// The next finished packet, if any.
    pub fn receive_packet(&mut self) -> Option<Packet> {
        self.ready.pop_front()
    }

    /// Signals the end of the stream; afterwards every packet can be received.
    /// (Frames are coded as they arrive, so nothing is held back.)
    pub fn flush(&mut self) -> Result<()> {
        if self.broken {
            return Err(Error::InvalidState);
        }
        if let Some(cuda) = self.cuda.as_mut().map(cuda_mut) {
            let coded = cuda.drain().inspect_err(|_| self.broken = true)?;
            self.queue_cuda(coded);
        }
        Ok(())
    }

    /// Frames sent so far.
    pub fn frames_sent(&self) -> u64 {
        self.next_index
    }
}

/// The CPU coding of one picture, for the VBV loop.
struct CpuPicture<'a> {
    core: &'a mut CoreEncoder,
    pool: &'a rayon::ThreadPool,
    frame: &'a YuvFrame,
    /// Whether `frame` is padded to whole macroblocks already.
    padded: bool,
}

impl Recoder for CpuPicture<'_> {
    type Mark = avc::encoder::EncoderState;

    fn mark(&mut self) -> Self::Mark {
        self.core.clone_state()
    }

    fn rewind(&mut self, mark: Self::Mark) -> Result<()> {
        self.core.restore_state(mark);
        Ok(())
    }

    fn code(&mut self, qp: u8) -> Result<EncodedFrame> {
        let (core, frame) = (&mut *self.core, self.frame);
        let coded = if self.padded {
            self.pool.install(|| core.encode_padded(frame, qp))
        } else {
            self.pool.install(|| core.encode(frame, qp))
        };
        Ok(coded?)
    }
}

/// The CUDA backend behind its mutex; a poisoned mutex still holds a
/// usable backend (errors are values, not panics, inside it).
fn cuda_mut(m: &mut Mutex<CudaBackend>) -> &mut CudaBackend {
    m.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The proven maximum size in bytes of one access unit (SPS, PPS and slice,
/// each with a 4-byte start code) for frames of `width`×`height`.
pub fn max_access_unit_bytes(width: u32, height: u32) -> usize {
    avc::encoder::max_access_unit_bytes(width, height)
}

fn stream_params(c: &EncoderConfig) -> StreamParams {
    StreamParams {
        width: c.width,
        height: c.height,
        fps_num: c.frame_rate.num,
        fps_den: c.frame_rate.den,
        colour: match c.matrix {
            ColourMatrix::Bt601 => ColourSpace::Bt601,
            ColourMatrix::Bt709 => ColourSpace::Bt709,
        },
        full_range: c.range == ColourRange::Full,
    }
}

fn rate_mode(c: &EncoderConfig) -> RateMode {
    match c.rate {
        RateControl::Qp(q) => RateMode::ConstantQp(q),
        RateControl::Crf(q) => RateMode::Crf(q),
        RateControl::Bitrate {
            bits_per_second,
            buffer_bits,
        } => RateMode::Bitrate {
            bits_per_second,
            buffer_bits: if buffer_bits == 0 {
                bits_per_second * 2
            } else {
                buffer_bits
            },
        },
    }
}

/// The motion search effort of each preset.
pub(crate) fn motion_search(preset: Preset) -> MeParams {
    let (max_steps, subpel_rounds, partitions) = match preset {
        Preset::Ultrafast => (4, 0, false),
        Preset::Superfast => (8, 1, false),
        Preset::Veryfast => (16, 2, false),
        Preset::Faster => (16, 2, true),
        Preset::Fast => (24, 2, true),
        Preset::Medium => (32, 3, true),
        Preset::Slow => (64, 4, true),
    };
    MeParams {
        max_steps,
        subpel_rounds,
        partitions,
        early_skip: preset == Preset::Ultrafast,
    }
}

pub(crate) fn core_settings(c: &EncoderConfig) -> EncoderSettings {
    EncoderSettings {
        gop: c.gop,
        deblock: c.deblock,
        me: motion_search(c.preset),
        lossless: c.is_lossless(),
        intra4x4: c.preset > Preset::Ultrafast,
    }
}
