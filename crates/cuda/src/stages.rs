//! The stages of one batch on the device: buffer layout and kernel launches,
//! in pipeline order (colour → intra wavefront → CAVLC → packing → NAL units).

use std::sync::Arc;

use avc::macroblock::MB_MAX_BITS;
use avc::nal::escaped_len_bound;
use avc::params::{StreamParams, SLICE_HEADER_MAX_BITS};
use cudarc::driver::{CudaContext, CudaStream, LaunchConfig, PushKernelArg};

use crate::buffer::{DeviceBuffer, Event};
use crate::colour::{Coefficients, SourcePlanes};
use crate::error::{kernel, Result};
use crate::kernels::EncoderKernels;
use crate::source::DeviceFrame;

/// Bytes of one `MbRecord` (kernels/common.cu).
pub(crate) const MB_RECORD_BYTES: usize = 880;
/// Bytes of one `MotionRecord` (kernels/inter.cu).
pub(crate) const MOTION_RECORD_BYTES: usize = 28;
/// 32-bit words of one macroblock's bit buffer (MB_WORDS in common.cu): the
/// macroblock_layer, the mb_skip_run before it, and the longer intra mb_type
/// of P slices.
const MB_WORDS: usize = 104;
/// Bits one macroblock may add to a slice in the worst case: its
/// macroblock_layer, up to 4 more bits of an intra mb_type in a P slice, at
/// most 3 bits of mb_skip_run on average, and I_PCM alignment.
const MB_SLICE_BITS: usize = MB_MAX_BITS as usize + 16;
/// Warps (macroblocks) per block of the intra kernel (INTRA_WARPS).
const INTRA_WARPS: u32 = 4;
/// Warps (macroblocks) per block of the P-picture kernels (ME_WARPS).
const ME_WARPS: u32 = 4;
/// Block size of the reference plane kernel (RP_BW x RP_BH).
const RP_BW: u32 = 32;
const RP_BH: u32 = 8;
/// Samples of margin around the reference planes (REF_MARGIN, avc::mc::MARGIN).
const REF_MARGIN: usize = 48;
/// Threads of the per-picture scan kernels (SCAN_THREADS, NAL_THREADS).
const SCAN_THREADS: u32 = 1024;
/// nal_unit_type 5 (IDR slice) with nal_ref_idc 3 (7.3.1).
pub(crate) const IDR_NAL_HEADER: i32 = (3 << 5) | 5;
/// nal_unit_type 1 (non-IDR slice) with nal_ref_idc 3.
pub(crate) const P_NAL_HEADER: i32 = (3 << 5) | 1;

/// The motion search effort the P-picture kernels take (avc::me::MeParams).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SearchParams {
    pub max_steps: i32,
    pub subpel_rounds: i32,
    pub partitions: bool,
}

/// Sizes of the padded pictures and of every per-picture buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    pub width: usize,
    pub height: usize,
    pub wm: usize,
    pub hm: usize,
    /// Bytes of one padded 4:2:0 picture.
    pub frame_bytes: usize,
    pub mbs: usize,
    pub rbsp_words: usize,
    pub out_capacity: usize,
    /// Bytes of one reference plane (with its margin).
    pub plane_bytes: usize,
}

impl Layout {
    pub fn new(p: &StreamParams) -> Layout {
        let (wm, hm) = (p.width_mbs() as usize, p.height_mbs() as usize);
        let mbs = wm * hm;
        let rbsp_bits = SLICE_HEADER_MAX_BITS as usize + mbs * MB_SLICE_BITS + 8;
        let rbsp_words = rbsp_bits.div_ceil(32) + 1;
        Layout {
            width: p.width as usize,
            height: p.height as usize,
            wm,
            hm,
            frame_bytes: wm * 16 * hm * 16 * 3 / 2,
            mbs,
            rbsp_words,
            out_capacity: 1 + escaped_len_bound(rbsp_words * 4),
            plane_bytes: (wm * 16 + 2 * REF_MARGIN) * (hm * 16 + 2 * REF_MARGIN),
        }
    }

    /// Device bytes one picture of a batch takes.
    pub fn per_frame_bytes(&self) -> usize {
        2 * self.frame_bytes
            + self.mbs * (MB_RECORD_BYTES + MOTION_RECORD_BYTES + MB_WORDS * 4 + 9)
            + self.rbsp_words * 4
            + self.out_capacity
            + 32
    }
}

