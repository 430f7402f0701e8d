//! Which 4×4 blocks of a residual quantise to some nonzero level, found
//! from the forward transform alone (the encoder's counterpart of 8.5.12):
//! a level (|c|·MF + offset) >> qbits is nonzero exactly when |c| reaches
//! ⌈(2^qbits − offset) / MF⌉, so no block needs quantising to tell. Blocks
//! whose DC coefficient goes through a second transform (Intra16x16 luma,
//! chroma: 8.5.10, 8.5.11) are asked about their AC levels and hand back
//! their DC coefficients (each the sum of the block's residual). Macroblocks
//! use it to quantise only the blocks that will carry levels. The coding
//! of inter macroblocks takes every block's levels from the same transform
//! instead ([`levels_16x16`]): quantising all sixteen blocks in vector lanes
//! costs less than transforming the coded ones again.

use crate::transform::{chroma_dc_quant, hadamard2x2, Deadzone, Quantiser, ZIGZAG_4X4};

/// The smallest |coefficient| that [`Quantiser`] gives a nonzero level, by
/// dead zone (intra, inter), qp (0..=51) and raster position of a 4×4 block.
static MIN_NONZERO: [[[i16; 16]; 52]; 2] = min_nonzero_table();

const fn min_nonzero_table() -> [[[i16; 16]; 52]; 2] {
    let mut table = [[[0i16; 16]; 52]; 2];
    let mut dz = 0;
    while dz < 2 {
        let mut qp = 0;
        while qp < 52 {
            let qbits = 15 + qp / 6;
            let offset = deadzone(dz).offset(qbits as u32) as i64;
            let mut pos = 0;
            while pos < 16 {
                let mf = crate::transform::quant_mf(qp, pos) as i64;
                let least = ((1i64 << qbits) - offset + mf - 1) / mf;
                table[dz][qp][pos] = if least > i16::MAX as i64 {
                    i16::MAX
                } else {
                    least as i16
                };
                pos += 1;
            }
            qp += 1;
        }
        dz += 1;
    }
    table
}

/// [`MIN_NONZERO`] less one, packed for the AVX2 kernel: word k of entry
/// v is position (k, v), so that a 64-bit broadcast of entry v lines up
/// with a register of horizontal frequency v (vertical frequency k in lane
/// k of each block).
static LIMITS: [[[u64; 4]; 52]; 2] = limits_table();

const fn limits_table() -> [[[u64; 4]; 52]; 2] {
    let mut table = [[[0u64; 4]; 52]; 2];
    let mut dz = 0;
    while dz < 2 {
        let mut qp = 0;
        while qp < 52 {
            let mut v = 0;
            while v < 4 {
                let mut k = 0;
                while k < 4 {
                    let limit = (MIN_NONZERO[dz][qp][4 * k + v] - 1) as u16 as u64;
                    table[dz][qp][v] |= limit << (16 * k);
                    k += 1;
                }
                v += 1;
            }
            qp += 1;
        }
        dz += 1;
    }
    table
}

/// The smallest |coefficient| after the chroma DC transform that the
/// chroma DC quantiser ([`crate::transform::forward_quant_chroma_dc_with`])
/// gives a nonzero level, by dead zone (intra, inter) and QPC (0..=51).
static MIN_NONZERO_CHROMA_DC: [[i32; 52]; 2] = min_nonzero_chroma_dc_table();

const fn min_nonzero_chroma_dc_table() -> [[i32; 52]; 2] {
    let mut table = [[0i32; 52]; 2];
    let mut dz = 0;
    while dz < 2 {
        let mut qp = 0;
        while qp < 52 {
            let (qbits, mf, offset) = chroma_dc_quant(qp as i32, deadzone(dz));
            let (mf, offset) = (mf as i64, offset as i64);
            table[dz][qp] = (((1i64 << qbits) - offset + mf - 1) / mf) as i32;
            qp += 1;
        }
        dz += 1;
    }
    table
}

/// Whether both chroma planes' residuals (the 8×8 blocks of `src`, rows
/// `stride` apart, against `pred`) have no levels at all under `quant`: no
/// block with AC levels ([`ac_blocks_portable`]) and, after the 2×2 transform
/// of the blocks' DC coefficients (8.5.11.1), none at or beyond the least
/// magnitude the chroma DC quantiser keeps.
pub fn chroma_is_bare(
    quant: &Quantiser,
    src: [&[u8]; 2],
    stride: usize,
    pred: [&[u8; 64]; 2],
) -> bool {
    let (dz, qp) = table_index(quant);
    let least = MIN_NONZERO_CHROMA_DC[dz][qp];
    #[cfg(target_arch = "x86_64")]
    if stride >= 8
        && src.iter().all(|s| s.len() >= 7 * stride + 8)
        && std::arch::is_x86_feature_detected!("avx2")
    {
        // SAFETY: AVX2 is present (checked above); each plane's 8 rows of 8
        // samples lie inside its slice (checked above), and each prediction
        // is 8×8.
        return unsafe {
            x86::chroma_bare(
                src.map(<[u8]>::as_ptr),
                stride,
                pred.map(|p| p.as_ptr()),
                (&LIMITS[dz][qp], least),
            )
        };
    }
    src.iter().zip(pred).all(|(s, p)| {
        let (with_ac, dc) = ac_blocks_portable::<4>(quant, (s, stride), (p, 8));
        dc_bare(with_ac as u8, &dc, least)
    })
}

