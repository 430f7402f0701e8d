//! Coding of whole pictures in passes that a GPU can mirror: decisions per
//! macroblock that read only the source, the reference and the previous
//! picture's vectors; inter macroblocks coded all at once; intra macroblocks
//! in wavefront order (raster order is one such order).

use crate::analyse::{intra_estimate, lambda};
use crate::frame::YuvFrame;
use rayon::prelude::*;

use crate::inter::{code_inter_mb, InterMb};
use crate::lossless::{code_inter_mb_lossless, code_intra_mb_lossless};
use crate::macroblock::{code_intra_mb_with, MbCoding, MbPos};
use crate::mc::RefPicture;
use crate::me::{search_mb, MbMotion, MeParams};

/// Codes an I picture: every macroblock intra, in raster order.
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
    let mut mbs = Vec::with_capacity(wm * hm);
    for mb_y in 0..hm {
        for mb_x in 0..wm {
            let pos = MbPos {
                mb_x,
                mb_y,
                width_mbs: wm,
            };
            mbs.push(intra_mb(src, recon, pos, qp, intra));
        }
    }
    mbs
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
    let inter: Vec<Option<InterMb>> = (0..n)
        .into_par_iter()
        .map(|addr| {
            let seeds = seeds(prev_mvs, addr, wm, hm);
            let motion = search_mb(&src.y, refp, addr % wm, addr / wm, &seeds, lam, me);
            let intra = intra_estimate(&src.y, addr % wm, addr / wm, lam) < motion.cost;
            (!intra).then(|| inter_mb(src, refp, pos(addr), qp, &motion, lossless))
        })
        .collect();
    let mut mbs: Vec<Option<MbCoding>> = Vec::with_capacity(n);
    for (addr, coded) in inter.into_iter().enumerate() {
        mbs.push(coded.map(|c| {
            c.store(recon, pos(addr));
            c.mb
        }));
    }
    // Pass 3: intra macroblocks in raster (a wavefront) order.
    for (addr, slot) in mbs.iter_mut().enumerate() {
        if slot.is_none() {
            let pos = MbPos {
                mb_x: addr % wm,
                mb_y: addr / wm,
                width_mbs: wm,
            };
            *slot = Some(intra_mb(src, recon, pos, qp, intra));
        }
    }
    mbs.into_iter().flatten().collect()
}

/// The vector each macroblock hands to the next picture's search.
pub fn picture_vectors(mbs: &[MbCoding]) -> Vec<[i16; 2]> {
    mbs.iter().map(|mb| mb.mvs[0]).collect()
}
