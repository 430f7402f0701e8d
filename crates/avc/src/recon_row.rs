//! Reconstruction of four 4×4 blocks at once — a row of luma blocks, 16
//! samples wide and 4 rows high, or the 2×2 blocks of an 8×8 chroma plane:
//! scaling (8.5.12.1, flat matrices), the inverse transform (8.5.12.2) and
//! the addition to the prediction with clipping (8.5.14). With AVX2 the
//! four blocks share every register, in 16-bit lanes: scaled coefficients
//! within ±2600 keep every intermediate of the two passes within ±31 882,
//! so 16 bits hold them exactly. Without AVX2 each block takes
//! [`dequant_add_columns_dc`].

use crate::transform::{dequant_add_columns_dc, dequant_factors_by_columns};

/// Largest |scaled coefficient| this path takes (as [`dequant_add_columns_dc`]).
const SCALED_MAX: i32 = 2600;

/// Where the four blocks lie: a row of four, 16 samples wide and 4 rows
/// high (`SQUARE` false), or 2×2, 8 samples wide and 8 rows high (true).
/// Block b starts `block_at::<SQUARE>(b, stride)` samples in.
#[inline(always)]
fn block_at<const SQUARE: bool>(b: usize, stride: usize) -> usize {
    if SQUARE {
        (b / 2) * 4 * stride + (b % 2) * 4
    } else {
        4 * b
    }
}

/// Whether the four blocks fit a buffer of `len` samples, rows `stride`
/// apart, and rows of at least their width.
#[inline(always)]
fn blocks_fit<const SQUARE: bool>(len: usize, stride: usize) -> bool {
    let (w, h) = if SQUARE { (8, 8) } else { (16, 4) };
    stride >= w && (h - 1) * stride + w <= len
}

/// Reconstructs the row of blocks whose levels `cols` holds by columns —
/// `cols[k][4·b + r]` is the level at row r, column k of block b (0..4,
/// left to right; the layout of [`crate::nonzero::Levels16`]) — with `dc`
/// added to each block's scaled DC coefficient (Intra16x16, 8.5.10, whose
/// DC levels are 0). Blocks whose bit in `keep` is clear are taken as all
/// zero levels. Writes `pred + residual`, clipped, to the 4 rows of 16
/// samples at `out` (`os` apart), the prediction's rows lying `ps` apart.
///
/// Returns false where some kept block's scaled coefficient or some `dc`
/// lies beyond ±2600 (the caller then reconstructs the row's blocks the
/// checked way); with AVX2 nothing is written then, else the blocks before
/// the first such one are. Otherwise every block equals
/// [`dequant_add_columns_dc`] of it.
pub fn dequant_add_row(
    cols: &[[i16; 16]; 4],
    keep: u8,
    dc: [i32; 4],
    qp: i32,
    pred: (&[u8], usize),
    out: (&mut [u8], usize),
) -> bool {
    dequant_add::<false>(cols, (keep, dc), qp, pred, out)
}

/// [`dequant_add_row`] for the four blocks of an 8×8 chroma plane: block b
/// at (4·(b % 2), 4·(b / 2)), 8 rows of 8 samples at `pred` and `out`
/// (the layout of [`crate::nonzero::ChromaLevels`]).
pub fn dequant_add_square(
    cols: &[[i16; 16]; 4],
    keep: u8,
    dc: [i32; 4],
    qp: i32,
    pred: (&[u8], usize),
    out: (&mut [u8], usize),
) -> bool {
    dequant_add::<true>(cols, (keep, dc), qp, pred, out)
}

