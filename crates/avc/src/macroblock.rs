//! Intra macroblock coding: prediction, transform, quantisation and
//! reconstruction of one macroblock (8.3, 8.5), the choice between Intra4x4,
//! Intra16x16 and I_PCM, and the 3200-bit bound (A.3.1 (n), A.3.2 (j)).
//!
//! A macroblock reads only its source samples and the reconstructed samples
//! of its left, top and top-right neighbours, so macroblocks can be coded in
//! raster or wavefront order with the same result.

use crate::analyse::{best_chroma_mode, best_i16_mode, best_i4_mode, lambda, I4_MB_BITS};
use crate::bits::ue_len;
use crate::cavlc::{held_block_bits_bound, CoeffTokenTable, QuickBound, TightBound};
use crate::frame::{Plane, YuvFrame};
use crate::intra::{predict16x16_u8, predict_chroma_u8, Availability, Edge4, EdgeN};
use crate::nonzero::{ac_levels_16x16, chroma_levels, ChromaLevels, Levels16};
use crate::recon_row::{dequant_add_row, dequant_add_square};
use crate::syntax::{
    i16_mb_type, intra_cbp_code_num, Partition, MB_TYPE_I_NXN, MB_TYPE_I_PCM, P_SLICE_INTRA_OFFSET,
};
pub(crate) use crate::transform::dequant4x4;
use crate::transform::{
    chroma_qp, dequant_add_columns_dc, forward_quant4x4, forward_quant_chroma_dc_with,
    forward_quant_luma_dc, inverse4x4, inverse_add_small, inverse_chroma_dc, inverse_luma_dc,
    Deadzone, Quantiser, ZIGZAG_4X4,
};

/// Largest macroblock_layer() in bits (A.3.1 (n), A.3.2 (j): 128 + RawMbBits
/// with RawMbBits = 256·8 + 2·64·8 for 8-bit 4:2:0).
pub const MB_MAX_BITS: u32 = 3200;

/// How the luma of a macroblock is predicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LumaPred {
    /// Intra_4x4 with the mode of each block, in luma4x4BlkIdx order.
    I4([u8; 16]),
    /// Intra_16x16 with its mode.
    I16(u8),
    /// I_PCM: samples sent as they are.
    Pcm,
    /// Inter prediction from the reference picture (P slices only).
    Inter(Partition),
}

impl LumaPred {
    pub fn is_intra(self) -> bool {
        !matches!(self, LumaPred::Inter(_))
    }
}

/// Everything the syntax pass needs to write one macroblock.
#[derive(Debug, Clone)]
pub struct MbCoding {
    pub luma: LumaPred,
    pub chroma_mode: u8,
    /// CodedBlockPatternLuma (bit per 8×8) and CodedBlockPatternChroma (0..2).
    pub cbp_luma: u8,
    pub cbp_chroma: u8,
    /// The levels, held apart so that the many macroblocks without any
    /// (P_Skip and other bare ones) stay small; `None` means all zero.
    pub levels: Option<Box<MbLevels>>,
    /// I_PCM samples: 256 luma then 64 Cb and 64 Cr, raster order.
    pub pcm: Option<Box<[u8; 384]>>,
    /// Motion vector of each 4×4 luma block (luma4x4BlkIdx order) of an
    /// inter macroblock, quarter samples; zero for intra macroblocks.
    pub mvs: [[i16; 2]; 16],
}

/// The transform coefficient levels of a macroblock (7.3.5.3), held as
/// 16-bit values: at 8 bits per sample every level lies in −2^15..2^15 − 1
/// (7.4.5.3.2 bounds the coded ones; the transform's largest, an Intra16x16
/// DC level at qp 0, is below 7 000), and half the bytes to write and read
/// back matter (a 1080p picture holds thousands of these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MbLevels {
    /// Luma levels per luma4x4BlkIdx in scan order. For Intra16x16 index 0 is unused.
    pub luma: [[i16; 16]; 16],
    /// Intra16x16 DC levels in scan order.
    pub luma_dc: [i16; 16],
    /// Chroma DC levels [Cb, Cr], in raster order of the 2×2 blocks (8.5.11.1).
    pub chroma_dc: [[i16; 4]; 2],
    /// Chroma AC levels by plane, block and scan position; index 0 unused.
    pub chroma_ac: [[[i16; 16]; 4]; 2],
}

/// A block of levels as [`MbLevels`] holds it. Beyond the 16-bit range
/// (never reached, see there) a level saturates, which keeps it beyond what
/// CAVLC codes, so the macroblock still falls back to I_PCM.
pub fn narrow<const N: usize>(levels: [i32; N]) -> [i16; N] {
    levels.map(|v| v.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16)
}

impl MbLevels {
    /// Every level zero.
    pub const ZERO: MbLevels = MbLevels {
        luma: [[0; 16]; 16],
        luma_dc: [0; 16],
        chroma_dc: [[0; 4]; 2],
        chroma_ac: [[[0; 16]; 4]; 2],
    };

    /// Whether every level is zero.
    pub fn is_zero(&self) -> bool {
        let none = |b: &[i16]| b.iter().all(|&v| v == 0);
        self.luma.iter().all(|b| none(b))
            && none(&self.luma_dc)
            && self.chroma_dc.iter().all(|b| none(b))
            && self.chroma_ac.iter().flatten().all(|b| none(b))
    }

    /// The levels as a macroblock holds them: `None` when all are zero.
    pub fn held(self) -> Option<Box<MbLevels>> {
        (!self.is_zero()).then(|| crate::spare::boxed(self))
    }

    /// [`MbLevels::held`] of a macroblock without Intra16x16 DC levels.
    pub fn held_without_dc(
        luma: [[i16; 16]; 16],
        chroma_dc: [[i32; 4]; 2],
        chroma_ac: [[[i16; 16]; 4]; 2],
    ) -> Option<Box<MbLevels>> {
        MbLevels::without_dc(luma, chroma_dc, chroma_ac).held()
    }

    /// The levels of a macroblock without a luma DC block (Intra4x4, inter).
    pub fn without_dc(
        luma: [[i16; 16]; 16],
        chroma_dc: [[i32; 4]; 2],
        chroma_ac: [[[i16; 16]; 4]; 2],
    ) -> MbLevels {
        MbLevels {
            luma,
            luma_dc: [0; 16],
            chroma_dc: chroma_dc.map(narrow),
            chroma_ac,
        }
    }
}

