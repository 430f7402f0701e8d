//! Intra prediction (8.3): Intra4x4 (9 modes), Intra16x16 (4 modes) and
//! chroma (4 modes), with neighbour availability.

/// Intra4x4 prediction modes (Table 8-2).
pub const I4_VERTICAL: u8 = 0;
pub const I4_HORIZONTAL: u8 = 1;
pub const I4_DC: u8 = 2;
pub const I4_DIAG_DOWN_LEFT: u8 = 3;
pub const I4_DIAG_DOWN_RIGHT: u8 = 4;
pub const I4_VERTICAL_RIGHT: u8 = 5;
pub const I4_HORIZONTAL_DOWN: u8 = 6;
pub const I4_VERTICAL_LEFT: u8 = 7;
pub const I4_HORIZONTAL_UP: u8 = 8;

/// Intra16x16 prediction modes (Table 8-4).
pub const I16_VERTICAL: u8 = 0;
pub const I16_HORIZONTAL: u8 = 1;
pub const I16_DC: u8 = 2;
pub const I16_PLANE: u8 = 3;

/// Chroma prediction modes (Table 8-5).
pub const CHROMA_DC: u8 = 0;
pub const CHROMA_HORIZONTAL: u8 = 1;
pub const CHROMA_VERTICAL: u8 = 2;
pub const CHROMA_PLANE: u8 = 3;

/// Which neighbouring samples exist (8.3.1.2, 8.3.3, 8.3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Availability {
    pub left: bool,
    pub top: bool,
    pub top_left: bool,
    pub top_right: bool,
}

/// Neighbouring samples of a 4×4 block in one array: `e[3 - y]` is
/// p[−1, y] (y = 0..3), `e[4]` is p[−1, −1], `e[5 + x]` is p[x, −1] (x = 0..7).
#[derive(Debug, Clone, Copy)]
pub struct Edge4 {
    pub e: [i32; 13],
    pub avail: Availability,
}

impl Edge4 {
    #[inline]
    fn top(&self, x: i32) -> i32 {
        self.e[(5 + x) as usize]
    }

    #[inline]
    fn left(&self, y: i32) -> i32 {
        self.e[(3 - y) as usize]
    }

    /// Gathers the edge from a plane; top-right samples that are not
    /// available are replaced by p[3, −1] (8.3.1.2).
    pub fn gather(plane: &[u8], stride: usize, x0: usize, y0: usize, avail: Availability) -> Edge4 {
        let mut e = [128i32; 13];
        if avail.left {
            for y in 0..4 {
                e[3 - y] = i32::from(plane[(y0 + y) * stride + x0 - 1]);
            }
        }
        if avail.top_left {
            e[4] = i32::from(plane[(y0 - 1) * stride + x0 - 1]);
        }
        if avail.top {
            let row = (y0 - 1) * stride + x0;
            for x in 0..4 {
                e[5 + x] = i32::from(plane[row + x]);
            }
            for x in 4..8 {
                e[5 + x] = if avail.top_right {
                    i32::from(plane[row + x])
                } else {
                    e[8]
                };
            }
        }
        Edge4 { e, avail }
    }
}

/// Whether Intra4x4 `mode` may be used with these neighbours (8.3.1.2.1–9).
pub fn i4_mode_allowed(mode: u8, a: Availability) -> bool {
    match mode {
        I4_VERTICAL | I4_DIAG_DOWN_LEFT | I4_VERTICAL_LEFT => a.top,
        I4_HORIZONTAL | I4_HORIZONTAL_UP => a.left,
        I4_DC => true,
        I4_DIAG_DOWN_RIGHT | I4_VERTICAL_RIGHT | I4_HORIZONTAL_DOWN => {
            a.top && a.left && a.top_left
        }
        _ => false,
    }
}

#[inline]
fn avg3(a: i32, b: i32, c: i32) -> i32 {
    (a + 2 * b + c + 2) >> 2
}

#[inline]
fn avg2(a: i32, b: i32) -> i32 {
    (a + b + 1) >> 1
}

