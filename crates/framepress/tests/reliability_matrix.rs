//! The crash matrix: rate settings × content × frame sizes × backend. Every case must finish, keep every access
//! unit within the proven bound (`max_access_unit_bytes`), and decode in FFmpeg to the encoder's reconstruction;
//! on a CUDA device the bytes must also equal the CPU backend's.
//!
//! * `crash_matrix_ci_slice` runs in `cargo test` (a reduced slice, well under two minutes on two cores).
//! * `crash_matrix_run` is ignored by default; `scripts/crash-matrix.sh` runs it with the full matrix or any part
//!   of it (see `--help` there), on the CPU or on a CUDA device.
//!
//! Settings come from the environment, so that the script (or a person) can pick the slice:
//!
//! | variable                     | meaning                                                   | default (run) |
//! |------------------------------|-----------------------------------------------------------|---------------|
//! | `FRAMEPRESS_MATRIX_DEVICE`   | `cpu`, `cuda` or `cuda:N`                                 | `cpu`         |
//! | `FRAMEPRESS_MATRIX_SIZES`    | comma-separated `WxH`                                     | all seven     |
//! | `FRAMEPRESS_MATRIX_RATES`    | comma-separated `qp:N`, `qp:A-B`, `crf:N`, `crf:A-B`      | qp and crf 0-51 |
//! | `FRAMEPRESS_MATRIX_CONTENTS` | comma-separated random, solid, gradient, natural, scenecut | all five    |
//! | `FRAMEPRESS_MATRIX_FRAMES`   | frames per case                                           | 3             |
//! | `FRAMEPRESS_MATRIX_JOBS`     | cases encoded at once                                     | every core    |
//! | `FRAMEPRESS_MATRIX_PRESET`   | preset name                                               | medium        |
//! | `FRAMEPRESS_MATRIX_GOP`      | GOP length (1: intra only)                                | 250           |
//! | `FRAMEPRESS_MATRIX_TIMEOUT`  | seconds one case may take before it counts as a hang      | 900           |
//!
//! Without FFmpeg the decode check is skipped with a note (a failure under `FRAMEPRESS_REQUIRE_TOOLS=1`).

mod common;

use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use framepress::{
    max_access_unit_bytes, Device, Encoder, EncoderConfig, Error, PixelFormat, Preset, RateControl,
};

/// Every size the issue names: degenerate, odd, one macroblock plus one sample, and up to 4K.
const ALL_SIZES: [(u32, u32); 7] = [
    (1, 1),
    (2, 2),
    (3, 3),
    (17, 33),
    (256, 256),
    (1920, 1080),
    (3840, 2160),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Content {
    /// Every sample uniformly random, new each frame: the worst case for the entropy coder.
    Random,
    /// One colour, the same every frame.
    Solid,
    /// Smooth ramps, the same every frame.
    Gradient,
    /// The astronaut still (or its synthetic stand-in), panned a few samples a frame.
    Natural,
    /// A different picture every frame: natural, random and an inverted gradient in turn.
    SceneCut,
}

const ALL_CONTENTS: [Content; 5] = [
    Content::Random,
    Content::Solid,
    Content::Gradient,
    Content::Natural,
    Content::SceneCut,
];

impl Content {
    fn name(self) -> &'static str {
        match self {
            Content::Random => "random",
            Content::Solid => "solid",
            Content::Gradient => "gradient",
            Content::Natural => "natural",
            Content::SceneCut => "scenecut",
        }
    }

    fn parse(text: &str) -> Content {
        *ALL_CONTENTS
            .iter()
            .find(|c| c.name() == text.trim())
            .unwrap_or_else(|| panic!("unknown content {text:?} (expected one of random, solid, gradient, natural, scenecut)"))
    }

    /// Frame `i` of the content as I420 (yuv420p).
    fn frame(self, w: u32, h: u32, i: u64, seed: u64) -> Vec<u8> {
        match self {
            Content::Random => common::uniform_random_i420(w, h, seed ^ (i << 32)),
            Content::Solid => common::solid_i420(w, h, [40, 90, 200]),
            Content::Gradient => common::gradient_i420(w, h),
            Content::Natural => common::natural_i420_at(w, h, 3 * i as i64, 2 * i as i64),
            Content::SceneCut => match i % 3 {
                0 => common::natural_i420_at(w, h, 977 * i as i64, 331 * i as i64),
                1 => common::uniform_random_i420(w, h, seed ^ (i << 32)),
                _ => common::gradient_i420(w, h)
                    .iter()
                    .map(|v| 255 - v)
                    .collect(),
            },
        }
    }
}

