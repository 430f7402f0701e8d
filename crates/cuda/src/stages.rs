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
const MB_RECORD_BYTES: usize = 864;
/// 32-bit words of one macroblock's bit buffer.
const MB_WORDS: usize = MB_MAX_BITS as usize / 32;
/// Warps (macroblocks) per block of the intra kernel (INTRA_WARPS).
const INTRA_WARPS: u32 = 4;
/// Threads of the per-picture scan kernels (SCAN_THREADS, NAL_THREADS).
const SCAN_THREADS: u32 = 1024;
/// nal_unit_type 5 with nal_ref_idc 3 (7.3.1).
const IDR_NAL_HEADER: i32 = (3 << 5) | 5;

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
}

impl Layout {
    pub fn new(p: &StreamParams) -> Layout {
        let (wm, hm) = (p.width_mbs() as usize, p.height_mbs() as usize);
        let mbs = wm * hm;
        let rbsp_bits = SLICE_HEADER_MAX_BITS as usize + mbs * MB_MAX_BITS as usize + 8;
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
        }
    }

    /// Device bytes one picture of a batch takes.
    pub fn per_frame_bytes(&self) -> usize {
        2 * self.frame_bytes
            + self.mbs * (MB_RECORD_BYTES + MB_WORDS * 4 + 8)
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
            done: Event::new(ctx)?,
        })
    }
}

/// Launches the kernels of a batch on one stream.
pub(crate) struct Stages<'a> {
    pub k: &'a EncoderKernels,
    pub stream: &'a CudaStream,
    pub l: Layout,
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

    pub fn intra(&self, bufs: &Buffers, n: usize, qp: i32, prof: u64) -> Result<()> {
        let l = self.l;
        let (wm, hm) = (l.wm as i32, l.hm as i32);
        let nframes = n as i32;
        let frame_bytes = l.frame_bytes as i64;
        let (src, rec, recs) = (bufs.src.ptr(), bufs.rec.ptr(), bufs.recs.ptr());
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

    pub fn cavlc(&self, bufs: &Buffers, n: usize) -> Result<()> {
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
        let mut b = self.stream.launch_builder(&self.k.cavlc);
        b.arg(&recs)
            .arg(&bits)
            .arg(&lens)
            .arg(&src)
            .arg(&wm)
            .arg(&hm)
            .arg(&nframes)
            .arg(&frame_bytes);
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

    pub fn escape(&self, bufs: &Buffers, n: usize) -> Result<()> {
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
            .arg(&IDR_NAL_HEADER);
        // SAFETY: the arguments match nal_escape's parameters.
        unsafe { b.launch(cfg) }.map_err(kernel("nal_escape"))?;
        Ok(())
    }
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