/// A chroma plane without levels: no block with AC levels, and each DC
/// coefficient of the 2×2 transform (8.5.11.1) below `least` in magnitude.
#[inline(always)]
fn dc_bare(with_ac: u8, dc: &[i32; 4], least: i32) -> bool {
    with_ac == 0 && hadamard2x2(dc).iter().all(|f| f.abs() < least)
}

/// The dead zone of the tables' first index (0 intra, 1 inter).
const fn deadzone(index: usize) -> Deadzone {
    if index == 0 {
        Deadzone::Intra
    } else {
        Deadzone::Inter
    }
}

/// The index of a quantiser's setting in [`MIN_NONZERO`] and [`LIMITS`].
fn table_index(quant: &Quantiser) -> (usize, usize) {
    let (qp, dz) = quant.setting();
    let dz = match dz {
        Deadzone::Intra => 0,
        Deadzone::Inter => 1,
    };
    (dz, qp.clamp(0, 51) as usize)
}

/// Bit `i` is set where 4×4 block `i` (raster order of the blocks: 4·row +
/// column) of the residual between the 16×16 block of `src` (rows `stride`
/// apart) and `pred` has some nonzero level under `quant`
/// ([`Quantiser::residual_u8`], DC included).
pub fn nonzero_blocks_16x16(quant: &Quantiser, src: &[u8], stride: usize, pred: &[u8; 256]) -> u16 {
    #[cfg(target_arch = "x86_64")]
    if fits_16x16(src, stride) && std::arch::is_x86_feature_detected!("avx2") {
        let (dz, qp) = table_index(quant);
        // SAFETY: AVX2 is present (checked above); the 16 rows of 16 samples
        // lie inside `src` (checked above) and `pred` is 16×16.
        return unsafe { x86::blocks_16x16(src.as_ptr(), stride, pred.as_ptr(), &LIMITS[dz][qp]) };
    }
    nonzero_blocks_portable(quant, src, stride, pred)
}

/// The AC levels of one chroma plane's four 4×4 blocks (8.5.11), the blocks
/// in 2×2 raster order: `levels[v][4·blk + k]` is the level at row k,
/// column v of block blk (the DC positions hold 0: the DC coefficients go
/// through the 2×2 transform).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ChromaLevels {
    levels: [[i16; 16]; 4],
    /// Bit blk set where block blk has AC levels.
    pub with_ac: u8,
    /// Each block's DC coefficient.
    pub dc: [i32; 4],
}

impl ChromaLevels {
    /// The levels by columns: `[k][4·blk + r]` is row r, column k of block blk.
    #[inline]
    pub fn columns(&self) -> &[[i16; 16]; 4] {
        &self.levels
    }

    /// The levels of block `blk` in scan order (8.5.6; index 0 is 0).
    #[inline]
    pub fn scan(&self, blk: usize) -> [i16; 16] {
        std::array::from_fn(|i| {
            let pos = ZIGZAG_4X4[i];
            self.levels[pos % 4][4 * blk + pos / 4]
        })
    }

    /// The levels of block `blk` in raster order (index 0 is 0).
    #[inline]
    pub fn raster(&self, blk: usize) -> [i32; 16] {
        std::array::from_fn(|pos| i32::from(self.levels[pos % 4][4 * blk + pos / 4]))
    }
}

/// Both chroma planes' residuals (8×8 each, `src` rows `stride` apart,
/// `pred` the 8×8 predictions) transformed and quantised with the DC apart
/// ([`Quantiser::ac_levels_u8`] of each block): on x86-64 with AVX2 from one
/// transform per plane.
#[inline(always)]
pub fn chroma_levels(
    quant: &Quantiser,
    src: [&[u8]; 2],
    stride: usize,
    pred: [&[u8; 64]; 2],
) -> [ChromaLevels; 2] {
    let mut out = [ChromaLevels::default(); 2];
    #[cfg(target_arch = "x86_64")]
    if stride >= 8
        && src.iter().all(|s| s.len() >= 7 * stride + 8)
        && std::arch::is_x86_feature_detected!("avx2")
    {
        let (_, qp) = table_index(quant);
        let (_, offset, qbits) = quant.parts();
        // SAFETY: as in `chroma_is_bare`.
        unsafe {
            x86::chroma_levels(
                src.map(<[u8]>::as_ptr),
                stride,
                pred.map(|p| p.as_ptr()),
                (&MF_PAIRS[qp % 6], offset, qbits),
                &mut out,
            )
        };
        return out;
    }
    for (c, plane) in out.iter_mut().enumerate() {
        *plane = chroma_levels_portable(quant, (src[c], stride), pred[c]);
    }
    out
}

/// One plane of [`chroma_levels`], each block quantised on its own.
pub fn chroma_levels_portable(
    quant: &Quantiser,
    (src, stride): (&[u8], usize),
    pred: &[u8; 64],
) -> ChromaLevels {
    let mut out = ChromaLevels::default();
    for blk in 0..4 {
        let (bx, by) = ((blk % 2) * 4, (blk / 2) * 4);
        let (levels, dc) = quant.ac_levels_u8(
            (&src[by * stride + bx..], stride),
            (&pred[by * 8 + bx..], 8),
        );
        for (pos, &l) in levels.iter().enumerate() {
            out.levels[pos % 4][4 * blk + pos / 4] = l as i16;
        }
        out.with_ac |= u8::from(levels.iter().any(|&l| l != 0)) << blk;
        out.dc[blk] = dc;
    }
    out
}

