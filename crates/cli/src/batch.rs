//! `framepress batch INPUT... --out-dir DIR`: many clips at once, one
//! encoder per device (every GPU by default, else the CPU), each device
//! taking the next clip as soon as it is done with one.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use framepress::batch::{parse_devices, run_on_devices};
use framepress::{Device, Error, Result};

use crate::interrupt;
use crate::output::OutputArgs;
use crate::quality::QualityArgs;
use crate::source::SourceArgs;

/// Extensions of raw input files, taken from directories when --pix-fmt and
/// --size describe them.
const RAW_EXTENSIONS: [&str; 4] = ["yuv", "rgb", "raw", "nv12"];

/// The devices of `--devices`.
#[derive(Debug, Clone)]
pub struct Devices(Vec<Device>);

fn devices(text: &str) -> Result<Devices> {
    parse_devices(text).map(Devices)
}

#[derive(Args)]
pub struct BatchArgs {
    /// Input files (.y4m, or raw frames with --pix-fmt and --size) and directories
    /// (their .y4m files, and raw .yuv/.rgb/.raw/.nv12 files with --pix-fmt and --size).
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    /// Directory for the outputs, named after the inputs (clip.y4m → DIR/clip.mp4);
    /// created when missing.
    #[arg(long, short = 'o', value_name = "DIR")]
    out_dir: PathBuf,
    /// Devices to spread the clips over: all (every GPU, else the CPU), cuda (every GPU),
    /// cpu, or a list such as cuda:0,cuda:1 (one encoder per entry).
    #[arg(long, default_value = "all", value_name = "LIST", value_parser = devices)]
    devices: Devices,
    #[command(flatten)]
    container: OutputArgs,
    #[command(flatten)]
    source: SourceArgs,
    #[command(flatten)]
    quality: QualityArgs,
}

/// What one clip gave.
struct Clip {
    frames: u64,
    bytes: u64,
    elapsed: Duration,
}

pub fn run(args: &BatchArgs) -> Result<()> {
    let inputs = collect_inputs(&args.inputs, args.source.describes_raw())?;
    let outputs = output_paths(&inputs, &args.out_dir, args.container.extension())?;
    std::fs::create_dir_all(&args.out_dir)
        .map_err(|e| Error::io("create the output directory", &args.out_dir, e))?;
    let devices = &args.devices.0;
    eprintln!(
        "encoding {} clips on {}",
        inputs.len(),
        devices
            .iter()
            .map(Device::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let start = Instant::now();
    let done = AtomicUsize::new(0);
    let results = run_on_devices(inputs.len(), devices, |i, device| {
        if interrupt::requested().is_some() {
            return Err(Error::InvalidInput("not started: interrupted".into()));
        }
        let result = encode_clip(args, &inputs[i], &outputs[i], device);
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        report_clip(n, inputs.len(), &inputs[i], &outputs[i], device, &result);
        result
    });
    let elapsed = start.elapsed();
    summarise(&results, elapsed)
}

/// Encodes one clip on `device`.
fn encode_clip(args: &BatchArgs, input: &Path, output: &Path, device: Device) -> Result<Clip> {
    let name = input.to_str().ok_or_else(|| {
        Error::InvalidInput(format!("input path '{}' is not UTF-8", input.display()))
    })?;
    let mut source = args.source.open(name)?;
    let config = args.source.config(source.info(), &args.quality, device);
    let start = Instant::now();
    let mut frame = Vec::with_capacity(config.frame_bytes());
    if !source.read_frame(&mut frame)? {
        return Err(Error::InvalidInput(format!(
            "'{}' has no frames",
            input.display()
        )));
    }
    let mut writer = args.container.open(output)?;
    let video = writer.add_video(&config)?;
    loop {
        writer.encode_frame(video, &frame)?;
        if interrupt::requested().is_some() || !source.read_frame(&mut frame)? {
            break;
        }
    }
    let summary = writer.finish()?;
    Ok(Clip {
        frames: summary.streams.first().map_or(0, |s| s.frames),
        bytes: summary.bytes,
        elapsed: start.elapsed(),
    })
}

/// The input files: files as given, directories expanded to their video
/// files in name order.
fn collect_inputs(paths: &[PathBuf], raw: bool) -> Result<Vec<PathBuf>> {
    let mut inputs = Vec::new();
    for path in paths {
        if !path.is_dir() {
            inputs.push(path.clone());
            continue;
        }
        let entries = std::fs::read_dir(path).map_err(|e| Error::io("read", path, e))?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && is_video_file(p, raw))
            .collect();
        if found.is_empty() {
            return Err(Error::InvalidInput(format!(
                "directory '{}' holds no .y4m files{}",
                path.display(),
                if raw {
                    " or raw .yuv/.rgb/.raw/.nv12 files"
                } else {
                    " (raw files need --pix-fmt and --size)"
                }
            )));
        }
        found.sort();
        inputs.extend(found);
    }
    Ok(inputs)
}

fn is_video_file(path: &Path, raw: bool) -> bool {
    let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
        return false;
    };
    let ext = ext.to_ascii_lowercase();
    ext == "y4m" || (raw && RAW_EXTENSIONS.contains(&ext.as_str()))
}

/// DIR/<input stem>.<ext> for each input; two inputs may not share one.
fn output_paths(inputs: &[PathBuf], dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    let mut outputs: Vec<PathBuf> = Vec::with_capacity(inputs.len());
    for input in inputs {
        let stem = input.file_stem().ok_or_else(|| {
            Error::InvalidInput(format!("input '{}' has no file name", input.display()))
        })?;
        let output = dir.join(stem).with_extension(ext);
        if let Some(k) = outputs.iter().position(|o| *o == output) {
            return Err(Error::InvalidInput(format!(
                "inputs '{}' and '{}' would both be written to '{}' (rename one of them)",
                inputs[k].display(),
                input.display(),
                output.display()
            )));
        }
        outputs.push(output);
    }
    Ok(outputs)
}

fn report_clip(
    n: usize,
    total: usize,
    input: &Path,
    output: &Path,
    device: Device,
    result: &Result<Clip>,
) {
    match result {
        Ok(c) => {
            let fps = c.frames as f64 / c.elapsed.as_secs_f64().max(1e-9);
            eprintln!(
                "[{n}/{total}] {} → {} on {device}: {} frames, {} bytes, {fps:.1} fps",
                input.display(),
                output.display(),
                c.frames,
                c.bytes
            );
        }
        Err(e) => eprintln!("[{n}/{total}] {} failed on {device}: {e}", input.display()),
    }
}

/// Prints the totals; an error names how many clips failed.
fn summarise(results: &[Result<Clip>], elapsed: Duration) -> Result<()> {
    let ok: Vec<&Clip> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let frames: u64 = ok.iter().map(|c| c.frames).sum();
    let bytes: u64 = ok.iter().map(|c| c.bytes).sum();
    let seconds = elapsed.as_secs_f64().max(1e-9);
    eprintln!(
        "encoded {} of {} clips: {frames} frames, {bytes} bytes in {seconds:.2} s ({:.1} fps)",
        ok.len(),
        results.len(),
        frames as f64 / seconds
    );
    let failed = results.len() - ok.len();
    if failed > 0 {
        return Err(Error::Batch {
            failed,
            total: results.len(),
        });
    }
    Ok(())
}
