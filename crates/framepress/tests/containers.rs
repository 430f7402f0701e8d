//! MOV, Matroska and fragmented MP4, on files, pipes and streams: every output
//! decodes in FFmpeg to exactly the encoder's reconstruction, and ffprobe
//! reports the right stream and file metadata.

mod common;
mod media;

use std::path::Path;
use std::time::Duration;

use framepress::{
    EncoderConfig, FileEncoder, Format, Fragmentation, MediaWriter, OutputOptions, RateControl,
    Rational,
};

const W: u32 = 96;
const H: u32 = 64;

/// `n` I420 frames of a panned natural image.
fn frames(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| common::natural_i420_at(W, H, 5 * i as i64, 3 * i as i64))
        .collect()
}

fn config(gop: u32) -> EncoderConfig {
    let mut c = EncoderConfig::new(W, H);
    c.rate = RateControl::Qp(26);
    c.gop = gop;
    c.frame_rate = Rational::new(25, 1);
    c.keep_reconstruction = true;
    c.preset = framepress::Preset::Veryfast;
    c
}

/// Encodes `input` through a [`MediaWriter`]; returns the reconstructions.
fn write(mut w: MediaWriter, config: &EncoderConfig, input: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let v = w.add_video(config).expect("add video");
    let mut recons = Vec::new();
    for f in input {
        w.encode_frame(v, f).expect("encode");
        recons.extend(w.take_reconstructions(v).iter().map(|r| r.to_i420()));
    }
    let summary = w.finish().expect("finish");
    assert_eq!(summary.streams[0].frames, input.len() as u64);
    recons
}

fn assert_decodes_to(path: &Path, recons: &[Vec<u8>]) {
    let decoded = media::decode_video(path, 0, W, H);
    assert_eq!(
        decoded.len(),
        recons.len(),
        "{}: frame count",
        path.display()
    );
    common::assert_i420_frames_equal(&decoded, recons, W, H);
}

/// Checks ffprobe's view of a single-video file of `n` frames at 25 fps.
fn assert_probe(path: &Path, format: &str, n: u64) {
    let (format_name, duration, streams) = media::probe_all(path);
    assert!(
        format_name.contains(format),
        "{}: format {format_name}",
        path.display()
    );
    assert_eq!(streams.len(), 1, "{streams:?}");
    let s = &streams[0];
    assert_eq!(
        (s.codec_type.as_str(), s.codec_name.as_str()),
        ("video", "h264")
    );
    assert_eq!((s.width, s.height), (Some(W), Some(H)));
    assert_eq!(s.r_frame_rate, "25/1", "{}", path.display());
    assert_eq!(s.nb_read_frames, Some(n), "{}", path.display());
    let d = duration.expect("a duration");
    assert!(
        (d - n as f64 / 25.0).abs() < 0.011,
        "{}: duration {d}",
        path.display()
    );
    let p = common::probe(path);
    assert_eq!(p.profile, "High", "{}", path.display());
    assert_eq!(p.pix_fmt, "yuv420p");
}

#[test]
fn mov_and_mkv_round_trip_with_metadata() {
    if common::ffmpeg().is_none() || common::ffprobe().is_none() {
        return;
    }
    let scratch = common::Scratch::new("containers-mov-mkv");
    let input = frames(12);
    for (ext, format) in [("mov", "mov"), ("mkv", "matroska"), ("MP4", "mp4")] {
        let path = scratch.path(format!("clip.{ext}"));
        // FileEncoder picks the container from the extension.
        let mut enc = FileEncoder::create(&path, &config(5)).expect("create");
        let mut recons = Vec::new();
        for f in &input {
            enc.encode_frame(f).expect("encode");
            recons.extend(enc.take_reconstructions().iter().map(|r| r.to_i420()));
        }
        let summary = enc.finish().expect("finish");
        assert_eq!(summary.bytes, std::fs::metadata(&path).unwrap().len());
        assert_decodes_to(&path, &recons);
        assert_probe(&path, format, 12);
        let head = std::fs::read(&path).unwrap();
        match ext {
            "mov" => assert_eq!(&head[4..12], b"ftypqt  "),
            "mkv" => assert_eq!(&head[..4], [0x1A, 0x45, 0xDF, 0xA3]),
            _ => assert_eq!(&head[4..12], b"ftypisom"),
        }
    }
}