fn rate_name(rate: RateControl) -> String {
    match rate {
        RateControl::Qp(q) => format!("qp {q}"),
        RateControl::Crf(c) => format!("crf {c}"),
        RateControl::Bitrate {
            bits_per_second, ..
        } => format!("bitrate {bits_per_second}"),
    }
}

/// `qp:N`, `qp:A-B`, `crf:N`, `crf:A-B`, comma-separated.
fn parse_rates(text: &str) -> Vec<RateControl> {
    let mut rates = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (kind, range) = item.split_once(':').unwrap_or_else(|| {
            panic!("bad rate {item:?} (expected qp:N, qp:A-B, crf:N or crf:A-B)")
        });
        let (lo, hi) = range.split_once('-').unwrap_or((range, range));
        let parse = |s: &str| -> u8 {
            s.trim()
                .parse()
                .unwrap_or_else(|_| panic!("bad number in rate {item:?}"))
        };
        for v in parse(lo)..=parse(hi) {
            rates.push(match kind.trim() {
                "qp" => RateControl::Qp(v),
                "crf" => RateControl::Crf(v),
                other => panic!("bad rate kind {other:?} in {item:?} (expected qp or crf)"),
            });
        }
    }
    rates
}

fn parse_sizes(text: &str) -> Vec<(u32, u32)> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| framepress::parse_size(s).unwrap_or_else(|e| panic!("bad size {s:?}: {e}")))
        .collect()
}

#[derive(Debug, Clone)]
struct Case {
    width: u32,
    height: u32,
    content: Content,
    rate: RateControl,
    frames: u64,
}

impl Case {
    /// The seed of the case's random content: a function of the case alone, so that a case run on its own (see
    /// [`Case::reproduce`]) sees the same frames as in the full matrix.
    fn seed(&self) -> u64 {
        let rate = match self.rate {
            RateControl::Qp(q) => u64::from(q),
            RateControl::Crf(c) => 0x100 | u64::from(c),
            RateControl::Bitrate {
                bits_per_second, ..
            } => 0x200 ^ bits_per_second,
        };
        let packed = (u64::from(self.width) << 48)
            ^ (u64::from(self.height) << 32)
            ^ ((self.content as u64) << 16)
            ^ rate;
        common::SplitMix64::new(packed).next_u64()
    }

    /// The command that runs this case alone.
    fn reproduce(&self, device: Device) -> String {
        let rate = match self.rate {
            RateControl::Qp(q) => format!("qp:{q}"),
            RateControl::Crf(c) => format!("crf:{c}"),
            RateControl::Bitrate { .. } => "?".to_string(),
        };
        format!(
            "scripts/crash-matrix.sh --device {device} --sizes {}x{} --contents {} --rates {rate} --frames {}",
            self.width,
            self.height,
            self.content.name(),
            self.frames
        )
    }

    fn label(&self, device: Device) -> String {
        format!(
            "{}x{} {} {} on {device}",
            self.width,
            self.height,
            self.content.name(),
            rate_name(self.rate)
        )
    }
}

/// How one case ended.
enum Outcome {
    Passed,
    /// The backend does not code this setting and said so with a clear error (e.g. lossless on CUDA).
    Unsupported(String),
    Failed(String),
}

#[derive(Debug, Clone)]
struct Settings {
    device: Device,
    jobs: usize,
    preset: Preset,
    gop: u32,
    timeout: Duration,
    /// The FFmpeg binary, when the decode check can run.
    ffmpeg: Option<PathBuf>,
    scratch: PathBuf,
}

/// The encoder's output for one case.
struct Encoded {
    /// The Annex B stream.
    stream: Vec<u8>,
    /// Reconstructions as I420, at the decoded (even) size.
    recons: Vec<Vec<u8>>,
    out_size: (u32, u32),
}

