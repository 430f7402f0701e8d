//! Faults around the `framepress` binary: a full disk, a read-only or vanished directory, the output closed under
//! the writer, SIGKILL, SIGINT and SIGTERM mid-encode, no GPU. Each must end in a clear error or a clean finish:
//! no panic, no hang (every run here has a time limit), and no file that looks complete but is not.
//!
//! Tests that need a private mount namespace (`unshare -rm`) skip themselves where it cannot be made.

#[path = "../../framepress/tests/common/mod.rs"]
mod common;

use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStderr, Command, ExitStatus, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_framepress");
/// No run here takes more than a few seconds; past this it is a hang.
const LIMIT: Duration = Duration::from_secs(120);

fn framepress() -> Command {
    Command::new(BIN)
}

/// Waits for `child` at most `limit`; a hang kills it and fails the test.
fn wait_limited(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?} (a hang)");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `command` to completion with stdin closed, within [`LIMIT`].
fn run(command: &mut Command, what: &str) -> Output {
    run_to(command, Stdio::piped(), what)
}

/// [`run`] with standard output going to `stdout`.
fn run_to(command: &mut Command, stdout: Stdio, what: &str) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    let stdout = child.stdout.take().map(collect);
    let stderr = collect(child.stderr.take().expect("stderr"));
    let status = wait_limited(&mut child, LIMIT, what);
    Output {
        status,
        stdout: stdout.map_or(Vec::new(), |r| r.join().expect("stdout reader")),
        stderr: stderr.join().expect("stderr reader"),
    }
}

