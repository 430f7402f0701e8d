//! End-to-end tests of the `framepress` binary: exit codes, messages, and
//! that a failed run leaves no output file behind.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A fresh directory per test under Cargo's scratch space for tests.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("cli")
            .join(test);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.path(name);
        fs::write(&path, bytes).expect("write input");
        arg(&path)
    }

    /// The names of the files in the directory.
    fn files(&self) -> BTreeSet<String> {
        fs::read_dir(&self.dir)
            .expect("list scratch dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// Only the given inputs are left: no output and no temporary file.
    fn assert_only(&self, inputs: &[&str]) {
        let want: BTreeSet<String> = inputs.iter().map(|s| s.to_string()).collect();
        assert_eq!(self.files(), want, "files left in {}", self.dir.display());
    }
}

fn arg(path: &Path) -> String {
    path.to_str().expect("utf-8 path").to_string()
}

fn framepress(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_framepress"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run framepress")
}

fn framepress_with_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_framepress"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run framepress");
    let mut stdin = child.stdin.take().expect("stdin");
    // The process may exit before reading everything; that is not our error.
    let _ = stdin.write_all(input);
    drop(stdin);
    child.wait_with_output().expect("wait for framepress")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit status `code`, an `error:` line on stderr containing every needle,
/// nothing on stdout, and no panic.
fn assert_fails(out: &Output, code: i32, needles: &[&str]) {
    let text = stderr(out);
    assert_eq!(out.status.code(), Some(code), "stderr: {text}");
    assert!(text.starts_with("error:"), "stderr: {text}");
    for needle in needles {
        assert!(
            text.contains(needle),
            "missing {needle:?} in stderr: {text}"
        );
    }
    assert!(!text.contains("panicked"), "stderr: {text}");
    assert!(out.stdout.is_empty());
}

fn assert_succeeds(out: &Output) -> String {
    let text = stderr(out);
    assert_eq!(out.status.code(), Some(0), "stderr: {text}");
    text
}

/// `frames` RGB24 frames of `w`×`h` with some variety.
fn rgb_frames(w: usize, h: usize, frames: usize) -> Vec<u8> {
    (0..w * h * 3 * frames)
        .map(|i| (i * 7 + i / 97) as u8)
        .collect()
}

/// A y4m stream of `frames` frames of `w`×`h`.
fn y4m(header_params: &str, w: usize, h: usize, frames: usize) -> Vec<u8> {
    let mut out = format!("YUV4MPEG2 W{w} H{h} {header_params}\n").into_bytes();
    let size = w * h + 2 * w.div_ceil(2) * h.div_ceil(2);
    for f in 0..frames {
        out.extend_from_slice(b"FRAME\n");
        out.extend((0..size).map(|i| (i * 3 + f * 5) as u8));
    }
    out
}

// ---- Errors found before the encoder is created (work without it). ----

#[test]
fn zero_size_is_rejected() {
    let s = Scratch::new("zero_size");
    let input = s.write("in.rgb", &rgb_frames(4, 4, 1));
    let out = arg(&s.path("out.mp4"));
    let r = framepress(&[
        "encode",
        &input,
        &out,
        "--pix-fmt",
        "rgb24",
        "--size",
        "0x16",
    ]);
    assert_fails(&r, 2, &["width 0", "1..=8192"]);
    s.assert_only(&["in.rgb"]);
}

#[test]
fn oversize_is_rejected() {
    let s = Scratch::new("oversize");
    let input = s.write("in.rgb", &rgb_frames(4, 4, 1));
    let out = arg(&s.path("out.mp4"));
    let r = framepress(&[
        "encode",
        &input,
        &out,
        "--pix-fmt",
        "rgb24",
        "--size",
        "16x9000",
    ]);
    assert_fails(&r, 2, &["height 9000", "1..=8192"]);
    s.assert_only(&["in.rgb"]);
}

