//! Options about the input shared by `encode` and `batch`: the layout of raw
//! frames, the rate and the colour signalling, and the encoder
//! configuration they make with the quality options.

use clap::Args;
use framepress::{
    open_input, parse_size, ColourMatrix, ColourRange, Device, EncoderConfig, Error, FrameSource,
    PixelFormat, Rational, Result, SourceInfo,
};

use crate::args;
use crate::quality::QualityArgs;

#[derive(Args, Debug, Clone)]
pub struct SourceArgs {
    /// Layout of raw input frames: rgb24, rgb24p (planar), yuv420p or nv12.
    #[arg(long, value_name = "FORMAT", value_parser = PixelFormat::from_name)]
    pix_fmt: Option<PixelFormat>,
    /// Frame size of raw input, e.g. 1920x1080 (y4m input has it in its header).
    #[arg(long, value_name = "WxH", value_parser = parse_size)]
    size: Option<(u32, u32)>,
    /// Frame rate, N or N/D, e.g. 30 or 30000/1001 [default: the y4m header's, else 30].
    #[arg(long, value_name = "RATE", value_parser = Rational::parse)]
    fps: Option<Rational>,
    /// RGB → YUV matrix, also signalled in the stream: bt601 or bt709 [default: bt709].
    #[arg(long, value_name = "MATRIX", value_parser = args::colour_matrix)]
    colorspace: Option<ColourMatrix>,
    /// Sample range: tv (limited) or pc (full) [default: the y4m header's, else tv].
    #[arg(long, value_name = "RANGE", value_parser = args::colour_range)]
    color_range: Option<ColourRange>,
}

impl SourceArgs {
    /// Whether --pix-fmt and --size describe raw input.
    pub fn describes_raw(&self) -> bool {
        self.pix_fmt.is_some() && self.size.is_some()
    }

    /// Opens `input` ('-': standard input) and checks it against the options.
    pub fn open(&self, input: &str) -> Result<Box<dyn FrameSource>> {
        let raw = match (self.pix_fmt, self.size) {
            (Some(format), Some((w, h))) => Some((format, w, h)),
            _ => None,
        };
        let source = open_input(input, raw)?;
        self.check_declared(source.info())?;
        Ok(source)
    }

    /// A --size or --pix-fmt that disagrees with the y4m header is an error.
    fn check_declared(&self, info: &SourceInfo) -> Result<()> {
        if let Some((w, h)) = self.size {
            if (w, h) != (info.width, info.height) {
                return Err(Error::InvalidOption {
                    option: "size",
                    value: format!("{w}x{h}"),
                    expected: format!(
                        "{}x{} as the input's y4m header says, or no --size",
                        info.width, info.height
                    ),
                });
            }
        }
        if let Some(format) = self.pix_fmt {
            if format != info.pixel_format {
                return Err(Error::InvalidOption {
                    option: "pixel format",
                    value: format.name().to_string(),
                    expected: format!(
                        "{} as the input's y4m header says, or no --pix-fmt",
                        info.pixel_format.name()
                    ),
                });
            }
        }
        Ok(())
    }

    /// The encoder configuration for an input described by `info`.
    pub fn config(
        &self,
        info: &SourceInfo,
        quality: &QualityArgs,
        device: Device,
    ) -> EncoderConfig {
        let mut config = EncoderConfig::new(info.width, info.height);
        config.pixel_format = info.pixel_format;
        config.frame_rate = self.fps.or(info.frame_rate).unwrap_or(config.frame_rate);
        quality.apply(&mut config);
        config.device = device;
        config.matrix = self.colorspace.or(info.matrix).unwrap_or(config.matrix);
        config.range = self.color_range.or(info.range).unwrap_or(config.range);
        config
    }
}

/// Frames in a regular input file, estimated from its length (exact for
/// raw input), for progress reports.
pub fn expected_frames(input: &str, info: &SourceInfo) -> Option<u64> {
    if input == "-" {
        return None;
    }
    let meta = std::fs::metadata(input).ok().filter(|m| m.is_file())?;
    let frame = u64::try_from(info.frame_bytes()).ok().filter(|&n| n > 0)?;
    Some(meta.len() / frame)
}
