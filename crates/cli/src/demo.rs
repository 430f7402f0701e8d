//! `framepress demo OUTPUT`: a generated clip with motion, smooth areas
//! and fine detail, so no input file is needed.
//!
//! Frames are RGB24 computed with integer arithmetic only, so every run
//! produces the same clip: moving colour gradients, a textured disc that
//! bounces around, a drifting zone plate and scrolling one-pixel stripes.

use std::path::PathBuf;

use clap::Args;
use framepress::{parse_size, EncoderConfig, PixelFormat, Result};

use crate::output::OutputArgs;
use crate::pipeline::encode_all;
use crate::quality::QualityArgs;

#[derive(Args)]
pub struct DemoArgs {
    /// Output file: .mp4, .mov, .mkv, .h264 or .264; '-' writes to standard output.
    output: PathBuf,
    #[command(flatten)]
    container: OutputArgs,
    /// Number of frames.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    frames: u64,
    /// Frame size.
    #[arg(long, value_name = "WxH", default_value = "640x360", value_parser = parse_size)]
    size: (u32, u32),
    #[command(flatten)]
    quality: QualityArgs,
}

pub fn run(args: &DemoArgs) -> Result<()> {
    let (width, height) = args.size;
    let mut config = EncoderConfig::new(width, height);
    config.pixel_format = PixelFormat::Rgb24;
    args.quality.apply(&mut config);
    config.validate()?;
    let mut index = 0;
    encode_all(
        &args.output,
        &args.container,
        &config,
        Some(args.frames),
        |buf| {
            if index == args.frames {
                return Ok(false);
            }
            render(index, width as usize, height as usize, buf);
            index += 1;
            Ok(true)
        },
    )
}

/// Draws frame `t` of a `w`×`h` clip into `buf` as RGB24.
pub fn render(t: u64, w: usize, h: usize, buf: &mut Vec<u8>) {
    let scene = Scene::at(t as i64, w as i64, h as i64);
    buf.resize(w * h * 3, 0);
    for (y, row) in buf.chunks_exact_mut(w * 3).enumerate() {
        for (x, px) in row.chunks_exact_mut(3).enumerate() {
            px.copy_from_slice(&scene.pixel(x as i64, y as i64));
        }
    }
}

/// Where everything is in one frame.
struct Scene {
    t: i64,
    w: i64,
    h: i64,
    /// Disc centre and radius.
    cx: i64,
    cy: i64,
    r: i64,
}

impl Scene {
    fn at(t: i64, w: i64, h: i64) -> Scene {
        let r = (w.min(h) / 5).max(1);
        Scene {
            t,
            w,
            h,
            cx: r + bounce(7 * t, w - 2 * r),
            cy: r + bounce(5 * t, h - 2 * r),
            r,
        }
    }

    fn pixel(&self, x: i64, y: i64) -> [u8; 3] {
        let (dx, dy) = (x - self.cx, y - self.cy);
        if dx * dx + dy * dy <= self.r * self.r {
            return self.disc(dx, dy);
        }
        if 2 * x >= self.w && 3 * y < self.h {
            return self.stripes(x, y);
        }
        if 2 * x < self.w && 3 * y >= 2 * self.h {
            return self.zone_plate(x, y);
        }
        self.gradient(x, y)
    }

    /// Colour gradients drifting in different directions.
    fn gradient(&self, x: i64, y: i64) -> [u8; 3] {
        let t = self.t;
        [
            wave(x * 510 / self.w + 4 * t),
            wave(y * 510 / self.h + 3 * t),
            wave((x + y) * 255 / (self.w + self.h) - 5 * t + 128),
        ]
    }

    /// An 8-pixel checker that moves with the disc, shaded towards its rim.
    fn disc(&self, dx: i64, dy: i64) -> [u8; 3] {
        let shade = 255 - (dx * dx + dy * dy) * 128 / (self.r * self.r).max(1);
        let cell = (dx + 64 * self.r).div_euclid(8) + (dy + 64 * self.r).div_euclid(8);
        let s = shade.clamp(0, 255) as u8;
        if cell % 2 == 0 {
            [s, s, 32]
        } else {
            [s / 2, 24, s]
        }
    }

    /// A zone plate whose rings move outwards: every spatial frequency.
    fn zone_plate(&self, x: i64, y: i64) -> [u8; 3] {
        let (dx, dy) = (x - self.w / 4, y - self.h);
        let v = wave((dx * dx + dy * dy) / 6 - 12 * self.t);
        [v, v, v]
    }

    /// One-pixel stripes scrolling one pixel per frame, with a fine ramp.
    fn stripes(&self, x: i64, y: i64) -> [u8; 3] {
        let on = (x + self.t + y / 16) % 2 == 0;
        let v = if on { 230 } else { (y * 3 % 96) as u8 };
        [v, v, v / 2 + 40]
    }
}

/// Goes 0 → `span` → 0 as `t` counts up.
fn bounce(t: i64, span: i64) -> i64 {
    let span = span.max(1);
    let p = t.rem_euclid(2 * span);
    if p > span {
        2 * span - p
    } else {
        p
    }
}

/// A triangle wave over 0..=255 with period 510.
fn wave(v: i64) -> u8 {
    bounce(v, 255) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_deterministic_and_move() {
        let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
        render(3, 64, 36, &mut a);
        render(3, 64, 36, &mut b);
        render(4, 64, 36, &mut c);
        assert_eq!(a.len(), 64 * 36 * 3);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn tiny_and_odd_sizes_render() {
        for (w, h) in [(1, 1), (2, 1), (1, 3), (17, 9)] {
            let mut buf = Vec::new();
            for t in 0..4 {
                render(t, w, h, &mut buf);
                assert_eq!(buf.len(), w * h * 3);
            }
        }
    }

    #[test]
    fn bounce_stays_in_range() {
        for t in -50..50 {
            assert!((0..=10).contains(&bounce(t, 10)));
            assert_eq!(bounce(t, 0), bounce(t, 1));
        }
    }
}
