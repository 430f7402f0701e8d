//! Block distortion kernels for mode decision, motion search and the
//! zero-level tests: SAD and SATD of 8-bit blocks. On x86-64 the common
//! shapes (4×4 SAD, 8- and 16-wide SAD and SATD) run as SSE2 code, which
//! every x86-64 processor has, and the 16-wide and paired 8×8 SATDs as AVX2
//! code where the processor reports it; elsewhere, and for other shapes, the
//! portable versions in [`crate::transform`] and here. All give the same
//! numbers: the tests compare them on random and extreme blocks.

use crate::transform;

/// SAD of a `w`×`h` block between two 8-bit blocks given as slices from
/// their first sample with row strides.
#[inline]
pub fn sad_u8(a: &[u8], a_stride: usize, b: &[u8], b_stride: usize, w: usize, h: usize) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if fits(a.len(), a_stride, w, h) && fits(b.len(), b_stride, w, h) {
        match w {
            // SAFETY: both blocks lie inside their slices (checked by `fits`).
            16 if h == 16 => {
                return unsafe { x86::sad_16xn::<16>(a.as_ptr(), a_stride, b.as_ptr(), b_stride) }
            }
            // SAFETY: as above.
            16 => return unsafe { x86::sad_16(a.as_ptr(), a_stride, b.as_ptr(), b_stride, h) },
            // SAFETY: as above.
            8 => return unsafe { x86::sad_8(a.as_ptr(), a_stride, b.as_ptr(), b_stride, h) },
            // SAFETY: as above.
            4 if h == 4 => {
                return unsafe { x86::sad_4x4(a.as_ptr(), a_stride, b.as_ptr(), b_stride) }
            }
            _ => {}
        }
    }
    sad_portable(a, a_stride, b, b_stride, w, h)
}

/// [`sad_u8`] of one 16×16 block against each of four others (rows
/// `b_stride` apart): the block's rows are loaded once for all four.
pub fn sad_16x16_x4(a: &[u8], a_stride: usize, b: [&[u8]; 4], b_stride: usize) -> [u32; 4] {
    #[cfg(target_arch = "x86_64")]
    if fits(a.len(), a_stride, 16, 16) && b.iter().all(|b| fits(b.len(), b_stride, 16, 16)) {
        // SAFETY: all five blocks lie inside their slices (checked above).
        return unsafe { x86::sad_16x16_x4(a.as_ptr(), a_stride, b.map(<[u8]>::as_ptr), b_stride) };
    }
    b.map(|b| sad_u8(a, a_stride, b, b_stride, 16, 16))
}

/// [`sad_16x16_x4`] on blocks given by their first samples.
///
/// # Safety
/// `a` and each of `b` point at 16 rows of 16 readable samples, rows
/// `a_stride` and `b_stride` apart.
#[inline]
pub(crate) unsafe fn sad_16x16_x4_unchecked(
    a: *const u8,
    a_stride: usize,
    b: [*const u8; 4],
    b_stride: usize,
) -> [u32; 4] {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the caller's promise.
    return unsafe { x86::sad_16x16_x4(a, a_stride, b, b_stride) };
    #[cfg(not(target_arch = "x86_64"))]
    {
        // SAFETY: the caller's promise: each block's rows span this many
        // readable samples.
        let block = |p: *const u8, s: usize| unsafe { std::slice::from_raw_parts(p, 15 * s + 16) };
        b.map(|b| {
            sad_portable(
                block(a, a_stride),
                a_stride,
                block(b, b_stride),
                b_stride,
                16,
                16,
            )
        })
    }
}

/// The portable [`sad_u8`].
pub fn sad_portable(
    a: &[u8],
    a_stride: usize,
    b: &[u8],
    b_stride: usize,
    w: usize,
    h: usize,
) -> u32 {
    (0..h)
        .map(|r| {
            let ra = &a[r * a_stride..r * a_stride + w];
            let rb = &b[r * b_stride..r * b_stride + w];
            ra.iter()
                .zip(rb)
                .map(|(&x, &y)| u32::from(x.abs_diff(y)))
                .sum::<u32>()
        })
        .sum()
}