fn config(case: &Case, settings: &Settings, device: Device) -> EncoderConfig {
    let mut c = EncoderConfig::new(case.width, case.height);
    c.pixel_format = PixelFormat::Yuv420p;
    c.rate = case.rate;
    c.preset = settings.preset;
    c.keep_reconstruction = true;
    c.device = device;
    // Cases run side by side; one thread each keeps the machine busy without oversubscribing it.
    c.threads = if settings.jobs > 1 { 1 } else { 0 };
    c.gop = settings.gop;
    c
}

/// Encodes the case on `device`: checks that each access unit is within the bound and returns the stream.
fn encode(
    case: &Case,
    frames: &[Vec<u8>],
    config: EncoderConfig,
) -> Result<Result<Encoded, String>, Error> {
    let (w, h) = (case.width, case.height);
    let bound = max_access_unit_bytes(w, h);
    let mut enc = Encoder::new(config)?;
    let (sps, pps) = (enc.sps().to_vec(), enc.pps().to_vec());
    let out_size = enc.output_size();
    let mut stream = Vec::new();
    let mut recons = Vec::new();
    let mut packets = Vec::new();
    for f in frames {
        enc.send_frame(f)?;
        while let Some(p) = enc.receive_packet() {
            packets.push(p);
        }
    }
    enc.flush()?;
    while let Some(p) = enc.receive_packet() {
        packets.push(p);
    }
    if packets.len() != frames.len() {
        return Ok(Err(format!(
            "{} packets for {} frames",
            packets.len(),
            frames.len()
        )));
    }
    for (i, p) in packets.into_iter().enumerate() {
        if p.index != i as u64 {
            return Ok(Err(format!("packet {i} has index {}", p.index)));
        }
        if i == 0 && !p.keyframe {
            return Ok(Err("the first packet is not a keyframe".to_string()));
        }
        let au = p.nals.iter().map(|n| n.len() + 4).sum::<usize>() + sps.len() + pps.len() + 8;
        if au > bound {
            return Ok(Err(format!(
                "frame {i}: access unit of {au} bytes exceeds the proven bound {bound}"
            )));
        }
        if p.keyframe {
            for ps in [&sps, &pps] {
                stream.extend_from_slice(&[0, 0, 0, 1]);
                stream.extend_from_slice(ps);
            }
        }
        for nal in &p.nals {
            stream.extend_from_slice(&[0, 0, 0, 1]);
            stream.extend_from_slice(nal);
        }
        match p.recon {
            Some(r) => recons.push(r.to_i420()),
            None => return Ok(Err(format!("frame {i} has no reconstruction"))),
        }
    }
    Ok(Ok(Encoded {
        stream,
        recons,
        out_size,
    }))
}