/// Intra4x4 prediction of one block (8.3.1.2.1–9), raster order out.
pub fn predict4x4(mode: u8, edge: &Edge4) -> [i32; 16] {
    let mut p = [0i32; 16];
    for y in 0..4i32 {
        for x in 0..4i32 {
            p[(y * 4 + x) as usize] = predict4x4_sample(mode, edge, x, y);
        }
    }
    p
}

fn predict4x4_sample(mode: u8, e: &Edge4, x: i32, y: i32) -> i32 {
    match mode {
        I4_VERTICAL => e.top(x),
        I4_HORIZONTAL => e.left(y),
        I4_DC => dc4x4(e),
        I4_DIAG_DOWN_LEFT => ddl(e, x, y),
        I4_DIAG_DOWN_RIGHT => ddr(e, x, y),
        I4_VERTICAL_RIGHT => vr(e, x, y),
        I4_HORIZONTAL_DOWN => hd(e, x, y),
        I4_VERTICAL_LEFT => vl(e, x, y),
        _ => hu(e, x, y),
    }
}

/// 8.3.1.2.3
fn dc4x4(e: &Edge4) -> i32 {
    let top: i32 = (0..4).map(|x| e.top(x)).sum();
    let left: i32 = (0..4).map(|y| e.left(y)).sum();
    match (e.avail.top, e.avail.left) {
        (true, true) => (top + left + 4) >> 3,
        (false, true) => (left + 2) >> 2,
        (true, false) => (top + 2) >> 2,
        (false, false) => 128,
    }
}

/// 8.3.1.2.4
fn ddl(e: &Edge4, x: i32, y: i32) -> i32 {
    if x == 3 && y == 3 {
        (e.top(6) + 3 * e.top(7) + 2) >> 2
    } else {
        avg3(e.top(x + y), e.top(x + y + 1), e.top(x + y + 2))
    }
}

/// 8.3.1.2.5 (p[−1,−1] is top(−1) and left(−1)).
fn ddr(e: &Edge4, x: i32, y: i32) -> i32 {
    if x > y {
        avg3(e.top(x - y - 2), e.top(x - y - 1), e.top(x - y))
    } else if x < y {
        avg3(e.left(y - x - 2), e.left(y - x - 1), e.left(y - x))
    } else {
        avg3(e.top(0), e.top(-1), e.left(0))
    }
}

/// 8.3.1.2.6
fn vr(e: &Edge4, x: i32, y: i32) -> i32 {
    let z = 2 * x - y;
    let k = x - (y >> 1);
    match z {
        0 | 2 | 4 | 6 => avg2(e.top(k - 1), e.top(k)),
        1 | 3 | 5 => avg3(e.top(k - 2), e.top(k - 1), e.top(k)),
        -1 => avg3(e.left(0), e.left(-1), e.top(0)),
        _ => avg3(e.left(y - 1), e.left(y - 2), e.left(y - 3)),
    }
}

/// 8.3.1.2.7
fn hd(e: &Edge4, x: i32, y: i32) -> i32 {
    let z = 2 * y - x;
    let k = y - (x >> 1);
    match z {
        0 | 2 | 4 | 6 => avg2(e.left(k - 1), e.left(k)),
        1 | 3 | 5 => avg3(e.left(k - 2), e.left(k - 1), e.left(k)),
        -1 => avg3(e.left(0), e.left(-1), e.top(0)),
        _ => avg3(e.top(x - 1), e.top(x - 2), e.top(x - 3)),
    }
}

/// 8.3.1.2.8
fn vl(e: &Edge4, x: i32, y: i32) -> i32 {
    let k = x + (y >> 1);
    if y % 2 == 0 {
        avg2(e.top(k), e.top(k + 1))
    } else {
        avg3(e.top(k), e.top(k + 1), e.top(k + 2))
    }
}

/// 8.3.1.2.9
fn hu(e: &Edge4, x: i32, y: i32) -> i32 {
    let z = x + 2 * y;
    let k = y + (x >> 1);
    match z {
        0 | 2 | 4 => avg2(e.left(k), e.left(k + 1)),
        1 | 3 => avg3(e.left(k), e.left(k + 1), e.left(k + 2)),
        5 => (e.left(2) + 3 * e.left(3) + 2) >> 2,
        _ => e.left(3),
    }
}