/// The quantised levels of the sixteen 4×4 blocks of a 16×16 residual, as
/// [`levels_16x16`] finds them: `levels[by][v][4·bx + k]` is the level at
/// row k, column v of block (bx, by) — the layout of the transform's
/// registers.
#[derive(Default)]
pub struct Levels16 {
    levels: [[[i16; 16]; 4]; 4],
    /// Bit 4·by + bx set where block (bx, by) has some nonzero level.
    pub nonzero: u16,
}

impl Levels16 {
    /// The levels of block (bx, by) (in 4×4 blocks) in scan order (8.5.6).
    #[inline]
    pub fn scan(&self, bx: usize, by: usize) -> [i16; 16] {
        std::array::from_fn(|i| {
            let pos = ZIGZAG_4X4[i];
            self.levels[by][pos % 4][4 * bx + pos / 4]
        })
    }

    /// The levels of block (bx, by) by columns: `[k][r]` is row r, column
    /// k (raster position 4r + k).
    #[inline]
    pub fn columns(&self, bx: usize, by: usize) -> [[i16; 4]; 4] {
        std::array::from_fn(|k| std::array::from_fn(|r| self.levels[by][k][4 * bx + r]))
    }

    /// The levels of block row `by` by columns: `[k][4·bx + r]` is row r,
    /// column k of block (bx, by).
    #[inline]
    pub fn row(&self, by: usize) -> &[[i16; 16]; 4] {
        &self.levels[by]
    }

    /// The levels of block (bx, by) in raster order.
    #[inline]
    pub fn raster(&self, bx: usize, by: usize) -> [i32; 16] {
        std::array::from_fn(|pos| self.at(bx, by, pos))
    }

    #[inline(always)]
    fn at(&self, bx: usize, by: usize, pos: usize) -> i32 {
        i32::from(self.levels[by][pos % 4][4 * bx + pos / 4])
    }
}

/// Every block of the residual `src − pred` (16×16, `src` rows `stride`
/// apart) quantised with `quant` ([`Quantiser::residual_u8`] of each, DC
/// included), with the blocks that hold levels: on x86-64 with AVX2 from
/// one transform of four blocks per register, quantised in 32-bit lanes.
#[inline(always)]
pub fn levels_16x16(quant: &Quantiser, src: &[u8], stride: usize, pred: &[u8; 256]) -> Levels16 {
    #[cfg(target_arch = "x86_64")]
    if fits_16x16(src, stride) && std::arch::is_x86_feature_detected!("avx2") {
        let (_, qp) = table_index(quant);
        let (_, offset, qbits) = quant.parts();
        let mut out = Levels16::default();
        // SAFETY: AVX2 is present (checked above); the 16 rows of 16 samples
        // lie inside `src` (checked above) and `pred` is 16×16.
        unsafe {
            x86::levels_16x16::<false>(
                (src.as_ptr(), stride),
                pred.as_ptr(),
                (&MF_PAIRS[qp % 6], offset, qbits),
                (&mut out, &mut [0; 16]),
            )
        };
        return out;
    }
    levels_portable(quant, src, stride, pred)
}

/// [`levels_16x16`] for Intra16x16 (8.5.10), whose DC coefficients go
/// through the luma DC transform instead: each block's DC level is left 0
/// (`nonzero` marks the blocks with AC levels, as [`ac_blocks_portable`]),
/// and each block's DC coefficient is returned, blocks in raster order.
pub fn ac_levels_16x16(
    quant: &Quantiser,
    src: &[u8],
    stride: usize,
    pred: &[u8; 256],
) -> (Levels16, [i32; 16]) {
    #[cfg(target_arch = "x86_64")]
    if fits_16x16(src, stride) && std::arch::is_x86_feature_detected!("avx2") {
        let (_, qp) = table_index(quant);
        let (_, offset, qbits) = quant.parts();
        let (mut levels, mut dc) = (Levels16::default(), [0; 16]);
        // SAFETY: as in `levels_16x16`.
        unsafe {
            x86::levels_16x16::<true>(
                (src.as_ptr(), stride),
                pred.as_ptr(),
                (&MF_PAIRS[qp % 6], offset, qbits),
                (&mut levels, &mut dc),
            )
        };
        return (levels, dc.map(i32::from));
    }
    ac_levels_portable(quant, src, stride, pred)
}

/// The portable [`ac_levels_16x16`]: each block quantised on its own.
pub fn ac_levels_portable(
    quant: &Quantiser,
    src: &[u8],
    stride: usize,
    pred: &[u8; 256],
) -> (Levels16, [i32; 16]) {
    let mut out = Levels16::default();
    let mut dc = [0; 16];
    for (blk, block_dc) in dc.iter_mut().enumerate() {
        let (bx, by) = (blk % 4, blk / 4);
        let s = (&src[4 * by * stride + 4 * bx..], stride);
        let p = (&pred[4 * by * 16 + 4 * bx..], 16);
        let levels;
        (levels, *block_dc) = quant.ac_levels_u8(s, p);
        for (pos, &l) in levels.iter().enumerate() {
            out.levels[by][pos % 4][4 * bx + pos / 4] = l as i16;
        }
        out.nonzero |= u16::from(levels.iter().any(|&l| l != 0)) << blk;
    }
    (out, dc)
}

