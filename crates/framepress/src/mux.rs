//! Several streams in one output: any number of video streams (each with its
//! own size, rate and encoder, or packets encoded elsewhere) and audio
//! streams, interleaved by time into MP4, MOV, Matroska or Annex B, written
//! to a file, a pipe or any stream.
//!
//! ```no_run
//! use framepress::{AudioConfig, EncoderConfig, MediaWriter, OutputOptions};
//! # fn main() -> framepress::Result<()> {
//! let mut out = MediaWriter::create("clip.mp4".as_ref(), &OutputOptions::default())?;
//! let video = out.add_video(&EncoderConfig::new(640, 360))?;
//! let audio = out.add_audio(&AudioConfig::new(48_000, 2))?;
//! # let (frame, samples) = (vec![0u8; 640 * 360 * 3 / 2], vec![0f32; 2 * 1600]);
//! out.encode_frame(video, &frame)?; // yuv420p
//! out.add_samples(audio, &samples)?; // 2 channels × 1600 samples, planar
//! out.finish()?;
//! # Ok(()) }
//! ```
//!
//! Streams are added before the first frame or samples; then the container
//! is started. The layout follows the output (see [`Fragmentation`]): a
//! seekable file gets faststart MP4/MOV, a pipe or a stream without seek gets
//! fragmented MP4/MOV (or streaming Matroska, or Annex B), and crash-safe
//! fragments can be asked for anywhere.
//!
//! Errors: a call whose arguments are wrong (a frame of the wrong size, a
//! stream id of the wrong kind, non-finite samples) fails and changes
//! nothing. Any other failure abandons the output; further calls fail. An
//! abandoned or dropped writer leaves nothing behind on a regular file, except
//! crash-safe output, which keeps every complete fragment.

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};

use avc::frame::YuvFrame;
use container::{AudioPacket as ContainerAudioPacket, MuxOptions, Muxer, Track, VideoTrack};

use crate::audio::{AudioConfig, AudioEncoder};
use crate::config::{EncoderConfig, Rational};
use crate::encoder::{Encoder, InputFrame, Packet};
use crate::error::{Error, Result};

/// The container formats: MP4, MOV, Matroska, Annex B.
pub use container::ContainerKind as Format;
/// Where crash-safe output starts its fragments.
pub use container::Fragmentation;
/// A destination: a file path, or a stream that can seek and read, only seek,
/// or neither.
pub use container::Output;

/// How to write the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutputOptions {
    /// The container; `None` picks it from the file extension (required for
    /// outputs that are not paths).
    pub format: Option<Format>,
    /// [`Fragmentation::Auto`] (the default): fragments only where the output
    /// cannot seek. `Keyframes` or `Every(duration)`: crash-safe output whose
    /// complete fragments survive a crash of the writing process.
    pub fragmentation: Fragmentation,
}

/// Names a stream of a [`MediaWriter`]; streams are numbered from 0 in the
/// order they were added, which is also their order in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(usize);

impl StreamId {
    /// The stream's index in the file.
    pub fn index(self) -> usize {
        self.0
    }
}

/// A video stream whose packets are encoded elsewhere (another [`Encoder`],
/// a CUDA backend) and handed over with [`MediaWriter::write_packet`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoStreamInfo {
    /// Size a decoder outputs (see [`Encoder::output_size`]).
    pub width: u32,
    pub height: u32,
    pub frame_rate: Rational,
    /// Sequence and picture parameter set NAL units (no start codes).
    pub sps: Vec<u8>,
    pub pps: Vec<u8>,
}

impl VideoStreamInfo {
    /// The stream an encoder produces.
    pub fn from_encoder(encoder: &Encoder) -> VideoStreamInfo {
        let (width, height) = encoder.output_size();
        VideoStreamInfo {
            width,
            height,
            frame_rate: encoder.config().frame_rate,
            sps: encoder.sps().to_vec(),
            pps: encoder.pps().to_vec(),
        }
    }

