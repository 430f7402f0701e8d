//! Motion-compensated prediction (8.4.2.2): quarter-sample luma with the
//! 6-tap filter and eighth-sample chroma, from a reference picture whose
//! half-sample planes are computed once per picture.

use rayon::prelude::*;

use crate::frame::{prefetch_lines, Plane, YuvFrame};

/// Samples of margin around the reference picture in which predictions may
/// read; motion vectors are limited so a block with its filter taps stays
/// inside (see [`mv_limits`]).
pub const MARGIN: usize = 48;

/// How far (in whole samples) a predicted block may lie outside the picture.
pub const MAX_OUTSIDE: i32 = 32;

/// A luma plane with its margin, read with picture coordinates that may be negative.
#[derive(Debug, Clone)]
pub struct PaddedPlane {
    pub width: usize,
    pub height: usize,
    stride: usize,
    data: Vec<u8>,
}

impl PaddedPlane {
    fn new(width: usize, height: usize) -> PaddedPlane {
        let stride = width + 2 * MARGIN;
        PaddedPlane {
            width,
            height,
            stride,
            data: vec![0; stride * (height + 2 * MARGIN)],
        }
    }

    #[inline]
    pub fn at(&self, x: i32, y: i32) -> u8 {
        let xi = (x + MARGIN as i32) as usize;
        let yi = (y + MARGIN as i32) as usize;
        self.data[yi * self.stride + xi]
    }

    /// Samples between the starts of consecutive rows.
    #[inline]
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// The row of `len` samples starting at (x, y).
    #[inline]
    pub fn row(&self, x: i32, y: i32, len: usize) -> &[u8] {
        let i = self.index(x, y);
        &self.data[i..i + len]
    }

    /// Where sample (x, y) lies in [`PaddedPlane::samples`].
    #[inline]
    pub fn offset(&self, x: i32, y: i32) -> usize {
        self.index(x, y)
    }

    /// The samples, margin included, rows [`PaddedPlane::stride`] apart.
    #[inline]
    pub fn samples(&self) -> &[u8] {
        &self.data
    }

    /// The `w`×`h` block at (x, y) as samples from its first one on (its
    /// last row ending the slice), with the stride.
    #[inline]
    pub fn block(&self, x: i32, y: i32, w: usize, h: usize) -> (&[u8], usize) {
        let i = self.index(x, y);
        (&self.data[i..i + (h - 1) * self.stride + w], self.stride)
    }

    /// [`Plane::prefetch_rows`] for the samples at column `x` (which may
    /// lie in the margin) of rows `y0..y0 + rows` that the plane holds.
    #[inline]
    pub fn prefetch_rows(&self, x: i32, y0: i32, rows: usize) {
        let margin = MARGIN as i32;
        let x = x.clamp(-margin, self.width as i32 + margin - 1);
        let end = y0
            .saturating_add(rows as i32)
            .min(self.height as i32 + margin);
        let first = y0.max(-margin);
        if first < end {
            let rows = (end - first) as usize;
            prefetch_lines(&self.data, self.index(x, first), self.stride, rows);
        }
    }

    #[inline]
    fn index(&self, x: i32, y: i32) -> usize {
        let xi = (x + MARGIN as i32) as usize;
        let yi = (y + MARGIN as i32) as usize;
        yi * self.stride + xi
    }
}

/// Extra samples beyond [`MARGIN`] that the 6-tap filter reads.
const TAPS: usize = 3;

/// The luma plane extended by replication to `MARGIN + TAPS` on every side,
/// so the filters read it without clamping coordinates: a replicated sample
/// equals the clamped read of 8.4.2.2.1.
struct WidePlane {
    stride: usize,
    data: Vec<u8>,
}

impl WidePlane {
    fn new(p: &Plane) -> WidePlane {
        let pad = MARGIN + TAPS;
        let stride = p.width + 2 * pad;
        let rows = p.height + 2 * pad;
        let mut data = vec![0; stride * rows];
        data.par_chunks_mut(stride)
            .enumerate()
            .for_each(|(r, row)| replicate_row(p, r as isize - pad as isize, pad, row));
        WidePlane { stride, data }
    }

    #[inline]
    fn row(&self, r: usize) -> &[u8] {
        &self.data[r * self.stride..(r + 1) * self.stride]
    }

    /// Output row `r` (picture row r − MARGIN) of the full-sample plane and
    /// of the b, h and j half-sample planes (8.4.2.2.1). `v1` (a wide row
    /// long) receives the row's vertical intermediates h1.
    ///
    /// Written as plain loops over equally long slices, which the compiler
    /// turns into vector code: b1 and h1 of 8-bit samples lie in
    /// −2550..=10710 and are worked out in 16 bits, j1 (a 6-tap filter of
    /// h1 values) in 32.
    fn filter_row(&self, r: usize, v1: &mut [i16], out: [&mut [u8]; 4]) {
        let [g, b, h, j] = out;
        let wide = self.stride;
        let wr = r + TAPS; // the same row in the wide plane
        let [r0, r1, r2, r3, r4, r5]: [&[u8]; 6] =
            std::array::from_fn(|k| &self.row(wr + k - 2)[..wide]);
        let v1 = &mut v1[..wide];
        for x in 0..wide {
            v1[x] = tap6_16(r0[x], r1[x], r2[x], r3[x], r4[x], r5[x]);
        }
        // Output column x is wide column x + TAPS; its taps are the wide
        // columns x + 1 ..= x + 6.
        let n = g.len();
        let [c0, c1, c2, c3, c4, c5]: [&[u8]; 6] = std::array::from_fn(|k| &r2[k + 1..k + 1 + n]);
        g.copy_from_slice(c2);
        let b = &mut b[..n];
        for x in 0..n {
            let b1 = tap6_16(c0[x], c1[x], c2[x], c3[x], c4[x], c5[x]);
            b[x] = clip1_16((b1 + 16) >> 5);
        }
        for (h, &v) in h.iter_mut().zip(&v1[TAPS..TAPS + n]) {
            *h = clip1_16((v + 16) >> 5);
        }
        let [t0, t1, t2, t3, t4, t5]: [&[i16]; 6] = std::array::from_fn(|k| &v1[k + 1..k + 1 + n]);
        let j = &mut j[..n];
        for x in 0..n {
            let j1 = tap6(
                i32::from(t0[x]),
                i32::from(t1[x]),
                i32::from(t2[x]),
                i32::from(t3[x]),
                i32::from(t4[x]),
                i32::from(t5[x]),
            );
            j[x] = clip1((j1 + 512) >> 10);
        }
    }
}

