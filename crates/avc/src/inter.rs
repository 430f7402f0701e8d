//! Inter macroblock coding for P slices: motion-compensated prediction of
//! each partition (8.4.2), the residual's transform, quantisation and
//! reconstruction (8.5), and the 3200-bit bound with I_PCM as the fallback.
//! An inter macroblock reads only the source and the reference picture, so
//! all of a picture's inter macroblocks can be coded at once.

use crate::bits::{se_len, ue_len};
use crate::cavlc::CoeffTokenTable;
use crate::decimate::{decimate_coded_luma, BareTally};
use crate::frame::YuvFrame;
use crate::macroblock::{
    bits_bound_with, chroma_cbp, code_chroma_residual, fits_with, for_each_chroma_block,
    luma_block_at, luma_block_xy, narrow, pcm_coding, reconstruct_luma_block, store_block, to_scan,
    BitIter, BlockVisitor, ChromaResult, CodedBlocks, LumaPred, MbCoding, MbPos,
};
use crate::mc::{mv_limits, RefPicture, MAX_OUTSIDE};
use crate::me::MbMotion;
use crate::nonzero::{chroma_is_bare, levels_16x16, nonzero_blocks_16x16, Levels16};
use crate::recon_row::dequant_add_row;
use crate::syntax::{inter_cbp_code_num, Partition};
use crate::transform::{chroma_qp, Deadzone, Quantiser};

/// Largest |mvd| component, in quarter samples, for a picture of `w`×`h`
/// luma samples: vectors keep blocks within [`MAX_OUTSIDE`] of the picture,
/// so a vector and its predictor differ by at most twice that reach.
pub fn max_mvd(w: usize, h: usize) -> i32 {
    2 * 4 * (w.max(h) as i32 + MAX_OUTSIDE)
}

/// Worst-case bits of an inter macroblock_layer, independent of the
/// neighbours (their vectors and coefficient counts); `None` if a level
/// cannot be coded with CAVLC.
pub fn inter_mb_bits_bound(mb: &MbCoding, part: Partition, mvd_max: i32) -> Option<u32> {
    let header = inter_header_bits(mb, part, mvd_max);
    bits_bound_with(header, InterBlocks(mb))
}

/// Whether [`inter_mb_bits_bound`] is at most [`MB_MAX_BITS`], without
/// counting each block exactly where the quick bound settles it.
pub fn inter_mb_fits(mb: &MbCoding, part: Partition, mvd_max: i32) -> bool {
    let header = inter_header_bits(mb, part, mvd_max);
    fits_with(header, InterBlocks(mb))
}

/// Worst-case bits of an inter macroblock_layer before its residual blocks:
/// mb_type, sub_mb_types, vector differences of at most `mvd_max`,
/// coded_block_pattern and mb_qp_delta (7.3.5).
fn inter_header_bits(mb: &MbCoding, part: Partition, mvd_max: i32) -> u32 {
    let mut bits = ue_len(part.mb_type());
    if part == Partition::P8x8 {
        bits += 4 * ue_len(0);
    }
    bits += part.count() as u32 * 2 * se_len(mvd_max);
    bits += ue_len(inter_cbp_code_num(mb.cbp_luma | (mb.cbp_chroma << 4)));
    if mb.cbp_luma != 0 || mb.cbp_chroma != 0 {
        bits += 1; // mb_qp_delta
    }
    bits
}

/// The residual blocks an inter macroblock codes (7.3.5.3).
#[derive(Clone, Copy)]
struct InterBlocks<'a>(&'a MbCoding);

impl CodedBlocks for InterBlocks<'_> {
    #[inline(always)]
    fn each(self, f: &mut impl BlockVisitor) {
        let mb = self.0;
        let lv = mb.levels();
        for blk in 0..16 {
            if mb.cbp_luma & (1 << (blk / 4)) != 0 {
                f.visit(&lv.luma[blk], 0, CoeffTokenTable::Nc(0));
            }
        }
        for_each_chroma_block(mb, f);
    }
}

