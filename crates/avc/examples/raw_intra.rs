//! Encodes raw yuv420p frames to an Annex B stream and writes the encoder's
//! reconstruction beside it, for checking against a reference decoder:
//! `raw_intra W H QP in.yuv out.h264 recon.yuv`.

use std::io::{Read, Write};

use avc::encoder::IntraEncoder;
use avc::frame::YuvFrame;
use avc::nal::annex_b;
use avc::params::{ColourSpace, StreamParams};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 7 {
        return Err("usage: raw_intra W H QP in.yuv out.h264 recon.yuv".into());
    }
    let (w, h, qp): (u32, u32, u8) = (args[1].parse()?, args[2].parse()?, args[3].parse()?);
    let params = StreamParams {
        width: w,
        height: h,
        fps_num: 30,
        fps_den: 1,
        colour: ColourSpace::Bt709,
        full_range: false,
    };
    let mut enc = IntraEncoder::new(params, qp);
    enc.set_deblocking(std::env::var_os("DEBLOCK").is_some());
    let mut input = std::fs::File::open(&args[4])?;
    let mut out = std::fs::File::create(&args[5])?;
    let mut recon = std::fs::File::create(&args[6])?;
    let frame_len = (w * h + 2 * w.div_ceil(2) * h.div_ceil(2)) as usize;
    let mut buf = vec![0u8; frame_len];
    while input.read_exact(&mut buf).is_ok() {
        let frame = YuvFrame::from_i420(w as usize, h as usize, &buf).ok_or("bad frame")?;
        let coded = enc.encode(&frame)?;
        let mut nals = vec![enc.sps().to_vec(), enc.pps().to_vec()];
        nals.extend(coded.nals);
        out.write_all(&annex_b(&nals))?;
        recon.write_all(&coded.recon.to_i420())?;
    }
    Ok(())
}