/// Neighbours of an N×N block (N = 16 luma, 8 chroma): `top[x]` = p[x, −1],
/// `left[y]` = p[−1, y], `corner` = p[−1, −1].
#[derive(Debug, Clone, Copy)]
pub struct EdgeN<const N: usize> {
    pub top: [i32; N],
    pub left: [i32; N],
    pub corner: i32,
    pub avail: Availability,
}

impl<const N: usize> EdgeN<N> {
    /// Gathers the edge of the block at (x0, y0) of a plane.
    pub fn gather(plane: &[u8], stride: usize, x0: usize, y0: usize, avail: Availability) -> Self {
        let mut top = [128i32; N];
        let mut left = [128i32; N];
        let mut corner = 128;
        if avail.top {
            let at = (y0 - 1) * stride + x0;
            for (t, &v) in top.iter_mut().zip(&plane[at..at + N]) {
                *t = i32::from(v);
            }
        }
        if avail.left {
            let first = y0 * stride + x0 - 1;
            match plane.get(first..=first + (N - 1) * stride) {
                // The usual case, indexed with one range check for all rows.
                Some(column) => {
                    for (y, l) in left.iter_mut().enumerate() {
                        // SAFETY: y·stride ≤ (N − 1)·stride, the column's
                        // last index.
                        *l = i32::from(unsafe { *column.get_unchecked(y * stride) });
                    }
                }
                None => {
                    let column = plane[first..].iter().step_by(stride);
                    for (l, &v) in left.iter_mut().zip(column) {
                        *l = i32::from(v);
                    }
                }
            }
        }
        if avail.top_left {
            corner = i32::from(plane[(y0 - 1) * stride + x0 - 1]);
        }
        EdgeN {
            top,
            left,
            corner,
            avail,
        }
    }
}

/// Whether Intra16x16 `mode` may be used (8.3.3.1–4).
pub fn i16_mode_allowed(mode: u8, a: Availability) -> bool {
    match mode {
        I16_VERTICAL => a.top,
        I16_HORIZONTAL => a.left,
        I16_DC => true,
        I16_PLANE => a.top && a.left && a.top_left,
        _ => false,
    }
}

/// Intra16x16 prediction (8.3.3), raster order.
pub fn predict16x16(mode: u8, e: &EdgeN<16>) -> [i32; 256] {
    let mut p = [0i32; 256];
    match mode {
        I16_VERTICAL => {
            for y in 0..16 {
                p[y * 16..y * 16 + 16].copy_from_slice(&e.top);
            }
        }
        I16_HORIZONTAL => {
            for y in 0..16 {
                p[y * 16..y * 16 + 16].fill(e.left[y]);
            }
        }
        I16_DC => p.fill(dc16x16(e)),
        _ => plane16x16(e, &mut p),
    }
    p
}

/// [`predict16x16`] as 8-bit samples (every Intra16x16 prediction is
/// within 0..=255: edges are samples, the plane prediction is clipped).
pub fn predict16x16_u8(mode: u8, e: &EdgeN<16>) -> [u8; 256] {
    let mut p = [0u8; 256];
    match mode {
        I16_VERTICAL => {
            let top = e.top.map(|v| v as u8);
            for row in p.chunks_exact_mut(16) {
                row.copy_from_slice(&top);
            }
        }
        I16_HORIZONTAL => {
            for (row, &l) in p.chunks_exact_mut(16).zip(&e.left) {
                row.fill(l as u8);
            }
        }
        I16_DC => p.fill(dc16x16(e) as u8),
        _ => plane16x16_u8(e, &mut p),
    }
    p
}

/// The Intra16x16 DC prediction (8.3.3.3).
pub fn dc16x16(e: &EdgeN<16>) -> i32 {
    let top: i32 = e.top.iter().sum();
    let left: i32 = e.left.iter().sum();
    match (e.avail.top, e.avail.left) {
        (true, true) => (top + left + 16) >> 5,
        (false, true) => (left + 8) >> 4,
        (true, false) => (top + 8) >> 4,
        (false, false) => 128,
    }
}

/// Top sample p[x, −1] for x in −1..N.
#[inline]
fn top_at<const N: usize>(e: &EdgeN<N>, x: i32) -> i32 {
    if x < 0 {
        e.corner
    } else {
        e.top[x as usize]
    }
}

