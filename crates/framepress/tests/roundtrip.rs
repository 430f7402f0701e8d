//! Decoded == reconstructed: every stream is decoded by FFmpeg and compared
//! byte for byte with the encoder's own reconstruction, over the matrix of
//! qp × content × size, in MP4 and Annex B, from every pixel format.

mod common;

use std::path::Path;

use framepress::{EncoderConfig, FileEncoder, PixelFormat, Rational};

const QPS: [u8; 7] = [0, 1, 10, 20, 30, 40, 51];

#[derive(Debug, Clone, Copy)]
enum Content {
    Random,
    Solid,
    Gradient,
    Natural,
}

const CONTENTS: [Content; 4] = [
    Content::Random,
    Content::Solid,
    Content::Gradient,
    Content::Natural,
];

/// `frames` I420 frames of the content; later frames differ from the first.
fn i420_frames(content: Content, w: u32, h: u32, frames: usize) -> Vec<Vec<u8>> {
    (0..frames)
        .map(|i| match content {
            Content::Random => common::uniform_random_i420(w, h, 1000 + i as u64),
            Content::Solid => common::solid_i420(w, h, [40 + 30 * i as u8, 90, 200]),
            Content::Gradient => common::gradient_i420(w, h),
            Content::Natural => common::natural_i420_at(w, h, 3 * i as i64, 2 * i as i64),
        })
        .collect()
}

/// Encodes `frames` to `path`, returns the reconstructions.
fn encode(path: &Path, config: &EncoderConfig, frames: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut enc = FileEncoder::create(path, config).expect("create");
    let mut recons = Vec::new();
    for f in frames {
        enc.encode_frame(f).expect("encode");
        recons.extend(enc.take_reconstructions().iter().map(|r| r.to_i420()));
    }
    let summary = enc.finish().expect("finish");
    assert_eq!(summary.frames, frames.len() as u64);
    assert_eq!(
        summary.bytes,
        std::fs::metadata(path).expect("output exists").len()
    );
    recons
}

fn config(w: u32, h: u32, qp: u8, format: PixelFormat) -> EncoderConfig {
    let mut c = EncoderConfig::new(w, h);
    c.rate = framepress::RateControl::Qp(qp);
    c.pixel_format = format;
    c.keep_reconstruction = true;
    c
}

/// The decoded size: odd sizes are coded rounded up to even (4:2:0 cropping
/// works in pairs of samples).
fn even(v: u32) -> u32 {
    v.div_ceil(2) * 2
}

fn check_size(w: u32, h: u32, frames: usize) {
    if common::ffmpeg().is_none() {
        eprintln!("skipping: ffmpeg not found");
        return;
    }
    let scratch = common::Scratch::new(&format!("roundtrip-{w}x{h}"));
    for content in CONTENTS {
        let input = i420_frames(content, w, h, frames);
        for qp in QPS {
            let ext = if qp.is_multiple_of(2) { "mp4" } else { "h264" };
            let path = scratch.path(format!("{content:?}-qp{qp}.{ext}"));
            let recons = encode(&path, &config(w, h, qp, PixelFormat::Yuv420p), &input);
            let decoded = common::decode_to_i420(&path, even(w), even(h));
            assert_eq!(decoded.len(), frames, "{content:?} qp {qp}: frame count");
            if let Some(msg) = common::i420_mismatch(
                &decoded.concat(),
                &recons.concat(),
                even(w),
                even(h) * frames as u32,
            ) {
                panic!("{w}x{h} {content:?} qp {qp}: decoded != reconstructed: {msg}");
            }
            if w.is_multiple_of(2)
                && h.is_multiple_of(2)
                && qp == 0
                && !matches!(content, Content::Random)
            {
                // At qp 0 the reconstruction stays close to the source.
                let err = max_abs_diff(&recons[0], &input[0]);
                assert!(err <= 3, "{content:?} {w}x{h} qp 0: max error {err}");
            }
        }
    }
}

fn max_abs_diff(a: &[u8], b: &[u8]) -> u8 {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0)
}

#[test]
fn matrix_1x1() {
    check_size(1, 1, 2);
}

#[test]
fn matrix_2x2() {
    check_size(2, 2, 2);
}

#[test]
fn matrix_16x16() {
    check_size(16, 16, 2);
}

#[test]
fn matrix_17x33() {
    check_size(17, 33, 2);
}

#[test]
fn matrix_256x256() {
    check_size(256, 256, 2);
}

#[test]
fn matrix_1920x1080() {
    check_size(1920, 1080, 1);
}

