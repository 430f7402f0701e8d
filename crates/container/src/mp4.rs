//! Progressive MP4 and MOV (ISO/IEC 14496-12, 14496-14; AVC storage per
//! 14496-15 §5; QuickTime File Format for MOV) with any number of tracks.
//!
//! Layout while writing: `ftyp`, 16 bytes of placeholder (a `free` box and an
//! `mdat` header), then each sample straight to the stream, in the order the
//! samples arrive. At the end the `moov` is built from the sample tables.
//!
//! * Faststart (the output can seek and read back): the sample data is moved
//!   forward in place (in bounded chunks, from the end backwards) to open a
//!   gap, and `moov` plus the final `mdat` header are written into it. The
//!   result is `ftyp moov mdat`, playable while still downloading.
//! * Moov at the end (the output can seek but not read back): the `mdat`
//!   header is patched and `moov` follows the media data.
//!
//! Memory: one access unit, a 4 MiB copy buffer at the end, and per sample a
//! few bytes of index (size, chunk offset, sync number).

use std::io::{Read, Seek, Write};
use std::path::Path;

use crate::error::Error;
use crate::moov::{
    build_moov, movie_timescale, swap32, swaps_pcm, ChunkOffsets, Flavor, MoovInput, SampleTables,
    TrakInput, FTYP_MOV, FTYP_MP4,
};
use crate::sink::{Out, SeekableIo, Sink};
use crate::track::{Track, VideoTrack};
use crate::writer::{Front, Sample, Writer};
use crate::{Muxer, VideoMuxer};

/// Length of the placeholder after `ftyp`: room for a 16-byte `mdat` header
/// with a 64-bit largesize (§4.2.2), or an 8-byte `free` box and an 8-byte one.
const MDAT_PLACEHOLDER: u64 = 16;

/// Bytes moved per step when shifting the media data at finish.
const SHIFT_CHUNK: usize = 4 << 20;

/// The progressive MP4/MOV writer.
pub(crate) struct Mp4Writer<S: Sink> {
    out: Option<Out<S>>,
    flavor: Flavor,
    tracks: Vec<Track>,
    tables: Vec<SampleTables>,
    /// Bytes of the file before the media data: ftyp and the placeholder.
    head_len: u64,
    /// Bytes of sample data written after the placeholder.
    payload_len: u64,
    /// The track of the last sample written, whose chunk a sample of the same
    /// audio track extends.
    last_track: Option<usize>,
}

impl<S: Sink> Mp4Writer<S> {
    pub fn new(sink: S, name: &Path, flavor: Flavor, tracks: &[Track]) -> Result<Self, Error> {
        let mut out = Out::new(sink, name);
        if !out.can_seek() {
            return Err(Error::Unsupported {
                path: name.to_path_buf(),
                reason: "a progressive MP4 needs an output that can seek; use fragments".into(),
            });
        }
        check_sample_entries(name, flavor, tracks)?;
        let ftyp = match flavor {
            Flavor::Mp4 => FTYP_MP4,
            Flavor::Mov => FTYP_MOV,
        };
        let mut head = Vec::with_capacity(ftyp.len() + MDAT_PLACEHOLDER as usize);
        head.extend_from_slice(ftyp);
        head.extend_from_slice(&8u32.to_be_bytes()); // §8.1.2 FreeSpaceBox
        head.extend_from_slice(b"free");
        head.extend_from_slice(&0u32.to_be_bytes()); // mdat size: patched at finish
        head.extend_from_slice(b"mdat");
        out.write(&head)?;
        let tables = tracks
            .iter()
            .map(|t| SampleTables {
                all_sync: !t.is_video(),
                constant_size: match t {
                    Track::Audio(a) => a.pcm_frame_bytes(),
                    Track::Video(_) => None,
                },
                ..SampleTables::default()
            })
            .collect();
        Ok(Mp4Writer {
            out: Some(out),
            flavor,
            tracks: tracks.to_vec(),
            tables,
            head_len: head.len() as u64,
            payload_len: 0,
            last_track: None,
        })
    }

    fn out(&mut self) -> Result<&mut Out<S>, Error> {
        self.out.as_mut().ok_or_else(|| Error::Poisoned {
            path: Path::new("MP4 output").to_path_buf(),
        })
    }

    fn name(&self) -> &Path {
        self.out
            .as_ref()
            .map_or(Path::new("MP4 output"), |o| &o.name)
    }

