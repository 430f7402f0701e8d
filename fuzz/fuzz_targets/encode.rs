//! The public encode API with arbitrary (small) sizes, pixel formats, settings and frame bytes. The encoder either
//! rejects the configuration with an error value, or codes every frame of the right length into one packet within
//! the proven bound; a frame of the wrong length is a `FrameSize` error that leaves the encoder usable.
#![no_main]

use arbitrary::Arbitrary;
use framepress::{
    max_access_unit_bytes, ColourMatrix, ColourRange, Encoder, EncoderConfig, Error, PixelFormat,
    Preset, RateControl,
};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    /// 0 and values above the sizes used below are kept: they must be rejected cleanly.
    width: u8,
    height: u8,
    format: u8,
    rate: Rate,
    gop: u8,
    preset: u8,
    deblock: bool,
    lossless: bool,
    bt601: bool,
    full_range: bool,
    keep_reconstruction: bool,
    frames: Vec<Frame>,
}

#[derive(Debug, Arbitrary)]
enum Rate {
    Qp(u8),
    Crf(u8),
    Bitrate { kbps: u32, buffer_kbits: u16 },
}

#[derive(Debug, Arbitrary)]
struct Frame {
    /// Bytes repeated to fill the frame (all zero when empty).
    pattern: Vec<u8>,
    /// Sent with this many bytes too many (positive) or too few (negative) when not zero.
    length_error: i8,
}

const MAX_SIDE: u32 = 40;
const MAX_FRAMES: usize = 6;

fuzz_target!(|input: Input| {
    // Sizes up to 40×40 (and 0, which must fail): large enough for several macroblocks, small enough to be fast.
    let (w, h) = (
        u32::from(input.width) % (MAX_SIDE + 1),
        u32::from(input.height) % (MAX_SIDE + 1),
    );
    let mut c = EncoderConfig::new(w, h);
    c.pixel_format = PixelFormat::ALL[usize::from(input.format) % PixelFormat::ALL.len()].0;
    c.rate = match input.rate {
        Rate::Qp(q) => RateControl::Qp(q % 60),
        Rate::Crf(q) => RateControl::Crf(q % 60),
        Rate::Bitrate { kbps, buffer_kbits } => RateControl::Bitrate {
            bits_per_second: u64::from(kbps) * 1000 / 7,
            buffer_bits: u64::from(buffer_kbits) * 1000,
        },
    };
    c.gop = u32::from(input.gop % 12);
    c.preset = Preset::ALL[usize::from(input.preset) % Preset::ALL.len()].0;
    c.deblock = input.deblock;
    c.lossless = input.lossless;
    c.matrix = if input.bt601 {
        ColourMatrix::Bt601
    } else {
        ColourMatrix::Bt709
    };
    c.range = if input.full_range {
        ColourRange::Full
    } else {
        ColourRange::Limited
    };
    c.keep_reconstruction = input.keep_reconstruction;
    c.threads = 1;

    let valid = c.validate().is_ok();
    let mut enc = match Encoder::new(c.clone()) {
        Ok(e) => e,
        Err(e) => {
            assert!(!valid, "a valid configuration was refused: {e}");
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    assert!(valid, "an invalid configuration was accepted: {c:?}");
    let bound = max_access_unit_bytes(w, h);
    let headers = enc.sps().len() + enc.pps().len() + 8;
    let expected = c.frame_bytes();
    let mut sent = 0u64;
    let mut received = 0u64;
    for frame in input.frames.iter().take(MAX_FRAMES) {
        let len = (expected as i64 + i64::from(frame.length_error)).max(0) as usize;
        let bytes: Vec<u8> = if frame.pattern.is_empty() {
            vec![0; len]
        } else {
            frame.pattern.iter().copied().cycle().take(len).collect()
        };
        match enc.send_frame(&bytes) {
            Ok(()) => {
                assert_eq!(len, expected);
                sent += 1;
            }
            Err(Error::FrameSize {
                got,
                expected: e,
                index,
                ..
            }) => {
                assert_ne!(len, expected);
                assert_eq!((got, e, index), (len, expected, sent));
            }
            Err(e) => panic!("send_frame of {len} bytes (frame is {expected}): {e}"),
        }
        while let Some(p) = enc.receive_packet() {
            assert_eq!(p.index, received);
            assert!(
                received > 0 || p.keyframe,
                "the first packet is not a keyframe"
            );
            let au = p.nals.iter().map(|n| n.len() + 4).sum::<usize>() + headers;
            assert!(
                au <= bound,
                "{w}x{h}: access unit of {au} bytes > bound {bound}"
            );
            assert_eq!(p.recon.is_some(), c.keep_reconstruction);
            received += 1;
        }
    }
    enc.flush().expect("flush");
    while enc.receive_packet().is_some() {
        received += 1;
    }
    assert_eq!(received, sent);
    assert_eq!(enc.frames_sent(), sent);
});