/// Decodes an Annex B file with FFmpeg (`-err_detect explode`), without panicking.
fn decode(ffmpeg: &Path, path: &Path) -> Result<common::Decoded, String> {
    let out = Command::new(ffmpeg)
        .args([
            "-nostdin",
            "-hide_banner",
            "-v",
            "error",
            "-err_detect",
            "explode",
            "-f",
            "h264",
            "-i",
        ])
        .arg(path)
        .args(["-fps_mode", "passthrough", "-f", "yuv4mpegpipe", "-"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run ffmpeg: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || !stderr.trim().is_empty() {
        return Err(format!("ffmpeg failed ({}): {}", out.status, stderr.trim()));
    }
    common::parse_y4m(&out.stdout)
}

fn run_case(case: &Case, settings: &Settings, seed: u64) -> Outcome {
    let frames: Vec<Vec<u8>> = (0..case.frames)
        .map(|i| case.content.frame(case.width, case.height, i, seed))
        .collect();
    let encoded = match encode(case, &frames, config(case, settings, settings.device)) {
        Ok(Ok(e)) => e,
        Ok(Err(why)) => return Outcome::Failed(why),
        Err(
            e @ Error::InvalidOption {
                option: "device", ..
            },
        ) => return Outcome::Unsupported(e.to_string()),
        Err(e) => return Outcome::Failed(format!("error: {e}")),
    };
    if settings.device != Device::Cpu {
        // One bitstream, two engines: the CPU backend must produce the same bytes and reconstructions.
        match encode(case, &frames, config(case, settings, Device::Cpu)) {
            Ok(Ok(cpu)) if cpu.stream == encoded.stream && cpu.recons == encoded.recons => {}
            Ok(Ok(cpu)) if cpu.stream == encoded.stream => {
                return Outcome::Failed("same bytes as the CPU but other reconstructions".into())
            }
            Ok(Ok(cpu)) => {
                let at = cpu
                    .stream
                    .iter()
                    .zip(&encoded.stream)
                    .position(|(a, b)| a != b)
                    .unwrap_or(cpu.stream.len().min(encoded.stream.len()));
                return Outcome::Failed(format!(
                    "bytes differ from the CPU backend's at byte {at} ({} vs {} bytes)",
                    encoded.stream.len(),
                    cpu.stream.len()
                ));
            }
            Ok(Err(why)) => return Outcome::Failed(format!("CPU reference: {why}")),
            Err(e) => return Outcome::Failed(format!("CPU reference: error: {e}")),
        }
    }
    let Some(ffmpeg) = &settings.ffmpeg else {
        return Outcome::Passed;
    };
    let path = settings.scratch.join(format!(
        "{}x{}-{}-{}-{seed}.h264",
        case.width,
        case.height,
        case.content.name(),
        rate_name(case.rate).replace(' ', "")
    ));
    if let Err(e) = std::fs::write(&path, &encoded.stream) {
        return Outcome::Failed(format!("cannot write {}: {e}", path.display()));
    }
    let decoded = decode(ffmpeg, &path);
    let (ow, oh) = encoded.out_size;
    let verdict = match decoded {
        Err(why) => Outcome::Failed(why),
        Ok(d) if (d.width, d.height) != (ow, oh) => Outcome::Failed(format!(
            "decodes to {}x{}, expected {ow}x{oh}",
            d.width, d.height
        )),
        Ok(d) if d.frames.len() != encoded.recons.len() => Outcome::Failed(format!(
            "decodes to {} frames, expected {}",
            d.frames.len(),
            encoded.recons.len()
        )),
        Ok(d) => {
            let bad = d
                .frames
                .iter()
                .zip(&encoded.recons)
                .enumerate()
                .find_map(|(i, (a, b))| {
                    common::i420_mismatch(a, b, ow, oh).map(|why| format!("frame {i}: {why}"))
                });
            match bad {
                Some(why) => Outcome::Failed(format!("decoded != reconstructed: {why}")),
                None => Outcome::Passed,
            }
        }
    };
    if matches!(verdict, Outcome::Passed) {
        let _ = std::fs::remove_file(&path);
    }
    verdict
}

/// Totals of a matrix run.
#[derive(Debug, Default)]
struct Report {
    passed: usize,
    unsupported: BTreeMap<String, usize>,
    failures: Vec<String>,
}

/// What a worker is running: the index of its case and when it started.
type Slot = Option<(usize, Instant)>;

/// Runs every case on `settings.jobs` threads, with a watchdog that fails the run when a case outlasts the timeout.
fn run_matrix(mut cases: Vec<Case>, settings: &Settings) -> Report {
    // Largest first, so the long cases start early and the threads finish together.
    cases.sort_by_key(|c| std::cmp::Reverse(u64::from(c.width) * u64::from(c.height)));
    let total = cases.len();
    let cases = Arc::new(cases);
    let next = Arc::new(AtomicUsize::new(0));
    let report = Arc::new(Mutex::new(Report::default()));
    let in_flight: Arc<Mutex<Vec<Slot>>> = Arc::new(Mutex::new(vec![None; settings.jobs]));
    let done = Arc::new(AtomicBool::new(false));
    let start = Instant::now();

    let watchdog = {
        let (in_flight, done, timeout) = (in_flight.clone(), done.clone(), settings.timeout);
        let (cases, device) = (cases.clone(), settings.device);
        thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(200));
                let slots = in_flight.lock().unwrap_or_else(|e| e.into_inner());
                for (index, since) in slots.iter().flatten() {
                    if since.elapsed() > timeout {
                        // A hang: report it and stop the whole run, since the stuck thread cannot be cancelled.
                        // (Wall time: on a loaded machine raise FRAMEPRESS_MATRIX_TIMEOUT, and reproduce the case
                        // alone before calling it a bug.)
                        let case = &cases[*index];
                        eprintln!(
                            "HANG {}: still running after {timeout:?}\n  reproduce: {}",
                            case.label(device),
                            case.reproduce(device)
                        );
                        std::process::exit(3);
                    }
                }
            }
        })
    };

    let workers: Vec<_> = (0..settings.jobs)
        .map(|slot| {
            let (cases, next, report, in_flight, settings) = (
                cases.clone(),
                next.clone(),
                report.clone(),
                in_flight.clone(),
                settings.clone(),
            );
            thread::spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(i) else { break };
                let label = case.label(settings.device);
                in_flight.lock().unwrap_or_else(|e| e.into_inner())[slot] =
                    Some((i, Instant::now()));
                let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
                    run_case(case, &settings, case.seed())
                }))
                .unwrap_or_else(|payload| {
                    let msg = payload
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    Outcome::Failed(format!("PANIC: {msg}"))
                });
                in_flight.lock().unwrap_or_else(|e| e.into_inner())[slot] = None;
                let mut r = report.lock().unwrap_or_else(|e| e.into_inner());
                match outcome {
                    Outcome::Passed => r.passed += 1,
                    Outcome::Unsupported(why) => *r.unsupported.entry(why).or_default() += 1,
                    Outcome::Failed(why) => {
                        eprintln!(
                            "FAIL {label}: {why}\n  reproduce: {}",
                            case.reproduce(settings.device)
                        );
                        r.failures.push(format!("{label}: {why}"));
                    }
                }
                let finished = r.passed + r.failures.len() + r.unsupported.values().sum::<usize>();
                if finished % 250 == 0 {
                    eprintln!(
                        "  {finished}/{total} cases, {:.0} s",
                        start.elapsed().as_secs_f64()
                    );
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("matrix worker");
    }
    done.store(true, Ordering::Relaxed);
    watchdog.join().expect("watchdog");
    let report = Arc::try_unwrap(report)
        .expect("workers finished")
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    eprintln!(
        "crash matrix on {}: {total} cases ({} sizes, {:?} frames each), {} passed, {} failed, {} unsupported, in {:.1} s{}",
        settings.device,
        cases.iter().map(|c| (c.width, c.height)).collect::<std::collections::BTreeSet<_>>().len(),
        cases.iter().map(|c| c.frames).collect::<std::collections::BTreeSet<_>>(),
        report.passed,
        report.failures.len(),
        report.unsupported.values().sum::<usize>(),
        start.elapsed().as_secs_f64(),
        if settings.ffmpeg.is_some() { "" } else { " (no ffmpeg: decode check skipped)" }
    );
    for (why, n) in &report.unsupported {
        eprintln!("  unsupported ×{n}: {why}");
    }
    report
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn settings(test: &str, scratch: &common::Scratch) -> Settings {
    let device = env_var("FRAMEPRESS_MATRIX_DEVICE")
        .map(|d| Device::parse(&d).unwrap_or_else(|e| panic!("FRAMEPRESS_MATRIX_DEVICE: {e}")))
        .unwrap_or(Device::Cpu);
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let jobs = env_var("FRAMEPRESS_MATRIX_JOBS")
        .map(|j| j.parse().expect("FRAMEPRESS_MATRIX_JOBS: a number"))
        .unwrap_or(cores)
        .max(1);
    let preset = env_var("FRAMEPRESS_MATRIX_PRESET")
        .map(|p| Preset::from_name(&p).unwrap_or_else(|e| panic!("FRAMEPRESS_MATRIX_PRESET: {e}")))
        .unwrap_or(Preset::Medium);
    let gop = env_var("FRAMEPRESS_MATRIX_GOP")
        .map(|g| g.parse().expect("FRAMEPRESS_MATRIX_GOP: a number"))
        .unwrap_or(250);
    let timeout = env_var("FRAMEPRESS_MATRIX_TIMEOUT")
        .map(|t| t.parse().expect("FRAMEPRESS_MATRIX_TIMEOUT: seconds"))
        .unwrap_or(900);
    let ffmpeg = common::ffmpeg();
    if ffmpeg.is_none() {
        eprintln!("{test}: FFmpeg missing: checking finish and bound only");
    }
    Settings {
        device,
        jobs,
        preset,
        gop,
        timeout: Duration::from_secs(timeout),
        ffmpeg,
        scratch: scratch.dir().to_path_buf(),
    }
}

