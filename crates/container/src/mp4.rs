//! Progressive MP4 with the movie box before the media data (ISO/IEC 14496-12,
//! 14496-14; AVC storage per 14496-15 §5).
//!
//! Layout while writing: `ftyp`, then an `mdat` with a 64-bit size placeholder,
//! then each sample straight to the stream. At [`Mp4Muxer::finish_into_inner`]
//! the `moov` is built from the per-sample tables, the sample data is moved
//! forward in place (in bounded chunks, from the end backwards) to open a gap,
//! and `moov` plus the final `mdat` header are written into it. The result is
//! `ftyp moov mdat`, playable while still downloading. Memory: one access unit,
//! a 4 MiB copy buffer, and 4 bytes per frame (plus 4 per keyframe) of index.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::moov::{build_moov, media_timing, ChunkOffsets, MoovInput};
use crate::{VideoMuxer, VideoTrack};

/// §4.3 FileTypeBox: major brand isom, minor version 0x200, compatible brands
/// isom, iso2, avc1, mp41.
const FTYP: [u8; 32] = *b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41";

/// Length of the placeholder mdat header: size = 1, type, 64-bit largesize (§4.2.2).
const MDAT_PLACEHOLDER: u64 = 16;

/// Bytes moved per step when shifting the media data at finish.
const SHIFT_CHUNK: usize = 4 << 20;

/// Writes an MP4 file with one AVC video track into any seekable stream.
///
/// `F` must be empty and positioned at its start; it is also read back at
/// finish, to move the media data behind the movie box.
pub struct Mp4Muxer<F: Read + Write + Seek> {
    inner: F,
    /// Names the output in error messages.
    name: PathBuf,
    track: VideoTrack,
    timescale: u32,
    sample_delta: u32,
    /// Size of every sample so far (stsz); offsets follow from them.
    sizes: Vec<u32>,
    /// 1-based numbers of the keyframes (stss).
    sync: Vec<u32>,
    /// Bytes of sample data written after the placeholder mdat header.
    payload_len: u64,
    /// The sample being assembled: its NAL units with 4-byte lengths.
    staging: Vec<u8>,
    /// Set by any failed write: the stream is then incomplete.
    failed: bool,
}

impl<F: Read + Write + Seek> Mp4Muxer<F> {
    /// Starts an MP4 in `inner`; errors name the output "MP4 output".
    pub fn new(inner: F, track: &VideoTrack) -> Result<Self, Error> {
        Self::with_name(inner, track, "MP4 output")
    }

    /// Starts an MP4 in `inner`; `name` (usually the file path) names it in errors.
    pub fn with_name(inner: F, track: &VideoTrack, name: impl AsRef<Path>) -> Result<Self, Error> {
        track.validate()?;
        let (timescale, sample_delta) = media_timing(track.frame_rate_num, track.frame_rate_den);
        let mut m = Mp4Muxer {
            inner,
            name: name.as_ref().to_path_buf(),
            track: track.clone(),
            timescale,
            sample_delta,
            sizes: Vec::new(),
            sync: Vec::new(),
            payload_len: 0,
            staging: Vec::new(),
            failed: false,
        };
        let mut head = Vec::with_capacity(FTYP.len() + MDAT_PLACEHOLDER as usize);
        head.extend_from_slice(&FTYP);
        head.extend_from_slice(&1u32.to_be_bytes()); // size 1: largesize follows
        head.extend_from_slice(b"mdat");
        head.extend_from_slice(&0u64.to_be_bytes()); // patched at finish
        m.write_all(&head)?;
        Ok(m)
    }

    /// Number of access units written so far.
    pub fn sample_count(&self) -> u64 {
        self.sizes.len() as u64
    }

    /// Media timescale (ticks per second) and the duration of each sample in it.
    pub fn timing(&self) -> (u32, u32) {
        (self.timescale, self.sample_delta)
    }

    fn write_all(&mut self, data: &[u8]) -> Result<(), Error> {
        self.inner.write_all(data).map_err(|e| {
            self.failed = true;
            Error::io("write", &self.name, e)
        })
    }

    fn invalid(&self, reason: impl Into<String>) -> Error {
        Error::InvalidSample {
            path: self.name.clone(),
            index: self.sample_count(),
            reason: reason.into(),
        }
    }

    /// Appends one access unit (see [`VideoMuxer::write_sample`]).
    pub fn write_sample(&mut self, nals: &[Vec<u8>], keyframe: bool) -> Result<(), Error> {
        if self.failed {
            return Err(Error::Poisoned {
                path: self.name.clone(),
            });
        }
        check_access_unit(nals, keyframe, self.sizes.is_empty()).map_err(|r| self.invalid(r))?;
        let number = u32::try_from(self.sizes.len() + 1).map_err(|_| Error::TooLarge {
            path: self.name.clone(),
            what: format!("more than {} frames in one track", u32::MAX),
        })?;
        // 14496-15 §5.3.2: each NAL unit preceded by its length, here 4 bytes.
        let mut staging = std::mem::take(&mut self.staging);
        staging.clear();
        for nal in nals {
            let len = u32::try_from(nal.len()).map_err(|_| Error::TooLarge {
                path: self.name.clone(),
                what: format!("a NAL unit of {} bytes (at most 4 GiB)", nal.len()),
            })?;
            staging.extend_from_slice(&len.to_be_bytes());
            staging.extend_from_slice(nal);
        }
        let size = u32::try_from(staging.len()).map_err(|_| Error::TooLarge {
            path: self.name.clone(),
            what: format!("an access unit of {} bytes (at most 4 GiB)", staging.len()),
        })?;
        let written = self.write_all(&staging);
        self.staging = staging;
        written?;
        self.payload_len += u64::from(size);
        self.sizes.push(size);
        if keyframe {
            self.sync.push(number);
        }
        Ok(())
    }