impl MbCoding {
    /// The macroblock's levels (all zero where it holds none).
    pub fn levels(&self) -> &MbLevels {
        self.levels.as_deref().unwrap_or(&MbLevels::ZERO)
    }

    /// The macroblock's levels, to change (made all zero where it held none).
    pub fn levels_mut(&mut self) -> &mut MbLevels {
        self.levels.get_or_insert_with(|| Box::new(MbLevels::ZERO))
    }
}

/// Position of the macroblock and the picture's width in macroblocks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MbPos {
    pub mb_x: usize,
    pub mb_y: usize,
    pub width_mbs: usize,
}

/// Top-left sample of 4×4 luma block `blk` inside its macroblock (6.4.3).
pub const fn luma_block_xy(blk: usize) -> (usize, usize) {
    if blk < 16 {
        let (x, y) = LUMA_BLOCK_XY[blk];
        return (x as usize, y as usize);
    }
    block_xy_of(blk)
}

/// The position rule of [`luma_block_xy`] worked out.
const fn block_xy_of(blk: usize) -> (usize, usize) {
    let x = (blk / 4 % 2) * 8 + (blk % 4 % 2) * 4;
    let y = (blk / 4 / 2) * 8 + (blk % 4 / 2) * 4;
    (x, y)
}

/// [`luma_block_xy`] of each luma4x4BlkIdx, looked up rather than worked out
/// in the per-block loops.
const LUMA_BLOCK_XY: [(u8, u8); 16] = {
    let mut table = [(0u8, 0u8); 16];
    let mut blk = 0;
    while blk < 16 {
        let (x, y) = block_xy_of(blk);
        table[blk] = (x as u8, y as u8);
        blk += 1;
    }
    table
};

/// luma4x4BlkIdx of the block whose top-left sample is (x, y) in the macroblock.
pub const fn luma_block_at(x: usize, y: usize) -> usize {
    (y / 8) * 8 + (x / 8) * 4 + (y % 8 / 4) * 2 + (x % 8 / 4)
}

/// Whether the 4×4 block's top-right neighbour has been decoded (6.4.11.4).
fn block_top_right_available(blk: usize, pos: MbPos) -> bool {
    let (x, y) = luma_block_xy(blk);
    if y == 0 {
        if x < 12 {
            pos.mb_y > 0
        } else {
            pos.mb_y > 0 && pos.mb_x + 1 < pos.width_mbs
        }
    } else if x == 12 {
        false
    } else {
        luma_block_at(x + 4, y - 4) < blk
    }
}

pub(crate) fn block_availability(blk: usize, pos: MbPos) -> Availability {
    let (x, y) = luma_block_xy(blk);
    let left = x > 0 || pos.mb_x > 0;
    let top = y > 0 || pos.mb_y > 0;
    Availability {
        left,
        top,
        top_left: left && top,
        top_right: block_top_right_available(blk, pos),
    }
}

pub(crate) fn mb_availability(pos: MbPos) -> Availability {
    let left = pos.mb_x > 0;
    let top = pos.mb_y > 0;
    Availability {
        left,
        top,
        top_left: left && top,
        top_right: top && pos.mb_x + 1 < pos.width_mbs,
    }
}

/// Reads an N×N block of a plane into i32s.
pub(crate) fn load_block<const L: usize>(
    plane: &Plane,
    x0: usize,
    y0: usize,
    n: usize,
) -> [i32; L] {
    let mut out = [0i32; L];
    for (r, dst) in out.chunks_exact_mut(n).enumerate() {
        let row = &plane.data[(y0 + r) * plane.width + x0..][..n];
        for (d, &v) in dst.iter_mut().zip(row) {
            *d = i32::from(v);
        }
    }
    out
}

/// The 4×4 block at (bx, by) of a raster block `stride` values wide.
#[inline]
pub(crate) fn sub_block<T: Copy + Into<i32>>(
    src: &[T],
    stride: usize,
    bx: usize,
    by: usize,
) -> [i32; 16] {
    let mut out = [0i32; 16];
    for (r, row) in out.chunks_exact_mut(4).enumerate() {
        for (d, &v) in row.iter_mut().zip(&src[(by + r) * stride + bx..][..4]) {
            *d = v.into();
        }
    }
    out
}

pub(crate) fn store_block(plane: &mut Plane, x0: usize, y0: usize, n: usize, samples: &[u8]) {
    let w = plane.width;
    if n > 0
        && x0 + n <= w
        && (y0 + n - 1) * w + x0 + n <= plane.data.len()
        && samples.len() >= n * n
    {
        for y in 0..n {
            // SAFETY: row y0 + y holds columns x0..x0 + n of the plane and
            // samples y·n..y·n + n exist (both checked above); the two
            // slices are distinct borrows.
            unsafe {
                let to = plane.data.as_mut_ptr().add((y0 + y) * w + x0);
                std::ptr::copy_nonoverlapping(samples.as_ptr().add(y * n), to, n);
            }
        }
        return;
    }
    for y in 0..n {
        let row = (y0 + y) * plane.width + x0;
        plane.data[row..row + n].copy_from_slice(&samples[y * n..y * n + n]);
    }
}

/// Writes a 4×4 block at (bx, by) into a small raster buffer.
pub(crate) fn put4x4(dst: &mut [u8], stride: usize, bx: usize, by: usize, samples: &[u8; 16]) {
    for (y, row) in samples.chunks_exact(4).enumerate() {
        let at = (by + y) * stride + bx;
        dst[at..at + 4].copy_from_slice(row);
    }
}