#[inline]
fn left_at<const N: usize>(e: &EdgeN<N>, y: i32) -> i32 {
    if y < 0 {
        e.corner
    } else {
        e.left[y as usize]
    }
}

/// 8.3.3.4
fn plane16x16(e: &EdgeN<16>, p: &mut [i32; 256]) {
    let (a, b, c) = plane16x16_params(e);
    for y in 0..16i32 {
        for x in 0..16i32 {
            p[(y * 16 + x) as usize] = ((a + b * (x - 7) + c * (y - 7) + 16) >> 5).clamp(0, 255);
        }
    }
}

/// [`plane16x16`] as 8-bit samples.
///
/// Every sum a + b·(x − 7) + c·(y − 7) + 16 fits in 16 bits: |a| ≤ 16·510,
/// |b|, |c| ≤ (5·36·255 + 32) >> 6 = 717, so the magnitude stays below
/// 8160 + 2·9·717 + 16 < 2^15.
fn plane16x16_u8(e: &EdgeN<16>, p: &mut [u8; 256]) {
    let (start, b, c) = plane16x16_terms(e);
    plane_rows::<16>(start, b, c, p);
}

/// The plane Intra16x16 prediction (8.3.3.4) as (start, b, c): sample (x,
/// y) is Clip1((start + b·x + c·y) >> 5), every such sum within 16 bits
/// (see [`plane16x16_u8`]).
pub fn plane16x16_terms(e: &EdgeN<16>) -> (i32, i32, i32) {
    let (a, b, c) = plane16x16_params(e);
    (a - 7 * b - 7 * c + 16, b, c)
}

/// The rows of a plane prediction (8.3.3.4, 8.3.4.4), `W` samples wide:
/// row y, column x is Clip1((start + b·x + c·y) >> 5). The caller
/// guarantees every such sum (and the one after the last row) fits in 16
/// bits, so on x86-64 eight samples are computed at once in SSE2 lanes,
/// the clip being the saturation of the pack to bytes.
fn plane_rows<const W: usize>(start: i32, b: i32, c: i32, p: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of x86-64; rows are written through
        // `chunks_exact_mut(W)` of `p`, W being 8 or 16.
        unsafe { plane_rows_sse2::<W>(start, b, c, p) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    for (y, row) in p.chunks_exact_mut(W).enumerate() {
        let first = start + c * y as i32;
        for (x, out) in row.iter_mut().enumerate() {
            *out = ((first + b * x as i32) >> 5).clamp(0, 255) as u8;
        }
    }
}

/// [`plane_rows`] in 16-bit SSE2 lanes (W 8 or 16).
#[cfg(target_arch = "x86_64")]
unsafe fn plane_rows_sse2<const W: usize>(start: i32, b: i32, c: i32, p: &mut [u8]) {
    use std::arch::x86_64::*;
    let steps = _mm_mullo_epi16(
        _mm_set1_epi16(b as i16),
        _mm_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7),
    );
    let mut lo = _mm_add_epi16(_mm_set1_epi16(start as i16), steps);
    let mut hi = _mm_add_epi16(lo, _mm_set1_epi16((8 * b) as i16));
    let down = _mm_set1_epi16(c as i16);
    for row in p.chunks_exact_mut(W) {
        let bytes = _mm_packus_epi16(_mm_srai_epi16(lo, 5), _mm_srai_epi16(hi, 5));
        if W == 16 {
            _mm_storeu_si128(row.as_mut_ptr() as *mut __m128i, bytes);
        } else {
            _mm_storel_epi64(row.as_mut_ptr() as *mut __m128i, bytes);
        }
        lo = _mm_add_epi16(lo, down);
        hi = _mm_add_epi16(hi, down);
    }
}

/// a, b and c of the plane prediction (Equations 8-124..8-128).
fn plane16x16_params(e: &EdgeN<16>) -> (i32, i32, i32) {
    let h: i32 = (0..8)
        .map(|x| (x + 1) * (top_at(e, 8 + x) - top_at(e, 6 - x)))
        .sum();
    let v: i32 = (0..8)
        .map(|y| (y + 1) * (left_at(e, 8 + y) - left_at(e, 6 - y)))
        .sum();
    let a = 16 * (e.left[15] + e.top[15]);
    (a, (5 * h + 32) >> 6, (5 * v + 32) >> 6)
}

