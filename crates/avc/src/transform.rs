//! Integer transforms, quantisation and their inverses (8.5).
//!
//! The inverse side follows the decoding process exactly; the forward side is
//! the encoder's matching choice. Every inverse checks the range constraint of
//! 8.5.10–8.5.12 (intermediate values within −2^15..2^15−1 for 8-bit video) so
//! a macroblock whose coefficients would break it is never emitted.

/// Zig-zag scan of a 4×4 block (Table 8-13, frame macroblocks): scan index →
/// raster position `y * 4 + x`.
pub const ZIGZAG_4X4: [usize; 16] = [0, 1, 4, 8, 5, 2, 3, 6, 9, 12, 13, 10, 7, 11, 14, 15];

/// Quantisation multipliers MF for qp % 6 (the encoder's counterpart of
/// normAdjust4x4, 8.5.9): positions (even, even), (odd, odd), others.
const QUANT_MF: [[i32; 3]; 6] = [
    [13107, 5243, 8066],
    [11916, 4660, 7490],
    [10082, 4194, 6554],
    [9362, 3647, 5825],
    [8192, 3355, 5243],
    [7282, 2893, 4559],
];

/// normAdjust4x4 values v for qp % 6 (8.5.9, Equation 8-315).
const DEQUANT_V: [[i32; 3]; 6] = [
    [10, 16, 13],
    [11, 18, 14],
    [13, 20, 16],
    [14, 23, 18],
    [16, 25, 20],
    [18, 29, 23],
];

/// MF at qp (0..=51) for raster position `pos` of a 4×4 block.
pub(crate) const fn quant_mf(qp: usize, pos: usize) -> i32 {
    QUANT_MF[qp % 6][scale_class(pos)]
}

/// Which of the three scale classes a raster position belongs to (8.5.9).
const fn scale_class(pos: usize) -> usize {
    let (x, y) = (pos % 4, pos / 4);
    match (x % 2, y % 2) {
        (0, 0) => 0,
        (1, 1) => 1,
        _ => 2,
    }
}

/// Range allowed for every intermediate value of the inverse transforms with
/// 8-bit samples: −2^(7+BitDepth) .. 2^(7+BitDepth)−1 (8.5.10, 8.5.12).
const RANGE_MIN: i32 = -(1 << 15);
const RANGE_MAX: i32 = (1 << 15) - 1;

#[inline]
fn in_range(v: i32) -> bool {
    (RANGE_MIN..=RANGE_MAX).contains(&v)
}

/// QPc for a given qPI (Table 8-15).
pub fn chroma_qp(qp_i: i32) -> i32 {
    const TABLE: [i32; 22] = [
        29, 30, 31, 32, 32, 33, 34, 34, 35, 35, 36, 36, 37, 37, 37, 38, 38, 38, 39, 39, 39, 39,
    ];
    let q = qp_i.clamp(0, 51);
    if q < 30 {
        q
    } else {
        TABLE[(q - 30) as usize]
    }
}

/// Forward 4×4 core transform (the transpose pair of 8.5.12.2), raster order in and out.
pub fn forward4x4(block: &mut [i32; 16]) {
    for r in 0..4 {
        let row = &mut block[r * 4..r * 4 + 4];
        let (s0, s1) = (row[0] + row[3], row[1] + row[2]);
        let (d0, d1) = (row[0] - row[3], row[1] - row[2]);
        row[0] = s0 + s1;
        row[2] = s0 - s1;
        row[1] = 2 * d0 + d1;
        row[3] = d0 - 2 * d1;
    }
    for c in 0..4 {
        let (a, b, cc, d) = (block[c], block[4 + c], block[8 + c], block[12 + c]);
        let (s0, s1) = (a + d, b + cc);
        let (d0, d1) = (a - d, b - cc);
        block[c] = s0 + s1;
        block[8 + c] = s0 - s1;
        block[4 + c] = 2 * d0 + d1;
        block[12 + c] = d0 - 2 * d1;
    }
}

/// One-dimensional inverse of 8.5.12.2 (Equations 8-338..8-345).
#[inline]
fn inverse_1d(d: [i32; 4]) -> [i32; 4] {
    let e0 = d[0] + d[2];
    let e1 = d[0] - d[2];
    let e2 = (d[1] >> 1) - d[3];
    let e3 = d[1] + (d[3] >> 1);
    [e0 + e3, e1 + e2, e1 - e2, e0 - e3]
}

/// Inverse 4×4 transform and rounding (8.5.12.2): scaled coefficients `d`
/// (raster) → residual `r = (h + 32) >> 6`. Returns `None` when an
/// intermediate value leaves the range the standard allows.
pub fn inverse4x4(d: &[i32; 16]) -> Option<[i32; 16]> {
    // Each one-dimensional pass grows magnitudes at most 3.5×, so inputs
    // within ±2600 keep every intermediate inside the allowed range.
    let small = d.iter().all(|v| v.unsigned_abs() <= 2600);
    if d.iter().all(|&v| v == 0) {
        return Some([0; 16]);
    }
    let mut f = [0i32; 16];
    for r in 0..4 {
        let out = inverse_1d([d[r * 4], d[r * 4 + 1], d[r * 4 + 2], d[r * 4 + 3]]);
        f[r * 4..r * 4 + 4].copy_from_slice(&out);
    }
    let mut res = [0i32; 16];
    for c in 0..4 {
        let out = inverse_1d([f[c], f[4 + c], f[8 + c], f[12 + c]]);
        for (r, v) in out.into_iter().enumerate() {
            res[r * 4 + c] = (v + 32) >> 6;
        }
    }
    let ok = small
        || (d.iter().chain(f.iter()).all(|&v| in_range(v))
            && res.iter().all(|&v| in_range(v * 64))
            && intermediates_in_range(&f));
    ok.then_some(res)
}

/// `pred + r` clipped to 0..=255, where r is [`inverse4x4`] of `d`, for
/// blocks whose scaled coefficients are all within ±2600 (so the range rule
/// holds, as [`inverse4x4`] finds). On x86-64 the two passes run in SSE2
/// registers, a row or column of four per register.
pub fn inverse_add_small(d: &[i32; 16], pred: &[i32; 16]) -> [u8; 16] {
    debug_assert!(d.iter().all(|v| v.unsigned_abs() <= 2600));
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of x86-64; the arrays are 16 values each.
        unsafe { x86::inverse_add(d, pred) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        inverse_add_portable(d, pred)
    }
}