/// Row `y` of a plane (clamped to its rows) with `pad` samples replicated on
/// each side, into `out`: what clamped reads (8.4.2.2.1) give there.
fn replicate_row(p: &Plane, y: isize, pad: usize, out: &mut [u8]) {
    let src = p.row(y.clamp(0, p.height as isize - 1) as usize);
    let (left, rest) = out.split_at_mut(pad);
    let (middle, right) = rest.split_at_mut(p.width);
    left.fill(src[0]);
    middle.copy_from_slice(src);
    right.fill(src[p.width - 1]);
}

/// A decoded picture prepared for motion compensation: the full-sample
/// luma and its three half-sample planes (b, h and j of 8.4.2.2.1), plus chroma.
#[derive(Debug, Clone)]
pub struct RefPicture {
    /// G: integer positions.
    pub full: PaddedPlane,
    /// b: half-sample positions between (x, y) and (x + 1, y).
    pub half_h: PaddedPlane,
    /// h: half-sample positions between (x, y) and (x, y + 1).
    pub half_v: PaddedPlane,
    /// j: the centre half-sample position.
    pub half_c: PaddedPlane,
    pub cb: Plane,
    pub cr: Plane,
    /// Whether the half-sample planes were computed ([`RefPicture::new`]);
    /// without them fractional vectors are interpolated sample by sample.
    has_half: bool,
}