#[inline]
pub(crate) fn clip_pixel(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

/// Transform and quantise a 4×4 residual; returns raster levels.
pub(crate) fn quantised_residual(
    src: &[i32],
    pred: &[i32],
    qp: i32,
    skip_dc: bool,
    dz: Deadzone,
) -> ([i32; 16], i32) {
    let residual: [i32; 16] = std::array::from_fn(|i| src[i] - pred[i]);
    forward_quant4x4(&residual, qp, skip_dc, dz)
}

pub(crate) fn to_scan(raster: &[i32; 16]) -> [i32; 16] {
    std::array::from_fn(|k| raster[ZIGZAG_4X4[k]])
}

/// Adds a reconstructed residual to a prediction; `None` if the residual
/// broke the range rule of 8.5.12.
pub(crate) fn reconstruct(d: &[i32; 16], pred: &[i32; 16]) -> Option<[u8; 16]> {
    if d[1..].iter().all(|&v| v == 0) && d[0].unsigned_abs() <= DC_ONLY_MAX {
        // A DC-only block: both passes of 8.5.12.2 spread d[0] unchanged, so
        // every residual sample is (d[0] + 32) >> 6, within range for |d[0]|
        // up to 2600 (as [`inverse4x4`] finds).
        let r = (d[0] + 32) >> 6;
        return Some(std::array::from_fn(|i| clip_pixel(pred[i] + r)));
    }
    if d.iter().all(|v| v.unsigned_abs() <= 2600) {
        return Some(inverse_add_small(d, pred));
    }
    let r = inverse4x4(d)?;
    Some(std::array::from_fn(|i| clip_pixel(pred[i] + r[i])))
}

/// An Intra4x4 candidate: levels, modes and its reconstructed luma.
struct I4Result {
    modes: [u8; 16],
    levels: [[i32; 16]; 16],
    recon: [u8; 256],
    cost: u32,
    valid: bool,
}

/// Codes the luma as Intra4x4, block by block, reconstructing into `recon`
/// (each block predicts from the ones before it, 8.3.1).
fn code_i4(src: &[i32; 256], recon: &mut Plane, pos: MbPos, qp: i32) -> I4Result {
    let (x0, y0) = (pos.mb_x * 16, pos.mb_y * 16);
    let lam = lambda(qp);
    let mut out = I4Result {
        modes: [0; 16],
        levels: [[0; 16]; 16],
        recon: [0; 256],
        cost: lam * I4_MB_BITS,
        valid: true,
    };
    for blk in 0..16 {
        let (bx, by) = luma_block_xy(blk);
        let edge = Edge4::gather(
            &recon.data,
            recon.width,
            x0 + bx,
            y0 + by,
            block_availability(blk, pos),
        );
        let s = sub_block(src, 16, bx, by);
        let (mode, cost, pred) = best_i4_mode(&s, &edge, lam);
        let (levels, _) = quantised_residual(&s, &pred, qp, false, Deadzone::Intra);
        let samples = match reconstruct(&dequant4x4(&levels, qp, false), &pred) {
            Some(v) => v,
            None => {
                out.valid = false;
                std::array::from_fn(|i| clip_pixel(pred[i]))
            }
        };
        store_block(recon, x0 + bx, y0 + by, 4, &samples);
        put4x4(&mut out.recon, 16, bx, by, &samples);
        out.modes[blk] = mode;
        out.levels[blk] = to_scan(&levels);
        out.cost += cost;
    }
    out
}

/// An Intra16x16 candidate.
struct I16Result {
    ac: [[i16; 16]; 16],
    /// Bit 4·row + column set where that block has AC levels.
    with_ac: u16,
    dc: [i32; 16],
    recon: [u8; 256],
    valid: bool,
}

/// Codes the luma as Intra16x16 with `mode` (8.3.3, 8.5.10); `src` holds
/// the macroblock's samples from its first one on, rows `stride` apart.
fn code_i16(src: &[u8], stride: usize, edge: &EdgeN<16>, mode: u8, qp: i32) -> I16Result {
    let pred = predict16x16_u8(mode, edge);
    let quant = Quantiser::new(qp, Deadzone::Intra);
    // Every block's AC levels and DC coefficient (its residual sum) from one
    // transform of the macroblock.
    let (levels, dc_spatial) = ac_levels_16x16(&quant, src, stride, &pred);
    let with_ac = levels.nonzero;
    let dc_levels = forward_quant_luma_dc(&dc_spatial, qp);
    let mut out = I16Result {
        ac: [[0; 16]; 16],
        with_ac,
        dc: to_scan(&dc_levels),
        recon: [0; 256],
        valid: true,
    };
    let dc_y = inverse_luma_dc(&dc_levels, qp);
    out.valid = dc_y.is_some();
    let dc_y = dc_y.unwrap_or([0; 16]);
    // Blocks without AC levels: every residual sample is (dc + 32) >> 6, as
    // in [`reconstruct`] (the AC scan stays all zero). All blocks are made
    // so at once; the others are then reconstructed over it.
    add_dc_16x16(&mut out.recon, &pred, &dc_y.map(|dc| (dc + 32) >> 6));
    // The blocks left: those with AC levels or a DC beyond the short way's
    // bound (bit 4·row + column).
    let rest = with_ac | dc_beyond(&dc_y, DC_ONLY_MAX);
    for i in BitIter(with_ac) {
        out.ac[luma_block_at(4 * (i % 4), 4 * (i / 4))] = levels.scan(i % 4, i / 4);
    }
    for ly in 0..4 {
        // A row of four blocks at once (those without AC levels come out as
        // above), else each block left on its own.
        let row_rest = (rest >> (4 * ly)) & 15;
        let at = ly * 64;
        let dc_row = [0, 1, 2, 3].map(|lx| dc_y[4 * ly + lx]);
        if row_rest == 0
            || dequant_add_row(
                levels.row(ly),
                15,
                dc_row,
                qp,
                (&pred[at..], 16),
                (&mut out.recon[at..], 16),
            )
        {
            continue;
        }
        for lx in BitIter(row_rest) {
            out.valid &= reconstruct_luma_block(
                &levels,
                (lx, ly),
                Some(dc_row[lx]),
                qp,
                &pred,
                &mut out.recon,
            );
        }
    }
    out
}

/// Reconstructs luma block (`lx`, `ly`) (in blocks) of a macroblock into
/// `recon`: through the columns kernel, else the checked inverse transform
/// (8.5.12). `dc` is an Intra16x16 block's DC coefficient from the luma DC
/// transform (8.5.10), which replaces its scaled DC; `None` scales the
/// block's own DC level like the others (inter). False where the block's
/// coefficients break the range rule (the block is then written as 0).
pub(crate) fn reconstruct_luma_block(
    levels: &Levels16,
    (lx, ly): (usize, usize),
    dc: Option<i32>,
    qp: i32,
    pred: &[u8; 256],
    recon: &mut [u8; 256],
) -> bool {
    let (bx, by) = (4 * lx, 4 * ly);
    let at = by * 16 + bx;
    let cols = levels.columns(lx, ly);
    let (pred_at, recon_at) = ((&pred[at..], 16), (&mut recon[at..], 16));
    if dequant_add_columns_dc(&cols, qp, dc.unwrap_or(0), pred_at, recon_at) {
        return true;
    }
    // Scaled coefficients beyond the columns' bound: the checked way.
    let mut d = dequant4x4(&levels.raster(lx, ly), qp, dc.is_some());
    if let Some(dc) = dc {
        d[0] = dc;
    }
    let p = sub_block(pred, 16, bx, by);
    let samples = reconstruct(&d, &p);
    put4x4(recon, 16, bx, by, &samples.unwrap_or([0; 16]));
    samples.is_some()
}

/// The set bits of a mask, lowest first.
pub(crate) struct BitIter(pub(crate) u16);

impl Iterator for BitIter {
    type Item = usize;

    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        let at = self.0.trailing_zeros() as usize;
        (self.0 != 0).then(|| {
            self.0 &= self.0 - 1;
            at
        })
    }
}

