//! SATDs of a source block against the intra predictions that are flat
//! along a direction inside every 4×4 block — vertical, horizontal and DC,
//! of Intra16x16 (8.3.3.1–3) and of chroma (8.3.4.1–3) — all three from one
//! Hadamard transform of the source.
//!
//! The 4×4 Hadamard transform H is linear, so H(source − prediction) =
//! H(source) − H(prediction), and these predictions transform to almost
//! nothing: a block whose rows all repeat t has 4·H(t) in its first row of
//! coefficients and zeros elsewhere (vertical), one whose columns repeat l
//! has 4·H(l) in its first column (horizontal), and a flat block of value d
//! has 16·d as its first coefficient (DC). So each mode's SATD is the sum of
//! the source's coefficient magnitudes with at most 4 terms per block
//! changed. The numbers equal [`crate::pixel::satd_u8`] against the
//! predictions (a block's magnitudes sum to an even number, so halving the
//! total halves each block exactly); the tests compare them.

/// SATDs of one source block against the three flat predictions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlatSatds {
    pub vertical: u32,
    pub horizontal: u32,
    pub dc: u32,
}

/// [`FlatSatds`] of the 16×16 block at `src` (rows `stride` apart) against
/// Intra16x16 vertical (`top`), horizontal (`left`) and DC (`dc`).
pub fn i16_flat_satds(
    src: &[u8],
    stride: usize,
    top: &[u8; 16],
    left: &[u8; 16],
    dc: u8,
) -> FlatSatds {
    #[cfg(target_arch = "x86_64")]
    if fits(src.len(), stride, 16, 16) && std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the 16 rows of 16 samples lie inside `src` (checked by
        // `fits`) and the processor has AVX2.
        return unsafe { x86::i16_flat_satds(src.as_ptr(), stride, top, left, dc) };
    }
    i16_flat_satds_portable(src, stride, top, left, dc)
}

/// [`FlatSatds`] of both 8×8 chroma blocks (`src[c]`, rows `stride` apart)
/// summed over the two planes, against chroma vertical (`top[c]`),
/// horizontal (`left[c]`) and DC, whose value differs per 4×4 block
/// (`dc[c][by·2 + bx]`, 8.3.4.1–3).
pub fn chroma_flat_satds(
    src: [&[u8]; 2],
    stride: usize,
    top: [&[u8; 8]; 2],
    left: [&[u8; 8]; 2],
    dc: [[u8; 4]; 2],
) -> FlatSatds {
    #[cfg(target_arch = "x86_64")]
    if src.iter().all(|p| fits(p.len(), stride, 8, 8))
        && std::arch::is_x86_feature_detected!("avx2")
    {
        // SAFETY: both planes' 8 rows of 8 samples lie inside their slices
        // (checked by `fits`) and the processor has AVX2.
        return unsafe { x86::chroma_flat_satds(src.map(<[u8]>::as_ptr), stride, top, left, dc) };
    }
    chroma_flat_satds_portable(src, stride, top, left, dc)
}

/// The 4-point Hadamard transform (rows of ±1, first the sum).
fn h4(x: [i32; 4]) -> [i32; 4] {
    let (a, b) = (x[0] + x[1], x[0] - x[1]);
    let (c, d) = (x[2] + x[3], x[2] - x[3]);
    [a + c, a - c, b - d, b + d]
}

/// The edges of one 4×4 block's flat predictions.
struct BlockEdges {
    top: [i32; 4],
    left: [i32; 4],
    dc: i32,
}

impl BlockEdges {
    /// From the first four samples of `top` and of `left`, and the DC value.
    fn of(top: &[u8], left: &[u8], dc: u8) -> BlockEdges {
        BlockEdges {
            top: std::array::from_fn(|k| i32::from(top[k])),
            left: std::array::from_fn(|k| i32::from(left[k])),
            dc: i32::from(dc),
        }
    }
}

