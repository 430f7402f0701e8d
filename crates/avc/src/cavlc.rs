//! Residual syntax with CAVLC: residual_block_cavlc (7.3.5.3.2) written by
//! inverting the parsing process of clause 9.2.
//!
//! A block is first analysed and its levels turned into codewords; only when
//! every level is codable are bits written, so on error the sink is left
//! untouched. The same writer, run on a
//! [`BitCounter`], gives the block's size.

use crate::bits::{BitCounter, BitSink};
use crate::cavlc_tables::{
    Vlc, COEFF_TOKEN_CHROMA_DC, COEFF_TOKEN_NC_0_TO_2, COEFF_TOKEN_NC_2_TO_4,
    COEFF_TOKEN_NC_4_TO_8, COEFF_TOKEN_NC_8_UP, COEFF_TOKEN_NC_MAX_LEN, ZEROS_AND_RUNS_4X4,
    ZEROS_AND_RUNS_CHROMA_DC,
};

/// Which coeff_token table applies (9.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoeffTokenTable {
    /// nC ≥ 0 computed from neighbours (0..2, 2..4, 4..8, 8+ columns of Table 9-5).
    Nc(u8),
    /// Chroma DC of 4:2:0 (nC = −1).
    ChromaDc,
}

impl CoeffTokenTable {
    /// The largest maxNumCoeff this table codes: 16 for nC ≥ 0, 4 for 4:2:0 chroma DC.
    pub const fn max_num_coeff(self) -> usize {
        match self {
            Self::Nc(_) => 16,
            Self::ChromaDc => 4,
        }
    }

    /// The Table 9-5 column, indexed `[TotalCoeff][TrailingOnes]` (9.2.1).
    fn column(self) -> &'static [[Vlc; 4]] {
        match self {
            Self::Nc(0..=1) => &COEFF_TOKEN_NC_0_TO_2,
            Self::Nc(2..=3) => &COEFF_TOKEN_NC_2_TO_4,
            Self::Nc(4..=7) => &COEFF_TOKEN_NC_4_TO_8,
            Self::Nc(_) => &COEFF_TOKEN_NC_8_UP,
            Self::ChromaDc => &COEFF_TOKEN_CHROMA_DC,
        }
    }
}

/// Why a block cannot be written with CAVLC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CavlcError {
    /// A level needs levelCode beyond level_prefix 15 (the caller codes the
    /// macroblock as I_PCM).
    #[error("coefficient level {level} cannot be coded with CAVLC (level_prefix would exceed 15)")]
    LevelOverflow { level: i32 },
    /// The coefficient slice is longer than any maxNumCoeff of the table.
    #[error(
        "residual block has {len} coefficients (expected at most {max} for this coeff_token table)"
    )]
    BlockTooLong { len: usize, max: usize },
}

/// Every level whose magnitude is at most this is codable in any position of any
/// block (the tightest case is suffixLength 0 without the −1 adjustment of 9.2.2.1:
/// levelCode ≤ 30 + 4095).
pub const MAX_ALWAYS_CODABLE_LEVEL: i32 = 2063;

/// Largest level_suffix with level_prefix 15 (a 12-bit suffix, 9.2.2.1).
const ESCAPE_SUFFIX_LIMIT: u64 = 1 << 12;

/// Largest suffixLength (9.2.2.1: it is incremented only while less than 6).
const MAX_SUFFIX_LENGTH: u32 = 6;

/// residual_block_cavlc (7.3.5.3.2): writes the block and returns TotalCoeff.
/// `coeffs` are levels in scan order; its length is maxNumCoeff (16, 15 or 4).
///
/// Any length up to the table's [`CoeffTokenTable::max_num_coeff`] is coded with
/// maxNumCoeff equal to that length; a longer slice is [`CavlcError::BlockTooLong`].
/// On error nothing is written.
pub fn write_residual_block<S: BitSink, C: Coeff>(
    sink: &mut S,
    coeffs: &[C],
    table: CoeffTokenTable,
) -> Result<u8, CavlcError> {
    let shape = BlockShape::new(coeffs, table)?;
    if shape.has_large {
        // A level may not be codable: find out before writing anything.
        shape.write_after_token(&mut BitCounter::default(), coeffs, table)?;
    }
    shape.write(sink, coeffs, table)?;
    Ok(shape.total_coeff as u8)
}

/// residual_block_cavlc (7.3.5.3.2) of a block whose levels are all zero:
/// coeff_token with TotalCoeff 0 alone, the bits [`write_residual_block`]
/// writes for such a block.
pub fn write_empty_block<S: BitSink>(sink: &mut S, table: CoeffTokenTable) {
    put_vlc(sink, table.column()[0][0]);
}

/// Bits the block takes in the worst case over the four nC ≥ 0 coeff_token tables
/// (so the result does not depend on neighbouring macroblocks). For ChromaDc it is exact.
#[inline]
pub fn residual_block_bits_bound(
    coeffs: &[i32],
    table: CoeffTokenTable,
) -> Result<u32, CavlcError> {
    check_len(coeffs, table)?;
    let lanes = scan_lanes(coeffs);
    if lanes.nonzero == 0 {
        // Often the case: coeff_token with TotalCoeff 0 alone.
        return Ok(u32::from(token_len_bound(table, 0, 0)));
    }
    coded_bits_bound(coeffs, table, lanes)
}

/// [`residual_block_bits_bound`] of levels as a macroblock holds them (16
/// bits each).
pub fn held_block_bits_bound(levels: &[i16], table: CoeffTokenTable) -> Result<u32, CavlcError> {
    let mut wide = [0i32; 16];
    let Some(w) = wide.get_mut(..levels.len()) else {
        let max = table.max_num_coeff();
        return Err(CavlcError::BlockTooLong {
            len: levels.len(),
            max,
        });
    };
    for (w, &l) in w.iter_mut().zip(levels) {
        *w = i32::from(l);
    }
    residual_block_bits_bound(w, table)
}

/// [`residual_block_bits_bound`] of a block with nonzero levels.
#[inline(never)]
fn coded_bits_bound(
    coeffs: &[i32],
    table: CoeffTokenTable,
    lanes: Lanes,
) -> Result<u32, CavlcError> {
    let shape = BlockShape::from_lanes(coeffs, lanes);
    let mut counter = BitCounter::default();
    shape.write_after_token(&mut counter, coeffs, table)?;
    let token = token_len_bound(table, shape.total_coeff, shape.trailing_ones);
    Ok(counter.bits as u32 + u32::from(token))
}

/// Largest |level| that [`QuickBound`] counts with the short level bounds.
const QUICK_LEVEL_MAX: u32 = 15;

/// A bound on the bits of several residual blocks that is cheaper to find
/// than [`residual_block_bits_bound`] of each, for the macroblock size check
/// (whether a macroblock fits its bound needs no exact count when it fits
/// easily). It holds for any coeff_token table while every level lies
/// within ±[`MAX_ALWAYS_CODABLE_LEVEL`].
///
/// A block without levels is coeff_token alone: at most 16 bits (Table 9-5).
/// A block with n > 0 levels takes at most 41 + Σ (2 + L) bits over its
/// levels (9.2): coeff_token at most 16, trailing_ones_sign_flag at most 3,
/// total_zeros at most 9 (Tables 9-7, 9-8), and the at most n − 1
/// run_before at most 3 bits each plus their runs beyond 6 (Table 9-10),
/// in all ≤ 3(n − 1) + total_zeros ≤ 2n + 13 as total_zeros ≤ 16 − n. L is
/// the level's own bits (9.2.2.1, levelCode ≤ 2|level| − 1), bounded by
/// the block's largest magnitude M, which bounds suffixLength: it becomes
/// at least 1 after the first level and grows by one only after a level
/// beyond 3 << (suffixLength − 1), so it stays ≤ 1 where M ≤ 3 and ≤ 3
/// where M ≤ 7. Then at suffixLength ≥ 1 a level takes (levelCode >>
/// suffixLength) + 1 + suffixLength bits: ≤ 4 for |level| ≤ 3 and ≤ 8 for
/// ≤ 7; at most one level is coded at suffixLength 0, taking levelCode + 1
/// bits, 2 (M ≤ 3) or 6 (M ≤ 7) more. Beyond M = 7 suffixLength may reach
/// 6, so L is bounded whatever it is: ≤ 7 for |level| ≤ 3, ≤ 14 for ≤ 7,
/// ≤ 19 (level_prefix 14 with a 4-bit suffix) for ≤ 15, and ≤ 28 (the
/// escape, level_prefix 15 with a 12-bit suffix) for a level up to
/// ±[`MAX_ALWAYS_CODABLE_LEVEL`], which always fits it.
/// A block with a level beyond that (which may not be codable) is counted
/// with its exact bound ([`residual_block_bits_bound`]) instead, so that
/// one such block does not send the whole macroblock to the exact count.
#[derive(Debug, Default, Clone, Copy)]
pub struct QuickBound(BoundSum);

impl QuickBound {
    /// Counts one block of levels (any length up to 16) whose coded part
    /// is `coeffs[from..]` and whose coeff_token comes from `table`. Levels
    /// in positions the block does not code (index 0 of an AC block) are
    /// counted by the quick bound too: counting more levels only raises it.
    #[inline]
    pub fn add(&mut self, coeffs: &[i16], from: usize, table: CoeffTokenTable) {
        let (bits, huge) = quick_block_bits(coeffs);
        self.0
            .add((!huge).then_some(bits), coeffs.get(from..), table);
    }

    /// The bound on the bits of the blocks counted, `None` where a level
    /// cannot be coded.
    pub fn bits(&self) -> Option<u32> {
        self.0.bits()
    }
}

/// A sum of block bounds ([`QuickBound`], [`TightBound`]), each block's
/// exact bound ([`held_block_bits_bound`]) standing in where its own gives
/// none.
#[derive(Debug, Default, Clone, Copy)]
struct BoundSum {
    bits: u32,
    /// Some level cannot be coded with CAVLC.
    uncodable: bool,
}

impl BoundSum {
    /// Adds `bound`, or else the exact bound of the coded levels `coded`
    /// (none: not a block).
    #[inline(always)]
    fn add(&mut self, bound: Option<u32>, coded: Option<&[i16]>, table: CoeffTokenTable) {
        let exact = || coded.and_then(|c| held_block_bits_bound(c, table).ok());
        match bound.or_else(exact) {
            Some(bits) => self.bits += bits,
            None => self.uncodable = true,
        }
    }

    fn bits(&self) -> Option<u32> {
        (!self.uncodable).then_some(self.bits)
    }
}

/// One block's [`QuickBound`] and whether a level lies beyond
/// ±[`MAX_ALWAYS_CODABLE_LEVEL`] (where it gives none): with SSE2 on x86-64
/// for 16 levels, else one at a time.
#[inline(always)]
fn quick_block_bits(coeffs: &[i16]) -> (u32, bool) {
    quick_bits_from_counts(magnitude_counts_and_mask(coeffs).0)
}

/// A bound on the bits of several residual blocks between [`QuickBound`]
/// and the exact [`residual_block_bits_bound`], for macroblocks that the
/// quick bound does not settle: a block is bounded by its longest
/// coeff_token for its TotalCoeff (Table 9-5, any TrailingOnes; over the
/// four nC ≥ 0 columns, or the chroma DC one), its exact total_zeros and
/// run_before ([`ZEROS_AND_RUNS_4X4`], [`ZEROS_AND_RUNS_CHROMA_DC`]: they
/// depend on where the levels lie alone), and the levels' own bits L as
/// [`QuickBound`] bounds them (a trailing one's sign flag is 1 bit, within
/// its L). A block with a level beyond ±[`MAX_ALWAYS_CODABLE_LEVEL`] is
/// counted exactly.
#[derive(Debug, Default, Clone, Copy)]
pub struct TightBound(BoundSum);

impl TightBound {
    /// Counts one block of levels (any length up to 16) whose coded part
    /// is `coeffs[from..]` and whose coeff_token comes from `table`.
    #[inline]
    pub fn add(&mut self, coeffs: &[i16], from: usize, table: CoeffTokenTable) {
        let bound = tight_block_bits(coeffs, from, table);
        self.0.add(bound, coeffs.get(from..), table);
    }

