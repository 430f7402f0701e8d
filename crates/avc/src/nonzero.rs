//! Which 4×4 blocks of a 16×16 residual quantise to some nonzero level,
//! found from the forward transform alone (the encoder's counterpart of
//! 8.5.12): a level (|c|·MF + offset) >> qbits is nonzero exactly when |c|
//! reaches ⌈(2^qbits − offset) / MF⌉, so no block needs quantising to tell.
//! Inter macroblocks use it to transform and quantise only the blocks that
//! will carry levels.

use crate::transform::{Deadzone, Quantiser};

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
            // Deadzone::offset: 1/3 of the step for intra, 1/6 for inter.
            let offset = (1i64 << qbits) / if dz == 0 { 3 } else { 6 };
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
    if stride >= 16 && src.len() >= 15 * stride + 16 && std::arch::is_x86_feature_detected!("avx2")
    {
        let (dz, qp) = table_index(quant);
        // SAFETY: AVX2 is present (checked above); the 16 rows of 16 samples
        // lie inside `src` (checked above) and `pred` is 16×16.
        return unsafe {
            x86::nonzero_blocks_16x16(src.as_ptr(), stride, pred.as_ptr(), &LIMITS[dz][qp])
        };
    }
    nonzero_blocks_portable(quant, src, stride, pred)
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

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! AVX2 kernel (used only where the processor reports AVX2): four 4×4
    //! blocks side by side in each register of 16 16-bit lanes.
    use std::arch::x86_64::*;

    /// The forward core transform's butterfly (the matrix of 8.5.12's
    /// counterpart: rows 1 1 1 1, 2 1 −1 −2, 1 −1 −1 1, 1 −2 2 −1) over four
    /// registers, lane by lane. With 8-bit residuals every value fits 16
    /// bits: at most 6·255 after one pass and 6·6·255 after two.
    #[inline(always)]
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
    /// registers: register j, group g then holds column j of block g.
    #[inline(always)]
    unsafe fn transpose_blocks(r: [__m256i; 4]) -> [__m256i; 4] {
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

    /// [`super::nonzero_blocks_portable`] with AVX2, a band of four blocks
    /// at a time: vertical transform with rows as registers, a transpose,
    /// horizontal transform with columns as registers, so that register v
    /// holds horizontal frequency v and group lane k vertical frequency k.
    ///
    /// # Safety
    /// AVX2 must be present; `src` must be readable as 16 rows of 16 samples
    /// `stride` apart and `pred` as 256 samples.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn nonzero_blocks_16x16(
        src: *const u8,
        stride: usize,
        pred: *const u8,
        limits: &[u64; 4],
    ) -> u16 {
        // A level where |c| > least − 1 (least ≥ 1), per position (k, v),
        // repeated for each block.
        let limits = limits.map(|l| _mm256_set1_epi64x(l as i64));
        let zero = _mm256_setzero_si256();
        let mut mask = 0u32;
        for band in 0..4 {
            let rows: [__m256i; 4] = std::array::from_fn(|r| {
                let y = 4 * band + r;
                let s = _mm_loadu_si128(src.add(y * stride).cast());
                let p = _mm_loadu_si128(pred.add(y * 16).cast());
                _mm256_sub_epi16(_mm256_cvtepu8_epi16(s), _mm256_cvtepu8_epi16(p))
            });
            let coef = forward_1d(transpose_blocks(forward_1d(rows)));
            let mut any = zero;
            for (c, limit) in coef.iter().zip(&limits) {
                any = _mm256_or_si256(any, _mm256_cmpgt_epi16(_mm256_abs_epi16(*c), *limit));
            }
            // One bit per 64-bit group (block) that holds no level.
            let empty =
                _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(any, zero))) as u32;
            mask |= (!empty & 0xf) << (4 * band);
        }
        mask as u16
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

    /// The transform-only answer equals quantising every block, over
    /// residuals from flat to extreme, every qp and both dead zones, and
    /// rows wider than the block.
    #[test]
    fn nonzero_blocks_equal_quantising_every_block() {
        let mut state = 5u32;
        let stride = 24;
        for case in 0..300 {
            let src: Vec<u8> = (0..16 * stride)
                .map(|i| match case % 4 {
                    0 => noise(&mut state),
                    1 => 128u8.wrapping_add(noise(&mut state) >> 5),
                    2 => {
                        if (i / stride + i % stride) % 2 == 0 {
                            255
                        } else {
                            0
                        }
                    }
                    _ => ((i % stride) * 9 + (i / stride) * 5) as u8,
                })
                .collect();
            let pred: [u8; 256] = std::array::from_fn(|i| match case % 3 {
                0 => noise(&mut state),
                1 => src[(i / 16) * stride + i % 16].wrapping_add(noise(&mut state) >> 6),
                _ => 255 - src[(i / 16) * stride + i % 16],
            });
            for qp in [0, 1, 6, 12, 18, 22, 27, 32, 37, 42, 47, 51] {
                for dz in [Deadzone::Intra, Deadzone::Inter] {
                    let quant = Quantiser::new(qp, dz);
                    assert_eq!(
                        nonzero_blocks_16x16(&quant, &src, stride, &pred),
                        nonzero_blocks_portable(&quant, &src, stride, &pred),
                        "case {case} qp {qp} {dz:?}"
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