/// The per-batch device buffers, for up to `frames` pictures.
pub(crate) struct Buffers {
    pub frames: usize,
    pub src: DeviceBuffer,
    pub rec: DeviceBuffer,
    pub recs: DeviceBuffer,
    pub bits: DeviceBuffer,
    pub lens: DeviceBuffer,
    pub starts: DeviceBuffer,
    pub header: DeviceBuffer,
    pub header_bits: DeviceBuffer,
    pub rbsp: DeviceBuffer,
    pub rbsp_len: DeviceBuffer,
    pub out: DeviceBuffer,
    pub out_len: DeviceBuffer,
    /// P pictures: the motion of each macroblock, and which are P_Skip.
    pub motion: DeviceBuffer,
    pub skip: DeviceBuffer,
    /// Recorded after the batch's last kernel.
    pub done: Event,
}

impl Buffers {
    pub fn new(ctx: &Arc<CudaContext>, l: &Layout, frames: usize) -> Result<Buffers> {
        let buf = |bytes: usize, what| DeviceBuffer::new(ctx, bytes, what);
        Ok(Buffers {
            frames,
            src: buf(frames * l.frame_bytes, "source pictures")?,
            rec: buf(frames * l.frame_bytes, "reconstructed pictures")?,
            recs: buf(frames * l.mbs * MB_RECORD_BYTES, "macroblock decisions")?,
            bits: buf(frames * l.mbs * MB_WORDS * 4, "macroblock bits")?,
            lens: buf(frames * l.mbs * 4, "macroblock bit counts")?,
            starts: buf(frames * l.mbs * 4, "macroblock offsets")?,
            header: buf(frames * 16, "slice headers")?,
            header_bits: buf(frames * 4, "slice header sizes")?,
            rbsp: buf(frames * l.rbsp_words * 4, "slice payloads")?,
            rbsp_len: buf(frames * 4, "slice payload sizes")?,
            out: buf(frames * l.out_capacity, "NAL units")?,
            out_len: buf(frames * 4, "NAL unit sizes")?,
            motion: buf(frames * l.mbs * MOTION_RECORD_BYTES, "motion records")?,
            skip: buf(frames * l.mbs, "skip flags")?,
            done: Event::new(ctx)?,
        })
    }
}

/// Launches the kernels of a batch on one stream.
pub(crate) struct Stages<'a> {
    pub k: &'a EncoderKernels,
    pub stream: &'a CudaStream,
    pub l: Layout,
    /// Lossless coding (transform bypass) of inter macroblocks.
    pub lossless: bool,
}