/// Whether chroma `mode` may be used (8.3.4).
pub fn chroma_mode_allowed(mode: u8, a: Availability) -> bool {
    match mode {
        CHROMA_DC => true,
        CHROMA_HORIZONTAL => a.left,
        CHROMA_VERTICAL => a.top,
        CHROMA_PLANE => a.top && a.left && a.top_left,
        _ => false,
    }
}

/// Chroma prediction of an 8×8 block for 4:2:0 (8.3.4), raster order.
pub fn predict_chroma(mode: u8, e: &EdgeN<8>) -> [i32; 64] {
    predict_chroma_u8(mode, e).map(i32::from)
}

/// [`predict_chroma`] as 8-bit samples (every mode's samples lie in
/// 0..=255: edge samples, their means, or clipped plane values).
pub fn predict_chroma_u8(mode: u8, e: &EdgeN<8>) -> [u8; 64] {
    let mut p = [0u8; 64];
    match mode {
        CHROMA_DC => chroma_dc(e, &mut p),
        CHROMA_HORIZONTAL => {
            for (row, &v) in p.chunks_exact_mut(8).zip(&e.left) {
                row.fill(v as u8);
            }
        }
        CHROMA_VERTICAL => {
            let top = e.top.map(|v| v as u8);
            for row in p.chunks_exact_mut(8) {
                row.copy_from_slice(&top);
            }
        }
        _ => chroma_plane(e, &mut p),
    }
    p
}

/// 8.3.4.1–3: DC per 4×4 chroma block, whose choice of edges depends on the
/// block's position.
fn chroma_dc(e: &EdgeN<8>, p: &mut [u8; 64]) {
    for (blk, value) in chroma_dc_values(e).into_iter().enumerate() {
        let (bx, by) = (blk % 2, blk / 2);
        for y in 0..4 {
            let row = (by * 4 + y) * 8 + bx * 4;
            p[row..row + 4].fill(value);
        }
    }
}

/// The DC prediction of each 4×4 chroma block (index by·2 + bx), 8.3.4.1–3.
pub fn chroma_dc_values(e: &EdgeN<8>) -> [u8; 4] {
    std::array::from_fn(|blk| {
        let (bx, by) = (blk % 2, blk / 2);
        let top: i32 = e.top[bx * 4..bx * 4 + 4].iter().sum();
        let left: i32 = e.left[by * 4..by * 4 + 4].iter().sum();
        let (t, l) = (e.avail.top, e.avail.left);
        let value = if (bx == 0) == (by == 0) {
            // (0,0) and (1,1): both edges when both exist.
            match (t, l) {
                (true, true) => (top + left + 4) >> 3,
                (false, true) => (left + 2) >> 2,
                (true, false) => (top + 2) >> 2,
                (false, false) => 128,
            }
        } else if by == 0 {
            // xO > 0, yO = 0: the top edge first.
            if t {
                (top + 2) >> 2
            } else if l {
                (left + 2) >> 2
            } else {
                128
            }
        } else if l {
            // xO = 0, yO > 0: the left edge first.
            (left + 2) >> 2
        } else if t {
            (top + 2) >> 2
        } else {
            128
        };
        value as u8
    })
}