    /// Moves `len` bytes at `from` to `to >= from`, last chunk first, so that no
    /// byte is overwritten before it has been copied.
    fn shift_forward(out: &mut Out<S>, from: u64, to: u64, len: u64) -> Result<(), Error> {
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
            out.seek(from + start)?;
            out.read_exact(piece)?;
            out.seek(to + start)?;
            out.write(piece)?;
            end = start;
        }
        Ok(())
    }

    /// The `mdat` header for the payload: 8 bytes when its size fits 32 bits,
    /// else 16 with a largesize (§4.2.2).
    fn mdat_header(payload: u64) -> Vec<u8> {
        let mut h = Vec::with_capacity(16);
        if payload + 8 <= u64::from(u32::MAX) {
            h.extend_from_slice(&((payload + 8) as u32).to_be_bytes()); // fits: checked
            h.extend_from_slice(b"mdat");
        } else {
            h.extend_from_slice(&1u32.to_be_bytes());
            h.extend_from_slice(b"mdat");
            h.extend_from_slice(&(payload + 16).to_be_bytes());
        }
        h
    }
}

impl<S: Sink> Writer for Mp4Writer<S> {
    type Sink = S;

    fn put(&mut self, track: usize, s: &Sample) -> Result<(), Error> {
        let extend = self.last_track == Some(track) && !self.tracks[track].is_video();
        let offset = self.payload_len;
        if swaps_pcm(self.flavor, &self.tracks[track]) {
            let swapped = swap32(s.data);
            self.out()?.write(&swapped)?;
        } else {
            self.out()?.write(s.data)?;
        }
        let size = s.data.len() as u32; // checked by the front
        let tab = &mut self.tables[track];
        match tab.constant_size {
            // PCM: each frame is a sample (ISO/IEC 23003-5), the packet a chunk.
            Some(_) => {
                tab.count += u64::from(s.duration);
                tab.add_time(u64::from(s.duration), 1);
                tab.add_chunk(offset, s.duration, extend);
            }
            None => {
                tab.count += 1;
                tab.sizes.push(size);
                tab.add_time(1, s.duration);
                if s.sync && !tab.all_sync {
                    tab.sync.push(tab.count as u32); // count <= u32::MAX: checked by the front
                }
                tab.add_chunk(offset, 1, extend);
            }
        }
        tab.trim_end += u64::from(s.trim_end);
        self.payload_len += u64::from(size);
        self.last_track = Some(track);
        Ok(())
    }

    fn finish(&mut self) -> Result<u64, Error> {
        self.out()?.check()?;
        if self.tables.iter().all(|t| t.count == 0) {
            return Err(Error::NoFrames {
                path: self.name().to_path_buf(),
            });
        }
        let trak: Vec<TrakInput> = self
            .tracks
            .iter()
            .zip(&self.tables)
            .map(|(track, tables)| TrakInput { track, tables })
            .collect();
        let input = MoovInput {
            flavor: self.flavor,
            tracks: &trak,
            movie_timescale: movie_timescale(&self.tracks),
            fragmented: false,
        };
        let name = self.name().to_path_buf();
        let too_large = |what: String| Error::TooLarge {
            path: name.clone(),
            what,
        };
        let payload = self.payload_len;
        let head_len = self.head_len;
        let last_rel = self
            .tables
            .iter()
            .filter_map(|t| t.chunks.last().map(|c| c.0))
            .max()
            .unwrap_or(0);
        let chunks: u64 = self.tables.iter().map(|t| t.chunks.len() as u64).sum();
        let out = self
            .out
            .as_mut()
            .ok_or_else(|| Error::Poisoned { path: name.clone() })?;

        if !out.can_read() {
            // Moov at the end: the media data stays where it is.
            let ftyp_len = head_len - MDAT_PLACEHOLDER;
            let data_start = head_len;
            let kind = if data_start + last_rel <= u64::from(u32::MAX) {
                ChunkOffsets::Stco
            } else {
                ChunkOffsets::Co64
            };
            let moov = build_moov(&input, data_start, kind).map_err(too_large)?;
            let header = Self::mdat_header(payload);
            if header.len() == 8 {
                out.patch(ftyp_len + 8, &header)?; // after the 8-byte free box
            } else {
                out.patch(ftyp_len, &header)?;
            }
            out.write(&moov.bytes)?;
            out.flush()?;
            return Ok(out.len());
        }

        // Faststart. The moov size depends on the width of the chunk offsets,
        // not on their values: size it once with co64; stco is 4 bytes smaller
        // per chunk. Use stco if the last offset then fits 32 bits.
        let ftyp_len = head_len - MDAT_PLACEHOLDER;
        let mdat_header = Self::mdat_header(payload);
        let co64_len = build_moov(&input, 0, ChunkOffsets::Co64)
            .map_err(too_large)?
            .bytes
            .len() as u64;
        let stco_len = co64_len - 4 * chunks;
        let (kind, moov_len) =
            if ftyp_len + stco_len + mdat_header.len() as u64 + last_rel <= u64::from(u32::MAX) {
                (ChunkOffsets::Stco, stco_len)
            } else {
                (ChunkOffsets::Co64, co64_len)
            };
        let data_start = ftyp_len + moov_len + mdat_header.len() as u64;
        let moov = build_moov(&input, data_start, kind).map_err(too_large)?;
        debug_assert_eq!(
            moov.bytes.len() as u64,
            moov_len,
            "moov size must not depend on offsets"
        );
        Self::shift_forward(out, head_len, data_start, payload)?;
        let mut header = moov.bytes;
        header.extend_from_slice(&mdat_header);
        out.seek(ftyp_len)?;
        out.write(&header)?;
        out.flush()?;
        Ok(data_start + payload)
    }

