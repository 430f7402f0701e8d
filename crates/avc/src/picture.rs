//! Coding of whole pictures in passes that a GPU can mirror: decisions per
//! macroblock that read only the source, the reference and the previous
//! picture's vectors; inter macroblocks coded all at once; intra macroblocks
//! in wavefront order (raster order is one such order).

use crate::analyse::{intra_estimate, lambda};
use crate::frame::{Plane, YuvFrame};
use rayon::prelude::*;

use crate::inter::{code_inter_mb, InterMb};
use crate::lossless::{code_inter_mb_lossless, code_intra_mb_lossless};
use crate::macroblock::{code_intra_mb_with, LumaPred, MbCoding, MbPos};
use crate::mc::RefPicture;
use crate::me::{search_mb, MbMotion, MeParams};

/// Codes an I picture: every macroblock intra, in wavefront order (the
/// result of raster order).
pub fn code_i_picture(
    src: &YuvFrame,
    recon: &mut YuvFrame,
    wm: usize,
    hm: usize,
    qp: i32,
) -> Vec<MbCoding> {
    code_i_picture_with(src, recon, wm, hm, qp, IntraMode::Full)
}

/// [`code_i_picture`] with a choice of intra macroblock types.
pub fn code_i_picture_with(
    src: &YuvFrame,
    recon: &mut YuvFrame,
    wm: usize,
    hm: usize,
    qp: i32,
    intra: IntraMode,
) -> Vec<MbCoding> {
    let mut mbs: Vec<MbCoding> = (0..wm * hm).into_par_iter().map(|_| uncoded()).collect();
    code_intra_wavefront(
        src,
        recon,
        (wm, hm),
        (qp, intra),
        &vec![true; wm * hm],
        &mut mbs,
    );
    mbs
}

/// A placeholder for a macroblock that the intra pass codes.
fn uncoded() -> MbCoding {
    MbCoding {
        luma: LumaPred::Pcm,
        chroma_mode: 0,
        cbp_luma: 0,
        cbp_chroma: 0,
        luma_levels: [[0; 16]; 16],
        luma_dc: [0; 16],
        chroma_dc: [[0; 4]; 2],
        chroma_ac: [[[0; 16]; 4]; 2],
        pcm: None,
        mvs: [[0; 2]; 16],
    }
}

/// Codes every macroblock marked in `todo` as intra, in wavefront order:
/// step `t` holds the macroblocks with `x + 2y = t`, whose left, top-left,
/// top and top-right neighbours (the only reconstructed samples intra
/// prediction reads, 8.3.1.2, 8.3.3, 8.3.4) all belong to earlier steps. The
/// macroblocks of a step are coded in parallel, each in its own
/// [`Neighbourhood`], so the result equals raster order for any thread count.
fn code_intra_wavefront(
    src: &YuvFrame,
    recon: &mut YuvFrame,
    (wm, hm): (usize, usize),
    (qp, intra): (i32, IntraMode),
    todo: &[bool],
    mbs: &mut [MbCoding],
) {
    for t in 0..wm + 2 * (hm - 1) {
        let step: Vec<usize> = (0..hm)
            .filter(|&y| t >= 2 * y && t - 2 * y < wm)
            .map(|y| y * wm + t - 2 * y)
            .filter(|&addr| todo[addr])
            .collect();
        let shared: &YuvFrame = recon;
        let coded: Vec<(usize, MbCoding, MbSamples)> = step
            .into_par_iter()
            .map_init(Neighbourhood::default, |n, addr| {
                n.cut(src, shared, addr % wm, addr / wm, wm);
                let mb = intra_mb(&n.src, &mut n.recon, n.pos, qp, intra);
                (addr, mb, n.coded_samples())
            })
            .collect();
        for (addr, mb, samples) in coded {
            samples.paste(recon, addr % wm, addr / wm);
            mbs[addr] = mb;
        }
    }
}

/// A macroblock with the neighbours it may predict from, cut out of the
/// source and the reconstruction: up to one macroblock column each side
/// and one row above, clipped to the picture, so that the availability the
/// coding derives from `pos` (6.4.8, 6.4.11) is that of the macroblock in
/// the picture. Only what intra coding reads is copied (the rest is zero):
/// the macroblock's source samples, and the reconstructed row above it
/// (top-left, top and top-right samples) and column left of it (8.3.1.2,
/// 8.3.3, 8.3.4). Its planes are reused from one macroblock to the next.
#[derive(Default)]
struct Neighbourhood {
    src: YuvFrame,
    recon: YuvFrame,
    /// The macroblock's position inside the cut-out.
    pos: MbPos,
}