/// Bit i set where |`dc[i]`| > `max`: with SSE2 (part of x86-64), four at
/// a time.
#[inline(always)]
fn dc_beyond(dc: &[i32; 16], max: u32) -> u16 {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        let Ok(max) = i32::try_from(max) else {
            return 0; // |i32| is at most 2^31
        };
        // SAFETY: SSE2 is part of x86-64; each load reads four of the 16
        // values.
        unsafe {
            let (hi, lo) = (_mm_set1_epi32(max), _mm_set1_epi32(-max));
            (0..4).fold(0, |mask, q| {
                let v = _mm_loadu_si128(dc.as_ptr().add(4 * q).cast());
                let out = _mm_or_si128(_mm_cmpgt_epi32(v, hi), _mm_cmplt_epi32(v, lo));
                mask | (_mm_movemask_ps(_mm_castsi128_ps(out)) as u16) << (4 * q)
            })
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        (0..16).fold(0, |mask, i| {
            mask | u16::from(dc[i].unsigned_abs() > max) << i
        })
    }
}

/// The largest |d[0]| of a block without AC coefficients whose residual
/// [`reconstruct`] takes as (d[0] + 32) >> 6 for every sample.
const DC_ONLY_MAX: u32 = 2600;

/// Writes the 4×4 block at (bx, by) of an `N`-wide prediction plus `r`,
/// clipped to 8 bits, into `recon` (8.5.14).
fn add_dc<const N: usize>(recon: &mut [u8], pred: &[u8], (bx, by): (usize, usize), r: i32) {
    #[cfg(target_arch = "x86_64")]
    if bx + 4 <= N && (by + 3) * N + bx + 4 <= recon.len().min(pred.len()) {
        let at = by * N + bx;
        // SAFETY: SSE2 is part of x86-64; the four rows of four samples from
        // `at` on, N apart, lie inside both slices (checked above).
        unsafe { add_dc_sse2(recon.as_mut_ptr().add(at), pred.as_ptr().add(at), N, r) };
        return;
    }
    for y in by..by + 4 {
        let row = y * N + bx;
        for (o, &p) in recon[row..row + 4].iter_mut().zip(&pred[row..row + 4]) {
            *o = clip_pixel(i32::from(p) + r);
        }
    }
}

/// [`add_dc`] in 16-bit SSE2 lanes, four samples a row: the clip to 8 bits
/// is the saturation of the pack. `r` beyond ±512 clips every sample alike,
/// so it is narrowed to that range first. Caller: four rows of four samples
/// readable at `pred` and writable at `out`, `stride` apart.
#[cfg(target_arch = "x86_64")]
unsafe fn add_dc_sse2(out: *mut u8, pred: *const u8, stride: usize, r: i32) {
    use std::arch::x86_64::*;
    let (zero, add) = (
        _mm_setzero_si128(),
        _mm_set1_epi16(r.clamp(-512, 512) as i16),
    );
    for y in 0..4 {
        let p = _mm_cvtsi32_si128(pred.add(y * stride).cast::<i32>().read_unaligned());
        let sum = _mm_add_epi16(_mm_unpacklo_epi8(p, zero), add);
        let bytes = _mm_packus_epi16(sum, sum);
        out.add(y * stride)
            .cast::<i32>()
            .write_unaligned(_mm_cvtsi128_si32(bytes));
    }
}

/// [`add_dc`] for every 4×4 block of a 16×16 prediction: block (bx, by)
/// (in blocks) gets `r[4·by + bx]`.
fn add_dc_16x16(recon: &mut [u8; 256], pred: &[u8; 256], r: &[i32; 16]) {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of x86-64; both blocks are 16 rows of 16.
        unsafe { add_dc_16x16_sse2(recon, pred, r) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    for (blk, &v) in r.iter().enumerate() {
        add_dc::<16>(recon, pred, ((blk % 4) * 4, (blk / 4) * 4), v);
    }
}

/// [`add_dc_16x16`] in 16-bit SSE2 lanes, a row of four blocks at once
/// (each `r` narrowed to ±512 first, as in [`add_dc_sse2`]).
#[cfg(target_arch = "x86_64")]
unsafe fn add_dc_16x16_sse2(recon: &mut [u8; 256], pred: &[u8; 256], r: &[i32; 16]) {
    use std::arch::x86_64::*;
    let zero = _mm_setzero_si128();
    for by in 0..4 {
        let v: [i16; 4] = std::array::from_fn(|bx| r[4 * by + bx].clamp(-512, 512) as i16);
        let lo = _mm_setr_epi16(v[0], v[0], v[0], v[0], v[1], v[1], v[1], v[1]);
        let hi = _mm_setr_epi16(v[2], v[2], v[2], v[2], v[3], v[3], v[3], v[3]);
        for y in 4 * by..4 * by + 4 {
            let p = _mm_loadu_si128(pred.as_ptr().add(16 * y).cast());
            let low = _mm_add_epi16(_mm_unpacklo_epi8(p, zero), lo);
            let high = _mm_add_epi16(_mm_unpackhi_epi8(p, zero), hi);
            _mm_storeu_si128(
                recon.as_mut_ptr().add(16 * y).cast(),
                _mm_packus_epi16(low, high),
            );
        }
    }
}

/// The chroma of a macroblock: levels and reconstruction of both planes.
pub(crate) struct ChromaResult {
    pub(crate) dc: [[i32; 4]; 2],
    pub(crate) ac: [[[i16; 16]; 4]; 2],
    /// Per plane, bit b set where block b has AC levels.
    pub(crate) with_ac: [u8; 2],
    pub(crate) recon: [[u8; 64]; 2],
    pub(crate) valid: bool,
}

/// Codes both chroma planes of an intra macroblock with one mode (8.3.4,
/// 8.5.11); `src` holds each plane's 8×8 block from its first sample on,
/// rows `stride` apart.
fn code_chroma(
    src: [&[u8]; 2],
    stride: usize,
    edges: [&EdgeN<8>; 2],
    mode: u8,
    qp_c: i32,
) -> ChromaResult {
    let pred = [
        predict_chroma_u8(mode, edges[0]),
        predict_chroma_u8(mode, edges[1]),
    ];
    code_chroma_residual(src, stride, [&pred[0], &pred[1]], qp_c, Deadzone::Intra)
}

/// Transforms, quantises and reconstructs the chroma residual of both planes
/// against a prediction (8.5.11); `src` holds each plane's 8×8 block from
/// its first sample on, rows `stride` apart; the levels of both planes come
/// from one transform each ([`chroma_levels`]).
pub(crate) fn code_chroma_residual(
    src: [&[u8]; 2],
    stride: usize,
    pred: [&[u8; 64]; 2],
    qp_c: i32,
    dz: Deadzone,
) -> ChromaResult {
    let mut out = ChromaResult {
        dc: [[0; 4]; 2],
        ac: [[[0; 16]; 4]; 2],
        with_ac: [0; 2],
        recon: [[0; 64]; 2],
        valid: true,
    };
    let quant = Quantiser::new(qp_c, dz);
    let planes = chroma_levels(&quant, src, stride, pred);
    for (c, levels) in planes.iter().enumerate() {
        out.with_ac[c] = levels.with_ac;
        let plane = ChromaPlane {
            dc: &mut out.dc[c],
            ac: &mut out.ac[c],
            recon: &mut out.recon[c],
        };
        out.valid &= code_chroma_plane(pred[c], levels, &quant, plane);
    }
    out
}

/// Where the levels and reconstruction of one chroma plane go (all zero
/// on entry).
struct ChromaPlane<'a> {
    dc: &'a mut [i32; 4],
    ac: &'a mut [[i16; 16]; 4],
    recon: &'a mut [u8; 64],
}

