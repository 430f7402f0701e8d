//! Shared helpers of the CUDA tests: finding a GPU (or skipping cleanly),
//! test pictures, stream parameters.
#![allow(dead_code)]

use avc::frame::YuvFrame;
use avc::params::{ColourSpace, StreamParams};
use framepress_cuda::{runtime, CudaError};

/// Whether a CUDA device is usable here. Without a driver or a device the
/// caller skips with a note, unless `FRAMEPRESS_REQUIRE_GPU=1`.
pub fn gpu_present(test: &str) -> bool {
    let why = match runtime::device_count() {
        Ok(n) if n > 0 => return true,
        Ok(_) | Err(CudaError::NoDevice) => "no CUDA device".to_string(),
        Err(e) => e.to_string(),
    };
    let required = std::env::var("FRAMEPRESS_REQUIRE_GPU").is_ok_and(|v| v == "1");
    assert!(!required, "{test}: FRAMEPRESS_REQUIRE_GPU=1 but {why}");
    eprintln!("note: {test} skipped: {why}");
    false
}

pub fn params(w: u32, h: u32) -> StreamParams {
    StreamParams {
        width: w,
        height: h,
        fps_num: 30,
        fps_den: 1,
        colour: ColourSpace::Bt709,
        full_range: false,
    }
}

/// A deterministic xorshift generator.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in lo..=hi.
    pub fn range(&mut self, lo: i32, hi: i32) -> i32 {
        lo + (self.next() % (hi - lo + 1) as u64) as i32
    }

    pub fn byte(&mut self) -> u8 {
        (self.next() >> 24) as u8
    }
}

/// The kinds of test picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    Random,
    Solid,
    Gradient,
    Natural,
}

pub const CONTENTS: [Content; 4] = [
    Content::Random,
    Content::Solid,
    Content::Gradient,
    Content::Natural,
];

/// A test picture of `w`x`h` (odd sizes allowed).
pub fn picture(content: Content, w: usize, h: usize, seed: u64) -> YuvFrame {
    let mut f = YuvFrame::new(w, h);
    let mut rng = Rng(seed | 1);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    for (plane, pw, ph, c) in [
        (&mut f.y, w, h, 0),
        (&mut f.u, cw, ch, 1),
        (&mut f.v, cw, ch, 2),
    ] {
        for y in 0..ph {
            for x in 0..pw {
                plane.data[y * pw + x] = sample(content, x, y, c, &mut rng);
            }
        }
    }
    f
}

fn sample(content: Content, x: usize, y: usize, c: usize, rng: &mut Rng) -> u8 {
    match content {
        Content::Random => rng.byte(),
        Content::Solid => [77, 140, 100][c],
        Content::Gradient => ((x * 3 + y * 2 + c * 40) % 256) as u8,
        Content::Natural => {
            // Smooth shading, a hard-edged disc, a fine texture and mild noise.
            let (fx, fy) = (x as f64, y as f64);
            let mut v = 110.0 + 60.0 * (fx / 37.0).sin() * (fy / 23.0).cos() + (c as f64) * 10.0;
            let (dx, dy) = (fx - 40.0, fy - 30.0);
            if dx * dx + dy * dy < 400.0 {
                v = 220.0 - c as f64 * 30.0;
            }
            if (x / 8 + y / 8).is_multiple_of(5) {
                v += if (x + y).is_multiple_of(2) {
                    12.0
                } else {
                    -12.0
                };
            }
            v += f64::from(rng.range(-3, 3));
            v.clamp(0.0, 255.0) as u8
        }
    }
}

/// Frame `t` of a picture panning by (1.25, 0.75) samples per frame: smooth
/// shading (sampled at fractional positions), a disc and a fine texture that
/// move with it, mild noise.
pub fn panned(w: usize, h: usize, t: usize, seed: u64) -> YuvFrame {
    let mut f = YuvFrame::new(w, h);
    let mut rng = Rng((seed + t as u64 * 7919) | 1);
    let (ox, oy) = (1.25 * t as f64, 0.75 * t as f64);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    for (plane, pw, ph, c, scale) in [
        (&mut f.y, w, h, 0usize, 1.0),
        (&mut f.u, cw, ch, 1, 2.0),
        (&mut f.v, cw, ch, 2, 2.0),
    ] {
        for y in 0..ph {
            for x in 0..pw {
                let fx = x as f64 * scale + ox;
                let fy = y as f64 * scale + oy;
                let mut v =
                    110.0 + 60.0 * (fx / 37.0).sin() * (fy / 23.0).cos() + (c as f64) * 10.0;
                let (dx, dy) = (fx - 40.0, fy - 30.0);
                if dx * dx + dy * dy < 400.0 {
                    v = 220.0 - c as f64 * 30.0;
                }
                let (tx, ty) = (fx as i64, fy as i64);
                if ((tx / 8 + ty / 8) % 5) == 0 {
                    v += if (tx + ty) % 2 == 0 { 12.0 } else { -12.0 };
                }
                v += f64::from(rng.range(-2, 2));
                plane.data[y * pw + x] = v.clamp(0.0, 255.0) as u8;
            }
        }
    }
    f
}
