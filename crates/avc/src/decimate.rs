//! Decimation of inter luma residuals: levels that cost more bits than the
//! distortion they remove are dropped before reconstruction, as encoders
//! commonly do for inter blocks. A 4×4 block scores by how isolated its ±1
//! levels are; an 8×8 quarter scoring under [`QUARTER_MIN`] loses all its
//! levels, and a macroblock scoring under [`MB_MIN`] loses every luma level.
//! Any block holding a level above 1 in magnitude is never dropped. The
//! result is an ordinary choice of levels: the decoder reconstructs whatever
//! is coded (8.5.12), so the reconstruction is made from the kept levels.

/// Score of a 4×4 block with a level of magnitude above 1: never dropped.
const KEEP: u32 = 9;
/// Score of a ±1 level by the number of zeros before it in scan order
/// (towards DC); levels after six or more zeros score nothing.
const RUN_SCORE: [u32; 16] = [3, 2, 2, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
/// An 8×8 quarter whose four blocks score less than this is dropped.
pub const QUARTER_MIN: u32 = 4;
/// A macroblock whose quarters score less than this in all loses all its
/// luma levels.
pub const MB_MIN: u32 = 6;

/// The score of one block of levels in scan order: walking from the last
/// level towards DC, each ±1 level adds 3, 2, 2, 1, 1, 1 or 0 by the number
/// of zeros before it (0, 1, … 6 or more); any larger level makes the block
/// 9, which keeps it.
#[inline]
pub fn block_score<L: Level>(scan: &[L; 16]) -> u32 {
    let (nonzero, large) = L::masks(scan);
    if large != 0 {
        return KEEP;
    }
    score_of_ones(nonzero)
}

/// The score of ±1 levels at the set bits of `nonzero` (bit i: scan
/// position i), looked up ([`ONES_SCORE`]).
#[inline(always)]
fn score_of_ones(nonzero: u32) -> u32 {
    u32::from(ONES_SCORE[nonzero as usize & 0xffff])
}

/// [`score_of_ones_walked`] of every placement of ±1 levels in a block
/// (at most 16 · 3). (Its 65536 entries take the compiler longer than its
/// lint for endless loops likes.)
#[allow(long_running_const_eval)]
static ONES_SCORE: [u8; 1 << 16] = {
    let mut out = [0u8; 1 << 16];
    let mut mask = 0;
    while mask < out.len() {
        out[mask] = score_of_ones_walked(mask as u32) as u8;
        mask += 1;
    }
    out
};

/// The score of ±1 levels at the set bits of `nonzero` (bit i: scan
/// position i): each level's run is the distance down to the next lower
/// level, or to DC.
const fn score_of_ones_walked(nonzero: u32) -> u32 {
    let mut score = 0;
    let mut rest = nonzero;
    while rest != 0 {
        let pos = 31 - rest.leading_zeros();
        rest ^= 1 << pos;
        // One past the next lower level's position (0 when none is left).
        let floor = 32 - rest.leading_zeros();
        score += RUN_SCORE[(pos - floor) as usize];
    }
    score
}

/// A level as a block holds it: 32 bits where they are worked out, 16
/// where a macroblock keeps them.
pub trait Level: Copy + PartialEq {
    const ZERO: Self;
    /// [`level_masks`] of a block of such levels.
    fn masks(scan: &[Self; 16]) -> (u32, u32);
}

impl Level for i32 {
    const ZERO: i32 = 0;
    #[inline(always)]
    fn masks(scan: &[i32; 16]) -> (u32, u32) {
        level_masks(scan)
    }
}

impl Level for i16 {
    const ZERO: i16 = 0;
    #[inline(always)]
    fn masks(scan: &[i16; 16]) -> (u32, u32) {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: SSE2 is part of x86-64; the two loads read the 16 levels.
            unsafe { x86::level_masks_i16(scan) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            level_masks_portable(&scan.map(i32::from))
        }
    }
}

/// Bit i of the first mask is set where level i is nonzero, of the second
/// where |level i| exceeds 1: with SSE2 on x86-64, else one level at a time.
#[inline(always)]
fn level_masks(scan: &[i32; 16]) -> (u32, u32) {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of x86-64; the four loads read the 16 levels.
        unsafe { x86::level_masks(scan) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        level_masks_portable(scan)
    }
}

/// The portable [`level_masks`].
#[cfg_attr(target_arch = "x86_64", allow(dead_code))] // the reference for the SSE2 one
fn level_masks_portable(scan: &[i32; 16]) -> (u32, u32) {
    scan.iter()
        .enumerate()
        .fold((0, 0), |(nonzero, large), (i, &v)| {
            (
                nonzero | u32::from(v != 0) << i,
                large | u32::from(v.unsigned_abs() > 1) << i,
            )
        })
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// [`super::level_masks_portable`] with SSE2: the lane tests packed to
    /// bytes, one movemask each.
    ///
    /// # Safety
    /// None beyond SSE2, which every x86-64 CPU has.
    #[inline(always)]
    pub(super) unsafe fn level_masks(scan: &[i32; 16]) -> (u32, u32) {
        let p = scan.as_ptr().cast::<__m128i>();
        let v = [0, 1, 2, 3].map(|k| _mm_loadu_si128(p.add(k)));
        let (zero, one, minus_one) = (_mm_setzero_si128(), _mm_set1_epi32(1), _mm_set1_epi32(-1));
        let is_zero = v.map(|x| _mm_cmpeq_epi32(x, zero));
        let large = v.map(|x| _mm_or_si128(_mm_cmpgt_epi32(x, one), _mm_cmplt_epi32(x, minus_one)));
        let to_bits = |m: [__m128i; 4]| {
            let bytes = _mm_packs_epi16(_mm_packs_epi32(m[0], m[1]), _mm_packs_epi32(m[2], m[3]));
            _mm_movemask_epi8(bytes) as u32
        };
        (!to_bits(is_zero) & 0xffff, to_bits(large))
    }

    /// [`level_masks`] of 16-bit levels: two registers, packed to bytes
    /// with signed saturation (which keeps zero zero and ±1 as they are).
    ///
    /// # Safety
    /// None beyond SSE2, which every x86-64 CPU has.
    #[inline(always)]
    pub(super) unsafe fn level_masks_i16(scan: &[i16; 16]) -> (u32, u32) {
        let p = scan.as_ptr().cast::<__m128i>();
        let bytes = _mm_packs_epi16(_mm_loadu_si128(p), _mm_loadu_si128(p.add(1)));
        let (zero, one, minus_one) = (_mm_setzero_si128(), _mm_set1_epi8(1), _mm_set1_epi8(-1));
        let is_zero = _mm_cmpeq_epi8(bytes, zero);
        let large = _mm_or_si128(_mm_cmpgt_epi8(bytes, one), _mm_cmplt_epi8(bytes, minus_one));
        (
            !(_mm_movemask_epi8(is_zero) as u32) & 0xffff,
            _mm_movemask_epi8(large) as u32,
        )
    }
}

/// Drops the levels of an inter macroblock's luma blocks (luma4x4BlkIdx
/// order, scan order within a block) that score too little, per quarter
/// and then per macroblock.
pub fn decimate_inter_luma(levels: &mut [[i32; 16]; 16]) {
    let coded = (0..16).fold(0u16, |m, b| m | u16::from(levels[b] != [0; 16]) << b);
    decimate_coded_luma(levels, coded);
}

/// [`decimate_inter_luma`] where bit b of `coded` is set for each block b
/// that holds levels (the others must be all zero: they score nothing and
/// are not looked at). Returns the blocks that keep their levels.
pub fn decimate_coded_luma<L: Level>(levels: &mut [[L; 16]; 16], coded: u16) -> u16 {
    let mut total = 0;
    let mut kept = coded;
    for q in 0..4 {
        let in_quarter = coded >> (4 * q) & 0xf;
        if in_quarter == 0 {
            continue;
        }
        let quarter = &mut levels[4 * q..4 * q + 4];
        let score: u32 = (0..4)
            .filter(|b| in_quarter >> b & 1 != 0)
            .map(|b| block_score(&quarter[b]))
            .sum();
        if score < QUARTER_MIN {
            quarter.fill([L::ZERO; 16]);
            kept &= !(0xf << (4 * q));
        }
        total += score;
    }
    if total < MB_MIN && coded != 0 {
        levels.fill([L::ZERO; 16]);
        kept = 0;
    }
    kept
}

/// Scores of a macroblock's blocks added up as they come, to tell early
/// whether [`decimate_inter_luma`] will leave any level.
#[derive(Debug, Default, Clone, Copy)]
pub struct BareTally {
    quarters: [u32; 4],
    total: u32,
}

impl BareTally {
    /// Adds block `blk`'s levels; false once some level is sure to stay
    /// (a quarter at [`QUARTER_MIN`] or more and a macroblock total at
    /// [`MB_MIN`] or more: both only grow).
    pub fn add(&mut self, blk: usize, scan: &[i32; 16]) -> bool {
        let score = block_score(scan);
        self.quarters[blk / 4] += score;
        self.total += score;
        self.total < MB_MIN || self.quarters.iter().all(|&q| q < QUARTER_MIN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(levels: &[(usize, i32)]) -> [i32; 16] {
        let mut b = [0; 16];
        for &(i, v) in levels {
            b[i] = v;
        }
        b
    }

    /// The score walked level by level, as the definition reads.
    fn block_score_walked(scan: &[i32; 16]) -> u32 {
        let mut rest = match scan.iter().rposition(|&v| v != 0) {
            Some(last) => &scan[..=last],
            None => return 0,
        };
        let mut score = 0;
        while let Some((&level, before)) = rest.split_last() {
            if level.unsigned_abs() > 1 {
                return KEEP;
            }
            let run = before.iter().rev().take_while(|&&v| v == 0).count();
            score += RUN_SCORE[run];
            rest = &before[..before.len() - run];
        }
        score
    }

    #[test]
    fn scores_from_masks_equal_the_walk() {
        let mut state = 11u32;
        for case in 0..20_000 {
            let mut scan = [0i32; 16];
            for v in scan.iter_mut() {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                *v = match state >> 27 {
                    0..=2 => 1,
                    3..=5 => -1,
                    6 if case % 4 == 0 => [2, -2, i32::MAX, i32::MIN][case % 16 / 4],
                    _ => 0,
                };
            }
            assert_eq!(block_score(&scan), block_score_walked(&scan), "{scan:?}");
            assert_eq!(level_masks(&scan), level_masks_portable(&scan), "{scan:?}");
            // The 16-bit masks, levels clamped to 16 bits (as a macroblock
            // keeps them), and levels from 128 on (which pack to bytes
            // with saturation).
            let narrow = scan.map(|v| v.clamp(-32768, 32767) as i16);
            let wide = narrow.map(i32::from);
            assert_eq!(i16::masks(&narrow), level_masks_portable(&wide), "{scan:?}");
            let big = narrow.map(|v| v.saturating_mul(200));
            assert_eq!(i16::masks(&big), level_masks_portable(&big.map(i32::from)));
        }
        for pos in 0..16 {
            for level in [1, -1, 2, -2] {
                let scan = block(&[(pos, level)]);
                assert_eq!(block_score(&scan), block_score_walked(&scan));
            }
        }
    }

    #[test]
    fn scores_follow_the_runs_before_each_level() {
        assert_eq!(block_score(&[0; 16]), 0);
        // A lone DC ±1: no zeros before it.
        assert_eq!(block_score(&block(&[(0, 1)])), 3);
        assert_eq!(block_score(&block(&[(0, -1)])), 3);
        // The level at 5 has three zeros before it (positions 2..4), the
        // level at 1 one zero (position 0).
        assert_eq!(block_score(&block(&[(1, 1), (5, -1)])), 1 + 2);
        // A level after six zeros scores nothing.
        assert_eq!(block_score(&block(&[(6, 1)])), 0);
        assert_eq!(block_score(&block(&[(15, 1)])), 0);
        // Neighbouring levels: no zeros between them.
        assert_eq!(block_score(&block(&[(0, 1), (1, 1), (2, 1)])), 9);
        // Any level above 1 keeps the block.
        assert_eq!(block_score(&block(&[(15, 2)])), KEEP);
        assert_eq!(block_score(&block(&[(9, 1), (3, -5)])), KEEP);
    }

    #[test]
    fn a_quarter_under_the_threshold_is_dropped() {
        let mut levels = [[0; 16]; 16];
        // Quarter 0: one isolated level, score 0 (after six zeros) → dropped.
        levels[1] = block(&[(7, 1)]);
        // Quarter 1: a level above 1 → kept, and keeps the macroblock.
        levels[4] = block(&[(2, 3)]);
        // Quarter 2: three lone DC levels, score 9 → kept.
        levels[8] = block(&[(0, 1)]);
        levels[9] = block(&[(0, -1)]);
        levels[10] = block(&[(0, 1)]);
        let before = levels;
        decimate_inter_luma(&mut levels);
        assert_eq!(levels[1], [0; 16]);
        assert_eq!(levels[4], before[4]);
        assert_eq!(levels[8..11], before[8..11]);
    }

    #[test]
    fn the_tally_agrees_with_decimation() {
        let mut state = 7u32;
        for case in 0..4000 {
            let mut levels = [[0i32; 16]; 16];
            for b in levels.iter_mut() {
                for v in b.iter_mut() {
                    state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    // Mostly zeros, some ±1, a few larger levels.
                    *v = match state >> 24 {
                        0..=3 => 1,
                        4..=7 => -1,
                        8 if case % 3 == 0 => 2,
                        _ => 0,
                    };
                }
            }
            let mut tally = BareTally::default();
            let mut bare = true;
            for (blk, b) in levels.iter().enumerate() {
                bare = tally.add(blk, b);
                if !bare {
                    break;
                }
            }
            let mut decimated = levels;
            decimate_inter_luma(&mut decimated);
            assert_eq!(bare, decimated == [[0; 16]; 16], "case {case}");
            // The blocks said to keep their levels are those left nonzero.
            let coded = (0..16).fold(0u16, |m, b| m | u16::from(levels[b] != [0; 16]) << b);
            let mut again = levels;
            let kept = decimate_coded_luma(&mut again, coded);
            assert_eq!(again, decimated, "case {case}");
            let left = (0..16).fold(0u16, |m, b| m | u16::from(decimated[b] != [0; 16]) << b);
            assert_eq!(kept, left, "case {case}");
        }
    }

    #[test]
    fn a_macroblock_under_the_threshold_loses_every_level() {
        let mut levels = [[0; 16]; 16];
        // Two quarters each scoring 4 (kept alone) but 8 in all: kept.
        levels[0] = block(&[(0, 1), (4, 1)]);
        levels[12] = block(&[(0, 1), (4, 1)]);
        assert_eq!(block_score(&levels[0]), 4);
        let kept = levels;
        decimate_inter_luma(&mut levels);
        assert_eq!(levels, kept);
        // One quarter scoring 5 (kept alone), the macroblock 5 < 6: dropped.
        let mut levels = [[0; 16]; 16];
        levels[0] = block(&[(0, 1), (2, 1)]);
        assert_eq!(block_score(&levels[0]), 5);
        decimate_inter_luma(&mut levels);
        assert_eq!(levels, [[0; 16]; 16]);
    }
}