    fn track(&self) -> VideoTrack {
        VideoTrack {
            width: self.width,
            height: self.height,
            frame_rate_num: self.frame_rate.num,
            frame_rate_den: self.frame_rate.den,
            sps: self.sps.clone(),
            pps: self.pps.clone(),
        }
    }
}

/// What one stream received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamSummary {
    /// Video frames, or audio samples per channel.
    pub frames: u64,
    /// Packets written to the container.
    pub packets: u64,
}

/// What a [`MediaWriter`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterSummary {
    pub bytes: u64,
    /// One per stream, in stream order.
    pub streams: Vec<StreamSummary>,
}

enum Stream {
    Video {
        /// `None` for packets encoded elsewhere.
        encoder: Option<Box<Encoder>>,
        track: VideoTrack,
        frames: u64,
        packets: u64,
        recons: VecDeque<YuvFrame>,
        ended: bool,
    },
    Audio {
        encoder: Box<AudioEncoder>,
        packets: u64,
        ended: bool,
    },
}

/// Writes several streams into one output; see the module notes.
pub struct MediaWriter {
    /// The destination until the container starts.
    output: Option<Output>,
    name: PathBuf,
    format: Format,
    options: MuxOptions,
    streams: Vec<Stream>,
    muxer: Option<Box<dyn Muxer + Send>>,
    broken: bool,
}

impl std::fmt::Debug for MediaWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaWriter")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("streams", &self.streams.len())
            .field("started", &self.muxer.is_some())
            .field("broken", &self.broken)
            .finish()
    }
}

/// Whether an error leaves the writer usable: the call's arguments were
/// rejected before anything changed.
fn is_argument_error(e: &Error) -> bool {
    matches!(
        e,
        Error::FrameSize { .. }
            | Error::InvalidInput(_)
            | Error::InvalidOption { .. }
            | Error::Container(container::Error::InvalidSample { .. })
    )
}

impl MediaWriter {
    /// Writes to the file at `path` (see [`container::Output::file`]: a
    /// regular file appears when [`MediaWriter::finish`] succeeds, or with
    /// its first fragment for crash-safe output; a named pipe is written in
    /// place). The format comes from `options` or the extension.
    pub fn create(path: &Path, options: &OutputOptions) -> Result<MediaWriter> {
        let format = match options.format {
            Some(f) => f,
            None => Format::from_path(path).ok_or_else(|| Error::UnknownExtension {
                path: path.to_path_buf(),
            })?,
        };
        MediaWriter::new(Output::file(path)?, format, options)
    }

    /// Writes to a stream that cannot seek (a pipe, standard output, a
    /// socket, a Python file object without `seek`): MP4 and MOV become
    /// fragmented, Matroska streams with unknown sizes.
    pub fn to_stream(
        writer: impl Write + Send + 'static,
        format: Format,
        options: &OutputOptions,
    ) -> Result<MediaWriter> {
        MediaWriter::new(Output::stream(writer, "output stream"), format, options)
    }

    /// Writes to any [`container::Output`].
    pub fn new(output: Output, format: Format, options: &OutputOptions) -> Result<MediaWriter> {
        Ok(MediaWriter {
            name: output.name().to_path_buf(),
            output: Some(output),
            format,
            options: MuxOptions {
                fragmentation: options.fragmentation,
            },
            streams: Vec::new(),
            muxer: None,
            broken: false,
        })
    }

    /// The container format being written.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The output's path or name.
    pub fn name(&self) -> &Path {
        &self.name
    }

    fn check_open(&self, what: &str) -> Result<()> {
        if self.broken {
            return Err(Error::InvalidState);
        }
        if self.muxer.is_some() {
            return Err(Error::InvalidOption {
                option: "stream",
                value: what.to_string(),
                expected: "every stream added before the first frame or samples are written"
                    .to_string(),
            });
        }
        Ok(())
    }

