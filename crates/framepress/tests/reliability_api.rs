//! Bad inputs and faults through the Rust API: every one is an error value of the right type with a message that
//! says what is wrong and what is accepted; after an argument error the encoder stays usable; nothing panics.
//! Also the regressions found by fuzzing (fuzz/) and the GPU faults that need a GPU (FRAMEPRESS_REQUIRE_GPU=1).
//!
//! docs/RELIABILITY.md lists the whole bad-input catalogue (CLI, Rust API, Python) with the test covering each.

mod common;

use std::io::Cursor;

use framepress::config::MAX_THREADS;
use framepress::{
    open_input, parse_bitrate, parse_size, Device, Encoder, EncoderConfig, Error, FileEncoder,
    Format, FrameSource, MediaWriter, OutputOptions, PixelFormat, Preset, RateControl, Rational,
    RawReader, Y4mReader,
};

/// The error of `r`, which must have failed.
fn err<T>(r: framepress::Result<T>) -> Error {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

/// Asserts that `e`'s message contains every needle.
fn says(e: &Error, needles: &[&str]) {
    let text = e.to_string();
    for n in needles {
        assert!(text.contains(n), "{n:?} missing from: {text}");
    }
}

fn config(w: u32, h: u32) -> EncoderConfig {
    let mut c = EncoderConfig::new(w, h);
    c.threads = 1;
    c
}

fn invalid_option(e: &Error, which: &str) {
    assert!(
        matches!(e, Error::InvalidOption { option, .. } if *option == which),
        "expected InvalidOption {which}, got {e:?}"
    );
}

// ---- Configurations. ----

#[test]
fn bad_dimensions_are_invalid_dimension_errors() {
    for (w, h, name, value) in [
        (0, 16, "width", 0),
        (16, 0, "height", 0),
        (8193, 16, "width", 8193),
        (16, u32::MAX, "height", u32::MAX),
    ] {
        let e = err(Encoder::new(config(w, h)));
        assert!(
            matches!(e, Error::InvalidDimension { name: n, value: v, max: 8192 } if n == name && v == value),
            "{e:?}"
        );
        says(
            &e,
            &[&format!("invalid {name} {value} (expected 1..=8192)")],
        );
    }
}

/// A change to a valid configuration, the option it makes invalid, and what the message must say.
type Change = (
    fn(&mut EncoderConfig),
    &'static str,
    &'static [&'static str],
);

#[test]
fn bad_rates_gops_threads_and_lossless_are_invalid_options() {
    let cases: [Change; 10] = [
        (|c| c.rate = RateControl::Qp(52), "qp", &["'52'", "0..=51"]),
        (
            |c| c.rate = RateControl::Crf(255),
            "crf",
            &["'255'", "0..=51"],
        ),
        (
            |c| {
                c.rate = RateControl::Bitrate {
                    bits_per_second: 999,
                    buffer_bits: 0,
                }
            },
            "bitrate",
            &["999", "1000"],
        ),
        (
            |c| {
                c.rate = RateControl::Bitrate {
                    bits_per_second: u64::MAX,
                    buffer_bits: 0,
                }
            },
            "bitrate",
            &["1e12"],
        ),
        (
            |c| {
                c.lossless = true;
                c.rate = RateControl::Qp(20);
            },
            "lossless",
            &["qp 0 or crf 0"],
        ),
        (|c| c.gop = 0, "gop", &["'0'", "1..=100000"]),
        (|c| c.gop = 100_001, "gop", &["100001"]),
        (|c| c.frame_rate = Rational::new(0, 1), "frame rate", &["0"]),
        (
            |c| c.threads = MAX_THREADS + 1,
            "threads",
            &["1025", "1..=1024"],
        ),
        (|c| c.threads = usize::MAX, "threads", &["1..=1024"]),
    ];
    for (change, option, needles) in cases {
        let mut c = config(16, 16);
        change(&mut c);
        let e = err(Encoder::new(c.clone()));
        invalid_option(&e, option);
        says(&e, needles);
        // validate() and FileEncoder agree with Encoder::new.
        invalid_option(&err(c.validate()), option);
    }
}