impl Neighbourhood {
    fn cut(&mut self, src: &YuvFrame, recon: &YuvFrame, mb_x: usize, mb_y: usize, wm: usize) {
        let (x0, y0) = (mb_x.saturating_sub(1), mb_y.saturating_sub(1));
        let x1 = (mb_x + 2).min(wm);
        let pos = MbPos {
            mb_x: mb_x - x0,
            mb_y: mb_y - y0,
            width_mbs: x1 - x0,
        };
        let rect = (x0, y0, x1 - x0, mb_y + 1 - y0);
        let own = |n: usize| vec![(pos.mb_x * n, pos.mb_y * n, n, n)];
        let edges = |n: usize| {
            let (lx, ly) = (pos.mb_x * n, pos.mb_y * n);
            let mut parts = Vec::with_capacity(2);
            if ly > 0 {
                parts.push((0, ly - 1, pos.width_mbs * n, 1));
            }
            if lx > 0 {
                parts.push((lx - 1, ly, 1, n));
            }
            parts
        };
        cut_frame(&mut self.src, src, rect, own);
        cut_frame(&mut self.recon, recon, rect, edges);
        self.pos = pos;
    }

    /// The coded macroblock's reconstructed samples.
    fn coded_samples(&self) -> MbSamples {
        let (lx, ly) = (self.pos.mb_x, self.pos.mb_y);
        MbSamples {
            luma: block_of(&self.recon.y, lx * 16, ly * 16),
            cb: block_of(&self.recon.u, lx * 8, ly * 8),
            cr: block_of(&self.recon.v, lx * 8, ly * 8),
        }
    }
}

/// The reconstructed samples of one macroblock, raster order.
struct MbSamples {
    luma: [u8; 256],
    cb: [u8; 64],
    cr: [u8; 64],
}

impl MbSamples {
    /// Writes the samples into the picture at macroblock (mb_x, mb_y).
    fn paste(&self, recon: &mut YuvFrame, mb_x: usize, mb_y: usize) {
        put_block_at(&mut recon.y, mb_x * 16, mb_y * 16, 16, &self.luma);
        put_block_at(&mut recon.u, mb_x * 8, mb_y * 8, 8, &self.cb);
        put_block_at(&mut recon.v, mb_x * 8, mb_y * 8, 8, &self.cr);
    }
}

/// The `N`×`N` block of a plane at (x, y).
fn block_of<const L: usize>(p: &Plane, x: usize, y: usize) -> [u8; L] {
    let n = L.isqrt();
    let mut out = [0u8; L];
    for (r, row) in out.chunks_exact_mut(n).enumerate() {
        row.copy_from_slice(&p.data[(y + r) * p.width + x..][..n]);
    }
    out
}

/// Writes an `n`×`n` block of samples into a plane at (x, y).
fn put_block_at(p: &mut Plane, x: usize, y: usize, n: usize, samples: &[u8]) {
    for (r, row) in samples.chunks_exact(n).enumerate() {
        p.data[(y + r) * p.width + x..][..n].copy_from_slice(row);
    }
}

/// A rectangle `(x, y, width, height)`.
type Rect = (usize, usize, usize, usize);

/// Makes `out` the macroblocks `rect` of a frame, zero but for the
/// rectangles `parts(n)` (relative to the cut-out, for macroblocks `n`
/// samples wide), which are copied.
fn cut_frame(out: &mut YuvFrame, f: &YuvFrame, rect: Rect, parts: impl Fn(usize) -> Vec<Rect>) {
    cut_plane(&mut out.y, &f.y, rect, &parts(16), 16);
    cut_plane(&mut out.u, &f.u, rect, &parts(8), 8);
    cut_plane(&mut out.v, &f.v, rect, &parts(8), 8);
}

fn cut_plane(out: &mut Plane, p: &Plane, (x, y, w, h): Rect, parts: &[Rect], n: usize) {
    out.width = w * n;
    out.height = h * n;
    out.data.clear();
    out.data.resize(w * n * h * n, 0);
    for &(px, py, pw, ph) in parts {
        out.copy_rect((px, py), p, (x * n + px, y * n + py), (pw, ph));
    }
}

fn intra_mb(
    src: &YuvFrame,
    recon: &mut YuvFrame,
    pos: MbPos,
    qp: i32,
    mode: IntraMode,
) -> MbCoding {
    match mode {
        IntraMode::Lossless => code_intra_mb_lossless(src, recon, pos),
        IntraMode::Full => code_intra_mb_with(src, recon, pos, qp, true),
        IntraMode::Without4x4 => code_intra_mb_with(src, recon, pos, qp, false),
    }
}

/// Which intra macroblock types a picture may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntraMode {
    /// Intra4x4, Intra16x16 and I_PCM.
    Full,
    /// Intra16x16 and I_PCM only (faster).
    Without4x4,
    /// Transform-bypass Intra4x4 and I_PCM.
    Lossless,
}

impl IntraMode {
    pub fn new(lossless: bool, i4: bool) -> IntraMode {
        match (lossless, i4) {
            (true, _) => IntraMode::Lossless,
            (false, true) => IntraMode::Full,
            (false, false) => IntraMode::Without4x4,
        }
    }
}

