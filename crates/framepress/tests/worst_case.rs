//! The case that crashes NVENC — high-entropy frames at low qp — and the
//! proven bound on the size of an access unit.

mod common;

use framepress::{max_access_unit_bytes, Encoder, EncoderConfig, FileEncoder, PixelFormat};

fn config(w: u32, h: u32, qp: u8, format: PixelFormat) -> EncoderConfig {
    let mut c = EncoderConfig::new(w, h);
    c.rate = framepress::RateControl::Qp(qp);
    c.pixel_format = format;
    c.keep_reconstruction = true;
    c
}

/// Size of an access unit as Annex B carries it: SPS, PPS and slices with start codes.
fn access_unit_bytes(enc: &Encoder, packet: &framepress::Packet) -> usize {
    let nals = packet.nals.iter().map(|n| n.len() + 4).sum::<usize>();
    nals + enc.sps().len() + enc.pps().len() + 8
}

/// Ten uniform-random 256×256 frames at qp 1, as NV12 and as RGB: every frame
/// stays within the bound, the file finishes, and FFmpeg decodes it to the
/// reconstruction.
#[test]
fn ten_random_frames_at_qp1_finish_and_decode() {
    let (w, h) = (256u32, 256u32);
    let scratch = common::Scratch::new("nvenc-case");
    for format in [PixelFormat::Nv12, PixelFormat::Rgb24] {
        let frames: Vec<Vec<u8>> = (0..10)
            .map(|i| common::SplitMix64::new(i).bytes(format.frame_bytes(w, h)))
            .collect();
        let mut enc = Encoder::new(config(w, h, 1, format)).expect("encoder");
        let bound = max_access_unit_bytes(w, h);
        for f in &frames {
            enc.send_frame(f).expect("send");
            let packet = enc.receive_packet().expect("packet");
            let size = access_unit_bytes(&enc, &packet);
            assert!(
                size <= bound,
                "{format:?}: access unit of {size} bytes > bound {bound}"
            );
        }
        let path = scratch.path(format!("{}.mp4", format.name()));
        let mut file = FileEncoder::create(&path, &config(w, h, 1, format)).expect("create");
        let mut recons = Vec::new();
        for f in &frames {
            file.encode_frame(f).expect("encode");
            recons.extend(file.take_reconstructions().iter().map(|r| r.to_i420()));
        }
        let summary = file.finish().expect("finish");
        assert_eq!(summary.frames, 10);
        if common::ffmpeg().is_some() {
            let decoded = common::decode_to_i420(&path, w, h);
            common::assert_i420_frames_equal(&decoded, &recons, w, h);
        } else {
            eprintln!("skipping the decode: ffmpeg not found");
        }
    }
}

/// Random frames at every qp 0..=51 never exceed the bound, and the bound is
/// not absurdly loose: within 1.6× of raw 4:2:0 plus headers.
#[test]
fn random_frames_at_every_qp_stay_within_the_bound() {
    for (w, h) in [(64u32, 48u32), (33, 17), (256, 256)] {
        let bound = max_access_unit_bytes(w, h);
        let raw = (w.div_ceil(16) * h.div_ceil(16) * 384) as usize;
        assert!(
            bound < raw * 8 / 5 + 1024,
            "bound {bound} is loose for {w}x{h}"
        );
        for qp in 0..=51u8 {
            let mut enc = Encoder::new(config(w, h, qp, PixelFormat::Yuv420p)).expect("encoder");
            let frame = common::uniform_random_i420(w, h, u64::from(qp));
            enc.send_frame(&frame).expect("send");
            let packet = enc.receive_packet().expect("packet");
            let size = access_unit_bytes(&enc, &packet);
            assert!(size <= bound, "{w}x{h} qp {qp}: {size} > {bound}");
        }
    }
}

/// Identical input gives identical bytes (integer-only decisions).
#[test]
fn encoding_is_deterministic() {
    let frame = common::natural_i420(128, 96);
    let encode = || {
        let mut enc = Encoder::new(config(128, 96, 17, PixelFormat::Yuv420p)).expect("encoder");
        enc.send_frame(&frame).expect("send");
        enc.receive_packet().expect("packet").nals
    };
    assert_eq!(encode(), encode());
}