#[test]
fn fragmented_mp4_has_a_fragment_per_gop_and_round_trips() {
    if common::ffmpeg().is_none() || common::ffprobe().is_none() {
        return;
    }
    let scratch = common::Scratch::new("containers-fmp4");
    let input = frames(14);
    for (ext, format) in [("mp4", "mp4"), ("mov", "mov")] {
        let path = scratch.path(format!("frag.{ext}"));
        let options = OutputOptions {
            fragmentation: Fragmentation::Keyframes,
            ..OutputOptions::default()
        };
        let recons = write(
            MediaWriter::create(&path, &options).unwrap(),
            &config(4),
            &input,
        );
        let data = std::fs::read(&path).unwrap();
        let kinds: Vec<String> = media::top_level_boxes(&data)
            .into_iter()
            .map(|b| b.0)
            .collect();
        // GOPs of 4: frames 0-3, 4-7, 8-11, 12-13.
        let mut want = vec!["ftyp".to_string(), "moov".to_string()];
        for _ in 0..4 {
            want.push("moof".into());
            want.push("mdat".into());
        }
        assert_eq!(kinds, want, "{ext}");
        assert_decodes_to(&path, &recons);
        // The duration comes from mehd, patched at the end.
        assert_probe(&path, format, 14);
    }
}

#[test]
fn fragments_of_a_chosen_duration() {
    if common::ffmpeg().is_none() {
        return;
    }
    let scratch = common::Scratch::new("containers-frag-duration");
    let path = scratch.path("every.mp4");
    let options = OutputOptions {
        fragmentation: Fragmentation::Every(Duration::from_millis(200)),
        ..OutputOptions::default()
    };
    // One GOP; fragments of 5 frames (200 ms at 25 fps) start with P pictures.
    let input = frames(13);
    let recons = write(
        MediaWriter::create(&path, &options).unwrap(),
        &config(250),
        &input,
    );
    let data = std::fs::read(&path).unwrap();
    let moofs = media::top_level_boxes(&data)
        .iter()
        .filter(|b| b.0 == "moof")
        .count();
    assert_eq!(moofs, 3);
    assert_decodes_to(&path, &recons);
}

#[test]
fn streams_that_cannot_seek_get_fragments_or_streaming_layouts() {
    if common::ffmpeg().is_none() {
        return;
    }
    let scratch = common::Scratch::new("containers-stream");
    let input = frames(9);
    for (format, ext) in [
        (Format::Mp4, "mp4"),
        (Format::Mov, "mov"),
        (Format::Mkv, "mkv"),
        (Format::AnnexB, "h264"),
    ] {
        let path = scratch.path(format!("stream.{ext}"));
        // A File seen only as `Write`: the writer cannot seek it.
        let file = std::fs::File::create(&path).unwrap();
        let w = MediaWriter::to_stream(file, format, &OutputOptions::default()).unwrap();
        let recons = write(w, &config(4), &input);
        let data = std::fs::read(&path).unwrap();
        if matches!(format, Format::Mp4 | Format::Mov) {
            let kinds: Vec<String> = media::top_level_boxes(&data)
                .into_iter()
                .map(|b| b.0)
                .collect();
            assert_eq!(&kinds[..3], ["ftyp", "moov", "moof"], "{format:?}");
        }
        if format == Format::Mkv {
            // The Segment's size stays unknown (0x01FFFFFFFFFFFFFF).
            let at = data
                .windows(4)
                .position(|w| w == [0x18, 0x53, 0x80, 0x67])
                .unwrap();
            assert_eq!(
                &data[at + 4..at + 12],
                &[1, 255, 255, 255, 255, 255, 255, 255]
            );
        }
        assert_decodes_to(&path, &recons);
    }
}