/// Twice the SATDs of one 4×4 block (`rows`) against its vertical,
/// horizontal and DC predictions: coefficient [v][u] of the source minus
/// that of each prediction.
fn block_sums(rows: [[i32; 4]; 4], e: &BlockEdges) -> [u32; 3] {
    let r = rows.map(h4);
    let c: [[i32; 4]; 4] = {
        let cols: [[i32; 4]; 4] = std::array::from_fn(|u| h4(r.map(|row| row[u])));
        std::array::from_fn(|v| std::array::from_fn(|u| cols[u][v]))
    };
    let (ht, hl) = (h4(e.top), h4(e.left));
    let total: u32 = c.iter().flatten().map(|v| v.unsigned_abs()).sum();
    let first_row: u32 = c[0].iter().map(|v| v.unsigned_abs()).sum();
    let first_col: u32 = c.iter().map(|row| row[0].unsigned_abs()).sum();
    let vertical: u32 = (0..4).map(|u| (c[0][u] - 4 * ht[u]).unsigned_abs()).sum();
    let horizontal: u32 = (0..4).map(|v| (c[v][0] - 4 * hl[v]).unsigned_abs()).sum();
    let dc = (c[0][0] - 16 * e.dc).unsigned_abs();
    [
        total - first_row + vertical,
        total - first_col + horizontal,
        total - c[0][0].unsigned_abs() + dc,
    ]
}

/// The 4×4 block at (x, y) of a plane, widened.
fn block_rows(src: &[u8], stride: usize, x: usize, y: usize) -> [[i32; 4]; 4] {
    std::array::from_fn(|r| std::array::from_fn(|k| i32::from(src[(y + r) * stride + x + k])))
}

/// Halves the doubled sums of [`block_sums`] into SATDs.
fn halved([v, h, dc]: [u32; 3]) -> FlatSatds {
    FlatSatds {
        vertical: v / 2,
        horizontal: h / 2,
        dc: dc / 2,
    }
}

/// The portable [`i16_flat_satds`].
pub fn i16_flat_satds_portable(
    src: &[u8],
    stride: usize,
    top: &[u8; 16],
    left: &[u8; 16],
    dc: u8,
) -> FlatSatds {
    summed((0..16).map(|blk| {
        let (bx, by) = (4 * (blk % 4), 4 * (blk / 4));
        let e = BlockEdges::of(&top[bx..], &left[by..], dc);
        (block_rows(src, stride, bx, by), e)
    }))
}

/// The portable [`chroma_flat_satds`].
pub fn chroma_flat_satds_portable(
    src: [&[u8]; 2],
    stride: usize,
    top: [&[u8; 8]; 2],
    left: [&[u8; 8]; 2],
    dc: [[u8; 4]; 2],
) -> FlatSatds {
    summed((0..8).map(|i| {
        let (c, blk) = (i / 4, i % 4);
        let (bx, by) = (4 * (blk % 2), 4 * (blk / 2));
        let e = BlockEdges::of(&top[c][bx..], &left[c][by..], dc[c][blk]);
        (block_rows(src[c], stride, bx, by), e)
    }))
}

/// The SATDs of blocks given with their edges: [`block_sums`] added up and
/// halved.
fn summed(blocks: impl Iterator<Item = ([[i32; 4]; 4], BlockEdges)>) -> FlatSatds {
    let sums = blocks.fold([0u32; 3], |acc, (rows, e)| {
        let s = block_sums(rows, &e);
        std::array::from_fn(|m| acc[m] + s[m])
    });
    halved(sums)
}