/// Dequantises one 4×4 block of levels held by columns (`cols[k][r]` is
/// row r, column k) with flat scaling (8.5.12.1, as [`dequant4x4`]),
/// inverse-transforms it (8.5.12.2) and adds the residual to the
/// prediction, 4 rows from `pred` on (`ps` apart), writing the clipped
/// samples 4 rows from `out` on (`os` apart). Returns false, writing
/// nothing, where a scaled coefficient lies beyond ±2600: the caller then
/// takes [`inverse4x4`]'s way, which checks the range rule.
pub fn dequant_add_columns(
    cols: &[[i16; 4]; 4],
    qp: i32,
    pred: (&[u8], usize),
    out: (&mut [u8], usize),
) -> bool {
    dequant_add_columns_dc(cols, qp, 0, pred, out)
}

/// [`dequant_add_columns`] with `dc` added to the scaled DC coefficient:
/// for Intra16x16 blocks (8.5.10), whose DC comes from the luma DC
/// transform (their DC level is 0).
pub fn dequant_add_columns_dc(
    cols: &[[i16; 4]; 4],
    qp: i32,
    dc: i32,
    (pred, ps): (&[u8], usize),
    (out, os): (&mut [u8], usize),
) -> bool {
    let fits = |len: usize, stride: usize| stride >= 4 && 3 * stride + 4 <= len;
    #[cfg(target_arch = "x86_64")]
    if fits(pred.len(), ps) && fits(out.len(), os) {
        let v = &DEQUANT_V_COLUMNS[(qp % 6) as usize];
        // SAFETY: SSE2 is part of x86-64; the four rows of four samples lie
        // inside `pred` and `out` (checked above).
        return unsafe {
            x86::dequant_add_columns(
                cols,
                (v, qp / 6, dc),
                (pred.as_ptr(), ps),
                (out.as_mut_ptr(), os),
            )
        };
    }
    dequant_add_columns_portable(cols, qp, dc, (pred, ps), (out, os))
}

/// The portable [`dequant_add_columns_dc`].
pub fn dequant_add_columns_portable(
    cols: &[[i16; 4]; 4],
    qp: i32,
    dc: i32,
    (pred, ps): (&[u8], usize),
    (out, os): (&mut [u8], usize),
) -> bool {
    let levels: [i32; 16] = std::array::from_fn(|pos| i32::from(cols[pos % 4][pos / 4]));
    let mut d = dequant4x4(&levels, qp, false);
    d[0] = d[0].saturating_add(dc);
    if d.iter().any(|v| v.unsigned_abs() > 2600) {
        return false;
    }
    let p: [i32; 16] = std::array::from_fn(|i| i32::from(pred[(i / 4) * ps + i % 4]));
    let samples = inverse_add_small(&d, &p);
    for (r, row) in samples.chunks_exact(4).enumerate() {
        out[r * os..r * os + 4].copy_from_slice(row);
    }
    true
}

