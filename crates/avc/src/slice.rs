//! The syntax pass: writes slice_data() (7.3.4) and macroblock_layer()
//! (7.3.5) for a picture whose macroblocks are already decided. Everything
//! that depends on neighbours — predicted Intra4x4 modes (8.3.1.1) and the
//! coeff_token context nC (9.2.1) — is derived here, after the decisions.

use rayon::prelude::*;

use crate::bits::{BitSink, BitWriter};
use crate::cavlc::{
    nc_from_neighbours, write_empty_block, write_residual_block, CavlcError, CoeffTokenTable,
};
use crate::frame::prefetch;
use crate::macroblock::{luma_block_at, luma_block_xy, LumaPred, MbCoding};
use crate::mvpred::MotionField;
use crate::syntax::{
    i16_mb_type, inter_cbp_code_num, intra_cbp_code_num, Partition, MB_TYPE_I_NXN, MB_TYPE_I_PCM,
    P_SLICE_INTRA_OFFSET,
};

/// The coded macroblocks of a picture in raster order, with the per-block
/// coefficient counts that neighbours read.
pub struct PictureSyntax<'a> {
    pub mbs: &'a [MbCoding],
    pub width_mbs: usize,
    /// TotalCoeff per luma 4×4 block (luma4x4BlkIdx order) as 9.2.1 defines it.
    luma_counts: Vec<[u8; 16]>,
    /// TotalCoeff per chroma AC block [Cb, Cr][blk].
    chroma_counts: Vec<[[u8; 4]; 2]>,
}

impl<'a> PictureSyntax<'a> {
    pub fn new(mbs: &'a [MbCoding], width_mbs: usize) -> Self {
        let (luma_counts, chroma_counts) = mbs
            .par_iter()
            .map(|mb| (luma_counts(mb), chroma_counts(mb)))
            .unzip();
        PictureSyntax {
            mbs,
            width_mbs,
            luma_counts,
            chroma_counts,
        }
    }

    /// The luma blocks of macroblock `addr` with nonzero levels (bit
    /// luma4x4BlkIdx); every block of an I_PCM macroblock counts.
    pub fn coded_luma_blocks(&self, addr: usize) -> u16 {
        self.luma_counts[addr]
            .iter()
            .enumerate()
            .fold(0, |bits, (blk, &n)| bits | u16::from(n != 0) << blk)
    }

    fn left(&self, addr: usize) -> Option<usize> {
        (!addr.is_multiple_of(self.width_mbs)).then(|| addr - 1)
    }

    fn top(&self, addr: usize) -> Option<usize> {
        (addr >= self.width_mbs).then(|| addr - self.width_mbs)
    }

    /// Writes every macroblock of an I slice (7.3.4: no mb_skip_run in I slices).
    pub fn write_i_slice_data<S: BitSink>(&self, w: &mut S) -> Result<(), CavlcError> {
        for addr in 0..self.mbs.len() {
            self.write_macroblock(w, addr, 0)?;
        }
        Ok(())
    }

    /// Writes every macroblock of a P slice (7.3.4): runs of P_Skip
    /// macroblocks become mb_skip_run, including a final run.
    pub fn write_p_slice_data<S: BitSink>(&self, w: &mut S) -> Result<(), CavlcError> {
        let mut run = 0u32;
        for addr in 0..self.mbs.len() {
            if self.is_skip(addr) {
                run += 1;
                continue;
            }
            w.put_ue(run);
            run = 0;
            self.write_macroblock(w, addr, P_SLICE_INTRA_OFFSET)?;
        }
        if run > 0 {
            w.put_ue(run);
        }
        Ok(())
    }