fn inter_mb(
    src: &YuvFrame,
    refp: &RefPicture,
    pos: MbPos,
    qp: i32,
    motion: &MbMotion,
    lossless: bool,
) -> InterMb {
    if lossless {
        code_inter_mb_lossless(src, refp, pos, motion)
    } else {
        code_inter_mb(src, refp, pos, qp, motion)
    }
}

/// Candidate vectors for a macroblock from the previous picture: its
/// co-located vector first (also the predictor of vector costs), then zero
/// and the co-located vectors of its four neighbours.
fn seeds(prev: &[[i16; 2]], addr: usize, wm: usize, hm: usize) -> Vec<[i16; 2]> {
    let (x, y) = (addr % wm, addr / wm);
    let mut out = vec![prev[addr], [0, 0]];
    let around = [
        (x > 0).then(|| addr - 1),
        (y > 0).then(|| addr - wm),
        (x + 1 < wm).then(|| addr + 1),
        (y + 1 < hm).then(|| addr + wm),
    ];
    for n in around.into_iter().flatten() {
        if !out.contains(&prev[n]) {
            out.push(prev[n]);
        }
    }
    out
}

/// What a P picture is predicted from and how it is coded.
pub struct PContext<'a> {
    pub refp: &'a RefPicture,
    /// One vector per macroblock of the previous picture (zero for intra).
    pub prev_mvs: &'a [[i16; 2]],
    pub me: &'a MeParams,
    pub qp: i32,
    /// Intra macroblock types; `Lossless` also makes inter macroblocks lossless.
    pub intra: IntraMode,
}

/// Codes a P picture of `wm`×`hm` macroblocks.
pub fn code_p_picture(
    src: &YuvFrame,
    recon: &mut YuvFrame,
    wm: usize,
    hm: usize,
    ctx: &PContext,
) -> Vec<MbCoding> {
    let PContext {
        refp,
        prev_mvs,
        me,
        qp,
        intra,
    } = *ctx;
    let lossless = intra == IntraMode::Lossless;
    let lam = lambda(qp);
    let n = wm * hm;
    let pos = |addr: usize| MbPos {
        mb_x: addr % wm,
        mb_y: addr / wm,
        width_mbs: wm,
    };
    // Pass 1: motion search, the intra-or-inter choice and the coding of
    // inter macroblocks — each macroblock on its own, so in parallel.
    let (mut mbs, inter): (Vec<MbCoding>, Vec<Option<InterRecon>>) = (0..n)
        .into_par_iter()
        .map(|addr| {
            let seeds = seeds(prev_mvs, addr, wm, hm);
            let motion = search_mb(&src.y, refp, addr % wm, addr / wm, &seeds, lam, me);
            if intra_estimate(&src.y, addr % wm, addr / wm, lam) < motion.cost {
                return (uncoded(), None);
            }
            let c = inter_mb(src, refp, pos(addr), qp, &motion, lossless);
            (c.mb, Some((c.luma, c.chroma)))
        })
        .unzip();
    store_inter_rows(recon, &inter, wm);
    // Pass 3: intra macroblocks in wavefront order.
    let todo: Vec<bool> = inter.iter().map(Option::is_none).collect();
    code_intra_wavefront(src, recon, (wm, hm), (qp, intra), &todo, &mut mbs);
    mbs
}

/// The reconstructed luma and chroma of an inter macroblock.
type InterRecon = ([u8; 256], [[u8; 64]; 2]);

/// Writes the reconstruction of the inter macroblocks into the picture,
/// macroblock rows in parallel.
fn store_inter_rows(recon: &mut YuvFrame, inter: &[Option<InterRecon>], wm: usize) {
    let (yw, cw) = (recon.y.width, recon.u.width);
    recon
        .y
        .data
        .par_chunks_mut(16 * yw)
        .zip(recon.u.data.par_chunks_mut(8 * cw))
        .zip(recon.v.data.par_chunks_mut(8 * cw))
        .zip(inter.par_chunks(wm))
        .for_each(|(((y, u), v), row)| {
            for (x, mb) in row.iter().enumerate() {
                let Some((luma, chroma)) = mb else { continue };
                put_block(y, yw, x * 16, 16, luma);
                put_block(u, cw, x * 8, 8, &chroma[0]);
                put_block(v, cw, x * 8, 8, &chroma[1]);
            }
        });
}

/// Writes an `n`×`n` block at column `x0` of a band of rows `stride` wide.
fn put_block(band: &mut [u8], stride: usize, x0: usize, n: usize, samples: &[u8]) {
    for (r, row) in samples.chunks_exact(n).enumerate() {
        band[r * stride + x0..r * stride + x0 + n].copy_from_slice(row);
    }
}

/// The vector each macroblock hands to the next picture's search.
pub fn picture_vectors(mbs: &[MbCoding]) -> Vec<[i16; 2]> {
    mbs.iter().map(|mb| mb.mvs[0]).collect()
}