/// 8.3.4.4 for 4:2:0 (xCF = yCF = 0). Every sum a + b·(x − 3) +
/// c·(y − 3) + 16 fits in 16 bits: |a| ≤ 16·510, |b|, |c| ≤
/// (34·10·255 + 32) >> 6 = 1355, so the magnitude stays below
/// 8160 + 2·6·1355 + 16 < 2^15.
fn chroma_plane(e: &EdgeN<8>, p: &mut [u8; 64]) {
    let h: i32 = (0..4)
        .map(|x| (x + 1) * (top_at(e, 4 + x) - top_at(e, 2 - x)))
        .sum();
    let v: i32 = (0..4)
        .map(|y| (y + 1) * (left_at(e, 4 + y) - left_at(e, 2 - y)))
        .sum();
    let a = 16 * (e.left[7] + e.top[7]);
    let b = (34 * h + 32) >> 6;
    let c = (34 * v + 32) >> 6;
    plane_rows::<8>(a - 3 * b - 3 * c + 16, b, c, p);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The left column is gathered down the plane's rows; where the plane
    /// ends early the rest stays at 128, as the top row does without a top.
    #[test]
    fn left_edges_follow_the_column() {
        let plane: Vec<u8> = (0..32 * 20).map(|i| (i % 251) as u8).collect();
        let avail = Availability {
            left: true,
            ..Availability::default()
        };
        let whole = EdgeN::<16>::gather(&plane, 32, 16, 0, avail);
        assert_eq!(
            whole.left,
            std::array::from_fn(|y| ((y * 32 + 15) % 251) as i32)
        );
        assert_eq!(whole.top, [128; 16]);
        let short = EdgeN::<16>::gather(&plane[..32 * 10], 32, 16, 0, avail);
        let want: [i32; 16] = std::array::from_fn(|y| if y < 10 { whole.left[y] } else { 128 });
        assert_eq!(short.left, want);
    }

    /// The chroma plane prediction equals Equation 8-141 evaluated sample by
    /// sample, for random and the steepest edges.
    #[test]
    fn chroma_plane_equals_the_formula() {
        let mut state = 9u32;
        let mut next = || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 16) as i32 % 256
        };
        let avail = Availability {
            left: true,
            top: true,
            top_left: true,
            top_right: false,
        };
        for case in 0..300 {
            let steep = |i: usize| if (i < 4) == (case % 2 == 0) { 0 } else { 255 };
            let e = EdgeN::<8> {
                top: std::array::from_fn(|i| if case % 3 == 0 { steep(i) } else { next() }),
                left: std::array::from_fn(|i| if case % 3 == 0 { steep(7 - i) } else { next() }),
                corner: if case % 3 == 0 { steep(0) } else { next() },
                avail,
            };
            let h: i32 = (0..4)
                .map(|x| (x + 1) * (top_at(&e, 4 + x) - top_at(&e, 2 - x)))
                .sum();
            let v: i32 = (0..4)
                .map(|y| (y + 1) * (left_at(&e, 4 + y) - left_at(&e, 2 - y)))
                .sum();
            let (a, b, c) = (
                16 * (e.left[7] + e.top[7]),
                (34 * h + 32) >> 6,
                (34 * v + 32) >> 6,
            );
            let expected: [i32; 64] = std::array::from_fn(|i| {
                let (x, y) = ((i % 8) as i32, (i / 8) as i32);
                ((a + b * (x - 3) + c * (y - 3) + 16) >> 5).clamp(0, 255)
            });
            assert_eq!(predict_chroma(CHROMA_PLANE, &e), expected);
        }
    }

    /// The 8-bit Intra16x16 predictions equal the 32-bit ones for random
    /// and extreme edges (the plane prediction clips at both ends).
    #[test]
    fn u8_predictions_equal_i32_ones() {
        let mut state = 5u32;
        let mut next = |range: i32| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 16) as i32 % range
        };
        let avail = Availability {
            left: true,
            top: true,
            top_left: true,
            top_right: false,
        };
        for case in 0..400 {
            let pick = |n: &mut dyn FnMut(i32) -> i32, i: usize| match case % 4 {
                // The steepest planes: one half of each edge 0, the other 255.
                3 => {
                    if (i < 8) == (case % 8 == 3) {
                        0
                    } else {
                        255
                    }
                }
                0 => n(256),
                1 => {
                    if i.is_multiple_of(2) {
                        0
                    } else {
                        255
                    }
                }
                _ => (i as i32 * 17) % 256,
            };
            let e = EdgeN::<16> {
                top: std::array::from_fn(|i| pick(&mut next, i)),
                left: std::array::from_fn(|i| pick(&mut next, i + 1)),
                corner: next(256),
                avail,
            };
            for mode in 0..4 {
                let wide = predict16x16(mode, &e).map(|v| v as u8);
                assert_eq!(predict16x16_u8(mode, &e), wide, "mode {mode}");
            }
        }
    }

    fn edge(top: [i32; 8], left: [i32; 4], corner: i32) -> Edge4 {
        let mut e = [0i32; 13];
        for y in 0..4 {
            e[3 - y] = left[y];
        }
        e[4] = corner;
        e[5..13].copy_from_slice(&top);
        let all = Availability {
            left: true,
            top: true,
            top_left: true,
            top_right: true,
        };
        Edge4 { e, avail: all }
    }

    #[test]
    fn vertical_and_horizontal_copy_edges() {
        let e = edge([1, 2, 3, 4, 5, 6, 7, 8], [10, 20, 30, 40], 99);
        let v = predict4x4(I4_VERTICAL, &e);
        let h = predict4x4(I4_HORIZONTAL, &e);
        for y in 0..4 {
            for x in 0..4 {
                assert_eq!(v[y * 4 + x], x as i32 + 1);
                assert_eq!(h[y * 4 + x], (y as i32 + 1) * 10);
            }
        }
    }

    #[test]
    fn flat_edges_give_flat_prediction_in_every_mode() {
        let e = edge([77; 8], [77; 4], 77);
        for mode in 0..9 {
            assert!(predict4x4(mode, &e).iter().all(|&v| v == 77), "mode {mode}");
        }
        let e16 = EdgeN::<16> {
            top: [50; 16],
            left: [50; 16],
            corner: 50,
            avail: e.avail,
        };
        for mode in 0..4 {
            assert!(
                predict16x16(mode, &e16).iter().all(|&v| v == 50),
                "i16 mode {mode}"
            );
        }
        let e8 = EdgeN::<8> {
            top: [9; 8],
            left: [9; 8],
            corner: 9,
            avail: e.avail,
        };
        for mode in 0..4 {
            assert!(
                predict_chroma(mode, &e8).iter().all(|&v| v == 9),
                "chroma mode {mode}"
            );
        }
    }

    #[test]
    fn diagonal_down_left_uses_top_right() {
        let e = edge([0, 0, 0, 0, 100, 100, 100, 100], [0; 4], 0);
        let p = predict4x4(I4_DIAG_DOWN_LEFT, &e);
        assert_eq!(p[15], 100); // (p[6] + 3 p[7] + 2) >> 2
        assert_eq!(p[0], 0);
        assert_eq!(p[3], 75); // avg3(p3, p4, p5) = (0 + 200 + 100 + 2) >> 2
    }

    #[test]
    fn ddr_diagonal_uses_corner() {
        let e = edge([0; 8], [0; 4], 100);
        let p = predict4x4(I4_DIAG_DOWN_RIGHT, &e);
        for i in 0..4 {
            assert_eq!(p[i * 5], 50);
        }
    }

    #[test]
    fn plane_reproduces_a_ramp() {
        // A horizontal ramp continues as a ramp.
        let top: [i32; 16] = std::array::from_fn(|x| 16 + 8 * x as i32);
        let avail = Availability {
            left: true,
            top: true,
            top_left: true,
            top_right: false,
        };
        let e = EdgeN::<16> {
            top,
            left: [8; 16],
            corner: 8,
            avail,
        };
        let p = predict16x16(I16_PLANE, &e);
        assert!(p[15] > p[0]);
    }

    #[test]
    fn chroma_dc_block_rules() {
        // Only the top edge: blocks (0,1) and (1,1) still take top sums.
        let avail = Availability {
            left: false,
            top: true,
            top_left: false,
            top_right: false,
        };
        let e = EdgeN::<8> {
            top: [10, 10, 10, 10, 30, 30, 30, 30],
            left: [0; 8],
            corner: 0,
            avail,
        };
        let p = predict_chroma(CHROMA_DC, &e);
        assert_eq!(p[0], 10);
        assert_eq!(p[4], 30);
        assert_eq!(p[32], 10);
        assert_eq!(p[36], 30);
        // Both edges: block (1,0) uses top only, block (0,1) uses left only.
        let avail = Availability {
            left: true,
            top: true,
            top_left: true,
            top_right: false,
        };
        let e = EdgeN::<8> {
            top: [10; 8],
            left: [50; 8],
            corner: 0,
            avail,
        };
        let p = predict_chroma(CHROMA_DC, &e);
        assert_eq!(p[0], 30);
        assert_eq!(p[4], 10);
        assert_eq!(p[32], 50);
        assert_eq!(p[36], 30);
    }
}