/// Found by the `options` fuzz target: ".2" (and anything under half a bit per second) parsed as a bitrate of 0,
/// which `--vbv-buffer` then silently read as "the default".
#[test]
fn fuzz_regression_bitrate_rounding_to_zero_is_an_error() {
    for text in [
        ".2",
        "0.4",
        "0.0000001k",
        "4e-10M",
        "0",
        "-1M",
        "inf",
        "NaN",
        "2T",
        "1e13",
        "",
        "k",
    ] {
        let e = err(parse_bitrate(text));
        invalid_option(&e, "bitrate");
        says(&e, &[&format!("'{text}'"), "2000000"]);
    }
    assert_eq!(parse_bitrate("0.5").ok(), Some(1));
    assert_eq!(parse_bitrate("2.5M").ok(), Some(2_500_000));
    assert_eq!(parse_bitrate("1000G").ok(), Some(1_000_000_000_000));
}

#[test]
fn bad_option_texts_are_invalid_options() {
    for (r, option, needle) in [
        (
            PixelFormat::from_name("rgb32").map(|_| ()),
            "pixel format",
            "rgb24, rgb24p, yuv420p, nv12",
        ),
        (
            Preset::from_name("ludicrous").map(|_| ()),
            "preset",
            "ultrafast",
        ),
        (Rational::parse("0").map(|_| ()), "frame rate", "30000/1001"),
        (
            Rational::parse("30/0").map(|_| ()),
            "frame rate",
            "30000/1001",
        ),
        (
            Rational::parse("-30").map(|_| ()),
            "frame rate",
            "30000/1001",
        ),
        (
            Rational::parse("99999999999").map(|_| ()),
            "frame rate",
            "30000/1001",
        ),
        (Device::parse("gpu").map(|_| ()), "device", "cuda:N"),
        (Device::parse("cuda:-1").map(|_| ()), "device", "cuda:N"),
        (Device::parse("cuda:").map(|_| ()), "device", "cuda:N"),
        (parse_size("16by16").map(|_| ()), "size", "WIDTHxHEIGHT"),
        (parse_size("").map(|_| ()), "size", "WIDTHxHEIGHT"),
    ] {
        let e = err(r);
        invalid_option(&e, option);
        says(&e, &[needle]);
    }
    let e = err(parse_size("0x10"));
    assert!(
        matches!(
            e,
            Error::InvalidDimension {
                name: "width",
                value: 0,
                ..
            }
        ),
        "{e:?}"
    );
}

// ---- Frames. ----

/// A frame whose size changes mid-stream is a `FrameSize` error naming the frame, what came and what was expected;
/// the encoder is left as it was, so the stream goes on and decodes to exactly the frames accepted.
#[test]
fn frame_of_the_wrong_size_mid_stream_is_an_error_and_the_encoder_goes_on() {
    let (w, h) = (32u32, 16u32);
    let mut c = config(w, h);
    c.keep_reconstruction = true;
    c.rate = RateControl::Qp(10);
    let mut enc = Encoder::new(c.clone()).expect("encoder");
    let good = |i: u64| common::natural_i420_at(w, h, i as i64, 0);
    enc.send_frame(&good(0)).expect("frame 0");
    for bad in [
        vec![],
        vec![0u8; 1],
        vec![0u8; c.frame_bytes() - 1],
        vec![0u8; c.frame_bytes() + 1],
        common::natural_i420(w * 2, h),
    ] {
        let e = err(enc.send_frame(&bad));
        assert!(
            matches!(e, Error::FrameSize { index: 1, got, expected: 768, .. } if got == bad.len()),
            "{e:?}"
        );
        says(
            &e,
            &[
                "frame 1",
                &format!("has {} bytes", bad.len()),
                "expected 768",
                "32x16 yuv420p",
            ],
        );
    }
    enc.send_frame(&good(1)).expect("frame 1 after the errors");
    enc.flush().expect("flush");
    let mut packets = Vec::new();
    while let Some(p) = enc.receive_packet() {
        packets.push(p);
    }
    assert_eq!(
        packets.iter().map(|p| p.index).collect::<Vec<_>>(),
        vec![0, 1]
    );
    assert_eq!(enc.frames_sent(), 2);
}