/// [`dequant_add_row`] / [`dequant_add_square`] by `SQUARE`: with AVX2
/// where the blocks fit and qP is in range, else one block at a time.
#[inline(always)]
fn dequant_add<const SQUARE: bool>(
    cols: &[[i16; 16]; 4],
    (keep, dc): (u8, [i32; 4]),
    qp: i32,
    (pred, ps): (&[u8], usize),
    (out, os): (&mut [u8], usize),
) -> bool {
    if dc.iter().any(|d| d.unsigned_abs() > SCALED_MAX as u32) {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    if blocks_fit::<SQUARE>(pred.len(), ps)
        && blocks_fit::<SQUARE>(out.len(), os)
        && (0..=51).contains(&qp)
        && std::arch::is_x86_feature_detected!("avx2")
    {
        // SAFETY: the CPU has AVX2; the blocks' rows lie in `pred` and
        // `out` (checked above).
        return unsafe {
            avx2::dequant_add::<SQUARE>(
                cols,
                (keep, dc),
                (&FACTORS[qp as usize % 6], qp / 6),
                (pred.as_ptr(), ps),
                (out.as_mut_ptr(), os),
            )
        };
    }
    dequant_add_portable::<SQUARE>(cols, (keep, dc), qp, (pred, ps), (out, os))
}

/// [`dequant_add`] one block at a time, through [`dequant_add_columns_dc`].
fn dequant_add_portable<const SQUARE: bool>(
    cols: &[[i16; 16]; 4],
    (keep, dc): (u8, [i32; 4]),
    qp: i32,
    (pred, ps): (&[u8], usize),
    (out, os): (&mut [u8], usize),
) -> bool {
    (0..4).all(|b| {
        let block = block_columns(cols, keep, b);
        let (p, o) = (block_at::<SQUARE>(b, ps), block_at::<SQUARE>(b, os));
        match (pred.get(p..), out.get_mut(o..)) {
            (Some(p), Some(o)) => dequant_add_columns_dc(&block, qp, dc[b], (p, ps), (o, os)),
            _ => false,
        }
    })
}

/// Block `b`'s levels by columns (`[k][r]`), all zero where its bit in
/// `keep` is clear.
fn block_columns(cols: &[[i16; 16]; 4], keep: u8, b: usize) -> [[i16; 4]; 4] {
    if keep & (1 << b) == 0 {
        return [[0; 4]; 4];
    }
    std::array::from_fn(|k| std::array::from_fn(|r| cols[k][4 * b + r]))
}

/// The flat-matrix scaling factors of qP % 6 by columns (8.5.12.1,
/// before the 2^(qP/6) step), column k's four (rows 0..4) as the 16-bit
/// words of one 64-bit value, low word first: at most 25 each, and 25 ·
/// 2^8 still fits 16 bits.
#[cfg(target_arch = "x86_64")]
const FACTORS: [[i64; 4]; 6] = {
    let mut out = [[0i64; 4]; 6];
    let mut q = 0;
    while q < 6 {
        let v = dequant_factors_by_columns(q as i32);
        let mut k = 0;
        while k < 4 {
            let mut r = 0;
            while r < 4 {
                out[q][k] |= (v[k][r] as i64) << (16 * r);
                r += 1;
            }
            k += 1;
        }
        q += 1;
    }
    out
};

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::SCALED_MAX;
    // Registers by column (lane 4·b + r: row r of block b) to registers by
    // row (lane 4·b + k: column k of block b): the transform's transpose.
    use crate::nonzero::x86::transpose_blocks;
    use std::arch::x86_64::*;

    /// [`super::dequant_add_row`] (`SQUARE` false) or
    /// [`super::dequant_add_square`] (`SQUARE` true) in AVX2: lane 4·b + r of
    /// register k holds row r, column k of block b.
    ///
    /// # Safety
    /// The CPU has AVX2; 4 rows of 16 samples (8 rows of 8 with `SQUARE`)
    /// are readable at `pred` and writable at `out`; each |dc| ≤ 2600.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn dequant_add<const SQUARE: bool>(
        cols: &[[i16; 16]; 4],
        (keep, dc): (u8, [i32; 4]),
        (factors, shift): (&[i64; 4], i32),
        (pred, ps): (*const u8, usize),
        (out, os): (*mut u8, usize),
    ) -> bool {
        let block_mask = |b: u8| -i64::from((keep >> b) & 1);
        let keep = _mm256_setr_epi64x(block_mask(0), block_mask(1), block_mask(2), block_mask(3));
        // Each block's DC in the low word of its 64 bits (row 0, column 0).
        let dc = dc.map(|v| i64::from(v as u16));
        let dc = _mm256_setr_epi64x(dc[0], dc[1], dc[2], dc[3]);
        let shift = _mm_cvtsi32_si128(shift);
        let (hi_bound, lo_bound) = (
            _mm256_set1_epi16(SCALED_MAX as i16),
            _mm256_set1_epi16(-SCALED_MAX as i16),
        );
        let mut beyond = _mm256_setzero_si256();
        let mut d = [_mm256_setzero_si256(); 4];
        for (k, dk) in d.iter_mut().enumerate() {
            let c = _mm256_and_si256(_mm256_loadu_si256(cols[k].as_ptr().cast()), keep);
            let f = _mm256_sll_epi16(_mm256_set1_epi64x(factors[k]), shift);
            // 8.5.12.1: c · factor, exact where the high half is the low
            // half's sign.
            let (lo, hi) = (_mm256_mullo_epi16(c, f), _mm256_mulhi_epi16(c, f));
            let wide = _mm256_xor_si256(hi, _mm256_srai_epi16(lo, 15));
            let x = if k == 0 {
                _mm256_adds_epi16(lo, dc)
            } else {
                lo
            };
            let out_of_range = _mm256_or_si256(
                _mm256_cmpgt_epi16(x, hi_bound),
                _mm256_cmpgt_epi16(lo_bound, x),
            );
            beyond = _mm256_or_si256(beyond, _mm256_or_si256(wide, out_of_range));
            *dk = x;
        }
        if _mm256_testz_si256(beyond, beyond) == 0 {
            return false;
        }
        // 8.5.12.2: the row transforms (one lane per row of each block,
        // registers by column), then the column transforms with registers
        // by row.
        let rows = transpose_blocks(inverse_1d(d));
        let h = inverse_1d(rows);
        let bias = _mm256_set1_epi16(32);
        for (r, hr) in h.iter().enumerate() {
            let res = _mm256_srai_epi16(_mm256_add_epi16(*hr, bias), 6);
            // Lanes 0..8 are blocks 0, 1 and lanes 8..16 blocks 2, 3: one
            // row of 16 samples, or rows r and 4 + r of an 8×8 square.
            let (low, high) = if SQUARE {
                (r * ps, (4 + r) * ps)
            } else {
                (r * ps, r * ps + 8)
            };
            let p = _mm_unpacklo_epi64(
                _mm_loadl_epi64(pred.add(low).cast()),
                _mm_loadl_epi64(pred.add(high).cast()),
            );
            let sum = _mm256_add_epi16(res, _mm256_cvtepu8_epi16(p));
            let bytes = _mm_packus_epi16(
                _mm256_castsi256_si128(sum),
                _mm256_extracti128_si256(sum, 1),
            );
            let (low, high) = if SQUARE {
                (r * os, (4 + r) * os)
            } else {
                (r * os, r * os + 8)
            };
            _mm_storel_epi64(out.add(low).cast(), bytes);
            _mm_storel_epi64(out.add(high).cast(), _mm_unpackhi_epi64(bytes, bytes));
        }
        true
    }

    /// One-dimensional inverse transform (8.5.12.2) of every lane.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn inverse_1d(x: [__m256i; 4]) -> [__m256i; 4] {
        let e0 = _mm256_add_epi16(x[0], x[2]);
        let e1 = _mm256_sub_epi16(x[0], x[2]);
        let e2 = _mm256_sub_epi16(_mm256_srai_epi16(x[1], 1), x[3]);
        let e3 = _mm256_add_epi16(x[1], _mm256_srai_epi16(x[3], 1));
        [
            _mm256_add_epi16(e0, e3),
            _mm256_add_epi16(e1, e2),
            _mm256_sub_epi16(e1, e2),
            _mm256_sub_epi16(e0, e3),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// Levels of one of three kinds: mostly small, some up to the range
    /// that scales past ±2600, some zero blocks.
    fn random_cols(state: &mut u64) -> [[i16; 16]; 4] {
        let spread = [0u64, 3, 40, 400][(xorshift(state) % 4) as usize];
        std::array::from_fn(|_| {
            std::array::from_fn(|_| {
                if spread == 0 || xorshift(state).is_multiple_of(3) {
                    0
                } else {
                    (xorshift(state) % (2 * spread + 1)) as i16 - spread as i16
                }
            })
        })
    }

    /// [`dequant_add_row`] on 4 rows 20 samples apart, all 7 before.
    fn run(case: (&[[i16; 16]; 4], u8, [i32; 4], i32), pred: &[u8]) -> (bool, Vec<u8>) {
        let mut out = vec![7u8; 20 * 4];
        let ok = dequant_add_row(case.0, case.1, case.2, case.3, (pred, 20), (&mut out, 20));
        (ok, out)
    }

    /// The kernel of one layout against the blocks one by one on random
    /// levels, DCs (each block's DC level then 0, as Intra16x16 and chroma
    /// hold them) and predictions, rows 10 (`SQUARE`) or 20 samples apart:
    /// the same answer, and where it takes the blocks the same samples.
    /// Both answers must be seen often.
    fn kernel_equals_the_blocks_one_by_one<const SQUARE: bool>(mut state: u64) {
        let (stride, rows) = if SQUARE { (10, 8) } else { (20, 4) };
        let (mut taken, mut refused) = (0, 0);
        for case in 0..20_000 {
            let mut cols = random_cols(&mut state);
            let keep = (xorshift(&mut state) % 16) as u8;
            let qp = (xorshift(&mut state) % 52) as i32;
            let dc: [i32; 4] = std::array::from_fn(|_| (xorshift(&mut state) % 6001) as i32 - 3000);
            let dc = if case % 2 == 0 { [0; 4] } else { dc };
            if SQUARE || case % 2 == 1 {
                for b in 0..4 {
                    cols[0][4 * b] = 0;
                }
            }
            let pred: Vec<u8> = (0..stride * rows)
                .map(|_| xorshift(&mut state) as u8)
                .collect();
            let mut fast = vec![7u8; stride * rows];
            let mut slow = fast.clone();
            let ok =
                dequant_add::<SQUARE>(&cols, (keep, dc), qp, (&pred, stride), (&mut fast, stride));
            let ok_ref = dequant_add_portable::<SQUARE>(
                &cols,
                (keep, dc),
                qp,
                (&pred, stride),
                (&mut slow, stride),
            );
            let what = format!("case {case}: qp {qp}, keep {keep:#x}, dc {dc:?}");
            assert_eq!(ok, ok_ref, "{what}");
            if ok {
                assert_eq!(fast, slow, "{what}");
                taken += 1;
            } else {
                refused += 1;
            }
        }
        assert!(
            taken > 5_000 && refused > 1_000,
            "{taken} taken, {refused} refused"
        );
    }

    #[test]
    fn row_equals_the_blocks_one_by_one() {
        kernel_equals_the_blocks_one_by_one::<false>(0x9e37_79b9_7f4a_7c15);
    }

    #[test]
    fn square_equals_the_blocks_one_by_one() {
        kernel_equals_the_blocks_one_by_one::<true>(0x1234_5678_9abc_def1);
    }

    #[test]
    fn unkept_blocks_are_the_prediction() {
        let cols = [[5i16; 16]; 4];
        let pred: Vec<u8> = (0..20 * 4).map(|i| (i * 3) as u8).collect();
        let (ok, out) = run((&cols, 0, [0; 4], 30), &pred);
        assert!(ok);
        for r in 0..4 {
            assert_eq!(out[r * 20..r * 20 + 16], pred[r * 20..r * 20 + 16]);
            // Samples past the 16 of a row are left alone.
            assert_eq!(out[r * 20 + 16..r * 20 + 20], [7; 4]);
        }
    }

    #[test]
    fn a_dc_beyond_the_bound_is_refused() {
        let cols = [[0i16; 16]; 4];
        let pred = vec![128u8; 20 * 4];
        let (ok, out) = run((&cols, 15, [0, 2601, 0, 0], 28), &pred);
        assert!(!ok);
        assert_eq!(out, vec![7u8; 20 * 4], "nothing written");
        let (ok, _) = run((&cols, 15, [0, -2600, 0, 0], 28), &pred);
        assert!(ok);
    }
}
