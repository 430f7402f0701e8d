//! The encode loop shared by the commands: frames in, file out, progress
//! on a terminal and a one-line summary.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use framepress::{EncoderConfig, Error, InputFrame, MediaWriter, Result, StreamId};
use indicatif::{ProgressBar, ProgressStyle};

use crate::interrupt;
use crate::output::OutputArgs;

/// A buffer that the encode loop fills with one frame on one thread and
/// encodes on another: packed bytes in the configured pixel format, or an
/// [`InputFrame`] read in place.
pub trait FrameBuffer: Send {
    /// An empty buffer for frames of `config`.
    fn for_config(config: &EncoderConfig) -> Self;

    /// Encodes the frame the buffer holds into video stream `video`.
    fn encode(&mut self, writer: &mut MediaWriter, video: StreamId) -> Result<()>;
}

impl FrameBuffer for Vec<u8> {
    fn for_config(config: &EncoderConfig) -> Self {
        Vec::with_capacity(config.frame_bytes())
    }

    fn encode(&mut self, writer: &mut MediaWriter, video: StreamId) -> Result<()> {
        writer.encode_frame(video, self)
    }
}

impl FrameBuffer for InputFrame {
    fn for_config(config: &EncoderConfig) -> Self {
        InputFrame::new(config.width, config.height)
    }

    /// Swaps the frame for the encoder's previous one (of the same size).
    fn encode(&mut self, writer: &mut MediaWriter, video: StreamId) -> Result<()> {
        writer.encode_input_frame(video, self)
    }
}

/// Encodes every frame `next` yields (it fills the buffer and returns
/// `false` at the end) to `output` ('-' for standard output); `total` is the
/// expected frame count, if known, for the progress bar.
pub fn encode_all<B, F>(
    output: &Path,
    output_args: &OutputArgs,
    config: &EncoderConfig,
    total: Option<u64>,
    mut next: F,
) -> Result<()>
where
    B: FrameBuffer,
    F: FnMut(&mut B) -> Result<bool>,
{
    let mut frame = B::for_config(config);
    // Read the first frame before creating anything, so a bad or empty
    // input fails without touching the output.
    if !next(&mut frame)? {
        return Err(Error::InvalidInput("the input has no frames".to_string()));
    }
    let start = Instant::now();
    let mut writer = output_args.open(output)?;
    let video = writer.add_video(config)?;
    let bar = progress_bar(total);
    let looped =
        interrupt::deferred(|| encode_rest(&mut writer, video, config, frame, &bar, &mut next));
    bar.finish_and_clear();
    looped?;
    let summary = writer.finish()?;
    let frames = summary.streams.first().map_or(0, |s| s.frames);
    report(frames, summary.bytes, start.elapsed(), output);
    Ok(())
}

/// Encodes `frame` and every frame `next` reads after it. Each frame is read
/// on this thread while the one before it is encoded on another (one
/// encoding thread for the whole loop, handed each frame's buffer and
/// handing it back), so reading the input costs the encoder no time;
/// signals are still handled on this thread, whose read they cut short.
fn encode_rest<B, F>(
    writer: &mut MediaWriter,
    video: StreamId,
    config: &EncoderConfig,
    frame: B,
    bar: &ProgressBar,
    next: &mut F,
) -> Result<()>
where
    B: FrameBuffer,
    F: FnMut(&mut B) -> Result<bool>,
{
    let mut ahead = B::for_config(config);
    std::thread::scope(|s| {
        let (to_encoder, frames) = mpsc::sync_channel::<B>(1);
        let (to_reader, encoded) = mpsc::sync_channel::<(B, Result<()>)>(1);
        s.spawn(move || {
            for mut buf in frames {
                let result = buf.encode(writer, video);
                let failed = result.is_err();
                if to_reader.send((buf, result)).is_err() || failed {
                    return;
                }
            }
        });
        let mut sent = frame;
        loop {
            if to_encoder.send(sent).is_err() {
                return Err(encoder_gone());
            }
            let more = next(&mut ahead);
            let (buf, result) = encoded.recv().map_err(|_| encoder_gone())?;
            result?;
            bar.inc(1);
            // After SIGINT/SIGTERM: stop reading (a frame read or cut short
            // meanwhile is dropped) and let the caller finish the output.
            if let Some(signal) = interrupt::requested() {
                eprintln!(
                    "interrupted by signal {signal}: finishing the output with the frames so far"
                );
                return Ok(());
            }
            if !more? {
                return Ok(());
            }
            sent = std::mem::replace(&mut ahead, buf);
        }
    })
}

/// The encoding thread stopped without a result: it panicked, which the
/// end of the thread scope reports.
fn encoder_gone() -> Error {
    Error::InvalidState
}

/// A bar (or a counter, when the length is unknown) on stderr, shown only
/// when stderr is a terminal.
fn progress_bar(total: Option<u64>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    // In indicatif templates `{per_sec:1}` means one decimal place.
    let (bar, template) = match total {
        Some(n) => (
            ProgressBar::new(n),
            "{bar:40} {pos}/{len} frames  {per_sec:1}  eta {eta}",
        ),
        None => (
            ProgressBar::no_length(),
            "{spinner} {pos} frames  {per_sec:1}  {elapsed}",
        ),
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn report(frames: u64, bytes: u64, elapsed: Duration, output: &Path) {
    let seconds = elapsed.as_secs_f64();
    let fps = if seconds > 0.0 {
        frames as f64 / seconds
    } else {
        0.0
    };
    let name = if output.as_os_str() == "-" {
        "standard output".into()
    } else {
        output.display().to_string()
    };
    eprintln!("encoded {frames} frames, {bytes} bytes, {fps:.1} fps → {name}");
}