/// Quantises the DC coefficients of one chroma plane (the 2×2 transform,
/// 8.5.11) and reconstructs the plane from them and the AC levels of its
/// four 4×4 blocks ([`chroma_levels`]). The result goes to `out`; false
/// where the reconstruction breaks the range rule (8.5.12).
fn code_chroma_plane(
    pred: &[u8; 64],
    levels: &ChromaLevels,
    quant: &Quantiser,
    out: ChromaPlane,
) -> bool {
    let (qp_c, dz) = quant.setting();
    let with_ac = levels.with_ac;
    *out.dc = forward_quant_chroma_dc_with(&levels.dc, qp_c, dz);
    *out.recon = *pred;
    if with_ac == 0 && !any_nonzero(out.dc) {
        // No levels: the plane reconstructs to the prediction (8.5.12).
        return true;
    }
    let dc_c = inverse_chroma_dc(out.dc, qp_c);
    let mut valid = dc_c.is_some();
    let dc_c = dc_c.unwrap_or([0; 4]);
    // The four blocks at once where their coefficients allow, else each on
    // its own.
    let pred_at = (&pred[..], 8);
    if dequant_add_square(levels.columns(), 15, dc_c, qp_c, pred_at, (out.recon, 8)) {
        for blk in BitIter(u16::from(with_ac)) {
            out.ac[blk] = levels.scan(blk);
        }
        return valid;
    }
    for (blk, &dc) in dc_c.iter().enumerate() {
        let (bx, by) = ((blk % 2) * 4, (blk / 2) * 4);
        let ac_raster = if with_ac & 1 << blk != 0 {
            levels.raster(blk)
        } else {
            [0; 16]
        };
        if with_ac & 1 << blk == 0 && dc.unsigned_abs() <= DC_ONLY_MAX {
            // No AC levels: the residual is (dc + 32) >> 6 everywhere, as in
            // [`reconstruct`] (zero for dc = 0: the prediction).
            add_dc::<8>(out.recon, pred, (bx, by), (dc + 32) >> 6);
            continue;
        }
        let p = sub_block(pred, 8, bx, by);
        let mut d = dequant4x4(&ac_raster, qp_c, true);
        d[0] = dc;
        let samples = reconstruct(&d, &p).unwrap_or_else(|| {
            valid = false;
            [0; 16]
        });
        put4x4(out.recon, 8, bx, by, &samples);
        if with_ac & 1 << blk != 0 {
            out.ac[blk] = levels.scan(blk);
        }
    }
    valid
}

pub(crate) fn any_nonzero(levels: &[i32]) -> bool {
    levels.iter().any(|&v| v != 0)
}

pub(crate) fn chroma_cbp(ch: &ChromaResult) -> u8 {
    let ac = ch.with_ac != [0; 2];
    let dc = ch.dc.iter().any(|b| any_nonzero(b));
    if ac {
        2
    } else if dc {
        1
    } else {
        0
    }
}

/// Worst-case size in bits of a coded (non-PCM) intra macroblock_layer,
/// independent of the neighbours' coefficient counts and modes and of the
/// slice type (mb_type is counted as in a P slice, where intra values are 5
/// higher, Table 7-13); `None` if a level cannot be coded with CAVLC.
pub fn intra_mb_bits_bound(mb: &MbCoding) -> Option<u32> {
    let header = intra_header_bits(mb)?;
    bits_bound_with(header, IntraBlocks(mb))
}

/// Whether [`intra_mb_bits_bound`] is at most [`MB_MAX_BITS`], without
/// counting each block exactly where the quick bound settles it.
pub fn intra_mb_fits(mb: &MbCoding) -> bool {
    intra_header_bits(mb).is_some_and(|header| fits_with(header, IntraBlocks(mb)))
}

/// Receives each residual block a macroblock codes: its levels as held
/// (index 0 of an AC block is not coded), the index of the first level
/// coded, and the coeff_token table its bound is taken with.
pub(crate) trait BlockVisitor {
    fn visit(&mut self, levels: &[i16], from: usize, table: CoeffTokenTable);
}

/// The residual blocks of a macroblock, handed to a [`BlockVisitor`] in
/// the order they are coded (one call per visitor, so each visit inlines).
pub(crate) trait CodedBlocks: Copy {
    fn each(self, v: &mut impl BlockVisitor);
}