#[test]
fn malformed_size_is_rejected() {
    let s = Scratch::new("malformed_size");
    let input = s.write("in.rgb", &rgb_frames(4, 4, 1));
    let out = arg(&s.path("out.mp4"));
    let r = framepress(&[
        "encode",
        &input,
        &out,
        "--pix-fmt",
        "rgb24",
        "--size",
        "16by16",
    ]);
    assert_fails(&r, 2, &["16by16", "WIDTHxHEIGHT"]);
    s.assert_only(&["in.rgb"]);
}

#[test]
fn short_only_frame_is_rejected() {
    let s = Scratch::new("short_only_frame");
    let input = s.write("in.rgb", &rgb_frames(4, 4, 1)[..20]);
    let out = arg(&s.path("out.mp4"));
    let r = framepress(&[
        "encode",
        &input,
        &out,
        "--pix-fmt",
        "rgb24",
        "--size",
        "4x4",
    ]);
    assert_fails(
        &r,
        1,
        &["frame 0", "20 bytes", "expected 48", "ends mid-frame"],
    );
    s.assert_only(&["in.rgb"]);
}

#[test]
fn wrong_pix_fmt_name_is_rejected() {
    let s = Scratch::new("wrong_pix_fmt");
    let input = s.write("in.rgb", &rgb_frames(4, 4, 1));
    let out = arg(&s.path("out.mp4"));
    let r = framepress(&[
        "encode",
        &input,
        &out,
        "--pix-fmt",
        "rgb32",
        "--size",
        "4x4",
    ]);
    assert_fails(&r, 2, &["rgb32", "rgb24", "yuv420p", "nv12"]);
    s.assert_only(&["in.rgb"]);
}

#[test]
fn qp_above_51_is_rejected() {
    let s = Scratch::new("qp_52");
    let input = s.write("in.rgb", &rgb_frames(4, 4, 1));
    let out = arg(&s.path("out.mp4"));
    let r = framepress(&[
        "encode",
        &input,
        &out,
        "--pix-fmt",
        "rgb24",
        "--size",
        "4x4",
        "--qp",
        "52",
    ]);
    assert_fails(&r, 2, &["52", "0..=51"]);
    s.assert_only(&["in.rgb"]);
    let r = framepress(&["demo", &out, "--qp", "52"]);
    assert_fails(&r, 2, &["52", "0..=51"]);
    s.assert_only(&["in.rgb"]);
}

#[test]
fn raw_input_needs_size() {
    let s = Scratch::new("raw_needs_size");
    let input = s.write("in.rgb", &rgb_frames(4, 4, 1));
    let out = arg(&s.path("out.mp4"));
    let r = framepress(&["encode", &input, &out, "--pix-fmt", "rgb24"]);
    assert_fails(&r, 1, &["--size", "--pix-fmt", "in.rgb"]);
    let r = framepress(&["encode", &input, &out]);
    assert_fails(&r, 1, &["--size", "--pix-fmt"]);
    s.assert_only(&["in.rgb"]);
}

#[test]
fn bad_y4m_is_rejected() {
    let s = Scratch::new("bad_y4m");
    let input = s.write("in.y4m", b"this is not a video\n");
    let out = arg(&s.path("out.mp4"));
    let r = framepress(&["encode", &input, &out]);
    assert_fails(&r, 1, &["not a y4m file", "YUV4MPEG2"]);
    s.assert_only(&["in.y4m"]);
}

#[test]
fn y4m_truncated_first_frame_is_rejected() {
    let s = Scratch::new("y4m_truncated");
    let mut bytes = y4m("F25:1", 8, 8, 1);
    bytes.truncate(bytes.len() - 10);
    let input = s.write("in.y4m", &bytes);
    let out = arg(&s.path("out.mp4"));
    let r = framepress(&["encode", &input, &out]);
    assert_fails(&r, 1, &["frame 0 is truncated", "got 86 of 96 bytes"]);
    s.assert_only(&["in.y4m"]);
}

#[test]
fn y4m_unsupported_streams_are_rejected() {
    let s = Scratch::new("y4m_unsupported");
    let out = arg(&s.path("out.mp4"));
    for (params, needles) in [
        ("It", &["interlaced", "progressive"][..]),
        ("C444", &["C444", "420jpeg"][..]),
        ("C420p10", &["C420p10", "not supported"][..]),
    ] {
        let input = s.write("in.y4m", &y4m(params, 8, 8, 1));
        let r = framepress(&["encode", &input, &out]);
        assert_fails(&r, 1, needles);
        s.assert_only(&["in.y4m"]);
    }
}