/// RGB (interleaved and planar) and NV12 inputs decode to the reconstruction,
/// and all three pixel layouts of the same picture give the same stream.
#[test]
fn every_pixel_format_round_trips() {
    if common::ffmpeg().is_none() {
        eprintln!("skipping: ffmpeg not found");
        return;
    }
    let scratch = common::Scratch::new("formats");
    let (w, h) = (96, 64);
    let rgb = common::natural(w, h);
    let planar: Vec<u8> = (0..3)
        .flat_map(|c| rgb.iter().skip(c).step_by(3).copied())
        .collect();
    let mut streams = Vec::new();
    for (format, data) in [
        (PixelFormat::Rgb24, &rgb),
        (PixelFormat::Rgb24Planar, &planar),
    ] {
        let path = scratch.path(format!("{}.mp4", format.name()));
        let recons = encode(&path, &config(w, h, 20, format), std::slice::from_ref(data));
        common::assert_i420_frames_equal(&common::decode_to_i420(&path, w, h), &recons, w, h);
        streams.push(recons);
    }
    assert_eq!(streams[0], streams[1], "planar and interleaved RGB differ");
    let i420 = common::natural_i420(w, h);
    let nv12 = common::i420_to_nv12(&i420, w, h);
    let a = encode(
        &scratch.path("a.h264"),
        &config(w, h, 20, PixelFormat::Yuv420p),
        &[i420],
    );
    let b = encode(
        &scratch.path("b.h264"),
        &config(w, h, 20, PixelFormat::Nv12),
        &[nv12],
    );
    assert_eq!(a, b, "nv12 and yuv420p of the same picture differ");
    let bytes_a = std::fs::read(scratch.path("a.h264")).expect("read");
    let bytes_b = std::fs::read(scratch.path("b.h264")).expect("read");
    assert_eq!(bytes_a, bytes_b);
}

/// ffprobe sees what was configured, for integer and NTSC-style rates.
#[test]
fn ffprobe_reports_the_stream() {
    if common::ffprobe().is_none() {
        eprintln!("skipping: ffprobe not found");
        return;
    }
    let scratch = common::Scratch::new("probe");
    for (rate, text) in [
        (Rational::new(30, 1), "30/1"),
        (Rational::new(30000, 1001), "30000/1001"),
    ] {
        let (w, h, n) = (320, 240, 12u64);
        let mut c = config(w, h, 26, PixelFormat::Yuv420p);
        c.frame_rate = rate;
        let path = scratch.path(format!("rate-{}.mp4", rate.num));
        encode(&path, &c, &i420_frames(Content::Natural, w, h, n as usize));
        let p = common::probe(&path);
        assert_eq!(p.codec_name, "h264");
        assert_eq!(p.profile, "High");
        assert_eq!((p.width, p.height), (w, h));
        assert_eq!(p.r_frame_rate, text);
        assert_eq!(p.avg_frame_rate, text);
        assert_eq!(p.nb_frames, Some(n));
        assert_eq!(p.nb_read_frames, Some(n));
        let expected = n as f64 * f64::from(rate.den) / f64::from(rate.num);
        let duration = p.duration.expect("duration");
        assert!(
            (duration - expected).abs() < 1e-3,
            "duration {duration} vs {expected}"
        );
        assert!(p.errors.is_empty(), "ffprobe errors: {}", p.errors);
    }
}

/// The colour description in the VUI reaches the decoder.
#[test]
fn colour_description_is_signalled() {
    if common::ffprobe().is_none() {
        eprintln!("skipping: ffprobe not found");
        return;
    }
    let scratch = common::Scratch::new("colour");
    let cases = [
        (
            framepress::ColourMatrix::Bt709,
            framepress::ColourRange::Limited,
            "bt709",
            "tv",
        ),
        (
            framepress::ColourMatrix::Bt601,
            framepress::ColourRange::Full,
            "smpte170m",
            "pc",
        ),
    ];
    for (i, (matrix, range, space, range_name)) in cases.into_iter().enumerate() {
        let mut c = config(64, 64, 26, PixelFormat::Rgb24);
        c.matrix = matrix;
        c.range = range;
        let path = scratch.path(format!("c{i}.mp4"));
        encode(&path, &c, &[common::natural(64, 64)]);
        let p = common::probe(&path);
        assert_eq!(p.color_space.as_deref(), Some(space));
        assert_eq!(p.color_range.as_deref(), Some(range_name));
    }
}

/// Every packet of the encoder, in order.
fn drain(enc: &mut framepress::Encoder) -> Vec<framepress::Packet> {
    std::iter::from_fn(|| enc.receive_packet()).collect()
}

#[test]
fn input_frames_code_as_packed_frames_do() {
    // 64x40 is padded in place, 50x34 (width not whole macroblocks) by a copy.
    for (w, h) in [(64, 40), (50, 34)] {
        let frames = i420_frames(Content::Natural, w, h, 5);
        let mut cfg = config(w, h, 24, PixelFormat::Yuv420p);
        cfg.threads = 2;
        let mut packed = framepress::Encoder::new(cfg.clone()).expect("packed encoder");
        let mut planar = framepress::Encoder::new(cfg).expect("planar encoder");
        let mut input = planar.input_frame();
        for (i, f) in frames.iter().enumerate() {
            packed.send_frame(f).expect("packed frame");
            let mut rest = &f[..];
            for plane in input.planes_mut() {
                let (this, next) = rest.split_at(plane.len());
                plane.copy_from_slice(this);
                rest = next;
            }
            assert!(rest.is_empty());
            if i == 2 {
                // A frame of another size is refused and changes nothing.
                let err = planar
                    .send_input_frame(&mut framepress::InputFrame::new(w + 2, h))
                    .expect_err("wrong size");
                assert!(err.to_string().contains("Encoder::input_frame"), "{err}");
            }
            planar.send_input_frame(&mut input).expect("input frame");
            // The frame handed back is one of the stream's size to fill next.
            assert_eq!(input.size(), (w, h));
        }
        let (a, b) = (drain(&mut packed), drain(&mut planar));
        assert_eq!(a.len(), frames.len());
        for (p, q) in a.iter().zip(&b) {
            assert_eq!((p.index, &p.nals, &p.recon), (q.index, &q.nals, &q.recon));
        }
        assert_eq!(a.len(), b.len());
    }
}
