//! Container writers for H.264 video and Opus or PCM audio: MP4 and MOV
//! (ISO/IEC 14496-12, 14496-14, 14496-15; progressive with the movie box
//! first, or fragmented), Matroska (RFC 9559), and raw Annex B byte streams
//! (ITU-T H.264 Annex B).
//!
//! A muxer takes any number of video and audio tracks ([`Track`]); samples of
//! different tracks may arrive in any order and are interleaved by time. Video
//! samples are handed over one access unit at a time as NAL units: the header
//! byte and the payload with emulation prevention applied, without start code
//! or length prefix. Memory stays bounded by one access unit (one fragment for
//! fragmented output) plus a few bytes of index per sample, however long the
//! clip.
//!
//! [`open`] writes to an [`Output`]: a file path, a pipe, or any stream. What
//! the output can do picks the layout (see [`Output`] and [`Fragmentation`]):
//! a regular file is written atomically (through a hidden temporary file that
//! [`Muxer::finish`] renames onto the target), except crash-safe fragmented
//! output, which is moved into place as soon as its first fragment is
//! complete so that a killed process leaves every complete fragment behind.

mod annexb;
mod avcc;
mod boxes;
mod ebml;
mod error;
mod file;
mod fmp4;
mod mkv;
mod moov;
mod mp4;
mod sink;
#[cfg(test)]
mod testutil;
mod track;
mod writer;

use std::path::Path;
use std::time::Duration;

pub use annexb::AnnexBMuxer;
pub use error::Error;
pub use mp4::Mp4Muxer;
pub use sink::{Output, ReadWriteSeek, WriteSeek};
pub use track::{
    AudioCodec, AudioTrack, OpusMapping, Track, VideoTrack, MAX_CHANNELS, MAX_DIMENSION,
};

use crate::fmp4::{Cut, FragmentedWriter};
use crate::mkv::{ClusterPolicy, MkvWriter};
use crate::moov::Flavor;
use crate::mp4::Mp4Writer;
use crate::sink::Sink;
use crate::writer::{Front, InterleavedFront, Interleaver, Writer};

/// One audio packet for [`Muxer::write_audio`].
#[derive(Debug, Clone, Copy)]
pub struct AudioPacket<'a> {
    /// An Opus packet, or interleaved little-endian f32 PCM frames.
    pub data: &'a [u8],
    /// Its length in ticks of [`AudioTrack::timescale`] (48 kHz samples for
    /// Opus; frames for PCM).
    pub duration: u32,
    /// Ticks at the end of the packet that are padding, not to be presented
    /// (the last Opus packet of a stream).
    pub trim_end: u32,
}

/// A writer of several tracks.
pub trait Muxer {
    /// Appends one access unit of video track `track`, in decoding order.
    /// `nals` are its slice NAL units (header byte + payload, emulation
    /// prevention applied, no start code or length prefix); `keyframe` marks
    /// an IDR access unit. The first access unit of a track must be a keyframe.
    /// Each lasts one frame of the track's frame rate.
    ///
    /// MP4, MOV and Matroska store the parameter sets once in the track
    /// description; Annex B writes them itself before every keyframe, so none
    /// expects them in `nals`.
    fn write_video(&mut self, track: usize, nals: &[Vec<u8>], keyframe: bool) -> Result<(), Error>;

    /// Appends one packet of audio track `track`.
    fn write_audio(&mut self, track: usize, packet: &AudioPacket) -> Result<(), Error>;

    /// Says that no more samples will come for `track`, so that the other
    /// tracks need not wait for it to be interleaved. Optional.
    fn end_track(&mut self, track: usize) -> Result<(), Error>;

    /// Completes the output and returns the total number of bytes written.
    /// Fails with [`Error::NoFrames`] if no sample was written.
    fn finish(self: Box<Self>) -> Result<u64, Error>;
}

/// A writer of one H.264 video track.
pub trait VideoMuxer {
    /// Appends one access unit in decoding order (see [`Muxer::write_video`]).
    fn write_sample(&mut self, nals: &[Vec<u8>], keyframe: bool) -> Result<(), Error>;

    /// Completes the output and returns the total number of bytes written.
    /// Fails with [`Error::NoFrames`] if no access unit was written.
    fn finish(self: Box<Self>) -> Result<u64, Error>;
}

/// The container formats that can be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerKind {
    /// MP4 (ISO/IEC 14496-14).
    Mp4,
    /// QuickTime movie.
    Mov,
    /// Matroska.
    Mkv,
    /// Raw H.264 Annex B byte stream: one video track.
    AnnexB,
}

