//! What every container writer shares: the checks on what callers hand in
//! ([`Front`]), the internal interface of the format writers ([`Writer`]),
//! and the queue that interleaves several tracks by time ([`Interleaver`]).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::sink::{Out, Sink};
use crate::track::Track;
use crate::{AudioPacket, Muxer};

/// One sample as the format writers receive it. Video data is the access
/// unit's NAL units each behind a 4-byte big-endian length (ISO/IEC 14496-15
/// §5.3.2; Matroska's V_MPEG4/ISO/AVC uses the same); audio data is one packet.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample<'a> {
    pub data: &'a [u8],
    /// In ticks of the track's timescale ([`Track::timescale`]); for PCM, frames.
    pub duration: u32,
    /// A sync sample: an IDR picture, or any audio packet.
    pub sync: bool,
    /// Ticks at the end of this sample that are not presented.
    pub trim_end: u32,
}

/// A format writer.
pub(crate) trait Writer {
    type Sink: Sink;
    /// Appends a sample of `track`; samples of a track arrive in order.
    fn put(&mut self, track: usize, sample: &Sample) -> Result<(), Error>;
    /// Writes what is still pending and the indexes; returns the total size.
    fn finish(&mut self) -> Result<u64, Error>;
    /// The output, once finished (`None` if it was taken already).
    fn take_out(&mut self) -> Option<Out<Self::Sink>>;
}

/// Checks and formats what callers hand to a [`Muxer`], then passes it to the
/// writer `W`.
pub(crate) struct Front<W: Writer> {
    writer: W,
    tracks: Vec<Track>,
    /// Samples written to each track so far.
    counts: Vec<u64>,
    name: PathBuf,
    /// The access unit being assembled: NAL units with 4-byte lengths.
    staging: Vec<u8>,
}

impl<W: Writer> Front<W> {
    pub fn new(writer: W, tracks: &[Track], name: &Path) -> Front<W> {
        Front {
            writer,
            tracks: tracks.to_vec(),
            counts: vec![0; tracks.len()],
            name: name.to_path_buf(),
            staging: Vec::new(),
        }
    }

    pub fn writer(&self) -> &W {
        &self.writer
    }

    fn invalid(&self, track: usize, reason: impl Into<String>) -> Error {
        Error::InvalidSample {
            path: self.name.clone(),
            index: self.counts.get(track).copied().unwrap_or(0),
            reason: reason.into(),
        }
    }

    fn track(&self, track: usize) -> Result<&Track, Error> {
        self.tracks.get(track).ok_or_else(|| Error::NoSuchTrack {
            path: self.name.clone(),
            track,
            tracks: self.tracks.len(),
        })
    }

    /// Writes the muxer's output and returns it, for callers that need the
    /// stream back (see `Mp4Muxer::finish_into_inner`).
    pub fn finish_into_out(mut self) -> Result<(Out<W::Sink>, u64), Error> {
        let n = self.writer.finish()?;
        let out = self.writer.take_out().ok_or_else(|| Error::Poisoned {
            path: self.name.clone(),
        })?;
        Ok((out, n))
    }

    pub fn count(&self, track: usize) -> u64 {
        self.counts.get(track).copied().unwrap_or(0)
    }
}

impl<W: Writer> Muxer for Front<W> {
    fn write_video(&mut self, track: usize, nals: &[Vec<u8>], keyframe: bool) -> Result<(), Error> {
        let Track::Video(v) = self.track(track)? else {
            return Err(self.invalid(track, format!("track {track} is an audio track, not video")));
        };
        let delta = v.timing().1;
        check_access_unit(nals, keyframe, self.counts[track] == 0)
            .map_err(|r| self.invalid(track, r))?;
        if self.counts[track] >= u64::from(u32::MAX) {
            return Err(Error::TooLarge {
                path: self.name.clone(),
                what: format!("more than {} frames in one track", u32::MAX),
            });
        }
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
        if u32::try_from(staging.len()).is_err() {
            return Err(Error::TooLarge {
                path: self.name.clone(),
                what: format!("an access unit of {} bytes (at most 4 GiB)", staging.len()),
            });
        }
        let result = self.writer.put(
            track,
            &Sample {
                data: &staging,
                duration: delta,
                sync: keyframe,
                trim_end: 0,
            },
        );
        self.staging = staging;
        result?;
        self.counts[track] += 1;
        Ok(())
    }