/// The motion-compensated prediction of a macroblock: luma 16×16 and both
/// chroma 8×8 blocks.
pub(crate) fn predict_mb(
    refp: &RefPicture,
    pos: MbPos,
    motion: &MbMotion,
) -> ([u8; 256], [[u8; 64]; 2]) {
    let (x0, y0) = (pos.mb_x as i32 * 16, pos.mb_y as i32 * 16);
    let mut luma = [0u8; 256];
    let mut chroma = [[0u8; 64]; 2];
    if motion.partition == Partition::P16x16 {
        // One partition: the predictions are the macroblock's blocks.
        let mv = motion.mvs[0];
        refp.predict_luma(x0, y0, 16, 16, mv, &mut luma);
        refp.predict_chroma_8x8_pair((x0 / 2, y0 / 2), mv, &mut chroma);
        return (luma, chroma);
    }
    let mut part_buf = [0u8; 256];
    let mut chroma_buf = [0u8; 64];
    let part = motion.partition;
    for idx in 0..part.count() {
        let (px, py, pw, ph) = part.rect(idx);
        let mv = motion.mvs[idx];
        refp.predict_luma(
            x0 + px as i32,
            y0 + py as i32,
            pw,
            ph,
            mv,
            &mut part_buf[..pw * ph],
        );
        for r in 0..ph {
            luma[(py + r) * 16 + px..(py + r) * 16 + px + pw]
                .copy_from_slice(&part_buf[r * pw..r * pw + pw]);
        }
        let (cx, cy, cw, ch) = (px / 2, py / 2, pw / 2, ph / 2);
        for (c, plane) in chroma.iter_mut().enumerate() {
            refp.predict_chroma(
                c,
                (x0 / 2 + cx as i32, y0 / 2 + cy as i32),
                (cw, ch),
                mv,
                &mut chroma_buf[..cw * ch],
            );
            for r in 0..ch {
                plane[(cy + r) * 8 + cx..(cy + r) * 8 + cx + cw]
                    .copy_from_slice(&chroma_buf[r * cw..r * cw + cw]);
            }
        }
    }
    (luma, chroma)
}

/// The vector of every 4×4 block of a macroblock with this motion.
pub(crate) fn block_vectors(motion: &MbMotion) -> [[i16; 2]; 16] {
    std::array::from_fn(|blk| {
        let (x, y) = luma_block_xy(blk);
        let idx = match motion.partition {
            Partition::P16x16 => 0,
            Partition::P16x8 => y / 8,
            Partition::P8x16 => x / 8,
            Partition::P8x8 => (y / 8) * 2 + x / 8,
        };
        motion.mvs[idx]
    })
}

/// A coded inter macroblock and its reconstructed samples.
pub struct InterMb {
    pub mb: MbCoding,
    pub luma: [u8; 256],
    pub chroma: [[u8; 64]; 2],
}

impl InterMb {
    /// A macroblock to code into: P_Skip-like, samples zero.
    pub(crate) fn empty() -> InterMb {
        InterMb {
            mb: MbCoding::without_levels(LumaPred::Inter(Partition::P16x16), [[0; 2]; 16]),
            luma: [0; 256],
            chroma: [[0; 64]; 2],
        }
    }

    /// Writes the reconstruction into the picture.
    pub fn store(&self, recon: &mut YuvFrame, pos: MbPos) {
        let (x0, y0, cx0, cy0) = (pos.mb_x * 16, pos.mb_y * 16, pos.mb_x * 8, pos.mb_y * 8);
        store_block(&mut recon.y, x0, y0, 16, &self.luma);
        store_block(&mut recon.u, cx0, cy0, 8, &self.chroma[0]);
        store_block(&mut recon.v, cx0, cy0, 8, &self.chroma[1]);
    }
}

/// The chroma residual of an inter macroblock against its prediction;
/// planes whose SAD proves every level zero (the usual case) are settled
/// on the 8-bit samples without the transform.
fn inter_chroma(
    src: &YuvFrame,
    (cx0, cy0): (usize, usize),
    pred: &[[u8; 64]; 2],
    qp_c: i32,
) -> ChromaResult {
    let (stride, at) = (src.u.width, cy0 * src.u.width + cx0);
    code_chroma_residual(
        [&src.u.data[at..], &src.v.data[at..]],
        stride,
        [&pred[0], &pred[1]],
        qp_c,
        Deadzone::Inter,
    )
}

/// The luma residual of a macroblock against a prediction: which 4×4
/// blocks have levels (found from the transform alone) and, for those, the
/// quantised levels in scan order.
struct LumaResidual<'a> {
    src: &'a [u8],
    stride: usize,
    pred: &'a [u8; 256],
    quant: Quantiser,
    /// Bit 4·row + column set where that block has some level.
    nonzero: u16,
}

impl<'a> LumaResidual<'a> {
    fn new(src: &'a YuvFrame, pos: MbPos, pred: &'a [u8; 256], qp: i32) -> Self {
        let (stride, at) = (src.y.width, pos.mb_y * 16 * src.y.width + pos.mb_x * 16);
        let src = &src.y.data[at..];
        let quant = Quantiser::new(qp, Deadzone::Inter);
        let nonzero = nonzero_blocks_16x16(&quant, src, stride, pred);
        LumaResidual {
            src,
            stride,
            pred,
            quant,
            nonzero,
        }
    }