impl ContainerKind {
    /// Every kind with its names; the first name is the canonical one.
    pub const NAMES: [(ContainerKind, &'static [&'static str]); 4] = [
        (ContainerKind::Mp4, &["mp4", "m4v"]),
        (ContainerKind::Mov, &["mov", "qt"]),
        (ContainerKind::Mkv, &["mkv", "matroska"]),
        (ContainerKind::AnnexB, &["h264", "264", "annexb"]),
    ];

    /// Picks the container from the file extension (case-insensitive):
    /// `.mp4` and `.m4v` are MP4, `.mov` MOV, `.mkv` Matroska, `.h264` and
    /// `.264` Annex B.
    pub fn from_path(path: &Path) -> Option<ContainerKind> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "mp4" | "m4v" => Some(ContainerKind::Mp4),
            "mov" => Some(ContainerKind::Mov),
            "mkv" => Some(ContainerKind::Mkv),
            "h264" | "264" => Some(ContainerKind::AnnexB),
            _ => None,
        }
    }

    /// Parses a format name: `mp4`, `mov`, `mkv` (or `matroska`), `h264`.
    pub fn from_name(name: &str) -> Option<ContainerKind> {
        let name = name.trim().to_ascii_lowercase();
        ContainerKind::NAMES
            .iter()
            .find(|(_, names)| names.contains(&name.as_str()))
            .map(|(k, _)| *k)
    }

    /// The canonical name (`mp4`, `mov`, `mkv`, `h264`).
    pub fn name(self) -> &'static str {
        match self {
            ContainerKind::Mp4 => "mp4",
            ContainerKind::Mov => "mov",
            ContainerKind::Mkv => "mkv",
            ContainerKind::AnnexB => "h264",
        }
    }
}

/// Where fragmented (crash-safe) output starts a new fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fragmentation {
    /// Fragments only where they are needed: MP4 and MOV on an output that
    /// cannot seek get a fragment per GOP; everything else is written whole
    /// (faststart MP4/MOV, indexed Matroska) and atomically.
    #[default]
    Auto,
    /// Crash-safe output with a fragment per GOP: before each keyframe of the
    /// first video track (every second without video), as FFmpeg's
    /// `-movflags frag_keyframe+empty_moov`. Matroska gets a Cluster per GOP.
    Keyframes,
    /// Crash-safe output with fragments of about this duration, cut at any
    /// frame (a fragment may start with a non-keyframe, which decodes given
    /// the fragments before it), as FFmpeg's `frag_duration`.
    Every(Duration),
}

/// Options for [`open`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MuxOptions {
    pub fragmentation: Fragmentation,
}

/// Opens a muxer writing `tracks` to `output` in the format `kind`.
///
/// * MP4/MOV: progressive (faststart) when the output can seek and read back,
///   `moov` at the end when it can only seek, fragmented when it cannot seek
///   or fragments are asked for.
/// * Matroska: Cues, Duration and sizes where the output can seek; the same
///   stream with unknown sizes on a pipe.
/// * Annex B: one video track.
///
/// Crash-safe output (a fragmentation other than `Auto`) written to a regular
/// file appears at its path once its first fragment is complete.
pub fn open(
    output: Output,
    kind: ContainerKind,
    tracks: &[Track],
    options: &MuxOptions,
) -> Result<Box<dyn Muxer + Send>, Error> {
    if tracks.is_empty() {
        return Err(Error::InvalidTrack(format!(
            "no tracks for '{}' (add at least one stream)",
            output.name().display()
        )));
    }
    for t in tracks {
        t.validate()?;
    }
    let name = output.name().to_path_buf();
    open_sink(output, &name, kind, tracks, options)
}

/// [`open`] over any sink.
pub(crate) fn open_sink<S: Sink + Send + 'static>(
    sink: S,
    name: &Path,
    kind: ContainerKind,
    tracks: &[Track],
    options: &MuxOptions,
) -> Result<Box<dyn Muxer + Send>, Error> {
    let crash_safe = options.fragmentation != Fragmentation::Auto;
    let cut = match options.fragmentation {
        Fragmentation::Every(d) if !d.is_zero() => Cut::Every(d),
        _ => Cut::Keyframes,
    };
    let seekable = sink.can_seek();
    Ok(match kind {
        ContainerKind::Mp4 | ContainerKind::Mov => {
            let flavor = if kind == ContainerKind::Mov {
                Flavor::Mov
            } else {
                Flavor::Mp4
            };
            if crash_safe || !seekable {
                boxed(
                    FragmentedWriter::new(sink, name, flavor, tracks, cut)?,
                    tracks,
                    name,
                )
            } else {
                boxed(Mp4Writer::new(sink, name, flavor, tracks)?, tracks, name)
            }
        }
        ContainerKind::Mkv => {
            let policy = ClusterPolicy {
                every: match options.fragmentation {
                    Fragmentation::Every(d) if !d.is_zero() => Some(d),
                    _ => None,
                },
                durable: crash_safe,
            };
            boxed(MkvWriter::new(sink, name, tracks, policy)?, tracks, name)
        }
        ContainerKind::AnnexB => boxed(
            annexb::AnnexBWriter::new(sink, name, tracks, crash_safe)?,
            tracks,
            name,
        ),
    })
}