/// The residual blocks an intra macroblock codes (7.3.5.3; none for I_PCM).
#[derive(Clone, Copy)]
struct IntraBlocks<'a>(&'a MbCoding);

impl CodedBlocks for IntraBlocks<'_> {
    #[inline(always)]
    fn each(self, f: &mut impl BlockVisitor) {
        let (mb, nc) = (self.0, CoeffTokenTable::Nc(0));
        let lv = mb.levels();
        match mb.luma {
            LumaPred::I4(_) => {
                for blk in 0..16 {
                    if mb.cbp_luma & (1 << (blk / 4)) != 0 {
                        f.visit(&lv.luma[blk], 0, nc);
                    }
                }
            }
            LumaPred::I16(_) => {
                f.visit(&lv.luma_dc, 0, nc);
                if mb.cbp_luma != 0 {
                    for blk in 0..16 {
                        f.visit(&lv.luma[blk], 1, nc);
                    }
                }
            }
            LumaPred::Pcm | LumaPred::Inter(_) => return,
        }
        for_each_chroma_block(mb, f);
    }
}

impl BlockVisitor for QuickBound {
    #[inline(always)]
    fn visit(&mut self, levels: &[i16], from: usize, table: CoeffTokenTable) {
        self.add(levels, from, table);
    }
}

impl BlockVisitor for TightBound {
    #[inline(always)]
    fn visit(&mut self, levels: &[i16], from: usize, table: CoeffTokenTable) {
        self.add(levels, from, table);
    }
}

/// The sum of [`residual_block_bits_bound`] over the blocks visited;
/// `None` once a level cannot be coded with CAVLC.
struct ExactBound(Option<u32>);

impl BlockVisitor for ExactBound {
    fn visit(&mut self, levels: &[i16], from: usize, table: CoeffTokenTable) {
        self.0 = self
            .0
            .and_then(|b| Some(b + held_block_bits_bound(&levels[from..], table).ok()?));
    }
}

/// `header` plus the worst-case bits of every residual block of `blocks`
/// ([`residual_block_bits_bound`]); `None` if a level cannot be coded with
/// CAVLC.
pub(crate) fn bits_bound_with(header: u32, blocks: impl CodedBlocks) -> Option<u32> {
    let mut bits = ExactBound(Some(header));
    blocks.each(&mut bits);
    bits.0
}

/// Whether [`bits_bound_with`] is at most [`MB_MAX_BITS`]: the blocks'
/// [`QuickBound`] first, the exact count only where that does not settle it.
pub(crate) fn fits_with(header: u32, blocks: impl CodedBlocks) -> bool {
    let mut quick = QuickBound::default();
    blocks.each(&mut quick);
    if quick.bits().is_some_and(|r| header + r <= MB_MAX_BITS) {
        return true;
    }
    let mut tight = TightBound::default();
    blocks.each(&mut tight);
    if tight.bits().is_some_and(|r| header + r <= MB_MAX_BITS) {
        return true;
    }
    bits_bound_with(header, blocks).is_some_and(|b| b <= MB_MAX_BITS)
}

/// Calls `f` with the chroma residual blocks a macroblock codes (7.3.5.3):
/// both DC blocks where coded_block_pattern has chroma, the eight AC blocks
/// where it has chroma AC.
#[inline(always)]
pub(crate) fn for_each_chroma_block(mb: &MbCoding, f: &mut impl BlockVisitor) {
    let lv = mb.levels();
    if mb.cbp_chroma > 0 {
        for dc in &lv.chroma_dc {
            f.visit(dc, 0, CoeffTokenTable::ChromaDc);
        }
    }
    if mb.cbp_chroma == 2 {
        for ac in lv.chroma_ac.iter().flatten() {
            f.visit(ac, 1, CoeffTokenTable::Nc(0));
        }
    }
}

/// Worst-case bits of an intra macroblock_layer other than its residual
/// blocks (7.3.5, 7.3.5.1; I_PCM: all of it); `None` for an inter one.
fn intra_header_bits(mb: &MbCoding) -> Option<u32> {
    let mut bits = ue_len(u32::from(mb.chroma_mode)) + 1; // intra_chroma_pred_mode, mb_qp_delta
    match mb.luma {
        LumaPred::I4(_) => {
            bits += ue_len(MB_TYPE_I_NXN + P_SLICE_INTRA_OFFSET) + 16 * 4;
            bits += ue_len(intra_cbp_code_num(mb.cbp_luma | (mb.cbp_chroma << 4)));
        }
        LumaPred::I16(mode) => {
            bits += ue_len(i16_mb_type(mode, mb.cbp_luma, mb.cbp_chroma) + P_SLICE_INTRA_OFFSET);
        }
        LumaPred::Pcm => return Some(ue_len(MB_TYPE_I_PCM + P_SLICE_INTRA_OFFSET) + 7 + 384 * 8),
        LumaPred::Inter(_) => return None,
    }
    Some(bits)
}

/// Codes one intra macroblock of `src` (padded to whole macroblocks),
/// writing its reconstruction into `recon`.
pub fn code_intra_mb(src: &YuvFrame, recon: &mut YuvFrame, pos: MbPos, qp: i32) -> MbCoding {
    code_intra_mb_with(src, pos, recon, pos, qp, true)
}

