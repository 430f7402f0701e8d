//! Conversion of input frames to I420 (8-bit YUV 4:2:0).
//!
//! RGB is converted with integer fixed-point arithmetic (coefficients scaled
//! by 2^16, rounding to nearest), so the result is identical on every machine.
//! Chroma is the mean of the Cb/Cr of each 2×2 block of pixels; at an odd
//! right or bottom edge only the pixels that exist are averaged. Because Cb
//! and Cr are linear in R, G and B, the mean is taken over the RGB sums of
//! the block and converted once, with a single rounding at the end.

use avc::frame::{Plane, YuvFrame};
use rayon::prelude::*;

use crate::config::{ColourMatrix, ColourRange, PixelFormat, MAX_DIMENSION};
use crate::error::{Error, Result};

/// Fractional bits of the fixed-point coefficients.
const SHIFT: u32 = 16;
const ONE: i64 = 1 << SHIFT;

/// Converts one frame in `format` to a new I420 frame.
///
/// RGB input is converted with `matrix` into `range`; YUV input is copied
/// as is (`matrix` and `range` only describe it).
pub fn to_yuv420(
    format: PixelFormat,
    matrix: ColourMatrix,
    range: ColourRange,
    width: u32,
    height: u32,
    data: &[u8],
) -> Result<YuvFrame> {
    check_input(format, width, height, data)?;
    let mut frame = YuvFrame::zeroed(width as usize, height as usize);
    to_yuv420_into(format, matrix, range, width, height, data, &mut frame)?;
    Ok(frame)
}

/// Like [`to_yuv420`], but writes into `out`, whose planes are resized only
/// when their size differs, so a reused frame costs no allocation.
pub fn to_yuv420_into(
    format: PixelFormat,
    matrix: ColourMatrix,
    range: ColourRange,
    width: u32,
    height: u32,
    data: &[u8],
    out: &mut YuvFrame,
) -> Result<()> {
    check_input(format, width, height, data)?;
    let (w, h) = (width as usize, height as usize);
    shape(out, w, h);
    match format {
        PixelFormat::Rgb24 => {
            let src = Interleaved { data, width: w };
            convert_rgb(&Coefficients::new(matrix, range), &src, out);
        }
        PixelFormat::Rgb24Planar => {
            let (r, rest) = data.split_at(w * h);
            let (g, b) = rest.split_at(w * h);
            let src = Planar { r, g, b, width: w };
            convert_rgb(&Coefficients::new(matrix, range), &src, out);
        }
        PixelFormat::Yuv420p => split_i420(data, out),
        PixelFormat::Nv12 => split_nv12(data, out),
    }
    Ok(())
}

/// Rejects dimensions outside 1..=MAX_DIMENSION and data of the wrong length.
fn check_input(format: PixelFormat, width: u32, height: u32, data: &[u8]) -> Result<()> {
    for (name, value) in [("width", width), ("height", height)] {
        if value == 0 || value > MAX_DIMENSION {
            return Err(Error::InvalidDimension {
                name,
                value,
                max: MAX_DIMENSION,
            });
        }
    }
    let expected = format.frame_bytes(width, height);
    if data.len() != expected {
        // The frame's position in a stream is not known here; callers that
        // know it (the encoder) check the length first.
        return Err(Error::FrameSize {
            index: 0,
            got: data.len(),
            expected,
            detail: format!("a {width}x{height} {} frame", format.name()),
        });
    }
    Ok(())
}

/// Gives `out` the plane sizes of a `w`×`h` I420 frame, reusing its buffers.
pub(crate) fn shape(out: &mut YuvFrame, w: usize, h: usize) {
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    for (plane, pw, ph) in [
        (&mut out.y, w, h),
        (&mut out.u, cw, ch),
        (&mut out.v, cw, ch),
    ] {
        resize_plane(plane, pw, ph);
    }
}

fn resize_plane(plane: &mut Plane, width: usize, height: usize) {
    plane.width = width;
    plane.height = height;
    plane.data.resize(width * height, 0);
}