fn collect(mut r: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

fn stderr_text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit status 1, an `error:` line with every needle, and no panic.
fn assert_error(out: &Output, needles: &[&str]) {
    let text = stderr_text(out);
    assert_eq!(out.status.code(), Some(1), "stderr: {text}");
    assert!(text.contains("error:"), "stderr: {text}");
    for n in needles {
        assert!(text.contains(n), "missing {n:?} in stderr: {text}");
    }
    assert!(
        !text.contains("panicked") && !text.contains("internal error"),
        "{text}"
    );
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn y4m_header(w: u32, h: u32) -> Vec<u8> {
    format!("YUV4MPEG2 W{w} H{h} F25:1 Ip C420jpeg\n").into_bytes()
}

fn frame(w: u32, h: u32, i: usize) -> Vec<u8> {
    common::natural_i420_at(w, h, 5 * i as i64, 3 * i as i64)
}

/// An encoder reading y4m from a pipe, with its stderr kept.
struct Feeder {
    child: Child,
    stdin: Option<std::process::ChildStdin>,
    stderr: Option<thread::JoinHandle<Vec<u8>>>,
    sent: Vec<Vec<u8>>,
    w: u32,
    h: u32,
}

impl Feeder {
    fn start(out: &Path, extra: &[&str], w: u32, h: u32) -> Feeder {
        let mut child = framepress()
            .arg("encode")
            .arg("-")
            .arg(out)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start framepress");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(&y4m_header(w, h)).expect("header");
        let stderr: ChildStderr = child.stderr.take().expect("stderr");
        Feeder {
            child,
            stdin: Some(stdin),
            stderr: Some(collect(stderr)),
            sent: Vec::new(),
            w,
            h,
        }
    }

    /// Sends `n` more frames; false if the encoder stopped reading.
    fn send(&mut self, n: usize) -> bool {
        for _ in 0..n {
            let f = frame(self.w, self.h, self.sent.len());
            let stdin = self.stdin.as_mut().expect("open");
            if stdin.write_all(b"FRAME\n").is_err() || stdin.write_all(&f).is_err() {
                return false;
            }
            let _ = stdin.flush();
            self.sent.push(f);
        }
        true
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -{name} failed");
    }

    /// Waits for the encoder (stdin still open unless `close` is set) and returns its status and stderr.
    fn finish(mut self, close: bool, what: &str) -> (ExitStatus, String) {
        if close {
            drop(self.stdin.take());
        }
        let status = wait_limited(&mut self.child, LIMIT, what);
        drop(self.stdin.take());
        let err = self.stderr.take().expect("stderr").join().expect("reader");
        (status, String::from_utf8_lossy(&err).into_owned())
    }
}

/// Decodes `path` with FFmpeg (errors fail) and returns its frames; `None` without FFmpeg.
fn decode(path: &Path, w: u32, h: u32) -> Option<Vec<Vec<u8>>> {
    common::ffmpeg()?;
    Some(common::decode_to_i420(path, w, h))
}

// ---- A full disk. ----

/// Runs the binary with `args` inside a private mount namespace where `/mnt` is a tmpfs of `size` mounted with
/// `options`, then copies whatever is left on it to `keep` (when given). `None` when no such namespace can be made.
fn on_small_disk(size: &str, options: &str, args: &[&str], keep: Option<&Path>) -> Option<Output> {
    let probe = Command::new("unshare")
        .args(["-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    if !probe.success() {
        eprintln!("skipping: cannot mount a tmpfs in a private namespace here");
        return None;
    }
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut script = format!(
        "mount -t tmpfs -o size={size}{options} tmpfs /mnt && {}",
        quote(BIN)
    );
    for a in args {
        script.push(' ');
        script.push_str(&quote(a));
    }
    script.push_str("; code=$?; ");
    if let Some(dir) = keep {
        script.push_str(&format!(
            "cp -a /mnt/. {} 2>/dev/null; ",
            quote(dir.to_str().expect("utf-8"))
        ));
    }
    script.push_str("exit $code");
    Some(run(
        Command::new("unshare").args(["-rm", "sh", "-c", &script]),
        "framepress in a namespace",
    ))
}

#[test]
fn full_disk_in_every_container_is_an_error_and_leaves_nothing_incomplete() {
    let scratch = common::Scratch::new("faults-full-disk");
    for (name, extra) in [
        ("out.mp4", &[][..]),
        ("out.mov", &[][..]),
        ("out.mkv", &[][..]),
        ("out.h264", &[][..]),
        ("frag.mp4", &["--fragmented"][..]),
        ("frag.mkv", &["--fragmented"][..]),
    ] {
        let keep = scratch.path(name.replace('.', "-"));
        fs::create_dir_all(&keep).expect("mkdir");
        let target = format!("/mnt/{name}");
        let mut args = vec![
            "demo", &target, "--frames", "40", "--size", "320x240", "--qp", "0",
        ];
        args.extend_from_slice(extra);
        let Some(out) = on_small_disk("256k", "", &args, Some(&keep)) else {
            return;
        };
        assert_error(&out, &["disk full", "No space left", name]);
        let left = names(&keep);
        if extra.is_empty() {
            assert!(
                left.is_empty(),
                "{name}: files left on the full disk: {left:?}"
            );
        } else if !left.is_empty() {
            // Crash-safe output keeps its complete fragments: whatever is there must decode cleanly.
            assert_eq!(left, vec![name.to_string()], "{name}");
            if let Some(frames) = decode(&keep.join(name), 320, 240) {
                assert!(
                    frames.len() < 40,
                    "{name}: a partial file holds every frame"
                );
            }
        }
    }
}

#[test]
fn dev_full_as_the_output_or_standard_output_is_an_error() {
    let out = run(
        framepress().args([
            "demo",
            "/dev/full",
            "-f",
            "mp4",
            "--frames",
            "3",
            "--size",
            "64x64",
        ]),
        "demo to /dev/full",
    );
    assert_error(&out, &["disk full", "/dev/full"]);
    for format in ["mp4", "mkv", "h264"] {
        let full = fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let out = run_to(
            framepress().args([
                "demo", "-", "-f", format, "--frames", "3", "--size", "64x64",
            ]),
            Stdio::from(full),
            "demo to a full standard output",
        );
        assert_error(&out, &["disk full", "output stream"]);
    }
}

// ---- Unwritable, vanished and odd destinations. ----

#[test]
fn read_only_directory_is_an_error() {
    let Some(out) = on_small_disk(
        "1m",
        ",ro",
        &["demo", "/mnt/out.mp4", "--frames", "2", "--size", "32x32"],
        None,
    ) else {
        return;
    };
    assert_error(&out, &["/mnt/out.mp4", "Read-only file system"]);
}

#[test]
fn output_that_is_a_directory_is_an_error_and_is_left_alone() {
    let scratch = common::Scratch::new("faults-dir-output");
    let dir = scratch.path("clip.mp4");
    fs::create_dir(&dir).expect("mkdir");
    fs::write(dir.join("keep"), b"x").expect("write");
    let out = run(
        framepress()
            .args(["demo", "--frames", "2", "--size", "32x32"])
            .arg(&dir),
        "demo onto a directory",
    );
    assert_error(&out, &["clip.mp4", "directory"]);
    assert_eq!(names(&dir), vec!["keep".to_string()]);
    assert_eq!(names(scratch.dir()), vec!["clip.mp4".to_string()]);
}

#[test]
fn input_that_is_a_directory_is_an_error() {
    let scratch = common::Scratch::new("faults-dir-input");
    let out = run(
        framepress()
            .arg("encode")
            .arg(scratch.dir())
            .arg(scratch.path("out.mp4"))
            .args(["--pix-fmt", "rgb24", "--size", "4x4"]),
        "encode a directory",
    );
    assert_error(&out, &["cannot read", "Is a directory"]);
    assert!(names(scratch.dir()).is_empty());
}

#[test]
fn output_directory_removed_mid_encode_is_an_error() {
    let scratch = common::Scratch::new("faults-vanished");
    let dir = scratch.path("gone");
    fs::create_dir(&dir).expect("mkdir");
    let (w, h) = (64, 48);
    let mut feeder = Feeder::start(&dir.join("out.mp4"), &["-g", "5"], w, h);
    assert!(feeder.send(8));
    // The hidden partial file appears once the first frame is in.
    let start = Instant::now();
    while names(&dir).is_empty() && start.elapsed() < Duration::from_secs(30) {
        thread::sleep(Duration::from_millis(20));
    }
    fs::remove_dir_all(&dir).expect("remove the output directory");
    assert!(feeder.send(8));
    let (status, err) = feeder.finish(true, "encode into a removed directory");
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("error:") && err.contains("out.mp4"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!dir.exists());
}

/// Crash-safe output is moved into place with its first fragment; if its directory is then removed, the encode
/// cannot keep the frames, and saying "encoded N frames" would report success for a file that no longer exists.
/// The next fragment (or the finish) notices that the path no longer names the open file and fails.
#[test]
fn fragmented_output_removed_mid_encode_is_an_error() {
    let scratch = common::Scratch::new("faults-vanished-frag");
    let dir = scratch.path("gone");
    fs::create_dir(&dir).expect("mkdir");
    let mut feeder = Feeder::start(&dir.join("out.mp4"), &["-g", "5", "--fragmented"], 64, 48);
    assert!(feeder.send(12));
    let start = Instant::now();
    while !dir.join("out.mp4").exists() && start.elapsed() < Duration::from_secs(30) {
        thread::sleep(Duration::from_millis(20));
    }
    fs::remove_dir_all(&dir).expect("remove the output directory");
    // The encoder may fail at its next fragment and stop reading before all of these are in.
    let _ = feeder.send(8);
    let (status, err) = feeder.finish(true, "fragmented encode into a removed directory");
    assert_eq!(status.code(), Some(1), "{err}");
    for needle in [
        "error:",
        "out.mp4",
        "removed or replaced",
        "no longer exists",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in: {err}");
    }
    assert!(
        !err.contains("panicked") && !err.contains("encoded"),
        "{err}"
    );
    assert!(!dir.exists());
}

/// The same when the file alone is deleted, or another file takes its name: the path no longer names the file the
/// encoder writes, so the encode fails and leaves the other file alone.
#[test]
fn fragmented_output_deleted_or_replaced_mid_encode_is_an_error() {
    let scratch = common::Scratch::new("faults-replaced-frag");
    for replace in [false, true] {
        let out = scratch.path(if replace {
            "replaced.mp4"
        } else {
            "deleted.mp4"
        });
        let mut feeder = Feeder::start(&out, &["-g", "5", "--fragmented"], 64, 48);
        assert!(feeder.send(12));
        let start = Instant::now();
        while !out.exists() && start.elapsed() < Duration::from_secs(30) {
            thread::sleep(Duration::from_millis(20));
        }
        fs::remove_file(&out).expect("remove the output");
        if replace {
            fs::write(&out, b"someone else's file").expect("write");
        }
        let _ = feeder.send(8);
        let (status, err) = feeder.finish(true, "fragmented encode onto a removed file");
        assert_eq!(status.code(), Some(1), "{err}");
        let detail = if replace {
            "another file now has its name"
        } else {
            "no longer exists"
        };
        for needle in [
            "error:",
            &*out.to_string_lossy(),
            "removed or replaced",
            detail,
        ] {
            assert!(err.contains(needle), "missing {needle:?} in: {err}");
        }
        if replace {
            assert_eq!(fs::read(&out).expect("read"), b"someone else's file");
        } else {
            assert!(!out.exists());
        }
    }
}

#[test]
fn output_pipe_closed_by_its_reader_is_an_error_not_a_hang() {
    for format in ["h264", "mp4", "mkv"] {
        let mut child = framepress()
            .args([
                "demo",
                "-",
                "-f",
                format,
                "--frames",
                "2000",
                "--size",
                "320x240",
                "--preset",
                "ultrafast",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start");
        let stderr = collect(child.stderr.take().expect("stderr"));
        let mut stdout = child.stdout.take().expect("stdout");
        let mut first = vec![0u8; 4096];
        stdout.read_exact(&mut first).expect("some output");
        drop(stdout);
        let status = wait_limited(&mut child, LIMIT, "demo into a closed pipe");
        let err = String::from_utf8_lossy(&stderr.join().expect("stderr")).into_owned();
        assert_eq!(status.code(), Some(1), "{format}: {err}");
        assert!(
            err.contains("error:") && err.contains("Broken pipe"),
            "{format}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}

// ---- Killed and interrupted. ----

/// Waits until the encoder has opened its output `name` in `dir` (the file or its hidden partial file), which it
/// does after reading the first frame, then a little longer so that encoding is under way.
fn wait_for_output(dir: &Path, name: &str) {
    let start = Instant::now();
    while !names(dir).iter().any(|n| n.contains(name)) {
        assert!(start.elapsed() < LIMIT, "{name} never appeared");
        thread::sleep(Duration::from_millis(10));
    }
    thread::sleep(Duration::from_millis(300));
}

/// SIGKILL cannot be caught: a progressive (non-fragmented) output is then never moved into place, so nothing that
/// looks complete is left. Only the hidden partial file (`.out.mp4.partial-<pid>-<n>`) remains, until the next encode
/// to the same name removes it (see below); crash-safe output (`--fragmented`) is the way to keep frames through a
/// kill (tests/fragments.rs).
#[test]
fn sigkill_mid_encode_leaves_no_file_that_looks_complete() {
    let scratch = common::Scratch::new("faults-sigkill");
    let out = scratch.path("out.mp4");
    let mut feeder = Feeder::start(&out, &[], 64, 48);
    assert!(feeder.send(10));
    wait_for_output(scratch.dir(), "out.mp4");
    feeder.signal("KILL");
    let (status, _) = feeder.finish(true, "killed encoder");
    assert_eq!(status.code(), None, "killed by a signal");
    assert!(!out.exists(), "out.mp4 appeared after SIGKILL");
    for name in names(scratch.dir()) {
        assert!(
            name.starts_with(".out.mp4.partial-"),
            "unexpected file {name} after SIGKILL"
        );
    }
}

/// The pid of a process that has ended and been reaped.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().expect("run true");
    let pid = child.id();
    child.wait().expect("wait for true");
    pid
}

/// The next encode to a name removes the partial files that killed encoders left for it: those whose process no
/// longer runs. A partial file of a running process (here the test itself) is another encode in progress and stays.
#[test]
fn next_encode_removes_partial_files_of_killed_encoders() {
    let scratch = common::Scratch::new("faults-sigkill-cleanup");
    let out = scratch.path("out.mp4");
    let mut feeder = Feeder::start(&out, &[], 64, 48);
    assert!(feeder.send(10));
    wait_for_output(scratch.dir(), "out.mp4");
    feeder.signal("KILL");
    let (status, _) = feeder.finish(true, "killed encoder");
    assert_eq!(status.code(), None, "killed by a signal");
    let killed = names(scratch.dir());
    assert_eq!(killed.len(), 1, "{killed:?}");
    assert!(killed[0].starts_with(".out.mp4.partial-"), "{killed:?}");

    let stale = format!(".out.mp4.partial-{}-0", dead_pid());
    let live = format!(".out.mp4.partial-{}-0", std::process::id());
    let other = format!(".other.mp4.partial-{}-0", dead_pid());
    for name in [&stale, &live, &other] {
        fs::write(scratch.path(name), b"partial").expect("write");
    }
    let r = run(
        framepress()
            .args(["demo", "--frames", "2", "--size", "32x32"])
            .arg(&out),
        "demo after a kill",
    );
    assert!(r.status.success(), "{}", stderr_text(&r));
    let mut want = vec![live, other, "out.mp4".to_string()];
    want.sort();
    assert_eq!(names(scratch.dir()), want);
}

/// SIGINT (Ctrl-C) and SIGTERM mid-encode: the encoder stops reading, finishes the container with the frames it
/// has, reports it, and exits with 128 + the signal number. The file decodes to exactly the first frames sent.
#[test]
fn sigint_and_sigterm_finish_the_file_with_the_frames_so_far() {
    let scratch = common::Scratch::new("faults-sigint");
    let (w, h) = (64, 48);
    for (signal, code, name) in [
        ("INT", 130, "int.mp4"),
        ("TERM", 143, "term.mkv"),
        ("INT", 130, "int.h264"),
        ("INT", 130, "frag.mp4"),
    ] {
        let out = scratch.path(name);
        let mut extra = vec!["--crf", "0", "-g", "4"];
        if name.starts_with("frag") {
            extra.push("--fragmented");
        }
        // The producer stays alive: the encoder is blocked reading when the signal comes.
        let mut feeder = Feeder::start(&out, &extra, w, h);
        assert!(feeder.send(9));
        wait_for_output(scratch.dir(), name);
        feeder.signal(signal);
        let sent = feeder.sent.clone();
        let (status, err) = feeder.finish(false, "interrupted encoder");
        assert_eq!(status.code(), Some(code), "{name}: {err}");
        assert!(err.contains("interrupted"), "{name}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("error:"),
            "{name}: {err}"
        );
        assert!(out.exists(), "{name}: no output after SIG{signal}");
        if let Some(frames) = decode(&out, w, h) {
            assert!(!frames.is_empty() && frames.len() <= sent.len(), "{name}");
            // Lossless: the decoded frames are the first frames sent, in order.
            common::assert_i420_frames_equal(&frames, &sent[..frames.len()], w, h);
        }
    }
    let left: Vec<String> = names(scratch.dir())
        .into_iter()
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(left.is_empty(), "partial files left: {left:?}");
}

/// A SIGINT that comes while the demo is generating frames (no input to block on) finishes the file too.
#[test]
fn sigint_during_a_long_demo_finishes_the_file() {
    let scratch = common::Scratch::new("faults-sigint-demo");
    let out = scratch.path("demo.mp4");
    let mut child = framepress()
        .args(["demo", "--frames", "100000", "--size", "64x48"])
        .arg(&out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    let stderr = collect(child.stderr.take().expect("stderr"));
    wait_for_output(scratch.dir(), "demo.mp4");
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok);
    let status = wait_limited(&mut child, LIMIT, "interrupted demo");
    let err = String::from_utf8_lossy(&stderr.join().expect("stderr")).into_owned();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(
        err.contains("interrupted") && err.contains("encoded"),
        "{err}"
    );
    if let Some(frames) = decode(&out, 64, 48) {
        assert!(!frames.is_empty() && frames.len() < 100_000);
    }
}

/// Before any frame is encoded there is nothing to save: a signal ends the process at once, as without a handler.
#[test]
fn sigint_before_encoding_ends_at_once() {
    let scratch = common::Scratch::new("faults-sigint-early");
    let out = scratch.path("out.mp4");
    let mut child = framepress()
        .args(["encode", "-"])
        .arg(&out)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start");
    thread::sleep(Duration::from_millis(300));
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok);
    let status = wait_limited(&mut child, LIMIT, "encoder waiting for input");
    drop(child.stdin.take());
    assert_eq!(status.code(), None, "ended by the signal: {status:?}");
    assert!(names(scratch.dir()).is_empty());
}

// ---- No GPU. ----

fn gpu_required() -> bool {
    std::env::var("FRAMEPRESS_REQUIRE_GPU").is_ok_and(|v| v == "1")
}

#[test]
fn cuda_without_a_gpu_is_a_clear_error() {
    let scratch = common::Scratch::new("faults-no-gpu");
    let input = scratch.path("in.rgb");
    fs::write(&input, vec![7u8; 16 * 16 * 3 * 2]).expect("input");
    let out_path = scratch.path("out.mp4");
    let encode = |extra: &[&str]| {
        run(
            framepress()
                .arg("encode")
                .arg(&input)
                .arg(&out_path)
                .args(["--pix-fmt", "rgb24", "--size", "16x16"])
                .args(extra),
            "encode on cuda",
        )
    };
    let r = encode(&["--device", "cuda:0", "-g", "1", "--qp", "20"]);
    if r.status.success() {
        eprintln!("skipping the no-GPU check: this machine has a CUDA device");
        return;
    }
    assert!(
        !gpu_required(),
        "FRAMEPRESS_REQUIRE_GPU=1 but: {}",
        stderr_text(&r)
    );
    assert_error(&r, &["CUDA", "--device cpu"]);
    // Any other CUDA setting fails as cleanly: refused as unsupported, or for want of a driver.
    for extra in [
        &["--device", "cuda"][..],
        &["--device", "cuda", "-g", "1", "--lossless", "--qp", "0"],
        &["--device", "cuda", "-g", "1", "--bitrate", "1M"],
        &["--device", "cuda:57", "-g", "1"],
    ] {
        let r = encode(extra);
        assert_error(&r, &["--device cpu"]);
        assert!(stderr_text(&r).to_lowercase().contains("cuda"), "{extra:?}");
    }
    assert_eq!(names(scratch.dir()), vec!["in.rgb".to_string()]);
}

// ---- Resource limits. ----

#[test]
fn absurd_thread_counts_are_refused_quickly() {
    let scratch = common::Scratch::new("faults-threads");
    let out = scratch.path("out.mp4");
    for threads in ["100000", "18446744073709551615"] {
        let r = run(
            framepress()
                .args([
                    "demo",
                    "--frames",
                    "2",
                    "--size",
                    "32x32",
                    "--threads",
                    threads,
                ])
                .arg(&out),
            "demo with a huge thread count",
        );
        assert_error(&r, &["threads", threads, "1..=1024"]);
    }
    assert!(names(scratch.dir()).is_empty());
}

#[test]
fn output_path_with_no_parent_name_fails_cleanly() {
    let out = run(
        framepress().args(["demo", "/", "--frames", "1", "--size", "16x16", "-f", "mp4"]),
        "demo onto /",
    );
    assert_error(&out, &["/"]);
}