/// The portable [`levels_16x16`]: each block quantised on its own.
pub fn levels_portable(quant: &Quantiser, src: &[u8], stride: usize, pred: &[u8; 256]) -> Levels16 {
    let mut out = Levels16 {
        levels: [[[0; 16]; 4]; 4],
        nonzero: 0,
    };
    for blk in 0..16 {
        let (bx, by) = (blk % 4, blk / 4);
        let s = (&src[4 * by * stride + 4 * bx..], stride);
        let p = (&pred[4 * by * 16 + 4 * bx..], 16);
        let (levels, _) = quant.residual_u8(s, p, false);
        for (pos, &l) in levels.iter().enumerate() {
            out.levels[by][pos % 4][4 * bx + pos / 4] = l as i16;
        }
        out.nonzero |= u16::from(levels.iter().any(|&l| l != 0)) << blk;
    }
    out
}

/// MF for the AVX2 quantiser, by qp % 6 and horizontal frequency v: the
/// 16-bit pairs (MF of row k, column v; 0) for k = 0..4 in each 128-bit
/// half, so that a multiply-add with a coefficient widened to a 32-bit lane
/// (k the lane within its half) gives |c|·MF.
#[cfg(target_arch = "x86_64")]
static MF_PAIRS: [[[i16; 16]; 4]; 6] = mf_pairs_table();

#[cfg(target_arch = "x86_64")]
const fn mf_pairs_table() -> [[[i16; 16]; 4]; 6] {
    let mut table = [[[0i16; 16]; 4]; 6];
    let mut q = 0;
    while q < 6 {
        let mut v = 0;
        while v < 4 {
            let mut j = 0;
            while j < 8 {
                table[q][v][2 * j] = crate::transform::quant_mf(q, 4 * (j % 4) + v) as i16;
                j += 1;
            }
            v += 1;
        }
        q += 1;
    }
    table
}

/// Whether a 16×16 block with rows `stride` apart lies inside `src`.
#[cfg(target_arch = "x86_64")]
fn fits_16x16(src: &[u8], stride: usize) -> bool {
    stride >= 16 && src.len() >= 15 * stride + 16
}

/// The portable [`nonzero_blocks_16x16`]: every block quantised.
pub fn nonzero_blocks_portable(
    quant: &Quantiser,
    src: &[u8],
    stride: usize,
    pred: &[u8; 256],
) -> u16 {
    (0..16).fold(0u16, |mask, i| {
        let (x, y) = ((i % 4) * 4, (i / 4) * 4);
        let (levels, _) = quant.residual_u8(
            (&src[y * stride + x..], stride),
            (&pred[y * 16 + x..], 16),
            false,
        );
        mask | u16::from(levels.iter().any(|&l| l != 0)) << i
    })
}