#[inline(always)]
fn rgb(p: &[u8]) -> [u8; 3] {
    [p[0], p[1], p[2]]
}

/// Fixed-point RGB → YCbCr coefficients, scaled by 2^16, with the range's
/// scale folded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Coefficients {
    y: [i32; 3],
    /// Luma offset (16 or 0) plus one half for rounding, scaled by 2^16.
    y_offset: i32,
    cb: [i32; 3],
    cr: [i32; 3],
}

impl Coefficients {
    fn new(matrix: ColourMatrix, range: ColourRange) -> Coefficients {
        // Kr and Kb as exact fractions over `den`.
        let (kr, kb, den): (i64, i64, i64) = match matrix {
            ColourMatrix::Bt601 => (299, 114, 1000),
            ColourMatrix::Bt709 => (2126, 722, 10_000),
        };
        // Luma and chroma excursions as fractions of 255, and the black level.
        let ((yn, yd), (cn, cd), black) = match range {
            ColourRange::Limited => ((219, 255), (224, 255), 16),
            ColourRange::Full => ((1, 1), (1, 1), 0),
        };
        let y_total = div_round(ONE * yn, yd);
        let yr = div_round(ONE * yn * kr, yd * den);
        let yb = div_round(ONE * yn * kb, yd * den);
        // Cb = (B - Y) / (2 (1 - Kb)), Cr = (R - Y) / (2 (1 - Kr)); each row
        // sums to zero, so greys have exactly neutral chroma.
        let half = div_round(ONE * cn, 2 * cd);
        let cb_r = div_round(ONE * cn * kr, 2 * cd * (den - kb));
        let cr_b = div_round(ONE * cn * kb, 2 * cd * (den - kr));
        Coefficients {
            y: narrow([yr, y_total - yr - yb, yb]),
            y_offset: ((black << SHIFT) + (ONE >> 1)) as i32,
            cb: narrow([-cb_r, cb_r - half, half]),
            cr: narrow([half, cr_b - half, -cr_b]),
        }
    }

    #[inline(always)]
    fn luma(&self, [r, g, b]: [u8; 3]) -> u8 {
        let v = self.y[0] * i32::from(r) + self.y[1] * i32::from(g) + self.y[2] * i32::from(b);
        clamp_u8((v + self.y_offset) >> SHIFT)
    }

    /// Cb and Cr of the mean of four pixels, given their summed R, G, B.
    #[inline(always)]
    fn chroma(&self, [r, g, b]: [i32; 3]) -> (u8, u8) {
        const SHIFT4: u32 = SHIFT + 2;
        const OFFSET: i32 = (128 << SHIFT4) + (1 << (SHIFT4 - 1));
        let cb = self.cb[0] * r + self.cb[1] * g + self.cb[2] * b;
        let cr = self.cr[0] * r + self.cr[1] * g + self.cr[2] * b;
        (
            clamp_u8((cb + OFFSET) >> SHIFT4),
            clamp_u8((cr + OFFSET) >> SHIFT4),
        )
    }
}

/// `n / d` rounded to nearest, for `n >= 0` and `d > 0`.
fn div_round(n: i64, d: i64) -> i64 {
    (2 * n + d) / (2 * d)
}

/// The coefficients are below 2^17 in magnitude, so they fit an i32.
fn narrow(v: [i64; 3]) -> [i32; 3] {
    v.map(|c| c as i32)
}

