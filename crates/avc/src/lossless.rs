//! Lossless coding: transform bypass (qpprime_y_zero_transform_bypass_flag
//! with QP′Y = 0, High 4:4:4 Predictive). Residual samples are sent as the
//! levels themselves (8.5.12: r = c), with the DPCM of 8.5.15 for
//! horizontal and vertical intra prediction, so every macroblock
//! reconstructs to its source exactly.

use crate::frame::YuvFrame;
use crate::inter::{inter_mb_bits_bound, max_mvd, predict_mb, InterMb};
use crate::intra::{
    chroma_mode_allowed, i4_mode_allowed, predict4x4, predict_chroma, Edge4, EdgeN,
    CHROMA_HORIZONTAL, CHROMA_VERTICAL, I4_HORIZONTAL, I4_VERTICAL,
};
use crate::macroblock::{
    block_availability, intra_mb_bits_bound, load_block, luma_block_xy, mb_availability, narrow,
    pcm_coding, pcm_mb, store_block, LumaPred, MbCoding, MbLevels, MbPos, MB_MAX_BITS,
};
use crate::me::MbMotion;
use crate::transform::ZIGZAG_4X4;

/// Direction of the residual DPCM (8.5.15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dpcm {
    None,
    /// Vertical prediction: each row is sent as its difference from the row above.
    Vertical,
    /// Horizontal prediction: each column as its difference from the one to its left.
    Horizontal,
}

/// The levels 8.5.15 turns back into the residual `r` (w×h raster).
fn dpcm_levels(r: &[i32], w: usize, h: usize, dpcm: Dpcm) -> Vec<i32> {
    let mut c = r.to_vec();
    for y in 0..h {
        for x in 0..w {
            c[y * w + x] = match dpcm {
                Dpcm::Vertical if y > 0 => r[y * w + x] - r[(y - 1) * w + x],
                Dpcm::Horizontal if x > 0 => r[y * w + x] - r[y * w + x - 1],
                _ => r[y * w + x],
            };
        }
    }
    c
}

/// A 4×4 raster block in zig-zag scan order.
fn scan4x4(raster: &[i32]) -> [i32; 16] {
    std::array::from_fn(|k| raster[ZIGZAG_4X4[k]])
}

/// Sum of absolute levels: the cost used to pick lossless modes.
fn level_cost(levels: &[i32]) -> u32 {
    levels.iter().map(|v| v.unsigned_abs()).sum()
}

fn i4_dpcm(mode: u8) -> Dpcm {
    match mode {
        I4_VERTICAL => Dpcm::Vertical,
        I4_HORIZONTAL => Dpcm::Horizontal,
        _ => Dpcm::None,
    }
}

fn chroma_dpcm(mode: u8) -> Dpcm {
    match mode {
        CHROMA_VERTICAL => Dpcm::Vertical,
        CHROMA_HORIZONTAL => Dpcm::Horizontal,
        _ => Dpcm::None,
    }
}

/// Chroma levels of both planes for one mode: (DC per plane, AC per plane, cost).
type ChromaLevels = ([[i32; 4]; 2], [[[i32; 16]; 4]; 2], u32);

/// Splits an 8×8 chroma level array into the DC (each 4×4 block's first
/// sample, 8.5.11.1 with dcC = c) and AC blocks in scan order.
fn chroma_blocks(c: &[i32]) -> ([i32; 4], [[i32; 16]; 4]) {
    let mut dc = [0; 4];
    let mut ac = [[0; 16]; 4];
    for blk in 0..4 {
        let (bx, by) = ((blk % 2) * 4, (blk / 2) * 4);
        let raster: [i32; 16] = std::array::from_fn(|i| c[(by + i / 4) * 8 + bx + i % 4]);
        dc[blk] = raster[0];
        ac[blk] = scan4x4(&raster);
        ac[blk][0] = 0;
    }
    (dc, ac)
}

fn chroma_levels(src: [&[i32; 64]; 2], pred: [&[i32; 64]; 2], dpcm: Dpcm) -> ChromaLevels {
    let mut dc = [[0; 4]; 2];
    let mut ac = [[[0; 16]; 4]; 2];
    let mut cost = 0;
    for c in 0..2 {
        let r: Vec<i32> = (0..64).map(|i| src[c][i] - pred[c][i]).collect();
        let levels = dpcm_levels(&r, 8, 8, dpcm);
        cost += level_cost(&levels);
        (dc[c], ac[c]) = chroma_blocks(&levels);
    }
    (dc, ac, cost)
}

