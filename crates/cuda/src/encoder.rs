//! The intra encoder on the GPU: the same bytes as `avc::encoder::IntraEncoder`.
//!
//! Pictures go through the stages of `kernels/` in batches (see
//! [`crate::stages`]). Two sets of batch buffers alternate: while the device
//! codes one batch on the compute stream, the host collects the previous
//! batch's NAL units over the copy stream. Only the finished NAL units (and,
//! when asked for, the reconstruction) come back to the host.

use std::sync::Arc;

use avc::bits::{BitSink, BitWriter};
use avc::encoder::{crop_frame, max_access_unit_bytes, EncodedFrame};
use avc::frame::{Plane, YuvFrame};
use avc::params::{pps_nal, sps_nal, write_i_slice_header, SliceHeader, StreamParams};
use cudarc::driver::{result, CudaContext, CudaStream};

use crate::buffer::{DeviceBuffer, PinnedBuffer};
use crate::colour::{Coefficients, PixelFormat};
use crate::error::{driver, kernel, CudaError, Result};
use crate::kernels::{self, EncoderKernels, Program};
use crate::profile::{report_phases, Profiler, INTRA_PHASES};
use crate::runtime;
use crate::source::{DeviceFrame, HostFrame};
use crate::stages::{Buffers, Layout, Stages};

/// Device memory the two sets of batch buffers may take by default.
const BATCH_MEMORY: usize = 4 << 30;
/// Upper limit of pictures per batch.
const MAX_BATCH: usize = 128;

