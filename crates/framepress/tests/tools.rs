//! Self-test of the shared test helpers (`tests/common`): FFmpeg is found, decoding is exact and complete, probing
//! reads the right fields, and the content generators are deterministic.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn ffmpeg_command(ffmpeg: &Path) -> Command {
    let mut command = Command::new(ffmpeg);
    command.args(["-nostdin", "-hide_banner", "-v", "error", "-y"]);
    command
}

fn tools() -> Option<(PathBuf, PathBuf)> {
    Some((ffmpeg()?, ffprobe()?))
}

#[test]
fn x264_stream_decodes_and_probes() {
    let Some((ffmpeg, _)) = tools() else { return };
    let scratch = Scratch::new("x264_stream_decodes_and_probes");
    let mp4 = scratch.path("testsrc2.mp4");
    // Default x264 settings (B-frames, so the mp4 has reordering and an edit list), BT.709 limited-range tags.
    run_checked(
        ffmpeg_command(&ffmpeg)
            .args([
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=176x144:rate=25",
                "-frames:v",
                "5",
            ])
            .args([
                "-vf",
                "setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv",
            ])
            .args([
                "-c:v",
                "libx264",
                "-profile:v",
                "high",
                "-pix_fmt",
                "yuv420p",
            ])
            .arg(&mp4),
    );

    let frames = decode_to_i420(&mp4, 176, 144);
    assert_eq!(frames.len(), 5);
    assert!(frames.iter().all(|f| f.len() == i420_frame_bytes(176, 144)));
    assert_ne!(frames[0], frames[4], "testsrc2 moves");

    let info = probe(&mp4);
    assert_eq!(info.codec_name, "h264");
    assert_eq!(info.profile, "High");
    assert_eq!((info.width, info.height), (176, 144));
    assert_eq!(info.pix_fmt, "yuv420p");
    assert_eq!(info.r_frame_rate, "25/1");
    assert_eq!(info.avg_frame_rate, "25/1");
    assert_eq!(info.nb_frames, Some(5));
    assert_eq!(info.nb_read_frames, Some(5));
    let duration = info.duration.expect("mp4 has a duration");
    assert!((duration - 0.2).abs() < 1e-3, "duration {duration}");
    assert!(info.level.is_some_and(|level| level > 0));
    assert_eq!(info.color_space.as_deref(), Some("bt709"));
    assert_eq!(info.color_range.as_deref(), Some("tv"));
    assert_eq!(info.color_primaries.as_deref(), Some("bt709"));
    assert_eq!(info.color_transfer.as_deref(), Some("bt709"));
    assert_eq!(info.errors, "");
}

/// Lossless x264 must give back exactly what went in: proves that decoding neither converts, scales, drops nor
/// duplicates anything, in limited and in full range (where a `-pix_fmt yuv420p` conversion would change samples).
#[test]
fn lossless_round_trip_is_exact() {
    let Some((ffmpeg, _)) = tools() else { return };
    let (w, h) = (64, 48);
    let source = vec![
        natural_i420(w, h),
        uniform_random_i420(w, h, 1),
        gradient_i420(w, h),
        solid_i420(w, h, [16, 128, 128]),
        solid_i420(w, h, [255, 0, 255]),
    ];
    for range in ["tv", "pc"] {
        let scratch = Scratch::new(&format!("lossless_round_trip_{range}"));
        let raw = scratch.path("source.yuv");
        std::fs::write(&raw, source.concat()).unwrap();
        let stream = scratch.path("lossless.264");
        run_checked(
            ffmpeg_command(&ffmpeg)
                .args([
                    "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", "64x48", "-r", "25",
                ])
                .args(["-color_range", range, "-i"])
                .arg(&raw)
                .args(["-c:v", "libx264", "-qp", "0", "-color_range", range])
                .arg(&stream),
        );

        let decoded = decode(&stream);
        // x264 may leave limited range unsignalled; full range must be signalled.
        assert_eq!(
            decoded.full_range == Some(true),
            range == "pc",
            "range {range}"
        );
        assert_i420_frames_equal(&decode_to_i420(&stream, w, h), &source, w, h);

        let info = probe(&stream);
        assert_eq!(info.profile, "High 4:4:4 Predictive");
        assert_eq!(info.nb_read_frames, Some(source.len() as u64));
        assert_eq!(info.nb_frames, None, "raw Annex B has no frame count");
        assert_eq!(info.color_range.as_deref() == Some("pc"), range == "pc");
    }
}