/// The portable [`inverse_add_small`].
pub fn inverse_add_portable(d: &[i32; 16], pred: &[i32; 16]) -> [u8; 16] {
    let r = inverse4x4(d).unwrap_or([0; 16]);
    std::array::from_fn(|i| (pred[i] + r[i]).clamp(0, 255) as u8)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! SSE2 (part of x86-64) inverse transform.
    use std::arch::x86_64::*;

    /// Transposes four rows of four 32-bit values.
    #[inline(always)]
    unsafe fn transpose(r: [__m128i; 4]) -> [__m128i; 4] {
        let t0 = _mm_unpacklo_epi32(r[0], r[1]);
        let t1 = _mm_unpackhi_epi32(r[0], r[1]);
        let t2 = _mm_unpacklo_epi32(r[2], r[3]);
        let t3 = _mm_unpackhi_epi32(r[2], r[3]);
        [
            _mm_unpacklo_epi64(t0, t2),
            _mm_unpackhi_epi64(t0, t2),
            _mm_unpacklo_epi64(t1, t3),
            _mm_unpackhi_epi64(t1, t3),
        ]
    }

    /// Row `r` (four 32-bit values) of a 4×4 block in raster order.
    #[inline(always)]
    unsafe fn load_row(p: &[i32; 16], r: usize) -> __m128i {
        _mm_loadu_si128(p.as_ptr().add(4 * r) as *const __m128i)
    }

    /// One-dimensional inverse of 8.5.12.2 on four lanes at once: `x[k]`
    /// holds input k of each lane's transform.
    #[inline(always)]
    unsafe fn inverse_1d(x: [__m128i; 4]) -> [__m128i; 4] {
        let e0 = _mm_add_epi32(x[0], x[2]);
        let e1 = _mm_sub_epi32(x[0], x[2]);
        let e2 = _mm_sub_epi32(_mm_srai_epi32(x[1], 1), x[3]);
        let e3 = _mm_add_epi32(x[1], _mm_srai_epi32(x[3], 1));
        [
            _mm_add_epi32(e0, e3),
            _mm_add_epi32(e1, e2),
            _mm_sub_epi32(e1, e2),
            _mm_sub_epi32(e0, e3),
        ]
    }

    /// One-dimensional forward core transform on four lanes at once (the
    /// butterflies of [`super::forward4x4`]).
    #[inline(always)]
    unsafe fn forward_1d(x: [__m128i; 4]) -> [__m128i; 4] {
        let s0 = _mm_add_epi32(x[0], x[3]);
        let s1 = _mm_add_epi32(x[1], x[2]);
        let d0 = _mm_sub_epi32(x[0], x[3]);
        let d1 = _mm_sub_epi32(x[1], x[2]);
        [
            _mm_add_epi32(s0, s1),
            _mm_add_epi32(_mm_add_epi32(d0, d0), d1),
            _mm_sub_epi32(s0, s1),
            _mm_sub_epi32(d0, _mm_add_epi32(d1, d1)),
        ]
    }

    /// [`super::forward_quant4x4`]. Caller: SSE2 (always on x86-64).
    pub(super) unsafe fn forward_quant(
        residual: &[i32; 16],
        mf: &[i32; 16],
        (offset, qbits): (i32, u32),
        skip_dc: bool,
    ) -> ([i32; 16], i32) {
        let rows = std::array::from_fn(|r| load_row(residual, r));
        transform_quant(rows, mf, (offset, qbits), skip_dc)
    }

    /// [`super::Quantiser::residual_u8`]: the residual `src − pred` of two 4×4
    /// blocks of 8-bit samples, widened to 32-bit lanes row by row. Caller:
    /// SSE2 (always on x86-64); both blocks readable as 4 rows of 4 samples,
    /// `ss` and `ps` apart.
    #[inline(always)]
    pub(super) unsafe fn forward_quant_u8(
        (src, ss): (*const u8, usize),
        (pred, ps): (*const u8, usize),
        mf: &[i32; 16],
        (offset, qbits): (i32, u32),
        skip_dc: bool,
    ) -> ([i32; 16], i32) {
        let zero = _mm_setzero_si128();
        let widen = |p: *const u8| {
            let v = _mm_cvtsi32_si128((p as *const i32).read_unaligned());
            _mm_unpacklo_epi16(_mm_unpacklo_epi8(v, zero), zero)
        };
        let rows: [__m128i; 4] =
            std::array::from_fn(|r| _mm_sub_epi32(widen(src.add(r * ss)), widen(pred.add(r * ps))));
        transform_quant(rows, mf, (offset, qbits), skip_dc)
    }

    /// The forward transform and quantiser of a residual held as four rows.
    #[inline(always)]
    unsafe fn transform_quant(
        rows: [__m128i; 4],
        mf: &[i32; 16],
        (offset, qbits): (i32, u32),
        skip_dc: bool,
    ) -> ([i32; 16], i32) {
        // Row transforms (columns as registers), then column transforms
        // (rows as registers): the result is in raster rows.
        let f = forward_1d(transpose(rows));
        let coef = forward_1d(transpose(f));
        let (bias, shift) = (_mm_set1_epi32(offset), _mm_cvtsi32_si128(qbits as i32));
        let mut out = [0i32; 16];
        for (r, c) in coef.iter().enumerate() {
            let sign = _mm_srai_epi32(*c, 31);
            let magnitude = _mm_sub_epi32(_mm_xor_si128(*c, sign), sign);
            // Each 32-bit lane is (|c|, 0) and (MF, 0) as 16-bit pairs.
            let product = _mm_madd_epi16(magnitude, load_row(mf, r));
            let level = _mm_srl_epi32(_mm_add_epi32(product, bias), shift);
            let signed = _mm_sub_epi32(_mm_xor_si128(level, sign), sign);
            _mm_storeu_si128(out.as_mut_ptr().add(4 * r) as *mut __m128i, signed);
        }
        let dc = _mm_cvtsi128_si32(coef[0]);
        if skip_dc {
            out[0] = dc;
        }
        (out, dc)
    }

    /// The butterflies of [`super::hadamard4x4`] on four lanes at once:
    /// `x[k]` holds input k of each lane's transform.
    #[inline(always)]
    unsafe fn hadamard_1d(x: [__m128i; 4]) -> [__m128i; 4] {
        let (s0, s1) = (_mm_add_epi32(x[0], x[1]), _mm_add_epi32(x[2], x[3]));
        let (d0, d1) = (_mm_sub_epi32(x[0], x[1]), _mm_sub_epi32(x[2], x[3]));
        [
            _mm_add_epi32(s0, s1),
            _mm_sub_epi32(s0, s1),
            _mm_sub_epi32(d0, d1),
            _mm_add_epi32(d0, d1),
        ]
    }

    /// [`super::hadamard4x4`]: the columns' transforms with rows as
    /// registers, then the rows' with the block transposed, then back.
    /// Caller: SSE2 (always on x86-64).
    pub(super) unsafe fn hadamard4x4(m: &[i32; 16]) -> [i32; 16] {
        let rows = std::array::from_fn(|r| load_row(m, r));
        let out = transpose(hadamard_1d(transpose(hadamard_1d(rows))));
        let mut result = [0i32; 16];
        for (r, v) in out.iter().enumerate() {
            _mm_storeu_si128(result.as_mut_ptr().add(4 * r) as *mut __m128i, *v);
        }
        result
    }

    /// [`super::dequant_add_columns_dc`] with `v` the dequantisation
    /// factors by columns and `shift` = qP / 6. Caller: SSE2 (always on
    /// x86-64); four rows of four samples readable at `pred` and writable at
    /// `out`.
    pub(super) unsafe fn dequant_add_columns(
        cols: &[[i16; 4]; 4],
        (v, shift, dc): (&[[i32; 4]; 4], i32, i32),
        (pred, ps): (*const u8, usize),
        (out, os): (*mut u8, usize),
    ) -> bool {
        let zero = _mm_setzero_si128();
        // Column k: levels in the low 16 bits of each 32-bit lane (the high
        // half zero), times v << shift (within 16 bits: at most 25 << 8),
        // multiplied to 32 bits by madd.
        let count = _mm_cvtsi32_si128(shift);
        let mut d: [__m128i; 4] = std::array::from_fn(|k| {
            let c = _mm_loadl_epi64(cols[k].as_ptr() as *const __m128i);
            let m = _mm_sll_epi32(_mm_loadu_si128(v[k].as_ptr() as *const __m128i), count);
            _mm_madd_epi16(_mm_unpacklo_epi16(c, zero), m)
        });
        // Lane 0 of column 0 is the DC coefficient (|dc| beyond the bound
        // below is refused like any scaled coefficient).
        let dc = dc.clamp(-1 << 20, 1 << 20);
        d[0] = _mm_add_epi32(d[0], _mm_cvtsi32_si128(dc));
        let (hi, lo) = (_mm_set1_epi32(2600), _mm_set1_epi32(-2600));
        let beyond = d.iter().fold(zero, |a, &x| {
            _mm_or_si128(
                a,
                _mm_or_si128(_mm_cmpgt_epi32(x, hi), _mm_cmplt_epi32(x, lo)),
            )
        });
        if _mm_movemask_epi8(beyond) != 0 {
            return false;
        }
        // Row transforms: columns as registers, one lane per row; then the
        // column transforms with rows as registers.
        let g = inverse_1d(transpose(inverse_1d(d)));
        let bias = _mm_set1_epi32(32);
        for (r, row) in g.iter().enumerate() {
            let res = _mm_srai_epi32(_mm_add_epi32(*row, bias), 6);
            let p = _mm_cvtsi32_si128((pred.add(r * ps) as *const i32).read_unaligned());
            let p = _mm_unpacklo_epi16(_mm_unpacklo_epi8(p, zero), zero);
            let sum = _mm_add_epi32(res, p);
            let bytes = _mm_packus_epi16(_mm_packs_epi32(sum, sum), zero);
            (out.add(r * os) as *mut i32).write_unaligned(_mm_cvtsi128_si32(bytes));
        }
        true
    }

    /// [`super::inverse_add_small`]. Caller: SSE2 (always on x86-64).
    pub(super) unsafe fn inverse_add(d: &[i32; 16], pred: &[i32; 16]) -> [u8; 16] {
        let rows = std::array::from_fn(|r| load_row(d, r));
        // Row transforms: columns as registers, one lane per row.
        let f = inverse_1d(transpose(rows));
        // Column transforms: rows of f as registers, one lane per column.
        let g = inverse_1d(transpose(f));
        let bias = _mm_set1_epi32(32);
        let out: [__m128i; 4] = std::array::from_fn(|r| {
            let res = _mm_srai_epi32(_mm_add_epi32(g[r], bias), 6);
            _mm_add_epi32(res, load_row(pred, r))
        });
        let words = [
            _mm_packs_epi32(out[0], out[1]),
            _mm_packs_epi32(out[2], out[3]),
        ];
        let bytes = _mm_packus_epi16(words[0], words[1]);
        let mut result = [0u8; 16];
        _mm_storeu_si128(result.as_mut_ptr() as *mut __m128i, bytes);
        result
    }
}

