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

/// Encodes `frame` and every frame `next` reads after it. Frames are read on
/// this thread and encoded on another (one of the encoder's own threads, for
/// the whole loop), through [`BUFFERS`] buffers that go round: one being encoded, one
/// read and waiting, one being read. So the encoder finds the next frame
/// ready when it finishes one, and the reading costs it no time beyond the
/// cores it shares; signals are still handled on this thread, whose read they
/// cut short.
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
    // The other buffers are made when first needed, once the encoder has a
    // frame: their memory is faulted in beside the first picture's coding.
    let mut spare: Vec<B> = Vec::with_capacity(BUFFERS - 1);
    let mut made = 1;
    std::thread::scope(|s| {
        // Room for one read frame beside the one being encoded.
        let (to_encoder, frames) = mpsc::sync_channel::<B>(1);
        let (to_reader, encoded) = mpsc::channel::<(B, Result<()>)>();
        s.spawn(move || {
            writer.run_on_video_threads(video, |writer| {
                for mut buf in frames {
                    let result = buf.encode(writer, video);
                    let failed = result.is_err();
                    if to_reader.send((buf, result)).is_err() || failed {
                        return;
                    }
                }
            })
        });
        let mut done = Done {
            encoded: &encoded,
            in_flight: 0,
            bar,
        };
        let mut ready = frame;
        loop {
            if to_encoder.send(ready).is_err() {
                // The encoder stopped: its error, if it sent one.
                return done.all();
            }
            done.in_flight += 1;
            let mut buf = match spare.pop() {
                Some(buf) => buf,
                None if made < BUFFERS => {
                    made += 1;
                    B::for_config(config)
                }
                None => done.one()?,
            };
            while let Some(back) = done.any()? {
                spare.push(back);
            }
            // After SIGINT/SIGTERM: stop reading (a frame read or cut short
            // meanwhile is dropped) and let the caller finish the output
            // with the frames already handed over.
            if interrupted() {
                return done.all();
            }
            let more = next(&mut buf);
            if interrupted() || !more? {
                return done.all();
            }
            ready = buf;
        }
    })
}

/// Whether SIGINT or SIGTERM has come, saying so on stderr.
fn interrupted() -> bool {
    let signal = interrupt::requested();
    if let Some(signal) = signal {
        eprintln!("interrupted by signal {signal}: finishing the output with the frames so far");
    }
    signal.is_some()
}

/// How many frame buffers the encode loop keeps going round.
const BUFFERS: usize = 3;

/// The frames handed to the encoding thread and not yet handed back.
struct Done<'a, B> {
    encoded: &'a mpsc::Receiver<(B, Result<()>)>,
    in_flight: usize,
    bar: &'a ProgressBar,
}

impl<B> Done<'_, B> {
    /// Counts one frame handed back with `result`, giving back its buffer.
    fn count(&mut self, (buf, result): (B, Result<()>)) -> Result<B> {
        self.in_flight -= 1;
        result?;
        self.bar.inc(1);
        Ok(buf)
    }

    /// Waits for the next frame handed back.
    fn one(&mut self) -> Result<B> {
        let back = self.encoded.recv().map_err(|_| encoder_gone())?;
        self.count(back)
    }

    /// A frame handed back already, if any.
    fn any(&mut self) -> Result<Option<B>> {
        match self.encoded.try_recv() {
            Ok(back) => self.count(back).map(Some),
            Err(mpsc::TryRecvError::Empty) => Ok(None),
            Err(mpsc::TryRecvError::Disconnected) => Err(encoder_gone()),
        }
    }

    /// Waits for every frame in flight: the first error among them.
    fn all(&mut self) -> Result<()> {
        while self.in_flight > 0 {
            self.one()?;
        }
        Ok(())
    }
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
