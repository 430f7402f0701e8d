//! The encoders on the GPU: [`CudaEncoder`] codes closed GOPs of an IDR and
//! P pictures with the bytes of `avc::encoder::Encoder`; [`CudaIntraEncoder`]
//! codes intra pictures with the bytes of `avc::encoder::IntraEncoder`.
//!
//! Pictures go through the stages of `kernels/` in steps (see
//! [`crate::stages`]): a step codes one picture of each of up to
//! `max_batch` lanes at once — consecutive intra pictures of a stream of
//! GOP 1, or picture k of several independent GOPs ([`CudaEncoder::encode_gops`]).
//! Two sets of step buffers alternate: a P picture reads its reference (the
//! previous step's reconstruction and decisions) from the other set, and
//! while the device codes one step the host collects the previous step's NAL
//! units over the copy stream. Only the finished NAL units (and, when asked
//! for, the reconstruction) come back to the host.

use std::sync::Arc;

use avc::bits::{BitSink, BitWriter};
use avc::encoder::{crop_frame, max_access_unit_bytes, EncodedFrame, EncoderSettings};
use avc::frame::{Plane, YuvFrame};
use avc::params::{
    pps_nal, sps_nal_with, write_i_slice_header, write_p_slice_header, SliceHeader, StreamParams,
    LOG2_MAX_FRAME_NUM,
};
use cudarc::driver::{result, CudaContext, CudaStream};

use crate::buffer::{DeviceBuffer, PinnedBuffer};
use crate::colour::{Coefficients, PixelFormat};
use crate::error::{driver, kernel, CudaError, Result};
use crate::kernels::{self, EncoderKernels, Program};
use crate::profile::{report_phases, Profiler, INTRA_PHASES};
use crate::runtime;
use crate::source::{DeviceFrame, HostFrame};
use crate::stages::{Buffers, Layout, SearchParams, Stages, Sync, IDR_NAL_HEADER, P_NAL_HEADER};

/// Device memory the two sets of step buffers may take by default: a
/// quarter of the memory free when the encoder is made, within these bounds.
const BATCH_MEMORY_MIN: usize = 1 << 30;
const BATCH_MEMORY_MAX: usize = 24 << 30;

/// The default memory budget of the step buffers (they are allocated for
/// the pictures a step actually has, so this is only an upper bound).
fn batch_memory(ctx: &CudaContext) -> usize {
    if ctx.bind_to_thread().is_err() {
        return BATCH_MEMORY_MIN;
    }
    match result::mem_get_info() {
        Ok((free, _)) => (free / 4).clamp(BATCH_MEMORY_MIN, BATCH_MEMORY_MAX),
        Err(_) => BATCH_MEMORY_MIN,
    }
}
/// Upper limit of pictures per step.
const MAX_BATCH: usize = 128;