    /// Completes the file (see the module notes) and returns the stream with
    /// the total number of bytes in it.
    pub fn finish_into_inner(mut self) -> Result<(F, u64), Error> {
        if self.failed {
            return Err(Error::Poisoned { path: self.name });
        }
        if self.sizes.is_empty() {
            return Err(Error::NoFrames { path: self.name });
        }
        let ftyp_len = FTYP.len() as u64;
        let payload = self.payload_len;
        // §4.2.2: a 32-bit size when the whole mdat fits it, else size 1 + largesize.
        let mdat_header: u64 = if payload + 8 <= u64::from(u32::MAX) {
            8
        } else {
            16
        };
        let last_rel = payload - u64::from(self.sizes.last().copied().unwrap_or(0));
        let input = MoovInput {
            width: self.track.width,
            height: self.track.height,
            timescale: self.timescale,
            sample_delta: self.sample_delta,
            sps: &self.track.sps,
            pps: &self.track.pps,
            sizes: &self.sizes,
            sync: &self.sync,
        };
        let too_large = |what: String| Error::TooLarge {
            path: self.name.clone(),
            what,
        };
        // The moov size depends on the width of the chunk offsets, not on their
        // values: size it once with co64; stco is 4 bytes smaller per chunk
        // (one per sample). Use stco if the last offset then fits 32 bits.
        let co64_len = build_moov(&input, 0, ChunkOffsets::Co64)
            .map_err(too_large)?
            .len() as u64;
        let stco_len = co64_len - 4 * self.sizes.len() as u64;
        let (kind, moov_len) =
            if ftyp_len + stco_len + mdat_header + last_rel <= u64::from(u32::MAX) {
                (ChunkOffsets::Stco, stco_len)
            } else {
                (ChunkOffsets::Co64, co64_len)
            };
        let data_start = ftyp_len + moov_len + mdat_header;
        let moov = build_moov(&input, data_start, kind).map_err(too_large)?;
        debug_assert_eq!(
            moov.len() as u64,
            moov_len,
            "moov size must not depend on offsets"
        );

        let old_start = ftyp_len + MDAT_PLACEHOLDER;
        self.shift_forward(old_start, data_start, payload)?;
        let mut header = Vec::with_capacity(moov.len() + 16);
        header.extend_from_slice(&moov);
        if mdat_header == 8 {
            header.extend_from_slice(&((payload + 8) as u32).to_be_bytes()); // fits: checked above
            header.extend_from_slice(b"mdat");
        } else {
            header.extend_from_slice(&1u32.to_be_bytes());
            header.extend_from_slice(b"mdat");
            header.extend_from_slice(&(payload + 16).to_be_bytes());
        }
        self.seek(ftyp_len)?;
        self.write_all(&header)?;
        self.inner
            .flush()
            .map_err(|e| Error::io("flush", &self.name, e))?;
        Ok((self.inner, data_start + payload))
    }

    fn seek(&mut self, pos: u64) -> Result<(), Error> {
        self.inner
            .seek(SeekFrom::Start(pos))
            .map(|_| ())
            .map_err(|e| {
                self.failed = true;
                Error::io("seek in", &self.name, e)
            })
    }

    /// Moves `len` bytes at `from` to `to >= from`, last chunk first, so that no
    /// byte is overwritten before it has been copied.
    fn shift_forward(&mut self, from: u64, to: u64, len: u64) -> Result<(), Error> {
        if from == to || len == 0 {
            return Ok(());
        }
        let chunk = len.min(SHIFT_CHUNK as u64) as usize;
        let mut buf = vec![0u8; chunk];
        let mut end = len;
        while end > 0 {
            let n = end.min(chunk as u64);
            let start = end - n;
            let piece = &mut buf[..n as usize];
            self.seek(from + start)?;
            if let Err(e) = self.inner.read_exact(piece) {
                self.failed = true;
                return Err(Error::io("read back", &self.name, e));
            }
            self.seek(to + start)?;
            if let Err(e) = self.inner.write_all(piece) {
                self.failed = true;
                return Err(Error::io("write", &self.name, e));
            }
            end = start;
        }
        Ok(())
    }
}

/// Checks an access unit handed to a muxer; returns the reason it is unusable.
pub(crate) fn check_access_unit(
    nals: &[Vec<u8>],
    keyframe: bool,
    first: bool,
) -> Result<(), String> {
    if nals.is_empty() {
        return Err("no NAL units (an access unit needs at least one slice)".into());
    }
    if let Some(i) = nals.iter().position(|n| n.is_empty()) {
        return Err(format!(
            "NAL unit {i} is empty (expected its header byte and payload)"
        ));
    }
    if first && !keyframe {
        return Err(
            "the first access unit is not a keyframe (streams must start with an IDR)".into(),
        );
    }
    Ok(())
}

impl<F: Read + Write + Seek> std::fmt::Debug for Mp4Muxer<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mp4Muxer")
            .field("name", &self.name)
            .field("samples", &self.sizes.len())
            .field("payload_len", &self.payload_len)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl<F: Read + Write + Seek> VideoMuxer for Mp4Muxer<F> {
    fn write_sample(&mut self, nals: &[Vec<u8>], keyframe: bool) -> Result<(), Error> {
        Mp4Muxer::write_sample(self, nals, keyframe)
    }

    fn finish(self: Box<Self>) -> Result<u64, Error> {
        self.finish_into_inner().map(|(_, n)| n)
    }
}

#[cfg(test)]
mod tests;