impl Stages<'_> {
    /// Converts and pads `frame` into picture `index` of `bufs.src`.
    pub fn colour(
        &self,
        bufs: &Buffers,
        frame: &DeviceFrame,
        index: usize,
        k: &Coefficients,
    ) -> Result<()> {
        let l = self.l;
        let mut planes = SourcePlanes::default();
        for i in 0..frame.format.planes() {
            planes.ptr[i] = frame.planes[i].0;
            planes.pitch[i] = frame.planes[i].1 as i64;
        }
        let format = frame.format.code();
        let (w, h) = (l.width as i32, l.height as i32);
        let dst = bufs.src.at(index * l.frame_bytes);
        let (pw, ph) = ((l.wm * 16) as i32, (l.hm * 16) as i32);
        let threads = (pw * ph) as u32;
        let mut b = self.stream.launch_builder(&self.k.colour);
        b.arg(&planes)
            .arg(&format)
            .arg(&w)
            .arg(&h)
            .arg(k)
            .arg(&dst)
            .arg(&pw)
            .arg(&ph);
        // SAFETY: the arguments match colour_to_yuv420's parameters; `dst` holds a padded picture.
        unsafe { b.launch(LaunchConfig::for_num_elems(threads)) }
            .map_err(kernel("colour_to_yuv420"))?;
        Ok(())
    }

    /// Codes intra macroblocks in wavefront steps: every macroblock, or in
    /// a P picture (`p_mode`) those the inter stage left KIND_PENDING.
    pub fn intra(
        &self,
        bufs: &Buffers,
        n: usize,
        qp: i32,
        use_i4: bool,
        p_mode: bool,
        prof: u64,
    ) -> Result<()> {
        let l = self.l;
        let (wm, hm) = (l.wm as i32, l.hm as i32);
        let nframes = n as i32;
        let frame_bytes = l.frame_bytes as i64;
        let (src, rec, recs) = (bufs.src.ptr(), bufs.rec.ptr(), bufs.recs.ptr());
        let (use_i4, p_mode) = (i32::from(use_i4), i32::from(p_mode));
        for (step, cfg) in wavefront(wm, hm, n) {
            let mut b = self.stream.launch_builder(&self.k.intra);
            b.arg(&src)
                .arg(&rec)
                .arg(&recs)
                .arg(&wm)
                .arg(&hm)
                .arg(&nframes)
                .arg(&frame_bytes)
                .arg(&qp)
                .arg(&step)
                .arg(&use_i4)
                .arg(&p_mode)
                .arg(&prof);
            // SAFETY: the arguments match intra_wavefront's parameters and the
            // buffers hold `n` pictures.
            unsafe { b.launch(cfg) }.map_err(kernel("intra_wavefront"))?;
        }
        Ok(())
    }

    /// Deblocks the reconstructions in place (8.7), in wavefront steps.
    pub fn deblock(&self, bufs: &Buffers, n: usize, qp: i32) -> Result<()> {
        let l = self.l;
        let (wm, hm) = (l.wm as i32, l.hm as i32);
        let nframes = n as i32;
        let frame_bytes = l.frame_bytes as i64;
        let (rec, recs) = (bufs.rec.ptr(), bufs.recs.ptr());
        for (step, cfg) in wavefront(wm, hm, n) {
            let mut b = self.stream.launch_builder(&self.k.deblock);
            b.arg(&rec)
                .arg(&recs)
                .arg(&wm)
                .arg(&hm)
                .arg(&nframes)
                .arg(&frame_bytes)
                .arg(&qp)
                .arg(&step);
            // SAFETY: the arguments match deblock_wavefront's parameters and
            // the buffers hold `n` pictures.
            unsafe { b.launch(cfg) }.map_err(kernel("deblock_wavefront"))?;
        }
        Ok(())
    }

    /// Writes every macroblock's bits; `p_slice` with mb_skip_run from the
    /// skip flags of [`Stages::skip_flags`].
    pub fn cavlc(&self, bufs: &Buffers, n: usize, p_slice: bool) -> Result<()> {
        let l = self.l;
        let (wm, hm, nframes) = (l.wm as i32, l.hm as i32, n as i32);
        let frame_bytes = l.frame_bytes as i64;
        let (recs, bits, lens, src) = (
            bufs.recs.ptr(),
            bufs.bits.ptr(),
            bufs.lens.ptr(),
            bufs.src.ptr(),
        );
        let threads = (l.mbs * n) as u32;
        let cfg = LaunchConfig {
            grid_dim: (threads.div_ceil(128), 1, 1),
            block_dim: (128, 1, 1),
            shared_mem_bytes: 0,
        };
        let skip: u64 = if p_slice { bufs.skip.ptr() } else { 0 };
        let mut b = self.stream.launch_builder(&self.k.cavlc);
        b.arg(&recs)
            .arg(&bits)
            .arg(&lens)
            .arg(&src)
            .arg(&wm)
            .arg(&hm)
            .arg(&nframes)
            .arg(&frame_bytes)
            .arg(&skip);
        // SAFETY: the arguments match cavlc_write_mbs's parameters.
        unsafe { b.launch(cfg) }.map_err(kernel("cavlc_write_mbs"))?;
        Ok(())
    }

    pub fn pack(&self, bufs: &Buffers, n: usize) -> Result<()> {
        let l = self.l;
        let mbs = l.mbs as i32;
        let nframes = n as i32;
        let rbsp_words = l.rbsp_words as i64;
        let (lens, starts, header, header_bits) = (
            bufs.lens.ptr(),
            bufs.starts.ptr(),
            bufs.header.ptr(),
            bufs.header_bits.ptr(),
        );
        let (rbsp, rbsp_len, bits) = (bufs.rbsp.ptr(), bufs.rbsp_len.ptr(), bufs.bits.ptr());
        let cfg = LaunchConfig {
            grid_dim: (n as u32, 1, 1),
            block_dim: (SCAN_THREADS, 1, 1),
            shared_mem_bytes: 0,
        };
        let mut b = self.stream.launch_builder(&self.k.pack_scan);
        b.arg(&lens)
            .arg(&starts)
            .arg(&header)
            .arg(&header_bits)
            .arg(&rbsp)
            .arg(&rbsp_words)
            .arg(&rbsp_len)
            .arg(&mbs);
        // SAFETY: the arguments match pack_scan's parameters.
        unsafe { b.launch(cfg) }.map_err(kernel("pack_scan"))?;
        let warps = 8u32;
        let cfg = LaunchConfig {
            grid_dim: (((l.mbs * n) as u32).div_ceil(warps), 1, 1),
            block_dim: (32, warps, 1),
            shared_mem_bytes: 0,
        };
        let mut b = self.stream.launch_builder(&self.k.pack_bits);
        b.arg(&bits)
            .arg(&lens)
            .arg(&starts)
            .arg(&rbsp)
            .arg(&rbsp_words)
            .arg(&mbs)
            .arg(&nframes);
        // SAFETY: the arguments match pack_bits's parameters.
        unsafe { b.launch(cfg) }.map_err(kernel("pack_bits"))?;
        Ok(())
    }

    /// Escapes each picture's RBSP into a NAL unit with header byte `nal_header`.
    pub fn escape(&self, bufs: &Buffers, n: usize, nal_header: i32) -> Result<()> {
        let l = self.l;
        let rbsp_words = l.rbsp_words as i64;
        let capacity = l.out_capacity as i64;
        let (rbsp, rbsp_len, out, out_len) = (
            bufs.rbsp.ptr(),
            bufs.rbsp_len.ptr(),
            bufs.out.ptr(),
            bufs.out_len.ptr(),
        );
        let cfg = LaunchConfig {
            grid_dim: (n as u32, 1, 1),
            block_dim: (SCAN_THREADS, 1, 1),
            shared_mem_bytes: 0,
        };
        let mut b = self.stream.launch_builder(&self.k.nal_escape);
        b.arg(&rbsp)
            .arg(&rbsp_words)
            .arg(&rbsp_len)
            .arg(&out)
            .arg(&capacity)
            .arg(&out_len)
            .arg(&nal_header);
        // SAFETY: the arguments match nal_escape's parameters.
        unsafe { b.launch(cfg) }.map_err(kernel("nal_escape"))?;
        Ok(())
    }

    /// The reference planes (G, and b, h, j when `half`) of the `n`
    /// reconstructions in `reference` into `planes` (4 planes per picture).
    pub fn ref_planes(
        &self,
        reference: &Buffers,
        planes: &DeviceBuffer,
        n: usize,
        half: bool,
    ) -> Result<()> {
        let l = self.l;
        let (wm, hm) = (l.wm as i32, l.hm as i32);
        let frame_bytes = l.frame_bytes as i64;
        let plane_bytes = l.plane_bytes as i64;
        let (rec, out) = (reference.rec.ptr(), planes.ptr());
        let half = i32::from(half);
        let (pw, ph) = (
            (l.wm * 16 + 2 * REF_MARGIN) as u32,
            (l.hm * 16 + 2 * REF_MARGIN) as u32,
        );
        let cfg = LaunchConfig {
            grid_dim: (pw.div_ceil(RP_BW), ph.div_ceil(RP_BH), n as u32),
            block_dim: (RP_BW, RP_BH, 1),
            shared_mem_bytes: 0,
        };
        let mut b = self.stream.launch_builder(&self.k.ref_planes);
        b.arg(&rec)
            .arg(&out)
            .arg(&wm)
            .arg(&hm)
            .arg(&frame_bytes)
            .arg(&plane_bytes)
            .arg(&half);
        // SAFETY: the arguments match ref_planes's parameters; `planes` holds 4 planes per picture.
        unsafe { b.launch(cfg) }.map_err(kernel("ref_planes"))?;
        Ok(())
    }

    fn per_mb_warps(&self, n: usize) -> LaunchConfig {
        LaunchConfig {
            grid_dim: (((self.l.mbs * n) as u32).div_ceil(ME_WARPS), 1, 1),
            block_dim: (32, ME_WARPS, 1),
            shared_mem_bytes: 0,
        }
    }

    /// Motion search and the intra-or-inter choice of every macroblock,
    /// seeded by the previous picture's records.
    pub fn p_search(
        &self,
        bufs: &Buffers,
        prev: &Buffers,
        planes: &DeviceBuffer,
        n: usize,
        qp: i32,
        me: SearchParams,
    ) -> Result<()> {
        let l = self.l;
        let (wm, hm, nframes) = (l.wm as i32, l.hm as i32, n as i32);
        let (frame_bytes, plane_bytes) = (l.frame_bytes as i64, l.plane_bytes as i64);
        let (src, pl, prev_recs, motion) = (
            bufs.src.ptr(),
            planes.ptr(),
            prev.recs.ptr(),
            bufs.motion.ptr(),
        );
        let partitions = i32::from(me.partitions);
        let mut b = self.stream.launch_builder(&self.k.p_search);
        b.arg(&src)
            .arg(&pl)
            .arg(&prev_recs)
            .arg(&motion)
            .arg(&wm)
            .arg(&hm)
            .arg(&nframes)
            .arg(&frame_bytes)
            .arg(&plane_bytes)
            .arg(&qp)
            .arg(&me.max_steps)
            .arg(&me.subpel_rounds)
            .arg(&partitions);
        // SAFETY: the arguments match p_search's parameters.
        unsafe { b.launch(self.per_mb_warps(n)) }.map_err(kernel("p_search"))?;
        Ok(())
    }

    /// The persistent form of [`Stages::intra`]: one launch, warps taking
    /// macroblocks in wavefront order and waiting on their neighbours' flags.
    pub fn intra_persistent(
        &self,
        bufs: &Buffers,
        n: usize,
        qp: i32,
        use_i4: bool,
        p_mode: bool,
        sync: &Sync,
    ) -> Result<()> {
        let l = self.l;
        let (wm, hm, nframes) = (l.wm as i32, l.hm as i32, n as i32);
        let frame_bytes = l.frame_bytes as i64;
        let (src, rec, recs) = (bufs.src.ptr(), bufs.rec.ptr(), bufs.recs.ptr());
        let (use_i4, p_mode) = (i32::from(use_i4), i32::from(p_mode));
        let (flags, ticket, step_off, steps) = (
            sync.flags(),
            sync.ticket(0),
            sync.step_off.ptr(),
            sync.steps,
        );
        let mut b = self.stream.launch_builder(&self.k.intra_persistent);
        b.arg(&src)
            .arg(&rec)
            .arg(&recs)
            .arg(&wm)
            .arg(&hm)
            .arg(&nframes)
            .arg(&frame_bytes)
            .arg(&qp)
            .arg(&use_i4)
            .arg(&p_mode)
            .arg(&flags)
            .arg(&ticket)
            .arg(&step_off)
            .arg(&steps);
        // SAFETY: the arguments match intra_persistent's parameters; `sync`
        // was zeroed (or its flags set by p_inter) on this stream.
        unsafe { b.launch(persistent_config(l.mbs * n)) }.map_err(kernel("intra_persistent"))?;
        Ok(())
    }

    /// The persistent form of [`Stages::deblock`], after [`Stages::intra_persistent`]
    /// (or with every flag at 1).
    pub fn deblock_persistent(&self, bufs: &Buffers, n: usize, qp: i32, sync: &Sync) -> Result<()> {
        let l = self.l;
        let (wm, hm, nframes) = (l.wm as i32, l.hm as i32, n as i32);
        let frame_bytes = l.frame_bytes as i64;
        let (rec, recs) = (bufs.rec.ptr(), bufs.recs.ptr());
        let (flags, ticket, step_off, steps) = (
            sync.flags(),
            sync.ticket(1),
            sync.step_off.ptr(),
            sync.steps,
        );
        let mut b = self.stream.launch_builder(&self.k.deblock_persistent);
        b.arg(&rec)
            .arg(&recs)
            .arg(&wm)
            .arg(&hm)
            .arg(&nframes)
            .arg(&frame_bytes)
            .arg(&qp)
            .arg(&flags)
            .arg(&ticket)
            .arg(&step_off)
            .arg(&steps);
        // SAFETY: the arguments match deblock_persistent's parameters.
        unsafe { b.launch(persistent_config(l.mbs * n)) }.map_err(kernel("deblock_persistent"))?;
        Ok(())
    }

    /// Codes the inter macroblocks (and marks the intra ones for the
    /// wavefront), trying first the P_Skip vector predicted from the
    /// reference's records (avc::picture::decide_p_mb).
    #[allow(clippy::too_many_arguments)]
    pub fn p_inter(
        &self,
        bufs: &Buffers,
        reference: &Buffers,
        planes: &DeviceBuffer,
        n: usize,
        qp: i32,
        early_skip: bool,
        sync: &Sync,
    ) -> Result<()> {
        let l = self.l;
        let (wm, hm, nframes) = (l.wm as i32, l.hm as i32, n as i32);
        let (frame_bytes, plane_bytes) = (l.frame_bytes as i64, l.plane_bytes as i64);
        let (lossless, early_skip) = (i32::from(self.lossless), i32::from(early_skip));
        let (src, rec, refp, pl) = (
            bufs.src.ptr(),
            bufs.rec.ptr(),
            reference.rec.ptr(),
            planes.ptr(),
        );
        let (motion, prev, recs, flags) = (
            bufs.motion.ptr(),
            reference.recs.ptr(),
            bufs.recs.ptr(),
            sync.flags(),
        );
        let mut b = self.stream.launch_builder(&self.k.p_inter);
        b.arg(&src)
            .arg(&rec)
            .arg(&refp)
            .arg(&pl)
            .arg(&motion)
            .arg(&prev)
            .arg(&recs)
            .arg(&wm)
            .arg(&hm)
            .arg(&nframes)
            .arg(&frame_bytes)
            .arg(&plane_bytes)
            .arg(&qp)
            .arg(&flags)
            .arg(&lossless)
            .arg(&early_skip);
        // SAFETY: the arguments match p_inter's parameters.
        unsafe { b.launch(self.per_mb_warps(n)) }.map_err(kernel("p_inter"))?;
        Ok(())
    }

    /// Lossless intra macroblocks, all at once (their neighbours are source
    /// samples): every macroblock of IDR pictures, or with `p_mode` those of
    /// P pictures decided intra.
    pub fn lossless_intra(&self, bufs: &Buffers, n: usize, p_mode: bool) -> Result<()> {
        let l = self.l;
        let (wm, hm, nframes) = (l.wm as i32, l.hm as i32, n as i32);
        let frame_bytes = l.frame_bytes as i64;
        let (src, rec, recs) = (bufs.src.ptr(), bufs.rec.ptr(), bufs.recs.ptr());
        let p_mode = i32::from(p_mode);
        let mut b = self.stream.launch_builder(&self.k.lossless_intra);
        b.arg(&src)
            .arg(&rec)
            .arg(&recs)
            .arg(&wm)
            .arg(&hm)
            .arg(&nframes)
            .arg(&frame_bytes)
            .arg(&p_mode);
        // SAFETY: the arguments match lossless_intra's parameters and the
        // buffers hold `n` pictures.
        unsafe { b.launch(self.per_mb_warps(n)) }.map_err(kernel("lossless_intra"))?;
        Ok(())
    }

    /// Which macroblocks of the P pictures are P_Skip.
    pub fn skip_flags(&self, bufs: &Buffers, n: usize) -> Result<()> {
        let l = self.l;
        let (wm, hm, nframes) = (l.wm as i32, l.hm as i32, n as i32);
        let (recs, skip) = (bufs.recs.ptr(), bufs.skip.ptr());
        let threads = (l.mbs * n) as u32;
        let cfg = LaunchConfig {
            grid_dim: (threads.div_ceil(128), 1, 1),
            block_dim: (128, 1, 1),
            shared_mem_bytes: 0,
        };
        let mut b = self.stream.launch_builder(&self.k.p_skip_flags);
        b.arg(&recs).arg(&skip).arg(&wm).arg(&hm).arg(&nframes);
        // SAFETY: the arguments match p_skip_flags's parameters.
        unsafe { b.launch(cfg) }.map_err(kernel("p_skip_flags"))?;
        Ok(())
    }
}

