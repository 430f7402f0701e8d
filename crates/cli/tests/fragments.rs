//! Output that survives a crash, pipes, and container choice, through the
//! real `framepress` binary:
//!
//! * An encode with `--fragmented` is killed with SIGKILL mid-stream; every
//!   complete fragment on disk decodes, to exactly the frames sent before the
//!   last fragment boundary (lossless coding makes decoded == sent).
//! * '-' writes fragmented MP4 (or, with --format, Matroska) to a pipe.
//! * --format, --fragment-duration and the .mov/.mkv extensions.

#[path = "../../framepress/tests/common/mod.rs"]
mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn framepress() -> Command {
    Command::new(env!("CARGO_BIN_EXE_framepress"))
}

/// Complete top-level boxes (ISO/IEC 14496-12 §4.2) of an MP4: (type, start,
/// size); a box cut off by the end of the data is left out.
fn boxes(data: &[u8]) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 8 <= data.len() {
        let mut size = u64::from(u32::from_be_bytes(data[at..at + 4].try_into().unwrap()));
        if size == 1 {
            if at + 16 > data.len() {
                break;
            }
            size = u64::from_be_bytes(data[at + 8..at + 16].try_into().unwrap());
        }
        if size < 8 || at as u64 + size > data.len() as u64 {
            break;
        }
        let kind = String::from_utf8_lossy(&data[at + 4..at + 8]).into_owned();
        out.push((kind, at, size as usize));
        at += size as usize;
    }
    out
}

/// The bytes of `data` up to the end of its last complete fragment (a `moof`
/// followed by its whole `mdat`), and how many fragments that is.
fn complete_fragments(data: &[u8]) -> (usize, usize) {
    let b = boxes(data);
    let (mut end, mut count) = (0, 0);
    for (i, (kind, start, size)) in b.iter().enumerate() {
        match kind.as_str() {
            "ftyp" | "moov" if count == 0 => end = start + size,
            "mdat" if i > 0 && b[i - 1].0 == "moof" => {
                end = start + size;
                count += 1;
            }
            _ => {}
        }
    }
    (end, count)
}

fn y4m_header(w: u32, h: u32) -> Vec<u8> {
    format!("YUV4MPEG2 W{w} H{h} F25:1 Ip A1:1 C420jpeg\n").into_bytes()
}

fn frame(w: u32, h: u32, i: usize) -> Vec<u8> {
    common::natural_i420_at(w, h, 7 * i as i64, 3 * i as i64)
}

/// Polls `path` until `ready` holds for its contents, or `limit` passes.
fn wait_for(path: &Path, limit: Duration, ready: impl Fn(&[u8]) -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(data) = std::fs::read(path) {
            if ready(&data) {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn sigkill(mut child: Child) {
    child.kill().expect("kill the encoder");
    let status = child.wait().expect("wait for the encoder");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9), "killed by SIGKILL: {status:?}");
    }
    #[cfg(not(unix))]
    let _ = status;
}

/// Spawns `framepress encode - OUT --fragmented ...`, reading y4m from a pipe.
fn spawn_encoder(out: &Path, gop: u32) -> Child {
    framepress()
        .args(["encode", "-"])
        .arg(out)
        .args([
            "--fragmented",
            "--lossless",
            "--preset",
            "ultrafast",
            "--threads",
            "1",
        ])
        .args(["-g", &gop.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start framepress")
}

fn only_file(dir: &Path, name: &str) {
    let names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "complete.mp4")
        .collect();
    assert_eq!(names, [name], "files in {}", dir.display());
}

#[test]
fn sigkill_mid_encode_leaves_every_complete_fragment() {
    if common::ffmpeg().is_none() {
        return;
    }
    let scratch = common::Scratch::new("cli-sigkill");
    let out = scratch.path("live.mp4");
    let (w, h, gop) = (128, 96, 5);
    let mut child = spawn_encoder(&out, gop);
    let mut stdin = child.stdin.take().expect("stdin");
    // 23 frames: GOPs 0-4, 5-9, 10-14, 15-19 are complete once frame 20 (a
    // keyframe) arrives; frames 20-22 are still in the open fragment.
    let sent: Vec<Vec<u8>> = (0..23).map(|i| frame(w, h, i)).collect();
    stdin.write_all(&y4m_header(w, h)).unwrap();
    for f in &sent {
        stdin.write_all(b"FRAME\n").unwrap();
        stdin.write_all(f).unwrap();
    }
    stdin.flush().unwrap();
    // The encoder now waits for more input, mid-stream.
    let ready = wait_for(&out, Duration::from_secs(120), |d| {
        complete_fragments(d).1 >= 4
    });
    assert!(ready, "four fragments did not appear at {}", out.display());
    std::thread::sleep(Duration::from_millis(300));
    sigkill(child);
    drop(stdin);

    // The file is at its path (no temporary file left), and holds the init
    // segment and the four complete fragments, nothing else.
    only_file(scratch.dir(), "live.mp4");
    let data = std::fs::read(&out).unwrap();
    let kinds: Vec<String> = boxes(&data).into_iter().map(|b| b.0).collect();
    assert_eq!(
        kinds,
        ["ftyp", "moov", "moof", "mdat", "moof", "mdat", "moof", "mdat", "moof", "mdat"]
    );
    let decoded = common::decode_to_i420(&out, w, h);
    assert_eq!(
        decoded.len(),
        20,
        "frames before the last fragment boundary"
    );
    common::assert_i420_frames_equal(&decoded, &sent[..20], w, h);
}

#[test]
fn sigkill_while_writing_keeps_every_complete_fragment() {
    if common::ffmpeg().is_none() {
        return;
    }
    let scratch = common::Scratch::new("cli-sigkill-busy");
    let out = scratch.path("busy.mp4");
    let (w, h, gop) = (320, 240, 3);
    let frames: Vec<Vec<u8>> = (0..24).map(|i| frame(w, h, i)).collect();
    let mut child = spawn_encoder(&out, gop);
    let mut stdin = child.stdin.take().expect("stdin");
    // Frames go in as fast as the encoder takes them, cycling through the
    // clip, until the kill breaks the pipe.
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = {
        let (frames, stop) = (frames.clone(), stop.clone());
        std::thread::spawn(move || {
            if stdin.write_all(&y4m_header(w, h)).is_err() {
                return;
            }
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) && i < 100_000 {
                let f = &frames[i % frames.len()];
                if stdin.write_all(b"FRAME\n").is_err() || stdin.write_all(f).is_err() {
                    return;
                }
                i += 1;
            }
        })
    };
    // Kill as soon as a few fragments are out: the kill lands anywhere,
    // possibly in the middle of writing a fragment.
    let ready = wait_for(&out, Duration::from_secs(120), |d| {
        complete_fragments(d).1 >= 3
    });
    sigkill(child);
    stop.store(true, Ordering::Relaxed);
    let _ = feeder.join();
    assert!(ready, "no fragments appeared at {}", out.display());
    only_file(scratch.dir(), "busy.mp4");

    let data = std::fs::read(&out).unwrap();
    let (end, count) = complete_fragments(&data);
    eprintln!(
        "killed with {count} complete fragments ({end} bytes) and {} bytes of a partial one",
        data.len() - end
    );
    let complete = scratch.path("complete.mp4");
    std::fs::write(&complete, &data[..end]).unwrap();
    let decoded = common::decode_to_i420(&complete, w, h);
    assert_eq!(decoded.len(), count * gop as usize, "a GOP per fragment");
    let want: Vec<Vec<u8>> = (0..decoded.len())
        .map(|i| frames[i % frames.len()].clone())
        .collect();
    common::assert_i420_frames_equal(&decoded, &want, w, h);
}