    /// The bound on the bits of the blocks counted, `None` where a level
    /// cannot be coded.
    pub fn bits(&self) -> Option<u32> {
        self.0.bits()
    }
}

/// [`TightBound`] of one block (a 4×4 or AC block of an nC ≥ 0 table, or a
/// chroma DC block), `None` for other blocks and where a level lies beyond
/// ±[`MAX_ALWAYS_CODABLE_LEVEL`]. A level held but not coded (index 0 of
/// an AC block) only raises the level counts.
#[inline(always)]
fn tight_block_bits(coeffs: &[i16], from: usize, table: CoeffTokenTable) -> Option<u32> {
    let len = coeffs.len().checked_sub(from)? as u32;
    let shaped = match table {
        CoeffTokenTable::Nc(_) => len == 15 || len == 16,
        CoeffTokenTable::ChromaDc => len == 4,
    };
    if !shaped {
        return None;
    }
    let (counts, nonzero) = magnitude_counts_and_mask(coeffs);
    if counts[4] != 0 {
        return None;
    }
    let coded = nonzero >> from;
    let total = coded.count_ones();
    let token = u32::from(match table {
        CoeffTokenTable::Nc(_) => TOKEN_NC_MAX_LEN[total as usize],
        CoeffTokenTable::ChromaDc => TOKEN_CHROMA_DC_LEN[total as usize],
    });
    if total == 0 {
        return Some(token);
    }
    let zeros_and_runs = if total < len {
        31 - zeros_and_runs(table, coded).leading_zeros()
    } else {
        0
    };
    Some(token + zeros_and_runs + quick_level_bits(counts))
}

/// The numbers of levels beyond each of [`QUICK_STEPS`] and the levels'
/// nonzero mask (bit i: level i) of at most 16 levels: with SSE2 on x86-64
/// for 16, else one level at a time.
#[inline(always)]
fn magnitude_counts_and_mask(coeffs: &[i16]) -> ([u32; 5], u32) {
    #[cfg(target_arch = "x86_64")]
    if let Ok(block) = <&[i16; 16]>::try_from(coeffs) {
        // SAFETY: SSE2 is part of x86-64; the loads read the 16 levels.
        return unsafe { x86::magnitude_counts_and_mask(block) };
    }
    let mut masks = [0u32; 5];
    for (i, &c) in coeffs.iter().enumerate() {
        let m = u32::from(c.unsigned_abs());
        for (mask, t) in masks.iter_mut().zip(QUICK_STEPS) {
            *mask |= u32::from(m > t) << i;
        }
    }
    (masks.map(u32::count_ones), masks[0])
}

/// The longest coeff_token over the four nC ≥ 0 columns of Table 9-5 for
/// each TotalCoeff, over every TrailingOnes.
const TOKEN_NC_MAX_LEN: [u8; 17] = longest_by_total(&[
    &COEFF_TOKEN_NC_0_TO_2,
    &COEFF_TOKEN_NC_2_TO_4,
    &COEFF_TOKEN_NC_4_TO_8,
    &COEFF_TOKEN_NC_8_UP,
]);

/// The longest chroma DC coeff_token (Table 9-5, nC = −1) for each
/// TotalCoeff, over every TrailingOnes.
const TOKEN_CHROMA_DC_LEN: [u8; 5] = longest_by_total(&[&COEFF_TOKEN_CHROMA_DC]);

/// The longest codeword of `columns` (indexed `[TotalCoeff][TrailingOnes]`)
/// for each TotalCoeff.
const fn longest_by_total<const N: usize>(columns: &[&[[Vlc; 4]; N]]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut c = 0;
    while c < columns.len() {
        let mut total = 0;
        while total < N {
            let mut ones = 0;
            while ones < 4 {
                let len = columns[c][total][ones].0;
                if len > out[total] {
                    out[total] = len;
                }
                ones += 1;
            }
            total += 1;
        }
        c += 1;
    }
    out
}

/// Magnitudes at which a level's share of [`QuickBound`] steps up (the
/// last: maybe not codable).
const QUICK_STEPS: [u32; 5] = [0, 3, 7, QUICK_LEVEL_MAX, MAX_ALWAYS_CODABLE_LEVEL as u32];

/// [`QuickBound`] of a block from its numbers of levels beyond each of
/// [`QUICK_STEPS`]: per level 2 + L, with L by the largest magnitude (6 per
/// level where it is at most 3, 6 or 10 where at most 7, else 9, 16, 21 or
/// 30); and whether a level may not be codable.
fn quick_bits_from_counts(counts: [u32; 5]) -> (u32, bool) {
    let [nonzero, .., huge] = counts;
    let bits = if nonzero == 0 {
        16
    } else {
        41 + 2 * nonzero + quick_level_bits(counts)
    };
    (bits, huge != 0)
}

/// Σ L over the levels counted in `counts` (see [`QuickBound`]): 4 a level
/// where the largest magnitude is at most 3, 4 or 8 where it is at most 7,
/// plus 2 or 6 for the one level coded at suffixLength 0; else 7, 14, 19 or
/// 28 by the level's magnitude.
fn quick_level_bits([nonzero, above3, above7, above15, _]: [u32; 5]) -> u32 {
    if above3 == 0 {
        2 + 4 * nonzero
    } else if above7 == 0 {
        6 + 4 * nonzero + 4 * above3
    } else {
        7 * nonzero + 7 * above3 + 5 * above7 + 9 * above15
    }
}

/// Length of coeff_token: the longest over the four nC ≥ 0 columns of Table 9-5
/// for those tables, the exact one for ChromaDc.
fn token_len_bound(table: CoeffTokenTable, total_coeff: u32, trailing_ones: u32) -> u8 {
    let (total, ones) = (total_coeff as usize, trailing_ones as usize);
    match table {
        CoeffTokenTable::ChromaDc => table.column()[total][ones].0,
        CoeffTokenTable::Nc(_) => COEFF_TOKEN_NC_MAX_LEN[total][ones],
    }
}

/// [`CavlcError::BlockTooLong`] when `coeffs` is longer than the table's maxNumCoeff.
fn check_len<C>(coeffs: &[C], table: CoeffTokenTable) -> Result<(), CavlcError> {
    let max = table.max_num_coeff();
    if coeffs.len() > max {
        return Err(CavlcError::BlockTooLong {
            len: coeffs.len(),
            max,
        });
    }
    Ok(())
}

/// Exact bits of the block with the given table (the same code path as the writer).
pub fn residual_block_bits(coeffs: &[i32], table: CoeffTokenTable) -> Result<u32, CavlcError> {
    let mut counter = BitCounter::default();
    BlockShape::new(coeffs, table)?.write(&mut counter, coeffs, table)?;
    Ok(counter.bits as u32)
}

/// nC from the neighbours' total_coeff (9.2.1): both available → (nA + nB + 1) >> 1, one → that one, none → 0.
///
/// The caller supplies the neighbour's count as 9.2.1 defines it (16 for an I_PCM
/// neighbour, 0 for a skipped one or one without residual).
pub fn nc_from_neighbours(left: Option<u8>, top: Option<u8>) -> u8 {
    match (left, top) {
        (Some(a), Some(b)) => ((u16::from(a) + u16::from(b) + 1) >> 1) as u8,
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (None, None) => 0,
    }
}

/// TotalCoeff of a block: its number of nonzero levels (saturating at 255).
pub fn total_coeff(coeffs: &[i32]) -> u8 {
    if coeffs.len() <= 16 {
        return scan_lanes(coeffs).nonzero.count_ones() as u8;
    }
    let n = coeffs.iter().filter(|&&c| c != 0).count();
    u8::try_from(n).unwrap_or(u8::MAX)
}

/// Length of coeff_token (Table 9-5), or `None` for a combination the table lacks
/// (TrailingOnes > min(TotalCoeff, 3), or TotalCoeff beyond the table).
pub fn coeff_token_len(table: CoeffTokenTable, total_coeff: u8, trailing_ones: u8) -> Option<u32> {
    let len = table
        .column()
        .get(usize::from(total_coeff))?
        .get(usize::from(trailing_ones))?
        .0;
    (len > 0).then_some(u32::from(len))
}

/// Longest coeff_token over the four nC ≥ 0 columns of Table 9-5 (`None` as for
/// [`coeff_token_len`]).
pub fn coeff_token_bound_len(total_coeff: u8, trailing_ones: u8) -> Option<u32> {
    let len = *COEFF_TOKEN_NC_MAX_LEN
        .get(usize::from(total_coeff))?
        .get(usize::from(trailing_ones))?;
    (len > 0).then_some(u32::from(len))
}

/// One level as level_prefix and level_suffix (9.2.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct LevelCodeword {
    prefix: u8,
    suffix_size: u8,
    suffix: u16,
}

impl LevelCodeword {
    /// level_prefix (Table 9-6: `prefix` zeros then a one) followed by level_suffix,
    /// as one (length, bits) pair of at most 15 + 1 + 12 bits.
    const fn vlc(self) -> (u32, u32) {
        let size = self.suffix_size as u32;
        (
            self.prefix as u32 + 1 + size,
            (1 << size) | self.suffix as u32,
        )
    }
}

/// levelCode of a nonzero level, before the TrailingOnes < 3 adjustment (9.2.2.1
/// inverted: even codes are positive levels, odd codes negative ones).
const fn level_code(level: i32) -> u64 {
    let magnitude = level.unsigned_abs() as u64;
    if level > 0 {
        2 * magnitude - 2
    } else {
        2 * magnitude - 1
    }
}

/// level_prefix and level_suffix of `code` at `suffix_length` (9.2.2.1
/// inverted) as one (length, bits) pair; `None` when levelCode does not fit.
/// Codes below level_prefix 14 (13 at suffixLength 0), nearly all of them,
/// take the short path.
#[inline(always)]
const fn level_vlc(code: u64, suffix_length: u32) -> Option<(u32, u32)> {
    let plain_limit = (15u64 << suffix_length) - (suffix_length == 0) as u64;
    if code < plain_limit {
        // level_prefix = code >> suffixLength zeros and a one, then the low
        // suffixLength bits of the code.
        let mask = (1u32 << suffix_length) - 1;
        let len = (code >> suffix_length) as u32 + 1 + suffix_length;
        return Some((len, (1 << suffix_length) | (code as u32 & mask)));
    }
    match level_codeword(code, suffix_length) {
        Some(codeword) => Some(codeword.vlc()),
        None => None,
    }
}

/// level_prefix / level_suffix for `code` at `suffix_length` (9.2.2.1 inverted),
/// with level_prefix ≤ 15; `None` when levelCode does not fit.
const fn level_codeword(code: u64, suffix_length: u32) -> Option<LevelCodeword> {
    // Codes below `escape_start` use level_prefix 0..=14; from it on, level_prefix 15
    // with a 12-bit suffix.
    let escape_start = if suffix_length == 0 {
        if code < 14 {
            // level_prefix 0..=13 alone.
            return Some(LevelCodeword {
                prefix: code as u8,
                suffix_size: 0,
                suffix: 0,
            });
        }
        if code < 30 {
            // level_prefix 14 with suffixLength 0: a 4-bit suffix.
            return Some(LevelCodeword {
                prefix: 14,
                suffix_size: 4,
                suffix: (code - 14) as u16,
            });
        }
        // level_prefix 15 with suffixLength 0: levelCode = 15 + level_suffix + 15.
        30
    } else {
        let start = 15u64 << suffix_length;
        if code < start {
            let mask = (1u64 << suffix_length) - 1;
            return Some(LevelCodeword {
                prefix: (code >> suffix_length) as u8,
                suffix_size: suffix_length as u8,
                suffix: (code & mask) as u16,
            });
        }
        start
    };
    let suffix = code - escape_start;
    if suffix >= ESCAPE_SUFFIX_LIMIT {
        return None;
    }
    Some(LevelCodeword {
        prefix: 15,
        suffix_size: 12,
        suffix: suffix as u16,
    })
}

/// Largest |level| that [`LEVEL_TABLE`] holds.
const TABLE_LEVEL_MAX: i32 = 32;