#[test]
fn y4m_with_conflicting_size_is_rejected() {
    let s = Scratch::new("y4m_conflict");
    let input = s.write("in.y4m", &y4m("F30:1", 8, 8, 1));
    let out = arg(&s.path("out.mp4"));
    let r = framepress(&["encode", &input, &out, "--size", "16x16"]);
    assert_fails(&r, 1, &["16x16", "8x8", "y4m header"]);
    let r = framepress(&["encode", &input, &out, "--pix-fmt", "nv12"]);
    assert_fails(&r, 1, &["nv12", "yuv420p"]);
    s.assert_only(&["in.y4m"]);
}

#[test]
fn missing_input_is_reported_with_its_path() {
    let s = Scratch::new("missing_input");
    let input = arg(&s.path("absent.rgb"));
    let out = arg(&s.path("out.mp4"));
    let r = framepress(&[
        "encode",
        &input,
        &out,
        "--pix-fmt",
        "rgb24",
        "--size",
        "4x4",
    ]);
    assert_fails(&r, 1, &["cannot open", "absent.rgb"]);
    s.assert_only(&[]);
}

#[test]
fn empty_input_is_rejected() {
    let s = Scratch::new("empty_input");
    let input = s.write("in.rgb", &[]);
    let out = arg(&s.path("out.mp4"));
    let r = framepress(&[
        "encode",
        &input,
        &out,
        "--pix-fmt",
        "rgb24",
        "--size",
        "4x4",
    ]);
    assert_fails(&r, 1, &["no frames"]);
    let r = framepress_with_stdin(
        &["encode", "-", &out, "--pix-fmt", "rgb24", "--size", "4x4"],
        &[],
    );
    assert_fails(&r, 1, &["no frames"]);
    s.assert_only(&["in.rgb"]);
}

#[test]
fn bad_option_values_are_usage_errors() {
    let s = Scratch::new("bad_options");
    let input = s.write("in.rgb", &rgb_frames(4, 4, 1));
    let out = arg(&s.path("out.mp4"));
    let base = [
        "encode",
        &input,
        &out,
        "--pix-fmt",
        "rgb24",
        "--size",
        "4x4",
    ];
    for (extra, needles) in [
        (["--fps", "0"], &["frame rate", "30000/1001"][..]),
        (["--fps", "fast"], &["frame rate"][..]),
        (["--device", "gpu"], &["device", "cpu", "cuda:N"][..]),
        (["--colorspace", "bt2020"], &["bt601", "bt709"][..]),
        (["--color-range", "studio"], &["tv", "pc"][..]),
        (["--qp", "-1"], &["-1"][..]),
    ] {
        let args: Vec<&str> = base.iter().copied().chain(extra).collect();
        assert_fails(&framepress(&args), 2, needles);
    }
    assert_fails(&framepress(&["demo", &out, "--frames", "0"]), 2, &["0"]);
    assert_fails(
        &framepress(&["demo", &out, "--size", "0x0"]),
        2,
        &["width 0"],
    );
    assert_fails(&framepress(&["encode", &input]), 2, &["OUTPUT"]);
    assert_fails(&framepress(&["transcode"]), 2, &["transcode"]);
    s.assert_only(&["in.rgb"]);
}

/// Without a CUDA driver (or with a device that does not exist) a CUDA
/// encode fails with a clear message and leaves nothing behind.
#[test]
fn missing_cuda_device_is_reported() {
    let s = Scratch::new("no_cuda");
    let input = s.write("in.rgb", &rgb_frames(16, 16, 2));
    let out = arg(&s.path("out.mp4"));
    let base = [
        "encode",
        &input,
        &out,
        "--pix-fmt",
        "rgb24",
        "--size",
        "16x16",
        "--gop",
        "1",
    ];
    let args: Vec<&str> = base
        .iter()
        .copied()
        .chain(["--device", "cuda:1000"])
        .collect();
    assert_fails(&framepress(&args), 1, &["CUDA"]);
    s.assert_only(&["in.rgb"]);
}