#[test]
fn a_stream_that_seeks_but_cannot_read_gets_moov_at_the_end() {
    if common::ffmpeg().is_none() {
        return;
    }
    let scratch = common::Scratch::new("containers-write-seek");
    let path = scratch.path("late.mp4");
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    let output = framepress::Output::write_seek(file, &path);
    let w = MediaWriter::new(output, Format::Mp4, &OutputOptions::default()).unwrap();
    let input = frames(6);
    let recons = write(w, &config(3), &input);
    let data = std::fs::read(&path).unwrap();
    let kinds: Vec<String> = media::top_level_boxes(&data)
        .into_iter()
        .map(|b| b.0)
        .collect();
    assert_eq!(kinds, ["ftyp", "free", "mdat", "moov"]);
    assert_decodes_to(&path, &recons);
}

#[test]
fn crash_safe_output_is_in_place_after_its_first_fragment() {
    if common::ffmpeg().is_none() {
        return;
    }
    for ext in ["mp4", "mov", "mkv", "h264"] {
        let scratch = common::Scratch::new(&format!("containers-in-place-{ext}"));
        let path = scratch.path(format!("live.{ext}"));
        let options = OutputOptions {
            fragmentation: Fragmentation::Keyframes,
            ..OutputOptions::default()
        };
        let mut w = MediaWriter::create(&path, &options).unwrap();
        let v = w.add_video(&config(4)).unwrap();
        let input = frames(10);
        let mut recons = Vec::new();
        for (i, f) in input.iter().enumerate() {
            w.encode_frame(v, f).unwrap();
            recons.extend(w.take_reconstructions(v).iter().map(|r| r.to_i420()));
            // Nothing at the path until the first GOP is complete, which the
            // keyframe of the second GOP (frame 4) shows.
            assert_eq!(path.exists(), i >= 4, "{ext}: frame {i}");
        }
        // While still writing: the file holds the two complete GOPs (Matroska
        // and Annex B also the start of the third, which decodes too), and no
        // temporary file is left beside it.
        let names: Vec<String> = std::fs::read_dir(scratch.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [format!("live.{ext}")]);
        let decoded = media::decode_video(&path, 0, W, H);
        assert!(decoded.len() >= 8, "{ext}: {} frames", decoded.len());
        common::assert_i420_frames_equal(&decoded, &recons[..decoded.len()], W, H);
        w.finish().unwrap();
        assert_decodes_to(&path, &recons);
    }
}

#[cfg(unix)]
#[test]
fn a_named_pipe_is_written_in_place_as_a_stream() {
    if common::ffmpeg().is_none() {
        return;
    }
    let scratch = common::Scratch::new("containers-fifo");
    let fifo = scratch.path("pipe.mp4");
    let status = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !matches!(status, Ok(s) if s.success()) {
        eprintln!("skipping: mkfifo is not available");
        return;
    }
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(&fifo).expect("read the pipe"))
    };
    let input = frames(7);
    let mut enc = FileEncoder::create(&fifo, &config(3)).expect("create on a pipe");
    let mut recons = Vec::new();
    for f in &input {
        enc.encode_frame(f).unwrap();
        recons.extend(enc.take_reconstructions().iter().map(|r| r.to_i420()));
    }
    enc.finish().unwrap();
    let data = reader.join().unwrap();
    let copy = scratch.path("copy.mp4");
    std::fs::write(&copy, &data).unwrap();
    let kinds: Vec<String> = media::top_level_boxes(&data)
        .into_iter()
        .map(|b| b.0)
        .collect();
    assert_eq!(&kinds[..3], ["ftyp", "moov", "moof"]);
    assert_decodes_to(&copy, &recons);
    // The pipe is still a pipe.
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
}