#[test]
#[should_panic(expected = "decodes to 176x144, expected 176x128")]
fn decode_to_i420_checks_the_size() {
    let Some(ffmpeg) = ffmpeg() else {
        panic!("decodes to 176x144, expected 176x128 (skipped: no ffmpeg)");
    };
    let scratch = Scratch::new("decode_to_i420_checks_the_size");
    let stream = scratch.path("small.264");
    run_checked(
        ffmpeg_command(&ffmpeg)
            .args([
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=176x144:rate=25",
                "-frames:v",
                "1",
            ])
            .args(["-c:v", "libx264", "-pix_fmt", "yuv420p"])
            .arg(&stream),
    );
    decode_to_i420(&stream, 176, 128);
}

#[test]
fn y4m_parser() {
    let mut data = b"YUV4MPEG2 W3 H3 F25:1 Ip A1:1 C420jpeg XCOLORRANGE=FULL\n".to_vec();
    for frame in 0..2u8 {
        data.extend_from_slice(b"FRAME\n");
        data.extend((0..i420_frame_bytes(3, 3) as u8).map(|b| b + frame));
    }
    let decoded = parse_y4m(&data).unwrap();
    assert_eq!((decoded.width, decoded.height), (3, 3));
    assert_eq!(decoded.chroma, "420jpeg");
    assert_eq!(decoded.full_range, Some(true));
    assert_eq!(decoded.frames.len(), 2);
    assert_eq!(decoded.frames[1][0], 1);
    assert_eq!(decoded.frames[1].len(), 9 + 2 * 4);

    assert!(parse_y4m(&data[..data.len() - 1])
        .unwrap_err()
        .contains("truncated"));
    assert!(parse_y4m(b"YUV4MPEG2 W2 H2 C420p10\n")
        .unwrap_err()
        .contains("420p10"));
    assert!(parse_y4m(b"RIFF").is_err());
}

#[test]
fn json_parser() {
    let text = r#" {"programs": [ ], "streams": [{"codec_name": "h264", "width": 1920, "level": -99,
        "ratio": 1.5e3, "ok": true, "none": null, "esc": "a\"b\\c\/\n\u00e9\ud83d\ude00"}, {}]} "#;
    let json = Json::parse(text).unwrap();
    let stream = json.get("streams").and_then(|s| s.index(0)).unwrap();
    assert_eq!(
        stream
            .get("codec_name")
            .and_then(Json::as_string)
            .as_deref(),
        Some("h264")
    );
    assert_eq!(
        stream.get("width").and_then(Json::as_string).as_deref(),
        Some("1920")
    );
    assert_eq!(stream.get("level"), Some(&Json::Number("-99".into())));
    assert_eq!(stream.get("ratio"), Some(&Json::Number("1.5e3".into())));
    assert_eq!(stream.get("ok"), Some(&Json::Bool(true)));
    assert_eq!(stream.get("none"), Some(&Json::Null));
    assert_eq!(
        stream.get("esc").and_then(Json::as_string).as_deref(),
        Some("a\"b\\c/\n\u{e9}\u{1f600}")
    );
    assert_eq!(json.get("programs"), Some(&Json::Array(vec![])));
    assert_eq!(
        json.get("streams").and_then(|s| s.index(1)),
        Some(&Json::Object(vec![]))
    );
    assert!(json.get("missing").is_none());

    for bad in [
        "",
        "{",
        "[1,]",
        "{\"a\" 1}",
        "\"open",
        "nul",
        "1 2",
        "{\"a\":1}}",
        "-",
    ] {
        assert!(Json::parse(bad).is_err(), "{bad:?} should not parse");
    }
}