/// [`code_intra_mb`], with Intra4x4 considered only when `i4` is set
/// (Intra16x16 and I_PCM always are), the source read at `src_pos` of `src`
/// and the reconstruction at `pos` of `recon` (whose edges give the
/// neighbours' availability: a cut-out of the picture around the
/// macroblock, or the picture itself with `pos` = `src_pos`).
pub fn code_intra_mb_with(
    src: &YuvFrame,
    src_pos: MbPos,
    recon: &mut YuvFrame,
    pos: MbPos,
    qp: i32,
    i4: bool,
) -> MbCoding {
    let (x0, y0, cx0, cy0) = (pos.mb_x * 16, pos.mb_y * 16, pos.mb_x * 8, pos.mb_y * 8);
    let (sx0, sy0) = (src_pos.mb_x * 16, src_pos.mb_y * 16);
    let avail = mb_availability(pos);

    let edge16 = EdgeN::<16>::gather(&recon.y.data, recon.y.width, x0, y0, avail);
    let at = sy0 * src.y.width + sx0;
    let (i16_mode, i16_cost) = best_i16_mode(&src.y.data[at..], src.y.width, &edge16, lambda(qp));
    let i4 = i4.then(|| code_i4(&load_block(&src.y, sx0, sy0, 16), &mut recon.y, pos, qp));

    let edge_cb = EdgeN::<8>::gather(&recon.u.data, recon.u.width, cx0, cy0, avail);
    let edge_cr = EdgeN::<8>::gather(&recon.v.data, recon.v.width, cx0, cy0, avail);
    let c_at = (sy0 / 2) * src.u.width + sx0 / 2;
    let chroma_mode = best_chroma_mode(
        [&src.u.data[c_at..], &src.v.data[c_at..]],
        src.u.width,
        [&edge_cb, &edge_cr],
    );
    let qp_c = chroma_qp(qp);
    let chroma = code_chroma(
        [&src.u.data[c_at..], &src.v.data[c_at..]],
        src.u.width,
        [&edge_cb, &edge_cr],
        chroma_mode,
        qp_c,
    );

    let i4_first = i4.as_ref().is_some_and(|r| r.cost <= i16_cost);
    let mut chosen = None;
    for try_i4 in [i4_first, !i4_first] {
        let candidate = if try_i4 {
            i4.as_ref()
                .and_then(|r| i4_candidate(r, &chroma, chroma_mode))
        } else {
            i16_candidate(
                (&src.y.data[at..], src.y.width),
                &edge16,
                i16_mode,
                qp,
                (&chroma, chroma_mode),
            )
        };
        if let Some(c) = candidate {
            chosen = Some(c);
            break;
        }
    }
    match chosen {
        Some((mb, luma_recon)) => {
            store_block(&mut recon.y, x0, y0, 16, &luma_recon);
            store_block(&mut recon.u, cx0, cy0, 8, &chroma.recon[0]);
            store_block(&mut recon.v, cx0, cy0, 8, &chroma.recon[1]);
            mb
        }
        None => pcm_mb(src, src_pos, recon, pos),
    }
}

/// Keeps a candidate only if it reconstructs within range and fits the bound.
pub(crate) fn accept(mb: MbCoding, recon: [u8; 256], valid: bool) -> Option<(MbCoding, [u8; 256])> {
    if !valid {
        return None;
    }
    intra_mb_fits(&mb).then_some((mb, recon))
}

fn i4_candidate(
    i4: &I4Result,
    ch: &ChromaResult,
    chroma_mode: u8,
) -> Option<(MbCoding, [u8; 256])> {
    let mut cbp_luma = 0u8;
    for blk in 0..16 {
        if any_nonzero(&i4.levels[blk]) {
            cbp_luma |= 1 << (blk / 4);
        }
    }
    let mb = MbCoding {
        luma: LumaPred::I4(i4.modes),
        chroma_mode,
        cbp_luma,
        cbp_chroma: chroma_cbp(ch),
        levels: MbLevels::held_without_dc(i4.levels.map(narrow), ch.dc, ch.ac),
        pcm: None,
        mvs: [[0; 2]; 16],
    };
    accept(mb, i4.recon, i4.valid && ch.valid)
}

fn i16_candidate(
    (src, stride): (&[u8], usize),
    edge: &EdgeN<16>,
    mode: u8,
    qp: i32,
    (ch, chroma_mode): (&ChromaResult, u8),
) -> Option<(MbCoding, [u8; 256])> {
    let r = code_i16(src, stride, edge, mode, qp);
    let cbp_luma = if r.with_ac != 0 { 15 } else { 0 };
    let cbp_chroma = chroma_cbp(ch);
    // Levels anywhere: AC (cbp_luma), the luma DC block, or chroma.
    let any_level = cbp_luma != 0 || cbp_chroma != 0 || any_nonzero(&r.dc);
    let mb = MbCoding {
        luma: LumaPred::I16(mode),
        chroma_mode,
        cbp_luma,
        cbp_chroma,
        levels: any_level.then(|| {
            crate::spare::boxed(MbLevels {
                luma: r.ac,
                luma_dc: narrow(r.dc),
                chroma_dc: ch.dc.map(narrow),
                chroma_ac: ch.ac,
            })
        }),
        pcm: None,
        mvs: [[0; 2]; 16],
    };
    accept(mb, r.recon, r.valid && ch.valid)
}

/// I_PCM (7.3.5): the source samples (at `src_pos` of `src`) are the
/// reconstruction (at `pos` of `recon`).
pub(crate) fn pcm_mb(src: &YuvFrame, src_pos: MbPos, recon: &mut YuvFrame, pos: MbPos) -> MbCoding {
    let mb = pcm_coding(src, src_pos);
    let (x0, y0, cx0, cy0) = (pos.mb_x * 16, pos.mb_y * 16, pos.mb_x * 8, pos.mb_y * 8);
    if let Some(samples) = &mb.pcm {
        store_block(&mut recon.y, x0, y0, 16, &samples[..256]);
        store_block(&mut recon.u, cx0, cy0, 8, &samples[256..320]);
        store_block(&mut recon.v, cx0, cy0, 8, &samples[320..384]);
    }
    mb
}

/// The I_PCM coding of a macroblock: its source samples.
pub(crate) fn pcm_coding(src: &YuvFrame, pos: MbPos) -> MbCoding {
    let (x0, y0, cx0, cy0) = (pos.mb_x * 16, pos.mb_y * 16, pos.mb_x * 8, pos.mb_y * 8);
    let mut samples = Box::new([0u8; 384]);
    for y in 0..16 {
        samples[y * 16..y * 16 + 16].copy_from_slice(&src.y.row(y0 + y)[x0..x0 + 16]);
    }
    for (c, plane) in [&src.u, &src.v].into_iter().enumerate() {
        for y in 0..8 {
            let at = 256 + c * 64 + y * 8;
            samples[at..at + 8].copy_from_slice(&plane.row(cy0 + y)[cx0..cx0 + 8]);
        }
    }
    MbCoding::i_pcm(Some(samples))
}

impl MbCoding {
    /// An I_PCM macroblock with these samples; without samples, the
    /// placeholder of a macroblock still to be coded.
    pub(crate) fn i_pcm(samples: Option<Box<[u8; 384]>>) -> MbCoding {
        MbCoding {
            pcm: samples,
            ..MbCoding::without_levels(LumaPred::Pcm, [[0; 2]; 16])
        }
    }