/// Through `MediaWriter` a wrong-size frame also changes nothing: the file is finished with the good frames and
/// decodes to their reconstructions.
#[test]
fn media_writer_keeps_going_after_a_wrong_size_frame() {
    let scratch = common::Scratch::new("reliability-writer-size");
    let (w, h) = (48u32, 32u32);
    let path = scratch.path("out.mp4");
    let mut c = config(w, h);
    c.keep_reconstruction = true;
    let mut writer = MediaWriter::create(&path, &OutputOptions::default()).expect("writer");
    let video = writer.add_video(&c).expect("video");
    let mut recons = Vec::new();
    for i in 0..4u64 {
        writer
            .encode_frame(video, &common::natural_i420_at(w, h, 2 * i as i64, 0))
            .expect("frame");
        let e = err(writer.encode_frame(video, &[1, 2, 3]));
        assert!(matches!(e, Error::FrameSize { got: 3, .. }), "{e:?}");
        recons.extend(
            writer
                .take_reconstructions(video)
                .iter()
                .map(|r| r.to_i420()),
        );
    }
    let summary = writer.finish().expect("finish");
    assert_eq!(summary.streams[0].frames, 4);
    if common::ffmpeg().is_some() {
        common::assert_i420_frames_equal(&common::decode_to_i420(&path, w, h), &recons, w, h);
    }
}

