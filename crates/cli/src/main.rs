//! The `framepress` command: encode raw or y4m video, or a built-in demo
//! clip, to H.264 in MP4, MOV, Matroska or Annex B, on a file or a pipe.

mod args;
mod batch;
mod cpu;
mod demo;
mod encode;
mod interrupt;
mod memory;
mod output;
mod pipeline;
mod quality;
mod source;

use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "framepress",
    version = VERSION,
    about = "Encode raw video frames to H.264 (.mp4, .mov, .mkv, .h264)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Encode a .y4m or raw video file ('-' reads standard input).
    Encode(encode::EncodeArgs),
    /// Encode many clips at once, spread over every GPU (or the CPU).
    Batch(batch::BatchArgs),
    /// Encode a built-in generated test clip.
    Demo(demo::DemoArgs),
    /// Print the proven maximum size in bytes of one access unit for a frame size.
    Bound {
        /// Frame size, e.g. 1920x1080.
        #[arg(value_parser = framepress::parse_size)]
        size: (u32, u32),
    },
}

/// The version, and the CPU level where the build is for x86-64-v3 or v4
/// (`scripts/build-release.sh` on a machine that has it).
const VERSION: &str = if cfg!(all(target_arch = "x86_64", target_feature = "avx512bw")) {
    concat!(env!("CARGO_PKG_VERSION"), " (built for x86-64-v4 CPUs)")
} else if cfg!(all(target_arch = "x86_64", target_feature = "avx2")) {
    concat!(env!("CARGO_PKG_VERSION"), " (built for x86-64-v3 CPUs)")
} else {
    env!("CARGO_PKG_VERSION")
};

fn main() -> ExitCode {
    if !cpu::runs_here() {
        return ExitCode::FAILURE;
    }
    // Usage errors print clap's message and exit with status 2.
    let cli = Cli::parse();
    memory::keep_freed_memory();
    interrupt::install();
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| match cli.command {
        Command::Encode(args) => encode::run(&args),
        Command::Batch(args) => batch::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Bound { size } => {
            println!("{}", framepress::max_access_unit_bytes(size.0, size.1));
            Ok(())
        }
    }));
    // Stopped by a signal: 128 + its number, as a shell reports a killed command.
    let interrupted = interrupt::requested().map(|s| ExitCode::from(128 + s as u8));
    match outcome {
        Ok(Ok(())) => interrupted.unwrap_or(ExitCode::SUCCESS),
        Ok(Err(error)) => {
            eprintln!("error: {error}");
            interrupted.unwrap_or(ExitCode::FAILURE)
        }
        Err(_) => {
            eprintln!("error: internal error (a bug in framepress; please report it)");
            ExitCode::FAILURE
        }
    }
}
