//! `framepress encode INPUT OUTPUT`.

use std::path::PathBuf;

use clap::Args;
use framepress::{
    open_input, parse_size, ColourMatrix, ColourRange, Device, EncoderConfig, Error, PixelFormat,
    Rational, Result, SourceInfo,
};

use crate::args;
use crate::output::OutputArgs;
use crate::pipeline::encode_all;
use crate::quality::QualityArgs;

#[derive(Args)]
pub struct EncodeArgs {
    /// Input: a .y4m file, raw frames (give --pix-fmt and --size), or '-' for standard input.
    input: String,
    /// Output file: .mp4, .mov, .mkv, .h264 or .264; '-' writes to standard output.
    output: PathBuf,
    #[command(flatten)]
    container: OutputArgs,
    /// Layout of raw input frames: rgb24, rgb24p (planar), yuv420p or nv12.
    #[arg(long, value_name = "FORMAT", value_parser = PixelFormat::from_name)]
    pix_fmt: Option<PixelFormat>,
    /// Frame size of raw input, e.g. 1920x1080 (y4m input has it in its header).
    #[arg(long, value_name = "WxH", value_parser = parse_size)]
    size: Option<(u32, u32)>,
    /// Frame rate, N or N/D, e.g. 30 or 30000/1001 [default: the y4m header's, else 30].
    #[arg(long, value_name = "RATE", value_parser = Rational::parse)]
    fps: Option<Rational>,
    #[command(flatten)]
    quality: QualityArgs,
    /// Where to encode.
    #[arg(long, default_value = "cpu", value_parser = Device::parse)]
    device: Device,
    /// RGB → YUV matrix, also signalled in the stream: bt601 or bt709 [default: bt709].
    #[arg(long, value_name = "MATRIX", value_parser = args::colour_matrix)]
    colorspace: Option<ColourMatrix>,
    /// Sample range: tv (limited) or pc (full) [default: the y4m header's, else tv].
    #[arg(long, value_name = "RANGE", value_parser = args::colour_range)]
    color_range: Option<ColourRange>,
}

pub fn run(args: &EncodeArgs) -> Result<()> {
    let raw = match (args.pix_fmt, args.size) {
        (Some(format), Some((w, h))) => Some((format, w, h)),
        _ => None,
    };
    let mut source = open_input(&args.input, raw)?;
    let info = source.info().clone();
    check_declared(args, &info)?;
    let config = config(args, &info);
    let total = expected_frames(&args.input, &info);
    encode_all(&args.output, &args.container, &config, total, |buf| {
        source.read_frame(buf)
    })
}

/// A --size or --pix-fmt that disagrees with the y4m header is an error.
fn check_declared(args: &EncodeArgs, info: &SourceInfo) -> Result<()> {
    if let Some((w, h)) = args.size {
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
    if let Some(format) = args.pix_fmt {
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

fn config(args: &EncodeArgs, info: &SourceInfo) -> EncoderConfig {
    let mut config = EncoderConfig::new(info.width, info.height);
    config.pixel_format = info.pixel_format;
    config.frame_rate = args.fps.or(info.frame_rate).unwrap_or(config.frame_rate);
    args.quality.apply(&mut config);
    config.device = args.device;
    config.matrix = args.colorspace.or(info.matrix).unwrap_or(config.matrix);
    config.range = args.color_range.or(info.range).unwrap_or(config.range);
    config
}

/// Frames in a regular input file, estimated from its length (exact for
/// raw input), for the progress bar.
fn expected_frames(input: &str, info: &SourceInfo) -> Option<u64> {
    if input == "-" {
        return None;
    }
    let meta = std::fs::metadata(input).ok().filter(|m| m.is_file())?;
    let frame = u64::try_from(info.frame_bytes()).ok().filter(|&n| n > 0)?;
    Some(meta.len() / frame)
}