/// A level's codeword at one suffixLength, levelCode unadjusted (9.2.2.1),
/// and the suffixLength after it: [`level_vlc`] and [`next_suffix_length`]
/// looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LevelEntry {
    bits: u16,
    len: u8,
    next: u8,
}

impl LevelEntry {
    /// The entry of nonzero `level` at `suffix_length` (0..=6), where the
    /// table has it.
    #[inline(always)]
    fn of(suffix_length: u32, level: i32) -> Option<LevelEntry> {
        debug_assert!(level != 0);
        let row = LEVEL_TABLE.get(suffix_length as usize)?;
        row.get(level.wrapping_add(TABLE_LEVEL_MAX) as usize)
            .copied()
    }

    /// The entry of `level` (0 < |level| ≤ TABLE_LEVEL_MAX, always codable)
    /// at `suffix_length`, from [`level_vlc`] and [`next_suffix_length`].
    const fn new(suffix_length: u32, level: i32) -> LevelEntry {
        let Some((len, bits)) = level_vlc(level_code(level), suffix_length) else {
            panic!("a level of the table has no codeword");
        };
        LevelEntry {
            bits: bits as u16,
            len: len as u8,
            next: next_suffix_length(suffix_length, level) as u8,
        }
    }
}

/// [`LevelEntry`] by suffixLength (0..=6) and level + [`TABLE_LEVEL_MAX`]
/// (the level 0 entry is never read).
static LEVEL_TABLE: [[LevelEntry; 2 * TABLE_LEVEL_MAX as usize + 1]; 7] = {
    let empty = LevelEntry {
        bits: 0,
        len: 0,
        next: 0,
    };
    let mut table = [[empty; 2 * TABLE_LEVEL_MAX as usize + 1]; 7];
    let mut sl = 0;
    while sl < 7 {
        let mut level = -TABLE_LEVEL_MAX;
        while level <= TABLE_LEVEL_MAX {
            if level != 0 {
                table[sl][(level + TABLE_LEVEL_MAX) as usize] = LevelEntry::new(sl as u32, level);
            }
            level += 1;
        }
        sl += 1;
    }
    table
};

/// suffixLength after coding `level` (9.2.2.1): at least 1, then incremented (up to 6)
/// when |level| > 3 << (suffixLength − 1).
const fn next_suffix_length(suffix_length: u32, level: i32) -> u32 {
    let sl = if suffix_length == 0 { 1 } else { suffix_length };
    if sl < MAX_SUFFIX_LENGTH && level.unsigned_abs() > (3u32 << (sl - 1)) {
        sl + 1
    } else {
        sl
    }
}

/// What residual_block_cavlc needs besides the levels themselves (7.4.5.3.2),
/// read off the block's nonzero mask. The levels are then visited from the
/// mask, highest scan position first, as 7.3.5.3.2 codes them.
#[derive(Debug, Clone, Copy)]
struct BlockShape {
    /// maxNumCoeff: the block's length.
    max_num_coeff: u32,
    total_coeff: u32,
    trailing_ones: u32,
    /// trailing_ones_sign_flag of each trailing one (1 for −1), the first coded
    /// in the highest of the `trailing_ones` low bits.
    signs: u32,
    /// Bit i set where `coeffs[i]` is nonzero.
    nonzero: u32,
    /// `nonzero` without the trailing ones: the levels coded as level_prefix /
    /// level_suffix.
    others: u32,
    /// Some level is beyond [`MAX_ALWAYS_CODABLE_LEVEL`], so coding may fail.
    has_large: bool,
}

impl BlockShape {
    /// Analyses `coeffs` (scan order, length maxNumCoeff).
    #[inline(always)]
    fn new<C: Coeff>(coeffs: &[C], table: CoeffTokenTable) -> Result<Self, CavlcError> {
        check_len(coeffs, table)?;
        Ok(Self::from_lanes(coeffs, C::lanes(coeffs)))
    }

    /// The shape of `coeffs`, whose [`Lanes`] are `lanes`.
    #[inline(always)]
    fn from_lanes<C: Coeff>(coeffs: &[C], lanes: Lanes) -> Self {
        let total_coeff = count_ones_16(lanes.nonzero);
        // Zeros below the last nonzero level (those above it are not coded).
        let (trailing_ones, signs, others) = trailing_ones(coeffs, lanes.nonzero);
        BlockShape {
            max_num_coeff: coeffs.len() as u32,
            total_coeff,
            trailing_ones,
            signs,
            nonzero: lanes.nonzero,
            others,
            has_large: lanes.has_large,
        }
    }

    /// The coeff_token codeword (Table 9-5).
    fn coeff_token(&self, table: CoeffTokenTable) -> Vlc {
        table.column()[self.total_coeff as usize][self.trailing_ones as usize]
    }

    /// residual_block_cavlc (7.3.5.3.2).
    #[inline(always)]
    fn write<S: BitSink, C: Coeff>(
        &self,
        sink: &mut S,
        coeffs: &[C],
        table: CoeffTokenTable,
    ) -> Result<(), CavlcError> {
        let (len, code) = self.coeff_token(table);
        if self.total_coeff == 0 {
            sink.put_bits(u32::from(len), u32::from(code));
            return Ok(());
        }
        // coeff_token and trailing_ones_sign_flag (at most 16 + 3 bits) in one go.
        let ones = self.trailing_ones;
        sink.put_bits(u32::from(len) + ones, u32::from(code) << ones | self.signs);
        self.write_levels_on(sink, coeffs, table)
    }

    /// residual_block_cavlc (7.3.5.3.2) after coeff_token. Fails only where
    /// `has_large` is set, at the first level (in coding order) that does not fit.
    #[inline(always)]
    fn write_after_token<S: BitSink, C: Coeff>(
        &self,
        sink: &mut S,
        coeffs: &[C],
        table: CoeffTokenTable,
    ) -> Result<(), CavlcError> {
        if self.total_coeff == 0 {
            return Ok(());
        }
        sink.put_bits(self.trailing_ones, self.signs);
        self.write_levels_on(sink, coeffs, table)
    }

    /// residual_block_cavlc (7.3.5.3.2) from the levels on: levels,
    /// total_zeros and run_before, after trailing_ones_sign_flag.
    #[inline(always)]
    fn write_levels_on<S: BitSink, C: Coeff>(
        &self,
        sink: &mut S,
        coeffs: &[C],
        table: CoeffTokenTable,
    ) -> Result<(), CavlcError> {
        self.write_levels(sink, coeffs)?;
        if self.total_coeff == self.max_num_coeff {
            // No zeros: neither total_zeros nor run_before is coded.
            return Ok(());
        }
        put_marked(sink, zeros_and_runs(table, self.nonzero));
        Ok(())
    }

    /// level_prefix / level_suffix of every level but the trailing ones, tracking
    /// suffixLength as 9.2.2.1 does.
    #[inline(always)]
    fn write_levels<S: BitSink, C: Coeff>(
        &self,
        sink: &mut S,
        coeffs: &[C],
    ) -> Result<(), CavlcError> {
        // 7.3.5.3.2: suffixLength starts at 1 for many levels without three trailing ones.
        let mut suffix_length = u32::from(self.total_coeff > 10 && self.trailing_ones < 3);
        // 9.2.2.1: with fewer than three trailing ones, the first other level has
        // |level| ≥ 2, so the decoder adds 2 to levelCode.
        let mut adjust: u64 = if self.trailing_ones < 3 { 2 } else { 0 };
        let mut rest = self.others;
        while let Some(pos) = highest_bit(rest) {
            rest ^= 1 << pos;
            let level = coeffs[pos as usize].value();
            if adjust == 0 {
                if let Some(e) = LevelEntry::of(suffix_length, level) {
                    sink.put_bits(u32::from(e.len), u32::from(e.bits));
                    suffix_length = u32::from(e.next);
                    continue;
                }
            }
            let (len, bits) = level_vlc(level_code(level) - adjust, suffix_length)
                .ok_or(CavlcError::LevelOverflow { level })?;
            sink.put_bits(len, bits);
            adjust = 0;
            suffix_length = next_suffix_length(suffix_length, level);
        }
        Ok(())
    }
}

/// total_zeros and every run_before (7.3.5.3.2) of a block with levels
/// at the set bits of `nonzero`, fewer than its maxNumCoeff, as one marked
/// codeword ([`ZEROS_AND_RUNS_4X4`], [`ZEROS_AND_RUNS_CHROMA_DC`]).
#[inline(always)]
fn zeros_and_runs(table: CoeffTokenTable, nonzero: u32) -> u32 {
    match table {
        CoeffTokenTable::Nc(_) => ZEROS_AND_RUNS_4X4[nonzero as usize & 0xffff],
        CoeffTokenTable::ChromaDc => ZEROS_AND_RUNS_CHROMA_DC[nonzero as usize & 0xf],
    }
}

/// TrailingOnes (7.4.5.3.2): up to three ±1 levels at the high-frequency end.
/// Returns their count, their sign flags (the first in the highest bit) and
/// `nonzero` without them.
#[inline(always)]
fn trailing_ones<C: Coeff>(coeffs: &[C], mut nonzero: u32) -> (u32, u32, u32) {
    let (mut ones, mut signs) = (0, 0);
    while ones < 3 {
        let Some(pos) = highest_bit(nonzero) else {
            break;
        };
        let level = coeffs[pos as usize].value();
        if level.unsigned_abs() != 1 {
            break;
        }
        signs = signs << 1 | u32::from(level < 0);
        nonzero ^= 1 << pos;
        ones += 1;
    }
    (ones, signs, nonzero)
}

/// A level as the writer takes it: 32 bits where levels are worked out, 16
/// where a macroblock holds them ([`crate::macroblock::MbLevels`]), read in
/// place without widening.
pub trait Coeff: Copy {
    fn value(self) -> i32;
    /// [`Lanes`] of a block of at most 16 levels.
    fn lanes(coeffs: &[Self]) -> Lanes;
}

impl Coeff for i32 {
    #[inline(always)]
    fn value(self) -> i32 {
        self
    }

    #[inline(always)]
    fn lanes(coeffs: &[i32]) -> Lanes {
        scan_lanes(coeffs)
    }
}

impl Coeff for i16 {
    #[inline(always)]
    fn value(self) -> i32 {
        i32::from(self)
    }

    #[inline(always)]
    fn lanes(coeffs: &[i16]) -> Lanes {
        debug_assert!(coeffs.len() <= 16);
        #[cfg(target_arch = "x86_64")]
        {
            let len = coeffs.len();
            if (8..=16).contains(&len) {
                // SAFETY: the two loads, at 0 and len − 8, lie inside `coeffs`.
                return unsafe { x86::lanes_8_to_16_i16(coeffs) };
            }
            if len == 4 {
                // SAFETY: one 8-byte load of the four levels.
                return unsafe { x86::lanes_4_i16(coeffs) };
            }
        }
        scan_lanes_portable(coeffs)
    }
}

/// The lanes of a block of at most 16 levels that matter to CAVLC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lanes {
    /// Bit i set where level i is nonzero.
    nonzero: u32,
    /// Some |level| exceeds [`MAX_ALWAYS_CODABLE_LEVEL`].
    has_large: bool,
}

/// [`Lanes`] of `coeffs` (at most 16 levels): with SSE2 on x86-64 (part of
/// the architecture), else one level at a time.
#[inline(always)]
fn scan_lanes(coeffs: &[i32]) -> Lanes {
    debug_assert!(coeffs.len() <= 16);
    #[cfg(target_arch = "x86_64")]
    {
        let len = coeffs.len();
        if len == 16 || len == 15 {
            // SAFETY: the four loads, at 0, 4, 8 and len − 4, lie inside `coeffs`.
            return unsafe { x86::lanes_13_to_16(coeffs) };
        }
        if len == 4 {
            // SAFETY: one load of the four levels.
            return unsafe { x86::lanes_4(coeffs) };
        }
    }
    scan_lanes_portable(coeffs)
}