    /// A macroblock of this type and these block vectors with no levels.
    pub(crate) fn without_levels(luma: LumaPred, mvs: [[i16; 2]; 16]) -> MbCoding {
        MbCoding {
            luma,
            chroma_mode: 0,
            cbp_luma: 0,
            cbp_chroma: 0,
            levels: None,
            pcm: None,
            mvs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mask of DCs beyond a bound is the one-by-one comparison, at the
    /// bound, beside it and at the ends of the i32 range.
    #[test]
    fn dc_beyond_marks_each_large_dc() {
        let values = [
            0,
            1,
            -1,
            2599,
            2600,
            2601,
            -2600,
            -2601,
            i32::MAX,
            i32::MIN,
            70_000,
            -9,
        ];
        for start in 0..values.len() {
            let dc: [i32; 16] = std::array::from_fn(|i| values[(start + 5 * i) % values.len()]);
            for max in [0u32, 2600, u32::MAX] {
                let want =
                    (0..16).fold(0u16, |m, i| m | u16::from(dc[i].unsigned_abs() > max) << i);
                assert_eq!(dc_beyond(&dc, max), want, "{dc:?} beyond {max}");
            }
        }
    }

    /// A stored block lands at its place, rows of the plane apart, up to the
    /// plane's last row and column, and nothing else changes.
    #[test]
    fn stored_blocks_land_in_place() {
        for n in [4usize, 8, 16] {
            let samples: Vec<u8> = (0..n * n).map(|i| (i * 7 % 251) as u8 + 1).collect();
            for (x0, y0) in [(0, 0), (3, 5), (40 - n, 24 - n)] {
                let mut plane = Plane::filled(40, 24, 0);
                store_block(&mut plane, x0, y0, n, &samples);
                for y in 0..24 {
                    for x in 0..40 {
                        let inside = (x0..x0 + n).contains(&x) && (y0..y0 + n).contains(&y);
                        let want = if inside {
                            samples[(y - y0) * n + x - x0]
                        } else {
                            0
                        };
                        assert_eq!(plane.data[y * 40 + x], want, "n {n} at ({x0}, {y0})");
                    }
                }
            }
        }
    }

    /// The 16×16 DC addition gives each block its own offset, clipped like
    /// the sample-by-sample sum, offsets far beyond the sample range too.
    #[test]
    fn whole_macroblock_dc_addition_matches_each_block() {
        let offsets = [
            -100_000, -600, -512, -255, -41, -1, 0, 1, 7, 41, 255, 511, 600, 100_000,
        ];
        for shift in 0..offsets.len() {
            let pred: [u8; 256] = std::array::from_fn(|i| (i * 37 + shift * 11) as u8);
            let r: [i32; 16] = std::array::from_fn(|b| offsets[(b * 5 + shift) % offsets.len()]);
            let mut out = [0u8; 256];
            add_dc_16x16(&mut out, &pred, &r);
            for (i, &got) in out.iter().enumerate() {
                let blk = (i / 64) * 4 + (i % 16) / 4;
                let want = clip_pixel(i32::from(pred[i]) + r[blk]);
                assert_eq!(got, want, "sample {i} offset {}", r[blk]);
            }
        }
    }

    /// The 4×4 DC addition equals the sample-by-sample sum clipped to 8
    /// bits, for 16- and 8-wide blocks and offsets far beyond the sample
    /// range.
    #[test]
    fn dc_additions_clip_like_the_scalar_sum() {
        let pred: [u8; 256] = std::array::from_fn(|i| (i * 37 % 256) as u8);
        for r in [
            -100_000, -600, -255, -41, -1, 0, 1, 7, 41, 255, 600, 100_000,
        ] {
            for (bx, by) in [(0, 0), (4, 4), (12, 12)] {
                let mut out = [0u8; 256];
                add_dc::<16>(&mut out, &pred, (bx, by), r);
                let mut out8 = [0u8; 64];
                let (bx8, by8) = (bx % 8, by % 8);
                add_dc::<8>(&mut out8, &pred[..64], (bx8, by8), r);
                for y in 0..4 {
                    for x in 0..4 {
                        let at = (by + y) * 16 + bx + x;
                        assert_eq!(
                            out[at],
                            clip_pixel(i32::from(pred[at]) + r),
                            "r {r} ({bx}, {by})"
                        );
                        let at8 = (by8 + y) * 8 + bx8 + x;
                        assert_eq!(
                            out8[at8],
                            clip_pixel(i32::from(pred[at8]) + r),
                            "8-wide r {r}"
                        );
                    }
                }
            }
        }
    }

    /// The DC-only shortcut writes what [`reconstruct`] makes of a block
    /// whose only coefficient is d[0], over the whole allowed range and
    /// predictions at both ends of the sample range.
    #[test]
    fn dc_only_blocks_reconstruct_as_the_transform_does() {
        let pred: [u8; 256] = std::array::from_fn(|i| [0, 255, 17, 240, 128][i % 5]);
        for dc in (-(DC_ONLY_MAX as i32)..=DC_ONLY_MAX as i32).step_by(37) {
            for (bx, by) in [(0, 0), (4, 8), (12, 12)] {
                let mut out = [0u8; 256];
                add_dc::<16>(&mut out, &pred, (bx, by), (dc + 32) >> 6);
                let mut d = [0i32; 16];
                d[0] = dc;
                let want = reconstruct(&d, &sub_block(&pred, 16, bx, by)).expect("in range");
                assert_eq!(sub_block(&out, 16, bx, by), want.map(i32::from), "dc {dc}");
            }
        }
    }

    #[test]
    fn block_positions_round_trip() {
        for blk in 0..16 {
            let (x, y) = luma_block_xy(blk);
            assert_eq!(luma_block_at(x, y), blk);
        }
        assert_eq!(luma_block_xy(5), (12, 0));
        assert_eq!(luma_block_xy(10), (0, 12));
    }

    #[test]
    fn top_right_rules_6_4_11_4() {
        let inner = MbPos {
            mb_x: 1,
            mb_y: 1,
            width_mbs: 3,
        };
        let unavailable: Vec<usize> = (0..16)
            .filter(|&b| !block_top_right_available(b, inner))
            .collect();
        assert_eq!(unavailable, vec![3, 7, 11, 13, 15]);
        let right_edge = MbPos {
            mb_x: 2,
            mb_y: 1,
            width_mbs: 3,
        };
        assert!(!block_top_right_available(5, right_edge));
        assert!(block_top_right_available(4, right_edge));
    }
}