/// Blocks of a persistent kernel over `mbs` macroblocks: enough to give
/// each a warp, at most 2048 (blocks beyond those resident start late and
/// find no macroblock left).
fn persistent_config(mbs: usize) -> LaunchConfig {
    LaunchConfig {
        grid_dim: ((mbs as u32).div_ceil(INTRA_WARPS).clamp(1, 2048), 1, 1),
        block_dim: (32, INTRA_WARPS, 1),
        shared_mem_bytes: 0,
    }
}

/// What the persistent kernels of a step share: a flag per macroblock, two
/// ticket counters, and the wavefront's step offsets.
pub(crate) struct Sync {
    /// `frames` x mbs flags, then the two counters.
    pub buf: DeviceBuffer,
    pub frames: usize,
    mbs: usize,
    /// step_off[s]: macroblocks of one picture in the steps before s.
    pub step_off: DeviceBuffer,
    pub steps: i32,
}

impl Sync {
    pub fn new(
        ctx: &Arc<CudaContext>,
        stream: &CudaStream,
        l: &Layout,
        frames: usize,
    ) -> Result<Sync> {
        let buf = DeviceBuffer::new(ctx, (frames * l.mbs + 2) * 4, "wavefront flags")?;
        let (wm, hm) = (l.wm as i32, l.hm as i32);
        let mut off = vec![0u32];
        for (_, count) in wavefront_counts(wm, hm) {
            off.push(off.last().copied().unwrap_or(0) + count);
        }
        let steps = (off.len() - 1) as i32;
        let bytes: Vec<u8> = off.iter().flat_map(|v| v.to_le_bytes()).collect();
        let step_off = DeviceBuffer::new(ctx, bytes.len(), "wavefront steps")?;
        step_off.upload(stream, 0, &bytes)?;
        Ok(Sync {
            buf,
            frames,
            mbs: l.mbs,
            step_off,
            steps,
        })
    }