#[inline]
fn clip1(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

/// The 6-tap filter (1, −5, 20, 20, −5, 1) of 8.4.2.2.1, unrounded.
#[inline(always)]
fn tap6(a: i32, b: i32, c: i32, d: i32, e: i32, f: i32) -> i32 {
    a - 5 * b + 20 * c + 20 * d - 5 * e + f
}

/// [`tap6`] of 8-bit samples in 16 bits (the result lies in −2550..=10710).
#[inline(always)]
fn tap6_16(a: u8, b: u8, c: u8, d: u8, e: u8, f: u8) -> i16 {
    let [a, b, c, d, e, f] = [a, b, c, d, e, f].map(i16::from);
    a - 5 * b + 20 * c + 20 * d - 5 * e + f
}

/// [`clip1`] of a 16-bit value.
#[inline(always)]
fn clip1_16(v: i16) -> u8 {
    v.clamp(0, 255) as u8
}

impl RefPicture {
    /// Prepares a reconstructed picture (whole macroblocks) as a reference.
    pub fn new(pic: &YuvFrame) -> RefPicture {
        let (w, h) = (pic.y.width, pic.y.height);
        let mut refp = RefPicture {
            full: PaddedPlane::new(w, h),
            half_h: PaddedPlane::new(w, h),
            half_v: PaddedPlane::new(w, h),
            half_c: PaddedPlane::new(w, h),
            cb: pic.u.clone(),
            cr: pic.v.clone(),
            has_half: true,
        };
        refp.fill_half_planes(&pic.y);
        refp
    }

    /// Writes every sample of the full-sample plane and of the three
    /// half-sample planes (their margins included) from `luma`, whose size
    /// they have.
    fn fill_half_planes(&mut self, luma: &Plane) {
        let wide = WidePlane::new(luma);
        let stride = self.full.stride;
        let rows = self
            .full
            .data
            .par_chunks_mut(stride)
            .zip(self.half_h.data.par_chunks_mut(stride))
            .zip(self.half_v.data.par_chunks_mut(stride))
            .zip(self.half_c.data.par_chunks_mut(stride));
        rows.enumerate().for_each_init(
            || vec![0i16; wide.stride],
            |v1, (r, (((g, b), h), j))| wide.filter_row(r, v1, [g, b, h, j]),
        );
    }

    /// Whether [`RefPicture::refill_with_half`] reuses this reference's
    /// buffers for `pic`: a reference with half-sample planes of its size.
    pub fn refillable_with_half(&self, pic: &YuvFrame) -> bool {
        self.has_half && self.same_size(pic)
    }

    fn same_size(&self, pic: &YuvFrame) -> bool {
        (self.full.width, self.full.height) == (pic.y.width, pic.y.height)
            && self.same_chroma_size(pic)
    }

    fn same_chroma_size(&self, pic: &YuvFrame) -> bool {
        (self.cb.width, self.cb.height) == (pic.u.width, pic.u.height)
            && (self.cr.width, self.cr.height) == (pic.v.width, pic.v.height)
    }

    /// Takes `pic`'s chroma planes, leaving it this reference's (of the
    /// same size, their samples stale).
    fn swap_chroma(&mut self, pic: &mut YuvFrame) {
        std::mem::swap(&mut self.cb, &mut pic.u);
        std::mem::swap(&mut self.cr, &mut pic.v);
    }

    /// [`RefPicture::new`] of `pic` in this reference's buffers where it is
    /// [`RefPicture::refillable_with_half`]; with `take_chroma` (the caller
    /// only writes `pic` again) its chroma planes are taken, leaving this
    /// reference's old ones (of the same size, their samples stale).
    pub fn refill_with_half(mut self, pic: &mut YuvFrame, take_chroma: bool) -> RefPicture {
        if !self.refillable_with_half(pic) {
            return RefPicture::new(pic);
        }
        self.fill_half_planes(&pic.y);
        if take_chroma {
            self.swap_chroma(pic);
        } else {
            self.cb.clone_from(&pic.u);
            self.cr.clone_from(&pic.v);
        }
        self
    }

    /// Asks for the reference samples of the group of
    /// [`crate::frame::MBS_PER_CACHE_LINE`] macroblocks from (mb_x, mb_y)
    /// on, moved by `mv` (quarter samples; the vector that the group's
    /// motion is expected near), ahead of their motion compensation: the
    /// luma rows with four more above and below (vectors near it), and the
    /// chroma rows. A hint only.
    pub fn prefetch_mbs(&self, (mb_x, mb_y): (usize, usize), mv: [i16; 2]) {
        let (dx, dy) = (i32::from(mv[0]) >> 2, i32::from(mv[1]) >> 2);
        // (Positions past the picture are clamped where the rows are asked for.)
        let at = |n: usize| (n.min(1 << 24) as i32) * 16;
        let (x, y) = (at(mb_x) + dx, at(mb_y) + dy);
        // (Each row's 64 samples from there on: the group's luma.)
        self.full.prefetch_rows(x, y - 4, 24);
        let (cx, cy) = (x.max(0) as usize / 2, y.max(0) as usize / 2);
        for plane in [&self.cb, &self.cr] {
            plane.prefetch_rows(cx, cy, 8);
        }
    }

    /// Whether [`RefPicture::refill_full_sample`] reuses this reference's
    /// buffers for `pic`: a full-sample reference of its size.
    pub fn refillable(&self, pic: &YuvFrame) -> bool {
        (self.full.width, self.full.height) == (pic.y.width, pic.y.height) && !self.has_half
    }

    /// [`RefPicture::new_full_sample`] of `pic` in this reference's buffers
    /// where it is [`RefPicture::refillable`].
    pub fn refill_full_sample(mut self, pic: &YuvFrame) -> RefPicture {
        if !self.refillable(pic) {
            return RefPicture::new_full_sample(pic);
        }
        fill_full_plane(&mut self.full, &pic.y);
        self.cb.clone_from(&pic.u);
        self.cr.clone_from(&pic.v);
        self
    }

    /// [`RefPicture::refill_full_sample`] that takes `pic`'s chroma planes
    /// instead of copying them, leaving it this reference's old ones (of
    /// the same size, their samples stale): for a picture whose buffers are
    /// only written again.
    pub fn refill_taking_chroma(mut self, pic: &mut YuvFrame) -> RefPicture {
        if !self.refillable(pic) || !self.same_chroma_size(pic) {
            return self.refill_full_sample(pic);
        }
        fill_full_plane(&mut self.full, &pic.y);
        self.swap_chroma(pic);
        self
    }

    /// A reference with only its full-sample plane, for searches that use
    /// whole-sample vectors (fractional ones still work, more slowly).
    pub fn new_full_sample(pic: &YuvFrame) -> RefPicture {
        let (w, h) = (pic.y.width, pic.y.height);
        let mut full = PaddedPlane::new(w, h);
        fill_full_plane(&mut full, &pic.y);
        let empty = PaddedPlane {
            width: w,
            height: h,
            stride: 0,
            data: Vec::new(),
        };
        RefPicture {
            full,
            half_h: empty.clone(),
            half_v: empty.clone(),
            half_c: empty,
            cb: pic.u.clone(),
            cr: pic.v.clone(),
            has_half: false,
        }
    }

    /// b1 of 8.4.2.2.1 (horizontal 6-tap, unrounded) from the full plane.
    fn b1(&self, x: i32, y: i32) -> i32 {
        let g = |dx: i32| i32::from(self.full.at(x + dx, y));
        tap6(g(-2), g(-1), g(0), g(1), g(2), g(3))
    }

    /// The sample at a fractional position computed from the full plane
    /// alone, by the equations of 8.4.2.2.1.
    fn luma_sample_direct(&self, x: i32, y: i32, fx: i32, fy: i32) -> u8 {
        let g = |x: i32, y: i32| i32::from(self.full.at(x, y));
        let b = |x: i32, y: i32| i32::from(clip1((self.b1(x, y) + 16) >> 5));
        let h = |x: i32, y: i32| {
            let h1 = tap6(
                g(x, y - 2),
                g(x, y - 1),
                g(x, y),
                g(x, y + 1),
                g(x, y + 2),
                g(x, y + 3),
            );
            i32::from(clip1((h1 + 16) >> 5))
        };
        let j = |x: i32, y: i32| {
            let j1 = tap6(
                self.b1(x, y - 2),
                self.b1(x, y - 1),
                self.b1(x, y),
                self.b1(x, y + 1),
                self.b1(x, y + 2),
                self.b1(x, y + 3),
            );
            i32::from(clip1((j1 + 512) >> 10))
        };
        quarter_sample(x, y, fx, fy, g, b, h, j)
    }

    /// The luma prediction sample at integer position (x, y) with quarter
    /// fractions (Table 8-12).
    #[inline]
    pub fn luma_sample(&self, x: i32, y: i32, fx: i32, fy: i32) -> u8 {
        if !self.has_half {
            return self.luma_sample_direct(x, y, fx, fy);
        }
        let g = |x, y| i32::from(self.full.at(x, y));
        let b = |x, y| i32::from(self.half_h.at(x, y));
        let h = |x, y| i32::from(self.half_v.at(x, y));
        let j = |x, y| i32::from(self.half_c.at(x, y));
        quarter_sample(x, y, fx, fy, g, b, h, j)
    }

    /// Luma prediction of a `w`×`h` block at (x0, y0) displaced by `mv`
    /// (quarter samples), raster order into `out` (8.4.2.2.1). Each
    /// fraction reads one plane or averages two (Table 8-12).
    pub fn predict_luma(&self, x0: i32, y0: i32, w: usize, h: usize, mv: [i16; 2], out: &mut [u8]) {
        let (mx, my) = (i32::from(mv[0]), i32::from(mv[1]));
        let (bx, by) = (x0 + (mx >> 2), y0 + (my >> 2));
        if !self.has_half && (mx & 3 != 0 || my & 3 != 0) {
            for r in 0..h {
                for c in 0..w {
                    out[r * w + c] =
                        self.luma_sample_direct(bx + c as i32, by + r as i32, mx & 3, my & 3);
                }
            }
            return;
        }
        let (first, second) = self.sources(mx & 3, my & 3);
        if second.is_none() {
            // A plain copy of one plane's block (whole and half-sample
            // positions): its rows one stride apart.
            let (block, stride) = first.0.block(bx + first.1, by + first.2, w, h);
            if w == 16 {
                copy_rows::<16>(&mut out[..16 * h], block, stride);
            } else {
                for r in 0..h {
                    copy_row(
                        &mut out[r * w..r * w + w],
                        &block[r * stride..r * stride + w],
                    );
                }
            }
            return;
        }
        for r in 0..h {
            let y = by + r as i32;
            let a = first.0.row(bx + first.1, y + first.2, w);
            let dst = &mut out[r * w..r * w + w];
            match second {
                None => copy_row(dst, a),
                Some((plane, dx, dy)) => {
                    let b = plane.row(bx + dx, y + dy, w);
                    for ((d, &p), &q) in dst.iter_mut().zip(a).zip(b) {
                        *d = ((u16::from(p) + u16::from(q) + 1) >> 1) as u8;
                    }
                }
            }
        }
    }

    /// The samples of the luma prediction of a `w`×`h` block at (x0, y0)
    /// displaced by `mv` where it is a plain copy of one plane (whole and
    /// half-sample positions, Table 8-12): the plane's samples from the
    /// block's first one on, and the plane's stride. `None` where the
    /// prediction averages two planes or is interpolated sample by sample.
    pub fn luma_block_in_plane(
        &self,
        (x0, y0): (i32, i32),
        (w, h): (usize, usize),
        mv: [i16; 2],
    ) -> Option<(&[u8], usize)> {
        let (mx, my) = (i32::from(mv[0]), i32::from(mv[1]));
        let (fx, fy) = (mx & 3, my & 3);
        if !self.has_half && (fx != 0 || fy != 0) {
            return None;
        }
        let ((plane, dx, dy), None) = self.sources(fx, fy) else {
            return None;
        };
        let (bx, by) = (x0 + (mx >> 2) + dx, y0 + (my >> 2) + dy);
        Some(plane.block(bx, by, w, h))
    }

    /// The plane(s) and offsets that give the sample at fraction (fx, fy):
    /// G, b, h, j and their neighbours H = G(1,0), M = G(0,1), m = h(1,0),
    /// s = b(0,1) (Table 8-12, Equations 8-250..8-261).
    #[allow(clippy::type_complexity)]
    fn sources(
        &self,
        fx: i32,
        fy: i32,
    ) -> ((&PaddedPlane, i32, i32), Option<(&PaddedPlane, i32, i32)>) {
        let g = |dx, dy| (&self.full, dx, dy);
        let b = |dx, dy| (&self.half_h, dx, dy);
        let h = |dx, dy| (&self.half_v, dx, dy);
        let j = (&self.half_c, 0, 0);
        match (fx, fy) {
            (0, 0) => (g(0, 0), None),
            (1, 0) => (g(0, 0), Some(b(0, 0))),
            (2, 0) => (b(0, 0), None),
            (3, 0) => (g(1, 0), Some(b(0, 0))),
            (0, 1) => (g(0, 0), Some(h(0, 0))),
            (0, 2) => (h(0, 0), None),
            (0, 3) => (g(0, 1), Some(h(0, 0))),
            (1, 1) => (b(0, 0), Some(h(0, 0))),
            (3, 1) => (b(0, 0), Some(h(1, 0))),
            (1, 3) => (h(0, 0), Some(b(0, 1))),
            (3, 3) => (h(1, 0), Some(b(0, 1))),
            (2, 1) => (b(0, 0), Some(j)),
            (2, 3) => (j, Some(b(0, 1))),
            (1, 2) => (h(0, 0), Some(j)),
            (3, 2) => (j, Some(h(1, 0))),
            _ => (j, None),
        }
    }

    /// [`RefPicture::predict_chroma`] of the 8×8 blocks of both chroma
    /// planes at (cx0, cy0) with one vector: a whole-sample vector whose
    /// block lies inside the planes (the common case) is a plain copy of
    /// each plane's block (8-266 with xFracC = yFracC = 0), found once for
    /// both.
    pub fn predict_chroma_8x8_pair(
        &self,
        origin: (i32, i32),
        mv: [i16; 2],
        out: &mut [[u8; 64]; 2],
    ) {
        let (mx, my) = (i32::from(mv[0]), i32::from(mv[1]));
        let (bx, by) = (origin.0 + (mx >> 3), origin.1 + (my >> 3));
        let whole = mx & 7 == 0 && my & 7 == 0;
        let same = (self.cb.width, self.cb.height) == (self.cr.width, self.cr.height);
        let (pw, ph) = (self.cb.width as i32, self.cb.height as i32);
        if whole && same && bx >= 0 && by >= 0 && bx + 8 <= pw && by + 8 <= ph {
            let (stride, at) = (self.cb.width, by as usize * self.cb.width + bx as usize);
            for (plane, block) in [&self.cb, &self.cr].into_iter().zip(out.iter_mut()) {
                copy_rows::<8>(block, plane.data.get(at..).unwrap_or(&[]), stride);
            }
            return;
        }
        for (c, block) in out.iter_mut().enumerate() {
            self.predict_chroma(c, origin, (8, 8), mv, block);
        }
    }

    /// Chroma prediction of a `w`×`h` chroma block (`size`) at chroma
    /// position (cx0, cy0) (`origin`) for the luma vector `mv` (8.4.2.2.2,
    /// 4:2:0: eighth samples).
    pub fn predict_chroma(
        &self,
        plane: usize,
        origin: (i32, i32),
        size: (usize, usize),
        mv: [i16; 2],
        out: &mut [u8],
    ) {
        let ((cx0, cy0), (w, h)) = (origin, size);
        let p = if plane == 0 { &self.cb } else { &self.cr };
        let (mx, my) = (i32::from(mv[0]), i32::from(mv[1]));
        let (fx, fy) = (mx & 7, my & 7);
        let (bx, by) = (cx0 + (mx >> 3), cy0 + (my >> 3));
        let (pw, ph) = (p.width as i32, p.height as i32);
        let inside = bx >= 0 && by >= 0 && bx + (w as i32) < pw && by + (h as i32) < ph;
        if inside {
            chroma_block_inside(
                (&p.data, p.width),
                (bx as usize, by as usize),
                (w, h),
                (fx, fy),
                out,
            );
            return;
        }
        if pw == 0 || ph == 0 {
            return; // no samples to predict from
        }
        // The (w + 1)×(h + 1) samples the block reads, each position clamped
        // into the plane (8.4.2.2.2), then filtered as a block inside.
        let (nw, nh) = (w + 1, h + 1);
        let mut small = [0u8; 81];
        let mut large = Vec::new();
        let near: &mut [u8] = if nw * nh <= small.len() {
            &mut small[..nw * nh]
        } else {
            large.resize(nw * nh, 0);
            &mut large
        };
        for (r, row) in near.chunks_exact_mut(nw).enumerate() {
            let from = p.row((by + r as i32).clamp(0, ph - 1) as usize);
            for (c, v) in row.iter_mut().enumerate() {
                *v = from[(bx + c as i32).clamp(0, pw - 1) as usize];
            }
        }
        chroma_block_inside((near, nw), (0, 0), (w, h), (fx, fy), out);
    }
}

/// Fills a padded plane with a picture plane and its replicated margins
/// (every sample of the padded plane is written).
fn fill_full_plane(full: &mut PaddedPlane, pic: &Plane) {
    let stride = full.stride;
    full.data
        .par_chunks_mut(stride)
        .enumerate()
        .for_each(|(r, g)| replicate_row(pic, r as isize - MARGIN as isize, MARGIN, g));
}

/// Copies rows of `W` samples, `stride` apart in `src`, to `dst` (packed);
/// rows that `src` does not hold in full are left as they were.
#[inline(always)]
fn copy_rows<const W: usize>(dst: &mut [u8], src: &[u8], stride: usize) {
    let rows = dst.len() / W;
    if rows > 0 && src.len() >= (rows - 1) * stride + W {
        for r in 0..rows {
            // SAFETY: row r reads src[r·stride..r·stride + W] and writes
            // dst[r·W..r·W + W], both inside their slices (checked above),
            // which cannot overlap (one is borrowed mutably).
            unsafe {
                std::ptr::copy_nonoverlapping(
                    src.as_ptr().add(r * stride),
                    dst.as_mut_ptr().add(r * W),
                    W,
                );
            }
        }
        return;
    }
    let mut rest = src;
    for row in dst.chunks_exact_mut(W) {
        let Some(from) = rest.first_chunk::<W>() else {
            return;
        };
        row.copy_from_slice(from);
        rest = rest.get(stride..).unwrap_or(&[]);
    }
}

/// Copies a row of samples; the common block widths as fixed-size copies
/// (inline moves rather than a call).
#[inline]
fn copy_row(dst: &mut [u8], src: &[u8]) {
    match dst.len() {
        16 => dst[..16].copy_from_slice(&src[..16]),
        8 => dst[..8].copy_from_slice(&src[..8]),
        4 => dst[..4].copy_from_slice(&src[..4]),
        _ => dst.copy_from_slice(src),
    }
}

/// Equation 8-266 for a chroma block whose samples, and the row and column
/// after them, lie inside the plane (no clamping of positions, 8.4.2.2.2):
/// the weighted mean of each sample and its right, lower and lower-right
/// neighbours with eighth-sample fractions (fx, fy).
fn chroma_block_inside(
    (data, stride): (&[u8], usize),
    (bx, by): (usize, usize),
    (w, h): (usize, usize),
    (fx, fy): (i32, i32),
    out: &mut [u8],
) {
    let weights = [(8 - fx) * (8 - fy), fx * (8 - fy), (8 - fx) * fy, fx * fy].map(|v| v as u16);
    #[cfg(target_arch = "x86_64")]
    if (w, h) == (8, 8) && out.len() >= 64 && (by + 8) * stride + bx + 9 <= data.len() {
        let src = data[by * stride + bx..].as_ptr();
        // SAFETY: the 9 rows of 9 samples the block reads lie inside the
        // plane (checked above) and `out` holds 64 samples.
        unsafe {
            match (fx, fy) {
                (0, 0) => x86::chroma_block8_copy(src, stride, out),
                // Half-way between two samples (a full-sample luma vector,
                // every one of the fastest presets): 8-266 with weights 32
                // and 32 is (32a + 32b + 32) >> 6 = (a + b + 1) >> 1.
                (4, 0) => x86::chroma_block8_average(src, 1, stride, out),
                (0, 4) => x86::chroma_block8_average(src, stride, stride, out),
                _ => x86::chroma_block8(src, stride, weights, out),
            }
        }
        return;
    }
    for (r, dst) in out.chunks_exact_mut(w).take(h).enumerate() {
        let top = &data[(by + r) * stride + bx..][..w + 1];
        let below = &data[(by + r + 1) * stride + bx..][..w + 1];
        if fx == 0 && fy == 0 {
            copy_row(dst, &top[..w]);
        } else {
            chroma_row(dst, top, below, weights);
        }
    }
}

/// One row of the bilinear chroma prediction (8-266): `dst.len()` samples
/// from rows `top` and `below`, each one sample longer.
fn chroma_row(dst: &mut [u8], top: &[u8], below: &[u8], weights: [u16; 4]) {
    #[cfg(target_arch = "x86_64")]
    if dst.len() == 8 && top.len() >= 9 && below.len() >= 9 {
        // SAFETY: both rows hold at least 9 samples, `dst` 8.
        unsafe { x86::chroma_row8(dst, top, below, weights) };
        return;
    }
    chroma_row_portable(dst, top, below, weights);
}

fn chroma_row_portable(dst: &mut [u8], top: &[u8], below: &[u8], weights: [u16; 4]) {
    for (c, d) in dst.iter_mut().enumerate() {
        let v = weights[0] * u16::from(top[c])
            + weights[1] * u16::from(top[c + 1])
            + weights[2] * u16::from(below[c])
            + weights[3] * u16::from(below[c + 1]);
        *d = ((v + 32) >> 6) as u8;
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! SSE2 (part of x86-64, so always available).
    use std::arch::x86_64::*;

    /// [`super::chroma_row_portable`] for 8 samples, in 16-bit lanes (every
    /// sum is at most 64·255). Caller: `top` and `below` hold 9 samples,
    /// `dst` 8.
    pub(super) unsafe fn chroma_row8(dst: &mut [u8], top: &[u8], below: &[u8], w: [u16; 4]) {
        let zero = _mm_setzero_si128();
        let load = |row: &[u8], at: usize| {
            _mm_unpacklo_epi8(
                _mm_loadl_epi64(row.as_ptr().add(at) as *const __m128i),
                zero,
            )
        };
        let weight = |v: u16| _mm_set1_epi16(v as i16);
        let mut v = _mm_mullo_epi16(load(top, 0), weight(w[0]));
        v = _mm_add_epi16(v, _mm_mullo_epi16(load(top, 1), weight(w[1])));
        v = _mm_add_epi16(v, _mm_mullo_epi16(load(below, 0), weight(w[2])));
        v = _mm_add_epi16(v, _mm_mullo_epi16(load(below, 1), weight(w[3])));
        v = _mm_srli_epi16::<6>(_mm_add_epi16(v, _mm_set1_epi16(32)));
        _mm_storel_epi64(dst.as_mut_ptr() as *mut __m128i, _mm_packus_epi16(v, zero));
    }

    /// The 8×8 block at `src` (rows `stride` apart): the bilinear
    /// prediction (8-266) at a sample, weight 64. Caller: the block readable,
    /// `out` 64 samples.
    pub(super) unsafe fn chroma_block8_copy(src: *const u8, stride: usize, out: &mut [u8]) {
        for r in 0..8 {
            let row = _mm_loadl_epi64(src.add(r * stride) as *const __m128i);
            _mm_storel_epi64(out.as_mut_ptr().add(8 * r) as *mut __m128i, row);
        }
    }

    /// The 8×8 block whose samples are the rounded averages of the samples
    /// at `src` and at `src + apart` (rows `stride` apart): the bilinear
    /// prediction (8-266) half-way between two samples. Caller: both blocks
    /// readable as 8 rows of 8 samples, `out` 64 samples.
    pub(super) unsafe fn chroma_block8_average(
        src: *const u8,
        apart: usize,
        stride: usize,
        out: &mut [u8],
    ) {
        let two_rows = |at: *const u8| {
            _mm_unpacklo_epi64(
                _mm_loadl_epi64(at as *const __m128i),
                _mm_loadl_epi64(at.add(stride) as *const __m128i),
            )
        };
        for r in (0..8).step_by(2) {
            let at = src.add(r * stride);
            let avg = _mm_avg_epu8(two_rows(at), two_rows(at.add(apart)));
            _mm_storeu_si128(out.as_mut_ptr().add(8 * r) as *mut __m128i, avg);
        }
    }

    /// [`super::chroma_row_portable`] for the 8 rows of an 8×8 block, each
    /// row's widened samples reused as the next row's top. Caller: `src`
    /// readable as 9 rows of 9 samples `stride` apart, `out` 64 samples.
    pub(super) unsafe fn chroma_block8(src: *const u8, stride: usize, w: [u16; 4], out: &mut [u8]) {
        let zero = _mm_setzero_si128();
        let widen = |r: usize, at: usize| {
            _mm_unpacklo_epi8(
                _mm_loadl_epi64(src.add(r * stride + at) as *const __m128i),
                zero,
            )
        };
        let weight = |v: u16| _mm_set1_epi16(v as i16);
        let (w0, w1, w2, w3) = (weight(w[0]), weight(w[1]), weight(w[2]), weight(w[3]));
        let round = _mm_set1_epi16(32);
        let (mut a, mut b) = (widen(0, 0), widen(0, 1));
        for r in 0..8 {
            let (c, d) = (widen(r + 1, 0), widen(r + 1, 1));
            let mut v = _mm_add_epi16(_mm_mullo_epi16(a, w0), _mm_mullo_epi16(b, w1));
            v = _mm_add_epi16(v, _mm_mullo_epi16(c, w2));
            v = _mm_add_epi16(v, _mm_mullo_epi16(d, w3));
            v = _mm_srli_epi16::<6>(_mm_add_epi16(v, round));
            _mm_storel_epi64(
                out.as_mut_ptr().add(8 * r) as *mut __m128i,
                _mm_packus_epi16(v, zero),
            );
            (a, b) = (c, d);
        }
    }
}

/// The luma sample at integer position (x, y) plus quarter fractions
/// (fx, fy), from accessors of the full-sample G and half-sample b, h and j
/// values at any integer position: Table 8-12 with Equations 8-250..8-261
/// (H = G(x+1, y), M = G(x, y+1), m = h(x+1, y), s = b(x, y+1)).
#[allow(clippy::too_many_arguments)]
#[inline]
fn quarter_sample(
    x: i32,
    y: i32,
    fx: i32,
    fy: i32,
    g: impl Fn(i32, i32) -> i32,
    b: impl Fn(i32, i32) -> i32,
    h: impl Fn(i32, i32) -> i32,
    j: impl Fn(i32, i32) -> i32,
) -> u8 {
    let avg = |p: i32, q: i32| ((p + q + 1) >> 1) as u8;
    match (fx, fy) {
        (0, 0) => g(x, y) as u8,
        (1, 0) => avg(g(x, y), b(x, y)),
        (2, 0) => b(x, y) as u8,
        (3, 0) => avg(g(x + 1, y), b(x, y)),
        (0, 1) => avg(g(x, y), h(x, y)),
        (0, 2) => h(x, y) as u8,
        (0, 3) => avg(g(x, y + 1), h(x, y)),
        (1, 1) => avg(b(x, y), h(x, y)),
        (3, 1) => avg(b(x, y), h(x + 1, y)),
        (1, 3) => avg(h(x, y), b(x, y + 1)),
        (3, 3) => avg(h(x + 1, y), b(x, y + 1)),
        (2, 1) => avg(b(x, y), j(x, y)),
        (2, 3) => avg(j(x, y), b(x, y + 1)),
        (1, 2) => avg(h(x, y), j(x, y)),
        (3, 2) => avg(j(x, y), h(x + 1, y)),
        _ => j(x, y) as u8,
    }
}

/// The allowed range of a quarter-sample motion vector component for a
/// block at `pos` of size `size` in a picture dimension `dim`, so that the
/// block lies at most [`MAX_OUTSIDE`] samples outside the picture.
pub fn mv_limits(pos: i32, size: i32, dim: i32) -> (i32, i32) {
    let lo = (-pos - MAX_OUTSIDE) * 4;
    let hi = (dim - pos - size + MAX_OUTSIDE) * 4;
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whole-row copies equal row-by-row copies, and rows the source does
    /// not hold in full are left as they were.
    #[test]
    fn copy_rows_copies_whole_rows_only() {
        let src: Vec<u8> = (0..40 * 16).map(|i| (i * 7 % 251) as u8).collect();
        for stride in [16, 24, 40] {
            for len in [15 * stride + 16, 15 * stride + 15, 3 * stride + 16, 10] {
                let mut dst = [0xa5u8; 256];
                copy_rows::<16>(&mut dst, &src[..len.min(src.len())], stride);
                for r in 0..16 {
                    let have = r * stride + 16 <= len;
                    let want: Vec<u8> = if have {
                        src[r * stride..r * stride + 16].to_vec()
                    } else {
                        vec![0xa5; 16]
                    };
                    assert_eq!(
                        dst[r * 16..r * 16 + 16],
                        want[..],
                        "stride {stride} len {len} row {r}"
                    );
                }
            }
        }
    }

    /// A small deterministic generator (LCG): the next byte.
    fn next_byte(state: &mut u32) -> u8 {
        *state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (*state >> 24) as u8
    }

    #[test]
    fn prefetching_any_macroblock_leaves_the_reference_as_it_was() {
        // Corners, the last whole macroblock and positions past every edge.
        let mut pic = YuvFrame::new(48, 32);
        pic.y
            .data
            .iter_mut()
            .enumerate()
            .for_each(|(i, v)| *v = i as u8);
        let refp = RefPicture::new_full_sample(&pic);
        let before = (refp.full.data.clone(), refp.cb.clone(), refp.cr.clone());
        let vectors = [
            [0, 0],
            [-70, 33],
            [i16::MIN, i16::MAX],
            [i16::MAX, i16::MIN],
        ];
        for (x, y) in [(0, 0), (2, 1), (3, 0), (0, 2), (9, 9), (usize::MAX / 64, 1)] {
            for mv in vectors {
                refp.prefetch_mbs((x, y), mv);
            }
            pic.y.prefetch_rows(x.saturating_mul(16), y * 16, 16);
        }
        pic.y.prefetch_rows(usize::MAX, usize::MAX - 1, 16);
        for (x, y) in [(-100, -100), (-48, -52), (47 + 48, 31 + 48), (1000, 1000)] {
            refp.full.prefetch_rows(x, y, 24);
        }
        assert_eq!((refp.full.data, refp.cb, refp.cr), before);
    }

    #[test]
    fn chroma_blocks_match_portable_rows() {
        let mut state = 11u32;
        let mut next = || next_byte(&mut state);
        let plane = Plane {
            width: 24,
            height: 20,
            data: (0..24 * 20)
                .map(|i| if i % 7 == 0 { 255 } else { next() })
                .collect(),
        };
        for case in 0..64 {
            let (fx, fy) = (case % 8, case / 8);
            // The block's last read row and column at the plane's edge too.
            for (bx, by) in [(0, 0), (3, 5), (15, 11)] {
                let mut got = [0u8; 64];
                chroma_block_inside((&plane.data, 24), (bx, by), (8, 8), (fx, fy), &mut got);
                let w = [(8 - fx) * (8 - fy), fx * (8 - fy), (8 - fx) * fy, fx * fy];
                let mut want = [0u8; 64];
                for (r, dst) in want.chunks_exact_mut(8).enumerate() {
                    let row = |y: usize| &plane.data[y * 24 + bx..][..9];
                    chroma_row_portable(dst, row(by + r), row(by + r + 1), w.map(|v| v as u16));
                }
                assert_eq!(got, want, "({fx}, {fy}) at ({bx}, {by})");
            }
        }
    }

    /// Both planes' 8×8 blocks at once equal each plane's block alone,
    /// inside, at every edge (the copy's last column on the plane's last
    /// one) and beyond, at whole and fractional vectors.
    #[test]
    fn chroma_pairs_equal_single_blocks() {
        let pic = picture(32, 24);
        let r = RefPicture::new_full_sample(&pic);
        for (cx, cy) in [(0, 0), (4, 2), (8, 4)] {
            for dx in -12..12 {
                for dy in [-9, -1, 0, 3, 4, 5, 9] {
                    for frac in [(0, 0), (4, 0), (0, 4), (3, 5)] {
                        let mv = [(dx * 8 + frac.0) as i16, (dy * 8 + frac.1) as i16];
                        let mut pair = [[0u8; 64]; 2];
                        r.predict_chroma_8x8_pair((cx, cy), mv, &mut pair);
                        for (c, got) in pair.iter().enumerate() {
                            let mut want = [0u8; 64];
                            r.predict_chroma(c, (cx, cy), (8, 8), mv, &mut want);
                            assert_eq!(got, &want, "plane {c} at ({cx}, {cy}) mv {mv:?}");
                        }
                    }
                }
            }
        }
    }

    /// A reference refilled by taking the picture's chroma planes equals
    /// one refilled by copying them (planes and predictions), and leaves the
    /// picture the old reference's chroma buffers.
    #[test]
    fn taking_chroma_equals_copying_it() {
        let old_pic = picture(32, 24);
        let mut pic = picture(32, 24);
        pic.y.data.reverse();
        pic.u.data.iter_mut().for_each(|v| *v = v.wrapping_add(17));
        pic.v.data.reverse();
        let copied = RefPicture::new_full_sample(&old_pic).refill_full_sample(&pic);
        let mut taken_from = pic.clone();
        let taken = RefPicture::new_full_sample(&old_pic).refill_taking_chroma(&mut taken_from);
        assert_eq!(taken.full.data, copied.full.data);
        assert_eq!((&taken.cb, &taken.cr), (&copied.cb, &copied.cr));
        assert_eq!((&taken_from.u, &taken_from.v), (&old_pic.u, &old_pic.v));
        assert_eq!(taken_from.y, pic.y);
        let mut got = [[0u8; 64]; 2];
        let mut want = [[0u8; 64]; 2];
        for mv in [[0i16, 0], [13, -7], [-40, 22]] {
            taken.predict_chroma_8x8_pair((4, 2), mv, &mut got);
            copied.predict_chroma_8x8_pair((4, 2), mv, &mut want);
            assert_eq!(got, want, "mv {mv:?}");
        }
        // Other sizes: copied, as refill_full_sample does.
        let mut small = picture(16, 16);
        let r = RefPicture::new_full_sample(&old_pic).refill_taking_chroma(&mut small);
        assert_eq!((r.full.width, r.full.height), (16, 16));
        assert_eq!(small, picture(16, 16));
    }

    #[test]
    fn chroma_blocks_anywhere_match_the_clamped_formula() {
        // Chroma 16×12: blocks of every partition's chroma size inside,
        // across every edge and far out, at every eighth-sample fraction
        // (8-266 with clamped positions, 8.4.2.2.2).
        let pic = picture(32, 24);
        let r = RefPicture::new_full_sample(&pic);
        for (bw, bh) in [(8, 8), (8, 4), (4, 8), (4, 4)] {
            check_chroma_blocks(&pic, &r, (bw, bh));
        }
    }

    fn check_chroma_blocks(pic: &YuvFrame, r: &RefPicture, (bw, bh): (usize, usize)) {
        let mut got = vec![0u8; bw * bh];
        for (cx, cy) in [(0, 0), (4, 2), (8, 4)] {
            for (dx, dy) in [
                (0, 0),
                (-3, 0),
                (0, -5),
                (5, 3),
                (-20, 30),
                (40, -9),
                (7, 7),
            ] {
                for frac in 0..64 {
                    let mv = [(dx * 8 + frac % 8) as i16, (dy * 8 + frac / 8) as i16];
                    for (c, plane) in [&pic.u, &pic.v].into_iter().enumerate() {
                        r.predict_chroma(c, (cx, cy), (bw, bh), mv, &mut got);
                        let at = |x: i32, y: i32| {
                            let x = x.clamp(0, plane.width as i32 - 1) as usize;
                            let y = y.clamp(0, plane.height as i32 - 1) as usize;
                            i32::from(plane.at(x, y))
                        };
                        let (fx, fy) = (frac % 8, frac / 8);
                        for (i, &g) in got.iter().enumerate() {
                            let (x, y) = (cx + dx + (i % bw) as i32, cy + dy + (i / bw) as i32);
                            let v = (8 - fx) * (8 - fy) * at(x, y)
                                + fx * (8 - fy) * at(x + 1, y)
                                + (8 - fx) * fy * at(x, y + 1)
                                + fx * fy * at(x + 1, y + 1);
                            assert_eq!(
                                i32::from(g),
                                (v + 32) >> 6,
                                "{bw}x{bh} mv {mv:?} at ({cx},{cy}) plane {c} i {i}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn chroma_rows_match_portable() {
        let mut state = 5u32;
        let mut next = || next_byte(&mut state);
        for case in 0..500 {
            let (top, below): (Vec<u8>, Vec<u8>) = if case == 0 {
                (vec![255; 9], vec![255; 9])
            } else {
                (
                    (0..9).map(|_| next()).collect(),
                    (0..9).map(|_| next()).collect(),
                )
            };
            let (fx, fy) = (case % 8, (case / 8) % 8);
            let w = [(8 - fx) * (8 - fy), fx * (8 - fy), (8 - fx) * fy, fx * fy].map(|v| v as u16);
            let (mut got, mut want) = ([0u8; 8], [0u8; 8]);
            chroma_row(&mut got, &top, &below, w);
            chroma_row_portable(&mut want, &top, &below, w);
            assert_eq!(got, want, "case {case}");
        }
    }

    fn picture(w: usize, h: usize) -> YuvFrame {
        let mut f = YuvFrame::new(w, h);
        let mut s = 99u32;
        for v in
            f.y.data
                .iter_mut()
                .chain(f.u.data.iter_mut())
                .chain(f.v.data.iter_mut())
        {
            s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
            *v = (s >> 23) as u8;
        }
        f
    }

    /// Reference luma sample computed directly from the clauses with clipped
    /// coordinates (8.4.2.2.1), to check the plane-based version.
    fn direct(pic: &Plane, x: i32, y: i32, fx: i32, fy: i32) -> u8 {
        let g = |x: i32, y: i32| {
            i32::from(pic.at(
                x.clamp(0, pic.width as i32 - 1) as usize,
                y.clamp(0, pic.height as i32 - 1) as usize,
            ))
        };
        let b1 = |x: i32, y: i32| {
            tap6(
                g(x - 2, y),
                g(x - 1, y),
                g(x, y),
                g(x + 1, y),
                g(x + 2, y),
                g(x + 3, y),
            )
        };
        let h1 = |x: i32, y: i32| {
            tap6(
                g(x, y - 2),
                g(x, y - 1),
                g(x, y),
                g(x, y + 1),
                g(x, y + 2),
                g(x, y + 3),
            )
        };
        let b = |x, y| i32::from(clip1((b1(x, y) + 16) >> 5));
        let h = |x, y| i32::from(clip1((h1(x, y) + 16) >> 5));
        let j = |x: i32, y: i32| {
            let j1 = tap6(
                b1(x, y - 2),
                b1(x, y - 1),
                b1(x, y),
                b1(x, y + 1),
                b1(x, y + 2),
                b1(x, y + 3),
            );
            i32::from(clip1((j1 + 512) >> 10))
        };
        quarter_sample(x, y, fx, fy, g, b, h, j)
    }

    #[test]
    fn planes_match_the_direct_formulas_inside_and_outside() {
        let pic = picture(32, 16);
        let r = RefPicture::new(&pic);
        for y in [-40, -3, 0, 1, 7, 15, 16, 20, 50] {
            for x in [-40, -2, 0, 3, 17, 31, 33, 70] {
                for fy in 0..4 {
                    for fx in 0..4 {
                        assert_eq!(
                            r.luma_sample(x, y, fx, fy),
                            direct(&pic.y, x, y, fx, fy),
                            "({x},{y}) frac ({fx},{fy})"
                        );
                    }
                }
            }
        }
    }

    /// Every half-sample position of the margins and the picture matches
    /// the direct formulas on content that drives the filters to their
    /// extremes (0 beside 255, where b1, h1 and j1 are largest and
    /// smallest and the clipping matters), and a reference refilled in
    /// place equals one made anew.
    #[test]
    fn half_sample_planes_hold_at_the_extremes_and_refill_in_place() {
        let (w, h) = (48, 32);
        let mut pic = picture(w, h);
        for (i, v) in pic.y.data.iter_mut().enumerate() {
            let (x, y) = (i % w, i / w);
            *v = match (x / 2 + y / 3) % 4 {
                0 | 1 => 255,
                2 => 0,
                _ => *v,
            };
        }
        let r = RefPicture::new(&pic);
        let m = MARGIN as i32;
        for y in (-m..h as i32 + m).step_by(3) {
            for x in -m..w as i32 + m {
                for (fx, fy) in [(2, 0), (0, 2), (2, 2)] {
                    assert_eq!(
                        r.luma_sample(x, y, fx, fy),
                        direct(&pic.y, x, y, fx, fy),
                        "({x},{y}) frac ({fx},{fy})"
                    );
                }
            }
        }
        let mut next = picture(w, h);
        next.y.data.iter_mut().for_each(|v| *v = 255 - *v);
        let fresh = RefPicture::new(&next);
        for take_chroma in [false, true] {
            let refilled = r.clone().refill_with_half(&mut next.clone(), take_chroma);
            for (a, b) in [
                (&refilled.full, &fresh.full),
                (&refilled.half_h, &fresh.half_h),
                (&refilled.half_v, &fresh.half_v),
                (&refilled.half_c, &fresh.half_c),
            ] {
                assert_eq!(a.samples(), b.samples());
            }
            assert_eq!((&refilled.cb, &refilled.cr), (&fresh.cb, &fresh.cr));
        }
    }

    #[test]
    fn block_prediction_matches_sample_prediction() {
        let pic = picture(48, 32);
        let r = RefPicture::new(&pic);
        let mut out = [0u8; 64];
        for mv in [[0i16, 0], [5, 7], [-9, 3], [2, -6], [-130, -131], [131, 77]] {
            r.predict_luma(16, 8, 8, 8, mv, &mut out);
            for (i, &got) in out.iter().enumerate() {
                let (x, y) = (
                    16 + (i % 8) as i32 + (i32::from(mv[0]) >> 2),
                    8 + (i / 8) as i32 + (i32::from(mv[1]) >> 2),
                );
                assert_eq!(
                    got,
                    direct(&pic.y, x, y, i32::from(mv[0]) & 3, i32::from(mv[1]) & 3),
                    "mv {mv:?} i {i}"
                );
            }
        }
    }

    #[test]
    fn full_sample_reference_predicts_the_same() {
        let pic = picture(48, 32);
        let (a, b) = (RefPicture::new(&pic), RefPicture::new_full_sample(&pic));
        let (mut oa, mut ob) = ([0u8; 64], [0u8; 64]);
        for mv in [
            [0i16, 0],
            [5, 7],
            [-9, 3],
            [2, -6],
            [-130, -131],
            [131, 77],
            [8, -12],
        ] {
            a.predict_luma(16, 8, 8, 8, mv, &mut oa);
            b.predict_luma(16, 8, 8, 8, mv, &mut ob);
            assert_eq!(oa, ob, "mv {mv:?}");
        }
    }

    #[test]
    fn integer_vectors_copy() {
        let pic = picture(32, 32);
        let r = RefPicture::new(&pic);
        let mut out = [0u8; 16];
        r.predict_luma(4, 4, 4, 4, [8, -4], &mut out);
        assert_eq!(out[0], pic.y.at(6, 3));
        r.predict_chroma(0, (2, 2), (2, 2), [0, 0], &mut out);
        assert_eq!(out[0], pic.u.at(2, 2));
    }

    #[test]
    fn limits_keep_blocks_near_the_picture() {
        let (lo, hi) = mv_limits(0, 16, 64);
        assert_eq!(lo, -128);
        assert_eq!(hi, (64 - 16 + 32) * 4);
    }
}