/// Checks the column-pass intermediates (e and g of 8.5.12.2) for the range rule.
fn intermediates_in_range(f: &[i32; 16]) -> bool {
    (0..4).all(|c| {
        let d = [f[c], f[4 + c], f[8 + c], f[12 + c]];
        let e = [
            d[0] + d[2],
            d[0] - d[2],
            (d[1] >> 1) - d[3],
            d[1] + (d[3] >> 1),
        ];
        let g = [e[0] + e[3], e[1] + e[2], e[1] - e[2], e[0] - e[3]];
        e.iter().chain(g.iter()).all(|&v| in_range(v))
    })
}

/// Rounding offset of the quantiser as a fraction of the step: 1/3 for
/// intra blocks, 1/6 for inter blocks (a wider dead zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadzone {
    Intra,
    Inter,
}

impl Deadzone {
    #[inline]
    pub(crate) const fn offset(self, qbits: u32) -> i32 {
        match self {
            Deadzone::Intra => (1 << qbits) / 3,
            Deadzone::Inter => (1 << qbits) / 6,
        }
    }
}

#[inline]
fn intra_offset(qbits: u32) -> i32 {
    Deadzone::Intra.offset(qbits)
}

#[inline]
fn quant_one(coef: i32, mf: i32, offset: i32, qbits: u32) -> i32 {
    let level = ((coef.unsigned_abs() as i64 * mf as i64 + offset as i64) >> qbits) as i32;
    // The sign of `coef` without a branch: s is 0 or −1, and (l ^ s) − s is
    // l or −l.
    let s = coef >> 31;
    (level ^ s) - s
}

/// Quantises a transformed 4×4 block in place (raster order). When `skip_dc`
/// is set the DC coefficient is left untouched (Intra16x16 and chroma, whose
/// DC goes through its own transform).
pub fn quant4x4(block: &mut [i32; 16], qp: i32, skip_dc: bool) {
    quant4x4_with(block, qp, skip_dc, Deadzone::Intra);
}

/// [`quant4x4`] with a chosen dead zone.
pub fn quant4x4_with(block: &mut [i32; 16], qp: i32, skip_dc: bool, dz: Deadzone) {
    let qbits = 15 + (qp / 6) as u32;
    let mf = &QUANT_MF_4X4[(qp % 6) as usize];
    let offset = dz.offset(qbits);
    let dc = block[0];
    // |coefficient| ≤ 36·255 for 8-bit residuals and MF ≤ 13107, so the
    // product fits in i32.
    for (c, &m) in block.iter_mut().zip(mf) {
        let level = (c.abs() * m + offset) >> qbits;
        *c = if *c < 0 { -level } else { level };
    }
    if skip_dc {
        block[0] = dc;
    }
}

/// qbits, MF and rounding offset of the chroma DC quantiser (8.5.11.1's
/// counterpart).
pub(crate) const fn chroma_dc_quant(qp_c: i32, dz: Deadzone) -> (u32, i32, i32) {
    let qbits = 16 + (qp_c / 6) as u32;
    let mf = QUANT_MF[(qp_c % 6) as usize][0];
    (qbits, mf, 2 * dz.offset(qbits - 1))
}

/// [`forward4x4`] then [`quant4x4_with`] of a residual with 8-bit sample
/// differences (|r| ≤ 255): the raster levels and the DC coefficient before
/// quantisation. On x86-64 the transform and the quantiser run in SSE2
/// registers (every |coefficient| ≤ 36·255 and MF < 2^15, so each product
/// is one 16×16-bit multiply-add).
pub fn forward_quant4x4(
    residual: &[i32; 16],
    qp: i32,
    skip_dc: bool,
    dz: Deadzone,
) -> ([i32; 16], i32) {
    Quantiser::new(qp, dz).residual(residual, skip_dc)
}

/// The quantiser of 4×4 residual blocks at one qp and dead zone (8.5.12's
/// inverse, as encoders use it): MF by raster position, rounding offset
/// and shift.
#[derive(Debug, Clone, Copy)]
pub struct Quantiser {
    // The portable transform's inputs; x86-64's transform uses the three
    // below.
    qp: i32,
    dz: Deadzone,
    mf: &'static [i32; 16],
    offset: i32,
    qbits: u32,
}

impl Quantiser {
    /// The quantiser at `qp` (clamped to 0..=51) with dead zone `dz`.
    pub fn new(qp: i32, dz: Deadzone) -> Quantiser {
        let qp = qp.clamp(0, 51);
        let qbits = 15 + (qp / 6) as u32;
        Quantiser {
            qp,
            dz,
            mf: &QUANT_MF_4X4[(qp % 6) as usize],
            offset: dz.offset(qbits),
            qbits,
        }
    }

    /// The qp (0..=51) and dead zone it quantises with.
    pub fn setting(&self) -> (i32, Deadzone) {
        (self.qp, self.dz)
    }

    /// MF by raster position, the rounding offset and qbits it quantises
    /// with: level = (|c|·MF + offset) >> qbits.
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn parts(&self) -> (&'static [i32; 16], i32, u32) {
        (self.mf, self.offset, self.qbits)
    }

    /// The level of coefficient `coef` at raster position `pos`.
    pub fn level_at(&self, pos: usize, coef: i32) -> i32 {
        quant_one(coef, self.mf[pos], self.offset, self.qbits)
    }

    /// [`forward_quant4x4`] of a residual with this quantiser.
    #[inline]
    pub fn residual(&self, residual: &[i32; 16], skip_dc: bool) -> ([i32; 16], i32) {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: SSE2 is part of x86-64; the arrays hold 16 values each.
            unsafe { x86::forward_quant(residual, self.mf, (self.offset, self.qbits), skip_dc) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            forward_quant_portable(residual, self.qp, skip_dc, self.dz)
        }
    }