/// One picture of a step as it enters the pipeline.
#[derive(Clone, Copy)]
enum Input<'a> {
    Host(HostFrame<'a>),
    Yuv(&'a YuvFrame),
    Device(DeviceFrame),
}

/// A step on the device whose results have not been collected.
struct Pending {
    slot: usize,
    frames: usize,
    idr: bool,
    profile: Option<(Profiler, Option<DeviceBuffer>)>,
}

/// The picture-to-picture state, as in `avc::encoder::Encoder`.
#[derive(Debug, Clone, Copy)]
struct GopState {
    idr_count: u32,
    /// Position in the current GOP (0: the next picture is an IDR).
    gop_pos: u32,
    frame_num: u32,
}

/// Where a stream stood before a picture was coded, to code that picture
/// again (at another qp, for a rate controller's VBV check); see
/// [`CudaEncoder::checkpoint`].
#[derive(Debug, Clone, Copy)]
pub struct Checkpoint {
    state: GopState,
    last: Option<(usize, usize)>,
}

/// An H.264 encoder on a CUDA device: IDR and P pictures in closed GOPs,
/// one reference picture, a qp given per picture (0 when lossless) — the
/// bytes of `avc::encoder::Encoder` with the same settings.
pub struct CudaEncoder {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    copy_stream: Arc<CudaStream>,
    kernels: EncoderKernels,
    params: StreamParams,
    settings: EncoderSettings,
    keep_recon: bool,
    sps: Vec<u8>,
    pps: Vec<u8>,
    state: GopState,
    /// The step buffer set holding the last coded step (the reference of
    /// the next P picture) and its picture count.
    last: Option<(usize, usize)>,
    /// A submitted step not yet collected (streaming use).
    pending: Option<Pending>,
    layout: Layout,
    coefficients: Coefficients,
    max_batch: usize,
    slots: [Option<Buffers>; 2],
    /// The reference planes of the P pictures of a step.
    planes: Option<DeviceBuffer>,
    /// Flags and counters of the persistent wavefront kernels.
    sync: Option<Sync>,
    staging: Option<DeviceBuffer>,
    /// Host landing area of the NAL units.
    pinned: Option<PinnedBuffer>,
}

impl CudaEncoder {
    /// Opens CUDA device `device` and prepares its kernels (compiled by
    /// NVRTC on first use, then taken from the disk cache).
    pub fn new(
        device: usize,
        params: StreamParams,
        settings: EncoderSettings,
    ) -> Result<CudaEncoder> {
        if params.width == 0 || params.height == 0 {
            return Err(CudaError::InvalidInput(format!(
                "invalid size {}x{} (expected at least 1x1)",
                params.width, params.height
            )));
        }
        // Lossless coding (as avc::encoder::Encoder): QP'Y 0 with transform
        // bypass, no deblocking.
        let settings = EncoderSettings {
            gop: settings.gop.max(1),
            deblock: settings.deblock && !settings.lossless,
            ..settings
        };
        let ctx = runtime::open_device(device)?;
        let stream = ctx.new_stream().map_err(driver("stream creation"))?;
        let copy_stream = ctx.new_stream().map_err(driver("stream creation"))?;
        let module = kernels::load(&ctx, Program::Encoder)?;
        let kernels = EncoderKernels::new(module)?;
        let layout = Layout::new(&params);
        let mut per_frame = layout.per_frame_bytes();
        if settings.gop > 1 {
            per_frame += 2 * layout.plane_bytes;
        }
        let max_batch = (batch_memory(&ctx) / 2 / per_frame).clamp(1, MAX_BATCH);
        Ok(CudaEncoder {
            ctx,
            stream,
            copy_stream,
            kernels,
            sps: sps_nal_with(&params, settings.lossless),
            pps: pps_nal(),
            coefficients: Coefficients::new(params.colour, params.full_range),
            params,
            settings,
            keep_recon: true,
            state: GopState {
                idr_count: 0,
                gop_pos: 0,
                frame_num: 0,
            },
            last: None,
            pending: None,
            layout,
            max_batch,
            slots: [None, None],
            planes: None,
            sync: None,
            staging: None,
            pinned: None,
        })
    }

    /// Whether encoded frames carry the reconstruction (on by default; off
    /// saves its download, and `recon` is then an empty 0x0 frame).
    pub fn set_keep_recon(&mut self, on: bool) {
        self.keep_recon = on;
    }

    /// Turns the in-loop deblocking filter (8.7) on or off, for the pictures
    /// coded from now on.
    pub fn set_deblocking(&mut self, on: bool) {
        self.settings.deblock = on;
    }

    /// The most pictures coded in one step (at least 1).
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

    pub fn settings(&self) -> &EncoderSettings {
        &self.settings
    }

    /// The device's name, e.g. "NVIDIA H100 80GB HBM3".
    pub fn device_name(&self) -> String {
        self.ctx
            .name()
            .unwrap_or_else(|_| "unknown CUDA device".into())
    }

    /// Where the stream stands now, for [`CudaEncoder::rewind`]. Take it
    /// with no picture queued (after `encode`, `encode_batch` or `flush`).
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            state: self.state,
            last: self.last,
        }
    }

    /// Goes back to `mark`, forgetting the pictures coded since, so that the
    /// next picture is coded as if they had not been: it is predicted from
    /// the same reference (still in its step buffers, which a later picture
    /// does not overwrite while only one picture is coded after `mark`).
    /// Only valid for `mark` taken just before the last picture was coded.
    pub fn rewind(&mut self, mark: Checkpoint) -> Result<()> {
        if self.pending.is_some() {
            return Err(CudaError::InvalidInput(
                "pictures are still queued: flush before rewinding".into(),
            ));
        }
        self.state = mark.state;
        self.last = mark.last;
        Ok(())
    }

    /// Starts a new stream: waits for queued pictures (dropping them) and
    /// puts the GOP state back to that of a new encoder.
    pub fn reset_stream(&mut self) -> Result<()> {
        let _ = self.flush()?;
        self.state = GopState {
            idr_count: 0,
            gop_pos: 0,
            frame_num: 0,
        };
        self.last = None;
        Ok(())
    }

    /// Whether the next picture sent will be an IDR.
    pub fn next_is_idr(&self) -> bool {
        self.state.gop_pos == 0 || self.last.is_none()
    }

    /// Whether the pictures of the next `n` sent will be IDRs.
    pub fn picture_types(&self, n: usize) -> Vec<bool> {
        let mut s = self.state;
        let mut have_ref = self.last.is_some();
        (0..n)
            .map(|_| {
                let idr = s.gop_pos == 0 || !have_ref;
                s.gop_pos = (if idr { 0 } else { s.gop_pos } + 1) % self.settings.gop;
                have_ref = true;
                idr
            })
            .collect()
    }

    /// Codes one picture in I420 (luma `width`×`height`, chroma
    /// ⌈width/2⌉×⌈height/2⌉) at `qp` and waits for it.
    pub fn encode(&mut self, src: &YuvFrame, qp: u8) -> Result<EncodedFrame> {
        let mut out = self.encode_batch(std::slice::from_ref(src), &[qp])?;
        out.pop()
            .ok_or_else(|| CudaError::InvalidInput("no frame coded".into()))
    }

    /// Codes pictures in I420, picture `i` at `qps[i]`, and waits for all of them.
    pub fn encode_batch(&mut self, frames: &[YuvFrame], qps: &[u8]) -> Result<Vec<EncodedFrame>> {
        for f in frames {
            self.check_yuv(f)?;
        }
        let inputs: Vec<Input> = frames.iter().map(Input::Yuv).collect();
        let mut out = self.code_inputs(&inputs, qps)?;
        out.extend(self.flush()?);
        Ok(out)
    }

    /// Codes pictures held in host memory in any [`PixelFormat`] (RGB is
    /// converted with the stream's colour space and range) and waits for them.
    pub fn encode_host(&mut self, frames: &[HostFrame], qps: &[u8]) -> Result<Vec<EncodedFrame>> {
        for f in frames {
            self.check_host(f)?;
        }
        let inputs: Vec<Input> = frames.iter().map(|f| Input::Host(*f)).collect();
        let mut out = self.code_inputs(&inputs, qps)?;
        out.extend(self.flush()?);
        Ok(out)
    }

    /// Codes pictures already in the device's memory and waits for them.
    pub fn encode_device(
        &mut self,
        frames: &[DeviceFrame],
        qps: &[u8],
    ) -> Result<Vec<EncodedFrame>> {
        for f in frames {
            self.check_device(f)?;
        }
        let inputs: Vec<Input> = frames.iter().map(|f| Input::Device(*f)).collect();
        let mut out = self.code_inputs(&inputs, qps)?;
        out.extend(self.flush()?);
        Ok(out)
    }

    /// Streaming: queues one picture in I420 at `qp`; returns the pictures
    /// finished meanwhile (the device codes a picture while the host
    /// collects the one before). [`CudaEncoder::flush`] returns the rest.
    pub fn send_frame(&mut self, src: &YuvFrame, qp: u8) -> Result<Vec<EncodedFrame>> {
        self.check_yuv(src)?;
        self.code_inputs(&[Input::Yuv(src)], &[qp])
    }

    /// Waits for the queued pictures and returns them.
    pub fn flush(&mut self) -> Result<Vec<EncodedFrame>> {
        match self.pending.take() {
            Some(p) => self.collect(p),
            None => Ok(Vec::new()),
        }
    }

    /// Codes independent closed GOPs side by side: picture k of every GOP
    /// in one step, so that P pictures of different GOPs share the device.
    /// Each GOP starts with an IDR and holds at most `gop` pictures; IDR
    /// pictures are coded at `qp_idr`, P pictures at `qp_p`. The GOPs take
    /// the places in the stream that their order gives them (idr_pic_id
    /// alternates), so their concatenation is the CPU encoder's stream when
    /// every GOP but the last has exactly `gop` pictures. Afterwards the next
    /// picture is an IDR. Returns the coded pictures of each GOP.
    pub fn encode_gops(
        &mut self,
        gops: &[&[YuvFrame]],
        qp_idr: u8,
        qp_p: u8,
    ) -> Result<Vec<Vec<EncodedFrame>>> {
        for frames in gops {
            for f in frames.iter() {
                self.check_yuv(f)?;
            }
        }
        let inputs: Vec<Vec<Input>> = gops
            .iter()
            .map(|g| g.iter().map(Input::Yuv).collect())
            .collect();
        self.code_gops(&inputs, qp_idr, qp_p)
    }

    /// [`CudaEncoder::encode_gops`] for pictures already in the device's memory.
    pub fn encode_gops_device(
        &mut self,
        gops: &[&[DeviceFrame]],
        qp_idr: u8,
        qp_p: u8,
    ) -> Result<Vec<Vec<EncodedFrame>>> {
        for frames in gops {
            for f in frames.iter() {
                self.check_device(f)?;
            }
        }
        let inputs: Vec<Vec<Input>> = gops
            .iter()
            .map(|g| g.iter().map(|f| Input::Device(*f)).collect())
            .collect();
        self.code_gops(&inputs, qp_idr, qp_p)
    }

    fn code_gops(
        &mut self,
        gops: &[Vec<Input>],
        qp_idr: u8,
        qp_p: u8,
    ) -> Result<Vec<Vec<EncodedFrame>>> {
        for (g, frames) in gops.iter().enumerate() {
            if frames.is_empty() || frames.len() > self.settings.gop as usize {
                return Err(CudaError::InvalidInput(format!(
                    "GOP {g} has {} pictures (expected 1..={})",
                    frames.len(),
                    self.settings.gop
                )));
            }
        }
        if self.pending.is_some() {
            return Err(CudaError::InvalidInput(
                "pictures sent with send_frame are still queued: flush first".into(),
            ));
        }
        let mut out: Vec<Vec<EncodedFrame>> =
            gops.iter().map(|g| Vec::with_capacity(g.len())).collect();
        let base = self.state.idr_count;
        for group_start in (0..gops.len()).step_by(self.max_batch) {
            let group_end = (group_start + self.max_batch).min(gops.len());
            // Lanes by decreasing length, so that the lanes of each step are
            // a prefix of the previous step's (their references stay in place).
            let mut order: Vec<usize> = (group_start..group_end).collect();
            order.sort_by_key(|&g| std::cmp::Reverse(gops[g].len()));
            let longest = gops[order[0]].len();
            let mut pending: Option<(Pending, Vec<usize>)> = None;
            for k in 0..longest {
                let lanes: Vec<usize> = order
                    .iter()
                    .copied()
                    .filter(|&g| gops[g].len() > k)
                    .collect();
                let inputs: Vec<Input> = lanes.iter().map(|&g| gops[g][k]).collect();
                let idr = k == 0;
                let headers: Vec<SliceHeader> = lanes
                    .iter()
                    .map(|&g| SliceHeader {
                        idr,
                        idr_pic_id: base.wrapping_add(g as u32) % 2,
                        frame_num: (k as u32) % (1 << LOG2_MAX_FRAME_NUM),
                        qp: self.slice_qp(if idr { qp_idr } else { qp_p }),
                        disable_deblocking: if self.settings.deblock { 0 } else { 1 },
                    })
                    .collect();
                let reference_next = k + 1 < longest;
                let slot = self.next_slot();
                let p = self.submit(&inputs, slot, &headers, reference_next)?;
                self.last = Some((slot, lanes.len()));
                if let Some((prev, prev_lanes)) = pending.replace((p, lanes)) {
                    let coded = self.collect(prev)?;
                    for (g, f) in prev_lanes.into_iter().zip(coded) {
                        out[g].push(f);
                    }
                }
            }
            if let Some((prev, prev_lanes)) = pending {
                let coded = self.collect(prev)?;
                for (g, f) in prev_lanes.into_iter().zip(coded) {
                    out[g].push(f);
                }
            }
        }
        self.state.idr_count = base.wrapping_add(gops.len() as u32);
        self.state.gop_pos = 0;
        self.last = None;
        Ok(out)
    }

    /// The slice qp of a picture asked for at `qp`: 0 when lossless.
    fn slice_qp(&self, qp: u8) -> i32 {
        if self.settings.lossless {
            0
        } else {
            i32::from(qp.min(51))
        }
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

    fn check_host(&self, f: &HostFrame) -> Result<()> {
        let (w, h) = (self.layout.width, self.layout.height);
        let want = f.format.frame_bytes(w, h);
        if f.data.len() != want {
            return Err(CudaError::InvalidInput(format!(
                "frame has {} bytes (expected {want} for a {w}x{h} {:?} frame)",
                f.data.len(),
                f.format
            )));
        }
        Ok(())
    }

    fn check_device(&self, f: &DeviceFrame) -> Result<()> {
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
        Ok(())
    }

    /// The buffer set of the next step: the other one than the last step's.
    fn next_slot(&self) -> usize {
        self.last.map_or(0, |(s, _)| 1 - s)
    }

    /// Submits the inputs step by step (GOP 1: up to `max_batch` pictures
    /// of one qp per step; otherwise one picture per step), collecting each
    /// step's predecessor while it runs. The last step stays pending.
    fn code_inputs(&mut self, inputs: &[Input], qps: &[u8]) -> Result<Vec<EncodedFrame>> {
        if qps.len() != inputs.len() {
            return Err(CudaError::InvalidInput(format!(
                "{} qps for {} frames (expected one qp per frame)",
                qps.len(),
                inputs.len()
            )));
        }
        let gop = self.settings.gop;
        let mut out = Vec::new();
        let mut i = 0;
        while i < inputs.len() {
            let n = if gop == 1 {
                let limit = self.max_batch.min(inputs.len() - i);
                qps[i..i + limit]
                    .iter()
                    .take_while(|&&q| q == qps[i])
                    .count()
            } else {
                1
            };
            let mut headers = Vec::with_capacity(n);
            for &qp in &qps[i..i + n] {
                let idr = self.state.gop_pos == 0 || self.last.is_none();
                if idr {
                    self.state.frame_num = 0;
                }
                headers.push(SliceHeader {
                    idr,
                    idr_pic_id: self.state.idr_count % 2,
                    frame_num: self.state.frame_num,
                    qp: self.slice_qp(qp),
                    disable_deblocking: if self.settings.deblock { 0 } else { 1 },
                });
                if idr {
                    self.state.idr_count = self.state.idr_count.wrapping_add(1);
                    self.state.gop_pos = 0;
                }
                self.state.frame_num = (self.state.frame_num + 1) % (1 << LOG2_MAX_FRAME_NUM);
                self.state.gop_pos = (self.state.gop_pos + 1) % gop;
            }
            let reference_next = gop > 1 && self.state.gop_pos != 0;
            let slot = self.next_slot();
            let submitted = self.submit(&inputs[i..i + n], slot, &headers, reference_next)?;
            self.last = Some((slot, n));
            if let Some(p) = self.pending.replace(submitted) {
                out.extend(self.collect(p)?);
            }
            i += n;
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

    fn ensure_planes(&mut self, frames: usize) -> Result<()> {
        let bytes = frames * 4 * self.layout.plane_bytes;
        if self.planes.as_ref().is_none_or(|p| p.len() < bytes) {
            self.planes = None;
            self.planes = Some(DeviceBuffer::new(&self.ctx, bytes, "reference planes")?);
        }
        Ok(())
    }

    fn ensure_sync(&mut self, frames: usize) -> Result<()> {
        if self.sync.as_ref().is_none_or(|s| s.frames < frames) {
            self.sync = None;
            self.sync = Some(Sync::new(&self.ctx, &self.stream, &self.layout, frames)?);
        }
        Ok(())
    }

    /// Whether a step of `n` pictures runs its wavefronts (intra
    /// macroblocks, deblocking) as one persistent launch each rather than
    /// one launch per step: for single pictures, whose wavefront steps hold
    /// too little work to pay for a launch. `FRAMEPRESS_CUDA_PERSISTENT=0`
    /// or `1` forces the choice.
    fn persistent(n: usize) -> bool {
        match std::env::var("FRAMEPRESS_CUDA_PERSISTENT").as_deref() {
            Ok("0") => false,
            Ok("1") => true,
            _ => n == 1,
        }
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
            .ok_or_else(|| CudaError::InvalidInput("step buffers missing".into()))
    }

    fn stages(&self) -> Stages<'_> {
        Stages {
            k: &self.kernels,
            stream: &self.stream,
            l: self.layout,
            lossless: self.settings.lossless,
        }
    }

    /// Queues a step on the compute stream, into buffer set `slot`: one
    /// picture per input with its slice header (all IDR or all P; P
    /// pictures predict from the last step's pictures of the same index).
    /// `reference_next`: the pictures will be referenced by the next step.
    fn submit(
        &mut self,
        inputs: &[Input],
        slot: usize,
        headers: &[SliceHeader],
        reference_next: bool,
    ) -> Result<Pending> {
        let n = inputs.len();
        let idr = headers.first().is_none_or(|h| h.idr);
        let qp = headers.first().map_or(26, |h| h.qp);
        let reference = match (idr, self.last) {
            (true, _) => None,
            (false, Some((ref_slot, lanes))) if lanes >= n && ref_slot != slot => Some(ref_slot),
            (false, _) => {
                return Err(CudaError::InvalidInput(
                    "a P picture without its reference picture".into(),
                ))
            }
        };
        self.ensure_slot(slot, n)?;
        self.ensure_sync(n)?;
        if !idr {
            self.ensure_planes(n)?;
        }
        let persistent = Self::persistent(n);
        self.ctx
            .bind_to_thread()
            .map_err(driver("context binding"))?;
        let mut profile = Profiler::from_env();
        if let Some(p) = profile.as_mut() {
            p.mark(&self.stream, "start");
        }
        self.convert_inputs(inputs, slot)?;
        let (words, bits) = slice_headers(headers);
        let bufs = self.slot(slot)?;
        let l = self.layout;
        bufs.rbsp.zero(&self.stream, 0, n * l.rbsp_words * 4)?;
        bufs.header.upload(&self.stream, 0, &words)?;
        bufs.header_bits.upload(&self.stream, 0, &bits)?;
        let counters = match profile {
            Some(_) if idr => {
                let c =
                    DeviceBuffer::new(&self.ctx, 8 * (INTRA_PHASES.len() + 1), "profile counters")?;
                c.zero(&self.stream, 0, c.len())?;
                Some(c)
            }
            _ => None,
        };
        let stages = self.stages();
        let mark = |p: &mut Option<Profiler>, name| {
            if let Some(p) = p.as_mut() {
                p.mark(&self.stream, name)
            }
        };
        mark(&mut profile, "input");
        let use_i4 = self.settings.intra4x4;
        let sync = self
            .sync
            .as_ref()
            .ok_or_else(|| CudaError::InvalidInput("no wavefront flags".into()))?;
        sync.reset(&self.stream, n)?;
        let lossless = self.settings.lossless;
        match reference {
            None if lossless => {
                stages.lossless_intra(bufs, n, false)?;
                mark(&mut profile, "intra");
            }
            None if persistent => {
                stages.intra_persistent(bufs, n, qp, use_i4, false, sync)?;
                mark(&mut profile, "intra");
            }
            None => {
                stages.intra(
                    bufs,
                    n,
                    qp,
                    use_i4,
                    false,
                    counters.as_ref().map_or(0, |c| c.ptr()),
                )?;
                mark(&mut profile, "intra");
            }
            Some(ref_slot) => {
                let refb = self.slot(ref_slot)?;
                let planes = self
                    .planes
                    .as_ref()
                    .ok_or_else(|| CudaError::InvalidInput("no reference planes".into()))?;
                let me = self.settings.me;
                stages.ref_planes(refb, planes, n, me.subpel_rounds > 0)?;
                mark(&mut profile, "reference");
                let search = SearchParams {
                    max_steps: me.max_steps.min(i32::MAX as u32) as i32,
                    subpel_rounds: me.subpel_rounds.min(i32::MAX as u32) as i32,
                    partitions: me.partitions,
                };
                stages.p_search(bufs, refb, planes, n, qp, search)?;
                mark(&mut profile, "search");
                stages.p_inter(bufs, refb, planes, n, qp, me.early_skip, sync)?;
                mark(&mut profile, "inter");
                if lossless {
                    stages.lossless_intra(bufs, n, true)?;
                } else if persistent {
                    stages.intra_persistent(bufs, n, qp, use_i4, true, sync)?;
                } else {
                    stages.intra(bufs, n, qp, use_i4, true, 0)?;
                }
                mark(&mut profile, "intra");
                stages.skip_flags(bufs, n)?;
            }
        }
        stages.cavlc(bufs, n, !idr)?;
        mark(&mut profile, "cavlc");
        stages.pack(bufs, n)?;
        mark(&mut profile, "pack");
        stages.escape(bufs, n, if idr { IDR_NAL_HEADER } else { P_NAL_HEADER })?;
        mark(&mut profile, "nal");
        // The filtered pictures matter to the next P picture and to whoever
        // asked for them: the bitstream of this picture does not depend on them.
        if self.settings.deblock && (self.keep_recon || reference_next) {
            if persistent {
                stages.deblock_persistent(bufs, n, qp, sync)?;
            } else {
                stages.deblock(bufs, n, qp)?;
            }
            mark(&mut profile, "deblock");
        }
        bufs.done.record(&self.stream)?;
        Ok(Pending {
            slot,
            frames: n,
            idr,
            profile: profile.map(|p| (p, counters)),
        })
    }

    /// Waits for a submitted step and brings its results to the host.
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
        self.finish(nals, recons, p.idr)
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

    /// Brings the step's NAL units into page-locked memory over the copy
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
            .ok_or_else(|| CudaError::InvalidInput("step buffers missing".into()))?;
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

    /// The step's reconstructions, cropped to the coded display size.
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

    fn finish(
        &self,
        nals: Vec<Vec<u8>>,
        recons: Vec<YuvFrame>,
        idr: bool,
    ) -> Result<Vec<EncodedFrame>> {
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
                    idr,
                    recon,
                })
            })
            .collect()
    }
}