    /// Adds a video stream encoded by a new [`Encoder`] with `config`.
    pub fn add_video(&mut self, config: &EncoderConfig) -> Result<StreamId> {
        self.check_open("a video stream")?;
        let encoder = Encoder::new(config.clone())?;
        let track = VideoStreamInfo::from_encoder(&encoder).track();
        track.validate()?;
        self.streams.push(Stream::Video {
            encoder: Some(Box::new(encoder)),
            track,
            frames: 0,
            packets: 0,
            recons: VecDeque::new(),
            ended: false,
        });
        Ok(StreamId(self.streams.len() - 1))
    }

    /// Adds a video stream whose packets are encoded elsewhere.
    pub fn add_video_stream(&mut self, info: &VideoStreamInfo) -> Result<StreamId> {
        self.check_open("a video stream")?;
        let track = info.track();
        track.validate()?;
        self.streams.push(Stream::Video {
            encoder: None,
            track,
            frames: 0,
            packets: 0,
            recons: VecDeque::new(),
            ended: false,
        });
        Ok(StreamId(self.streams.len() - 1))
    }

    /// Adds an audio stream.
    pub fn add_audio(&mut self, config: &AudioConfig) -> Result<StreamId> {
        self.check_open("an audio stream")?;
        let encoder = AudioEncoder::new(config)?;
        self.streams.push(Stream::Audio {
            encoder: Box::new(encoder),
            packets: 0,
            ended: false,
        });
        Ok(StreamId(self.streams.len() - 1))
    }

    /// Starts the container once every stream is known.
    fn start(&mut self) -> Result<()> {
        if self.broken {
            return Err(Error::InvalidState);
        }
        if self.muxer.is_none() {
            if self.streams.is_empty() {
                return Err(Error::InvalidOption {
                    option: "streams",
                    value: "none".to_string(),
                    expected: "at least one stream (add_video or add_audio) before writing"
                        .to_string(),
                });
            }
            let output = self.output.take().ok_or(Error::InvalidState)?;
            let tracks: Vec<Track> = self
                .streams
                .iter()
                .map(|s| match s {
                    Stream::Video { track, .. } => Track::Video(track.clone()),
                    Stream::Audio { encoder, .. } => Track::Audio(encoder.track().clone()),
                })
                .collect();
            let muxer = container::open(output, self.format, &tracks, &self.options)
                .inspect_err(|_| self.broken = true)?;
            self.muxer = Some(muxer);
        }
        Ok(())
    }

    /// Runs `f`; a failure other than a rejected argument abandons the output.
    fn guard<T>(&mut self, f: impl FnOnce(&mut MediaWriter) -> Result<T>) -> Result<T> {
        if self.broken {
            return Err(Error::InvalidState);
        }
        let result = f(self);
        if let Err(e) = &result {
            if !is_argument_error(e) {
                self.broken = true;
                // Dropping the muxer removes an unfinished atomic file.
                self.muxer = None;
            }
        }
        result
    }