    /// slice_data() (7.3.4) of an I slice (`p_slice` false) or a P slice,
    /// the same bits as [`Self::write_i_slice_data`] and
    /// [`Self::write_p_slice_data`], with macroblock rows written in
    /// parallel and joined bit for bit. Everything a macroblock's syntax
    /// depends on is known before writing: nC and predicted modes come from
    /// the decisions, and each mb_skip_run from the skip flags. A row with
    /// I_PCM, whose alignment (7.3.5) depends on the bit position, is
    /// written in place instead.
    pub fn write_slice_data_by_rows(
        &self,
        w: &mut BitWriter,
        p_slice: bool,
    ) -> Result<(), CavlcError> {
        let n = self.mbs.len();
        let skip: Vec<bool> = if p_slice {
            (0..n).into_par_iter().map(|a| self.is_skip(a)).collect()
        } else {
            vec![false; n]
        };
        let (runs, final_run) = skip_runs(&skip);
        let rows = n / self.width_mbs;
        let segments: Vec<Result<Option<BitWriter>, CavlcError>> = (0..rows)
            .into_par_iter()
            .map(|row| {
                if self.row_has_pcm(row) {
                    return Ok(None);
                }
                let mut seg = BitWriter::with_capacity(self.width_mbs * 64);
                self.write_row(&mut seg, row, p_slice, &skip, &runs)?;
                Ok(Some(seg))
            })
            .collect();
        for (row, seg) in segments.into_iter().enumerate() {
            match seg? {
                Some(seg) => w.append(&seg),
                None => self.write_row(w, row, p_slice, &skip, &runs)?,
            }
        }
        if p_slice && final_run > 0 {
            w.put_ue(final_run);
        }
        Ok(())
    }

    /// The coded macroblocks of one row, each preceded in a P slice by its
    /// mb_skip_run (7.3.4).
    fn write_row<S: BitSink>(
        &self,
        w: &mut S,
        row: usize,
        p_slice: bool,
        skip: &[bool],
        runs: &[u32],
    ) -> Result<(), CavlcError> {
        let offset = if p_slice { P_SLICE_INTRA_OFFSET } else { 0 };
        for addr in row * self.width_mbs..(row + 1) * self.width_mbs {
            if let Some(next) = self.mbs.get(addr + LEVELS_AHEAD) {
                prefetch_levels(next);
            }
            if skip[addr] {
                continue;
            }
            if p_slice {
                w.put_ue(runs[addr]);
            }
            self.write_macroblock(w, addr, offset)?;
        }
        Ok(())
    }

    fn row_has_pcm(&self, row: usize) -> bool {
        self.mbs[row * self.width_mbs..(row + 1) * self.width_mbs]
            .iter()
            .any(|mb| matches!(mb.luma, LumaPred::Pcm))
    }

    /// Whether macroblock `addr` is coded as P_Skip: a 16×16 inter macroblock
    /// with no residual whose vector is the one P_Skip infers (8.4.1.1).
    pub fn is_skip(&self, addr: usize) -> bool {
        let mb = &self.mbs[addr];
        mb.luma == LumaPred::Inter(Partition::P16x16)
            && mb.cbp_luma == 0
            && mb.cbp_chroma == 0
            && self.motion().skip_vector(addr) == mb.mvs[0]
    }