    /// The blocks with levels: luma4x4BlkIdx and levels in scan order, in
    /// raster order of the blocks.
    fn coded_blocks(&self) -> impl Iterator<Item = (usize, [i32; 16])> + '_ {
        let mut rest = self.nonzero;
        std::iter::from_fn(move || {
            if rest == 0 {
                return None;
            }
            let at = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            let (bx, by) = ((at % 4) * 4, (at / 4) * 4);
            let src = (&self.src[by * self.stride + bx..], self.stride);
            let pred = (&self.pred[by * 16 + bx..], 16);
            let levels = to_scan(&self.quant.residual_u8(src, pred, false).0);
            Some((luma_block_at(bx, by), levels))
        })
    }
}

/// Writes the decimated levels (scan order, luma4x4BlkIdx order) of a
/// macroblock's luma transform into `levels`; returns the blocks that hold
/// levels (bit luma4x4BlkIdx).
fn luma_levels_into(all: &Levels16, levels: &mut [[i16; 16]; 16]) -> u16 {
    *levels = [[0; 16]; 16];
    let mut coded = 0u16;
    for at in BitIter(all.nonzero) {
        let (bx, by) = (at % 4, at / 4);
        let blk = luma_block_at(4 * bx, 4 * by);
        levels[blk] = all.scan(bx, by);
        coded |= 1 << blk;
    }
    decimate_coded_luma(levels, coded)
}

/// The blocks of block row `row` (bit: column) that `coded` (bit:
/// luma4x4BlkIdx) holds: luma4x4BlkIdx 8·(row / 2) + 2·(row % 2) + {0, 1,
/// 4, 5} left to right (6.4.3).
fn row_blocks(coded: u16, row: usize) -> u8 {
    let pairs = coded >> (8 * (row / 2) + 2 * (row % 2));
    ((pairs & 3) | ((pairs >> 2) & 12)) as u8
}

/// The luma residual of a macroblock against a prediction, transformed and
/// quantised with the inter dead zone ([`levels_16x16`]).
#[inline(always)]
fn luma_transform(src: &YuvFrame, pos: MbPos, pred: &[u8; 256], qp: i32) -> Levels16 {
    let (stride, at) = (src.y.width, pos.mb_y * 16 * src.y.width + pos.mb_x * 16);
    let quant = Quantiser::new(qp, Deadzone::Inter);
    levels_16x16(&quant, &src.y.data[at..], stride, pred)
}

/// Whether [`luma_levels_into`] would give all zero, stopping at the first block
/// that makes sure it would not (the tally only grows, so the order of the
/// blocks does not change the answer).
fn luma_is_bare(src: &YuvFrame, pos: MbPos, pred: &[u8; 256], qp: i32) -> bool {
    let mut tally = BareTally::default();
    LumaResidual::new(src, pos, pred, qp)
        .coded_blocks()
        .all(|(blk, scan)| tally.add(blk, &scan))
}

/// The macroblock coded as 16×16 with vector `mv`, if that leaves it no
/// levels and the vector keeps the block within reach of the reference
/// ([`mv_limits`]): the [`code_inter_mb`] result in that case (the
/// reconstruction is the prediction), found without reconstructing anything.
pub fn code_bare_16x16(
    src: &YuvFrame,
    refp: &RefPicture,
    pos: MbPos,
    qp: i32,
    mv: [i16; 2],
) -> Option<InterMb> {
    let mut out = InterMb::empty();
    code_bare_16x16_into(src, refp, pos, qp, mv, &mut out).then_some(out)
}

/// [`code_bare_16x16`] into `out` (whose contents are left undefined when
/// the answer is false), so that the macroblock is not moved about.
pub(crate) fn code_bare_16x16_into(
    src: &YuvFrame,
    refp: &RefPicture,
    pos: MbPos,
    qp: i32,
    mv: [i16; 2],
    out: &mut InterMb,
) -> bool {
    let (x0, y0) = (pos.mb_x as i32 * 16, pos.mb_y as i32 * 16);
    let within = |v: i16, (lo, hi): (i32, i32)| (lo..=hi).contains(&i32::from(v));
    if !within(mv[0], mv_limits(x0, 16, refp.full.width as i32))
        || !within(mv[1], mv_limits(y0, 16, refp.full.height as i32))
    {
        return false;
    }
    refp.predict_luma(x0, y0, 16, 16, mv, &mut out.luma);
    if !luma_is_bare(src, pos, &out.luma, qp) {
        return false;
    }
    refp.predict_chroma_8x8_pair((x0 / 2, y0 / 2), mv, &mut out.chroma);
    if !inter_chroma_is_bare(
        src,
        (pos.mb_x * 8, pos.mb_y * 8),
        &out.chroma,
        chroma_qp(qp),
    ) {
        return false;
    }
    out.mb = MbCoding::without_levels(LumaPred::Inter(Partition::P16x16), [mv; 16]);
    true
}

