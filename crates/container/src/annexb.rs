//! Raw H.264 byte stream (ITU-T H.264 Annex B): every NAL unit behind a
//! four-byte start code 00 00 00 01, with the SPS and PPS repeated before each
//! keyframe so that decoding can start at any IDR.

use std::io::Write;
use std::path::Path;

use crate::error::Error;
use crate::sink::{Out, Sink, StreamIo};
use crate::track::{Track, VideoTrack};
use crate::writer::{Front, Sample, Writer};
use crate::{Muxer, VideoMuxer};

/// zero_byte + start_code_prefix_one_3bytes (Annex B.1.1).
const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// The Annex B writer: one video track.
pub(crate) struct AnnexBWriter<S: Sink> {
    out: Option<Out<S>>,
    sps: Vec<u8>,
    pps: Vec<u8>,
    samples: u64,
    /// Crash-safe output: a durable point before each keyframe.
    durable: bool,
    /// One access unit with its start codes, written with a single call.
    staging: Vec<u8>,
}

impl<S: Sink> AnnexBWriter<S> {
    pub fn new(sink: S, name: &Path, tracks: &[Track], durable: bool) -> Result<Self, Error> {
        let [Track::Video(track)] = tracks else {
            return Err(Error::Unsupported {
                path: name.to_path_buf(),
                reason: format!(
                    "an Annex B stream (.h264) carries exactly one video stream, not {} streams{}; use .mp4, .mov or .mkv",
                    tracks.len(),
                    if tracks.iter().any(|t| !t.is_video()) { " with audio" } else { "" }
                ),
            });
        };
        Ok(AnnexBWriter {
            out: Some(Out::new(sink, name)),
            sps: track.sps.clone(),
            pps: track.pps.clone(),
            samples: 0,
            durable,
            staging: Vec::new(),
        })
    }

    fn name(&self) -> &Path {
        self.out
            .as_ref()
            .map_or(Path::new("Annex B output"), |o| &o.name)
    }

    fn out(&mut self) -> Result<&mut Out<S>, Error> {
        let name = self.name().to_path_buf();
        self.out.as_mut().ok_or(Error::Poisoned { path: name })
    }
}

impl<S: Sink> Writer for AnnexBWriter<S> {
    type Sink = S;

    fn put(&mut self, _track: usize, s: &Sample) -> Result<(), Error> {
        self.out()?.check()?;
        if s.sync && self.durable && self.samples > 0 {
            // Every GOP before this keyframe is complete.
            self.out()?.durable_point()?;
        }
        let mut au = std::mem::take(&mut self.staging);
        au.clear();
        if s.sync {
            for nal in [&self.sps, &self.pps] {
                au.extend_from_slice(&START_CODE);
                au.extend_from_slice(nal);
            }
        }
        // The sample's 4-byte lengths become 4-byte start codes.
        let mut rest = s.data;
        while rest.len() >= 4 {
            let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            let end = (4 + len).min(rest.len());
            au.extend_from_slice(&START_CODE);
            au.extend_from_slice(&rest[4..end]);
            rest = &rest[end..];
        }
        let result = self.out().and_then(|o| o.write(&au));
        self.staging = au;
        result?;
        self.samples += 1;
        Ok(())
    }

    fn finish(&mut self) -> Result<u64, Error> {
        self.out()?.check()?;
        if self.samples == 0 {
            return Err(Error::NoFrames {
                path: self.name().to_path_buf(),
            });
        }
        let out = self.out()?;
        out.flush()?;
        Ok(out.len())
    }

    fn take_out(&mut self) -> Option<Out<S>> {
        self.out.take()
    }
}

/// Writes an Annex B byte stream into any writer.
pub struct AnnexBMuxer<W: Write> {
    front: Front<AnnexBWriter<StreamIo<W>>>,
}

impl<W: Write> AnnexBMuxer<W> {
    /// Starts a stream in `inner`; errors name the output "Annex B output".
    pub fn new(inner: W, track: &VideoTrack) -> Result<Self, Error> {
        Self::with_name(inner, track, "Annex B output")
    }

    /// Starts a stream in `inner`; `name` (usually the file path) names it in errors.
    pub fn with_name(inner: W, track: &VideoTrack, name: impl AsRef<Path>) -> Result<Self, Error> {
        track.validate()?;
        let tracks = [Track::Video(track.clone())];
        let writer = AnnexBWriter::new(StreamIo(inner), name.as_ref(), &tracks, false)?;
        Ok(AnnexBMuxer {
            front: Front::new(writer, &tracks, name.as_ref()),
        })
    }

