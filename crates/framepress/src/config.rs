//! Encoder options and their validation.

use crate::error::{Error, Result};

/// Largest accepted frame width or height.
pub const MAX_DIMENSION: u32 = 8192;

/// How the caller's frames are laid out in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// Interleaved RGB, H×W×3 bytes per frame.
    Rgb24,
    /// Planar RGB, 3×H×W bytes per frame (the layout of an N×3×H×W tensor).
    Rgb24Planar,
    /// Planar YUV 4:2:0: Y (W×H), U and V (⌈W/2⌉×⌈H/2⌉ each).
    Yuv420p,
    /// Y plane then interleaved UV (⌈W/2⌉ pairs per row, ⌈H/2⌉ rows).
    Nv12,
}

impl PixelFormat {
    /// All formats with their command-line names.
    pub const ALL: [(PixelFormat, &'static str); 4] = [
        (PixelFormat::Rgb24, "rgb24"),
        (PixelFormat::Rgb24Planar, "rgb24p"),
        (PixelFormat::Yuv420p, "yuv420p"),
        (PixelFormat::Nv12, "nv12"),
    ];

    /// The command-line name of the format.
    pub fn name(self) -> &'static str {
        PixelFormat::ALL
            .iter()
            .find(|(f, _)| *f == self)
            .map(|(_, n)| *n)
            .unwrap_or("?")
    }

    /// Parses a command-line name such as `rgb24` or `nv12`.
    pub fn from_name(name: &str) -> Result<PixelFormat> {
        PixelFormat::ALL
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(f, _)| *f)
            .ok_or_else(|| Error::InvalidOption {
                option: "pixel format",
                value: name.to_string(),
                expected: "one of rgb24, rgb24p, yuv420p, nv12".to_string(),
            })
    }

    /// Bytes in one frame of `width`×`height` in this format.
    pub fn frame_bytes(self, width: u32, height: u32) -> usize {
        let (w, h) = (width as usize, height as usize);
        match self {
            PixelFormat::Rgb24 | PixelFormat::Rgb24Planar => w * h * 3,
            PixelFormat::Yuv420p | PixelFormat::Nv12 => w * h + 2 * w.div_ceil(2) * h.div_ceil(2),
        }
    }
}

/// A frame rate as an exact fraction, e.g. 30000/1001.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rational {
    pub num: u32,
    pub den: u32,
}

impl Rational {
    pub const fn new(num: u32, den: u32) -> Rational {
        Rational { num, den }
    }

    /// Parses `N` or `N/D` (positive integers).
    pub fn parse(text: &str) -> Result<Rational> {
        let bad = || Error::InvalidOption {
            option: "frame rate",
            value: text.to_string(),
            expected: "a positive integer N or fraction N/D, e.g. 30 or 30000/1001".to_string(),
        };
        let (n, d) = match text.split_once('/') {
            Some((n, d)) => (n.trim(), d.trim()),
            None => (text.trim(), "1"),
        };
        let num: u32 = n.parse().map_err(|_| bad())?;
        let den: u32 = d.parse().map_err(|_| bad())?;
        if num == 0 || den == 0 {
            return Err(bad());
        }
        Ok(Rational::new(num, den).reduced())
    }

    /// The same fraction in lowest terms.
    pub fn reduced(self) -> Rational {
        let (mut a, mut b) = (self.num, self.den);
        while b != 0 {
            (a, b) = (b, a % b);
        }
        if a == 0 {
            return self;
        }
        Rational::new(self.num / a, self.den / a)
    }

    pub fn as_f64(self) -> f64 {
        f64::from(self.num) / f64::from(self.den)
    }
}

impl std::fmt::Display for Rational {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.den == 1 {
            write!(f, "{}", self.num)
        } else {
            write!(f, "{}/{}", self.num, self.den)
        }
    }
}

/// RGB → YUV matrix, also signalled in the VUI (Annex E, matrix_coefficients).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColourMatrix {
    Bt601,
    Bt709,
}

/// Sample range, signalled in the VUI (video_full_range_flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColourRange {
    /// Y 16..235, Cb/Cr 16..240.
    Limited,
    /// 0..255.
    Full,
}