    fn write_audio(&mut self, track: usize, packet: &AudioPacket) -> Result<(), Error> {
        let Track::Audio(a) = self.track(track)? else {
            return Err(self.invalid(track, format!("track {track} is a video track, not audio")));
        };
        if packet.data.is_empty() || packet.duration == 0 {
            return Err(self.invalid(
                track,
                format!(
                    "empty audio packet ({} bytes lasting {} ticks)",
                    packet.data.len(),
                    packet.duration
                ),
            ));
        }
        if packet.trim_end > packet.duration {
            return Err(self.invalid(
                track,
                format!(
                    "trim_end {} exceeds the packet's duration {}",
                    packet.trim_end, packet.duration
                ),
            ));
        }
        if let Some(frame) = a.pcm_frame_bytes() {
            if packet.data.len() as u64 != u64::from(packet.duration) * u64::from(frame) {
                return Err(self.invalid(
                    track,
                    format!(
                        "PCM packet of {} bytes for {} frames of {frame} bytes",
                        packet.data.len(),
                        packet.duration
                    ),
                ));
            }
        }
        if u32::try_from(packet.data.len()).is_err() {
            return Err(Error::TooLarge {
                path: self.name.clone(),
                what: format!("an audio packet of {} bytes", packet.data.len()),
            });
        }
        self.writer.put(
            track,
            &Sample {
                data: packet.data,
                duration: packet.duration,
                sync: true,
                trim_end: packet.trim_end,
            },
        )?;
        self.counts[track] += 1;
        Ok(())
    }