    fn take_out(&mut self) -> Option<Out<S>> {
        self.out.take()
    }
}

/// Fails now, not at the end, if a track cannot be described in MP4/MOV
/// (an audio rate over the 16.16 field, say).
fn check_sample_entries(name: &Path, flavor: Flavor, tracks: &[Track]) -> Result<(), Error> {
    let tables: Vec<SampleTables> = tracks.iter().map(|_| SampleTables::default()).collect();
    let trak: Vec<TrakInput> = tracks
        .iter()
        .zip(&tables)
        .map(|(track, tables)| TrakInput { track, tables })
        .collect();
    let input = MoovInput {
        flavor,
        tracks: &trak,
        movie_timescale: movie_timescale(tracks),
        fragmented: false,
    };
    build_moov(&input, 0, ChunkOffsets::Co64)
        .map(|_| ())
        .map_err(|reason| Error::Unsupported {
            path: name.to_path_buf(),
            reason,
        })
}

/// Writes an MP4 file with one AVC video track into any seekable stream
/// (the faststart layout; see the module notes).
///
/// `F` must be empty and positioned at its start; it is also read back at
/// finish, to move the media data behind the movie box.
pub struct Mp4Muxer<F: Read + Write + Seek> {
    front: Front<Mp4Writer<SeekableIo<F>>>,
    timing: (u32, u32),
}

impl<F: Read + Write + Seek> Mp4Muxer<F> {
    /// Starts an MP4 in `inner`; errors name the output "MP4 output".
    pub fn new(inner: F, track: &VideoTrack) -> Result<Self, Error> {
        Self::with_name(inner, track, "MP4 output")
    }

    /// Starts an MP4 in `inner`; `name` (usually the file path) names it in errors.
    pub fn with_name(inner: F, track: &VideoTrack, name: impl AsRef<Path>) -> Result<Self, Error> {
        track.validate()?;
        let tracks = [Track::Video(track.clone())];
        let writer = Mp4Writer::new(SeekableIo(inner), name.as_ref(), Flavor::Mp4, &tracks)?;
        Ok(Mp4Muxer {
            front: Front::new(writer, &tracks, name.as_ref()),
            timing: track.timing(),
        })
    }

    /// Number of access units written so far.
    pub fn sample_count(&self) -> u64 {
        self.front.count(0)
    }

    /// Media timescale (ticks per second) and the duration of each sample in it.
    pub fn timing(&self) -> (u32, u32) {
        self.timing
    }

    /// Appends one access unit (see [`VideoMuxer::write_sample`]).
    pub fn write_sample(&mut self, nals: &[Vec<u8>], keyframe: bool) -> Result<(), Error> {
        self.front.write_video(0, nals, keyframe)
    }

    /// Completes the file (see the module notes) and returns the stream with
    /// the total number of bytes in it.
    pub fn finish_into_inner(self) -> Result<(F, u64), Error> {
        let (out, n) = self.front.finish_into_out()?;
        Ok((out.into_sink()?.0, n))
    }
}

impl<F: Read + Write + Seek> std::fmt::Debug for Mp4Muxer<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let w = self.front.writer();
        f.debug_struct("Mp4Muxer")
            .field("name", &w.name())
            .field("samples", &self.sample_count())
            .field("payload_len", &w.payload_len)
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
