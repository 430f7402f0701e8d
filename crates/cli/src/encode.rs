//! `framepress encode INPUT OUTPUT`.

use std::path::PathBuf;

use clap::Args;
use framepress::{Device, InputFrame, PixelFormat, Result};

use crate::output::OutputArgs;
use crate::pipeline::encode_all;
use crate::quality::QualityArgs;
use crate::source::{expected_frames, SourceArgs};

#[derive(Args)]
pub struct EncodeArgs {
    /// Input: a .y4m file, raw frames (give --pix-fmt and --size), or '-' for standard input.
    input: String,
    /// Output file: .mp4, .mov, .mkv, .h264 or .264; '-' writes to standard output.
    output: PathBuf,
    #[command(flatten)]
    container: OutputArgs,
    #[command(flatten)]
    source: SourceArgs,
    #[command(flatten)]
    quality: QualityArgs,
    /// Where to encode: cpu, cuda (device 0) or cuda:N.
    #[arg(long, default_value = "cpu", value_parser = Device::parse)]
    device: Device,
}

pub fn run(args: &EncodeArgs) -> Result<()> {
    let mut source = args.source.open(&args.input)?;
    let info = source.info().clone();
    let config = args.source.config(&info, &args.quality, args.device);
    let total = expected_frames(&args.input, &info);
    if info.pixel_format == PixelFormat::Yuv420p {
        // Read straight into the encoder's frames: no copy from a buffer.
        return encode_all(
            &args.output,
            &args.container,
            &config,
            total,
            |frame: &mut InputFrame| source.read_input_frame(frame),
        );
    }
    encode_all(
        &args.output,
        &args.container,
        &config,
        total,
        |buf: &mut Vec<u8>| source.read_frame(buf),
    )
}