fn cases(
    sizes: &[(u32, u32)],
    contents: &[Content],
    rates: &[RateControl],
    frames: u64,
) -> Vec<Case> {
    let mut out = Vec::new();
    for &(width, height) in sizes {
        for &content in contents {
            for &rate in rates {
                out.push(Case {
                    width,
                    height,
                    content,
                    rate,
                    frames,
                });
            }
        }
    }
    out
}

fn assert_clean(report: &Report) {
    assert!(
        report.failures.is_empty(),
        "{} cases failed:\n{}",
        report.failures.len(),
        report.failures.join("\n")
    );
}

/// The slice that runs in CI: every qp and crf, every content, on the sizes up to 256×256 (2600 cases of 3 frames),
/// and the worst cases at 1080p and 4K (3 cases of 1 or 2 frames), on the device from `FRAMEPRESS_MATRIX_DEVICE` (default CPU).
#[test]
fn crash_matrix_ci_slice() {
    let scratch = common::Scratch::new("crash-matrix-ci");
    let settings = settings("crash_matrix_ci_slice", &scratch);
    let all_rates = parse_rates("qp:0-51,crf:0-51");
    let small = [(1, 1), (2, 2), (3, 3), (17, 33), (256, 256)];
    let mut all = cases(&small, &ALL_CONTENTS, &all_rates, 3);
    all.extend(cases(
        &[(1920, 1080)],
        &[Content::Random, Content::SceneCut],
        &parse_rates("qp:0,crf:23"),
        2,
    ));
    all.extend(cases(
        &[(3840, 2160)],
        &[Content::Random],
        &parse_rates("qp:0"),
        1,
    ));
    let report = run_matrix(all, &settings);
    assert_clean(&report);
}