#[inline(always)]
fn clamp_u8(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

#[inline(always)]
fn add(a: [i32; 3], b: [i32; 3]) -> [i32; 3] {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

#[inline(always)]
fn widen(p: [u8; 3]) -> [i32; 3] {
    p.map(i32::from)
}

/// RGB input, read a row or a pair of rows at a time.
trait RgbSource {
    /// The pixels of row `y`.
    fn row(&self, y: usize) -> impl Iterator<Item = [u8; 3]> + '_;
    /// The R, G, B sums of each horizontal pair of pixels in row `y`, and of
    /// the last pixel of an odd row counted twice.
    fn pairs(&self, y: usize) -> impl Iterator<Item = [i32; 3]> + '_;
}

/// H×W×3 bytes.
struct Interleaved<'a> {
    data: &'a [u8],
    width: usize,
}

impl RgbSource for Interleaved<'_> {
    #[inline(always)]
    fn row(&self, y: usize) -> impl Iterator<Item = [u8; 3]> + '_ {
        let row = &self.data[3 * y * self.width..3 * (y + 1) * self.width];
        row.chunks_exact(3).map(rgb)
    }

    #[inline(always)]
    fn pairs(&self, y: usize) -> impl Iterator<Item = [i32; 3]> + '_ {
        let row = &self.data[3 * y * self.width..3 * (y + 1) * self.width];
        row.chunks(6).map(|p| {
            let a = widen(rgb(p));
            match p.get(3..6) {
                Some(q) => add(a, widen(rgb(q))),
                None => add(a, a),
            }
        })
    }
}

/// Three H×W planes: R, G, B.
struct Planar<'a> {
    r: &'a [u8],
    g: &'a [u8],
    b: &'a [u8],
    width: usize,
}

impl RgbSource for Planar<'_> {
    #[inline(always)]
    fn row(&self, y: usize) -> impl Iterator<Item = [u8; 3]> + '_ {
        let span = y * self.width..(y + 1) * self.width;
        let (r, g, b) = (&self.r[span.clone()], &self.g[span.clone()], &self.b[span]);
        r.iter().zip(g).zip(b).map(|((&r, &g), &b)| [r, g, b])
    }

    #[inline(always)]
    fn pairs(&self, y: usize) -> impl Iterator<Item = [i32; 3]> + '_ {
        let span = y * self.width..(y + 1) * self.width;
        let r = self.r[span.clone()].chunks(2);
        let g = self.g[span.clone()].chunks(2);
        let b = self.b[span].chunks(2);
        r.zip(g)
            .zip(b)
            .map(|((r, g), b)| [pair_sum(r), pair_sum(g), pair_sum(b)])
    }
}

/// The sum of a pair of samples, or twice a lone one.
#[inline(always)]
fn pair_sum(p: &[u8]) -> i32 {
    let a = i32::from(p[0]);
    a + p.get(1).map_or(a, |&b| i32::from(b))
}

/// Converts RGB to `out` (already shaped): luma row by row, then each
/// chroma sample from the sums of its 2×2 block; rows in parallel (in the
/// caller's rayon pool).
fn convert_rgb<S: RgbSource + Sync>(k: &Coefficients, src: &S, out: &mut YuvFrame) {
    let (w, h, cw) = (out.y.width, out.y.height, out.u.width);
    out.y
        .data
        .par_chunks_exact_mut(w)
        .enumerate()
        .for_each(|(y, dst)| {
            for (d, p) in dst.iter_mut().zip(src.row(y)) {
                *d = k.luma(p);
            }
        });
    let rows = out
        .u
        .data
        .par_chunks_exact_mut(cw)
        .zip(out.v.data.par_chunks_exact_mut(cw));
    rows.enumerate().for_each(|(cy, (u, v))| {
        // A missing bottom row repeats the top one; with the right column
        // handled the same way in `pairs`, every block sums four samples
        // and its mean is the mean of the samples that exist.
        let (top, bottom) = (2 * cy, (2 * cy + 1).min(h - 1));
        let blocks = src.pairs(top).zip(src.pairs(bottom));
        for ((cb, cr), (t, b)) in u.iter_mut().zip(v.iter_mut()).zip(blocks) {
            (*cb, *cr) = k.chroma(add(t, b));
        }
    });
}

/// Copies yuv420p bytes (length already checked) into the planes, in bands
/// of rows in parallel.
fn split_i420(data: &[u8], out: &mut YuvFrame) {
    let (y, rest) = data.split_at(out.y.data.len());
    let (u, v) = rest.split_at(out.u.data.len());
    for (to, from) in [
        (&mut out.y.data, y),
        (&mut out.u.data, u),
        (&mut out.v.data, v),
    ] {
        to.par_chunks_mut(COPY_BAND)
            .zip(from.par_chunks(COPY_BAND))
            .for_each(|(t, f)| t.copy_from_slice(f));
    }
}