/// The portable [`scan_lanes`].
fn scan_lanes_portable<C: Coeff>(coeffs: &[C]) -> Lanes {
    let mut lanes = Lanes {
        nonzero: 0,
        has_large: false,
    };
    for (i, &c) in coeffs.iter().enumerate() {
        let c = c.value();
        lanes.nonzero |= u32::from(c != 0) << i;
        lanes.has_large |= c.unsigned_abs() > MAX_ALWAYS_CODABLE_LEVEL as u32;
    }
    lanes
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! SSE2 versions of [`super::scan_lanes`] (SSE2 is part of x86-64).
    use super::{Lanes, MAX_ALWAYS_CODABLE_LEVEL};
    use std::arch::x86_64::*;

    /// The numbers of the 16 levels whose magnitude exceeds each of
    /// [`super::QUICK_STEPS`], and the levels' nonzero mask (bit i: level i).
    #[inline(always)]
    pub(super) unsafe fn magnitude_counts_and_mask(coeffs: &[i16; 16]) -> ([u32; 5], u32) {
        let p = coeffs.as_ptr() as *const __m128i;
        let (low, high) = (_mm_loadu_si128(p), _mm_loadu_si128(p.add(1)));
        // Magnitudes, saturating: |−32768| becomes 32767, still beyond
        // every step.
        let zero = _mm_setzero_si128();
        let magnitude = |v| _mm_max_epi16(v, _mm_subs_epi16(zero, v));
        let (low, high) = (magnitude(low), magnitude(high));
        let masks = super::QUICK_STEPS.map(|t| {
            let step = _mm_set1_epi16(t as i16);
            let beyond = |v| _mm_cmpgt_epi16(v, step);
            _mm_movemask_epi8(_mm_packs_epi16(beyond(low), beyond(high))) as u32
        });
        (masks.map(u32::count_ones), masks[0])
    }

    /// Lanes of 13 to 16 levels, read as four groups of four at 0, 4, 8 and
    /// len − 4. Caller: 13 ≤ `coeffs.len()` ≤ 16.
    #[inline(always)]
    pub(super) unsafe fn lanes_13_to_16(coeffs: &[i32]) -> Lanes {
        let len = coeffs.len();
        let p = coeffs.as_ptr();
        let load = |at: usize| _mm_loadu_si128(p.add(at) as *const __m128i);
        // Packing with signed saturation keeps zero, and keeps values beyond
        // ±MAX_ALWAYS_CODABLE_LEVEL beyond it.
        let low = _mm_packs_epi32(load(0), load(4));
        let high = _mm_packs_epi32(load(8), load(len - 4));
        lanes_of_words([low, high], 12, len)
    }

    /// [`Lanes`] of a block of `len` levels held as 16 words in `low` and
    /// `high`: words 0..first are levels 0..first, the rest levels
    /// first + len − 16 .. len (words may hold a level twice).
    #[inline(always)]
    unsafe fn lanes_of_words([low, high]: [__m128i; 2], first: usize, len: usize) -> Lanes {
        let zero = _mm_setzero_si128();
        let zeros = _mm_packs_epi16(_mm_cmpeq_epi16(low, zero), _mm_cmpeq_epi16(high, zero));
        let mask = !(_mm_movemask_epi8(zeros) as u32) & 0xffff;
        let nonzero = (mask & ((1 << first) - 1)) | (mask >> first) << (first + len - 16);
        let large = _mm_or_si128(large_lanes(low), large_lanes(high));
        Lanes {
            nonzero,
            has_large: _mm_movemask_epi8(large) != 0,
        }
    }

    /// Lanes of 8 to 16 levels of 16 bits, read as two groups of eight at 0
    /// and len − 8. Caller: 8 ≤ `coeffs.len()` ≤ 16.
    #[inline(always)]
    pub(super) unsafe fn lanes_8_to_16_i16(coeffs: &[i16]) -> Lanes {
        let len = coeffs.len();
        let p = coeffs.as_ptr();
        let load = |at: usize| _mm_loadu_si128(p.add(at) as *const __m128i);
        lanes_of_words([load(0), load(len - 8)], 8, len)
    }

    /// Lanes of exactly four levels of 16 bits. Caller: `coeffs.len()` == 4.
    #[inline(always)]
    pub(super) unsafe fn lanes_4_i16(coeffs: &[i16]) -> Lanes {
        let v = _mm_loadl_epi64(coeffs.as_ptr() as *const __m128i);
        let zeros = _mm_packs_epi16(_mm_cmpeq_epi16(v, _mm_setzero_si128()), _mm_setzero_si128());
        Lanes {
            nonzero: !(_mm_movemask_epi8(zeros) as u32) & 0xf,
            has_large: _mm_movemask_epi8(large_lanes(v)) & 0xff != 0,
        }
    }

    /// Lanes of exactly four levels. Caller: `coeffs.len()` == 4.
    #[inline(always)]
    pub(super) unsafe fn lanes_4(coeffs: &[i32]) -> Lanes {
        let v = _mm_loadu_si128(coeffs.as_ptr() as *const __m128i);
        let zeros = _mm_castsi128_ps(_mm_cmpeq_epi32(v, _mm_setzero_si128()));
        let limit = _mm_set1_epi32(MAX_ALWAYS_CODABLE_LEVEL);
        let large = _mm_or_si128(
            _mm_cmpgt_epi32(v, limit),
            _mm_cmpgt_epi32(_mm_sub_epi32(_mm_setzero_si128(), limit), v),
        );
        Lanes {
            nonzero: !(_mm_movemask_ps(zeros) as u32) & 0xf,
            has_large: _mm_movemask_epi8(large) != 0,
        }
    }

    /// 16-bit lanes beyond ±MAX_ALWAYS_CODABLE_LEVEL, all ones.
    #[inline(always)]
    unsafe fn large_lanes(v: __m128i) -> __m128i {
        let limit = MAX_ALWAYS_CODABLE_LEVEL as i16;
        _mm_or_si128(
            _mm_cmpgt_epi16(v, _mm_set1_epi16(limit)),
            _mm_cmpgt_epi16(_mm_set1_epi16(-limit), v),
        )
    }
}

/// Set bits of a mask of at most 16 bits: one POPCNT where the build may
/// use it (x86-64-v2 and up), else through a byte table (without POPCNT,
/// which baseline x86-64 lacks, `count_ones` takes a dozen and a half
/// instructions).
#[inline(always)]
fn count_ones_16(mask: u32) -> u32 {
    debug_assert!(mask < 1 << 16);
    if cfg!(target_feature = "popcnt") {
        return mask.count_ones();
    }
    u32::from(BYTE_ONES[(mask & 0xff) as usize]) + u32::from(BYTE_ONES[(mask >> 8 & 0xff) as usize])
}

/// Set bits of each byte value.
const BYTE_ONES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = (i as u8).count_ones() as u8;
        i += 1;
    }
    table
};

/// Index of the highest set bit.
#[inline]
fn highest_bit(mask: u32) -> Option<u32> {
    (mask != 0).then(|| 31 - mask.leading_zeros())
}

fn put_vlc<S: BitSink>(sink: &mut S, (len, code): Vlc) {
    sink.put_bits(u32::from(len), u32::from(code));
}