/// SATD (the sum over 4×4 blocks of [`transform::satd4x4`]) of a `w`×`h`
/// block between two 8-bit blocks given as slices with row strides.
pub fn satd_u8(a: &[u8], a_stride: usize, b: &[u8], b_stride: usize, w: usize, h: usize) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if (w == 8 || w == 16)
        && h.is_multiple_of(4)
        && fits(a.len(), a_stride, w, h)
        && fits(b.len(), b_stride, w, h)
    {
        if w == 16 && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: both blocks lie inside their slices (checked by
            // `fits`) and the processor has AVX2.
            return unsafe { x86::satd_u8_16_avx2(a.as_ptr(), a_stride, b.as_ptr(), b_stride, h) };
        }
        // SAFETY: both blocks lie inside their slices (checked by `fits`).
        return unsafe { x86::satd_u8(a.as_ptr(), a_stride, b.as_ptr(), b_stride, w, h) };
    }
    transform::satd_u8(a, a_stride, b, b_stride, w, h)
}

/// [`satd_u8`] of two 16×16 blocks if it is below `bound`, else `None`,
/// found without finishing the sum once a band of rows has reached the
/// bound (every 4×4 block adds a nonnegative term). `b_stride` may be 0 (a
/// prediction of one repeated row).
pub fn satd_16x16_below(
    a: &[u8],
    a_stride: usize,
    b: &[u8],
    b_stride: usize,
    bound: u32,
) -> Option<u32> {
    #[cfg(target_arch = "x86_64")]
    if fits(a.len(), a_stride, 16, 16)
        && b.len() >= 15 * b_stride + 16
        && std::arch::is_x86_feature_detected!("avx2")
    {
        // SAFETY: the source block lies inside `a` (checked by `fits`), the
        // 16 rows read from `b` lie inside it (checked above), and the
        // processor has AVX2.
        return unsafe {
            x86::satd_16x16_below_avx2(a.as_ptr(), a_stride, b.as_ptr(), b_stride, bound)
        };
    }
    let satd = if b_stride == 0 {
        let pred: [u8; 256] = std::array::from_fn(|i| b[i % 16]);
        satd_u8(a, a_stride, &pred, 16, 16, 16)
    } else {
        satd_u8(a, a_stride, b, b_stride, 16, 16)
    };
    (satd < bound).then_some(satd)
}

/// [`satd_16x16_below`] against a plane prediction given by its terms
/// (start, b, c): sample (x, y) is Clip1((start + b·x + c·y) >> 5), each
/// sum within 16 bits (plane Intra16x16, 8.3.3.4), rows computed as the
/// sum needs them instead of written out.
pub fn satd_16x16_plane_below(
    a: &[u8],
    a_stride: usize,
    (start, b, c): (i32, i32, i32),
    bound: u32,
) -> Option<u32> {
    #[cfg(target_arch = "x86_64")]
    if fits(a.len(), a_stride, 16, 16) && std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the block lies inside `a` (checked by `fits`) and the
        // processor has AVX2.
        return unsafe {
            x86::satd_16x16_plane_below_avx2(a.as_ptr(), a_stride, (start, b, c), bound)
        };
    }
    let pred: [u8; 256] = std::array::from_fn(|i| {
        let (x, y) = ((i % 16) as i32, (i / 16) as i32);
        ((start + b * x + c * y) >> 5).clamp(0, 255) as u8
    });
    satd_16x16_below(a, a_stride, &pred, 16, bound)
}

/// The sum of the SATDs of two 8×8 blocks (`a0` against `b0`, `a1`
/// against `b1`; rows `a_stride` and 8 apart): both chroma planes at once.
pub fn satd_8x8_pair(a: [&[u8]; 2], a_stride: usize, b: [&[u8; 64]; 2]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if a.iter().all(|p| fits(p.len(), a_stride, 8, 8))
        && std::arch::is_x86_feature_detected!("avx2")
    {
        // SAFETY: both source blocks lie inside their slices (checked by
        // `fits`), the predictions are 64 samples, and the processor has AVX2.
        return unsafe { x86::satd_8x8_pair_avx2(a, a_stride, b) };
    }
    (0..2).map(|c| satd_u8(a[c], a_stride, b[c], 8, 8, 8)).sum()
}

