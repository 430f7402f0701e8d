//! Raw H.264 byte stream (ITU-T H.264 Annex B): every NAL unit behind a
//! four-byte start code 00 00 00 01, with the SPS and PPS repeated before each
//! keyframe so that decoding can start at any IDR.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::mp4::check_access_unit;
use crate::{VideoMuxer, VideoTrack};

/// zero_byte + start_code_prefix_one_3bytes (Annex B.1.1).
const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// Writes an Annex B byte stream into any writer.
pub struct AnnexBMuxer<W: Write> {
    inner: W,
    /// Names the output in error messages.
    name: PathBuf,
    sps: Vec<u8>,
    pps: Vec<u8>,
    samples: u64,
    bytes: u64,
    /// One access unit with its start codes, written with a single call.
    staging: Vec<u8>,
    failed: bool,
}

impl<W: Write> AnnexBMuxer<W> {
    /// Starts a stream in `inner`; errors name the output "Annex B output".
    pub fn new(inner: W, track: &VideoTrack) -> Result<Self, Error> {
        Self::with_name(inner, track, "Annex B output")
    }

    /// Starts a stream in `inner`; `name` (usually the file path) names it in errors.
    pub fn with_name(inner: W, track: &VideoTrack, name: impl AsRef<Path>) -> Result<Self, Error> {
        track.validate()?;
        Ok(AnnexBMuxer {
            inner,
            name: name.as_ref().to_path_buf(),
            sps: track.sps.clone(),
            pps: track.pps.clone(),
            samples: 0,
            bytes: 0,
            staging: Vec::new(),
            failed: false,
        })
    }

    /// Number of access units written so far.
    pub fn sample_count(&self) -> u64 {
        self.samples
    }

    /// Appends one access unit (see [`VideoMuxer::write_sample`]).
    pub fn write_sample(&mut self, nals: &[Vec<u8>], keyframe: bool) -> Result<(), Error> {
        if self.failed {
            return Err(Error::Poisoned {
                path: self.name.clone(),
            });
        }
        check_access_unit(nals, keyframe, self.samples == 0).map_err(|reason| {
            Error::InvalidSample {
                path: self.name.clone(),
                index: self.samples,
                reason,
            }
        })?;
        let mut au = std::mem::take(&mut self.staging);
        au.clear();
        let params: &[&[u8]] = if keyframe {
            &[&self.sps, &self.pps]
        } else {
            &[]
        };
        for nal in params.iter().copied().chain(nals.iter().map(Vec::as_slice)) {
            au.extend_from_slice(&START_CODE);
            au.extend_from_slice(nal);
        }
        let result = self.inner.write_all(&au);
        let len = au.len() as u64;
        self.staging = au;
        if let Err(e) = result {
            self.failed = true;
            return Err(Error::io("write", &self.name, e));
        }
        self.bytes += len;
        self.samples += 1;
        Ok(())
    }

    /// Flushes the stream and returns it with the number of bytes written.
    pub fn finish_into_inner(mut self) -> Result<(W, u64), Error> {
        if self.failed {
            return Err(Error::Poisoned { path: self.name });
        }
        if self.samples == 0 {
            return Err(Error::NoFrames { path: self.name });
        }
        if let Err(e) = self.inner.flush() {
            return Err(Error::io("flush", &self.name, e));
        }
        Ok((self.inner, self.bytes))
    }
}

impl<W: Write> std::fmt::Debug for AnnexBMuxer<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnnexBMuxer")
            .field("name", &self.name)
            .field("samples", &self.samples)
            .field("bytes", &self.bytes)
            .field("failed", &self.failed)
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