/// Where the encoding runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Device {
    Cpu,
    /// CUDA device N (as the driver numbers them).
    Cuda(u32),
}

impl Device {
    /// Parses `cpu`, `cuda` (device 0) or `cuda:N`.
    pub fn parse(text: &str) -> Result<Device> {
        let t = text.trim().to_ascii_lowercase();
        let bad = || Error::InvalidOption {
            option: "device",
            value: text.to_string(),
            expected: "cpu, cuda or cuda:N (N = 0, 1, ...)".to_string(),
        };
        match t.as_str() {
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda(0)),
            _ => {
                let n = t.strip_prefix("cuda:").ok_or_else(bad)?;
                n.parse().map(Device::Cuda).map_err(|_| bad())
            }
        }
    }
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Device::Cpu => write!(f, "cpu"),
            Device::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

/// How the encoder spends bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateControl {
    /// Constant quantiser 0..=51 of P pictures; IDR pictures are coded 3
    /// lower (at least 0), as x264's constant-quantiser mode does.
    Qp(u8),
    /// Constant rate factor 0..=51 (lower is better): P pictures at `crf`,
    /// IDR pictures three steps finer.
    Crf(u8),
    /// Average bitrate in bits per second, with a VBV buffer of
    /// `buffer_bits` (0 picks two seconds' worth).
    Bitrate {
        bits_per_second: u64,
        buffer_bits: u64,
    },
}

/// Speed/quality trade-off of the motion search, as in x264.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Preset {
    Ultrafast,
    Superfast,
    Veryfast,
    Faster,
    Fast,
    Medium,
    Slow,
}

impl Preset {
    /// All presets with their names, fastest first.
    pub const ALL: [(Preset, &'static str); 7] = [
        (Preset::Ultrafast, "ultrafast"),
        (Preset::Superfast, "superfast"),
        (Preset::Veryfast, "veryfast"),
        (Preset::Faster, "faster"),
        (Preset::Fast, "fast"),
        (Preset::Medium, "medium"),
        (Preset::Slow, "slow"),
    ];

    pub fn name(self) -> &'static str {
        Preset::ALL
            .iter()
            .find(|(p, _)| *p == self)
            .map(|(_, n)| *n)
            .unwrap_or("?")
    }

    /// Parses a preset name such as `veryfast`.
    pub fn from_name(name: &str) -> Result<Preset> {
        Preset::ALL
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name.trim()))
            .map(|(p, _)| *p)
            .ok_or_else(|| Error::InvalidOption {
                option: "preset",
                value: name.to_string(),
                expected: "one of ultrafast, superfast, veryfast, faster, fast, medium, slow"
                    .to_string(),
            })
    }
}

/// Parses a bitrate in bits per second: `2500000`, `2500k`, `2.5M` or `1G`.
pub fn parse_bitrate(text: &str) -> Result<u64> {
    let bad = || Error::InvalidOption {
        option: "bitrate",
        value: text.to_string(),
        expected: "bits per second such as 2000000, 2000k or 2M".to_string(),
    };
    let t = text.trim();
    let (number, scale) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1e3),
        Some((i, 'm' | 'M')) => (&t[..i], 1e6),
        Some((i, 'g' | 'G')) => (&t[..i], 1e9),
        _ => (t, 1.0),
    };
    let value: f64 = number.parse().map_err(|_| bad())?;
    // Below half a bit per second rounds to 0, which is no bitrate (and 0 would silently mean "the default" for a
    // VBV buffer).
    let bits = (value * scale).round();
    if !value.is_finite() || !(1.0..=1e12).contains(&bits) {
        return Err(bad());
    }
    Ok(bits as u64)
}

/// Largest GOP length accepted.
pub const MAX_GOP: u32 = 100_000;

/// Most worker threads accepted (0 picks one per core): starting far more
/// threads than any machine has cores only stalls the encoder.
pub const MAX_THREADS: usize = 1024;