/// Whether a `w`×`h` block with this stride lies inside `len` samples.
#[cfg(target_arch = "x86_64")]
fn fits(len: usize, stride: usize, w: usize, h: usize) -> bool {
    w <= stride && (h - 1) * stride + w <= len
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! AVX2 kernels: a row of four 4×4 blocks (16 samples, 16-bit lanes)
    //! per register, the horizontal transform inside each group of four
    //! lanes, the vertical one across the four rows of a block row, both in
    //! one order of frequencies (not [`super::h4`]'s; the sums do not
    //! depend on it). The horizontal prediction's coefficients meet the
    //! first column of each block, gathered into one register per block
    //! row.
    use super::FlatSatds;
    use std::arch::x86_64::*;

    /// The 4-point Hadamard transform inside each group of four lanes,
    /// coefficients in the order (a + c, b + d, a − c, b − d) for a = x0 +
    /// x1, b = x0 − x1, c = x2 + x3, d = x2 − x3.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn h4_lanes(x: __m256i) -> __m256i {
        // Neighbours swapped, odd lanes negated: (a, b, c, d).
        let pairs = _mm256_shufflelo_epi16(_mm256_shufflehi_epi16(x, 0b10_11_00_01), 0b10_11_00_01);
        let odd = _mm256_setr_epi16(1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1);
        let r = _mm256_add_epi16(pairs, _mm256_sign_epi16(x, odd));
        // Pairs of lanes swapped, the second pair negated.
        let halves = _mm256_shuffle_epi32(r, 0b10_11_00_01);
        let second = _mm256_setr_epi16(1, 1, -1, -1, 1, 1, -1, -1, 1, 1, -1, -1, 1, 1, -1, -1);
        _mm256_add_epi16(halves, _mm256_sign_epi16(r, second))
    }

    /// [`h4_lanes`] down four rows, in the same order: row 0 holds the
    /// blocks' first rows of coefficients.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn h4_down(r: [__m256i; 4]) -> [__m256i; 4] {
        let (a, b) = (_mm256_add_epi16(r[0], r[1]), _mm256_sub_epi16(r[0], r[1]));
        let (c, d) = (_mm256_add_epi16(r[2], r[3]), _mm256_sub_epi16(r[2], r[3]));
        [
            _mm256_add_epi16(a, c),
            _mm256_add_epi16(b, d),
            _mm256_sub_epi16(a, c),
            _mm256_sub_epi16(b, d),
        ]
    }

    /// The first lane of each group of row k moved to lane k of the group:
    /// one register with the first column of coefficients of each block.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn first_columns(k: [__m256i; 4]) -> __m256i {
        let x = _mm256_blend_epi16(k[0], _mm256_slli_si256(k[1], 2), 0b0010_0010);
        let x = _mm256_blend_epi16(x, _mm256_slli_si256(k[2], 4), 0b0100_0100);
        _mm256_blend_epi16(x, _mm256_slli_si256(k[3], 6), 0b1000_1000)
    }

    /// |c − p| − |c| (`mag` = |c|), summed in pairs into 32-bit lanes.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn change(c: __m256i, mag: __m256i, p: __m256i) -> __m256i {
        let d = _mm256_sub_epi16(_mm256_abs_epi16(_mm256_sub_epi16(c, p)), mag);
        _mm256_madd_epi16(d, _mm256_set1_epi16(1))
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn sum(v: __m256i) -> i32 {
        let x = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        let x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0b01_00_11_10));
        let x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0b10_11_00_01));
        _mm_cvtsi128_si32(x)
    }

    /// Running sums of the magnitudes and of each mode's change.
    struct Sums {
        total: __m256i,
        v: __m256i,
        h: __m256i,
        dc: __m256i,
    }

    impl Sums {
        #[target_feature(enable = "avx2")]
        #[inline]
        unsafe fn new() -> Sums {
            let z = _mm256_setzero_si256();
            Sums {
                total: z,
                v: z,
                h: z,
                dc: z,
            }
        }

        /// Adds one block row of coefficients against the vertical (`vp`),
        /// horizontal (`hp`, first columns) and DC (`dcp`) predictions.
        #[target_feature(enable = "avx2")]
        #[inline]
        unsafe fn add(&mut self, k: [__m256i; 4], vp: __m256i, hp: __m256i, dcp: __m256i) {
            let one = _mm256_set1_epi16(1);
            let mut mags = _mm256_setzero_si256();
            for row in k {
                mags = _mm256_add_epi32(mags, _mm256_madd_epi16(_mm256_abs_epi16(row), one));
            }
            self.total = _mm256_add_epi32(self.total, mags);
            let first = _mm256_abs_epi16(k[0]);
            self.v = _mm256_add_epi32(self.v, change(k[0], first, vp));
            self.dc = _mm256_add_epi32(self.dc, change(k[0], first, dcp));
            let cols = first_columns(k);
            self.h = _mm256_add_epi32(self.h, change(cols, _mm256_abs_epi16(cols), hp));
        }

        #[target_feature(enable = "avx2")]
        #[inline]
        unsafe fn satds(&self) -> FlatSatds {
            let total = sum(self.total);
            let half = |d: __m256i| ((total + sum(d)) / 2) as u32;
            FlatSatds {
                vertical: half(self.v),
                horizontal: half(self.h),
                dc: half(self.dc),
            }
        }
    }

    /// Group g of `x` in every group (32-bit lane indices).
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn spread_groups(x: __m256i, groups: [i32; 4]) -> __m256i {
        let [a, b, c, d] = groups.map(|g| 2 * g);
        let idx = _mm256_setr_epi32(a, a + 1, b, b + 1, c, c + 1, d, d + 1);
        _mm256_permutevar8x32_epi32(x, idx)
    }

    /// 16-bit lanes holding `values[g]` in the first lane of group g.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn first_lanes(values: [i32; 4]) -> __m256i {
        let [a, b, c, d] = values.map(|v| i64::from(v as i16 as u16));
        _mm256_setr_epi64x(a, b, c, d)
    }

    /// [`super::i16_flat_satds`]. Caller: 16 rows of 16 samples readable at
    /// `src`, `stride` apart; AVX2 present.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn i16_flat_satds(
        src: *const u8,
        stride: usize,
        top: &[u8; 16],
        left: &[u8; 16],
        dc: u8,
    ) -> FlatSatds {
        let widen = |p: *const u8| _mm256_cvtepu8_epi16(_mm_loadu_si128(p.cast()));
        let vp = _mm256_slli_epi16(h4_lanes(widen(top.as_ptr())), 2);
        // Group by of `left4` holds block row by's left edge transformed.
        let left4 = _mm256_slli_epi16(h4_lanes(widen(left.as_ptr())), 2);
        let dcp = first_lanes([16 * i32::from(dc); 4]);
        let mut sums = Sums::new();
        for by in 0..4 {
            let rows = [0, 1, 2, 3].map(|r| h4_lanes(widen(src.add((4 * by + r) * stride))));
            let hp = spread_groups(left4, [by as i32; 4]);
            sums.add(h4_down(rows), vp, hp, dcp);
        }
        sums.satds()
    }

    /// [`super::chroma_flat_satds`]: Cb in lanes 0..8 and Cr in lanes
    /// 8..16 of each row. Caller: 8 rows of 8 samples readable at both
    /// pointers, `stride` apart; AVX2 present.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn chroma_flat_satds(
        src: [*const u8; 2],
        stride: usize,
        top: [&[u8; 8]; 2],
        left: [&[u8; 8]; 2],
        dc: [[u8; 4]; 2],
    ) -> FlatSatds {
        let pair = |a: *const u8, b: *const u8| {
            let x = _mm_unpacklo_epi64(_mm_loadl_epi64(a.cast()), _mm_loadl_epi64(b.cast()));
            _mm256_cvtepu8_epi16(x)
        };
        let vp = _mm256_slli_epi16(h4_lanes(pair(top[0].as_ptr(), top[1].as_ptr())), 2);
        // Groups: Cb block rows 0 and 1, then Cr's.
        let left4 = _mm256_slli_epi16(h4_lanes(pair(left[0].as_ptr(), left[1].as_ptr())), 2);
        let mut sums = Sums::new();
        for by in 0..2 {
            let rows = [0, 1, 2, 3].map(|r| {
                let at = (4 * by + r) * stride;
                h4_lanes(pair(src[0].add(at), src[1].add(at)))
            });
            let b = by as i32;
            let hp = spread_groups(left4, [b, b, 2 + b, 2 + b]);
            let d = |c: usize, bx: usize| 16 * i32::from(dc[c][2 * by + bx]);
            let dcp = first_lanes([d(0, 0), d(0, 1), d(1, 0), d(1, 1)]);
            sums.add(h4_down(rows), vp, hp, dcp);
        }
        sums.satds()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pixel::satd_u8;

    fn xorshift(state: &mut u32) -> u8 {
        *state ^= *state << 13;
        *state ^= *state >> 17;
        *state ^= *state << 5;
        (*state >> 24) as u8
    }

    /// Sources and edges: random, and the extremes (0 against 255 both ways).
    fn samples(case: usize, state: &mut u32, n: usize) -> (Vec<u8>, Vec<u8>) {
        let fill = |v: u8| vec![v; n];
        match case {
            0 => (fill(0), fill(255)),
            1 => (fill(255), fill(0)),
            _ => (
                (0..n).map(|_| xorshift(state)).collect(),
                (0..n).map(|_| xorshift(state)).collect(),
            ),
        }
    }

    /// The SATDs equal those against the predictions written out, for the
    /// AVX2 and the portable kernels, on random and extreme blocks.
    #[test]
    fn i16_satds_equal_satds_against_the_predictions() {
        let mut state = 0x1234_5678;
        for case in 0..40 {
            let stride = 16 + case % 5;
            let (src, edges) = samples(case, &mut state, 16 * stride);
            let top: [u8; 16] = std::array::from_fn(|k| edges[k]);
            let left: [u8; 16] = std::array::from_fn(|k| edges[16 + k]);
            let dc = edges[32];
            let satd = |pred: &dyn Fn(usize, usize) -> u8| {
                let p: Vec<u8> = (0..256).map(|i| pred(i % 16, i / 16)).collect();
                satd_u8(&src, stride, &p, 16, 16, 16)
            };
            let want = FlatSatds {
                vertical: satd(&|x, _| top[x]),
                horizontal: satd(&|_, y| left[y]),
                dc: satd(&|_, _| dc),
            };
            assert_eq!(
                i16_flat_satds(&src, stride, &top, &left, dc),
                want,
                "case {case}"
            );
            let portable = i16_flat_satds_portable(&src, stride, &top, &left, dc);
            assert_eq!(portable, want, "case {case}");
        }
    }

    #[test]
    fn chroma_satds_equal_satds_against_the_predictions() {
        let mut state = 0x9abc_def1;
        for case in 0..40 {
            let stride = 8 + case % 3;
            let (a, edges) = samples(case, &mut state, 8 * stride);
            let (b, more) = samples(case + 1, &mut state, 8 * stride);
            let part = |at: usize| [&edges[at..], &more[at..]];
            let top: [[u8; 8]; 2] = part(0).map(|s| std::array::from_fn(|k| s[k]));
            let left: [[u8; 8]; 2] = part(8).map(|s| std::array::from_fn(|k| s[k]));
            let dc: [[u8; 4]; 2] = part(16).map(|s| std::array::from_fn(|k| s[k]));
            let src = [&a[..], &b[..]];
            let satd = |pred: &dyn Fn(usize, usize, usize) -> u8| -> u32 {
                (0..2)
                    .map(|c| {
                        let p: Vec<u8> = (0..64).map(|i| pred(c, i % 8, i / 8)).collect();
                        satd_u8(src[c], stride, &p, 8, 8, 8)
                    })
                    .sum()
            };
            let want = FlatSatds {
                vertical: satd(&|c, x, _| top[c][x]),
                horizontal: satd(&|c, _, y| left[c][y]),
                dc: satd(&|c, x, y| dc[c][(y / 4) * 2 + x / 4]),
            };
            let (t, l) = ([&top[0], &top[1]], [&left[0], &left[1]]);
            assert_eq!(
                chroma_flat_satds(src, stride, t, l, dc),
                want,
                "case {case}"
            );
            let portable = chroma_flat_satds_portable(src, stride, t, l, dc);
            assert_eq!(portable, want, "case {case}");
        }
    }
}