fn cbp_chroma(dc: &[[i32; 4]; 2], ac: &[[[i32; 16]; 4]; 2]) -> u8 {
    if ac.iter().flatten().any(|b| b.iter().any(|&v| v != 0)) {
        2
    } else if dc.iter().flatten().any(|&v| v != 0) {
        1
    } else {
        0
    }
}

fn cbp_luma(levels: &[[i32; 16]; 16]) -> u8 {
    (0..16)
        .filter(|&b| levels[b].iter().any(|&v| v != 0))
        .fold(0, |acc, b| acc | (1 << (b / 4)))
}

/// The levels a lossless macroblock holds (residual samples, within
/// ±255, so 16 bits keep them).
fn held_levels(
    luma: [[i32; 16]; 16],
    chroma_dc: [[i32; 4]; 2],
    chroma_ac: [[[i32; 16]; 4]; 2],
) -> Option<Box<MbLevels>> {
    let chroma_ac = chroma_ac.map(|plane| plane.map(narrow));
    MbLevels::held_without_dc(luma.map(narrow), chroma_dc, chroma_ac)
}

/// Codes an intra macroblock losslessly: Intra4x4 with the cheapest mode per
/// block, chroma with the cheapest mode, or I_PCM when that is smaller than
/// the 3200-bit bound allows. Writes the reconstruction (= source) into
/// `recon` at `pos`; the source is read at `src_pos` of `src`
/// ([`crate::macroblock::code_intra_mb_with`]).
pub fn code_intra_mb_lossless(
    src: &YuvFrame,
    src_pos: MbPos,
    recon: &mut YuvFrame,
    pos: MbPos,
) -> MbCoding {
    let (x0, y0, cx0, cy0) = (pos.mb_x * 16, pos.mb_y * 16, pos.mb_x * 8, pos.mb_y * 8);
    let (sx0, sy0) = (src_pos.mb_x * 16, src_pos.mb_y * 16);
    let luma: [i32; 256] = load_block(&src.y, sx0, sy0, 16);
    let mut modes = [0u8; 16];
    let mut levels = [[0i32; 16]; 16];
    for blk in 0..16 {
        let (bx, by) = luma_block_xy(blk);
        // Earlier blocks of this macroblock are already reconstructed (= source).
        let edge = Edge4::gather(
            &recon.y.data,
            recon.y.width,
            x0 + bx,
            y0 + by,
            block_availability(blk, pos),
        );
        let s: [i32; 16] = std::array::from_fn(|i| luma[(by + i / 4) * 16 + bx + i % 4]);
        let mut best = (u32::MAX, 0u8, [0i32; 16]);
        for mode in (0..9u8).filter(|&m| i4_mode_allowed(m, edge.avail)) {
            let pred = predict4x4(mode, &edge);
            let r: Vec<i32> = (0..16).map(|i| s[i] - pred[i]).collect();
            let c = dpcm_levels(&r, 4, 4, i4_dpcm(mode));
            let cost = level_cost(&c);
            if cost < best.0 {
                best = (cost, mode, scan4x4(&c));
            }
        }
        modes[blk] = best.1;
        levels[blk] = best.2;
        let block: Vec<u8> = (0..16).map(|i| s[i] as u8).collect();
        store_block(&mut recon.y, x0 + bx, y0 + by, 4, &block);
    }
    let avail = mb_availability(pos);
    let cb: [i32; 64] = load_block(&src.u, sx0 / 2, sy0 / 2, 8);
    let cr: [i32; 64] = load_block(&src.v, sx0 / 2, sy0 / 2, 8);
    let edges = [
        EdgeN::<8>::gather(&recon.u.data, recon.u.width, cx0, cy0, avail),
        EdgeN::<8>::gather(&recon.v.data, recon.v.width, cx0, cy0, avail),
    ];
    let mut best: Option<(u8, ChromaLevels)> = None;
    for mode in (0..4u8).filter(|&m| chroma_mode_allowed(m, avail)) {
        let pred = [
            predict_chroma(mode, &edges[0]),
            predict_chroma(mode, &edges[1]),
        ];
        let cl = chroma_levels([&cb, &cr], [&pred[0], &pred[1]], chroma_dpcm(mode));
        if best.as_ref().is_none_or(|b| cl.2 < b.1 .2) {
            best = Some((mode, cl));
        }
    }
    let (chroma_mode, (dc, ac, _)) = best.unwrap_or((0, ([[0; 4]; 2], [[[0; 16]; 4]; 2], 0)));
    let mb = MbCoding {
        luma: LumaPred::I4(modes),
        chroma_mode,
        cbp_luma: cbp_luma(&levels),
        cbp_chroma: cbp_chroma(&dc, &ac),
        levels: held_levels(levels, dc, ac),
        pcm: None,
        mvs: [[0; 2]; 16],
    };
    if intra_mb_bits_bound(&mb).is_some_and(|b| b <= MB_MAX_BITS) {
        store_block(&mut recon.u, cx0, cy0, 8, &cb.map(|v| v as u8));
        store_block(&mut recon.v, cx0, cy0, 8, &cr.map(|v| v as u8));
        mb
    } else {
        pcm_mb(src, src_pos, recon, pos)
    }
}