    /// [`forward_quant4x4`] of the residual `src − pred` between two 4×4
    /// blocks of 8-bit samples given from their first samples, rows `ss`
    /// and `ps` apart.
    #[inline]
    pub fn residual_u8(
        &self,
        (src, ss): (&[u8], usize),
        (pred, ps): (&[u8], usize),
        skip_dc: bool,
    ) -> ([i32; 16], i32) {
        #[cfg(target_arch = "x86_64")]
        if ss >= 4 && ps >= 4 && src.len() >= 3 * ss + 4 && pred.len() >= 3 * ps + 4 {
            // SAFETY: SSE2 is part of x86-64; both blocks lie inside their
            // slices (checked above).
            return unsafe {
                x86::forward_quant_u8(
                    (src.as_ptr(), ss),
                    (pred.as_ptr(), ps),
                    self.mf,
                    (self.offset, self.qbits),
                    skip_dc,
                )
            };
        }
        let residual: [i32; 16] = std::array::from_fn(|i| {
            let (r, c) = (i / 4, i % 4);
            i32::from(src[r * ss + c]) - i32::from(pred[r * ps + c])
        });
        self.residual(&residual, skip_dc)
    }

    /// The AC levels (raster order, the DC position zero) and the DC
    /// coefficient before quantisation of the residual `src − pred`, as
    /// [`Quantiser::residual_u8`] takes them: for blocks whose DC goes
    /// through a second transform (Intra16x16, chroma; 8.5.10, 8.5.11).
    #[inline]
    pub fn ac_levels_u8(&self, src: (&[u8], usize), pred: (&[u8], usize)) -> ([i32; 16], i32) {
        let (mut levels, dc) = self.residual_u8(src, pred, true);
        levels[0] = 0;
        (levels, dc)
    }
}

/// The portable [`forward_quant4x4`].
pub fn forward_quant_portable(
    residual: &[i32; 16],
    qp: i32,
    skip_dc: bool,
    dz: Deadzone,
) -> ([i32; 16], i32) {
    let mut block = *residual;
    forward4x4(&mut block);
    let dc = block[0];
    quant4x4_with(&mut block, qp, skip_dc, dz);
    (block, dc)
}

/// [`QUANT_MF`] expanded to every raster position of a 4×4 block.
const QUANT_MF_4X4: [[i32; 16]; 6] = expand_by_position(&QUANT_MF);

/// [`DEQUANT_V`] expanded to every raster position of a 4×4 block.
const DEQUANT_V_4X4: [[i32; 16]; 6] = expand_by_position(&DEQUANT_V);

/// [`DEQUANT_V_4X4`] by columns: `[qp % 6][k][r]` is the factor of row
/// r, column k (for levels held by columns, [`dequant_add_columns`]).
const DEQUANT_V_COLUMNS: [[[i32; 4]; 4]; 6] = by_columns(&DEQUANT_V_4X4);

/// The flat-matrix scaling factors of qP by columns (`[k][r]`: row r,
/// column k), before the 2^(qP/6) step (8.5.12.1); qP in 0..=51.
pub(crate) const fn dequant_factors_by_columns(qp: i32) -> [[i32; 4]; 4] {
    DEQUANT_V_COLUMNS[qp.rem_euclid(6) as usize]
}

const fn by_columns(t: &[[i32; 16]; 6]) -> [[[i32; 4]; 4]; 6] {
    let mut out = [[[0i32; 4]; 4]; 6];
    let mut q = 0;
    while q < 6 {
        let mut pos = 0;
        while pos < 16 {
            out[q][pos % 4][pos / 4] = t[q][pos];
            pos += 1;
        }
        q += 1;
    }
    out
}

const fn expand_by_position(t: &[[i32; 3]; 6]) -> [[i32; 16]; 6] {
    let mut out = [[0i32; 16]; 6];
    let mut q = 0;
    while q < 6 {
        let mut pos = 0;
        while pos < 16 {
            out[q][pos] = t[q][scale_class(pos)];
            pos += 1;
        }
        q += 1;
    }
    out
}

/// Scales 4×4 levels for the inverse transform with flat scaling lists
/// (8.5.12.1): `d = c · LevelScale4x4 << (qP/6) >> 4` which, for flat weights
/// of 16, is exactly `c · v · 2^(qP/6)`. The DC is copied when `dc_done`.
pub fn dequant4x4(levels: &[i32; 16], qp: i32, dc_done: bool) -> [i32; 16] {
    let v = &DEQUANT_V_4X4[(qp % 6) as usize];
    let shift = (qp / 6) as u32;
    let mut d: [i32; 16] = std::array::from_fn(|pos| levels[pos].wrapping_mul(v[pos]) << shift);
    if dc_done {
        d[0] = levels[0];
    }
    d
}