fn boxed<W: Writer + Send + 'static>(
    writer: W,
    tracks: &[Track],
    name: &Path,
) -> Box<dyn Muxer + Send> {
    if tracks.len() > 1 {
        Box::new(InterleavedFront(Front::new(
            Interleaver::new(writer, tracks),
            tracks,
            name,
        )))
    } else {
        Box::new(Front::new(writer, tracks, name))
    }
}

/// A [`Muxer`] of one video track seen as a [`VideoMuxer`].
struct SingleVideo(Box<dyn Muxer + Send>);

impl VideoMuxer for SingleVideo {
    fn write_sample(&mut self, nals: &[Vec<u8>], keyframe: bool) -> Result<(), Error> {
        self.0.write_video(0, nals, keyframe)
    }

    fn finish(self: Box<Self>) -> Result<u64, Error> {
        self.0.finish()
    }
}

/// Opens a muxer of one video track writing to `path` (see [`Output::file`]):
/// atomically for regular files, in place for pipes and devices.
pub fn create_file(
    path: &Path,
    kind: ContainerKind,
    track: &VideoTrack,
) -> Result<Box<dyn VideoMuxer + Send>, Error> {
    track.validate()?;
    let muxer = open(
        Output::file(path)?,
        kind,
        &[Track::Video(track.clone())],
        &MuxOptions::default(),
    )?;
    Ok(Box::new(SingleVideo(muxer)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::track;
    use std::path::PathBuf;

    #[test]
    fn kind_from_extension() {
        let k = |p: &str| ContainerKind::from_path(&PathBuf::from(p));
        assert_eq!(k("a/b/out.mp4"), Some(ContainerKind::Mp4));
        assert_eq!(k("OUT.MP4"), Some(ContainerKind::Mp4));
        assert_eq!(k("x.M4v"), Some(ContainerKind::Mp4));
        assert_eq!(k("x.h264"), Some(ContainerKind::AnnexB));
        assert_eq!(k("x.H264"), Some(ContainerKind::AnnexB));
        assert_eq!(k("x.264"), Some(ContainerKind::AnnexB));
        assert_eq!(k("x.mkv"), Some(ContainerKind::Mkv));
        assert_eq!(k("x.MOV"), Some(ContainerKind::Mov));
        assert_eq!(k("x.webm"), None);
        assert_eq!(k("mp4"), None);
        assert_eq!(k(".mp4"), None);
    }

    #[test]
    fn kind_from_name() {
        assert_eq!(ContainerKind::from_name("MKV"), Some(ContainerKind::Mkv));
        assert_eq!(
            ContainerKind::from_name("matroska"),
            Some(ContainerKind::Mkv)
        );
        assert_eq!(
            ContainerKind::from_name("h264"),
            Some(ContainerKind::AnnexB)
        );
        assert_eq!(ContainerKind::from_name("avi"), None);
        for (k, names) in ContainerKind::NAMES {
            assert_eq!(ContainerKind::from_name(names[0]), Some(k));
            assert_eq!(k.name(), names[0]);
        }
    }

    #[test]
    fn invalid_tracks_are_rejected_with_reasons() {
        let msg = |t: VideoTrack| t.validate().unwrap_err().to_string();
        assert!(track(64, 48, 30, 1).validate().is_ok());
        assert!(msg(track(0, 48, 30, 1)).contains("width 0 (expected 1..=65535)"));
        assert!(msg(track(64, 70000, 30, 1)).contains("height 70000"));
        assert!(msg(track(64, 48, 0, 1)).contains("frame rate 0/1"));
        assert!(msg(track(64, 48, 30, 0)).contains("frame rate 30/0"));
        let mut t = track(64, 48, 30, 1);
        t.sps.truncate(2);
        assert!(msg(t).contains("SPS is 2 bytes, too short"));
        let mut t = track(64, 48, 30, 1);
        t.pps = vec![0, 0, 0, 1, 0x68];
        assert!(msg(t).contains("PPS has NAL header byte 0x00"));
    }

    #[test]
    fn formats_refuse_what_they_cannot_carry_before_writing() {
        let pcm = |rate| {
            Track::Audio(AudioTrack {
                codec: AudioCodec::PcmF32,
                sample_rate: rate,
                channels: 2,
            })
        };
        let mem = || Output::seekable(std::io::Cursor::new(Vec::new()), "mem");
        let o = MuxOptions::default();
        let e = open(mem(), ContainerKind::Mp4, &[pcm(96_000)], &o)
            .err()
            .unwrap();
        assert!(e.to_string().contains("96000 Hz does not fit"), "{e}");
        assert!(open(mem(), ContainerKind::Mkv, &[pcm(96_000)], &o).is_ok());
        assert!(open(mem(), ContainerKind::Mov, &[pcm(48_000)], &o).is_ok());
        let v = Track::Video(track(64, 48, 30, 1));
        let e = open(mem(), ContainerKind::AnnexB, &[v.clone(), pcm(48_000)], &o)
            .err()
            .unwrap();
        assert!(e.to_string().contains("exactly one video stream"), "{e}");
        let e = open(mem(), ContainerKind::Mp4, &[], &o).err().unwrap();
        assert!(e.to_string().contains("no tracks"), "{e}");
        let mut m = open(mem(), ContainerKind::Mkv, &[v], &o).unwrap();
        let e = m.write_video(1, &[vec![0x65]], true).unwrap_err();
        assert!(e.to_string().contains("no track 1"), "{e}");
        let e = m
            .write_audio(
                0,
                &AudioPacket {
                    data: &[1],
                    duration: 1,
                    trim_end: 0,
                },
            )
            .unwrap_err();
        assert!(e.to_string().contains("is a video track"), "{e}");
    }

    #[test]
    fn interleaving_orders_tracks_by_time() {
        // Video at 25 fps and PCM at 1000 Hz (40 frames per video frame), handed
        // over all video first: the file must alternate.
        let v = Track::Video(track(64, 48, 25, 1));
        let a = Track::Audio(AudioTrack {
            codec: AudioCodec::PcmF32,
            sample_rate: 1000,
            channels: 1,
        });
        #[derive(Clone, Default)]
        struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Shared {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Shared::default();
        let mut m = open(
            Output::stream(buf.clone(), "mem"),
            ContainerKind::Mkv,
            &[v, a],
            &MuxOptions::default(),
        )
        .unwrap();
        for i in 0..4 {
            m.write_video(0, &[vec![if i == 0 { 0x65 } else { 0x41 }, i]], i == 0)
                .unwrap();
        }
        for i in 0..4u8 {
            let data = [f32::from(i).to_le_bytes(); 40].concat();
            m.write_audio(
                1,
                &AudioPacket {
                    data: &data,
                    duration: 40,
                    trim_end: 0,
                },
            )
            .unwrap();
        }
        assert!(m.finish().unwrap() > 0);
        // The track number of each SimpleBlock (0xA3), in file order; the
        // Segment and Clusters have unknown sizes on a stream: step into them.
        let data = buf.0.lock().unwrap().clone();
        let (mut at, mut order) = (0, Vec::new());
        while at < data.len() {
            let (id, size, hl) = crate::testutil::ebml_header(&data[at..]);
            match id {
                0x1853_8067 | 0x1F43_B675 => at += hl,
                _ => {
                    if id == 0xA3 {
                        order.push(data[at + hl] & 0x7F);
                    }
                    at += hl + size.unwrap() as usize;
                }
            }
        }
        assert_eq!(order, [1, 2, 1, 2, 1, 2, 1, 2]);
    }

    #[test]
    fn invalid_audio_tracks_are_rejected_with_reasons() {
        let a = |rate, channels, codec| {
            Track::Audio(AudioTrack {
                codec,
                sample_rate: rate,
                channels,
            })
            .validate()
            .map_err(|e| e.to_string())
        };
        let opus = || AudioCodec::Opus {
            pre_skip: 312,
            mapping: OpusMapping::simple(),
        };
        assert!(a(48000, 2, opus()).is_ok());
        assert!(a(0, 2, AudioCodec::PcmF32)
            .unwrap_err()
            .contains("sample rate 0"));
        assert!(a(48000, 0, AudioCodec::PcmF32)
            .unwrap_err()
            .contains("0 audio channels"));
        assert!(a(48000, 9, AudioCodec::PcmF32)
            .unwrap_err()
            .contains("9 audio channels"));
        assert!(a(48000, 6, opus())
            .unwrap_err()
            .contains("family 0 carries 1 or 2"));
    }
}