/// Everything an encoder needs to start. Build with [`EncoderConfig::new`],
/// adjust the public fields, then pass to `Encoder::new`, which validates.
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderConfig {
    pub width: u32,
    pub height: u32,
    pub pixel_format: PixelFormat,
    pub frame_rate: Rational,
    /// Constant qp, constant rate factor or average bitrate.
    pub rate: RateControl,
    /// An IDR picture every `gop` pictures (FFmpeg's `g`); 1 makes every picture intra.
    pub gop: u32,
    /// The in-loop deblocking filter (on by default).
    pub deblock: bool,
    /// Motion search effort.
    pub preset: Preset,
    /// Worker threads; 0 uses every core. The output does not depend on it.
    pub threads: usize,
    /// Lossless coding (transform bypass, High 4:4:4 Predictive profile):
    /// needs qp 0 or crf 0; crf 0 alone also turns it on, as in x264.
    pub lossless: bool,
    pub matrix: ColourMatrix,
    pub range: ColourRange,
    pub device: Device,
    /// Attach each frame's reconstruction (what a decoder will output) to its packet.
    pub keep_reconstruction: bool,
}

impl EncoderConfig {
    /// Defaults: yuv420p, 30 fps, crf 23, GOP 250, deblocking on, preset
    /// medium, BT.709 limited range, CPU, all cores.
    pub fn new(width: u32, height: u32) -> EncoderConfig {
        EncoderConfig {
            width,
            height,
            pixel_format: PixelFormat::Yuv420p,
            frame_rate: Rational::new(30, 1),
            rate: RateControl::Crf(23),
            gop: 250,
            deblock: true,
            preset: Preset::Medium,
            threads: 0,
            lossless: false,
            matrix: ColourMatrix::Bt709,
            range: ColourRange::Limited,
            device: Device::Cpu,
            keep_reconstruction: false,
        }
    }

    /// Checks every field; the error names the field, the value and what is accepted.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [("width", self.width), ("height", self.height)] {
            if v == 0 || v > MAX_DIMENSION {
                return Err(Error::InvalidDimension {
                    name,
                    value: v,
                    max: MAX_DIMENSION,
                });
            }
        }
        self.validate_rate()?;
        let zero_rate = matches!(self.rate, RateControl::Qp(0) | RateControl::Crf(0));
        if self.lossless && !zero_rate {
            return Err(Error::InvalidOption {
                option: "lossless",
                value: format!("{:?}", self.rate),
                expected: "qp 0 or crf 0 with lossless coding".to_string(),
            });
        }
        if self.gop == 0 || self.gop > MAX_GOP {
            return Err(Error::InvalidOption {
                option: "gop",
                value: self.gop.to_string(),
                expected: format!("an integer in 1..={MAX_GOP}"),
            });
        }
        if self.threads > MAX_THREADS {
            return Err(Error::InvalidOption {
                option: "threads",
                value: self.threads.to_string(),
                expected: format!("0 (one per core) or a count in 1..={MAX_THREADS}"),
            });
        }
        if self.frame_rate.num == 0 || self.frame_rate.den == 0 {
            return Err(Error::InvalidOption {
                option: "frame rate",
                value: self.frame_rate.to_string(),
                expected: "a positive fraction".to_string(),
            });
        }
        Ok(())
    }

    fn validate_rate(&self) -> Result<()> {
        let bad = |option: &'static str, value: String, expected: &str| Error::InvalidOption {
            option,
            value,
            expected: expected.to_string(),
        };
        match self.rate {
            RateControl::Qp(q) if q > 51 => Err(bad("qp", q.to_string(), "an integer in 0..=51")),
            RateControl::Crf(c) if c > 51 => Err(bad("crf", c.to_string(), "an integer in 0..=51")),
            RateControl::Bitrate {
                bits_per_second, ..
            } if !(1000..=1_000_000_000_000).contains(&bits_per_second) => Err(bad(
                "bitrate",
                bits_per_second.to_string(),
                "bits per second in 1000..=1e12, e.g. 2M or 2000000",
            )),
            _ => Ok(()),
        }
    }

    /// Whether the stream is coded losslessly: `lossless`, or crf 0.
    pub fn is_lossless(&self) -> bool {
        self.lossless || self.rate == RateControl::Crf(0)
    }

    /// Bytes of one input frame.
    pub fn frame_bytes(&self) -> usize {
        self.pixel_format.frame_bytes(self.width, self.height)
    }
}