#[test]
fn dash_writes_fragmented_mp4_or_matroska_to_standard_output() {
    if common::ffmpeg().is_none() {
        return;
    }
    let scratch = common::Scratch::new("cli-stdout");
    for (format, magic) in [
        (None, &b"ftyp"[..]),
        (Some("mkv"), &[0x1A, 0x45, 0xDF, 0xA3][..]),
    ] {
        let mut cmd = framepress();
        cmd.args(["demo", "-", "--frames", "12", "--size", "64x48", "-g", "4"]);
        if let Some(f) = format {
            cmd.args(["--format", f]);
        }
        let r = cmd.stdin(Stdio::null()).output().expect("run framepress");
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(r.status.success(), "{err}");
        assert!(err.contains("→ standard output"), "{err}");
        let data = r.stdout;
        let at = if format.is_none() { 4 } else { 0 };
        assert_eq!(&data[at..at + magic.len()], magic);
        if format.is_none() {
            let kinds: Vec<String> = boxes(&data).into_iter().map(|b| b.0).collect();
            assert_eq!(kinds.len(), 2 + 2 * 3, "{kinds:?}");
            assert_eq!(&kinds[..3], ["ftyp", "moov", "moof"]);
        }
        let path = scratch.path(format!("stdout.{}", format.unwrap_or("mp4")));
        std::fs::write(&path, &data).unwrap();
        assert_eq!(common::decode_to_i420(&path, 64, 48).len(), 12);
    }
}

#[test]
fn format_flag_extension_and_fragment_duration() {
    if common::ffmpeg().is_none() || common::ffprobe().is_none() {
        return;
    }
    let scratch = common::Scratch::new("cli-formats");
    let run = |args: &[&str]| {
        let r = framepress()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    };
    let base = ["--frames", "15", "--size", "64x48"];
    let mov = scratch.path("a.mov");
    let mkv = scratch.path("a.mkv");
    let bin = scratch.path("a.bin");
    let every = scratch.path("every.mp4");
    run(&[&["demo", mov.to_str().unwrap()], &base[..]].concat());
    run(&[&["demo", mkv.to_str().unwrap()], &base[..]].concat());
    run(&[
        &["demo", bin.to_str().unwrap(), "--format", "mkv"],
        &base[..],
    ]
    .concat());
    run(&[
        &[
            "demo",
            every.to_str().unwrap(),
            "--fragment-duration",
            "0.2",
        ],
        &base[..],
    ]
    .concat());
    assert_eq!(&std::fs::read(&mov).unwrap()[4..12], b"ftypqt  ");
    for p in [&mkv, &bin] {
        assert_eq!(&std::fs::read(p).unwrap()[..4], &[0x1A, 0x45, 0xDF, 0xA3]);
    }
    // 15 frames at 30 fps in fragments of 0.2 s: 6 + 6 + 3 frames.
    let data = std::fs::read(&every).unwrap();
    let moofs = boxes(&data).iter().filter(|b| b.0 == "moof").count();
    assert_eq!(moofs, 3);
    for p in [&mov, &mkv, &bin, &every] {
        let info = common::probe(p);
        assert_eq!(info.nb_read_frames, Some(15), "{}", p.display());
        assert_eq!((info.width, info.height), (64, 48));
        assert_eq!(info.r_frame_rate, "30/1", "{}", p.display());
    }
    let r = framepress()
        .args(["demo", "x.mp4", "--format", "avi"])
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("mp4, mov, mkv or h264"));
}
