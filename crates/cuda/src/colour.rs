//! Input pixel formats and the fixed-point RGB → YCbCr coefficients of the
//! colour kernel (kernels/colour.cu), computed exactly as
//! `framepress::colour` computes them.

use avc::params::ColourSpace;

/// How an input frame is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// Interleaved RGB, one plane of W×3 bytes per row.
    Rgb24,
    /// Planar RGB: three planes R, G, B of W bytes per row.
    Rgb24Planar,
    /// Planar YUV 4:2:0: Y (W×H), U and V (⌈W/2⌉×⌈H/2⌉).
    Yuv420p,
    /// Y plane, then one plane of interleaved U, V pairs (⌈W/2⌉ pairs per row, ⌈H/2⌉ rows).
    Nv12,
}

impl PixelFormat {
    /// The format code the colour kernel understands.
    pub(crate) fn code(self) -> i32 {
        match self {
            PixelFormat::Rgb24 => 0,
            PixelFormat::Rgb24Planar => 1,
            PixelFormat::Yuv420p => 2,
            PixelFormat::Nv12 => 3,
        }
    }

    /// The number of planes.
    pub fn planes(self) -> usize {
        match self {
            PixelFormat::Rgb24 => 1,
            PixelFormat::Nv12 => 2,
            PixelFormat::Rgb24Planar | PixelFormat::Yuv420p => 3,
        }
    }

    /// Width in bytes and height of plane `i` of a `w`×`h` frame.
    pub fn plane_size(self, i: usize, w: usize, h: usize) -> (usize, usize) {
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        match (self, i) {
            (PixelFormat::Rgb24, _) => (3 * w, h),
            (PixelFormat::Rgb24Planar, _) | (_, 0) => (w, h),
            (PixelFormat::Nv12, _) => (2 * cw, ch),
            (PixelFormat::Yuv420p, _) => (cw, ch),
        }
    }

    /// Bytes of one tightly packed `w`×`h` frame (planes back to back).
    pub fn frame_bytes(self, w: usize, h: usize) -> usize {
        (0..self.planes())
            .map(|i| {
                let (pw, ph) = self.plane_size(i, w, h);
                pw * ph
            })
            .sum()
    }
}

const SHIFT: u32 = 16;
const ONE: i64 = 1 << SHIFT;

/// Fixed-point coefficients scaled by 2^16, the range's scale folded in;
/// laid out as the kernel's `Coefficients` struct.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Coefficients {
    pub y: [i32; 3],
    /// Luma offset (16 or 0) plus one half for rounding, scaled by 2^16.
    pub y_offset: i32,
    pub cb: [i32; 3],
    pub cr: [i32; 3],
}

// SAFETY: plain integers with the C layout of the kernel's struct.
unsafe impl cudarc::driver::DeviceRepr for Coefficients {}

/// `n / d` rounded to nearest, for `n >= 0` and `d > 0`.
fn div_round(n: i64, d: i64) -> i64 {
    (2 * n + d) / (2 * d)
}

impl Coefficients {
    /// The coefficients for a matrix and range (BT.601 or BT.709; full or limited).
    pub fn new(matrix: ColourSpace, full_range: bool) -> Coefficients {
        let (kr, kb, den): (i64, i64, i64) = match matrix {
            ColourSpace::Bt601 => (299, 114, 1000),
            ColourSpace::Bt709 => (2126, 722, 10_000),
        };
        let ((yn, yd), (cn, cd), black) = if full_range {
            ((1, 1), (1, 1), 0)
        } else {
            ((219, 255), (224, 255), 16)
        };
        let y_total = div_round(ONE * yn, yd);
        let yr = div_round(ONE * yn * kr, yd * den);
        let yb = div_round(ONE * yn * kb, yd * den);
        let half = div_round(ONE * cn, 2 * cd);
        let cb_r = div_round(ONE * cn * kr, 2 * cd * (den - kb));
        let cr_b = div_round(ONE * cn * kb, 2 * cd * (den - kr));
        // Every coefficient is below 2^17 in magnitude.
        let narrow = |v: [i64; 3]| v.map(|c| c as i32);
        Coefficients {
            y: narrow([yr, y_total - yr - yb, yb]),
            y_offset: ((black << SHIFT) + (ONE >> 1)) as i32,
            cb: narrow([-cb_r, cb_r - half, half]),
            cr: narrow([half, cr_b - half, -cr_b]),
        }
    }
}

/// A frame's planes as the colour kernel reads them (its `SourcePlanes`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct SourcePlanes {
    pub ptr: [u64; 3],
    pub pitch: [i64; 3],
}

// SAFETY: plain integers with the C layout of the kernel's struct.
unsafe impl cudarc::driver::DeviceRepr for SourcePlanes {}