/// Whether [`inter_chroma`] would find no levels in either plane.
fn inter_chroma_is_bare(
    src: &YuvFrame,
    (cx0, cy0): (usize, usize),
    pred: &[[u8; 64]; 2],
    qp_c: i32,
) -> bool {
    let (stride, at) = (src.u.width, cy0 * src.u.width + cx0);
    let quant = Quantiser::new(qp_c, Deadzone::Inter);
    chroma_is_bare(
        &quant,
        [&src.u.data[at..], &src.v.data[at..]],
        stride,
        [&pred[0], &pred[1]],
    )
}

/// Codes an inter macroblock with the given motion; falls back to I_PCM
/// when the macroblock would exceed the 3200-bit bound or a level cannot be
/// coded. Reads only the source and the reference picture.
pub fn code_inter_mb(
    src: &YuvFrame,
    refp: &RefPicture,
    pos: MbPos,
    qp: i32,
    motion: &MbMotion,
) -> InterMb {
    let mut out = InterMb::empty();
    code_inter_mb_into(src, refp, pos, qp, motion, &mut out);
    out
}

/// [`code_inter_mb`] into `out`, so that the macroblock is not moved about.
pub(crate) fn code_inter_mb_into(
    src: &YuvFrame,
    refp: &RefPicture,
    pos: MbPos,
    qp: i32,
    motion: &MbMotion,
    out: &mut InterMb,
) {
    let (cx0, cy0) = (pos.mb_x * 8, pos.mb_y * 8);
    let (pred_luma, pred_chroma) = predict_mb(refp, pos, motion);
    // Blocks whose levels are all zero reconstruct to the prediction (8.5.12:
    // zero coefficients give a zero residual), so the reconstruction starts
    // as the prediction and only blocks with levels are reconstructed.
    out.luma = pred_luma;
    let raw = luma_transform(src, pos, &pred_luma, qp);
    // The levels are written in place in a box, kept if the macroblock
    // has any.
    let mut levels = crate::spare::take();
    let coded = luma_levels_into(&raw, &mut levels.luma);
    let mut valid = true;
    let mut cbp_luma = 0u8;
    for blk in BitIter(coded) {
        cbp_luma |= 1 << (blk / 4);
    }
    for row in 0..4 {
        // A kept block's levels are those of the transform (decimation
        // drops whole blocks), read as they lie: a row of four blocks at
        // once, else each kept block on its own.
        let keep = row_blocks(coded, row);
        let at = row * 64;
        if keep == 0
            || dequant_add_row(
                raw.row(row),
                keep,
                [0; 4],
                qp,
                (&pred_luma[at..], 16),
                (&mut out.luma[at..], 16),
            )
        {
            continue;
        }
        for col in BitIter(u16::from(keep)) {
            valid &= reconstruct_luma_block(&raw, (col, row), None, qp, &pred_luma, &mut out.luma);
        }
    }
    let chroma = inter_chroma(src, (cx0, cy0), &pred_chroma, chroma_qp(qp));
    let cbp_chroma = chroma_cbp(&chroma);
    out.mb = MbCoding {
        luma: LumaPred::Inter(motion.partition),
        chroma_mode: 0,
        cbp_luma,
        cbp_chroma,
        levels: if cbp_luma != 0 || cbp_chroma != 0 {
            levels.luma_dc = [0; 16];
            levels.chroma_dc = chroma.dc.map(narrow);
            levels.chroma_ac = chroma.ac;
            Some(levels)
        } else {
            crate::spare::keep(levels);
            None
        },
        pcm: None,
        mvs: block_vectors(motion),
    };
    out.chroma = chroma.recon;
    let mvd_max = max_mvd(src.y.width, src.y.height);
    let fits = valid && chroma.valid && inter_mb_fits(&out.mb, motion.partition, mvd_max);
    if !fits {
        out.mb = pcm_coding(src, pos);
        let samples = out.mb.pcm.as_deref().copied().unwrap_or([0; 384]);
        out.luma.copy_from_slice(&samples[..256]);
        out.chroma[0].copy_from_slice(&samples[256..320]);
        out.chroma[1].copy_from_slice(&samples[320..384]);
    }
}