    fn stream_error(&self, id: StreamId, expected: &str) -> Error {
        Error::InvalidOption {
            option: "stream",
            value: id.0.to_string(),
            expected: format!(
                "{expected} (this writer has {} streams: {})",
                self.streams.len(),
                self.streams
                    .iter()
                    .enumerate()
                    .map(|(i, s)| format!(
                        "{i} {}",
                        match s {
                            Stream::Video {
                                encoder: Some(_), ..
                            } => "video",
                            Stream::Video { encoder: None, .. } => "video packets",
                            Stream::Audio { .. } => "audio",
                        }
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// Runs `f` with the writer on one of the threads of video stream `id`'s
    /// encoder ([`Encoder::run_on_threads`]), or here for any other stream: a
    /// loop that encodes the stream's frames from inside `f` spares the
    /// encoder a hand-over to its threads for every frame.
    pub fn run_on_video_threads<R: Send>(
        &mut self,
        id: StreamId,
        f: impl FnOnce(&mut MediaWriter) -> R + Send,
    ) -> R {
        let pool = match self.streams.get(id.0) {
            Some(Stream::Video {
                encoder: Some(encoder),
                ..
            }) => Some(encoder.thread_pool()),
            _ => None,
        };
        match pool {
            Some(pool) => pool.install(|| f(self)),
            None => f(self),
        }
    }

    /// Encodes one frame (in the stream's configured pixel format) of a
    /// stream added with [`MediaWriter::add_video`].
    pub fn encode_frame(&mut self, id: StreamId, frame: &[u8]) -> Result<()> {
        self.encode_with(id, |encoder| encoder.send_frame(frame))
    }

    /// Encodes one frame given in the encoder's own layout
    /// ([`Encoder::send_input_frame`]: I420 samples, swapped for a buffer to
    /// fill next) of a stream added with [`MediaWriter::add_video`].
    pub fn encode_input_frame(&mut self, id: StreamId, frame: &mut InputFrame) -> Result<()> {
        self.encode_with(id, |encoder| encoder.send_input_frame(frame))
    }

    /// Hands one frame to the encoder of video stream `id` with `send` and
    /// writes the packets it finishes.
    fn encode_with(
        &mut self,
        id: StreamId,
        send: impl FnOnce(&mut Encoder) -> Result<()>,
    ) -> Result<()> {
        match self.streams.get(id.0) {
            Some(Stream::Video {
                encoder: Some(_),
                ended: false,
                ..
            }) => {}
            _ => return Err(self.stream_error(id, "a video stream from add_video, not ended")),
        }
        self.guard(|w| {
            w.start()?;
            if let Some(Stream::Video {
                encoder: Some(encoder),
                ..
            }) = w.streams.get_mut(id.0)
            {
                send(encoder)?;
            }
            w.drain_video(id)
        })
    }

    /// Writes the encoder's finished packets of stream `id`.
    fn drain_video(&mut self, id: StreamId) -> Result<()> {
        let muxer = self.muxer.as_deref_mut().ok_or(Error::InvalidState)?;
        if let Some(Stream::Video {
            encoder: Some(encoder),
            frames,
            packets,
            recons,
            ..
        }) = self.streams.get_mut(id.0)
        {
            while let Some(packet) = encoder.receive_packet() {
                muxer.write_video(id.0, &packet.nals, packet.keyframe)?;
                *frames += 1;
                *packets += 1;
                recons.extend(packet.recon);
            }
        }
        Ok(())
    }

    /// Writes one packet of a stream added with
    /// [`MediaWriter::add_video_stream`], in decoding order; its
    /// reconstruction, if it carries one, is kept for
    /// [`MediaWriter::take_reconstructions`].
    pub fn write_packet(&mut self, id: StreamId, packet: &Packet) -> Result<()> {
        self.write_nals(id, &packet.nals, packet.keyframe)?;
        if let Some(Stream::Video { recons, .. }) = self.streams.get_mut(id.0) {
            recons.extend(packet.recon.clone());
        }
        Ok(())
    }

    /// Writes one access unit of a stream added with
    /// [`MediaWriter::add_video_stream`], in decoding order: its slice NAL
    /// units (header byte and escaped payload, no start codes; parameter sets
    /// only in [`VideoStreamInfo`]), and whether it is an IDR picture. For
    /// encoders that do not produce a [`Packet`], such as the CUDA backend.
    pub fn write_nals(&mut self, id: StreamId, nals: &[Vec<u8>], keyframe: bool) -> Result<()> {
        match self.streams.get(id.0) {
            Some(Stream::Video {
                encoder: None,
                ended: false,
                ..
            }) => {}
            _ => {
                return Err(self.stream_error(id, "a video stream from add_video_stream, not ended"))
            }
        }
        self.guard(|w| {
            w.start()?;
            let muxer = w.muxer.as_deref_mut().ok_or(Error::InvalidState)?;
            muxer.write_video(id.0, nals, keyframe)?;
            if let Some(Stream::Video {
                frames, packets, ..
            }) = w.streams.get_mut(id.0)
            {
                *frames += 1;
                *packets += 1;
            }
            Ok(())
        })
    }

    /// Adds samples to audio stream `id`: `channels` × `n` float32 values,
    /// channel after channel (a C-contiguous channels × samples array).
    pub fn add_samples(&mut self, id: StreamId, samples: &[f32]) -> Result<()> {
        self.audio_input(id, |e| e.send_planar(samples))
    }

    /// Adds samples to audio stream `id`: `n` frames of `channels`
    /// interleaved float32 values.
    pub fn add_samples_interleaved(&mut self, id: StreamId, samples: &[f32]) -> Result<()> {
        self.audio_input(id, |e| e.send_interleaved(samples))
    }

    fn audio_input(
        &mut self,
        id: StreamId,
        send: impl FnOnce(&mut AudioEncoder) -> Result<()>,
    ) -> Result<()> {
        match self.streams.get(id.0) {
            Some(Stream::Audio { ended: false, .. }) => {}
            _ => return Err(self.stream_error(id, "an audio stream, not ended")),
        }
        self.guard(|w| {
            w.start()?;
            if let Some(Stream::Audio { encoder, .. }) = w.streams.get_mut(id.0) {
                send(encoder)?;
            }
            w.drain_audio(id)
        })
    }

    fn drain_audio(&mut self, id: StreamId) -> Result<()> {
        let muxer = self.muxer.as_deref_mut().ok_or(Error::InvalidState)?;
        if let Some(Stream::Audio {
            encoder, packets, ..
        }) = self.streams.get_mut(id.0)
        {
            while let Some(p) = encoder.receive_packet() {
                muxer.write_audio(
                    id.0,
                    &ContainerAudioPacket {
                        data: &p.data,
                        duration: p.duration,
                        trim_end: p.trim_end,
                    },
                )?;
                *packets += 1;
            }
        }
        Ok(())
    }

    /// Ends stream `id`: flushes its encoder, and lets the other streams be
    /// written without waiting for it. Optional: [`MediaWriter::finish`]
    /// ends every stream.
    pub fn end_stream(&mut self, id: StreamId) -> Result<()> {
        if id.0 >= self.streams.len() {
            return Err(self.stream_error(id, "a stream of this writer"));
        }
        self.guard(|w| {
            w.start()?;
            w.end(id)
        })
    }

    fn end(&mut self, id: StreamId) -> Result<()> {
        match self.streams.get_mut(id.0) {
            Some(Stream::Video { encoder, ended, .. }) if !*ended => {
                *ended = true;
                if let Some(e) = encoder {
                    e.flush()?;
                }
                self.drain_video(id)?;
            }
            Some(Stream::Audio { encoder, ended, .. }) if !*ended => {
                *ended = true;
                encoder.flush()?;
                self.drain_audio(id)?;
            }
            _ => return Ok(()),
        }
        let muxer = self.muxer.as_deref_mut().ok_or(Error::InvalidState)?;
        muxer.end_track(id.0)?;
        Ok(())
    }

    /// The reconstructions (what a decoder will output) of the frames of
    /// video stream `id` written so far, when its encoder keeps them
    /// ([`EncoderConfig::keep_reconstruction`]) or its packets carry them;
    /// each is returned once.
    pub fn take_reconstructions(&mut self, id: StreamId) -> Vec<YuvFrame> {
        match self.streams.get_mut(id.0) {
            Some(Stream::Video { recons, .. }) => recons.drain(..).collect(),
            _ => Vec::new(),
        }
    }

    /// Ends every stream and completes the output.
    pub fn finish(mut self) -> Result<WriterSummary> {
        self.guard(|w| {
            w.start()?;
            for i in 0..w.streams.len() {
                w.end(StreamId(i))?;
            }
            let muxer = w.muxer.take().ok_or(Error::InvalidState)?;
            let bytes = muxer.finish()?;
            let streams = w
                .streams
                .iter()
                .map(|s| match s {
                    Stream::Video {
                        frames, packets, ..
                    } => StreamSummary {
                        frames: *frames,
                        packets: *packets,
                    },
                    Stream::Audio {
                        encoder, packets, ..
                    } => StreamSummary {
                        frames: encoder.frames_sent(),
                        packets: *packets,
                    },
                })
                .collect();
            Ok(WriterSummary { bytes, streams })
        })
    }
}