#[test]
fn generators_are_deterministic_and_sized() {
    for (w, h) in [(1, 1), (2, 2), (33, 17), (64, 48), (1000, 700)] {
        let rgb = rgb24_frame_bytes(w, h);
        let i420 = i420_frame_bytes(w, h);
        assert_eq!(uniform_random(w, h, 7).len(), rgb);
        assert_eq!(solid(w, h, [1, 2, 3]).len(), rgb);
        assert_eq!(gradient(w, h).len(), rgb);
        assert_eq!(natural(w, h).len(), rgb);
        assert_eq!(uniform_random_i420(w, h, 7).len(), i420);
        assert_eq!(solid_i420(w, h, [1, 2, 3]).len(), i420);
        assert_eq!(gradient_i420(w, h).len(), i420);
        assert_eq!(natural_i420(w, h).len(), i420);
        assert_eq!(i420_to_nv12(&natural_i420(w, h), w, h).len(), i420);
    }
    assert_eq!(i420_frame_bytes(33, 17), 33 * 17 + 2 * 17 * 9);

    assert_eq!(uniform_random(33, 17, 7), uniform_random(33, 17, 7));
    assert_ne!(uniform_random(33, 17, 7), uniform_random(33, 17, 8));
    assert_eq!(natural_at(40, 30, -5, 700), natural_at(40, 30, -5, 700));
    // Panning by one pixel shifts the content by one pixel.
    let (a, b) = (natural_at(40, 30, 0, 0), natural_at(40, 30, 1, 0));
    assert_eq!(a[3..40 * 3], b[..39 * 3]);

    let mut rng = SplitMix64::new(0);
    let first = rng.next_u64();
    assert_eq!(SplitMix64::new(0).next_u64(), first);
    assert!((0..1000).all(|_| rng.below(10) < 10));
    assert!((0..1000).all(|_| (-3..=3).contains(&rng.range(-3, 3))));

    assert!(solid(4, 4, [9, 8, 7]).chunks(3).all(|p| p == [9, 8, 7]));
    let g = gradient(256, 256);
    assert_eq!(&g[..3], &[0, 0, 0]);
    assert_eq!(&g[g.len() - 3..], &[255, 255, 255]);

    // Natural content has detail: many distinct luma values and no flat frame.
    let luma = &natural_i420(128, 128)[..128 * 128];
    let mut seen = [false; 256];
    luma.iter().for_each(|&v| seen[v as usize] = true);
    assert!(seen.iter().filter(|&&s| s).count() > 64);

    // BT.601 limited range: black, white and grey land where they should.
    assert_eq!(
        rgb24_to_i420(&solid(2, 2, [0, 0, 0]), 2, 2),
        [16, 16, 16, 16, 128, 128]
    );
    assert_eq!(
        rgb24_to_i420(&solid(2, 2, [255, 255, 255]), 2, 2),
        [235, 235, 235, 235, 128, 128]
    );
    assert_eq!(i420_to_nv12(&[1, 2, 3, 4, 5, 6], 2, 2), [1, 2, 3, 4, 5, 6]);
    assert_eq!(
        i420_to_nv12(&solid_i420(4, 2, [0, 1, 2]), 4, 2)[8..],
        [1, 2, 1, 2]
    );
}

#[test]
fn natural_is_the_astronaut_when_available() {
    let path = test_images_dir().join("astronaut_512x512.rgb");
    let Ok(image) = std::fs::read(&path) else {
        assert!(!tools_required(), "{} missing", path.display());
        eprintln!("skipping: {} not found", path.display());
        return;
    };
    assert_eq!(natural(512, 512), image);
    // Larger sizes mirror the image at its edges.
    let big = natural(1024, 1);
    assert_eq!(big[512 * 3..513 * 3], image[511 * 3..512 * 3]);
}

#[test]
fn mismatch_report_names_the_sample() {
    let (w, h) = (32, 32);
    let a = gradient_i420(w, h);
    assert_eq!(i420_mismatch(&a, &a, w, h), None);
    let mut b = a.clone();
    b[17 * 32 + 20] ^= 1; // luma (20, 17): macroblock (1, 1)
    let why = i420_mismatch(&b, &a, w, h).unwrap();
    assert!(
        why.contains("plane Y sample (20, 17) in macroblock (1, 1)"),
        "{why}"
    );
    let mut c = a.clone();
    c[32 * 32 + 16 * 16 + 9] ^= 1; // V (9, 0)
    let why = i420_mismatch(&c, &a, w, h).unwrap();
    assert!(
        why.contains("plane V sample (9, 0) in macroblock (1, 0)"),
        "{why}"
    );
    assert!(i420_mismatch(&a[1..], &a, w, h)
        .unwrap()
        .contains("sizes differ"));
}
