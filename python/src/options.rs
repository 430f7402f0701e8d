//! The encoding options of the Python API — TorchCodec's arguments and
//! FFmpeg's option names — turned into an [`EncoderConfig`].
//!
//! Values arrive as text, the way FFmpeg takes them (the Python layer passes
//! `str(value)`), so `qp=1`, `qp="1"` and `qp=1.0` mean the same.

use std::time::Duration;

use framepress::{
    parse_bitrate, ColourMatrix, ColourRange, EncoderConfig, Fragmentation, PixelFormat, Preset,
    RateControl, Rational,
};

use crate::error::{BindError, BindResult};

/// The FFmpeg option names `extra_options` accepts.
pub const EXTRA_OPTIONS: [&str; 10] = [
    "qp",
    "crf",
    "g",
    "b",
    "preset",
    "profile",
    "colorspace",
    "color_range",
    "movflags",
    "frag_duration",
];

/// `movflags` that ask for fragmented MP4 (a fragment per GOP, or per
/// `frag_duration`).
const FRAGMENT_FLAGS: [&str; 3] = ["frag_keyframe", "empty_moov", "default_base_moof"];

/// Fragments of one frame each, as FFmpeg's `frag_every_frame`, are written
/// as fragments of this length.
const EVERY_FRAME: Duration = Duration::from_micros(1);

/// What the caller asked for, as given.
#[derive(Debug, Default, Clone)]
pub struct Request {
    pub width: u32,
    pub height: u32,
    pub frame_rate: (u64, u64),
    pub codec: Option<String>,
    pub pixel_format: Option<String>,
    pub crf: Option<String>,
    pub preset: Option<String>,
    /// `extra_options` as (name, value) pairs.
    pub extra: Vec<(String, String)>,
}

/// The encoder configuration and the output layout the options ask for.
#[derive(Debug, Clone)]
pub struct Built {
    pub config: EncoderConfig,
    pub fragmentation: Fragmentation,
}

/// Builds and validates the encoder configuration. The frames' layout is
/// not known yet: the configuration says planar RGB until frames arrive.
pub fn build_config(request: &Request) -> BindResult<Built> {
    check_codec(request.codec.as_deref())?;
    check_pixel_format(request.pixel_format.as_deref())?;
    let mut config = EncoderConfig::new(request.width, request.height);
    config.pixel_format = PixelFormat::Rgb24Planar;
    config.frame_rate = frame_rate(request.frame_rate)?;

    let mut crf = request.crf.clone();
    let mut preset = request.preset.clone();
    let mut qp = None;
    let mut bitrate = None;
    let mut profile = None;
    let mut movflags = Fragmentation::Auto;
    let mut frag_duration = None;
    for (name, value) in &request.extra {
        match name.as_str() {
            "qp" => qp = Some(value.clone()),
            "crf" => crf = Some(once("crf", crf.is_some(), value)?),
            "preset" => preset = Some(once("preset", preset.is_some(), value)?),
            "b" => bitrate = Some(value.clone()),
            "g" => {
                config.gop = integer("g", value, 1, u64::from(framepress::config::MAX_GOP))? as u32
            }
            "profile" => profile = Some(value.clone()),
            "colorspace" => config.matrix = colour_matrix(value)?,
            "color_range" => config.range = colour_range(value)?,
            "movflags" => movflags = parse_movflags(value)?,
            "frag_duration" => {
                let micros = integer("frag_duration", value, 1, 3_600_000_000)?;
                frag_duration = Some(Duration::from_micros(micros));
            }
            _ => {
                return Err(BindError::value(format!(
                    "unknown extra option '{name}' (accepted: {})",
                    EXTRA_OPTIONS.join(", ")
                )))
            }
        }
    }

    config.rate = rate_control(crf.as_deref(), qp.as_deref(), bitrate.as_deref())?;
    if let Some(p) = preset {
        config.preset = parse_preset(&p)?;
    }
    config.validate()?;
    if let Some(p) = profile {
        check_profile(&p, config.is_lossless())?;
    }
    let fragmentation = match (movflags, frag_duration) {
        (_, Some(d)) => Fragmentation::Every(d),
        (f, None) => f,
    };
    Ok(Built {
        config,
        fragmentation,
    })
}

/// A value given both as an argument and in `extra_options`.
fn once(name: &str, already: bool, value: &str) -> BindResult<String> {
    if already {
        return Err(BindError::value(format!(
            "{name} is given twice, as the {name} argument and in extra_options (expected one of them)"
        )));
    }
    Ok(value.to_string())
}

fn check_codec(codec: Option<&str>) -> BindResult<()> {
    let Some(name) = codec else { return Ok(()) };
    let n = name.trim().to_ascii_lowercase();
    let h264 = matches!(
        n.as_str(),
        "h264" | "avc" | "avc1" | "libx264" | "libopenh264"
    ) || n.starts_with("h264_");
    if h264 {
        Ok(())
    } else {
        Err(BindError::value(format!(
            "unsupported codec '{name}' (expected h264 or an H.264 encoder name such as libx264 \
             or h264_nvenc: framepress writes H.264 only)"
        )))
    }
}

fn check_pixel_format(format: Option<&str>) -> BindResult<()> {
    match format {
        None => Ok(()),
        Some(f) if f.trim().eq_ignore_ascii_case("yuv420p") => Ok(()),
        Some(f) => Err(BindError::value(format!(
            "unsupported pixel_format '{f}' (expected yuv420p: the output is always 8-bit 4:2:0)"
        ))),
    }
}