/// Codes an inter macroblock losslessly with the given motion; I_PCM when
/// the residual would not fit the bound. The reconstruction is the source.
pub fn code_inter_mb_lossless(
    src: &YuvFrame,
    refp: &crate::mc::RefPicture,
    pos: MbPos,
    motion: &MbMotion,
) -> InterMb {
    let (x0, y0, cx0, cy0) = (pos.mb_x * 16, pos.mb_y * 16, pos.mb_x * 8, pos.mb_y * 8);
    let (pred_luma, pred_chroma) = predict_mb(refp, pos, motion);
    let luma: [i32; 256] = load_block(&src.y, x0, y0, 16);
    let levels: [[i32; 16]; 16] = std::array::from_fn(|blk| {
        let (bx, by) = luma_block_xy(blk);
        let r: [i32; 16] = std::array::from_fn(|i| {
            let at = (by + i / 4) * 16 + bx + i % 4;
            luma[at] - i32::from(pred_luma[at])
        });
        scan4x4(&r)
    });
    let cb: [i32; 64] = load_block(&src.u, cx0, cy0, 8);
    let cr: [i32; 64] = load_block(&src.v, cx0, cy0, 8);
    let pc = [pred_chroma[0].map(i32::from), pred_chroma[1].map(i32::from)];
    let (dc, ac, _) = chroma_levels([&cb, &cr], [&pc[0], &pc[1]], Dpcm::None);
    let mb = MbCoding {
        luma: LumaPred::Inter(motion.partition),
        chroma_mode: 0,
        cbp_luma: cbp_luma(&levels),
        cbp_chroma: cbp_chroma(&dc, &ac),
        levels: held_levels(levels, dc, ac),
        pcm: None,
        mvs: crate::inter::block_vectors(motion),
    };
    let fits = inter_mb_bits_bound(&mb, motion.partition, max_mvd(src.y.width, src.y.height))
        .is_some_and(|b| b <= MB_MAX_BITS);
    let mb = if fits { mb } else { pcm_coding(src, pos) };
    InterMb {
        mb,
        luma: luma.map(|v| v as u8),
        chroma: [cb.map(|v| v as u8), cr.map(|v| v as u8)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What 8.5.15 does in the decoder: accumulate along the prediction direction.
    fn undo(c: &[i32], w: usize, h: usize, dpcm: Dpcm) -> Vec<i32> {
        let mut r = c.to_vec();
        for y in 0..h {
            for x in 0..w {
                r[y * w + x] = match dpcm {
                    Dpcm::Vertical if y > 0 => r[(y - 1) * w + x] + c[y * w + x],
                    Dpcm::Horizontal if x > 0 => r[y * w + x - 1] + c[y * w + x],
                    _ => c[y * w + x],
                };
            }
        }
        r
    }

    #[test]
    fn dpcm_round_trips() {
        let r: Vec<i32> = (0..64).map(|i| (i * 37 % 51) - 25).collect();
        for d in [Dpcm::None, Dpcm::Vertical, Dpcm::Horizontal] {
            assert_eq!(undo(&dpcm_levels(&r, 8, 8, d), 8, 8, d), r);
        }
    }
}