#[test]
fn help_and_version() {
    let r = framepress(&["--help"]);
    assert_eq!(r.status.code(), Some(0));
    let text = String::from_utf8_lossy(&r.stdout);
    assert!(text.contains("encode") && text.contains("demo"), "{text}");
    let r = framepress(&["encode", "--help"]);
    let text = String::from_utf8_lossy(&r.stdout);
    for flag in [
        "--pix-fmt",
        "--size",
        "--fps",
        "--qp",
        "--device",
        "--colorspace",
        "--color-range",
    ] {
        assert!(text.contains(flag), "{flag} missing from: {text}");
    }
    assert_eq!(framepress(&["--version"]).status.code(), Some(0));
}

// ---- These need the encoder (FileEncoder) to be implemented. ----

#[test]
fn short_final_frame_is_rejected() {
    let s = Scratch::new("short_final_frame");
    let mut bytes = rgb_frames(16, 16, 3);
    bytes.truncate(2 * 16 * 16 * 3 + 100);
    let input = s.write("in.rgb", &bytes);
    let out = arg(&s.path("out.mp4"));
    let r = framepress(&[
        "encode",
        &input,
        &out,
        "--pix-fmt",
        "rgb24",
        "--size",
        "16x16",
    ]);
    assert_fails(
        &r,
        1,
        &["frame 2", "100 bytes", "expected 768", "ends mid-frame"],
    );
    s.assert_only(&["in.rgb"]);
}

#[test]
fn unknown_extension_is_rejected() {
    let s = Scratch::new("unknown_extension");
    let input = s.write("in.rgb", &rgb_frames(16, 16, 1));
    let out = arg(&s.path("out.avi"));
    let r = framepress(&[
        "encode",
        &input,
        &out,
        "--pix-fmt",
        "rgb24",
        "--size",
        "16x16",
    ]);
    assert_fails(&r, 1, &["unknown output extension", "out.avi"]);
    s.assert_only(&["in.rgb"]);
}

#[test]
fn unwritable_output_path_is_rejected() {
    let s = Scratch::new("unwritable");
    let input = s.write("in.rgb", &rgb_frames(16, 16, 1));
    let out = arg(&s.path("no-such-dir").join("out.mp4"));
    let r = framepress(&[
        "encode",
        &input,
        &out,
        "--pix-fmt",
        "rgb24",
        "--size",
        "16x16",
    ]);
    assert_fails(&r, 1, &["cannot", "no-such-dir"]);
    s.assert_only(&["in.rgb"]);
}

#[test]
fn demo_writes_an_mp4() {
    let s = Scratch::new("demo");
    let out = s.path("demo.mp4");
    let r = framepress(&[
        "demo",
        &arg(&out),
        "--frames",
        "5",
        "--size",
        "96x64",
        "--qp",
        "30",
    ]);
    let text = assert_succeeds(&r);
    assert!(
        text.contains("encoded 5 frames") && text.contains("demo.mp4"),
        "{text}"
    );
    let bytes = fs::read(&out).expect("output exists");
    assert_eq!(&bytes[4..8], b"ftyp");
    s.assert_only(&["demo.mp4"]);
}

#[test]
fn demo_odd_size_writes_annex_b() {
    let s = Scratch::new("demo_annexb");
    let out = s.path("demo.h264");
    let r = framepress(&["demo", &arg(&out), "--frames", "3", "--size", "33x17"]);
    assert_succeeds(&r);
    let bytes = fs::read(&out).expect("output exists");
    assert!(bytes.starts_with(&[0, 0, 0, 1]) || bytes.starts_with(&[0, 0, 1]));
}

#[test]
fn raw_rgb24_encodes() {
    let s = Scratch::new("raw_rgb24");
    let input = s.write("in.rgb", &rgb_frames(32, 16, 4));
    let out = s.path("out.mp4");
    let r = framepress(&[
        "encode",
        &input,
        &arg(&out),
        "--pix-fmt",
        "rgb24",
        "--size",
        "32x16",
        "--fps",
        "30000/1001",
        "--colorspace",
        "bt601",
        "--color-range",
        "pc",
    ]);
    let text = assert_succeeds(&r);
    assert!(text.contains("encoded 4 frames"), "{text}");
    assert!(fs::metadata(&out).expect("output exists").len() > 0);
}

