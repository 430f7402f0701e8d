//! `framepress batch`: many clips into a directory, each output the bytes
//! `framepress encode` gives for it; failures are reported per clip and
//! leave the other outputs in place.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("batch")
        .join(test);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("in")).expect("create scratch dir");
    dir
}

fn framepress(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_framepress"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run framepress")
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A y4m clip of `frames` frames of `w`×`h`, its content set by `seed`.
fn y4m(w: usize, h: usize, frames: usize, seed: usize) -> Vec<u8> {
    let mut out = format!("YUV4MPEG2 W{w} H{h} F25:1 C420jpeg\n").into_bytes();
    let size = w * h + 2 * w.div_ceil(2) * h.div_ceil(2);
    for f in 0..frames {
        out.extend_from_slice(b"FRAME\n");
        out.extend((0..size).map(|i| ((i % w) * 2 + (i / w) + f * 3 + seed * 40) as u8));
    }
    out
}

#[test]
fn a_directory_of_clips_gives_the_bytes_of_single_encodes() {
    let dir = scratch("directory");
    let clips = [("a", 64, 48, 7), ("b", 33, 17, 4), ("c", 160, 96, 12)];
    for (i, (name, w, h, n)) in clips.iter().enumerate() {
        fs::write(
            dir.join("in").join(format!("{name}.y4m")),
            y4m(*w, *h, *n, i),
        )
        .unwrap();
    }
    fs::write(dir.join("in").join("notes.txt"), b"not a clip").unwrap();
    let out = dir.join("out");
    let run = framepress(&[
        "batch",
        s(&dir.join("in")),
        "-o",
        s(&out),
        "--devices",
        "cpu,cpu",
        "--crf",
        "20",
        "-g",
        "5",
    ]);
    let log = text(&run);
    assert_eq!(run.status.code(), Some(0), "{log}");
    assert!(log.contains("encoded 3 of 3 clips: 23 frames"), "{log}");
    for (name, ..) in clips {
        let single = dir.join(format!("{name}.mp4"));
        let input = dir.join("in").join(format!("{name}.y4m"));
        let one = framepress(&["encode", s(&input), s(&single), "--crf", "20", "-g", "5"]);
        assert_eq!(one.status.code(), Some(0), "{}", text(&one));
        let batch = fs::read(out.join(format!("{name}.mp4"))).expect("batch output");
        assert!(
            batch == fs::read(&single).unwrap(),
            "{name}: batch output differs"
        );
    }
}

#[test]
fn a_failing_clip_is_reported_and_the_others_are_written() {
    let dir = scratch("failure");
    fs::write(dir.join("in").join("good.y4m"), y4m(32, 32, 3, 0)).unwrap();
    fs::write(
        dir.join("in").join("bad.y4m"),
        b"YUV4MPEG2 W32 H32 F25:1\nFRAME\nxx",
    )
    .unwrap();
    let out = dir.join("out");
    let run = framepress(&["batch", s(&dir.join("in")), "-o", s(&out), "-f", "mkv"]);
    let log = text(&run);
    assert_eq!(run.status.code(), Some(1), "{log}");
    assert!(log.contains("bad.y4m failed on cpu"), "{log}");
    assert!(
        log.contains("error: 1 of 2 clips failed (see the messages above)"),
        "{log}"
    );
    assert!(out.join("good.mkv").is_file());
    let left: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        vec!["good.mkv"],
        "no partial output for the failed clip"
    );
}

#[test]
fn bad_batches_are_errors_before_anything_runs() {
    let dir = scratch("bad");
    let input = dir.join("in").join("a.y4m");
    fs::write(&input, y4m(16, 16, 1, 0)).unwrap();
    let out = dir.join("out");
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec![s(&input), s(&input)], 1, "would both be written to"),
        (vec![s(&dir)], 1, "holds no .y4m files"),
        (
            vec![s(&input), "--devices", "tpu"],
            2,
            "invalid device 'tpu'",
        ),
        (
            vec![s(&input), "--devices", "cuda:64"],
            2,
            "invalid devices 'cuda:64'",
        ),
    ];
    for (extra, code, needle) in cases {
        let mut args = vec!["batch", "-o", s(&out)];
        args.extend(extra);
        let run = framepress(&args);
        let log = text(&run);
        assert_eq!(run.status.code(), Some(code), "{args:?}: {log}");
        assert!(
            log.contains(needle),
            "{args:?}: missing {needle:?} in {log}"
        );
        assert!(!log.contains("panicked"), "{log}");
        assert!(!out.exists(), "{args:?} created the output directory");
    }
}