/// SATD of two `w`×`h` blocks of 8-bit sample values (0..=255) held as
/// 32-bit values in raster order with stride `w` (intra mode decision).
pub fn satd_i32(a: &[i32], b: &[i32], w: usize, h: usize) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if (w == 8 || w == 16) && h.is_multiple_of(4) && a.len() >= w * h && b.len() >= w * h {
        // SAFETY: both blocks lie inside their slices (checked above).
        return unsafe { x86::satd_i32(a.as_ptr(), b.as_ptr(), w, h) };
    }
    transform::satd_i32(a, b, w, h)
}

/// Whether a `w`×`h` block with this stride lies inside `len` samples.
#[cfg(target_arch = "x86_64")]
fn fits(len: usize, stride: usize, w: usize, h: usize) -> bool {
    h > 0 && w <= stride && (h - 1) * stride + w <= len
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! SSE2 kernels (part of x86-64, so always available) and an AVX2 one
    //! (used only where the processor reports AVX2).
    use std::arch::x86_64::*;

    /// SAD of a 16×`h` block. Caller: both blocks readable.
    pub(super) unsafe fn sad_16(a: *const u8, sa: usize, b: *const u8, sb: usize, h: usize) -> u32 {
        let mut acc = _mm_setzero_si128();
        for r in 0..h {
            let x = _mm_loadu_si128(a.add(r * sa) as *const __m128i);
            let y = _mm_loadu_si128(b.add(r * sb) as *const __m128i);
            acc = _mm_add_epi64(acc, _mm_sad_epu8(x, y));
        }
        sum_u64x2(acc)
    }

    /// SAD of a 16×`N` block with the row count known at compile time (the
    /// loop unrolls; two accumulators). Caller: both blocks readable.
    #[inline(always)]
    pub(super) unsafe fn sad_16xn<const N: usize>(
        a: *const u8,
        sa: usize,
        b: *const u8,
        sb: usize,
    ) -> u32 {
        let mut acc = [_mm_setzero_si128(); 2];
        for r in 0..N {
            let x = _mm_loadu_si128(a.add(r * sa) as *const __m128i);
            let y = _mm_loadu_si128(b.add(r * sb) as *const __m128i);
            acc[r % 2] = _mm_add_epi64(acc[r % 2], _mm_sad_epu8(x, y));
        }
        sum_u64x2(_mm_add_epi64(acc[0], acc[1]))
    }

    /// [`super::sad_16x16_x4`]: each source row loaded once, one
    /// accumulator per candidate. Caller: all five blocks readable.
    pub(super) unsafe fn sad_16x16_x4(
        a: *const u8,
        sa: usize,
        b: [*const u8; 4],
        sb: usize,
    ) -> [u32; 4] {
        let mut acc = [_mm_setzero_si128(); 4];
        for r in 0..16 {
            let x = _mm_loadu_si128(a.add(r * sa) as *const __m128i);
            for (sum, p) in acc.iter_mut().zip(b) {
                let y = _mm_loadu_si128(p.add(r * sb) as *const __m128i);
                *sum = _mm_add_epi64(*sum, _mm_sad_epu8(x, y));
            }
        }
        acc.map(|v| sum_u64x2(v))
    }

    /// SAD of an 8×`h` block. Caller: both blocks readable.
    pub(super) unsafe fn sad_8(a: *const u8, sa: usize, b: *const u8, sb: usize, h: usize) -> u32 {
        let mut acc = _mm_setzero_si128();
        for r in 0..h {
            let x = _mm_loadl_epi64(a.add(r * sa) as *const __m128i);
            let y = _mm_loadl_epi64(b.add(r * sb) as *const __m128i);
            acc = _mm_add_epi64(acc, _mm_sad_epu8(x, y));
        }
        sum_u64x2(acc)
    }

    /// SAD of a 4×4 block: its four rows of four samples side by side in
    /// one register. Caller: both blocks readable.
    pub(super) unsafe fn sad_4x4(a: *const u8, sa: usize, b: *const u8, sb: usize) -> u32 {
        let rows = |p: *const u8, s: usize| {
            let row = |r: usize| (p.add(r * s) as *const i32).read_unaligned();
            _mm_setr_epi32(row(0), row(1), row(2), row(3))
        };
        sum_u64x2(_mm_sad_epu8(rows(a, sa), rows(b, sb)))
    }

    unsafe fn sum_u64x2(v: __m128i) -> u32 {
        let hi = _mm_unpackhi_epi64(v, v);
        _mm_cvtsi128_si32(_mm_add_epi64(v, hi)) as u32
    }

    /// Eight 8-bit samples widened to 16 bits.
    #[inline(always)]
    unsafe fn load8_u8(p: *const u8) -> __m128i {
        _mm_unpacklo_epi8(_mm_loadl_epi64(p as *const __m128i), _mm_setzero_si128())
    }

    /// Eight 32-bit sample values (0..=255) narrowed to 16 bits.
    #[inline(always)]
    unsafe fn load8_i32(p: *const i32) -> __m128i {
        let lo = _mm_loadu_si128(p as *const __m128i);
        let hi = _mm_loadu_si128(p.add(4) as *const __m128i);
        _mm_packs_epi32(lo, hi)
    }

    /// Half the sum of the absolute 2-D Hadamard coefficients of the two
    /// 4×4 blocks held in four rows of differences (eight 16-bit lanes:
    /// columns 0..3 and 4..7), as eight 16-bit partial sums, each at most
    /// 2·2040 (|d| ≤ 255 grows to 4·255 after the vertical transform and
    /// twice that after the first horizontal stage): the vertical transform, a transpose of each 4×4 block,
    /// the first horizontal stage, and for the last stage
    /// |p + q| + |p − q| = 2·max(|p|, |q|).
    #[inline(always)]
    unsafe fn hadamard_half_sums(d: [__m128i; 4]) -> __m128i {
        let (a0, a1) = (_mm_add_epi16(d[0], d[1]), _mm_sub_epi16(d[0], d[1]));
        let (a2, a3) = (_mm_add_epi16(d[2], d[3]), _mm_sub_epi16(d[2], d[3]));
        let v = [
            _mm_add_epi16(a0, a2),
            _mm_sub_epi16(a0, a2),
            _mm_add_epi16(a1, a3),
            _mm_sub_epi16(a1, a3),
        ];
        // Transpose each 4×4 block: t[j] holds column j of both blocks.
        let u0 = _mm_unpacklo_epi16(v[0], v[1]);
        let u1 = _mm_unpackhi_epi16(v[0], v[1]);
        let u2 = _mm_unpacklo_epi16(v[2], v[3]);
        let u3 = _mm_unpackhi_epi16(v[2], v[3]);
        let w0 = _mm_unpacklo_epi32(u0, u2);
        let w1 = _mm_unpackhi_epi32(u0, u2);
        let w2 = _mm_unpacklo_epi32(u1, u3);
        let w3 = _mm_unpackhi_epi32(u1, u3);
        let t0 = _mm_unpacklo_epi64(w0, w2);
        let t1 = _mm_unpackhi_epi64(w0, w2);
        let t2 = _mm_unpacklo_epi64(w1, w3);
        let t3 = _mm_unpackhi_epi64(w1, w3);
        let (b0, b1) = (_mm_add_epi16(t0, t1), _mm_sub_epi16(t0, t1));
        let (b2, b3) = (_mm_add_epi16(t2, t3), _mm_sub_epi16(t2, t3));
        let m02 = _mm_max_epi16(abs16(b0), abs16(b2));
        let m13 = _mm_max_epi16(abs16(b1), abs16(b3));
        _mm_add_epi16(m02, m13)
    }

    #[inline(always)]
    unsafe fn abs16(v: __m128i) -> __m128i {
        _mm_max_epi16(v, _mm_sub_epi16(_mm_setzero_si128(), v))
    }

    /// Widens eight 16-bit partial sums to 32 bits and adds them to `acc`.
    #[inline(always)]
    unsafe fn accumulate(acc: __m128i, sums: __m128i) -> __m128i {
        _mm_add_epi32(acc, _mm_madd_epi16(sums, _mm_set1_epi16(1)))
    }

    unsafe fn sum_i32x4(v: __m128i) -> u32 {
        let s = _mm_add_epi32(v, _mm_shuffle_epi32(v, 0b01_00_11_10));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
        _mm_cvtsi128_si32(s) as u32
    }

    /// SATD of a `w`×`h` block (w 8 or 16, h a multiple of 4) of 8-bit
    /// samples. Caller: both blocks readable.
    pub(super) unsafe fn satd_u8(
        a: *const u8,
        sa: usize,
        b: *const u8,
        sb: usize,
        w: usize,
        h: usize,
    ) -> u32 {
        let mut acc = _mm_setzero_si128();
        for by in (0..h).step_by(4) {
            for bx in (0..w).step_by(8) {
                let d: [__m128i; 4] = std::array::from_fn(|r| {
                    let x = load8_u8(a.add((by + r) * sa + bx));
                    let y = load8_u8(b.add((by + r) * sb + bx));
                    _mm_sub_epi16(x, y)
                });
                acc = accumulate(acc, hadamard_half_sums(d));
            }
        }
        sum_i32x4(acc)
    }

    /// [`satd_u8`] for 16-wide blocks with AVX2: a row of 16 differences per
    /// register, whose two 128-bit halves go through the steps of
    /// [`hadamard_half_sums`] side by side (the unpack instructions work
    /// within each half). Caller: both blocks readable, AVX2 present.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn satd_u8_16_avx2(
        a: *const u8,
        sa: usize,
        b: *const u8,
        sb: usize,
        h: usize,
    ) -> u32 {
        let mut acc = _mm256_setzero_si256();
        let mut by = 0;
        while by + 4 <= h {
            let mut d = [_mm256_setzero_si256(); 4];
            for (r, row) in d.iter_mut().enumerate() {
                let x = _mm_loadu_si128(a.add((by + r) * sa) as *const __m128i);
                let y = _mm_loadu_si128(b.add((by + r) * sb) as *const __m128i);
                *row = _mm256_sub_epi16(_mm256_cvtepu8_epi16(x), _mm256_cvtepu8_epi16(y));
            }
            acc = _mm256_add_epi32(acc, band_half_sums_avx2(d));
            by += 4;
        }
        sum_i32x8(acc)
    }

    /// [`super::satd_16x16_below`] with AVX2: [`satd_u8_16_avx2`] band by
    /// band, stopping once the running sum reaches `bound`. Caller: both
    /// blocks readable (16 rows), AVX2 present.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn satd_16x16_below_avx2(
        a: *const u8,
        sa: usize,
        b: *const u8,
        sb: usize,
        bound: u32,
    ) -> Option<u32> {
        let row = |r: usize| _mm256_cvtepu8_epi16(_mm_loadu_si128(b.add(r * sb) as *const __m128i));
        satd_16x16_below_rows_avx2(a, sa, row, bound)
    }

    /// [`super::satd_16x16_plane_below`] with AVX2: row y of the
    /// prediction is (start + c·y) + b·x in 16-bit lanes, shifted and
    /// clipped. Caller: `a` readable (16 rows), AVX2 present, every sum
    /// within 16 bits.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn satd_16x16_plane_below_avx2(
        a: *const u8,
        sa: usize,
        (start, b, c): (i32, i32, i32),
        bound: u32,
    ) -> Option<u32> {
        let xs = _mm256_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        let first = _mm256_add_epi16(
            _mm256_set1_epi16(start as i16),
            _mm256_mullo_epi16(xs, _mm256_set1_epi16(b as i16)),
        );
        let (zero, max) = (_mm256_setzero_si256(), _mm256_set1_epi16(255));
        let row = |r: usize| {
            let sum = _mm256_add_epi16(first, _mm256_set1_epi16((c * r as i32) as i16));
            _mm256_min_epi16(_mm256_max_epi16(_mm256_srai_epi16(sum, 5), zero), max)
        };
        satd_16x16_below_rows_avx2(a, sa, row, bound)
    }

    /// The bounded 16×16 SATD of `a` against the prediction rows `pred_row`
    /// gives (16 lanes of 16 bits each). Caller: `a` readable (16 rows),
    /// AVX2 present.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn satd_16x16_below_rows_avx2(
        a: *const u8,
        sa: usize,
        pred_row: impl Fn(usize) -> __m256i,
        bound: u32,
    ) -> Option<u32> {
        let mut acc = _mm256_setzero_si256();
        for by in (0..16).step_by(4) {
            let mut d = [_mm256_setzero_si256(); 4];
            for (r, row) in d.iter_mut().enumerate() {
                let x = _mm_loadu_si128(a.add((by + r) * sa) as *const __m128i);
                *row = _mm256_sub_epi16(_mm256_cvtepu8_epi16(x), pred_row(by + r));
            }
            acc = _mm256_add_epi32(acc, band_half_sums_avx2(d));
            let sum = sum_i32x8(acc);
            if sum >= bound {
                return None;
            }
            if by == 12 {
                return Some(sum);
            }
        }
        None
    }

    /// [`super::satd_8x8_pair`] with AVX2: each row holds eight samples of
    /// each block side by side. Caller: both blocks readable, AVX2 present.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn satd_8x8_pair_avx2(a: [&[u8]; 2], sa: usize, b: [&[u8; 64]; 2]) -> u32 {
        let row = |p: &[u8], at: usize| (p.as_ptr().add(at) as *const i64).read_unaligned();
        let mut acc = _mm256_setzero_si256();
        for by in [0, 4] {
            let mut d = [_mm256_setzero_si256(); 4];
            for (r, out) in d.iter_mut().enumerate() {
                let (ra, rb) = ((by + r) * sa, (by + r) * 8);
                let x = _mm_set_epi64x(row(a[1], ra), row(a[0], ra));
                let y = _mm_set_epi64x(row(b[1], rb), row(b[0], rb));
                *out = _mm256_sub_epi16(_mm256_cvtepu8_epi16(x), _mm256_cvtepu8_epi16(y));
            }
            acc = _mm256_add_epi32(acc, band_half_sums_avx2(d));
        }
        sum_i32x8(acc)
    }

    /// The AVX2 form of [`hadamard_half_sums`] for a band of four rows of
    /// sixteen differences (two 128-bit halves side by side), widened to
    /// eight 32-bit partial sums.
    #[target_feature(enable = "avx2")]
    unsafe fn band_half_sums_avx2(d: [__m256i; 4]) -> __m256i {
        let (a0, a1) = (_mm256_add_epi16(d[0], d[1]), _mm256_sub_epi16(d[0], d[1]));
        let (a2, a3) = (_mm256_add_epi16(d[2], d[3]), _mm256_sub_epi16(d[2], d[3]));
        let v0 = _mm256_add_epi16(a0, a2);
        let v1 = _mm256_sub_epi16(a0, a2);
        let v2 = _mm256_add_epi16(a1, a3);
        let v3 = _mm256_sub_epi16(a1, a3);
        let u0 = _mm256_unpacklo_epi16(v0, v1);
        let u1 = _mm256_unpackhi_epi16(v0, v1);
        let u2 = _mm256_unpacklo_epi16(v2, v3);
        let u3 = _mm256_unpackhi_epi16(v2, v3);
        let w0 = _mm256_unpacklo_epi32(u0, u2);
        let w1 = _mm256_unpackhi_epi32(u0, u2);
        let w2 = _mm256_unpacklo_epi32(u1, u3);
        let w3 = _mm256_unpackhi_epi32(u1, u3);
        let t0 = _mm256_unpacklo_epi64(w0, w2);
        let t1 = _mm256_unpackhi_epi64(w0, w2);
        let t2 = _mm256_unpacklo_epi64(w1, w3);
        let t3 = _mm256_unpackhi_epi64(w1, w3);
        let (b0, b1) = (_mm256_add_epi16(t0, t1), _mm256_sub_epi16(t0, t1));
        let (b2, b3) = (_mm256_add_epi16(t2, t3), _mm256_sub_epi16(t2, t3));
        let m02 = _mm256_max_epi16(_mm256_abs_epi16(b0), _mm256_abs_epi16(b2));
        let m13 = _mm256_max_epi16(_mm256_abs_epi16(b1), _mm256_abs_epi16(b3));
        let sums = _mm256_add_epi16(m02, m13);
        _mm256_madd_epi16(sums, _mm256_set1_epi16(1))
    }

    #[target_feature(enable = "avx2")]
    unsafe fn sum_i32x8(v: __m256i) -> u32 {
        let half = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        sum_i32x4(half)
    }

    /// [`satd_u8`] for blocks of 32-bit sample values in raster order with
    /// stride `w`. Caller: both blocks readable.
    pub(super) unsafe fn satd_i32(a: *const i32, b: *const i32, w: usize, h: usize) -> u32 {
        let mut acc = _mm_setzero_si128();
        for by in (0..h).step_by(4) {
            for bx in (0..w).step_by(8) {
                let d: [__m128i; 4] = std::array::from_fn(|r| {
                    let x = load8_i32(a.add((by + r) * w + bx));
                    let y = load8_i32(b.add((by + r) * w + bx));
                    _mm_sub_epi16(x, y)
                });
                acc = accumulate(acc, hadamard_half_sums(d));
            }
        }
        sum_i32x4(acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(state: &mut u32) -> u8 {
        *state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (*state >> 24) as u8
    }

    /// Random, extreme (0 against 255) and flat blocks of every kernel size.
    fn cases() -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut state = 1u32;
        let n = 40 * 24;
        let mut out = vec![
            (vec![0u8; n], vec![255u8; n]),
            (vec![255u8; n], vec![0u8; n]),
        ];
        out.push((vec![77u8; n], vec![77u8; n]));
        for _ in 0..200 {
            let a: Vec<u8> = (0..n).map(|_| lcg(&mut state)).collect();
            let b: Vec<u8> = (0..n).map(|_| lcg(&mut state)).collect();
            out.push((a, b));
        }
        // Checkerboards of 0 and 255 against their inverse maximise every coefficient.
        let board: Vec<u8> = (0..n)
            .map(|i| if (i + i / 40) % 2 == 0 { 0 } else { 255 })
            .collect();
        let inverse: Vec<u8> = board.iter().map(|v| 255 - v).collect();
        out.push((board, inverse));
        out
    }

    #[test]
    fn sad_matches_portable() {
        for (a, b) in cases() {
            for (w, h) in [(16, 16), (16, 8), (8, 16), (8, 8), (8, 4), (4, 4), (4, 8)] {
                for (sa, sb, off) in [(40, 40, 0), (40, 24, 3), (16, 40, 1)] {
                    let expected = sad_portable(&a[off..], sa.max(w), &b, sb.max(w), w, h);
                    assert_eq!(sad_u8(&a[off..], sa.max(w), &b, sb.max(w), w, h), expected);
                }
            }
        }
    }

    /// Four SADs together equal four apart, for blocks at different places
    /// (and strides), the same block twice and blocks ending at the slice end.
    #[test]
    fn four_sads_match_portable() {
        for (a, b) in cases() {
            for (sa, sb) in [(40, 40), (16, 24), (24, 16)] {
                let ends = b.len() - (15 * sb + 16);
                let offs = [[0, 1, 2, 3], [5, 5, 0, ends], [ends, 7, ends, 1]];
                for off in offs {
                    let blocks = off.map(|o| &b[o..]);
                    let want = blocks.map(|blk| sad_portable(&a[3..], sa, blk, sb, 16, 16));
                    assert_eq!(sad_16x16_x4(&a[3..], sa, blocks, sb), want, "{off:?}");
                }
            }
        }
    }

    /// The SATD against plane terms equals the SATD against the plane
    /// prediction written out, over edges from flat to extreme slopes.
    #[test]
    fn plane_satd_matches_the_written_prediction() {
        use crate::intra::{plane16x16_terms, predict16x16_u8, Availability, EdgeN, I16_PLANE};
        let mut state = 17u32;
        let mut next = || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 24) as i32
        };
        for case in 0..300 {
            let noise: [i32; 32] = std::array::from_fn(|_| next());
            let ramp = |i: usize| match case % 3 {
                0 => noise[i],
                1 => (i as i32 * 17) % 256,
                _ => [0, 255][i % 2],
            };
            let edge = EdgeN::<16> {
                top: std::array::from_fn(ramp),
                left: std::array::from_fn(|i| 255 - ramp(i + 16)),
                corner: noise[31],
                avail: Availability {
                    left: true,
                    top: true,
                    top_left: true,
                    top_right: false,
                },
            };
            let written = predict16x16_u8(I16_PLANE, &edge);
            let src: Vec<u8> = (0..16 * 24).map(|_| next() as u8).collect();
            let want = transform::satd_blocks(&src, 24, &written, 16, 16, 16);
            for bound in [0, want / 2, want, want + 1, u32::MAX] {
                assert_eq!(
                    satd_16x16_plane_below(&src, 24, plane16x16_terms(&edge), bound),
                    (want < bound).then_some(want),
                    "case {case} bound {bound}"
                );
            }
        }
    }

    /// The bounded SATD is the SATD where it is below the bound and `None`
    /// from the bound up, against a written prediction and against one
    /// repeated row (stride 0).
    #[test]
    fn bounded_satd_stops_only_at_the_bound() {
        for (a, b) in cases() {
            let row: [u8; 16] = std::array::from_fn(|i| b[i]);
            let repeated: [u8; 256] = std::array::from_fn(|i| row[i % 16]);
            let written: [u8; 256] = std::array::from_fn(|i| b[i]);
            for (stride, off) in [(16, 0), (40, 3), (24, 7)] {
                let a = &a[off..];
                for (pred, p_stride, flat) in
                    [(&written[..], 16, &written), (&row[..], 0, &repeated)]
                {
                    let want = transform::satd_blocks(a, stride, flat, 16, 16, 16);
                    for bound in [0, 1, want / 4, want / 2, want, want + 1, u32::MAX] {
                        let got = satd_16x16_below(a, stride, pred, p_stride, bound);
                        assert_eq!(
                            got,
                            (want < bound).then_some(want),
                            "stride {stride} bound {bound}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn satd_matches_portable() {
        for (a, b) in cases() {
            for (w, h) in [(16, 16), (16, 8), (8, 16), (8, 8), (8, 4), (4, 4)] {
                let expected = transform::satd_blocks(&a[5..], 40, &b, 24, w, h);
                assert_eq!(satd_u8(&a[5..], 40, &b, 24, w, h), expected, "{w}x{h}");
                let ai: Vec<i32> = a[..w * h].iter().map(|&v| i32::from(v)).collect();
                let bi: Vec<i32> = b[..w * h].iter().map(|&v| i32::from(v)).collect();
                let expected = transform::satd_blocks(&ai, w, &bi, w, w, h);
                assert_eq!(satd_i32(&ai, &bi, w, h), expected, "{w}x{h} i32");
            }
        }
    }

    /// The SSE2 kernel on its own (the dispatcher prefers AVX2 for 16-wide
    /// blocks where the processor has it).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn sse2_satd_matches_portable() {
        for (a, b) in cases() {
            for (w, h) in [(16, 16), (16, 4), (8, 8)] {
                let expected = transform::satd_blocks(&a, 40, &b, 24, w, h);
                // SAFETY: the blocks lie inside the 960-sample vectors.
                let got = unsafe { x86::satd_u8(a.as_ptr(), 40, b.as_ptr(), 24, w, h) };
                assert_eq!(got, expected);
            }
        }
    }

    #[test]
    fn pair_satd_is_the_sum_of_both() {
        for (a, b) in cases() {
            let p0: [u8; 64] = std::array::from_fn(|i| b[i]);
            let p1: [u8; 64] = std::array::from_fn(|i| b[100 + i]);
            let expected = transform::satd_blocks(&a, 40, &p0, 8, 8, 8)
                + transform::satd_blocks(&a[320..], 40, &p1, 8, 8, 8);
            assert_eq!(satd_8x8_pair([&a, &a[320..]], 40, [&p0, &p1]), expected);
        }
    }

    #[test]
    fn blocks_ending_at_the_slice_end() {
        let a = [9u8; 20];
        let b = [1u8; 20];
        assert_eq!(sad_u8(&a[4..], 16, &b[4..], 16, 16, 1), 16 * 8);
        assert_eq!(sad_u8(&a[12..], 8, &b[12..], 8, 8, 1), 8 * 8);
    }
}