    /// Zeroes the flags of `n` pictures and the counters.
    pub fn reset(&self, stream: &CudaStream, n: usize) -> Result<()> {
        self.buf.zero(stream, 0, n * self.mbs * 4)?;
        self.buf.zero(stream, self.frames * self.mbs * 4, 8)
    }

    pub fn flags(&self) -> u64 {
        self.buf.ptr()
    }

    pub fn ticket(&self, k: usize) -> u64 {
        self.buf.at((self.frames * self.mbs + k) * 4)
    }
}

/// Every step s of a wavefront over `wm`x`hm` macroblocks (x + 2y = s)
/// with its macroblock count, 0 included (one macroblock wide, odd steps
/// hold none).
fn wavefront_counts(wm: i32, hm: i32) -> impl Iterator<Item = (i32, u32)> {
    let steps = (wm - 1) + 2 * (hm - 1) + 1;
    (0..steps).map(move |step| {
        let y_min = if step > wm - 1 {
            (step - (wm - 1) + 1) / 2
        } else {
            0
        };
        let y_max = (step / 2).min(hm - 1);
        (step, (y_max - y_min + 1).max(0) as u32)
    })
}

/// The steps of a wavefront over `wm`x`hm` macroblocks of `n` pictures:
/// step s holds every macroblock (x, y) with x + 2y = s; one warp each,
/// INTRA_WARPS warps per block.
fn wavefront(wm: i32, hm: i32, n: usize) -> impl Iterator<Item = (i32, LaunchConfig)> {
    let steps = (wm - 1) + 2 * (hm - 1) + 1;
    (0..steps).filter_map(move |step| {
        let y_min = if step > wm - 1 {
            (step - (wm - 1) + 1) / 2
        } else {
            0
        };
        let y_max = (step / 2).min(hm - 1);
        let count = (y_max - y_min + 1).max(0) as u32;
        (count > 0).then(|| {
            let cfg = LaunchConfig {
                grid_dim: ((count * n as u32).div_ceil(INTRA_WARPS), 1, 1),
                block_dim: (32, INTRA_WARPS, 1),
                shared_mem_bytes: 0,
            };
            (step, cfg)
        })
    })
}
