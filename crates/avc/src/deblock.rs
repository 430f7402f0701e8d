//! In-loop deblocking filter (8.7). Being written; see `deblock_picture`.

use crate::frame::YuvFrame;

/// What the filter needs to know of each macroblock (8.7.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MbDeblockInfo {
    /// Intra-coded (I_NxN, I_16x16 or I_PCM).
    pub intra: bool,
    /// QPY of the macroblock; 0 for I_PCM (7.4.5).
    pub qp: i32,
    /// Bit `b` set when 4×4 luma block luma4x4BlkIdx = b has non-zero
    /// transform coefficient levels.
    pub nonzero: u16,
    /// Motion vector of each 4×4 luma block in luma4x4BlkIdx order, quarter samples.
    pub mv: [[i16; 2]; 16],
    /// Reference picture of each 8×8 partition (−1 for none / intra).
    pub ref_idx: [i8; 4],
}

/// Filter offsets from the slice header and PPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeblockParams {
    /// FilterOffsetA = slice_alpha_c0_offset_div2 << 1.
    pub offset_a: i32,
    /// FilterOffsetB = slice_beta_offset_div2 << 1.
    pub offset_b: i32,
    /// chroma_qp_index_offset of the PPS.
    pub chroma_qp_offset: i32,
}

/// Deblocks a whole reconstructed picture in place (8.7): `frame` is padded
/// to whole macroblocks, `mbs` is in raster order with `width_mbs` per row.
pub fn deblock_picture(
    frame: &mut YuvFrame,
    mbs: &[MbDeblockInfo],
    width_mbs: usize,
    params: DeblockParams,
) {
    let _ = (frame, mbs, width_mbs, params);
}