    /// Number of access units written so far.
    pub fn sample_count(&self) -> u64 {
        self.front.count(0)
    }

    /// Appends one access unit (see [`VideoMuxer::write_sample`]).
    pub fn write_sample(&mut self, nals: &[Vec<u8>], keyframe: bool) -> Result<(), Error> {
        self.front.write_video(0, nals, keyframe)
    }

    /// Flushes the stream and returns it with the number of bytes written.
    pub fn finish_into_inner(self) -> Result<(W, u64), Error> {
        let (out, n) = self.front.finish_into_out()?;
        Ok((out.into_sink()?.0, n))
    }
}

impl<W: Write> std::fmt::Debug for AnnexBMuxer<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnnexBMuxer")
            .field("name", &self.front.writer().name())
            .field("samples", &self.sample_count())
            .finish_non_exhaustive()
    }
}

impl<W: Write> VideoMuxer for AnnexBMuxer<W> {
    fn write_sample(&mut self, nals: &[Vec<u8>], keyframe: bool) -> Result<(), Error> {
        AnnexBMuxer::write_sample(self, nals, keyframe)
    }

    fn finish(self: Box<Self>) -> Result<u64, Error> {
        self.finish_into_inner().map(|(_, n)| n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{track, FailingWriter};

    #[test]
    fn annexb_bytes_are_start_codes_parameter_sets_and_nals_in_order() {
        let t = track(64, 48, 30, 1);
        let mut m = AnnexBMuxer::new(Vec::new(), &t).unwrap();
        m.write_sample(&[vec![0x65, 1, 2], vec![0x65, 3]], true)
            .unwrap();
        m.write_sample(&[vec![0x41, 4]], false).unwrap();
        m.write_sample(&[vec![0x65, 5]], true).unwrap();
        assert_eq!(m.sample_count(), 3);
        let (out, n) = m.finish_into_inner().unwrap();

        let mut want = Vec::new();
        let mut put = |nal: &[u8]| {
            want.extend_from_slice(&[0, 0, 0, 1]);
            want.extend_from_slice(nal);
        };
        put(&t.sps);
        put(&t.pps);
        put(&[0x65, 1, 2]);
        put(&[0x65, 3]);
        put(&[0x41, 4]);
        put(&t.sps);
        put(&t.pps);
        put(&[0x65, 5]);
        assert_eq!(out, want);
        assert_eq!(n, want.len() as u64);
    }

    #[test]
    fn annexb_rejects_bad_access_units() {
        let t = track(64, 48, 30, 1);
        let mut m = AnnexBMuxer::new(Vec::new(), &t).unwrap();
        let e = m.write_sample(&[vec![0x41, 1]], false).unwrap_err();
        assert!(e.to_string().contains("not a keyframe"), "{e}");
        let e = m.write_sample(&[], true).unwrap_err();
        assert!(e.to_string().contains("no NAL units"), "{e}");
        let e = m.write_sample(&[vec![0x65], vec![]], true).unwrap_err();
        assert!(e.to_string().contains("NAL unit 1 is empty"), "{e}");
        // Rejected units leave the muxer usable and write nothing.
        m.write_sample(&[vec![0x65, 1]], true).unwrap();
        assert_eq!(m.finish_into_inner().unwrap().1, 4 * 3 + 8 + 4 + 2);
    }

    #[test]
    fn annexb_empty_clip_is_an_error() {
        let m = AnnexBMuxer::new(Vec::new(), &track(64, 48, 30, 1)).unwrap();
        let e = m.finish_into_inner().unwrap_err();
        assert!(matches!(e, Error::NoFrames { .. }));
        assert!(e.to_string().contains("no frames were written"));
    }

    #[test]
    fn annexb_disk_full_is_reported_and_poisons() {
        let t = track(64, 48, 30, 1);
        let mut m = AnnexBMuxer::with_name(FailingWriter::new(40), &t, "clip.h264").unwrap();
        m.write_sample(&[vec![0x65; 10]], true).unwrap(); // 4+8 + 4+4 + 4+10 = 34 bytes
        let e = m.write_sample(&[vec![0x41; 10]], false).unwrap_err();
        assert!(e.is_disk_full(), "{e:?}");
        assert!(
            e.to_string()
                .starts_with("disk full while writing 'clip.h264'"),
            "{e}"
        );
        let e = m.write_sample(&[vec![0x41; 1]], false).unwrap_err();
        assert!(matches!(e, Error::Poisoned { .. }), "{e:?}");
        assert!(matches!(m.finish_into_inner(), Err(Error::Poisoned { .. })));
    }
}