/// Bytes per task of a parallel copy.
const COPY_BAND: usize = 1 << 16;

/// Copies NV12 bytes (length already checked) into the planes, splitting UV.
fn split_nv12(data: &[u8], out: &mut YuvFrame) {
    let (y, uv) = data.split_at(out.y.data.len());
    out.y.data.copy_from_slice(y);
    let dst = out.u.data.iter_mut().zip(out.v.data.iter_mut());
    for ((u, v), pair) in dst.zip(uv.chunks_exact(2)) {
        *u = pair[0];
        *v = pair[1];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MATRICES: [ColourMatrix; 2] = [ColourMatrix::Bt601, ColourMatrix::Bt709];
    const RANGES: [ColourRange; 2] = [ColourRange::Limited, ColourRange::Full];

    /// A deterministic pseudo-random byte stream (xorshift).
    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut s = seed | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 24) as u8
            })
            .collect()
    }

    fn solid(w: u32, h: u32, px: [u8; 3]) -> Vec<u8> {
        px.repeat((w * h) as usize)
    }

    fn convert(m: ColourMatrix, r: ColourRange, w: u32, h: u32, rgb: &[u8]) -> YuvFrame {
        to_yuv420(PixelFormat::Rgb24, m, r, w, h, rgb).expect("valid input")
    }

    /// Floating-point reference: per-pixel YCbCr, chroma averaged over the
    /// samples of each 2×2 block that exist, rounded to nearest.
    fn reference(m: ColourMatrix, r: ColourRange, w: usize, h: usize, rgb: &[u8]) -> YuvFrame {
        let (kr, kb) = match m {
            ColourMatrix::Bt601 => (0.299, 0.114),
            ColourMatrix::Bt709 => (0.2126, 0.0722),
        };
        let (ys, cs, black) = match r {
            ColourRange::Limited => (219.0 / 255.0, 224.0 / 255.0, 16.0),
            ColourRange::Full => (1.0, 1.0, 0.0),
        };
        let px = |x: usize, y: usize| {
            let i = 3 * (y * w + x);
            let (r, g, b) = (rgb[i] as f64, rgb[i + 1] as f64, rgb[i + 2] as f64);
            let luma = kr * r + (1.0 - kr - kb) * g + kb * b;
            let cb = (b - luma) / (2.0 * (1.0 - kb));
            let cr = (r - luma) / (2.0 * (1.0 - kr));
            (black + ys * luma, 128.0 + cs * cb, 128.0 + cs * cr)
        };
        let q = |v: f64| v.round().clamp(0.0, 255.0) as u8;
        let mut out = YuvFrame::new(w, h);
        for y in 0..h {
            for x in 0..w {
                out.y.data[y * w + x] = q(px(x, y).0);
            }
        }
        let cw = w.div_ceil(2);
        for cy in 0..h.div_ceil(2) {
            for cx in 0..cw {
                let (mut su, mut sv, mut n) = (0.0, 0.0, 0.0);
                for y in 2 * cy..(2 * cy + 2).min(h) {
                    for x in 2 * cx..(2 * cx + 2).min(w) {
                        let (_, u, v) = px(x, y);
                        (su, sv, n) = (su + u, sv + v, n + 1.0);
                    }
                }
                out.u.data[cy * cw + cx] = q(su / n);
                out.v.data[cy * cw + cx] = q(sv / n);
            }
        }
        out
    }

    fn max_diff(a: &Plane, b: &Plane) -> u8 {
        assert_eq!((a.width, a.height), (b.width, b.height));
        a.data
            .iter()
            .zip(&b.data)
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0)
    }

    fn check_solid(m: ColourMatrix, r: ColourRange, px: [u8; 3], expected: [u8; 3]) {
        let f = convert(m, r, 4, 2, &solid(4, 2, px));
        let got = [f.y.data[0], f.u.data[0], f.v.data[0]];
        assert_eq!(got, expected, "{m:?} {r:?} rgb {px:?}");
        assert!(f.y.data.iter().all(|&v| v == expected[0]));
        assert!(f.u.data.iter().all(|&v| v == expected[1]));
        assert!(f.v.data.iter().all(|&v| v == expected[2]));
    }

    const WHITE: [u8; 3] = [255, 255, 255];
    const BLACK: [u8; 3] = [0, 0, 0];
    const GREY: [u8; 3] = [128, 128, 128];
    const RED: [u8; 3] = [255, 0, 0];
    const GREEN: [u8; 3] = [0, 255, 0];
    const BLUE: [u8; 3] = [0, 0, 255];

    // Expected code values, from Y = Kr R + Kg G + Kb B,
    // Cb = (B - Y) / (2 (1 - Kb)), Cr = (R - Y) / (2 (1 - Kr)), then
    // limited: 16 + 219 Y / 255, 128 + 224 C / 255; full: Y, 128 + C;
    // rounded to nearest and clipped to 0..=255.

    #[test]
    fn bt601_limited_primaries() {
        let (m, r) = (ColourMatrix::Bt601, ColourRange::Limited);
        check_solid(m, r, WHITE, [235, 128, 128]);
        check_solid(m, r, BLACK, [16, 128, 128]);
        check_solid(m, r, GREY, [126, 128, 128]); // 125.93
        check_solid(m, r, RED, [81, 90, 240]); // 81.48, 90.20, 240
        check_solid(m, r, GREEN, [145, 54, 34]); // 144.55, 53.80, 34.21
        check_solid(m, r, BLUE, [41, 240, 110]); // 40.97, 240, 109.79
    }

    #[test]
    fn bt601_full_primaries() {
        let (m, r) = (ColourMatrix::Bt601, ColourRange::Full);
        check_solid(m, r, WHITE, [255, 128, 128]);
        check_solid(m, r, BLACK, [0, 128, 128]);
        check_solid(m, r, GREY, [128, 128, 128]);
        check_solid(m, r, RED, [76, 85, 255]); // 76.25, 84.97, 255.5 clipped
        check_solid(m, r, GREEN, [150, 44, 21]); // 149.69, 43.53, 21.24
        check_solid(m, r, BLUE, [29, 255, 107]); // 29.07, 255.5 clipped, 107.27
    }

    #[test]
    fn bt709_limited_primaries() {
        let (m, r) = (ColourMatrix::Bt709, ColourRange::Limited);
        check_solid(m, r, WHITE, [235, 128, 128]);
        check_solid(m, r, BLACK, [16, 128, 128]);
        check_solid(m, r, GREY, [126, 128, 128]);
        check_solid(m, r, RED, [63, 102, 240]); // 62.56, 102.34, 240
        check_solid(m, r, GREEN, [173, 42, 26]); // 172.63, 41.66, 26.27
        check_solid(m, r, BLUE, [32, 240, 118]); // 31.81, 240, 117.73
    }

    #[test]
    fn bt709_full_primaries() {
        let (m, r) = (ColourMatrix::Bt709, ColourRange::Full);
        check_solid(m, r, WHITE, [255, 128, 128]);
        check_solid(m, r, BLACK, [0, 128, 128]);
        check_solid(m, r, GREY, [128, 128, 128]);
        check_solid(m, r, RED, [54, 99, 255]); // 54.21, 98.78, 255.5 clipped
        check_solid(m, r, GREEN, [182, 30, 12]); // 182.38, 29.72, 12.19
        check_solid(m, r, BLUE, [18, 255, 116]); // 18.41, 255.5 clipped, 116.31
    }

    #[test]
    fn every_grey_level_has_neutral_chroma() {
        for (m, r) in MATRICES.into_iter().flat_map(|m| RANGES.map(|r| (m, r))) {
            let rgb: Vec<u8> = (0..=255u8).flat_map(|v| [v; 3]).collect();
            let f = convert(m, r, 256, 1, &rgb);
            assert!(f.u.data.iter().chain(&f.v.data).all(|&c| c == 128));
            let want = reference(m, r, 256, 1, &rgb);
            assert_eq!(f.y, want.y, "{m:?} {r:?}");
        }
    }

    #[test]
    fn random_images_match_float_reference() {
        let sizes: [(u32, u32); 7] = [(64, 48), (1, 1), (3, 3), (17, 33), (33, 17), (2, 1), (1, 2)];
        for (i, (w, h)) in sizes.into_iter().enumerate() {
            for (m, r) in MATRICES.into_iter().flat_map(|m| RANGES.map(|r| (m, r))) {
                let rgb = noise((w * h * 3) as usize, 7 + i as u64);
                let got = convert(m, r, w, h, &rgb);
                let want = reference(m, r, w as usize, h as usize, &rgb);
                for (a, b) in [(&got.y, &want.y), (&got.u, &want.u), (&got.v, &want.v)] {
                    assert!(max_diff(a, b) <= 1, "{w}x{h} {m:?} {r:?}");
                }
            }
        }
    }

    /// With limited range, blue has Cb exactly 240 and black 128, so a block
    /// with `n` samples of which `nb` are blue has Cb = 128 + 112 nb / n.
    fn blue_dots(w: usize, h: usize, is_blue: impl Fn(usize, usize) -> bool) -> Vec<u8> {
        (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .flat_map(|(x, y)| if is_blue(x, y) { BLUE } else { BLACK })
            .collect()
    }

    fn check_block_means(w: usize, h: usize, is_blue: impl Fn(usize, usize) -> bool + Copy) {
        let rgb = blue_dots(w, h, is_blue);
        let (m, r) = (ColourMatrix::Bt709, ColourRange::Limited);
        let f = convert(m, r, w as u32, h as u32, &rgb);
        let cw = w.div_ceil(2);
        for cy in 0..h.div_ceil(2) {
            for cx in 0..cw {
                let samples: Vec<bool> = (2 * cy..(2 * cy + 2).min(h))
                    .flat_map(|y| (2 * cx..(2 * cx + 2).min(w)).map(move |x| (x, y)))
                    .map(|(x, y)| is_blue(x, y))
                    .collect();
                let nb = samples.iter().filter(|&&b| b).count() as f64;
                let want = (128.0 + 112.0 * nb / samples.len() as f64).round() as u8;
                assert_eq!(f.u.data[cy * cw + cx], want, "{w}x{h} block {cx},{cy}");
            }
        }
    }

    #[test]
    fn chroma_is_the_mean_of_existing_samples() {
        let patterns: [fn(usize, usize) -> bool; 4] = [
            |x, y| (x + y) % 2 == 0,
            |x, y| x == 0 && y == 0,
            |x, y| (x * 7 + y * 3) % 5 < 2,
            |x, _| x % 2 == 0,
        ];
        for (w, h) in [(1, 1), (3, 3), (17, 33), (2, 2), (4, 3), (5, 1)] {
            for p in patterns {
                check_block_means(w, h, p);
            }
        }
    }

    #[test]
    fn edge_blocks_do_not_average_in_missing_samples() {
        // 3×3 with only the last column blue: the right-hand chroma column
        // holds blue alone (240), not blue mixed with nothing (184).
        let f = convert(
            ColourMatrix::Bt709,
            ColourRange::Limited,
            3,
            3,
            &blue_dots(3, 3, |x, _| x == 2),
        );
        assert_eq!(f.u.data, [128, 240, 128, 240]);
        let f = convert(ColourMatrix::Bt601, ColourRange::Limited, 1, 1, &BLUE);
        assert_eq!((f.y.data[0], f.u.data[0], f.v.data[0]), (41, 240, 110));
    }

    #[test]
    fn planar_and_interleaved_agree() {
        for (w, h) in [(1u32, 1u32), (3, 3), (17, 33), (64, 36)] {
            let n = (w * h) as usize;
            let rgb = noise(n * 3, 99);
            let mut planar = vec![0; n * 3];
            for (i, px) in rgb.chunks_exact(3).enumerate() {
                for c in 0..3 {
                    planar[c * n + i] = px[c];
                }
            }
            for (m, r) in MATRICES.into_iter().flat_map(|m| RANGES.map(|r| (m, r))) {
                let a = to_yuv420(PixelFormat::Rgb24, m, r, w, h, &rgb).expect("rgb24");
                let b = to_yuv420(PixelFormat::Rgb24Planar, m, r, w, h, &planar).expect("rgb24p");
                assert_eq!(a, b, "{w}x{h}");
            }
        }
    }

    #[test]
    fn yuv420p_passes_through() {
        for (w, h) in [(1u32, 1u32), (3, 3), (17, 33), (16, 16)] {
            let len = PixelFormat::Yuv420p.frame_bytes(w, h);
            let bytes = noise(len, 5);
            let f = to_yuv420(
                PixelFormat::Yuv420p,
                ColourMatrix::Bt709,
                ColourRange::Full,
                w,
                h,
                &bytes,
            )
            .expect("yuv420p");
            assert_eq!(f.to_i420(), bytes);
            assert_eq!(
                (f.u.width, f.u.height),
                (w.div_ceil(2) as usize, h.div_ceil(2) as usize)
            );
        }
    }

    #[test]
    fn nv12_is_deinterleaved() {
        for (w, h) in [(1u32, 1u32), (3, 3), (17, 33), (16, 16)] {
            let (luma, chroma) = ((w * h) as usize, (w.div_ceil(2) * h.div_ceil(2)) as usize);
            let bytes = noise(luma + 2 * chroma, 11);
            let f = to_yuv420(
                PixelFormat::Nv12,
                ColourMatrix::Bt601,
                ColourRange::Limited,
                w,
                h,
                &bytes,
            )
            .expect("nv12");
            assert_eq!(f.y.data, bytes[..luma]);
            let uv = &bytes[luma..];
            assert!(f.u.data.iter().enumerate().all(|(i, &u)| u == uv[2 * i]));
            assert!(f
                .v
                .data
                .iter()
                .enumerate()
                .all(|(i, &v)| v == uv[2 * i + 1]));
        }
    }

    #[test]
    fn wrong_length_is_a_frame_size_error() {
        let (m, r) = (ColourMatrix::Bt709, ColourRange::Limited);
        for format in PixelFormat::ALL.map(|(f, _)| f) {
            let expected = format.frame_bytes(5, 3);
            for len in [0, expected - 1, expected + 1] {
                match to_yuv420(format, m, r, 5, 3, &vec![0; len]) {
                    Err(Error::FrameSize {
                        got, expected: e, ..
                    }) => {
                        assert_eq!((got, e), (len, expected));
                    }
                    other => panic!("{format:?} {len}: {other:?}"),
                }
            }
        }
        let err = to_yuv420(PixelFormat::Rgb24, m, r, 2, 2, &[0; 5]).expect_err("short");
        let text = err.to_string();
        assert!(
            text.contains("5 bytes") && text.contains("expected 12"),
            "{text}"
        );
    }

    #[test]
    fn bad_dimensions_are_rejected() {
        let (m, r) = (ColourMatrix::Bt709, ColourRange::Limited);
        for (w, h) in [(0, 4), (4, 0), (MAX_DIMENSION + 1, 2)] {
            let err = to_yuv420(PixelFormat::Yuv420p, m, r, w, h, &[]).expect_err("bad size");
            assert!(matches!(err, Error::InvalidDimension { .. }), "{err}");
        }
    }

    #[test]
    fn into_reuses_and_reshapes_the_frame() {
        let (m, r) = (ColourMatrix::Bt709, ColourRange::Limited);
        let mut frame = YuvFrame::new(2, 2);
        let rgb = noise(17 * 33 * 3, 3);
        to_yuv420_into(PixelFormat::Rgb24, m, r, 17, 33, &rgb, &mut frame).expect("convert");
        assert_eq!(frame, convert(m, r, 17, 33, &rgb));
        let rgb = noise(4 * 2 * 3, 4);
        to_yuv420_into(PixelFormat::Rgb24, m, r, 4, 2, &rgb, &mut frame).expect("convert");
        assert_eq!(frame, convert(m, r, 4, 2, &rgb));
    }
}