/// The matrix picked by the `FRAMEPRESS_MATRIX_*` variables; by default the full one (7 sizes × 5 contents × qp and
/// crf 0..=51 = 3640 cases of 3 frames). Run it with `scripts/crash-matrix.sh`.
#[test]
#[ignore = "long: run with scripts/crash-matrix.sh"]
fn crash_matrix_run() {
    let scratch = common::Scratch::new("crash-matrix");
    let settings = settings("crash_matrix_run", &scratch);
    let sizes = env_var("FRAMEPRESS_MATRIX_SIZES").map_or(ALL_SIZES.to_vec(), |s| parse_sizes(&s));
    let contents = env_var("FRAMEPRESS_MATRIX_CONTENTS").map_or(ALL_CONTENTS.to_vec(), |s| {
        s.split(',')
            .filter(|c| !c.trim().is_empty())
            .map(Content::parse)
            .collect()
    });
    let rates = parse_rates(
        &env_var("FRAMEPRESS_MATRIX_RATES").unwrap_or_else(|| "qp:0-51,crf:0-51".to_string()),
    );
    let frames = env_var("FRAMEPRESS_MATRIX_FRAMES")
        .map(|f| f.parse().expect("FRAMEPRESS_MATRIX_FRAMES: a number"))
        .unwrap_or(3);
    let report = run_matrix(cases(&sizes, &contents, &rates, frames), &settings);
    assert_clean(&report);
}

#[test]
fn rate_and_size_lists_parse() {
    assert_eq!(parse_rates("qp:0-51,crf:0-51").len(), 104);
    assert_eq!(
        parse_rates(" qp:3 , crf:7-8"),
        vec![RateControl::Qp(3), RateControl::Crf(7), RateControl::Crf(8)]
    );
    assert_eq!(parse_sizes("1x1,17x33"), vec![(1, 1), (17, 33)]);
    assert_eq!(Content::parse("scenecut"), Content::SceneCut);
}