/// For the `N` 4×4 blocks (16: a 16×16 residual, 4: an 8×8 chroma one) whose
/// DC coefficients go through a DC transform (Intra16x16 8.5.10, chroma
/// 8.5.11), in raster order of the blocks: bit `i` set where block `i` has
/// some nonzero AC level under `quant` ([`Quantiser::ac_levels_u8`]), and
/// each block's DC coefficient. Every block quantised on its own; blocks
/// `N`.isqrt() to a row.
pub fn ac_blocks_portable<const N: usize>(
    quant: &Quantiser,
    (src, stride): (&[u8], usize),
    (pred, pred_stride): (&[u8], usize),
) -> (u16, [i32; N]) {
    let per_row = N.isqrt();
    let mut dc = [0; N];
    let mut mask = 0u16;
    for (i, d) in dc.iter_mut().enumerate() {
        let (x, y) = ((i % per_row) * 4, (i / per_row) * 4);
        let (levels, coef) = quant.ac_levels_u8(
            (&src[y * stride + x..], stride),
            (&pred[y * pred_stride + x..], pred_stride),
        );
        *d = coef;
        mask |= u16::from(levels.iter().any(|&l| l != 0)) << i;
    }
    (mask, dc)
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86 {
    //! AVX2 kernels (used only where the processor reports AVX2): four 4×4
    //! blocks side by side in each register of 16 16-bit lanes.
    use std::arch::x86_64::*;

    /// The forward core transform's butterfly (the matrix of 8.5.12's
    /// counterpart: rows 1 1 1 1, 2 1 −1 −2, 1 −1 −1 1, 1 −2 2 −1) over four
    /// registers, lane by lane. With 8-bit residuals every value fits 16
    /// bits: at most 6·255 after one pass and 6·6·255 after two.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn forward_1d(x: [__m256i; 4]) -> [__m256i; 4] {
        let (s03, s12) = (_mm256_add_epi16(x[0], x[3]), _mm256_add_epi16(x[1], x[2]));
        let (d03, d12) = (_mm256_sub_epi16(x[0], x[3]), _mm256_sub_epi16(x[1], x[2]));
        [
            _mm256_add_epi16(s03, s12),
            _mm256_add_epi16(_mm256_slli_epi16(d03, 1), d12),
            _mm256_sub_epi16(s03, s12),
            _mm256_sub_epi16(d03, _mm256_slli_epi16(d12, 1)),
        ]
    }

    /// Transposes the 4×4 words of each 64-bit group across four
    /// registers: register j, group g then holds column j of block g (and,
    /// the other way, registers by column become registers by row, as the
    /// reconstruction in [`crate::recon_row`] uses it).
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(crate) unsafe fn transpose_blocks(r: [__m256i; 4]) -> [__m256i; 4] {
        let t0 = _mm256_unpacklo_epi16(r[0], r[1]);
        let t1 = _mm256_unpackhi_epi16(r[0], r[1]);
        let t2 = _mm256_unpacklo_epi16(r[2], r[3]);
        let t3 = _mm256_unpackhi_epi16(r[2], r[3]);
        let (u0, u1) = (_mm256_unpacklo_epi32(t0, t2), _mm256_unpackhi_epi32(t0, t2));
        let (u2, u3) = (_mm256_unpacklo_epi32(t1, t3), _mm256_unpackhi_epi32(t1, t3));
        [
            _mm256_unpacklo_epi64(u0, u2),
            _mm256_unpackhi_epi64(u0, u2),
            _mm256_unpacklo_epi64(u1, u3),
            _mm256_unpackhi_epi64(u1, u3),
        ]
    }

    /// The limits of one quantiser as registers; with `dc_apart` the DC
    /// position never counts (its coefficient goes through a second
    /// transform).
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn limit_registers(limits: &[u64; 4], dc_apart: bool) -> [__m256i; 4] {
        let mut out = limits.map(|l| _mm256_set1_epi64x(l as i64));
        if dc_apart {
            out[0] = _mm256_max_epi16(out[0], _mm256_set1_epi64x(0x7fff));
        }
        out
    }

    /// Four blocks side by side, `rows` their residual rows: one bit per
    /// 64-bit group (block) with a level, and the coefficients of the
    /// horizontal frequency 0 (the DC of group g in its lane 4g). Vertical
    /// transform with rows as registers, a transpose, horizontal transform
    /// with columns as registers, so that register v holds horizontal
    /// frequency v and group lane k vertical frequency k.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn band(rows: [__m256i; 4], limits: &[__m256i; 4]) -> (u32, __m256i) {
        let coef = forward_1d(transpose_blocks(forward_1d(rows)));
        let mut any = _mm256_setzero_si256();
        for (c, limit) in coef.iter().zip(limits) {
            any = _mm256_or_si256(any, _mm256_cmpgt_epi16(_mm256_abs_epi16(*c), *limit));
        }
        let empty = _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(
            any,
            _mm256_setzero_si256(),
        )));
        (!(empty as u32) & 0xf, coef[0])
    }

    /// The DC coefficients of a band's four blocks.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn band_dc(coef0: __m256i) -> [i16; 4] {
        let mut lanes = [0i16; 16];
        _mm256_storeu_si256(lanes.as_mut_ptr().cast(), coef0);
        [lanes[0], lanes[4], lanes[8], lanes[12]]
    }

    /// [`super::nonzero_blocks_portable`] with AVX2, a band of four blocks
    /// at a time.
    ///
    /// # Safety
    /// AVX2 must be present; `src` must be readable as 16 rows of 16 samples
    /// `stride` apart and `pred` as 256 samples.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn blocks_16x16(
        src: *const u8,
        stride: usize,
        pred: *const u8,
        limits: &[u64; 4],
    ) -> u16 {
        let limits = limit_registers(limits, false);
        let mut mask = 0u32;
        for b in 0..4 {
            mask |= band(luma_band_rows((src, stride), pred, b), &limits).0 << (4 * b);
        }
        mask as u16
    }

    /// The residual rows of band `b` (rows 4b..4b + 4) of a 16×16 block, in
    /// 16-bit lanes.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn luma_band_rows(
        (src, stride): (*const u8, usize),
        pred: *const u8,
        b: usize,
    ) -> [__m256i; 4] {
        std::array::from_fn(|r| {
            let y = 4 * b + r;
            let s = _mm_loadu_si128(src.add(y * stride).cast());
            let p = _mm_loadu_si128(pred.add(y * 16).cast());
            _mm256_sub_epi16(_mm256_cvtepu8_epi16(s), _mm256_cvtepu8_epi16(p))
        })
    }

    /// The residual of chroma plane `c`'s 8×8 block in 16-bit lanes: rows r
    /// and r + 4 share a register, so that one band holds the plane's four
    /// blocks in raster order.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn chroma_band_rows((src, stride): (*const u8, usize), pred: *const u8) -> [__m256i; 4] {
        let row = |p: *const u8, at: usize| p.add(at).cast::<i64>().read_unaligned();
        std::array::from_fn(|r| {
            let s = _mm_set_epi64x(row(src, (r + 4) * stride), row(src, r * stride));
            let p = _mm_set_epi64x(row(pred, (r + 4) * 8), row(pred, r * 8));
            _mm256_sub_epi16(_mm256_cvtepu8_epi16(s), _mm256_cvtepu8_epi16(p))
        })
    }

    /// [`super::levels_16x16`] with AVX2: per band of four blocks the
    /// transform of [`band`], then each register's 16 coefficients
    /// quantised in two sets of eight 32-bit lanes, (|c|·MF + offset) >>
    /// qbits with c's sign (|c| ≤ 36·255 and MF ≤ 13107: the product fits).
    /// With `DC_APART` ([`super::ac_levels_16x16`]) the DC levels are left 0
    /// and the DC coefficients written to `dc`; else `dc` is left as it is.
    /// Writes into `out` (returned, the levels would be copied once more).
    ///
    /// # Safety
    /// AVX2 must be present; `src` must be readable as 16 rows of 16 samples
    /// `stride` apart and `pred` as 256 samples.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn levels_16x16<const DC_APART: bool>(
        (src, stride): (*const u8, usize),
        pred: *const u8,
        (mf, offset, qbits): (&[[i16; 16]; 4], i32, u32),
        (out, dc): (&mut super::Levels16, &mut [i16; 16]),
    ) {
        let q = BandQuantiser::new(mf, offset, qbits);
        out.nonzero = 0;
        for (b, band_out) in out.levels.iter_mut().enumerate() {
            let rows = luma_band_rows((src, stride), pred, b);
            let coef = forward_1d(transpose_blocks(forward_1d(rows)));
            if DC_APART {
                dc[4 * b..4 * b + 4].copy_from_slice(&band_dc(coef[0]));
            }
            out.nonzero |= (q.quantise::<DC_APART>(&coef, band_out) as u16) << (4 * b);
        }
    }

    /// [`super::chroma_is_bare`] with AVX2: each plane's transform in turn
    /// ([`chroma_band_rows`], [`band`]), answered as soon as a plane has a
    /// level.
    ///
    /// # Safety
    /// AVX2 must be present; each `src` must be readable as 8 rows of 8
    /// samples `stride` apart and each `pred` as 64 samples.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn chroma_bare(
        src: [*const u8; 2],
        stride: usize,
        pred: [*const u8; 2],
        (limits, least): (&[u64; 4], i32),
    ) -> bool {
        let limits = limit_registers(limits, true);
        for c in 0..2 {
            let rows = chroma_band_rows((src[c], stride), pred[c]);
            let (mask, coef0) = band(rows, &limits);
            if !super::dc_bare(mask as u8, &band_dc(coef0).map(i32::from), least) {
                return false;
            }
        }
        true
    }

    /// Quantisation of a band's coefficients in 32-bit lanes: (|c|·MF +
    /// offset) >> qbits with c's sign (|c| ≤ 36·255 and MF ≤ 13107: the
    /// product fits).
    struct BandQuantiser {
        mf: [__m256i; 4],
        offset: __m256i,
        shift: __m128i,
    }

    impl BandQuantiser {
        #[target_feature(enable = "avx2")]
        #[inline]
        unsafe fn new(mf: &[[i16; 16]; 4], offset: i32, qbits: u32) -> BandQuantiser {
            BandQuantiser {
                mf: mf.map(|m| _mm256_loadu_si256(m.as_ptr().cast())),
                offset: _mm256_set1_epi32(offset),
                shift: _mm_cvtsi32_si128(qbits as i32),
            }
        }

        /// Quantises a band's four coefficient registers into `out` (same
        /// layout); with `DC_APART` the DC levels (lanes 0, 4, 8 and 12 of
        /// the first register) are left 0. Returns one bit per block with
        /// a level.
        #[target_feature(enable = "avx2")]
        #[inline]
        unsafe fn quantise<const DC_APART: bool>(
            &self,
            coef: &[__m256i; 4],
            out: &mut [[i16; 16]; 4],
        ) -> u32 {
            let zero = _mm256_setzero_si256();
            let ac_only =
                _mm256_setr_epi16(0, -1, -1, -1, 0, -1, -1, -1, 0, -1, -1, -1, 0, -1, -1, -1);
            let mut any = zero;
            for (k, ((c, m), lanes)) in coef.iter().zip(&self.mf).zip(out.iter_mut()).enumerate() {
                let magnitude = _mm256_abs_epi16(*c);
                let quantise = |wide: __m256i| {
                    let scaled = _mm256_add_epi32(_mm256_madd_epi16(wide, *m), self.offset);
                    _mm256_srl_epi32(scaled, self.shift)
                };
                let low = quantise(_mm256_unpacklo_epi16(magnitude, zero));
                let high = quantise(_mm256_unpackhi_epi16(magnitude, zero));
                let mut levels = _mm256_sign_epi16(_mm256_packs_epi32(low, high), *c);
                if DC_APART && k == 0 {
                    levels = _mm256_and_si256(levels, ac_only);
                }
                any = _mm256_or_si256(any, levels);
                _mm256_storeu_si256(lanes.as_mut_ptr().cast(), levels);
            }
            let empty = _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(any, zero)));
            !(empty as u32) & 0xf
        }
    }

    /// [`super::chroma_levels`] with AVX2: each plane's transform
    /// ([`chroma_band_rows`]), quantised like [`levels_16x16`] with the DC
    /// apart.
    ///
    /// # Safety
    /// As for [`chroma_bare`].
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn chroma_levels(
        src: [*const u8; 2],
        stride: usize,
        pred: [*const u8; 2],
        (mf, offset, qbits): (&[[i16; 16]; 4], i32, u32),
        out: &mut [super::ChromaLevels; 2],
    ) {
        let q = BandQuantiser::new(mf, offset, qbits);
        for (c, plane) in out.iter_mut().enumerate() {
            let rows = chroma_band_rows((src[c], stride), pred[c]);
            let coef = forward_1d(transpose_blocks(forward_1d(rows)));
            plane.dc = band_dc(coef[0]).map(i32::from);
            plane.with_ac = q.quantise::<true>(&coef, &mut plane.levels) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(state: &mut u32) -> u8 {
        *state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (*state >> 24) as u8
    }

    /// The least magnitude gives a nonzero level and one less does not, for
    /// every qp, dead zone and position.
    #[test]
    fn least_magnitudes_are_the_thresholds() {
        for dz in [Deadzone::Intra, Deadzone::Inter] {
            for qp in 0..52 {
                let quant = Quantiser::new(qp, dz);
                let (d, q) = table_index(&quant);
                for (pos, &least) in MIN_NONZERO[d][q].iter().enumerate() {
                    let level = |c: i32| quant.level_at(pos, c);
                    let t = i32::from(least);
                    assert!(t >= 1);
                    assert_eq!(level(t - 1), 0, "qp {qp} pos {pos}");
                    assert_ne!(level(t), 0, "qp {qp} pos {pos}");
                    assert_ne!(level(-t), 0, "qp {qp} pos {pos}");
                }
            }
        }
    }

    /// Rows of residual samples `STRIDE` wide (16 rows) and a 16×16
    /// prediction, from flat to extreme: 300 cases from `seed`.
    fn residual_cases(seed: u32) -> impl Iterator<Item = (usize, Vec<u8>, [u8; 256])> {
        let mut state = seed;
        (0..300).map(move |case| {
            let src: Vec<u8> = (0..16 * STRIDE)
                .map(|i| match case % 4 {
                    0 => noise(&mut state),
                    1 => 128u8.wrapping_add(noise(&mut state) >> 5),
                    2 => [0, 255][(i / STRIDE + i % STRIDE) % 2],
                    _ => ((i % STRIDE) * 9 + (i / STRIDE) * 5) as u8,
                })
                .collect();
            let pred: [u8; 256] = std::array::from_fn(|i| match case % 3 {
                0 => noise(&mut state),
                1 => src[(i / 16) * STRIDE + i % 16].wrapping_add(noise(&mut state) >> 6),
                _ => 255 - src[(i / 16) * STRIDE + i % 16],
            });
            (case, src, pred)
        })
    }

    /// Row length of [`residual_cases`]: wider than a block.
    const STRIDE: usize = 24;

    /// The qps the block tests try, from lossless-like to coarse.
    const QPS: [i32; 12] = [0, 1, 6, 12, 18, 22, 27, 32, 37, 42, 47, 51];

    /// The levels of every block from the one-pass kernel equal each block
    /// quantised on its own (and in scan order, its zigzag), over the
    /// residual cases, qps and both dead zones.
    #[test]
    fn levels_equal_quantising_every_block() {
        let mut compared = 0;
        for (case, src, pred) in residual_cases(0x5eed_0001) {
            let qp = QPS[case % QPS.len()];
            for dz in [Deadzone::Intra, Deadzone::Inter] {
                let quant = Quantiser::new(qp, dz);
                let fast = levels_16x16(&quant, &src, STRIDE, &pred);
                let slow = levels_portable(&quant, &src, STRIDE, &pred);
                assert_eq!(fast.levels, slow.levels, "case {case} qp {qp}");
                assert_eq!(fast.nonzero, slow.nonzero, "case {case} qp {qp}");
                for blk in 0..16 {
                    let (bx, by) = (blk % 4, blk / 4);
                    let (raster, _) = quant.residual_u8(
                        (&src[4 * by * STRIDE + 4 * bx..], STRIDE),
                        (&pred[4 * by * 16 + 4 * bx..], 16),
                        false,
                    );
                    let scan: [i32; 16] = std::array::from_fn(|i| raster[ZIGZAG_4X4[i]]);
                    assert_eq!(
                        fast.scan(bx, by).map(i32::from),
                        scan,
                        "case {case} qp {qp} block {blk}"
                    );
                    compared += usize::from(scan.iter().any(|&l| l != 0));
                }
            }
        }
        assert!(compared > 1000, "only {compared} blocks had levels");
    }

    /// The Intra16x16 levels (DC apart) from the one-pass kernel equal each
    /// block's AC levels quantised on its own, with the same DC
    /// coefficients and the same blocks marked as [`ac_blocks_portable`].
    #[test]
    fn ac_levels_equal_quantising_every_block() {
        let mut compared = 0;
        for (case, src, pred) in residual_cases(0x5eed_0002) {
            let qp = QPS[case % QPS.len()];
            let quant = Quantiser::new(qp, Deadzone::Intra);
            let (fast, fast_dc) = ac_levels_16x16(&quant, &src, STRIDE, &pred);
            let (slow, slow_dc) = ac_levels_portable(&quant, &src, STRIDE, &pred);
            assert_eq!(fast.levels, slow.levels, "case {case} qp {qp}");
            assert_eq!(
                (fast.nonzero, fast_dc),
                (slow.nonzero, slow_dc),
                "case {case}"
            );
            assert_eq!(
                (fast.nonzero, fast_dc),
                ac_blocks_portable::<16>(&quant, (&src, STRIDE), (&pred, 16)),
                "case {case} qp {qp}"
            );
            for (blk, &fast_dc) in fast_dc.iter().enumerate() {
                let (bx, by) = (blk % 4, blk / 4);
                let (raster, dc) = quant.ac_levels_u8(
                    (&src[4 * by * STRIDE + 4 * bx..], STRIDE),
                    (&pred[4 * by * 16 + 4 * bx..], 16),
                );
                assert_eq!(
                    fast.raster(bx, by),
                    raster,
                    "case {case} qp {qp} block {blk}"
                );
                assert_eq!(fast_dc, dc, "case {case} qp {qp} block {blk}");
                compared += usize::from(raster.iter().any(|&l| l != 0));
            }
        }
        assert!(compared > 500, "only {compared} blocks had AC levels");
    }

    /// Both chroma planes' levels from the one-pass kernel equal each block
    /// quantised on its own with the DC apart, over residuals from flat to
    /// extreme, qps from lossless-like to coarse and both dead zones.
    #[test]
    fn chroma_levels_equal_quantising_every_block() {
        let mut state = 11u32;
        let stride = 24;
        let mut compared = 0;
        for case in 0..300 {
            let spread = [2u8, 9, 60, 255][case % 4];
            let src: Vec<u8> = (0..8 * stride)
                .map(|_| noise(&mut state) % spread.max(1))
                .collect();
            let preds: [[u8; 64]; 2] =
                std::array::from_fn(|_| std::array::from_fn(|_| noise(&mut state) % spread.max(1)));
            let (u, v) = (&src[..], &src[8..]);
            for qp in QPS {
                for dz in [Deadzone::Intra, Deadzone::Inter] {
                    let quant = Quantiser::new(qp, dz);
                    let fast = chroma_levels(&quant, [u, v], stride, [&preds[0], &preds[1]]);
                    for (c, s) in [u, v].into_iter().enumerate() {
                        let slow = chroma_levels_portable(&quant, (s, stride), &preds[c]);
                        assert_eq!(fast[c], slow, "case {case} qp {qp} plane {c}");
                        for blk in 0..4 {
                            let (bx, by) = ((blk % 2) * 4, (blk / 2) * 4);
                            let (levels, dc) = quant.ac_levels_u8(
                                (&s[by * stride + bx..], stride),
                                (&preds[c][by * 8 + bx..], 8),
                            );
                            assert_eq!(fast[c].raster(blk), levels, "case {case} block {blk}");
                            assert_eq!(fast[c].dc[blk], dc, "case {case} block {blk}");
                            compared += usize::from(levels.iter().any(|&l| l != 0));
                        }
                    }
                }
            }
        }
        assert!(compared > 1000, "only {compared} blocks had AC levels");
    }

    /// The transform-only answer equals quantising every block, over
    /// residuals from flat to extreme, every qp and both dead zones, and
    /// rows wider than the block.
    #[test]
    fn nonzero_blocks_equal_quantising_every_block() {
        for (case, src, pred) in residual_cases(5) {
            for qp in QPS {
                for dz in [Deadzone::Intra, Deadzone::Inter] {
                    let quant = Quantiser::new(qp, dz);
                    assert_eq!(
                        nonzero_blocks_16x16(&quant, &src, STRIDE, &pred),
                        nonzero_blocks_portable(&quant, &src, STRIDE, &pred),
                        "case {case} qp {qp} {dz:?}"
                    );
                }
            }
        }
    }

    /// The chroma DC thresholds are the least magnitudes the chroma DC
    /// quantiser keeps, and the bare test equals coding both planes' levels.
    #[test]
    fn chroma_bare_test_equals_the_levels() {
        use crate::transform::forward_quant_chroma_dc_with;
        for dz in [Deadzone::Intra, Deadzone::Inter] {
            for qp in 0..52 {
                let least =
                    MIN_NONZERO_CHROMA_DC[table_index(&Quantiser::new(qp, dz)).0][qp as usize];
                let dc_of = |f: i32| {
                    let dc = [f, 0, 0, 0]; // transforms to [f, f, f, f]
                    forward_quant_chroma_dc_with(&dc, qp, dz)
                };
                assert_eq!(dc_of(least - 1), [0; 4], "qp {qp} {dz:?}");
                assert_ne!(dc_of(least), [0; 4], "qp {qp} {dz:?}");
                assert_ne!(dc_of(-least), [0; 4], "qp {qp} {dz:?}");
            }
        }
        let mut state = 3u32;
        let stride = 24;
        for case in 0..400 {
            let spread = [2u8, 4, 7, 40][case % 4];
            let src: Vec<u8> = (0..8 * stride)
                .map(|_| 128u8.wrapping_add(noise(&mut state) % spread))
                .collect();
            let preds: [[u8; 64]; 2] = std::array::from_fn(|c| {
                std::array::from_fn(|i| {
                    src[(i / 8) * stride + i % 8]
                        .wrapping_add((noise(&mut state) % spread) * c as u8)
                })
            });
            let (u, v) = (&src[..], &src[4..]);
            for qp in [0, 10, 18, 24, 29, 34, 39, 45, 51] {
                for dz in [Deadzone::Intra, Deadzone::Inter] {
                    let quant = Quantiser::new(qp, dz);
                    let want = [(u, &preds[0]), (v, &preds[1])].into_iter().all(|(s, p)| {
                        let (mask, dc) = ac_blocks_portable::<4>(&quant, (s, stride), (p, 8));
                        mask == 0 && forward_quant_chroma_dc_with(&dc, qp, dz) == [0; 4]
                    });
                    assert_eq!(
                        chroma_is_bare(&quant, [u, v], stride, [&preds[0], &preds[1]]),
                        want,
                        "case {case} qp {qp}"
                    );
                }
            }
        }
    }

    /// A residual in one block only marks that block, whichever it is.
    #[test]
    fn one_block_of_residual_marks_one_block() {
        let quant = Quantiser::new(27, Deadzone::Inter);
        for blk in 0..16 {
            let pred = [100u8; 256];
            let mut src = [100u8; 256];
            let (x, y) = ((blk % 4) * 4, (blk / 4) * 4);
            src[(y + 1) * 16 + x + 2] = 200;
            assert_eq!(nonzero_blocks_16x16(&quant, &src, 16, &pred), 1 << blk);
        }
        let flat = [7u8; 256];
        assert_eq!(nonzero_blocks_16x16(&quant, &flat, 16, &flat), 0);
    }
}