    fn motion(&self) -> MotionField<'_> {
        MotionField {
            mbs: self.mbs,
            width_mbs: self.width_mbs,
        }
    }

    /// macroblock_layer() (7.3.5); `intra_offset` is added to intra mb_type
    /// values (5 in P slices, Table 7-13).
    pub fn write_macroblock<S: BitSink>(
        &self,
        w: &mut S,
        addr: usize,
        intra_offset: u32,
    ) -> Result<(), CavlcError> {
        let mb = &self.mbs[addr];
        let cbp = mb.cbp_luma | (mb.cbp_chroma << 4);
        match mb.luma {
            LumaPred::Pcm => {
                w.put_ue(MB_TYPE_I_PCM + intra_offset);
                write_pcm(w, mb);
                return Ok(());
            }
            LumaPred::I4(modes) => {
                w.put_ue(MB_TYPE_I_NXN + intra_offset);
                self.write_i4_modes(w, addr, &modes);
                w.put_ue(u32::from(mb.chroma_mode));
                w.put_ue(intra_cbp_code_num(cbp));
            }
            LumaPred::I16(mode) => {
                w.put_ue(i16_mb_type(mode, mb.cbp_luma, mb.cbp_chroma) + intra_offset);
                w.put_ue(u32::from(mb.chroma_mode));
            }
            LumaPred::Inter(part) => {
                w.put_ue(part.mb_type());
                self.write_inter_pred(w, addr, part);
                w.put_ue(inter_cbp_code_num(cbp));
            }
        }
        let is_i16 = matches!(mb.luma, LumaPred::I16(_));
        if cbp != 0 || is_i16 {
            w.put_se(0); // mb_qp_delta: constant qp within the slice
            self.write_residual(w, addr, is_i16)?;
        }
        Ok(())
    }

    /// mb_pred() / sub_mb_pred() of an inter macroblock with one reference
    /// picture (7.3.5.1, 7.3.5.2): ref_idx is absent, mvd_l0 per partition.
    fn write_inter_pred<S: BitSink>(&self, w: &mut S, addr: usize, part: Partition) {
        if part == Partition::P8x8 {
            for _ in 0..4 {
                w.put_ue(0); // sub_mb_type: P_L0_8x8
            }
        }
        let field = self.motion();
        let mb = &self.mbs[addr];
        for idx in 0..part.count() {
            let (x, y, _, _) = part.rect(idx);
            let mv = mb.mvs[luma_block_at(x, y)];
            let mvp = field.predict(addr, part, idx);
            w.put_se(i32::from(mv[0]) - i32::from(mvp[0]));
            w.put_se(i32::from(mv[1]) - i32::from(mvp[1]));
        }
    }

    /// prev_intra4x4_pred_mode_flag / rem_intra4x4_pred_mode (7.3.5.1, 8.3.1.1).
    fn write_i4_modes<S: BitSink>(&self, w: &mut S, addr: usize, modes: &[u8; 16]) {
        for blk in 0..16 {
            let pred = self.predicted_i4_mode(addr, blk, modes);
            let mode = modes[blk];
            if mode == pred {
                w.put_flag(true);
            } else {
                w.put_flag(false);
                let rem = if mode < pred { mode } else { mode - 1 };
                w.put_bits(3, u32::from(rem));
            }
        }
    }

    /// predIntra4x4PredMode (8.3.1.1): the smaller of the left and top modes;
    /// DC when a neighbour is missing; a non-Intra4x4 neighbour counts as DC.
    fn predicted_i4_mode(&self, addr: usize, blk: usize, modes: &[u8; 16]) -> u8 {
        let (x, y) = luma_block_xy(blk);
        let left = if x > 0 {
            Some(modes[luma_block_at(x - 4, y)])
        } else {
            self.left(addr)
                .map(|a| self.i4_mode_of(a, luma_block_at(12, y)))
        };
        let top = if y > 0 {
            Some(modes[luma_block_at(x, y - 4)])
        } else {
            self.top(addr)
                .map(|a| self.i4_mode_of(a, luma_block_at(x, 12)))
        };
        match (left, top) {
            (Some(a), Some(b)) => a.min(b),
            _ => 2,
        }
    }

    fn i4_mode_of(&self, addr: usize, blk: usize) -> u8 {
        match self.mbs[addr].luma {
            LumaPred::I4(m) => m[blk],
            _ => 2,
        }
    }

    /// residual() (7.3.5.3) with residual_luma and the 4:2:0 chroma part.
    fn write_residual<S: BitSink>(
        &self,
        w: &mut S,
        addr: usize,
        is_i16: bool,
    ) -> Result<(), CavlcError> {
        let mb = &self.mbs[addr];
        let lv = mb.levels();
        let (left, top) = (self.left(addr), self.top(addr));
        let luma = Neighbours::new(&self.luma_counts, addr, left, top);
        let nc = if is_i16 || mb.cbp_luma != 0 {
            luma.luma_ncs()
        } else {
            [0; 16]
        };
        if is_i16 {
            write_residual_block(w, &lv.luma_dc, CoeffTokenTable::Nc(nc[0]))?;
        }
        for (blk, (&nc, &count)) in nc.iter().zip(luma.cur).enumerate() {
            if mb.cbp_luma & (1 << (blk / 4)) == 0 {
                continue;
            }
            let table = CoeffTokenTable::Nc(nc);
            // The count is of the very levels coded below (the AC ones for
            // Intra16x16).
            if count == 0 {
                write_empty_block(w, table);
                continue;
            }
            let block = &lv.luma[blk];
            let levels = if is_i16 { &block[1..] } else { &block[..] };
            write_residual_block(w, levels, table)?;
        }
        if mb.cbp_chroma & 3 != 0 {
            for c in 0..2 {
                write_residual_block(w, &lv.chroma_dc[c], CoeffTokenTable::ChromaDc)?;
            }
        }
        if mb.cbp_chroma & 2 != 0 {
            let chroma = Neighbours::new(&self.chroma_counts, addr, left, top);
            for c in 0..2 {
                for blk in 0..4 {
                    let table = CoeffTokenTable::Nc(chroma.chroma_nc(c, blk));
                    if chroma.cur[c][blk] == 0 {
                        write_empty_block(w, table);
                    } else {
                        write_residual_block(w, &lv.chroma_ac[c][blk][1..], table)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The TotalCoeff counts of a macroblock and of its left and top neighbours
/// (`None` where unavailable), from which nC is derived (9.2.1).
struct Neighbours<'s, T> {
    cur: &'s T,
    left: Option<&'s T>,
    top: Option<&'s T>,
}

impl<'s, T> Neighbours<'s, T> {
    fn new(counts: &'s [T], addr: usize, left: Option<usize>, top: Option<usize>) -> Self {
        Neighbours {
            cur: &counts[addr],
            left: left.map(|a| &counts[a]),
            top: top.map(|a| &counts[a]),
        }
    }

    /// The count of the neighbouring block at `(index, outside)`: in this
    /// macroblock, or in `other` when `outside`.
    fn count(
        &self,
        other: Option<&T>,
        (index, outside): (usize, bool),
        get: impl Fn(&T, usize) -> u8,
    ) -> Option<u8> {
        if outside {
            other.map(|t| get(t, index))
        } else {
            Some(get(self.cur, index))
        }
    }
}

impl Neighbours<'_, [u8; 16]> {
    /// nC of a luma block (9.2.1) from the blocks to its left and above.
    fn luma_nc(&self, blk: usize) -> u8 {
        let get = |t: &[u8; 16], i: usize| t[i];
        let left = self.count(self.left, LUMA_LEFT[blk], get);
        let top = self.count(self.top, LUMA_TOP[blk], get);
        nc_from_neighbours(left, top)
    }

    /// [`Neighbours::luma_nc`] of every luma block, by luma4x4BlkIdx: all
    /// sixteen at once with SSSE3 on x86-64.
    fn luma_ncs(&self) -> [u8; 16] {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("ssse3") {
            // SAFETY: SSSE3 is present (checked above).
            return unsafe { x86::luma_ncs(self.cur, self.left, self.top) };
        }
        std::array::from_fn(|blk| self.luma_nc(blk))
    }
}

/// [`LUMA_LEFT`] or [`LUMA_TOP`] as two rows of bytes: each block's
/// neighbour index, and 0xff where the neighbour lies outside the
/// macroblock.
const fn neighbour_bytes(table: [(usize, bool); 16]) -> [[u8; 16]; 2] {
    let mut out = [[0u8; 16]; 2];
    let mut blk = 0;
    while blk < 16 {
        out[0][blk] = table[blk].0 as u8;
        out[1][blk] = if table[blk].1 { 0xff } else { 0 };
        blk += 1;
    }
    out
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! SSSE3 nC of all sixteen luma blocks of a macroblock (9.2.1).
    use super::{neighbour_bytes, LUMA_LEFT, LUMA_TOP};
    use std::arch::x86_64::*;

    /// Each block's left and top neighbour index and outside mask.
    const LEFT: [[u8; 16]; 2] = neighbour_bytes(LUMA_LEFT);
    const TOP: [[u8; 16]; 2] = neighbour_bytes(LUMA_TOP);

    /// nC of every luma block from the TotalCoeff counts `cur` of the
    /// macroblock and those of its left and top neighbours (`None` where
    /// unavailable): nA and nB gathered by shuffles, then their rounded
    /// mean where both are available, the one that is where one is, else 0.
    #[target_feature(enable = "ssse3")]
    pub(super) unsafe fn luma_ncs(
        cur: &[u8; 16],
        left: Option<&[u8; 16]>,
        top: Option<&[u8; 16]>,
    ) -> [u8; 16] {
        let load = |b: &[u8; 16]| _mm_loadu_si128(b.as_ptr() as *const __m128i);
        let c = load(cur);
        // The count of each block's neighbour (0 where it is missing) and
        // whether it is available (all ones or zeros).
        let neighbour = |other: Option<&[u8; 16]>, [index, outside]: &[[u8; 16]; 2]| {
            let (index, outside) = (load(index), load(outside));
            let inside = _mm_shuffle_epi8(c, index);
            let (value, avail) = match other {
                Some(o) => (_mm_shuffle_epi8(load(o), index), _mm_set1_epi8(-1)),
                None => (
                    _mm_setzero_si128(),
                    _mm_xor_si128(outside, _mm_set1_epi8(-1)),
                ),
            };
            let n = _mm_or_si128(
                _mm_and_si128(outside, value),
                _mm_andnot_si128(outside, inside),
            );
            (_mm_and_si128(n, avail), avail)
        };
        let (a, avail_a) = neighbour(left, &LEFT);
        let (b, avail_b) = neighbour(top, &TOP);
        let both = _mm_and_si128(avail_a, avail_b);
        // With one available the other is 0, so their OR is that one.
        let one = _mm_or_si128(a, b);
        let nc = _mm_or_si128(
            _mm_and_si128(both, _mm_avg_epu8(a, b)),
            _mm_andnot_si128(both, one),
        );
        let mut out = [0u8; 16];
        _mm_storeu_si128(out.as_mut_ptr() as *mut __m128i, nc);
        out
    }
}

impl Neighbours<'_, [[u8; 4]; 2]> {
    /// nC of a chroma AC block (9.2.1), blocks in 2×2 raster order: the left
    /// neighbour of a left-column block is the right column of the macroblock
    /// to the left, the top neighbour of a top-row block the bottom row above.
    fn chroma_nc(&self, c: usize, blk: usize) -> u8 {
        let get = |t: &[[u8; 4]; 2], i: usize| t[c][i];
        let left = self.count(self.left, (blk ^ 1, blk & 1 == 0), get);
        let top = self.count(self.top, (blk ^ 2, blk < 2), get);
        nc_from_neighbours(left, top)
    }
}

/// For each luma4x4BlkIdx, its left (`LUMA_LEFT`) or top (`LUMA_TOP`)
/// neighbouring 4×4 block (6.4.11.4): the block's index and whether it lies in
/// the neighbouring macroblock.
const LUMA_LEFT: [(usize, bool); 16] = luma_neighbours(true);
const LUMA_TOP: [(usize, bool); 16] = luma_neighbours(false);

const fn luma_neighbours(left: bool) -> [(usize, bool); 16] {
    let mut table = [(0, false); 16];
    let mut blk = 0;
    while blk < 16 {
        let (x, y) = luma_block_xy(blk);
        table[blk] = match (left, x, y) {
            (true, 0, _) => (luma_block_at(12, y), true),
            (true, _, _) => (luma_block_at(x - 4, y), false),
            (false, _, 0) => (luma_block_at(x, 12), true),
            (false, _, _) => (luma_block_at(x, y - 4), false),
        };
        blk += 1;
    }
    table
}

/// How many macroblocks ahead the row writer asks for levels: they are
/// held apart from the macroblocks ([`MbCoding::levels`]), where the
/// hardware's prefetchers cannot foresee them.
const LEVELS_AHEAD: usize = 2;

/// Asks for the cache lines of the levels that `mb`'s residual() will read:
/// each coded 8×8 luma quarter, the Intra16x16 DC block and the chroma
/// levels when coded.
fn prefetch_levels(mb: &MbCoding) {
    let Some(levels) = mb.levels.as_deref() else {
        return;
    };
    for quarter in 0..4 {
        if mb.cbp_luma & (1 << quarter) != 0 {
            prefetch_span(&levels.luma[4 * quarter..4 * quarter + 4]);
        }
    }
    if matches!(mb.luma, LumaPred::I16(_)) {
        prefetch_span(&levels.luma_dc[..]);
    }
    if mb.cbp_chroma != 0 {
        prefetch_span(&levels.chroma_dc[..]);
    }
    if mb.cbp_chroma & 2 != 0 {
        prefetch_span(&levels.chroma_ac[..]);
    }
}

/// Asks for every cache line that `items` touches.
fn prefetch_span<T>(items: &[T]) {
    let bytes = std::mem::size_of_val(items);
    let base = items.as_ptr().cast::<u8>();
    // The line of every 64th byte and of the last one.
    for offset in (0..bytes).step_by(64).chain(bytes.checked_sub(1)) {
        // SAFETY: `offset` < `bytes`, so the address lies inside `items`.
        prefetch(unsafe { &*base.add(offset) });
    }
}

/// mb_skip_run (7.3.4) before each macroblock that is not skipped (0 before
/// a skipped one), and the run that ends the slice.
fn skip_runs(skip: &[bool]) -> (Vec<u32>, u32) {
    let mut run = 0u32;
    let runs = skip
        .iter()
        .map(|&s| {
            if s {
                run += 1;
                0
            } else {
                std::mem::take(&mut run)
            }
        })
        .collect();
    (runs, run)
}

/// pcm_alignment_zero_bit then the samples (7.3.5).
fn write_pcm<S: BitSink>(w: &mut S, mb: &MbCoding) {
    let pad = (8 - (w.bit_len() % 8) as u32) % 8;
    w.put_bits(pad, 0);
    if let Some(samples) = &mb.pcm {
        for &s in samples.iter() {
            w.put_bits(8, u32::from(s));
        }
    }
}

/// TotalCoeff of each luma block as neighbours see it (9.2.1): 16 for I_PCM,
/// 0 where the coded_block_pattern left the block out, the AC count for
/// Intra16x16.
fn luma_counts(mb: &MbCoding) -> [u8; 16] {
    if matches!(mb.luma, LumaPred::Pcm) {
        return [16; 16];
    }
    let is_i16 = matches!(mb.luma, LumaPred::I16(_));
    let Some(lv) = mb.levels.as_deref() else {
        return [0; 16];
    };
    std::array::from_fn(|blk| {
        if mb.cbp_luma & (1 << (blk / 4)) == 0 {
            0
        } else {
            coded_count(&lv.luma[blk], is_i16)
        }
    })
}

/// TotalCoeff (9.2.1) of a 4×4 block of levels, without index 0 for an AC
/// block.
fn coded_count(levels: &[i16; 16], ac: bool) -> u8 {
    (nonzero_mask(levels) & !u32::from(ac)).count_ones() as u8
}

/// Bit i set where `levels[i]` is nonzero: with SSE2 on x86-64 (part of
/// the architecture), else one level at a time.
#[inline(always)]
fn nonzero_mask(levels: &[i16; 16]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE2 is part of x86-64; the two loads read the 16 levels.
    unsafe {
        use std::arch::x86_64::*;
        let zero = _mm_setzero_si128();
        let low = _mm_cmpeq_epi16(_mm_loadu_si128(levels.as_ptr().cast()), zero);
        let high = _mm_cmpeq_epi16(_mm_loadu_si128(levels.as_ptr().add(8).cast()), zero);
        // One byte per level, 0xff where it is zero.
        !(_mm_movemask_epi8(_mm_packs_epi16(low, high)) as u32) & 0xffff
    }
    #[cfg(not(target_arch = "x86_64"))]
    levels
        .iter()
        .enumerate()
        .fold(0, |m, (i, &v)| m | u32::from(v != 0) << i)
}

fn chroma_counts(mb: &MbCoding) -> [[u8; 4]; 2] {
    if matches!(mb.luma, LumaPred::Pcm) {
        return [[16; 4]; 2];
    }
    let Some(lv) = mb.levels.as_deref() else {
        return [[0; 4]; 2];
    };
    std::array::from_fn(|c| {
        std::array::from_fn(|blk| {
            if mb.cbp_chroma & 2 == 0 {
                0
            } else {
                coded_count(&lv.chroma_ac[c][blk], true)
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sixteen nC found at once equal those found block by block
    /// (9.2.1), for random counts and every availability of the left and
    /// top macroblocks.
    #[test]
    fn luma_ncs_equal_each_block_nc() {
        let mut state = 7u32;
        let mut counts = || -> [u8; 16] {
            std::array::from_fn(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                ((state >> 24) % 17) as u8
            })
        };
        for _ in 0..500 {
            let (cur, left, top) = (counts(), counts(), counts());
            for (l, t) in [
                (None, None),
                (Some(&left), None),
                (None, Some(&top)),
                (Some(&left), Some(&top)),
            ] {
                let n = Neighbours {
                    cur: &cur,
                    left: l,
                    top: t,
                };
                let each: [u8; 16] = std::array::from_fn(|blk| n.luma_nc(blk));
                assert_eq!(n.luma_ncs(), each, "{cur:?} {l:?} {t:?}");
            }
        }
    }

    /// TotalCoeff of a block equals counting its nonzero levels one by one
    /// (from index 1 for an AC block), over blocks of every density and
    /// with levels at the 16-bit extremes.
    #[test]
    fn coded_count_equals_counting_levels() {
        let mut state = 0x0c07_7e57u32;
        let mut next = move |n: u32| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state % n
        };
        for case in 0..3000 {
            let density = next(17);
            let levels: [i16; 16] = std::array::from_fn(|_| {
                if next(16) >= density {
                    return 0;
                }
                match next(4) {
                    0 => [i16::MIN, i16::MAX, -1, 1][next(4) as usize],
                    _ => next(41) as i16 - 20,
                }
            });
            for ac in [false, true] {
                let want = levels[usize::from(ac)..]
                    .iter()
                    .filter(|&&v| v != 0)
                    .count();
                assert_eq!(
                    usize::from(coded_count(&levels, ac)),
                    want,
                    "case {case} {levels:?}"
                );
            }
        }
    }
}