/// The slice header of each picture as 4 big-endian words (stored as the
/// device's little-endian u32) and its length in bits.
fn slice_headers(headers: &[SliceHeader]) -> (Vec<u8>, Vec<u8>) {
    let mut words = Vec::with_capacity(headers.len() * 16);
    let mut bits = Vec::with_capacity(headers.len() * 4);
    for header in headers {
        let mut w = BitWriter::new();
        if header.idr {
            write_i_slice_header(&mut w, header);
        } else {
            write_p_slice_header(&mut w, header);
        }
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

/// An intra-only H.264 encoder on a CUDA device at constant qp: every picture
/// is an IDR, and the bytes equal those of `avc::encoder::IntraEncoder`.
pub struct CudaIntraEncoder {
    inner: CudaEncoder,
    qp: u8,
}

impl CudaIntraEncoder {
    /// Opens CUDA device `device` and prepares its kernels (compiled by
    /// NVRTC on first use, then taken from the disk cache).
    pub fn new(device: usize, params: StreamParams, qp: u8) -> Result<CudaIntraEncoder> {
        let settings = EncoderSettings {
            gop: 1,
            deblock: false,
            ..EncoderSettings::default()
        };
        Ok(CudaIntraEncoder {
            inner: CudaEncoder::new(device, params, settings)?,
            qp: qp.min(51),
        })
    }

    /// Sets the qp of the pictures coded from now on (0..=51).
    pub fn set_qp(&mut self, qp: u8) {
        self.qp = qp.min(51);
    }

    /// Turns the in-loop deblocking filter (8.7) on or off (off by default).
    pub fn set_deblocking(&mut self, on: bool) {
        self.inner.set_deblocking(on);
    }

    /// Considers Intra4x4 macroblocks (on by default; off as in the
    /// ultrafast preset: Intra16x16 and I_PCM only).
    pub fn set_intra4x4(&mut self, on: bool) {
        self.inner.settings.intra4x4 = on;
    }

    /// Whether encoded frames carry the reconstruction (on by default; off
    /// saves its download, and `recon` is then an empty 0x0 frame).
    pub fn set_keep_recon(&mut self, on: bool) {
        self.inner.set_keep_recon(on);
    }

    /// The most pictures coded in one batch (at least 1).
    pub fn set_max_batch(&mut self, frames: usize) {
        self.inner.set_max_batch(frames);
    }

    pub fn max_batch(&self) -> usize {
        self.inner.max_batch()
    }

    pub fn sps(&self) -> &[u8] {
        self.inner.sps()
    }

    pub fn pps(&self) -> &[u8] {
        self.inner.pps()
    }

    pub fn params(&self) -> &StreamParams {
        self.inner.params()
    }

    /// The device's name, e.g. "NVIDIA H100 80GB HBM3".
    pub fn device_name(&self) -> String {
        self.inner.device_name()
    }

    /// Codes one picture in I420 (luma `width`×`height`, chroma ⌈width/2⌉×⌈height/2⌉).
    pub fn encode(&mut self, src: &YuvFrame) -> Result<EncodedFrame> {
        self.inner.encode(src, self.qp)
    }

    /// Codes pictures in I420, in batches.
    pub fn encode_batch(&mut self, frames: &[YuvFrame]) -> Result<Vec<EncodedFrame>> {
        self.inner
            .encode_batch(frames, &vec![self.qp; frames.len()])
    }

    /// Codes pictures held in host memory in any [`PixelFormat`]; RGB is
    /// converted with the stream's colour space and range.
    pub fn encode_host(&mut self, frames: &[HostFrame]) -> Result<Vec<EncodedFrame>> {
        self.inner.encode_host(frames, &vec![self.qp; frames.len()])
    }

    /// Codes pictures already in the device's memory.
    pub fn encode_device(&mut self, frames: &[DeviceFrame]) -> Result<Vec<EncodedFrame>> {
        self.inner
            .encode_device(frames, &vec![self.qp; frames.len()])
    }
}