/// 4×4 Hadamard used by the Intra16x16 luma DC (8.5.10), raster order:
/// with SSE2 on x86-64 (part of the architecture).
fn hadamard4x4(m: &[i32; 16]) -> [i32; 16] {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of x86-64.
        unsafe { x86::hadamard4x4(m) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    hadamard4x4_portable(m)
}

/// The portable [`hadamard4x4`]: rows, then columns.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))] // the reference for the SSE2 one
fn hadamard4x4_portable(m: &[i32; 16]) -> [i32; 16] {
    let mut t = [0i32; 16];
    for r in 0..4 {
        let (a, b, c, d) = (m[r * 4], m[r * 4 + 1], m[r * 4 + 2], m[r * 4 + 3]);
        t[r * 4] = a + b + c + d;
        t[r * 4 + 1] = a + b - c - d;
        t[r * 4 + 2] = a - b - c + d;
        t[r * 4 + 3] = a - b + c - d;
    }
    let mut out = [0i32; 16];
    for c in 0..4 {
        let (a, b, cc, d) = (t[c], t[4 + c], t[8 + c], t[12 + c]);
        out[c] = a + b + cc + d;
        out[4 + c] = a + b - cc - d;
        out[8 + c] = a - b - cc + d;
        out[12 + c] = a - b + cc - d;
    }
    out
}

/// Forward luma DC transform and quantisation for Intra16x16: `dc` holds the
/// 16 block DCs in spatial raster order (block row, block column); returns
/// their levels in the same order.
pub fn forward_quant_luma_dc(dc: &[i32; 16], qp: i32) -> [i32; 16] {
    debug_assert!(dc.iter().all(|v| v.unsigned_abs() <= 16 * 255));
    let h = hadamard4x4(dc);
    let qbits = 16 + (qp / 6) as u32;
    let mf = QUANT_MF[(qp % 6) as usize][0];
    let offset = 2 * intra_offset(qbits - 1);
    // Halve with rounding toward the nearest, as the gain of the pair of
    // Hadamards is 16 where the decoder's scale expects 8. Each DC input is
    // a block's residual sum (|·| ≤ 16·255), so |half| ≤ 32 640 and
    // |half|·mf + offset < 2^31: 32-bit lanes hold [`quant_one`] exactly.
    h.map(|v| {
        let half = (v + v.signum()) / 2;
        let level = (half.unsigned_abs() * mf as u32 + offset as u32) >> qbits;
        let s = half >> 31;
        (level as i32 ^ s) - s
    })
}

/// Inverse luma DC transform and scaling (8.5.10): levels (spatial raster) →
/// dcY, the DC value of each 4×4 block's scaled coefficients. `None` when the
/// range constraint is broken.
pub fn inverse_luma_dc(levels: &[i32; 16], qp: i32) -> Option<[i32; 16]> {
    let f = hadamard4x4(levels);
    let scale = 16 * DEQUANT_V[(qp % 6) as usize][0];
    // Every lane at once (wrapping where f is out of range, which gives
    // None whatever the lane holds); in range, nothing wraps.
    let dc = if qp >= 36 {
        let shift = (qp / 6 - 6) as u32;
        f.map(|v| v.wrapping_mul(scale) << shift)
    } else {
        let (shift, round) = ((6 - qp / 6) as u32, 1 << (5 - qp / 6));
        f.map(|v| v.wrapping_mul(scale).wrapping_add(round) >> shift)
    };
    (f.iter().chain(&dc).all(|&v| in_range(v))).then_some(dc)
}

/// Forward 2×2 chroma DC transform and quantisation (4:2:0), raster order.
pub fn forward_quant_chroma_dc(dc: &[i32; 4], qp_c: i32) -> [i32; 4] {
    forward_quant_chroma_dc_with(dc, qp_c, Deadzone::Intra)
}

/// [`forward_quant_chroma_dc`] with a chosen dead zone.
pub fn forward_quant_chroma_dc_with(dc: &[i32; 4], qp_c: i32, dz: Deadzone) -> [i32; 4] {
    let f = hadamard2x2(dc);
    let (qbits, mf, offset) = chroma_dc_quant(qp_c, dz);
    f.map(|v| quant_one(v, mf, offset, qbits))
}

/// The 2×2 transform of chroma DC coefficients (8.5.11.1; its own inverse
/// up to scale).
pub(crate) fn hadamard2x2(c: &[i32; 4]) -> [i32; 4] {
    [
        c[0] + c[1] + c[2] + c[3],
        c[0] - c[1] + c[2] - c[3],
        c[0] + c[1] - c[2] - c[3],
        c[0] - c[1] - c[2] + c[3],
    ]
}

/// Inverse chroma DC transform and scaling for 4:2:0 (8.5.11.1, 8.5.11.2):
/// `dcC = ((f · LevelScale4x4(qPc % 6, 0, 0)) << (qPc / 6)) >> 5`.
pub fn inverse_chroma_dc(levels: &[i32; 4], qp_c: i32) -> Option<[i32; 4]> {
    let f = hadamard2x2(levels);
    let scale = 16 * DEQUANT_V[(qp_c % 6) as usize][0];
    let mut out = [0i32; 4];
    for i in 0..4 {
        if !in_range(f[i]) {
            return None;
        }
        let v = ((f[i] * scale) << (qp_c / 6)) >> 5;
        if !in_range(v) {
            return None;
        }
        out[i] = v;
    }
    Some(out)
}

/// Sum of absolute Hadamard-transformed differences of a 4×4 block, halved
/// (the usual SATD measure for mode decision).
pub fn satd4x4(diff: &[i32; 16]) -> u32 {
    let h = hadamard4x4(diff);
    (h.iter().map(|v| v.unsigned_abs()).sum::<u32>() + 1) >> 1
}

/// SATD of a `w`×`h` block (multiples of 4) between two 8-bit blocks given
/// as row slices with strides; the sum of [`satd4x4`] over its 4×4 blocks.
/// Works on bands of four rows, transforming all 4×4 blocks of a band
/// together so the loops vectorise.
pub fn satd_u8(a: &[u8], a_stride: usize, b: &[u8], b_stride: usize, w: usize, h: usize) -> u32 {
    match w {
        16 => satd_u8_banded::<u8, 16>(a, a_stride, b, b_stride, h),
        8 => satd_u8_banded::<u8, 8>(a, a_stride, b, b_stride, h),
        _ => satd_blocks(a, a_stride, b, b_stride, w, h),
    }
}

/// [`satd_blocks`] of 8-bit samples for a width `W` (a multiple of 4) known
/// at compile time, in 16-bit lanes (differences stay within ±255·16): per
/// band of four rows, the horizontal then the vertical 4-point Hadamard of
/// every 4×4 block, whose coefficients are those of [`hadamard4x4`] up to
/// order and sign. The vertical stage uses |a + b| + |a − b| =
/// 2·max(|a|, |b|): a 4×4 block's magnitudes sum to an even 2S, and
/// (2S + 1) >> 1 = S is the block's [`satd4x4`].
fn satd_u8_banded<T: Copy + Into<i32>, const W: usize>(
    a: &[T],
    a_stride: usize,
    b: &[T],
    b_stride: usize,
    h: usize,
) -> u32 {
    let mut total = 0u32;
    for by in (0..h).step_by(4) {
        let mut d = [[0i16; W]; 4];
        for (r, row) in d.iter_mut().enumerate() {
            let ra = &a[(by + r) * a_stride..(by + r) * a_stride + W];
            let rb = &b[(by + r) * b_stride..(by + r) * b_stride + W];
            for x in 0..W {
                row[x] = (ra[x].into() - rb[x].into()) as i16;
            }
            for g in (0..W).step_by(4) {
                let (p0, p1, p2, p3) = (row[g], row[g + 1], row[g + 2], row[g + 3]);
                let (s01, d01, s23, d23) = (p0 + p1, p0 - p1, p2 + p3, p2 - p3);
                row[g] = s01 + s23;
                row[g + 1] = s01 - s23;
                row[g + 2] = d01 - d23;
                row[g + 3] = d01 + d23;
            }
        }
        let mut half = [0u16; W];
        for (x, out) in half.iter_mut().enumerate() {
            let (p0, p1, p2, p3) = (d[0][x], d[1][x], d[2][x], d[3][x]);
            let (s01, d01, s23, d23) = (p0 + p1, p0 - p1, p2 + p3, p2 - p3);
            *out = s01.unsigned_abs().max(s23.unsigned_abs())
                + d01.unsigned_abs().max(d23.unsigned_abs());
        }
        total += half.iter().map(|&v| u32::from(v)).sum::<u32>();
    }
    total
}

/// SATD of two `w`×`h` blocks of 8-bit samples (0..=255) held as 32-bit
/// values in raster order with stride `w` (intra mode decision); equal to
/// [`satd_blocks`], banded for widths 4, 8 and 16.
pub fn satd_i32(a: &[i32], b: &[i32], w: usize, h: usize) -> u32 {
    debug_assert!(a.iter().chain(b).all(|v| (0..=255).contains(v)));
    match w {
        16 => satd_u8_banded::<i32, 16>(a, w, b, w, h),
        8 => satd_u8_banded::<i32, 8>(a, w, b, w, h),
        4 => satd_u8_banded::<i32, 4>(a, w, b, w, h),
        _ => satd_blocks(a, w, b, w, w, h),
    }
}

/// SATD of a `w`×`h` block (multiples of 4) block by block, for 8-bit
/// samples or 32-bit values alike; [`satd_u8`] is its banded form.
pub fn satd_blocks<T: Copy + Into<i32>>(
    a: &[T],
    a_stride: usize,
    b: &[T],
    b_stride: usize,
    w: usize,
    h: usize,
) -> u32 {
    let mut total = 0;
    for by in (0..h).step_by(4) {
        for bx in (0..w).step_by(4) {
            let d: [i32; 16] = std::array::from_fn(|i| {
                let (r, c) = (by + i / 4, bx + i % 4);
                a[r * a_stride + c].into() - b[r * b_stride + c].into()
            });
            total += satd4x4(&d);
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SSE2 Hadamard equals the portable one (rows, then columns) on
    /// random blocks and on blocks at the inputs' extremes.
    #[test]
    fn hadamard_equals_the_portable_one() {
        let mut state = 0x4ada_3a2du32;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        for case in 0..2000 {
            let m: [i32; 16] = std::array::from_fn(|_| match case % 3 {
                0 => (next() % 8161) as i32 - 4080,
                1 => [-4080, 4080, 0][(next() % 3) as usize],
                _ => (next() % 65) as i32 - 32,
            });
            assert_eq!(hadamard4x4(&m), hadamard4x4_portable(&m), "{m:?}");
        }
    }

    /// The column-held block's reconstruction equals dequantising and
    /// inverse-transforming its raster levels ([`inverse_add_small`]) where
    /// every scaled coefficient is within ±2600, and is refused (nothing
    /// written) elsewhere; the SSE2 and portable versions alike.
    #[test]
    fn column_blocks_reconstruct_as_raster_blocks() {
        let mut state = 0x51f1_5eedu32;
        let mut next = move |n: u32| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state % n
        };
        let (mut taken, mut refused) = (0, 0);
        for case in 0..4000 {
            let qp = next(52) as i32;
            // Blocks of small levels mostly; some of larger ones, and some
            // with levels at the 16-bit limits.
            let kind = next(10);
            let level = |n: &mut dyn FnMut(u32) -> u32| -> i16 {
                match (kind, n(16)) {
                    (0..=6, _) => n(7) as i16 - 3,
                    (7..=8, _) => n(81) as i16 - 40,
                    (_, 0) => [i16::MIN, i16::MAX][n(2) as usize],
                    _ => n(2001) as i16 - 1000,
                }
            };
            let cols: [[i16; 4]; 4] =
                std::array::from_fn(|_| std::array::from_fn(|_| level(&mut next)));
            let ps = 4 + next(13) as usize;
            let pred: Vec<u8> = (0..4 * ps).map(|_| next(256) as u8).collect();
            let raster: [i32; 16] = std::array::from_fn(|pos| i32::from(cols[pos % 4][pos / 4]));
            // A DC from the luma DC transform (Intra16x16) in a third of
            // the cases, some of them beyond the bound.
            let dc = match case % 3 {
                0 => next(6001) as i32 - 3000,
                _ => 0,
            };
            let mut d = dequant4x4(&raster, qp, false);
            d[0] += dc;
            let small = d.iter().all(|v| v.unsigned_abs() <= 2600);
            let p: [i32; 16] = std::array::from_fn(|i| i32::from(pred[(i / 4) * ps + i % 4]));
            let want = small.then(|| inverse_add_small(&d, &p));
            for portable in [false, true] {
                let os = 4 + case % 9;
                let mut out = vec![7u8; 4 * os];
                let done = if portable {
                    dequant_add_columns_portable(&cols, qp, dc, (&pred, ps), (&mut out, os))
                } else if dc == 0 {
                    dequant_add_columns(&cols, qp, (&pred, ps), (&mut out, os))
                } else {
                    dequant_add_columns_dc(&cols, qp, dc, (&pred, ps), (&mut out, os))
                };
                assert_eq!(done, small, "case {case} qp {qp}");
                let got: [u8; 16] = std::array::from_fn(|i| out[(i / 4) * os + i % 4]);
                match want {
                    Some(w) => assert_eq!(got, w, "case {case} qp {qp}"),
                    None => assert_eq!(got, [7; 16], "case {case}: written though refused"),
                }
            }
            if small {
                taken += 1;
            } else {
                refused += 1;
            }
        }
        assert!(
            taken > 1000 && refused > 100,
            "{taken} taken, {refused} refused"
        );
    }

    #[test]
    fn zigzag_is_permutation() {
        let mut seen = [false; 16];
        for &p in &ZIGZAG_4X4 {
            assert!(!seen[p]);
            seen[p] = true;
        }
    }

    #[test]
    fn chroma_qp_table_8_15() {
        assert_eq!(chroma_qp(29), 29);
        assert_eq!(chroma_qp(30), 29);
        assert_eq!(chroma_qp(34), 32);
        assert_eq!(chroma_qp(39), 35);
        assert_eq!(chroma_qp(51), 39);
    }

    fn lcg(state: &mut u32) -> i32 {
        *state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (*state >> 16) as i32
    }

    /// Quantise then reconstruct: the error shrinks with qp and is small at qp 0.
    #[test]
    fn transform_round_trip_error_bounded() {
        let mut s = 7u32;
        for qp in [0, 6, 12, 24, 36, 51] {
            let mut worst = 0;
            for _ in 0..200 {
                let orig: [i32; 16] = std::array::from_fn(|_| (lcg(&mut s) % 511) - 255);
                let mut b = orig;
                forward4x4(&mut b);
                quant4x4(&mut b, qp, false);
                let d = dequant4x4(&b, qp, false);
                let r = inverse4x4(&d).expect("in range");
                for i in 0..16 {
                    worst = worst.max((r[i] - orig[i]).abs());
                }
            }
            let step = 0.625 * 2f64.powf(qp as f64 / 6.0);
            assert!((worst as f64) <= 4.0 * step + 2.0, "qp {qp}: error {worst}");
            if qp == 0 {
                assert!(worst <= 2, "qp 0 error {worst}");
            }
        }
    }

    #[test]
    fn dc_only_block_is_flat() {
        let mut b = [10i32; 16];
        forward4x4(&mut b);
        assert_eq!(b[0], 160);
        assert!(b[1..].iter().all(|&v| v == 0));
    }

    #[test]
    fn luma_dc_round_trip() {
        let dc: [i32; 16] = std::array::from_fn(|i| (i as i32 * 37 % 200 - 100) * 16);
        for qp in [0, 10, 26, 40, 51] {
            let lv = forward_quant_luma_dc(&dc, qp);
            let back = inverse_luma_dc(&lv, qp).expect("range");
            // dcY is on the scale of d (64× the residual after >>6).
            let step = 0.625 * 2f64.powf(qp as f64 / 6.0) * 16.0 * 4.0;
            for i in 0..16 {
                let err = (back[i] as f64 / 4.0 - dc[i] as f64 * 4.0 / 4.0).abs();
                assert!(
                    err <= step * 2.0 + 64.0,
                    "qp {qp} i {i}: {} vs {}",
                    back[i],
                    dc[i]
                );
            }
        }
    }

    #[test]
    fn range_violation_detected() {
        let mut d = [0i32; 16];
        d[0] = 40000;
        assert!(inverse4x4(&d).is_none());
        let lv = [3000i32; 16];
        assert!(inverse_luma_dc(&lv, 0).is_none());
    }

    #[test]
    fn banded_satd_equals_block_satd() {
        let mut s = 3u32;
        // The generator's top byte.
        let mut next = || (lcg(&mut s) >> 8) as u8;
        let a: Vec<u8> = (0..40 * 20).map(|_| next()).collect();
        let b: Vec<u8> = (0..16 * 16).map(|_| next()).collect();
        for (w, h) in [(16, 16), (16, 8), (8, 16), (8, 8)] {
            assert_eq!(
                satd_u8(&a, 40, &b, w, w, h),
                satd_blocks(&a, 40, &b, w, w, h),
                "{w}x{h}"
            );
        }
        let flat = [255u8; 256];
        let zero = [0u8; 256];
        assert_eq!(
            satd_u8(&flat, 16, &zero, 16, 16, 16),
            satd_blocks(&flat, 16, &zero, 16, 16, 16)
        );
    }

    #[test]
    fn i32_satd_equals_block_satd() {
        let mut s = 5u32;
        let a: Vec<i32> = (0..256).map(|_| lcg(&mut s) % 256).collect();
        let b: Vec<i32> = (0..256).map(|_| lcg(&mut s) % 256).collect();
        for (w, h) in [(16, 16), (8, 8), (4, 4), (12, 4)] {
            let n = w * h;
            assert_eq!(
                satd_i32(&a[..n], &b[..n], w, h),
                satd_blocks(&a[..n], w, &b[..n], w, w, h),
                "{w}x{h}"
            );
        }
    }

    #[test]
    fn inverse_add_matches_reference() {
        let mut state = 99u32;
        for case in 0..20000 {
            let d: [i32; 16] = std::array::from_fn(|_| match case % 4 {
                0 => lcg(&mut state) % 5201 - 2600,
                1 => [2600, -2600][(lcg(&mut state) & 1) as usize],
                2 => lcg(&mut state) % 61 - 30,
                _ => 0,
            });
            let pred: [i32; 16] = std::array::from_fn(|_| match case % 3 {
                0 => lcg(&mut state) % 256,
                1 => 0,
                _ => 255,
            });
            assert_eq!(
                inverse_add_small(&d, &pred),
                inverse_add_portable(&d, &pred),
                "{d:?}"
            );
        }
    }

    /// The fast forward transform and quantiser equal the reference for
    /// random and extreme 8-bit residuals at every qp, dead zone and DC
    /// handling.
    #[test]
    fn forward_quant_matches_reference() {
        let mut state = 17u32;
        for case in 0..3000 {
            let residual: [i32; 16] = std::array::from_fn(|i| match case % 5 {
                0 => lcg(&mut state) % 511 - 255,
                1 => [255, -255][(lcg(&mut state) & 1) as usize],
                2 => [255, -255][(i + i / 4) % 2],
                3 => lcg(&mut state) % 21 - 10,
                _ => 255,
            });
            for qp in [0, 1, 5, 6, 11, 17, 23, 27, 28, 34, 39, 45, 51] {
                for dz in [Deadzone::Intra, Deadzone::Inter] {
                    for skip_dc in [false, true] {
                        assert_eq!(
                            forward_quant4x4(&residual, qp, skip_dc, dz),
                            forward_quant_portable(&residual, qp, skip_dc, dz),
                            "{residual:?} qp {qp}"
                        );
                    }
                }
            }
        }
    }

    /// The transform of 8-bit blocks equals the reference on their residual,
    /// for random, extreme and nearly equal blocks, strides of packed and
    /// picture rows, at every qp, dead zone and DC handling.
    #[test]
    fn forward_quant_u8_matches_reference() {
        let mut state = 5u32;
        for case in 0..1500 {
            let (ss, ps) = [(4, 4), (16, 4), (40, 16), (8, 8)][case % 4];
            let mut src: Vec<u8> = (0..4 * ss).map(|_| (lcg(&mut state) % 256) as u8).collect();
            let pred: Vec<u8> = (0..4 * ps).map(|_| (lcg(&mut state) % 256) as u8).collect();
            if case % 3 == 1 {
                for r in 0..4 {
                    for c in 0..4 {
                        src[r * ss + c] = [0, 255][(r + c + case) % 2];
                    }
                }
            } else if case % 3 == 2 {
                for r in 0..4 {
                    for c in 0..4 {
                        let d = (lcg(&mut state) % 5) as u8;
                        src[r * ss + c] = pred[r * ps + c].saturating_add(d);
                    }
                }
            }
            let residual: [i32; 16] = std::array::from_fn(|i| {
                i32::from(src[i / 4 * ss + i % 4]) - i32::from(pred[i / 4 * ps + i % 4])
            });
            for qp in [0, 5, 6, 17, 27, 28, 39, 51] {
                for dz in [Deadzone::Intra, Deadzone::Inter] {
                    for skip_dc in [false, true] {
                        assert_eq!(
                            Quantiser::new(qp, dz).residual_u8((&src, ss), (&pred, ps), skip_dc),
                            forward_quant_portable(&residual, qp, skip_dc, dz),
                            "case {case} qp {qp}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn satd_of_zero_is_zero() {
        assert_eq!(satd4x4(&[0; 16]), 0);
        assert_eq!(satd4x4(&[1; 16]), 8);
    }
}