/// `FileEncoder` abandons its output at the first error (documented): later calls are `InvalidState`, and no file
/// is left behind.
#[test]
fn file_encoder_abandons_the_output_after_an_error() {
    let scratch = common::Scratch::new("reliability-file-encoder");
    let path = scratch.path("out.mp4");
    let c = config(16, 16);
    let mut enc = FileEncoder::create(&path, &c).expect("create");
    enc.encode_frame(&vec![0u8; c.frame_bytes()])
        .expect("frame 0");
    let e = err(enc.encode_frame(&[0u8; 5]));
    assert!(
        matches!(
            e,
            Error::FrameSize {
                index: 1,
                got: 5,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(matches!(
        err(enc.encode_frame(&vec![0u8; c.frame_bytes()])),
        Error::InvalidState
    ));
    says(
        &err(enc.finish()),
        &["encoder used after an error or after finish"],
    );
    assert!(
        std::fs::read_dir(scratch.dir())
            .expect("list")
            .next()
            .is_none(),
        "files left behind"
    );
}

#[test]
fn bad_outputs_are_errors() {
    let scratch = common::Scratch::new("reliability-outputs");
    let c = config(16, 16);
    let e = err(FileEncoder::create(&scratch.path("clip.avi"), &c));
    assert!(matches!(e, Error::UnknownExtension { .. }), "{e:?}");
    says(&e, &["clip.avi", ".mp4"]);
    let e = err(FileEncoder::create(
        &scratch.path("no/such/dir/clip.mp4"),
        &c,
    ));
    says(&e, &["clip.mp4"]);
    // A writer with no frames at all is an error at finish, and leaves nothing.
    let path = scratch.path("empty.mkv");
    let mut writer = MediaWriter::create(&path, &OutputOptions::default()).expect("writer");
    writer.add_video(&c).expect("video");
    let e = err(writer.finish());
    says(&e, &["empty.mkv"]);
    assert!(!path.exists());
    // Streams are added before the first frame.
    let mut writer =
        MediaWriter::to_stream(Vec::new(), Format::Mp4, &OutputOptions::default()).expect("writer");
    let video = writer.add_video(&c).expect("video");
    writer
        .encode_frame(video, &vec![0u8; c.frame_bytes()])
        .expect("frame");
    let e = err(writer.add_video(&c));
    invalid_option(&e, "stream");
}

// ---- Inputs. ----

#[test]
fn bad_inputs_are_errors() {
    let scratch = common::Scratch::new("reliability-inputs");
    let missing = scratch.path("absent.yuv");
    let e = err(open_input(
        missing.to_str().expect("utf-8"),
        Some((PixelFormat::Yuv420p, 2, 2)),
    ));
    assert!(matches!(e, Error::Io { action: "open", .. }), "{e:?}");
    says(&e, &["absent.yuv"]);

    let e = err(Y4mReader::new(Cursor::new(b"RIFF\n".to_vec()), "x.y4m"));
    assert!(matches!(e, Error::InvalidInput(_)), "{e:?}");
    says(&e, &["not a y4m file", "YUV4MPEG2"]);

    let e = err(Y4mReader::new(
        Cursor::new(b"YUV4MPEG2 W4 H4 C444\n".to_vec()),
        "x.y4m",
    ));
    says(&e, &["C444", "420jpeg"]);

    let mut r = RawReader::new(
        Cursor::new(vec![0u8; 7]),
        PixelFormat::Yuv420p,
        2,
        2,
        "x.yuv",
    )
    .expect("reader");
    let mut buf = Vec::new();
    assert!(r.read_frame(&mut buf).expect("frame 0"));
    let e = err(r.read_frame(&mut buf));
    assert!(
        matches!(
            e,
            Error::FrameSize {
                index: 1,
                got: 1,
                expected: 6,
                ..
            }
        ),
        "{e:?}"
    );
    says(&e, &["ends mid-frame"]);
}

// ---- CUDA. ----

fn gpu_required() -> bool {
    std::env::var("FRAMEPRESS_REQUIRE_GPU").is_ok_and(|v| v == "1")
}

/// Without a GPU (or without a driver) `Device::Cuda` is a `Cuda` error that points at the CPU; settings the CUDA
/// backend does not code are refused as an `InvalidOption` for the device.
#[test]
fn cuda_without_a_gpu_is_an_error_whatever_the_settings() {
    let mut c = config(16, 16);
    c.device = Device::Cuda(0);
    c.gop = 1;
    let bitrate = RateControl::Bitrate {
        bits_per_second: 1_000_000,
        buffer_bits: 0,
    };
    for (rate, lossless) in [
        (RateControl::Qp(20), false),
        (bitrate, false),
        (RateControl::Qp(0), true),
    ] {
        c.rate = rate;
        c.lossless = lossless;
        match Encoder::new(c.clone()) {
            Ok(_) => eprintln!("a CUDA device is present: the no-GPU error is not checked here"),
            Err(e) => {
                assert!(!gpu_required(), "FRAMEPRESS_REQUIRE_GPU=1 but: {e}");
                assert!(matches!(e, Error::Cuda(_)), "{e:?}");
                says(&e, &["CUDA", "--device cpu"]);
            }
        }
    }
}

/// Out of GPU memory: open encoders of 8192×8192 frames, each holding a batch in flight, until the device runs
/// out. Every failure must be a `Cuda` error value (no panic, no abort), and the encoders that did open keep
/// working. Runs only with FRAMEPRESS_REQUIRE_GPU=1.
#[test]
fn gpu_out_of_memory_is_an_error() {
    if !gpu_required() {
        eprintln!("skipping: needs a GPU (FRAMEPRESS_REQUIRE_GPU=1)");
        return;
    }
    let (w, h) = (8192u32, 8192u32);
    let mut c = config(w, h);
    c.device = Device::Cuda(0);
    c.gop = 1;
    c.rate = RateControl::Qp(30);
    let frame = vec![77u8; c.frame_bytes()];
    let mut encoders = Vec::new();
    let mut failure = None;
    'grow: for _ in 0..200 {
        let mut enc = match Encoder::new(c.clone()) {
            Ok(e) => e,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        // A full batch makes the backend allocate its working buffers and code on the device.
        for _ in 0..16 {
            if let Err(e) = enc.send_frame(&frame) {
                failure = Some(e);
                break 'grow;
            }
        }
        while enc.receive_packet().is_some() {}
        encoders.push(enc);
    }
    eprintln!(
        "{} encoders of {w}x{h} opened before: {failure:?}",
        encoders.len()
    );
    if let Some(e) = &failure {
        assert!(matches!(e, Error::Cuda(_) | Error::InvalidState), "{e:?}");
        assert!(!e.to_string().is_empty());
    }
    // Memory freed by dropping half of them is usable again.
    encoders.truncate(encoders.len() / 2);
    let mut enc = Encoder::new(c).expect("an encoder after freeing memory");
    enc.send_frame(&frame).expect("frame");
    enc.flush().expect("flush");
    assert!(enc.receive_packet().is_some());
}

// ---- Every container layout. ----

/// A `Write` whose bytes stay readable after the writer took it.
#[derive(Clone, Default)]
struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The worst case (uniform random frames at qp 0, and a 1×1 picture) through `MediaWriter` in every format, every
/// fragmentation, to a file and to a stream that cannot seek, with and without a PCM audio track: each output
/// decodes in FFmpeg to exactly the reconstructions.
#[test]
fn every_container_layout_decodes_to_the_reconstruction() {
    use framepress::{AudioCodec, AudioConfig, Fragmentation};
    use std::time::Duration;

    if common::ffmpeg().is_none() {
        return;
    }
    let scratch = common::Scratch::new("reliability-layouts");
    let mut cases = 0;
    for (w, h) in [(1u32, 1u32), (40, 24)] {
        for format in [Format::Mp4, Format::Mov, Format::Mkv, Format::AnnexB] {
            for fragmentation in [
                Fragmentation::Auto,
                Fragmentation::Keyframes,
                Fragmentation::Every(Duration::from_millis(40)),
            ] {
                for to_stream in [false, true] {
                    let audio = format != Format::AnnexB && w > 1;
                    let name = format!(
                        "{w}x{h}-{}-{fragmentation:?}-{}.{}",
                        format.name(),
                        if to_stream { "stream" } else { "file" },
                        if format == Format::AnnexB {
                            "h264"
                        } else {
                            format.name()
                        }
                    )
                    .replace(['(', ')', ' ', '{', '}', ':', ','], "");
                    let path = scratch.path(&name);
                    let options = OutputOptions {
                        format: Some(format),
                        fragmentation,
                    };
                    let shared = Shared::default();
                    let mut writer = if to_stream {
                        MediaWriter::to_stream(shared.clone(), format, &options)
                    } else {
                        MediaWriter::create(&path, &options)
                    }
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                    let mut c = config(w, h);
                    c.rate = RateControl::Qp(0);
                    c.gop = 2;
                    c.keep_reconstruction = true;
                    let video = writer.add_video(&c).expect("video");
                    let sound = audio.then(|| {
                        let mut a = AudioConfig::new(48_000, 2);
                        a.codec = AudioCodec::Pcm;
                        writer.add_audio(&a).expect("audio")
                    });
                    let mut recons = Vec::new();
                    for i in 0..5u64 {
                        let frame = common::uniform_random_i420(w, h, i);
                        writer.encode_frame(video, &frame).expect("frame");
                        if let Some(a) = sound {
                            writer
                                .add_samples(a, &vec![0.25f32; 2 * 1600])
                                .expect("samples");
                        }
                        recons.extend(
                            writer
                                .take_reconstructions(video)
                                .iter()
                                .map(|r| r.to_i420()),
                        );
                    }
                    writer.finish().unwrap_or_else(|e| panic!("{name}: {e}"));
                    if to_stream {
                        std::fs::write(&path, &*shared.0.lock().expect("lock")).expect("write");
                    }
                    let (ow, oh) = (w.div_ceil(2) * 2, h.div_ceil(2) * 2);
                    let decoded = common::decode_to_i420(&path, ow, oh);
                    common::assert_i420_frames_equal(&decoded, &recons, ow, oh);
                    cases += 1;
                }
            }
        }
    }
    assert_eq!(cases, 48);
}
