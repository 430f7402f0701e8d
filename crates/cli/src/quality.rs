//! Options shared by `encode` and `demo`: rate control, GOP, preset,
//! deblocking and threads.

use clap::Args;
use framepress::{parse_bitrate, EncoderConfig, Preset, RateControl};

#[derive(Args, Debug, Clone)]
pub struct QualityArgs {
    /// Constant quantiser of P pictures, 0 (best) to 51 (smallest); IDR pictures 3 lower (as x264).
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=51), conflicts_with_all = ["crf", "bitrate"])]
    qp: Option<u8>,
    /// Constant rate factor, 0 (best) to 51 (smallest) [default: 23].
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=51), conflicts_with = "bitrate")]
    crf: Option<u8>,
    /// Average bitrate in bits per second, e.g. 2M or 2500k.
    #[arg(long, value_name = "RATE", value_parser = parse_bitrate)]
    bitrate: Option<u64>,
    /// VBV buffer size in bits for --bitrate [default: two seconds of the bitrate].
    #[arg(long, value_name = "BITS", value_parser = parse_bitrate, requires = "bitrate")]
    vbv_buffer: Option<u64>,
    /// An IDR picture every N frames (1: all intra).
    #[arg(long, short = 'g', value_name = "N", default_value_t = 250, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    gop: u32,
    /// Speed/quality trade-off: ultrafast, superfast, veryfast, faster, fast, medium or slow.
    #[arg(long, default_value = "medium", value_parser = Preset::from_name)]
    preset: Preset,
    /// Turn the in-loop deblocking filter off.
    #[arg(long)]
    no_deblock: bool,
    /// Worker threads (0: every core). The output is the same for any count.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Lossless coding (with --qp 0 or --crf 0; --crf 0 alone is lossless too).
    #[arg(long)]
    lossless: bool,
}

impl QualityArgs {
    /// Writes the options into `config`.
    pub fn apply(&self, config: &mut EncoderConfig) {
        config.rate = match (self.qp, self.crf, self.bitrate) {
            (Some(qp), _, _) => RateControl::Qp(qp),
            (_, _, Some(bps)) => RateControl::Bitrate {
                bits_per_second: bps,
                buffer_bits: self.vbv_buffer.unwrap_or(0),
            },
            (_, Some(crf), _) => RateControl::Crf(crf),
            _ => RateControl::Crf(23),
        };
        config.gop = self.gop;
        config.preset = self.preset;
        config.deblock = !self.no_deblock;
        config.threads = self.threads;
        config.lossless = self.lossless;
        if self.lossless && self.qp.is_none() && self.crf.is_none() && self.bitrate.is_none() {
            config.rate = RateControl::Qp(0);
        }
    }
}