    fn end_track(&mut self, track: usize) -> Result<(), Error> {
        self.track(track)?;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<u64, Error> {
        let (out, n) = self.finish_into_out()?;
        out.into_sink()?.commit()?;
        Ok(n)
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

/// Longest span of media the interleaver holds back waiting for a slow track.
const MAX_INTERLEAVE_SECONDS: u64 = 10;
/// Most bytes it holds back.
const MAX_INTERLEAVE_BYTES: usize = 64 << 20;

struct Queued {
    data: Vec<u8>,
    duration: u32,
    sync: bool,
    trim_end: u32,
    /// Start time in track ticks.
    start: u64,
}

/// Orders the samples of several tracks by time before they reach the format
/// writer, as players read best. A sample waits until no other track can
/// still produce an earlier one (that track's next sample starts at the end
/// of its last), or until more than [`MAX_INTERLEAVE_SECONDS`] of media or
/// [`MAX_INTERLEAVE_BYTES`] wait, which bounds memory when one track runs far
/// ahead of another. Ties go to the lower track index.
pub(crate) struct Interleaver<W: Writer> {
    inner: W,
    timescales: Vec<u32>,
    queues: Vec<VecDeque<Queued>>,
    /// End time (track ticks) of the last sample handed in, per track.
    ends: Vec<u64>,
    ended: Vec<bool>,
    bytes: usize,
}

/// `a` ticks of `sa` per second compared with `b` ticks of `sb` per second.
fn cmp_time(a: u64, sa: u32, b: u64, sb: u32) -> std::cmp::Ordering {
    (u128::from(a) * u128::from(sb)).cmp(&(u128::from(b) * u128::from(sa)))
}

impl<W: Writer> Interleaver<W> {
    pub fn new(inner: W, tracks: &[Track]) -> Interleaver<W> {
        Interleaver {
            inner,
            timescales: tracks.iter().map(Track::timescale).collect(),
            queues: tracks.iter().map(|_| VecDeque::new()).collect(),
            ends: vec![0; tracks.len()],
            ended: vec![false; tracks.len()],
            bytes: 0,
        }
    }

    /// The track whose queued head starts first (lowest index on ties).
    fn earliest(&self) -> Option<usize> {
        let mut best: Option<usize> = None;
        for (t, q) in self.queues.iter().enumerate() {
            let Some(head) = q.front() else { continue };
            let earlier = match best {
                None => true,
                Some(b) => {
                    let bh = self.queues[b].front().map_or(0, |h| h.start);
                    cmp_time(head.start, self.timescales[t], bh, self.timescales[b]).is_lt()
                }
            };
            if earlier {
                best = Some(t);
            }
        }
        best
    }

    /// Whether no other track can still produce a sample before the head of `t`.
    fn is_next(&self, t: usize) -> bool {
        let Some(head) = self.queues[t].front() else {
            return false;
        };
        (0..self.queues.len()).all(|u| {
            if u == t || self.ended[u] || !self.queues[u].is_empty() {
                return true;
            }
            match cmp_time(
                head.start,
                self.timescales[t],
                self.ends[u],
                self.timescales[u],
            ) {
                std::cmp::Ordering::Less => true,
                std::cmp::Ordering::Equal => t < u,
                std::cmp::Ordering::Greater => false,
            }
        })
    }

    /// Whether the queues hold more than the bounds allow.
    fn over_bounds(&self, t: usize) -> bool {
        if self.bytes > MAX_INTERLEAVE_BYTES {
            return true;
        }
        let Some(head) = self.queues[t].front() else {
            return false;
        };
        // The furthest any track has run ahead of this head.
        self.ends
            .iter()
            .zip(&self.timescales)
            .any(|(&end, &scale)| {
                let limit = head.start as u128 * u128::from(scale)
                    + u128::from(MAX_INTERLEAVE_SECONDS)
                        * u128::from(scale)
                        * u128::from(self.timescales[t]);
                u128::from(end) * u128::from(self.timescales[t]) > limit
            })
    }

    fn drain(&mut self, all: bool) -> Result<(), Error> {
        while let Some(t) = self.earliest() {
            if !all && !self.is_next(t) && !self.over_bounds(t) {
                break;
            }
            let Some(q) = self.queues[t].pop_front() else {
                break;
            };
            self.bytes -= q.data.len();
            self.inner.put(
                t,
                &Sample {
                    data: &q.data,
                    duration: q.duration,
                    sync: q.sync,
                    trim_end: q.trim_end,
                },
            )?;
        }
        Ok(())
    }

    /// No more samples will come for `track`.
    pub fn end_track(&mut self, track: usize) -> Result<(), Error> {
        if let Some(e) = self.ended.get_mut(track) {
            *e = true;
        }
        self.drain(false)
    }
}

impl<W: Writer> Writer for Interleaver<W> {
    type Sink = W::Sink;

    fn put(&mut self, track: usize, s: &Sample) -> Result<(), Error> {
        let start = self.ends[track];
        self.ends[track] += u64::from(s.duration);
        self.bytes += s.data.len();
        self.queues[track].push_back(Queued {
            data: s.data.to_vec(),
            duration: s.duration,
            sync: s.sync,
            trim_end: s.trim_end,
            start,
        });
        self.drain(false)
    }

    fn finish(&mut self) -> Result<u64, Error> {
        self.drain(true)?;
        self.inner.finish()
    }

    fn take_out(&mut self) -> Option<Out<W::Sink>> {
        self.inner.take_out()
    }
}

impl<W: Writer> Drop for Interleaver<W> {
    /// An unfinished muxer hands what it holds to the format writer, so that
    /// crash-safe output keeps it (atomic output is discarded anyway).
    fn drop(&mut self) {
        if self.queues.iter().any(|q| !q.is_empty()) {
            let _ = self.drain(true);
        }
    }
}

/// A [`Front`] over an [`Interleaver`] passes `end_track` on.
pub(crate) struct InterleavedFront<W: Writer>(pub Front<Interleaver<W>>);

impl<W: Writer> Muxer for InterleavedFront<W> {
    fn write_video(&mut self, track: usize, nals: &[Vec<u8>], keyframe: bool) -> Result<(), Error> {
        self.0.write_video(track, nals, keyframe)
    }

    fn write_audio(&mut self, track: usize, packet: &AudioPacket) -> Result<(), Error> {
        self.0.write_audio(track, packet)
    }

    fn end_track(&mut self, track: usize) -> Result<(), Error> {
        self.0.end_track(track)?;
        self.0.writer.end_track(track)
    }

    fn finish(self: Box<Self>) -> Result<u64, Error> {
        Box::new(self.0).finish()
    }
}