fn frame_rate((num, den): (u64, u64)) -> BindResult<Rational> {
    match (u32::try_from(num), u32::try_from(den)) {
        (Ok(n), Ok(d)) if n > 0 && d > 0 => Ok(Rational::new(n, d).reduced()),
        _ => Err(BindError::value(format!(
            "invalid frame_rate {num}/{den} (expected a positive rate such as 30 or 30000/1001)"
        ))),
    }
}

/// Parses an integer option in `min..=max`; `"23.0"` counts as 23.
fn integer(name: &str, text: &str, min: u64, max: u64) -> BindResult<u64> {
    let t = text.trim();
    let value = t.parse::<u64>().ok().or_else(|| {
        let f = t.parse::<f64>().ok()?;
        (f.fract() == 0.0 && f >= 0.0 && f <= max as f64).then_some(f as u64)
    });
    match value {
        Some(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(BindError::value(format!(
            "invalid {name} '{text}' (expected an integer in {min}..={max})"
        ))),
    }
}

fn rate_control(
    crf: Option<&str>,
    qp: Option<&str>,
    bitrate: Option<&str>,
) -> BindResult<RateControl> {
    let given: Vec<&str> = [("crf", crf), ("qp", qp), ("b", bitrate)]
        .iter()
        .filter(|(_, v)| v.is_some())
        .map(|(n, _)| *n)
        .collect();
    if given.len() > 1 {
        return Err(BindError::value(format!(
            "{} cannot be combined (expected one rate control: crf, qp or b)",
            given.join(" and ")
        )));
    }
    if let Some(c) = crf {
        return Ok(RateControl::Crf(integer("crf", c, 0, 51)? as u8));
    }
    if let Some(q) = qp {
        return Ok(RateControl::Qp(integer("qp", q, 0, 51)? as u8));
    }
    if let Some(b) = bitrate {
        return Ok(RateControl::Bitrate {
            bits_per_second: parse_bitrate(b)?,
            buffer_bits: 0,
        });
    }
    Ok(EncoderConfig::new(16, 16).rate)
}

/// A preset name, or x264's preset number (0 = ultrafast … 6 = slow).
fn parse_preset(text: &str) -> BindResult<Preset> {
    if let Ok(i) = text.trim().parse::<usize>() {
        return Preset::ALL.get(i).map(|(p, _)| *p).ok_or_else(|| {
            BindError::value(format!(
                "invalid preset '{text}' (expected a name such as medium or a number in 0..={})",
                Preset::ALL.len() - 1
            ))
        });
    }
    Ok(Preset::from_name(text)?)
}

fn colour_matrix(text: &str) -> BindResult<ColourMatrix> {
    match text.trim().to_ascii_lowercase().as_str() {
        "bt709" => Ok(ColourMatrix::Bt709),
        "bt601" | "bt470bg" | "smpte170m" => Ok(ColourMatrix::Bt601),
        _ => Err(BindError::value(format!(
            "invalid colorspace '{text}' (expected bt709, or bt601 / bt470bg / smpte170m)"
        ))),
    }
}

fn colour_range(text: &str) -> BindResult<ColourRange> {
    match text.trim().to_ascii_lowercase().as_str() {
        "tv" | "mpeg" | "limited" => Ok(ColourRange::Limited),
        "pc" | "jpeg" | "full" => Ok(ColourRange::Full),
        _ => Err(BindError::value(format!(
            "invalid color_range '{text}' (expected tv / mpeg / limited, or pc / jpeg / full)"
        ))),
    }
}

/// FFmpeg's `movflags`: `faststart` is the layout of a whole file anyway;
/// `frag_keyframe` (with `empty_moov`, `default_base_moof`) asks for
/// crash-safe fragmented output with a fragment per GOP, `frag_every_frame`
/// for a fragment per frame.
fn parse_movflags(text: &str) -> BindResult<Fragmentation> {
    let mut fragmentation = Fragmentation::Auto;
    let flags = text
        .split('+')
        .map(|f| f.trim().trim_start_matches('-'))
        .filter(|f| !f.is_empty());
    for flag in flags {
        match flag {
            "faststart" => {}
            "frag_every_frame" => fragmentation = Fragmentation::Every(EVERY_FRAME),
            f if FRAGMENT_FLAGS.contains(&f) => {
                if fragmentation == Fragmentation::Auto {
                    fragmentation = Fragmentation::Keyframes;
                }
            }
            _ => {
                return Err(BindError::value(format!(
                    "invalid movflags '{flag}' (expected faststart, or frag_keyframe, \
                     empty_moov, default_base_moof, frag_every_frame for fragmented output, \
                     joined by +)"
                )))
            }
        }
    }
    Ok(fragmentation)
}

/// The profile follows from the coding: lossless is High 4:4:4 Predictive,
/// everything else High; asking for another one is an error.
fn check_profile(text: &str, lossless: bool) -> BindResult<()> {
    let p = text.trim().to_ascii_lowercase();
    match (p.as_str(), lossless) {
        ("high", false) | ("high444" | "high444p", true) => Ok(()),
        ("high", true) => Err(BindError::value(
            "invalid profile 'high' for lossless coding (crf 0), which is High 4:4:4 Predictive \
             (expected high444p, or no profile)",
        )),
        ("high444" | "high444p", false) => Err(BindError::value(format!(
            "invalid profile '{text}': High 4:4:4 Predictive is used only for lossless coding \
             (crf 0) (expected high, or no profile)"
        ))),
        _ => Err(BindError::value(format!(
            "invalid profile '{text}' (expected high, or high444p with crf 0 for lossless coding)"
        ))),
    }
}
