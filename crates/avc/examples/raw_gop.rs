//! Encodes raw yuv420p frames with IDR and P pictures to Annex B and writes
//! the reconstruction, for checking against a reference decoder:
//! `raw_gop W H QP GOP in.yuv out.h264 recon.yuv` (GOP 1: intra only; DEBLOCK=0 turns the
//! filter off; SUBPEL, STEPS, PARTITIONS=0/1 and I4=0/1 adjust the search).

use std::io::{Read, Write};

use avc::encoder::{Encoder, EncoderSettings};
use avc::frame::YuvFrame;
use avc::nal::annex_b;
use avc::params::{ColourSpace, StreamParams};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 8 {
        return Err("usage: raw_gop W H QP GOP in.yuv out.h264 recon.yuv".into());
    }
    let (w, h, qp, gop): (u32, u32, u8, u32) = (
        args[1].parse()?,
        args[2].parse()?,
        args[3].parse()?,
        args[4].parse()?,
    );
    let params = StreamParams {
        width: w,
        height: h,
        fps_num: 30,
        fps_den: 1,
        colour: ColourSpace::Bt709,
        full_range: false,
    };
    let deblock = std::env::var("DEBLOCK").map(|v| v != "0").unwrap_or(true);
    let env = |k: &str, d: u32| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let mut settings = EncoderSettings {
        gop,
        deblock,
        ..EncoderSettings::default()
    };
    settings.me.subpel_rounds = env("SUBPEL", settings.me.subpel_rounds);
    settings.me.max_steps = env("STEPS", settings.me.max_steps);
    settings.me.partitions = env("PARTITIONS", 1) == 1;
    settings.intra4x4 = env("I4", 1) == 1;
    let mut enc = Encoder::new(params, settings);
    let mut input = std::fs::File::open(&args[5])?;
    let mut out = std::fs::File::create(&args[6])?;
    let mut recon = std::fs::File::create(&args[7])?;
    let frame_len = (w * h + 2 * w.div_ceil(2) * h.div_ceil(2)) as usize;
    let mut buf = vec![0u8; frame_len];
    let start = std::time::Instant::now();
    let mut frames = 0;
    while input.read_exact(&mut buf).is_ok() {
        let frame = YuvFrame::from_i420(w as usize, h as usize, &buf).ok_or("bad frame")?;
        let coded = enc.encode(&frame, qp)?;
        let mut nals = Vec::new();
        if coded.idr {
            nals.push(enc.sps().to_vec());
            nals.push(enc.pps().to_vec());
        }
        nals.extend(coded.nals);
        out.write_all(&annex_b(&nals))?;
        recon.write_all(&coded.recon.to_i420())?;
        frames += 1;
    }
    eprintln!("{frames} frames in {:.2?}", start.elapsed());
    Ok(())
}