/// Writes a codeword of at most 31 bits held below a marker bit
/// (`1 << len | code`, as [`ZEROS_AND_RUNS_4X4`] holds them).
#[inline(always)]
fn put_marked<S: BitSink>(sink: &mut S, marked: u32) {
    debug_assert!(marked != 0);
    sink.put_bits(31 - marked.leading_zeros(), marked);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bits::BitWriter;
    use crate::cavlc_tables::{NONE, RUN_BEFORE, TOTAL_ZEROS_4X4, TOTAL_ZEROS_CHROMA_DC};

    /// The run-by-run writing of total_zeros and run_before that the
    /// tables of both replace, as a reference for them.
    impl BlockShape {
        /// Zeros below the last nonzero level (7.4.5.3.2).
        fn total_zeros(&self) -> u32 {
            (32 - self.nonzero.leading_zeros()) - self.total_coeff
        }

        /// The total_zeros codeword (Tables 9-7, 9-8, 9-9(a)), with tzVlcIndex = TotalCoeff.
        fn total_zeros_vlc(&self, table: CoeffTokenTable) -> Vlc {
            let index = self.total_coeff as usize - 1;
            let zeros = self.total_zeros() as usize;
            match table {
                CoeffTokenTable::Nc(_) => TOTAL_ZEROS_4X4[index][zeros],
                CoeffTokenTable::ChromaDc => TOTAL_ZEROS_CHROMA_DC[index][zeros],
            }
        }

        /// run_before (Table 9-10) of each level, highest first, while zeros are left:
        /// the zeros between it and the next lower level. The last level's run is
        /// inferred.
        #[inline(always)]
        fn write_runs<S: BitSink>(&self, sink: &mut S) {
            let mut zeros_left = self.total_zeros();
            let mut rest = self.nonzero;
            let Some(mut pos) = highest_bit(rest) else {
                return;
            };
            while zeros_left > 0 {
                rest ^= 1 << pos;
                let Some(next) = highest_bit(rest) else {
                    break;
                };
                let run = pos - next - 1;
                put_vlc(
                    sink,
                    RUN_BEFORE[zeros_left.min(7) as usize - 1][run as usize],
                );
                zeros_left -= run;
                pos = next;
            }
        }
    }

    const NC_TABLES: [CoeffTokenTable; 4] = [
        CoeffTokenTable::Nc(0),
        CoeffTokenTable::Nc(2),
        CoeffTokenTable::Nc(4),
        CoeffTokenTable::Nc(8),
    ];

    /// Renders a codeword as its bit string.
    fn vlc_string((len, code): Vlc) -> String {
        (0..len)
            .rev()
            .map(|i| if code >> i & 1 == 1 { '1' } else { '0' })
            .collect()
    }

    fn strip(bits: &str) -> String {
        bits.chars().filter(|c| !c.is_whitespace()).collect()
    }

    /// Bits a sink got, as a string.
    fn written(w: BitWriter) -> String {
        let n = w.bit_len() as usize;
        let bits: String = w.into_bytes().iter().map(|b| format!("{b:08b}")).collect();
        bits[..n].to_string()
    }

    /// Every entry of the total_zeros-and-runs table is total_zeros
    /// (Tables 9-7, 9-8) followed by the run_before codewords that the
    /// run-by-run writer gives, for every placement of 1 to 15 levels.
    #[test]
    fn zeros_and_runs_entries_equal_the_run_by_run_codewords() {
        assert_eq!(ZEROS_AND_RUNS_4X4[0], 0);
        for mask in 1..1u32 << 16 {
            let coeffs: Vec<i32> = (0..16).map(|i| 2 * (mask >> i & 1) as i32).collect();
            let shape = BlockShape::new(&coeffs, CoeffTokenTable::Nc(0)).unwrap();
            let entry = ZEROS_AND_RUNS_4X4[mask as usize];
            if shape.total_coeff == 16 {
                assert_eq!(entry, 0);
                continue;
            }
            let mut want = BitWriter::new();
            put_vlc(&mut want, shape.total_zeros_vlc(CoeffTokenTable::Nc(0)));
            shape.write_runs(&mut want);
            let mut got = BitWriter::new();
            put_marked(&mut got, entry);
            assert_eq!(written(got), written(want), "mask {mask:#06x}");
        }
    }

    /// Encodes a block to its bit string.
    fn encode_string(coeffs: &[i32], table: CoeffTokenTable) -> Result<String, CavlcError> {
        let mut w = BitWriter::new();
        write_residual_block(&mut w, coeffs, table)?;
        let n = w.bit_len() as usize;
        let bits: String = w.into_bytes().iter().map(|b| format!("{b:08b}")).collect();
        Ok(bits[..n].to_string())
    }

    /// The codewords of a table with their values, skipping empty cells.
    fn entries<const N: usize>(rows: &[[Vlc; N]]) -> Vec<(Vlc, (usize, usize))> {
        let mut out = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                if v != NONE {
                    out.push((v, (i, j)));
                }
            }
        }
        out
    }

    /// Prefix-free and Kraft's inequality (sum of 2^-len ≤ 1, in units of 2^-32).
    fn assert_prefix_free_and_kraft(codes: &[Vlc], what: &str) {
        let mut kraft: u64 = 0;
        for (i, &(la, ca)) in codes.iter().enumerate() {
            assert!(la > 0 && la <= 16, "{what}: bad length {la}");
            assert!(
                u32::from(ca) < 1u32 << la,
                "{what}: code wider than its length"
            );
            kraft += 1u64 << (32 - la);
            for &(lb, cb) in &codes[i + 1..] {
                let l = la.min(lb);
                let pa = ca >> (la - l);
                let pb = cb >> (lb - l);
                assert_ne!(
                    pa,
                    pb,
                    "{what}: {} is a prefix of {} or equal",
                    vlc_string((la, ca)),
                    vlc_string((lb, cb))
                );
            }
        }
        assert!(kraft <= 1u64 << 32, "{what}: Kraft sum exceeds 1");
    }

    // ---- 1. coeff_token (Table 9-5) ------------------------------------------------

    #[test]
    fn coeff_token_codewords_match_table_9_5() {
        use CoeffTokenTable::{ChromaDc, Nc};
        // (table, TotalCoeff, TrailingOnes, codeword) as printed in Table 9-5.
        let cases: &[(CoeffTokenTable, usize, usize, &str)] = &[
            // 0 <= nC < 2
            (Nc(0), 0, 0, "1"),
            (Nc(1), 1, 1, "01"),
            (Nc(0), 1, 0, "0001 01"),
            (Nc(0), 2, 0, "0000 0111"),
            (Nc(0), 2, 1, "0001 00"),
            (Nc(0), 2, 2, "001"),
            (Nc(0), 3, 3, "0001 1"),
            (Nc(0), 4, 3, "0000 11"),
            (Nc(0), 5, 3, "0000 100"),
            (Nc(0), 6, 0, "0000 0000 0111 1"),
            (Nc(0), 8, 3, "0000 0001 00"),
            (Nc(0), 13, 1, "0000 0000 0000 001"),
            (Nc(0), 13, 0, "0000 0000 0000 1111"),
            (Nc(0), 16, 0, "0000 0000 0000 0100"),
            (Nc(0), 16, 3, "0000 0000 0000 1000"),
            // 2 <= nC < 4
            (Nc(2), 0, 0, "11"),
            (Nc(3), 1, 0, "0010 11"),
            (Nc(2), 1, 1, "10"),
            (Nc(2), 2, 2, "011"),
            (Nc(2), 3, 3, "0101"),
            (Nc(2), 4, 3, "0100"),
            (Nc(2), 7, 0, "0000 0001 111"),
            (Nc(2), 14, 1, "0000 0000 0010 11"),
            (Nc(2), 15, 3, "0000 0000 0000 1"),
            (Nc(2), 16, 0, "0000 0000 0001 11"),
            // 4 <= nC < 8
            (Nc(4), 0, 0, "1111"),
            (Nc(5), 1, 0, "0011 11"),
            (Nc(6), 1, 1, "1110"),
            (Nc(7), 2, 2, "1101"),
            (Nc(4), 7, 3, "1000"),
            (Nc(4), 13, 0, "0000 0011 01"),
            (Nc(4), 16, 0, "0000 0000 01"),
            (Nc(4), 16, 3, "0000 0000 10"),
            // 8 <= nC
            (Nc(8), 0, 0, "0000 11"),
            (Nc(8), 1, 0, "0000 00"),
            (Nc(9), 1, 1, "0000 01"),
            (Nc(16), 2, 2, "0001 10"),
            (Nc(200), 5, 2, "0100 10"),
            (Nc(255), 16, 3, "1111 11"),
            // nC == -1
            (ChromaDc, 0, 0, "01"),
            (ChromaDc, 1, 0, "0001 11"),
            (ChromaDc, 1, 1, "1"),
            (ChromaDc, 2, 0, "0001 00"),
            (ChromaDc, 2, 1, "0001 10"),
            (ChromaDc, 2, 2, "001"),
            (ChromaDc, 3, 0, "0000 11"),
            (ChromaDc, 3, 1, "0000 011"),
            (ChromaDc, 3, 2, "0000 010"),
            (ChromaDc, 3, 3, "0001 01"),
            (ChromaDc, 4, 0, "0000 10"),
            (ChromaDc, 4, 1, "0000 0011"),
            (ChromaDc, 4, 2, "0000 0010"),
            (ChromaDc, 4, 3, "0000 000"),
        ];
        for &(table, tc, t1, expected) in cases {
            let got = vlc_string(table.column()[tc][t1]);
            assert_eq!(
                got,
                strip(expected),
                "{table:?} TotalCoeff {tc} TrailingOnes {t1}"
            );
            assert_eq!(
                coeff_token_len(table, tc as u8, t1 as u8),
                Some(got.len() as u32)
            );
        }
        // The 8 <= nC column is the 6-bit code 4·(TotalCoeff − 1) + TrailingOnes.
        for (tc, row) in COEFF_TOKEN_NC_8_UP.iter().enumerate().skip(1) {
            for (t1, &v) in row.iter().enumerate().take(tc.min(3) + 1) {
                assert_eq!(v, (6, (4 * (tc - 1) + t1) as u16));
            }
        }
    }

    #[test]
    fn coeff_token_columns_are_complete_prefix_codes() {
        let columns: [(&[[Vlc; 4]], usize, usize); 5] = [
            (&COEFF_TOKEN_NC_0_TO_2, 17, 62),
            (&COEFF_TOKEN_NC_2_TO_4, 17, 62),
            (&COEFF_TOKEN_NC_4_TO_8, 17, 62),
            (&COEFF_TOKEN_NC_8_UP, 17, 62),
            (&COEFF_TOKEN_CHROMA_DC, 5, 14),
        ];
        for (c, &(rows, n_rows, n_entries)) in columns.iter().enumerate() {
            assert_eq!(rows.len(), n_rows);
            // Exactly the cells TrailingOnes ≤ min(TotalCoeff, 3) are filled.
            for (tc, row) in rows.iter().enumerate() {
                for (t1, &v) in row.iter().enumerate() {
                    assert_eq!(v != NONE, t1 <= tc.min(3), "column {c} cell ({tc},{t1})");
                }
            }
            let codes: Vec<Vlc> = entries(rows).into_iter().map(|(v, _)| v).collect();
            assert_eq!(codes.len(), n_entries, "column {c}");
            assert_prefix_free_and_kraft(&codes, &format!("coeff_token column {c}"));
        }
        assert_eq!(coeff_token_len(CoeffTokenTable::Nc(0), 1, 2), None);
        assert_eq!(coeff_token_len(CoeffTokenTable::Nc(0), 17, 0), None);
        assert_eq!(coeff_token_len(CoeffTokenTable::ChromaDc, 5, 0), None);
        assert_eq!(coeff_token_bound_len(16, 0), Some(16));
        assert_eq!(coeff_token_bound_len(0, 0), Some(6));
        assert_eq!(coeff_token_bound_len(3, 4), None);
    }

    #[test]
    fn nc_from_neighbours_follows_9_2_1() {
        assert_eq!(nc_from_neighbours(None, None), 0);
        assert_eq!(nc_from_neighbours(Some(5), None), 5);
        assert_eq!(nc_from_neighbours(None, Some(7)), 7);
        assert_eq!(nc_from_neighbours(Some(2), Some(3)), 3);
        assert_eq!(nc_from_neighbours(Some(2), Some(1)), 2);
        assert_eq!(nc_from_neighbours(Some(0), Some(1)), 1);
        assert_eq!(nc_from_neighbours(Some(16), Some(16)), 16);
        assert_eq!(nc_from_neighbours(Some(255), Some(255)), 255);
    }

    // ---- 2. total_zeros and run_before (Tables 9-7, 9-8, 9-9(a), 9-10) -------------

    #[test]
    fn total_zeros_tables_match_standard() {
        // (tzVlcIndex, total_zeros, codeword) from Tables 9-7 and 9-8.
        let cases_4x4: &[(usize, usize, &str)] = &[
            (1, 0, "1"),
            (1, 1, "011"),
            (1, 2, "010"),
            (1, 8, "0000 10"),
            (1, 15, "0000 0000 1"),
            (2, 0, "111"),
            (2, 14, "0000 00"),
            (3, 0, "0101"),
            (3, 12, "0000 1"),
            (4, 0, "0001 1"),
            (5, 3, "111"),
            (5, 4, "110"),
            (6, 9, "001"),
            (7, 5, "11"),
            (8, 4, "11"),
            (9, 6, "01"),
            (10, 6, "0001"),
            (11, 4, "1"),
            (12, 3, "1"),
            (13, 2, "1"),
            (14, 0, "00"),
            (15, 0, "0"),
            (15, 1, "1"),
        ];
        for &(index, zeros, expected) in cases_4x4 {
            assert_eq!(
                vlc_string(TOTAL_ZEROS_4X4[index - 1][zeros]),
                strip(expected),
                "tzVlcIndex {index} total_zeros {zeros}"
            );
        }
        // Table 9-9(a), chroma DC 4:2:0.
        let cases_dc: &[(usize, usize, &str)] = &[
            (1, 0, "1"),
            (1, 1, "01"),
            (1, 2, "001"),
            (1, 3, "000"),
            (2, 0, "1"),
            (2, 1, "01"),
            (2, 2, "00"),
            (3, 0, "1"),
            (3, 1, "0"),
        ];
        for &(index, zeros, expected) in cases_dc {
            assert_eq!(
                vlc_string(TOTAL_ZEROS_CHROMA_DC[index - 1][zeros]),
                expected,
                "chroma DC tzVlcIndex {index} total_zeros {zeros}"
            );
        }
        // Each tzVlcIndex has exactly the values 0..=maxNumCoeff − tzVlcIndex.
        for (i, row) in TOTAL_ZEROS_4X4.iter().enumerate() {
            let index = i + 1;
            for (zeros, &v) in row.iter().enumerate() {
                assert_eq!(
                    v != NONE,
                    zeros <= 16 - index,
                    "tzVlcIndex {index} total_zeros {zeros}"
                );
            }
            let codes: Vec<Vlc> = row.iter().copied().filter(|&v| v != NONE).collect();
            assert_prefix_free_and_kraft(&codes, &format!("total_zeros tzVlcIndex {index}"));
        }
        for (i, row) in TOTAL_ZEROS_CHROMA_DC.iter().enumerate() {
            let index = i + 1;
            for (zeros, &v) in row.iter().enumerate() {
                assert_eq!(v != NONE, zeros <= 4 - index);
            }
            let codes: Vec<Vlc> = row.iter().copied().filter(|&v| v != NONE).collect();
            assert_prefix_free_and_kraft(&codes, &format!("chroma DC total_zeros {index}"));
        }
    }

    #[test]
    fn run_before_table_matches_standard() {
        // (zerosLeft, run_before, codeword) from Table 9-10.
        let cases: &[(usize, usize, &str)] = &[
            (1, 0, "1"),
            (1, 1, "0"),
            (2, 0, "1"),
            (2, 1, "01"),
            (2, 2, "00"),
            (3, 0, "11"),
            (3, 3, "00"),
            (4, 3, "001"),
            (4, 4, "000"),
            (5, 2, "011"),
            (5, 5, "000"),
            (6, 0, "11"),
            (6, 1, "000"),
            (6, 2, "001"),
            (6, 3, "011"),
            (6, 4, "010"),
            (6, 5, "101"),
            (6, 6, "100"),
            (7, 0, "111"),
            (7, 6, "001"),
            (7, 7, "0001"),
            (7, 10, "0000 001"),
            (7, 14, "0000 0000 001"),
        ];
        for &(zeros_left, run, expected) in cases {
            assert_eq!(
                vlc_string(RUN_BEFORE[zeros_left - 1][run]),
                strip(expected),
                "zerosLeft {zeros_left} run_before {run}"
            );
        }
        for (i, row) in RUN_BEFORE.iter().enumerate() {
            let zeros_left = i + 1;
            let runs = if zeros_left < 7 { zeros_left + 1 } else { 15 };
            for (run, &v) in row.iter().enumerate() {
                assert_eq!(v != NONE, run < runs, "zerosLeft {zeros_left} run {run}");
            }
            let codes: Vec<Vlc> = row.iter().copied().filter(|&v| v != NONE).collect();
            assert_prefix_free_and_kraft(&codes, &format!("run_before zerosLeft {zeros_left}"));
        }
    }

    // ---- 3. An independent decoder (9.2, read from the decoder's side) -------------

    struct BitReader<'a> {
        bytes: &'a [u8],
        pos: usize,
        len: usize,
    }

    impl<'a> BitReader<'a> {
        fn new(bytes: &'a [u8], len: usize) -> Self {
            Self { bytes, pos: 0, len }
        }

        fn read_bit(&mut self) -> Option<u32> {
            if self.pos >= self.len {
                return None;
            }
            let bit = self.bytes[self.pos / 8] >> (7 - self.pos % 8) & 1;
            self.pos += 1;
            Some(u32::from(bit))
        }

        fn read_bits(&mut self, n: u32) -> Option<u32> {
            let mut v = 0;
            for _ in 0..n {
                v = v << 1 | self.read_bit()?;
            }
            Some(v)
        }

        /// Reads one codeword of `table` by linear search, one bit at a time.
        fn read_vlc<T: Copy>(&mut self, table: &[(Vlc, T)]) -> Option<T> {
            let (mut len, mut code) = (0u8, 0u16);
            while len < 16 {
                code = code << 1 | self.read_bit()? as u16;
                len += 1;
                if let Some(&(_, value)) = table.iter().find(|&&(v, _)| v == (len, code)) {
                    return Some(value);
                }
            }
            None
        }
    }

    fn row_entries(row: &[Vlc]) -> Vec<(Vlc, usize)> {
        row.iter()
            .enumerate()
            .filter(|&(_, &v)| v != NONE)
            .map(|(i, &v)| (v, i))
            .collect()
    }

    /// residual_block_cavlc parsed as 7.3.5.3.2 and 9.2 describe it. Returns the
    /// levels (length maxNumCoeff) and TotalCoeff.
    #[allow(clippy::needless_range_loop)] // indexed like the loops of 7.3.5.3.2
    fn decode_block(
        r: &mut BitReader,
        table: CoeffTokenTable,
        max_num_coeff: usize,
    ) -> Option<(Vec<i32>, u8)> {
        let mut coeff_level = vec![0i32; max_num_coeff];
        // 9.2.1: coeff_token.
        let (total_coeff, trailing_ones) = r.read_vlc(&entries(table.column()))?;
        if total_coeff > max_num_coeff {
            return None;
        }
        if total_coeff == 0 {
            return Some((coeff_level, 0));
        }
        // 9.2.2: levels.
        let mut level_val = vec![0i32; total_coeff];
        let mut suffix_length: i64 = if total_coeff > 10 && trailing_ones < 3 {
            1
        } else {
            0
        };
        for i in 0..total_coeff {
            if i < trailing_ones {
                let flag = r.read_bit()? as i32;
                level_val[i] = 1 - 2 * flag;
                continue;
            }
            // 9.2.2.1: level_prefix is the count of leading zero bits.
            let mut level_prefix: i64 = 0;
            while r.read_bit()? == 0 {
                level_prefix += 1;
                if level_prefix > 31 {
                    return None;
                }
            }
            let mut level_code = level_prefix.min(15) << suffix_length;
            let level_suffix_size = if level_prefix == 14 && suffix_length == 0 {
                4
            } else if level_prefix >= 15 {
                level_prefix - 3
            } else {
                suffix_length
            };
            if suffix_length > 0 || level_prefix >= 14 {
                let level_suffix = if level_suffix_size > 0 {
                    i64::from(r.read_bits(level_suffix_size as u32)?)
                } else {
                    0
                };
                level_code += level_suffix;
            }
            if level_prefix >= 15 && suffix_length == 0 {
                level_code += 15;
            }
            if level_prefix >= 16 {
                level_code += (1 << (level_prefix - 3)) - 4096;
            }
            if i == trailing_ones && trailing_ones < 3 {
                level_code += 2;
            }
            let value = if level_code % 2 == 0 {
                (level_code + 2) >> 1
            } else {
                (-level_code - 1) >> 1
            };
            level_val[i] = i32::try_from(value).ok()?;
            if suffix_length == 0 {
                suffix_length = 1;
            }
            if value.abs() > (3 << (suffix_length - 1)) && suffix_length < 6 {
                suffix_length += 1;
            }
        }
        // 9.2.3: total_zeros and run_before.
        let total_zeros = if total_coeff < max_num_coeff {
            let row: &[Vlc] = match table {
                CoeffTokenTable::Nc(_) => &TOTAL_ZEROS_4X4[total_coeff - 1],
                CoeffTokenTable::ChromaDc => &TOTAL_ZEROS_CHROMA_DC[total_coeff - 1],
            };
            r.read_vlc(&row_entries(row))?
        } else {
            0
        };
        if total_zeros + total_coeff > max_num_coeff {
            return None;
        }
        let mut zeros_left = total_zeros;
        let mut run_val = vec![0usize; total_coeff];
        for run in run_val.iter_mut().take(total_coeff - 1) {
            if zeros_left > 0 {
                *run = r.read_vlc(&row_entries(&RUN_BEFORE[zeros_left.min(7) - 1]))?;
                if *run > zeros_left {
                    return None;
                }
            }
            zeros_left -= *run;
        }
        run_val[total_coeff - 1] = zeros_left;
        // 9.2.4: place levels, lowest frequency first.
        let mut coeff_num: isize = -1;
        for i in (0..total_coeff).rev() {
            coeff_num += run_val[i] as isize + 1;
            coeff_level[coeff_num as usize] = level_val[i];
        }
        Some((coeff_level, total_coeff as u8))
    }

    /// Encodes, decodes and checks the round trip; returns the bits written.
    fn round_trip(coeffs: &[i32], table: CoeffTokenTable) -> Result<u32, CavlcError> {
        let mut w = BitWriter::new();
        let written = write_residual_block(&mut w, coeffs, table);
        let Ok(total) = written else {
            assert_eq!(w.bit_len(), 0, "bits were written before an error");
            return Err(written.unwrap_err());
        };
        let n = w.bit_len() as usize;
        let bytes = w.into_bytes();
        let mut r = BitReader::new(&bytes, n);
        let (decoded, decoded_total) = decode_block(&mut r, table, coeffs.len())
            .unwrap_or_else(|| panic!("undecodable block {coeffs:?} {table:?}"));
        assert_eq!(decoded, coeffs, "{table:?}");
        assert_eq!(r.pos, n, "decoder left bits over for {coeffs:?} {table:?}");
        assert_eq!(decoded_total, total);
        assert_eq!(total, total_coeff(coeffs));
        assert_eq!(residual_block_bits(coeffs, table), Ok(n as u32));
        Ok(n as u32)
    }

    /// xorshift64*: a small deterministic generator.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// A random nonzero level from one of several magnitude ranges.
    fn random_level(rng: &mut Rng, style: u64) -> i32 {
        let magnitude: i64 = match style {
            0 => 1,
            1 => 1 + rng.below(3) as i64,
            2 => 1 + rng.below(40) as i64,
            3 => 1 + rng.below(600) as i64,
            4 => 1 + rng.below(2600) as i64,
            _ => match rng.below(4) {
                0 => 1 + rng.below(5000) as i64,
                1 => 1 << 31,
                2 => i64::from(i32::MAX),
                _ => 1 + rng.below(1 << 20) as i64,
            },
        };
        let level = if rng.below(2) == 0 {
            magnitude
        } else {
            -magnitude
        };
        level.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
    }

    fn random_block(rng: &mut Rng, len: usize) -> Vec<i32> {
        // Density in 1/16ths: from very sparse to full.
        let density = [1, 2, 4, 8, 12, 15, 16][rng.below(7) as usize];
        let style = rng.below(6);
        let mut block = vec![0; len];
        for c in block.iter_mut() {
            if rng.below(16) < density {
                // Mostly the chosen style, sometimes ±1 to form trailing ones.
                *c = if rng.below(4) == 0 {
                    random_level(rng, 0)
                } else {
                    random_level(rng, style)
                };
            }
        }
        block
    }

    #[test]
    fn random_blocks_round_trip() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let tables = [
            CoeffTokenTable::Nc(0),
            CoeffTokenTable::Nc(1),
            CoeffTokenTable::Nc(3),
            CoeffTokenTable::Nc(5),
            CoeffTokenTable::Nc(11),
            CoeffTokenTable::ChromaDc,
        ];
        let (mut ok, mut overflow, mut big_ok, mut escapes) = (0, 0, 0, 0);
        for iter in 0..60_000 {
            let table = tables[iter % tables.len()];
            let len = match table {
                CoeffTokenTable::ChromaDc => 4,
                _ => [16, 15, 4][rng.below(3) as usize],
            };
            let block = random_block(&mut rng, len);
            match round_trip(&block, table) {
                Ok(_) => {
                    ok += 1;
                    if block
                        .iter()
                        .any(|c| c.unsigned_abs() > MAX_ALWAYS_CODABLE_LEVEL as u32)
                    {
                        big_ok += 1;
                    }
                    if block.iter().any(|c| c.unsigned_abs() > 20) {
                        escapes += 1;
                    }
                }
                Err(CavlcError::LevelOverflow { level }) => {
                    overflow += 1;
                    assert!(block.contains(&level));
                    assert!(
                        level.unsigned_abs() > MAX_ALWAYS_CODABLE_LEVEL as u32,
                        "{block:?}"
                    );
                    assert_eq!(
                        residual_block_bits_bound(&block, table),
                        Err(CavlcError::LevelOverflow { level })
                    );
                }
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert!(ok > 40_000, "{ok}");
        assert!(overflow > 1_000, "{overflow}");
        assert!(big_ok > 100, "{big_ok}");
        assert!(escapes > 5_000, "{escapes}");
    }

    /// Levels at the edges of what CAVLC always codes.
    const CODABLE_EDGES: [i32; 7] = [
        0,
        1,
        -1,
        MAX_ALWAYS_CODABLE_LEVEL,
        -MAX_ALWAYS_CODABLE_LEVEL,
        MAX_ALWAYS_CODABLE_LEVEL + 1,
        -MAX_ALWAYS_CODABLE_LEVEL - 1,
    ];

    /// A block of 0 to 16 levels: zeros, `edges` and random levels in equal
    /// shares.
    fn block_with_edges(rng: &mut Rng, edges: &[i32]) -> Vec<i32> {
        let len = rng.below(17) as usize;
        (0..len)
            .map(|_| match rng.below(3) {
                0 => 0,
                1 => edges[rng.below(edges.len() as u64) as usize],
                _ => {
                    let style = rng.below(6);
                    random_level(rng, style)
                }
            })
            .collect()
    }

    #[test]
    fn scan_lanes_matches_the_portable_scan() {
        let mut rng = Rng(777);
        let limit = MAX_ALWAYS_CODABLE_LEVEL;
        let edges = [&CODABLE_EDGES[..], &[i32::MAX, i32::MIN]].concat();
        for _ in 0..20_000 {
            let block = block_with_edges(&mut rng, &edges);
            let want = scan_lanes_portable(&block);
            assert_eq!(scan_lanes(&block), want, "{block:?}");
            let count = block.iter().filter(|&&c| c != 0).count();
            assert_eq!(want.nonzero.count_ones() as usize, count);
            assert_eq!(usize::from(total_coeff(&block)), count);
            let large = block.iter().any(|c| c.unsigned_abs() > limit as u32);
            assert_eq!(want.has_large, large);
        }
    }

    /// Levels of 16 bits are scanned and written in place exactly as the
    /// same levels widened to 32 bits.
    #[test]
    fn narrow_levels_write_as_wide_ones() {
        let mut rng = Rng(4242);
        let edges = [&CODABLE_EDGES[..], &[32767, -32768]].concat();
        for _ in 0..20_000 {
            let narrow: Vec<i16> = block_with_edges(&mut rng, &edges)
                .into_iter()
                .map(|c| c.clamp(-32768, 32767) as i16)
                .collect();
            let len = narrow.len();
            let wide: Vec<i32> = narrow.iter().map(|&c| i32::from(c)).collect();
            assert_eq!(
                i16::lanes(&narrow),
                scan_lanes_portable(&wide),
                "{narrow:?}"
            );
            let table = if len <= 4 && rng.below(2) == 0 {
                CoeffTokenTable::ChromaDc
            } else {
                CoeffTokenTable::Nc(rng.below(17) as u8)
            };
            let (mut a, mut b) = (BitWriter::new(), BitWriter::new());
            let got = write_residual_block(&mut a, &narrow, table);
            assert_eq!(
                got,
                write_residual_block(&mut b, &wide, table),
                "{narrow:?}"
            );
            assert_eq!(a.into_bytes(), b.into_bytes(), "{narrow:?} {table:?}");
        }
    }

    #[test]
    fn exhaustive_small_blocks_round_trip() {
        // Every chroma DC block with levels in −2..=2, and every 4-long Nc block with
        // levels in −3..=3, under each table.
        let values = [-3, -2, -1, 0, 1, 2, 3];
        let mut block = [0i32; 4];
        for code in 0..values.len().pow(4) {
            let mut rest = code;
            for c in block.iter_mut() {
                *c = values[rest % values.len()];
                rest /= values.len();
            }
            for table in NC_TABLES {
                round_trip(&block, table).unwrap();
            }
            round_trip(&block, CoeffTokenTable::ChromaDc).unwrap();
        }
    }

    /// The 4×4 zigzag scan (8.5.6, Table 8-13, frame macroblocks): scan index → raster index.
    const ZIGZAG_4X4: [usize; 16] = [0, 1, 4, 8, 5, 2, 3, 6, 9, 12, 13, 10, 7, 11, 14, 15];

    #[test]
    fn literature_example_encodes_as_published() {
        // The classic example (Richardson, "H.264 and MPEG-4 Video Compression", 6.4.13):
        // the 4×4 block below, in raster order, is 0,3,0,1,−1,−1,0,1,0,… in zigzag
        // scan order and codes at nC 0 as 0000100 011 1 0010 111 10 1 1 01.
        let raster = [0, 3, -1, 0, 0, -1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0];
        let scan: Vec<i32> = ZIGZAG_4X4.iter().map(|&i| raster[i]).collect();
        assert_eq!(scan, [0, 3, 0, 1, -1, -1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        let bits = encode_string(&scan, CoeffTokenTable::Nc(0)).unwrap();
        assert_eq!(bits, "000010001110010111101101");
        assert_eq!(round_trip(&scan, CoeffTokenTable::Nc(0)), Ok(24));
        assert_eq!(
            write_residual_block(&mut BitCounter::default(), &scan, CoeffTokenTable::Nc(0)),
            Ok(5)
        );

        // The same sixteen numbers taken directly as scan order (TotalCoeff 5,
        // TrailingOnes 3, total_zeros 4), derived by hand from Tables 9-5, 9-7, 9-10:
        // coeff_token 0000100, signs 001, level −1 → 01, level 3 → 001 0,
        // total_zeros 110, runs 10 11 01 1.
        let bits = encode_string(&raster, CoeffTokenTable::Nc(0)).unwrap();
        assert_eq!(bits, strip("0000100 001 01 0010 110 10 11 01 1"));
        round_trip(&raster, CoeffTokenTable::Nc(0)).unwrap();
    }

    // ---- 4. Size bound and level overflow ------------------------------------------

    #[test]
    fn bits_bound_covers_every_nc_table() {
        let mut rng = Rng(12345);
        for _ in 0..20_000 {
            let len = [16, 15][rng.below(2) as usize];
            let block = random_block(&mut rng, len);
            let Ok(bound) = residual_block_bits_bound(&block, CoeffTokenTable::Nc(0)) else {
                continue;
            };
            let mut worst = 0;
            for table in NC_TABLES {
                let mut counter = BitCounter::default();
                write_residual_block(&mut counter, &block, table).unwrap();
                let bits = counter.bits as u32;
                assert!(bound >= bits);
                worst = worst.max(bits);
                // The bound does not depend on which nC the caller passes.
                assert_eq!(residual_block_bits_bound(&block, table), Ok(bound));
            }
            assert_eq!(bound, worst, "{block:?}");
        }
        for _ in 0..5_000 {
            let block = random_block(&mut rng, 4);
            if let Ok(bound) = residual_block_bits_bound(&block, CoeffTokenTable::ChromaDc) {
                let mut counter = BitCounter::default();
                write_residual_block(&mut counter, &block, CoeffTokenTable::ChromaDc).unwrap();
                assert_eq!(bound as u64, counter.bits);
            }
        }
        // All zero: the longest TotalCoeff 0 token is the 6-bit one of 8 <= nC.
        assert_eq!(
            residual_block_bits_bound(&[0; 16], CoeffTokenTable::Nc(0)),
            Ok(6)
        );
    }

    /// The quick bound of `coeffs` if it gives one, checked against the
    /// exact bound of the coded part (`coeffs[from..]`) under `table`, with
    /// the tight bound between them.
    fn check_quick_bound(coeffs: &[i32], from: usize, table: CoeffTokenTable) -> Option<u32> {
        let mut quick = QuickBound::default();
        let held: Vec<i16> = coeffs.iter().map(|&c| c as i16).collect();
        assert!(held.iter().zip(coeffs).all(|(&h, &c)| i32::from(h) == c));
        quick.add(&held, from, table);
        let mut tight = TightBound::default();
        tight.add(&held, from, table);
        let exact = residual_block_bits_bound(&coeffs[from..], table);
        assert_eq!(quick.bits().is_none(), exact.is_err(), "{coeffs:?}");
        assert_eq!(tight.bits().is_none(), exact.is_err(), "{coeffs:?}");
        let (q, t) = (quick.bits()?, tight.bits()?);
        assert!(exact.is_ok_and(|b| b <= t), "{coeffs:?}: {exact:?} > {t}");
        assert!(t <= q, "{coeffs:?}: tight {t} > quick {q}");
        let huge = coeffs
            .iter()
            .any(|c| c.unsigned_abs() > MAX_ALWAYS_CODABLE_LEVEL as u32);
        if huge {
            // Counted exactly.
            assert_eq!((exact, t), (Ok(q), q), "{coeffs:?}");
        }
        Some(q)
    }

    /// The SSE2 magnitude counts and nonzero mask of the quick and tight
    /// bounds are those of counting one level at a time, the 16-bit
    /// extremes included.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn magnitude_counts_match_counting_levels() {
        let mut rng = Rng(99);
        let edges = [
            0i16, 1, -1, 3, -3, 4, -4, 7, -7, 8, -8, 15, -15, 16, -16, 2063, -2063, 2064, -2064,
            32767, -32768,
        ];
        for _ in 0..20_000 {
            let block: [i16; 16] = std::array::from_fn(|_| match rng.below(3) {
                0 => 0,
                1 => edges[rng.below(edges.len() as u64) as usize],
                _ => rng.below(65_536) as u16 as i16,
            });
            let want = QUICK_STEPS.map(|t| {
                block
                    .iter()
                    .filter(|&&c| u32::from(c.unsigned_abs()) > t)
                    .count() as u32
            });
            let nonzero = (0..16).fold(0, |m, i| m | u32::from(block[i] != 0) << i);
            // SAFETY: SSE2 is part of x86-64.
            let simd = unsafe { x86::magnitude_counts_and_mask(&block) };
            assert_eq!(simd, (want, nonzero), "{block:?}");
            assert_eq!(magnitude_counts_and_mask(&block[..15]).1, nonzero & 0x7fff);
        }
    }

    /// Every entry of the level table is what the codeword functions give.
    #[test]
    fn level_table_equals_the_codeword_rules() {
        for sl in 0..=MAX_SUFFIX_LENGTH {
            for level in (-TABLE_LEVEL_MAX..=TABLE_LEVEL_MAX).filter(|&l| l != 0) {
                let (len, bits) = level_vlc(level_code(level), sl).unwrap();
                let want = LevelEntry {
                    bits: bits as u16,
                    len: len as u8,
                    next: next_suffix_length(sl, level) as u8,
                };
                assert_eq!(u32::from(want.bits), bits, "sl {sl} level {level}");
                assert_eq!(
                    LevelEntry::of(sl, level),
                    Some(want),
                    "sl {sl} level {level}"
                );
            }
            assert_eq!(LevelEntry::of(sl, TABLE_LEVEL_MAX + 1), None);
            assert_eq!(LevelEntry::of(sl, -TABLE_LEVEL_MAX - 1), None);
        }
        assert_eq!(LevelEntry::of(7, 1), None);
    }

    #[test]
    fn quick_bound_covers_the_exact_bound() {
        let mut rng = Rng(777);
        let mut bounded = 0;
        for _ in 0..30_000 {
            let len = [16, 15, 4][rng.below(3) as usize];
            let mut block = random_block(&mut rng, len);
            // Magnitudes up to 40 (on both sides of the short level
            // bounds) or up to 2100 (on both sides of the codable limit).
            let top = [40, 2100][rng.below(2) as usize];
            for c in block.iter_mut().filter(|c| c.unsigned_abs() > top) {
                *c = c.signum() * (1 + (c.unsigned_abs() % top) as i32);
            }
            let table = match len {
                4 => CoeffTokenTable::ChromaDc,
                _ => NC_TABLES[rng.below(4) as usize],
            };
            bounded += usize::from(check_quick_bound(&block, 0, table).is_some());
            if len == 15 {
                // As held: a 16-level array whose first level is not coded.
                let mut held = vec![random_level(&mut rng, 1)];
                held.extend(&block);
                check_quick_bound(&held, 1, table);
            }
        }
        assert!(bounded > 10_000, "{bounded}");
        // Blocks whose largest magnitude is at most 3 or 7, where the bound
        // counts on the suffixLength staying low: dense ones, sparse ones,
        // and the largest levels first or last.
        for round in 0..60_000 {
            let limit = [3, 7][round % 2];
            let len = [16, 15, 4][rng.below(3) as usize];
            let density = 1 + rng.below(4);
            let block: Vec<i32> = (0..len)
                .map(|_| {
                    if rng.below(4) >= density {
                        return 0;
                    }
                    let m = 1 + rng.below(limit) as i32;
                    if rng.below(2) == 0 {
                        m
                    } else {
                        -m
                    }
                })
                .collect();
            let table = match len {
                4 => CoeffTokenTable::ChromaDc,
                _ => NC_TABLES[rng.below(4) as usize],
            };
            assert!(check_quick_bound(&block, 0, table).is_some());
        }
        // The worst blocks within the limit, and the first level beyond it.
        for m in [1, 2, 3, 4, 5, 6, 7, 8, 15] {
            for sign in [1, -1] {
                assert!(check_quick_bound(&[m * sign; 16], 0, CoeffTokenTable::Nc(0)).is_some());
                let alternating: Vec<i32> = (0..16).map(|i| [m, -m][i % 2] * sign).collect();
                check_quick_bound(&alternating, 0, CoeffTokenTable::Nc(8));
                check_quick_bound(&[m * sign; 4], 0, CoeffTokenTable::ChromaDc);
            }
        }
        // Levels up to the codable limit: bounded (the escape at most); one
        // beyond it: that block counted exactly (the check holds it to the
        // exact bound); one CAVLC cannot code: no bound.
        let mut last_big = [0; 16];
        for big in [16, 2063] {
            last_big[15] = big;
            assert_eq!(
                check_quick_bound(&last_big, 0, CoeffTokenTable::Nc(0)),
                Some(71)
            );
            assert_eq!(
                check_quick_bound(&[big; 16], 0, CoeffTokenTable::Nc(0)),
                Some(521)
            );
        }
        last_big[15] = 2064;
        let exact = residual_block_bits_bound(&last_big, CoeffTokenTable::Nc(0)).ok();
        assert_eq!(
            check_quick_bound(&last_big, 0, CoeffTokenTable::Nc(0)),
            exact
        );
        last_big[15] = 30_000;
        assert_eq!(
            check_quick_bound(&last_big, 0, CoeffTokenTable::Nc(0)),
            None
        );
        let mut quick = QuickBound::default();
        quick.add(&[1; 16], 0, CoeffTokenTable::Nc(0));
        quick.add(&last_big.map(|c| c as i16), 0, CoeffTokenTable::Nc(0));
        assert_eq!(quick.bits(), None, "an uncodable block leaves no bound");
        assert_eq!(
            check_quick_bound(&[0; 16], 0, CoeffTokenTable::Nc(0)),
            Some(16)
        );
    }

    #[test]
    fn level_codewords_at_the_escape_boundaries() {
        let cw = |prefix, suffix_size, suffix| {
            Some(LevelCodeword {
                prefix,
                suffix_size,
                suffix,
            })
        };
        // suffixLength 0: prefix alone up to 13, then prefix 14 with 4 bits, then 15 with 12.
        assert_eq!(level_codeword(0, 0), cw(0, 0, 0));
        assert_eq!(level_codeword(13, 0), cw(13, 0, 0));
        assert_eq!(level_codeword(14, 0), cw(14, 4, 0));
        assert_eq!(level_codeword(29, 0), cw(14, 4, 15));
        assert_eq!(level_codeword(30, 0), cw(15, 12, 0));
        assert_eq!(level_codeword(4125, 0), cw(15, 12, 4095));
        assert_eq!(level_codeword(4126, 0), None);
        // suffixLength > 0: prefix 14 keeps suffixLength bits, prefix 15 has 12.
        assert_eq!(level_codeword(5, 1), cw(2, 1, 1));
        assert_eq!(level_codeword(29, 1), cw(14, 1, 1));
        assert_eq!(level_codeword(30, 1), cw(15, 12, 0));
        assert_eq!(level_codeword(4125, 1), cw(15, 12, 4095));
        assert_eq!(level_codeword(4126, 1), None);
        assert_eq!(level_codeword(959, 6), cw(14, 6, 63));
        assert_eq!(level_codeword(960, 6), cw(15, 12, 0));
        assert_eq!(level_codeword(5055, 6), cw(15, 12, 4095));
        assert_eq!(level_codeword(5056, 6), None);
        assert_eq!(level_codeword(u64::MAX, 3), None);

        // The short path of level_vlc agrees with level_codeword everywhere.
        for suffix_length in 0..=MAX_SUFFIX_LENGTH {
            for code in 0..6000u64 {
                assert_eq!(
                    level_vlc(code, suffix_length),
                    level_codeword(code, suffix_length).map(LevelCodeword::vlc),
                    "{code} {suffix_length}"
                );
            }
        }
        for mask in 0..1u32 << 16 {
            assert_eq!(count_ones_16(mask), mask.count_ones());
        }

        // suffixLength adaptation.
        assert_eq!(next_suffix_length(0, 1), 1);
        assert_eq!(next_suffix_length(0, 3), 1);
        assert_eq!(next_suffix_length(0, -4), 2);
        assert_eq!(next_suffix_length(1, 3), 1);
        assert_eq!(next_suffix_length(1, 4), 2);
        assert_eq!(next_suffix_length(2, 6), 2);
        assert_eq!(next_suffix_length(2, -7), 3);
        assert_eq!(next_suffix_length(5, 49), 6);
        assert_eq!(next_suffix_length(6, 100_000), 6);
        assert_eq!(next_suffix_length(6, i32::MIN), 6);

        // Level codes with prefix 14 / 15 inside blocks (three trailing ones first, so
        // the level is coded at suffixLength 0 without adjustment).
        let t = CoeffTokenTable::Nc(0);
        // 8 → levelCode 14: prefix 14, suffix 0000.
        assert_eq!(
            encode_string(&[8, 1, 1, 1], t).unwrap(),
            strip("0000 11  000  0000 0000 0000 001 0000")
        );
        // −8 → levelCode 15: prefix 14, suffix 0001.
        assert_eq!(
            encode_string(&[-8, 1, 1, 1], t).unwrap(),
            strip("0000 11  000  0000 0000 0000 001 0001")
        );
        // 16 → levelCode 30: prefix 15, 12-bit suffix 0.
        assert_eq!(
            encode_string(&[16, 1, 1, 1], t).unwrap(),
            strip("0000 11  000  0000 0000 0000 0001 0000 0000 0000")
        );
    }

    #[test]
    fn max_codable_levels_round_trip_and_beyond_overflow() {
        let nc0 = CoeffTokenTable::Nc(0);
        // Alone in a block (TrailingOnes 0): levelCode = 2|l| − 2 − 2 (or −1 − 2) ≤ 4125.
        for (level, ok) in [(2064, true), (-2064, true), (2065, false), (-2065, false)] {
            let mut block = [0; 16];
            block[0] = level;
            let r = round_trip(&block, nc0);
            assert_eq!(r.is_ok(), ok, "{level}");
            if !ok {
                assert_eq!(r, Err(CavlcError::LevelOverflow { level }));
            }
        }
        // After three trailing ones (no adjustment): ±2063 is the limit.
        for (level, ok) in [(2063, true), (-2063, true), (2064, false), (-2064, false)] {
            let block = [level, -1, 1, 1];
            assert_eq!(round_trip(&block, nc0).is_ok(), ok, "{level}");
        }
        // TotalCoeff > 10 and TrailingOnes < 3: suffixLength starts at 1, limit 4125 + 2.
        for (level, ok) in [(2064, true), (-2064, true), (2065, false)] {
            let mut block = [2; 16];
            block[15] = level;
            assert_eq!(round_trip(&block, nc0).is_ok(), ok, "{level}");
        }
        // After levels that drive suffixLength to 6: levelCode ≤ (15 << 6) + 4095.
        for (level, ok) in [(2528, true), (-2528, true), (2529, false), (-2529, false)] {
            let block = [level, 100, 100, 100, 100, 100];
            assert_eq!(round_trip(&block, nc0).is_ok(), ok, "{level}");
        }
        // Far out of range, including values whose magnitude does not fit an i32.
        for level in [100_000, -100_000, i32::MAX, i32::MIN] {
            let mut block = [0; 16];
            block[3] = level;
            assert_eq!(
                round_trip(&block, nc0),
                Err(CavlcError::LevelOverflow { level })
            );
            assert_eq!(
                residual_block_bits_bound(&block, nc0),
                Err(CavlcError::LevelOverflow { level })
            );
            assert_eq!(
                round_trip(&[level, 0, 0, 0], CoeffTokenTable::ChromaDc),
                Err(CavlcError::LevelOverflow { level })
            );
        }
        // Every level within MAX_ALWAYS_CODABLE_LEVEL codes in the tightest position.
        for level in (-MAX_ALWAYS_CODABLE_LEVEL..=MAX_ALWAYS_CODABLE_LEVEL).filter(|&l| l != 0) {
            round_trip(&[level, 1, 1, 1], nc0).unwrap();
        }
    }

    // ---- 5. Edge cases -------------------------------------------------------------

    #[test]
    fn all_zero_block_is_just_coeff_token() {
        for (table, bits) in [
            (CoeffTokenTable::Nc(0), "1"),
            (CoeffTokenTable::Nc(3), "11"),
            (CoeffTokenTable::Nc(7), "1111"),
            (CoeffTokenTable::Nc(8), "000011"),
        ] {
            assert_eq!(encode_string(&[0; 16], table).unwrap(), bits);
            assert_eq!(encode_string(&[0; 15], table).unwrap(), bits);
            assert_eq!(round_trip(&[0; 16], table), Ok(bits.len() as u32));
        }
        assert_eq!(
            encode_string(&[0; 4], CoeffTokenTable::ChromaDc).unwrap(),
            "01"
        );
        assert_eq!(encode_string(&[], CoeffTokenTable::Nc(0)).unwrap(), "1");
    }

    #[test]
    fn empty_blocks_write_the_same_bits() {
        for table in NC_TABLES.into_iter().chain([CoeffTokenTable::ChromaDc]) {
            for len in [4, 15, 16]
                .into_iter()
                .filter(|&l| l <= table.max_num_coeff())
            {
                let mut full = BitWriter::new();
                write_residual_block(&mut full, &vec![0; len], table).unwrap();
                let mut empty = BitWriter::new();
                write_empty_block(&mut empty, table);
                assert_eq!(full.bit_len(), empty.bit_len());
                assert_eq!(full.into_bytes(), empty.into_bytes());
            }
        }
    }

    #[test]
    fn sixteen_nonzero_coefficients() {
        // All +1: TotalCoeff 16, TrailingOnes 3, no total_zeros; the first level (+1,
        // suffixLength 0) is "1", the other twelve at suffixLength 1 are "10".
        let ones = [1; 16];
        let expected = format!("{}{}{}{}", "0000000000001000", "000", "1", "10".repeat(12));
        assert_eq!(
            encode_string(&ones, CoeffTokenTable::Nc(0)).unwrap(),
            expected
        );
        assert_eq!(round_trip(&ones, CoeffTokenTable::Nc(0)), Ok(44));
        let mixed: Vec<i32> = (1..=16)
            .map(|i| if i % 3 == 0 { -i * 37 } else { i })
            .collect();
        for table in NC_TABLES {
            assert_eq!(round_trip(&mixed, table).map(|_| ()), Ok(()));
            assert_eq!(
                write_residual_block(&mut BitCounter::default(), &mixed, table),
                Ok(16)
            );
        }
    }

    #[test]
    fn max_num_coeff_15_with_15_coefficients() {
        // Chroma AC / Intra16x16 AC: TotalCoeff == maxNumCoeff, so no total_zeros.
        let block: [i32; 15] = [5, -4, 3, -3, 2, 2, -2, 1, 1, -1, 7, 1, -1, 1, 1];
        for table in NC_TABLES {
            let bits = round_trip(&block, table).unwrap();
            // The same levels in a 16-long block need a total_zeros codeword (total_zeros 0
            // at tzVlcIndex 15 is the single bit "0").
            let mut longer = [0; 16];
            longer[..15].copy_from_slice(&block);
            assert_eq!(round_trip(&longer, table), Ok(bits + 1));
        }
        // 15 coefficients with the zero at the start (TotalCoeff 14, total_zeros 1).
        let mut gap = block;
        gap[0] = 0;
        round_trip(&gap, CoeffTokenTable::Nc(2)).unwrap();
    }

    #[test]
    fn chroma_dc_with_four_coefficients() {
        let dc = CoeffTokenTable::ChromaDc;
        // Reverse order −1, 1, −1, 3: coeff_token (4,3) 0000000, signs 101, level 3 →
        // levelCode 4 → prefix 00001; TotalCoeff == 4 so no total_zeros or runs.
        assert_eq!(
            encode_string(&[3, -1, 1, -1], dc).unwrap(),
            "000000010100001"
        );
        // One level in the last position: (1,0) 000111, 5 → levelCode 6 → 0000001,
        // total_zeros 3 → 000.
        assert_eq!(
            encode_string(&[0, 0, 0, 5], dc).unwrap(),
            "0001110000001000"
        );
        for block in [
            [3, -1, 1, -1],
            [0, 0, 0, 5],
            [9, 9, 9, 9],
            [-1, -1, -1, -1],
            [1, 0, 0, 0],
        ] {
            round_trip(&block, dc).unwrap();
        }
        assert_eq!(
            write_residual_block(&mut BitCounter::default(), &[9, 9, 9, 9], dc),
            Ok(4)
        );
    }

    #[test]
    fn blocks_longer_than_the_table_are_errors() {
        let mut w = BitWriter::new();
        assert_eq!(
            write_residual_block(&mut w, &[0; 17], CoeffTokenTable::Nc(0)),
            Err(CavlcError::BlockTooLong { len: 17, max: 16 })
        );
        assert_eq!(
            write_residual_block(&mut w, &[1; 5], CoeffTokenTable::ChromaDc),
            Err(CavlcError::BlockTooLong { len: 5, max: 4 })
        );
        assert_eq!(
            residual_block_bits_bound(&[0; 64], CoeffTokenTable::Nc(3)),
            Err(CavlcError::BlockTooLong { len: 64, max: 16 })
        );
        assert_eq!(w.bit_len(), 0);
        // Shorter blocks are coded with maxNumCoeff equal to their length.
        for len in 0..=16i32 {
            let block: Vec<i32> = (0..len)
                .map(|i| if i % 2 == 0 { 0 } else { i - 5 })
                .collect();
            round_trip(&block, CoeffTokenTable::Nc(1)).unwrap();
        }
        for len in 0..=4 {
            round_trip(&[2, 0, -1, 1][..len], CoeffTokenTable::ChromaDc).unwrap();
        }
    }
}