#[test]
fn raw_nv12_and_planar_encode() {
    let s = Scratch::new("raw_nv12");
    let nv12 = s.write("in.nv12", &rgb_frames(16, 16, 2)[..2 * 384]);
    let planar = s.write("in.rgbp", &rgb_frames(16, 16, 2));
    for (input, fmt) in [(&nv12, "nv12"), (&planar, "rgb24p")] {
        let out = s.path(&format!("{fmt}.h264"));
        let r = framepress(&[
            "encode",
            input,
            &arg(&out),
            "--pix-fmt",
            fmt,
            "--size",
            "16x16",
        ]);
        assert!(assert_succeeds(&r).contains("encoded 2 frames"));
        assert!(out.exists());
    }
}

#[test]
fn y4m_encodes() {
    let s = Scratch::new("y4m");
    let input = s.write("in.y4m", &y4m("F25:1 Ip C420jpeg", 24, 18, 3));
    let out = s.path("out.mp4");
    let r = framepress(&[
        "encode",
        &input,
        &arg(&out),
        "--fps",
        "50",
        "--size",
        "24x18",
    ]);
    let text = assert_succeeds(&r);
    assert!(text.contains("encoded 3 frames"), "{text}");
    assert!(out.exists());
}

#[test]
fn y4m_from_stdin_encodes() {
    let s = Scratch::new("y4m_stdin");
    let out = s.path("out.h264");
    let r = framepress_with_stdin(&["encode", "-", &arg(&out)], &y4m("F30:1", 16, 16, 2));
    let text = assert_succeeds(&r);
    assert!(text.contains("encoded 2 frames"), "{text}");
    assert!(out.exists());
}

#[test]
fn y4m_truncated_later_frame_leaves_nothing() {
    let s = Scratch::new("y4m_truncated_later");
    let mut bytes = y4m("F30:1", 16, 16, 3);
    bytes.truncate(bytes.len() - 1);
    let input = s.write("in.y4m", &bytes);
    let out = arg(&s.path("out.mp4"));
    let r = framepress(&["encode", &input, &out]);
    assert_fails(&r, 1, &["frame 2 is truncated", "got 383 of 384 bytes"]);
    s.assert_only(&["in.y4m"]);
}

/// Runs `framepress` with its output on a 256 KiB tmpfs, mounted in a private
/// mount namespace (`unshare -rm`, so no root is needed). `None` when this
/// machine cannot make such a namespace.
fn framepress_on_small_disk(args: &[&str]) -> Option<(Output, String)> {
    let probe = Command::new("unshare")
        .args([
            "-rm",
            "sh",
            "-c",
            "mount -t tmpfs -o size=256k tmpfs /tmp && true",
        ])
        .output()
        .ok()?;
    if !probe.status.success() {
        return None;
    }
    let bin = env!("CARGO_BIN_EXE_framepress");
    let mut script = format!("mount -t tmpfs -o size=256k tmpfs /mnt && '{bin}'");
    for a in args {
        script.push_str(&format!(" '{a}'"));
    }
    script.push_str("; code=$?; ls -A /mnt; exit $code");
    let out = Command::new("unshare")
        .args(["-rm", "sh", "-c", &script])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    Some((out, listing))
}

#[test]
fn full_disk_is_reported_and_leaves_nothing() {
    let Some((out, listing)) =
        framepress_on_small_disk(&["demo", "/mnt/out.mp4", "--frames", "30", "--qp", "0"])
    else {
        eprintln!("skipping: cannot mount a small tmpfs in a private namespace here");
        return;
    };
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("disk full") || err.contains("No space left"),
        "stderr: {err}"
    );
    assert!(!err.contains("panicked"), "stderr: {err}");
    assert!(
        listing.trim().is_empty(),
        "files left on the full disk: {listing}"
    );
}