/// One picture of a batch as it enters the pipeline.
enum Input<'a> {
    Host(HostFrame<'a>),
    Yuv(&'a YuvFrame),
    Device(DeviceFrame),
}

/// A batch on the device whose results have not been collected.
struct Pending {
    slot: usize,
    frames: usize,
    profile: Option<(Profiler, Option<DeviceBuffer>)>,
}

/// An intra-only H.264 encoder on a CUDA device at constant qp: every picture
/// is an IDR, and the bytes equal those of `avc::encoder::IntraEncoder`.
pub struct CudaIntraEncoder {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    copy_stream: Arc<CudaStream>,
    kernels: EncoderKernels,
    params: StreamParams,
    qp: i32,
    deblock: bool,
    keep_recon: bool,
    sps: Vec<u8>,
    pps: Vec<u8>,
    idr_count: u32,
    layout: Layout,
    coefficients: Coefficients,
    max_batch: usize,
    slots: [Option<Buffers>; 2],
    staging: Option<DeviceBuffer>,
    /// Host landing area of the NAL units.
    pinned: Option<PinnedBuffer>,
}

impl CudaIntraEncoder {
    /// Opens CUDA device `device` and prepares its kernels (compiled by
    /// NVRTC on first use, then taken from the disk cache).
    pub fn new(device: usize, params: StreamParams, qp: u8) -> Result<CudaIntraEncoder> {
        if params.width == 0 || params.height == 0 {
            return Err(CudaError::InvalidInput(format!(
                "invalid size {}x{} (expected at least 1x1)",
                params.width, params.height
            )));
        }
        let ctx = runtime::open_device(device)?;
        let stream = ctx.new_stream().map_err(driver("stream creation"))?;
        let copy_stream = ctx.new_stream().map_err(driver("stream creation"))?;
        let module = kernels::load(&ctx, Program::Encoder)?;
        let kernels = EncoderKernels::new(module)?;
        let layout = Layout::new(&params);
        let max_batch = (BATCH_MEMORY / 2 / layout.per_frame_bytes()).clamp(1, MAX_BATCH);
        Ok(CudaIntraEncoder {
            ctx,
            stream,
            copy_stream,
            kernels,
            sps: sps_nal(&params),
            pps: pps_nal(),
            coefficients: Coefficients::new(params.colour, params.full_range),
            params,
            qp: i32::from(qp.min(51)),
            deblock: false,
            keep_recon: true,
            idr_count: 0,
            layout,
            max_batch,
            slots: [None, None],
            staging: None,
            pinned: None,
        })
    }

    /// Sets the qp of the pictures coded from now on (0..=51).
    pub fn set_qp(&mut self, qp: u8) {
        self.qp = i32::from(qp.min(51));
    }

    /// Turns the in-loop deblocking filter (8.7) on or off (off by default).
    pub fn set_deblocking(&mut self, on: bool) {
        self.deblock = on;
    }

    /// Whether encoded frames carry the reconstruction (on by default; off
    /// saves its download, and `recon` is then an empty 0x0 frame).
    pub fn set_keep_recon(&mut self, on: bool) {
        self.keep_recon = on;
    }

    /// The most pictures coded in one batch (at least 1).
    pub fn set_max_batch(&mut self, frames: usize) {
        self.max_batch = frames.max(1);
    }

    pub fn max_batch(&self) -> usize {
        self.max_batch
    }

    pub fn sps(&self) -> &[u8] {
        &self.sps
    }

    pub fn pps(&self) -> &[u8] {
        &self.pps
    }

    pub fn params(&self) -> &StreamParams {
        &self.params
    }

    /// The device's name, e.g. "NVIDIA H100 80GB HBM3".
    pub fn device_name(&self) -> String {
        self.ctx
            .name()
            .unwrap_or_else(|_| "unknown CUDA device".into())
    }

    /// Codes one picture in I420 (luma `width`×`height`, chroma ⌈width/2⌉×⌈height/2⌉).
    pub fn encode(&mut self, src: &YuvFrame) -> Result<EncodedFrame> {
        let mut out = self.encode_batch(std::slice::from_ref(src))?;
        out.pop()
            .ok_or_else(|| CudaError::InvalidInput("no frame coded".into()))
    }

    /// Codes pictures in I420, in batches.
    pub fn encode_batch(&mut self, frames: &[YuvFrame]) -> Result<Vec<EncodedFrame>> {
        for f in frames {
            self.check_yuv(f)?;
        }
        let inputs: Vec<Input> = frames.iter().map(Input::Yuv).collect();
        self.encode_inputs(&inputs)
    }

    /// Codes pictures held in host memory in any [`PixelFormat`]; RGB is
    /// converted with the stream's colour space and range.
    pub fn encode_host(&mut self, frames: &[HostFrame]) -> Result<Vec<EncodedFrame>> {
        let (w, h) = (self.layout.width, self.layout.height);
        for f in frames {
            let want = f.format.frame_bytes(w, h);
            if f.data.len() != want {
                return Err(CudaError::InvalidInput(format!(
                    "frame has {} bytes (expected {want} for a {w}x{h} {:?} frame)",
                    f.data.len(),
                    f.format
                )));
            }
        }
        let inputs: Vec<Input> = frames.iter().map(|f| Input::Host(*f)).collect();
        self.encode_inputs(&inputs)
    }

    /// Codes pictures already in the device's memory.
    pub fn encode_device(&mut self, frames: &[DeviceFrame]) -> Result<Vec<EncodedFrame>> {
        for f in frames {
            for (i, &(ptr, pitch)) in f.planes.iter().enumerate().take(f.format.planes()) {
                let (row, _) = f
                    .format
                    .plane_size(i, self.layout.width, self.layout.height);
                if ptr == 0 || pitch < row {
                    return Err(CudaError::InvalidInput(format!(
                        "device frame plane {i}: address {ptr:#x}, pitch {pitch} (expected a non-null \
                         address and a pitch of at least {row} bytes)"
                    )));
                }
            }
        }
        let inputs: Vec<Input> = frames.iter().map(|f| Input::Device(*f)).collect();
        self.encode_inputs(&inputs)
    }

    fn check_yuv(&self, src: &YuvFrame) -> Result<()> {
        let (w, h) = (self.layout.width, self.layout.height);
        let planes_ok = src.y.data.len() == w * h
            && src.u.width == w.div_ceil(2)
            && src.u.height == h.div_ceil(2)
            && src.v.width == src.u.width
            && src.v.height == src.u.height
            && src.u.data.len() == src.u.width * src.u.height
            && src.v.data.len() == src.u.data.len();
        if src.width() != w || src.height() != h || !planes_ok {
            return Err(CudaError::FrameSize {
                got_w: src.width(),
                got_h: src.height(),
                want_w: w,
                want_h: h,
            });
        }
        Ok(())
    }

    /// Codes the inputs batch by batch, collecting each batch while the
    /// next one is coded.
    fn encode_inputs(&mut self, inputs: &[Input]) -> Result<Vec<EncodedFrame>> {
        let mut out = Vec::with_capacity(inputs.len());
        let mut pending: Option<Pending> = None;
        for (i, chunk) in inputs.chunks(self.max_batch).enumerate() {
            let submitted = self.submit(chunk, i % 2)?;
            if let Some(p) = pending.replace(submitted) {
                out.extend(self.collect(p)?);
            }
        }
        if let Some(p) = pending {
            out.extend(self.collect(p)?);
        }
        Ok(out)
    }

    fn ensure_slot(&mut self, slot: usize, frames: usize) -> Result<()> {
        if self.slots[slot].as_ref().is_none_or(|b| b.frames < frames) {
            self.slots[slot] = None;
            self.slots[slot] = Some(Buffers::new(&self.ctx, &self.layout, frames)?);
        }
        Ok(())
    }

    fn ensure_staging(&mut self, bytes: usize) -> Result<()> {
        if self.staging.as_ref().is_none_or(|s| s.len() < bytes) {
            self.staging = None;
            self.staging = Some(DeviceBuffer::new(&self.ctx, bytes, "input frames")?);
        }
        Ok(())
    }

    fn slot(&self, slot: usize) -> Result<&Buffers> {
        self.slots[slot]
            .as_ref()
            .ok_or_else(|| CudaError::InvalidInput("batch buffers missing".into()))
    }

    fn stages(&self) -> Stages<'_> {
        Stages {
            k: &self.kernels,
            stream: &self.stream,
            l: self.layout,
        }
    }

    /// Queues a batch on the compute stream, into buffer set `slot`.
    fn submit(&mut self, inputs: &[Input], slot: usize) -> Result<Pending> {
        let n = inputs.len();
        self.ensure_slot(slot, n)?;
        self.ctx
            .bind_to_thread()
            .map_err(driver("context binding"))?;
        let mut profile = Profiler::from_env();
        if let Some(p) = profile.as_mut() {
            p.mark(&self.stream, "start");
        }
        self.convert_inputs(inputs, slot)?;
        let (words, bits) = self.slice_headers(n);
        let bufs = self.slot(slot)?;
        let l = self.layout;
        bufs.rbsp.zero(&self.stream, 0, n * l.rbsp_words * 4)?;
        bufs.header.upload(&self.stream, 0, &words)?;
        bufs.header_bits.upload(&self.stream, 0, &bits)?;
        let counters = match profile {
            Some(_) => {
                let c =
                    DeviceBuffer::new(&self.ctx, 8 * (INTRA_PHASES.len() + 1), "profile counters")?;
                c.zero(&self.stream, 0, c.len())?;
                Some(c)
            }
            None => None,
        };
        let stages = self.stages();
        let mark = |p: &mut Option<Profiler>, name| {
            if let Some(p) = p.as_mut() {
                p.mark(&self.stream, name)
            }
        };
        mark(&mut profile, "input");
        stages.intra(bufs, n, self.qp, counters.as_ref().map_or(0, |c| c.ptr()))?;
        mark(&mut profile, "intra");
        stages.cavlc(bufs, n)?;
        mark(&mut profile, "cavlc");
        stages.pack(bufs, n)?;
        mark(&mut profile, "pack");
        stages.escape(bufs, n)?;
        mark(&mut profile, "nal");
        // The filtered pictures only matter to whoever asked for them: the
        // bitstream of intra pictures does not depend on them.
        if self.deblock && self.keep_recon {
            stages.deblock(bufs, n, self.qp)?;
            mark(&mut profile, "deblock");
        }
        bufs.done.record(&self.stream)?;
        self.idr_count = self.idr_count.wrapping_add(n as u32);
        Ok(Pending {
            slot,
            frames: n,
            profile: profile.map(|p| (p, counters)),
        })
    }

    /// Waits for a submitted batch and brings its results to the host.
    fn collect(&mut self, p: Pending) -> Result<Vec<EncodedFrame>> {
        self.slot(p.slot)?
            .done
            .synchronize()
            .map_err(kernel("encoding pipeline"))?;
        let nals = self.download_nals(p.slot, p.frames)?;
        let recons = if self.keep_recon {
            self.download_recons(self.slot(p.slot)?, p.frames)?
        } else {
            vec![YuvFrame::new(0, 0); p.frames]
        };
        if let Some((profiler, counters)) = &p.profile {
            profiler.report(p.frames);
            if let Some(c) = counters {
                let mut raw = vec![0u8; c.len()];
                c.download(&self.copy_stream, 0, &mut raw)?;
                self.copy_stream
                    .synchronize()
                    .map_err(kernel("profiling"))?;
                let v: Vec<u64> = raw
                    .chunks_exact(8)
                    .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
                    .collect();
                report_phases(&v);
            }
        }
        self.finish(nals, recons)
    }

    /// Colour conversion and padding of every input into the slot's `src`.
    fn convert_inputs(&mut self, inputs: &[Input], slot: usize) -> Result<()> {
        let l = self.layout;
        let staging_bytes: usize = inputs
            .iter()
            .map(|i| match i {
                Input::Host(f) => f.data.len(),
                Input::Yuv(_) => PixelFormat::Yuv420p.frame_bytes(l.width, l.height),
                Input::Device(_) => 0,
            })
            .sum();
        if staging_bytes > 0 {
            self.ensure_staging(staging_bytes)?;
        }
        let mut offset = 0usize;
        for (f, input) in inputs.iter().enumerate() {
            let frame = match input {
                Input::Device(d) => {
                    self.wait_for(d.stream)?;
                    *d
                }
                Input::Host(h) => {
                    let staging = self.staging_ref()?;
                    staging.upload(&self.stream, offset, h.data)?;
                    let frame =
                        DeviceFrame::packed(h.format, staging.at(offset), l.width, l.height);
                    offset += h.data.len();
                    frame
                }
                Input::Yuv(y) => {
                    let staging = self.staging_ref()?;
                    let start = offset;
                    for plane in [&y.y, &y.u, &y.v] {
                        staging.upload(&self.stream, offset, &plane.data)?;
                        offset += plane.data.len();
                    }
                    DeviceFrame::packed(PixelFormat::Yuv420p, staging.at(start), l.width, l.height)
                }
            };
            self.stages()
                .colour(self.slot(slot)?, &frame, f, &self.coefficients)?;
        }
        Ok(())
    }

    fn staging_ref(&self) -> Result<&DeviceBuffer> {
        self.staging
            .as_ref()
            .ok_or_else(|| CudaError::InvalidInput("no staging buffer".into()))
    }

    /// Orders this encoder's stream after the work queued on `other`.
    fn wait_for(&self, other: cudarc::driver::sys::CUstream) -> Result<()> {
        if other.is_null() {
            return Ok(());
        }
        let event =
            result::event::create(cudarc::driver::sys::CUevent_flags::CU_EVENT_DISABLE_TIMING)
                .map_err(driver("event creation"))?;
        // SAFETY: `event` is live; `other` is the caller's stream on this context.
        let status = unsafe {
            result::event::record(event, other).and_then(|_| {
                result::stream::wait_event(
                    self.stream.cu_stream(),
                    event,
                    cudarc::driver::sys::CUevent_wait_flags::CU_EVENT_WAIT_DEFAULT,
                )
            })
        };
        // SAFETY: destroying a recorded event is deferred by the driver until it completes.
        let _ = unsafe { result::event::destroy(event) };
        status.map_err(driver("waiting for the frame's stream"))
    }

    /// The slice header of each picture as 4 big-endian words (stored as the
    /// device's little-endian u32) and its length in bits.
    fn slice_headers(&self, n: usize) -> (Vec<u8>, Vec<u8>) {
        let mut words = Vec::with_capacity(n * 16);
        let mut bits = Vec::with_capacity(n * 4);
        for i in 0..n {
            let header = SliceHeader {
                idr: true,
                idr_pic_id: self.idr_count.wrapping_add(i as u32) % 2,
                frame_num: 0,
                qp: self.qp,
                disable_deblocking: if self.deblock { 0 } else { 1 },
            };
            let mut w = BitWriter::new();
            write_i_slice_header(&mut w, &header);
            let len = w.bit_len() as u32;
            let mut bytes = w.into_bytes();
            bytes.resize(16, 0);
            for chunk in bytes.chunks_exact(4) {
                let word = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                words.extend_from_slice(&word.to_le_bytes());
            }
            bits.extend_from_slice(&len.to_le_bytes());
        }
        (words, bits)
    }

    /// Brings the batch's NAL units into page-locked memory over the copy
    /// stream, one asynchronous copy each, then splits them.
    fn download_nals(&mut self, slot: usize, n: usize) -> Result<Vec<Vec<u8>>> {
        let l = self.layout;
        let mut raw = vec![0u8; n * 4];
        self.slot(slot)?
            .out_len
            .download(&self.copy_stream, 0, &mut raw)?;
        self.copy_stream
            .synchronize()
            .map_err(kernel("encoding pipeline"))?;
        let lens: Vec<usize> = raw
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize)
            .collect();
        if let Some((f, &len)) = lens
            .iter()
            .enumerate()
            .find(|(_, &len)| len == 0 || len > l.out_capacity)
        {
            return Err(CudaError::Kernel {
                kernel: "nal_escape",
                detail: format!(
                    "picture {f} reported {len} bytes (capacity {})",
                    l.out_capacity
                ),
            });
        }
        let total: usize = lens.iter().sum();
        if self.pinned.as_ref().is_none_or(|p| p.len() < total) {
            self.pinned = None;
            self.pinned = Some(PinnedBuffer::new(&self.ctx, total.next_power_of_two())?);
        }
        let bufs = self.slots[slot]
            .as_ref()
            .ok_or_else(|| CudaError::InvalidInput("batch buffers missing".into()))?;
        let pinned = self
            .pinned
            .as_mut()
            .ok_or_else(|| CudaError::InvalidInput("no host buffer".into()))?;
        let mut at = 0;
        for (f, &len) in lens.iter().enumerate() {
            pinned.download_from(&self.copy_stream, at, bufs.out.at(f * l.out_capacity), len)?;
            at += len;
        }
        self.copy_stream
            .synchronize()
            .map_err(kernel("downloading NAL units"))?;
        let bytes = pinned.bytes(total);
        let mut nals = Vec::with_capacity(n);
        let mut at = 0;
        for len in lens {
            nals.push(bytes[at..at + len].to_vec());
            at += len;
        }
        Ok(nals)
    }

    /// The batch's reconstructions, cropped to the coded display size.
    fn download_recons(&self, bufs: &Buffers, n: usize) -> Result<Vec<YuvFrame>> {
        let l = self.layout;
        let mut raw = vec![0u8; n * l.frame_bytes];
        bufs.rec.download(&self.copy_stream, 0, &mut raw)?;
        self.copy_stream
            .synchronize()
            .map_err(kernel("downloading reconstructions"))?;
        let (pw, ph) = (l.wm * 16, l.hm * 16);
        let (dw, dh) = self.params.coded_display_size();
        Ok(raw
            .chunks_exact(l.frame_bytes)
            .map(|f| {
                let (y, rest) = f.split_at(pw * ph);
                let (u, v) = rest.split_at(pw * ph / 4);
                let plane = |data: &[u8], w, h| Plane {
                    width: w,
                    height: h,
                    data: data.to_vec(),
                };
                let padded = YuvFrame {
                    y: plane(y, pw, ph),
                    u: plane(u, pw / 2, ph / 2),
                    v: plane(v, pw / 2, ph / 2),
                };
                crop_frame(&padded, dw as usize, dh as usize)
            })
            .collect())
    }

    fn finish(&self, nals: Vec<Vec<u8>>, recons: Vec<YuvFrame>) -> Result<Vec<EncodedFrame>> {
        let bound = max_access_unit_bytes(self.params.width, self.params.height);
        nals.into_iter()
            .zip(recons)
            .map(|(nal, recon)| {
                let size = nal.len() + 4 + self.sps.len() + self.pps.len() + 8;
                if size > bound {
                    return Err(CudaError::BoundExceeded { size, bound });
                }
                Ok(EncodedFrame {
                    nals: vec![nal],
                    idr: true,
                    recon,
                })
            })
            .collect()
    }
}
