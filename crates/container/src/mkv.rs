//! Matroska (RFC 9559; codec mappings from the Matroska codec specification):
//! H.264 as `V_MPEG4/ISO/AVC` with the AVC decoder configuration record as
//! CodecPrivate, Opus as `A_OPUS` with the OpusHead, and float PCM as
//! `A_PCM/FLOAT/IEEE`.
//!
//! Blocks go straight to the output in Clusters that start at each keyframe
//! of the first video track (every 5 s without video). The Segment and each
//! Cluster are written with an unknown size (RFC 8794 §6.2) that is patched
//! when known, so the file is readable at any moment, and nothing but the
//! index is held in memory. Where the output can seek, the end adds Cues (one
//! per Cluster), the SeekHead entry for them and the Duration; on a pipe the
//! sizes stay unknown, as live Matroska streams have them. Every size field
//! that can grow is 8 bytes long, so files over 4 GiB need nothing special.

use std::path::Path;
use std::time::Duration;

use crate::avcc::write_avcc;
use crate::boxes::BoxBuf;
use crate::ebml::{size8, Ebml, UNKNOWN_SIZE};
use crate::error::Error;
use crate::sink::{Out, Sink};
use crate::track::{AudioCodec, AudioTrack, Track, VideoTrack};
use crate::writer::{Sample, Writer};

// Element IDs (RFC 8794 §11.2 for the EBML header, RFC 9559 §5.1 for the rest).
const EBML: u32 = 0x1A45_DFA3;
const EBML_VERSION: u32 = 0x4286;
const EBML_READ_VERSION: u32 = 0x42F7;
const EBML_MAX_ID_LENGTH: u32 = 0x42F2;
const EBML_MAX_SIZE_LENGTH: u32 = 0x42F3;
const DOC_TYPE: u32 = 0x4282;
const DOC_TYPE_VERSION: u32 = 0x4287;
const DOC_TYPE_READ_VERSION: u32 = 0x4285;
const SEGMENT: u32 = 0x1853_8067;
const SEEK_HEAD: u32 = 0x114D_9B74;
const SEEK: u32 = 0x4DBB;
const SEEK_ID: u32 = 0x53AB;
const SEEK_POSITION: u32 = 0x53AC;
const INFO: u32 = 0x1549_A966;
const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
const DURATION: u32 = 0x4489;
const MUXING_APP: u32 = 0x4D80;
const WRITING_APP: u32 = 0x5741;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const TRACK_NUMBER: u32 = 0xD7;
const TRACK_UID: u32 = 0x73C5;
const TRACK_TYPE: u32 = 0x83;
const FLAG_LACING: u32 = 0x9C;
const LANGUAGE: u32 = 0x22_B59C;
const CODEC_ID: u32 = 0x86;
const CODEC_PRIVATE: u32 = 0x63A2;
const DEFAULT_DURATION: u32 = 0x23_E383;
const CODEC_DELAY: u32 = 0x56AA;
const SEEK_PRE_ROLL: u32 = 0x56BB;
const VIDEO: u32 = 0xE0;
const PIXEL_WIDTH: u32 = 0xB0;
const PIXEL_HEIGHT: u32 = 0xBA;
const AUDIO: u32 = 0xE1;
const SAMPLING_FREQUENCY: u32 = 0xB5;
const CHANNELS: u32 = 0x9F;
const BIT_DEPTH: u32 = 0x6264;
const CLUSTER: u32 = 0x1F43_B675;
const TIMESTAMP: u32 = 0xE7;
const SIMPLE_BLOCK: u32 = 0xA3;
const BLOCK_GROUP: u32 = 0xA0;
const BLOCK: u32 = 0xA1;
const DISCARD_PADDING: u32 = 0x75A2;
const CUES: u32 = 0x1C53_BB6B;
const CUE_POINT: u32 = 0xBB;
const CUE_TIME: u32 = 0xB3;
const CUE_TRACK_POSITIONS: u32 = 0xB7;
const CUE_TRACK: u32 = 0xF7;
const CUE_CLUSTER_POSITION: u32 = 0xF1;

/// Nanoseconds per Segment tick: milliseconds, as most Matroska muxers use.
const TIMESTAMP_SCALE_NS: u64 = 1_000_000;
/// Block timestamps are 16-bit offsets from the Cluster's: start a new
/// Cluster well before they run out.
const MAX_CLUSTER_SPAN_MS: i64 = 30_000;
/// Cluster length without a video track.
const AUDIO_CLUSTER_MS: i64 = 5_000;
/// Opus decoders need 80 ms before a seek target to converge (RFC 7845 §4.6).
const OPUS_SEEK_PRE_ROLL_NS: u64 = 80_000_000;
/// Room kept after the EBML header for the SeekHead written at the end.
const SEEK_HEAD_ROOM: usize = 96;

/// Where Clusters end besides keyframes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClusterPolicy {
    /// Also end a Cluster once it lasts this long.
    pub every: Option<Duration>,
    /// Crash-safe output: mark a durable point after each Cluster.
    pub durable: bool,
}

struct OpenCluster {
    /// File offset of the Cluster's size field.
    size_at: u64,
    /// File offset of the Cluster's data.
    data_at: u64,
    time_ms: i64,
    blocks: u64,
}

/// The Matroska writer.
pub(crate) struct MkvWriter<S: Sink> {
    out: Option<Out<S>>,
    tracks: Vec<Track>,
    primary: usize,
    policy: ClusterPolicy,
    /// File offset of the Segment's size field and of its data.
    segment_size_at: u64,
    segment_data_at: u64,
    /// File offsets of the reserved SeekHead room, the Info and the Tracks.
    seek_head_at: u64,
    info_at: u64,
    tracks_at: u64,
    /// File offset of the Duration float, when the output can seek.
    duration_at: Option<u64>,
    cluster: Option<OpenCluster>,
    /// (time in ms, cluster position relative to the Segment data) per Cluster
    /// that starts with a keyframe of the primary track.
    cues: Vec<(u64, u64)>,
    /// Ticks written per track, and the presented end (ms) of the file.
    ticks: Vec<u64>,
    end_ms: f64,
    samples: u64,
    /// Block header being assembled.
    scratch: Vec<u8>,
}

impl<S: Sink> MkvWriter<S> {
    pub fn new(
        sink: S,
        name: &Path,
        tracks: &[Track],
        policy: ClusterPolicy,
    ) -> Result<Self, Error> {
        if tracks.len() > 126 {
            return Err(Error::Unsupported {
                path: name.to_path_buf(),
                reason: format!("{} tracks (this writer handles up to 126)", tracks.len()),
            });
        }
        let mut out = Out::new(sink, name);
        let seekable = out.can_seek();
        let mut e = Ebml::new();
        // RFC 8794 §8: the EBML header.
        e.master(EBML, |h| {
            h.uint(EBML_VERSION, 1);
            h.uint(EBML_READ_VERSION, 1);
            h.uint(EBML_MAX_ID_LENGTH, 4);
            h.uint(EBML_MAX_SIZE_LENGTH, 8);
            h.string(DOC_TYPE, "matroska");
            // Version 4 for CodecDelay and DiscardPadding; SimpleBlock needs 2 to read.
            h.uint(DOC_TYPE_VERSION, 4);
            h.uint(DOC_TYPE_READ_VERSION, 2);
        });
        e.header8(SEGMENT, UNKNOWN_SIZE);
        let segment_size_at = e.buf.len() as u64 - 8;
        let segment_data_at = e.buf.len() as u64;
        let seek_head_at = segment_data_at;
        let head = e.buf.len();
        e.void(SEEK_HEAD_ROOM);
        let info_at = e.buf.len() as u64;
        let mut duration_at = None;
        e.master(INFO, |i| {
            i.uint(TIMESTAMP_SCALE, TIMESTAMP_SCALE_NS);
            i.string(MUXING_APP, "framepress");
            i.string(WRITING_APP, "framepress");
            if seekable {
                duration_at = Some(i.buf.len() as u64 + 3); // ID (2 bytes) + size (1)
                i.float(DURATION, 0.0);
            }
        });
        // The Info's own header: ID (4 bytes) + a one-byte size.
        let duration_at = duration_at.map(|d| info_at + 5 + d);
        let tracks_at = e.buf.len() as u64;
        let mut entries = Vec::new();
        for (i, t) in tracks.iter().enumerate() {
            entries.push(track_entry(i as u64 + 1, t)?);
        }
        e.master(TRACKS, |t| {
            for entry in &entries {
                t.buf.extend_from_slice(entry);
            }
        });
        // The SeekHead for Info and Tracks now; the end adds Cues.
        let seek_head = seek_head(&[
            (INFO, info_at - segment_data_at),
            (TRACKS, tracks_at - segment_data_at),
        ]);
        let mut room = Ebml::new();
        room.buf.extend_from_slice(&seek_head);
        room.void(SEEK_HEAD_ROOM - seek_head.len());
        e.buf[head..head + SEEK_HEAD_ROOM].copy_from_slice(&room.buf);
        out.write(&e.buf)?;
        Ok(MkvWriter {
            out: Some(out),
            tracks: tracks.to_vec(),
            primary: tracks.iter().position(Track::is_video).unwrap_or(0),
            policy,
            segment_size_at,
            segment_data_at,
            seek_head_at,
            info_at,
            tracks_at,
            duration_at,
            cluster: None,
            cues: Vec::new(),
            ticks: vec![0; tracks.len()],
            end_ms: 0.0,
            samples: 0,
            scratch: Vec::new(),
        })
    }

    fn name(&self) -> &Path {
        self.out
            .as_ref()
            .map_or(Path::new("Matroska output"), |o| &o.name)
    }

    fn out(&mut self) -> Result<&mut Out<S>, Error> {
        let name = self.name().to_path_buf();
        self.out.as_mut().ok_or(Error::Poisoned { path: name })
    }

    /// Patches the open Cluster's size (where the output can seek) and ends it.
    fn close_cluster(&mut self) -> Result<(), Error> {
        let Some(c) = self.cluster.take() else {
            return Ok(());
        };
        let durable = self.policy.durable;
        let out = self.out()?;
        if out.can_seek() {
            let size = out.len() - c.data_at;
            out.patch(c.size_at, &size8(size))?;
        }
        if durable {
            out.durable_point()?;
        }
        Ok(())
    }

    fn open_cluster(&mut self, time_ms: i64, cue: bool) -> Result<(), Error> {
        self.close_cluster()?;
        let time_ms = time_ms.max(0);
        let segment_data_at = self.segment_data_at;
        let out = self.out()?;
        let at = out.len();
        let mut e = Ebml::new();
        e.header8(CLUSTER, UNKNOWN_SIZE);
        let data_at = at + e.buf.len() as u64;
        e.uint(TIMESTAMP, time_ms as u64);
        out.write(&e.buf)?;
        if cue {
            self.cues.push((time_ms as u64, at - segment_data_at));
        }
        self.cluster = Some(OpenCluster {
            size_at: at + 4,
            data_at,
            time_ms,
            blocks: 0,
        });
        Ok(())
    }

    /// The block time of a sample starting at `ticks`, in ms: Opus blocks
    /// are shifted back by the codec delay, so that the first presented
    /// sample is at 0 (Matroska codec specification, A_OPUS).
    fn time_ms(&self, track: usize, ticks: u64) -> i64 {
        let t = &self.tracks[track];
        let scale = u128::from(t.timescale());
        let shift = match t {
            Track::Audio(a) => a.pre_skip(),
            Track::Video(_) => 0,
        };
        let ns = |v: u64| (u128::from(v) * 1_000_000_000 + scale / 2) / scale;
        let ms = |ns: u128| {
            ((ns + u128::from(TIMESTAMP_SCALE_NS / 2)) / u128::from(TIMESTAMP_SCALE_NS)) as i64
        };
        ms(ns(ticks)) - ms(ns(shift))
    }
}

/// A SeekHead (RFC 9559 §5.1.1) pointing at the given top-level elements.
fn seek_head(entries: &[(u32, u64)]) -> Vec<u8> {
    let mut e = Ebml::new();
    e.master(SEEK_HEAD, |h| {
        for &(id, pos) in entries {
            h.master(SEEK, |s| {
                s.binary(SEEK_ID, &id.to_be_bytes());
                // 8 bytes, so that the SeekHead size does not depend on positions.
                s.binary(SEEK_POSITION, &pos.to_be_bytes());
            });
        }
    });
    e.buf
}

/// A TrackEntry (RFC 9559 §5.1.4.1).
fn track_entry(number: u64, t: &Track) -> Result<Vec<u8>, Error> {
    let (codec_id, private, kind) = match t {
        Track::Video(v) => ("V_MPEG4/ISO/AVC", Some(avc_private(v)?), 1),
        Track::Audio(a) => match &a.codec {
            AudioCodec::Opus { .. } => ("A_OPUS", Some(opus_head(a)), 2),
            AudioCodec::PcmF32 => ("A_PCM/FLOAT/IEEE", None, 2),
        },
    };
    let mut e = Ebml::new();
    e.master(TRACK_ENTRY, |te| {
        te.uint(TRACK_NUMBER, number);
        te.uint(TRACK_UID, number);
        te.uint(TRACK_TYPE, kind);
        te.uint(FLAG_LACING, 0);
        te.string(LANGUAGE, "und");
        te.string(CODEC_ID, codec_id);
        if let Some(p) = &private {
            te.binary(CODEC_PRIVATE, p);
        }
        match t {
            Track::Video(v) => {
                let ns = (u128::from(v.frame_rate_den) * 1_000_000_000
                    + u128::from(v.frame_rate_num) / 2)
                    / u128::from(v.frame_rate_num.max(1));
                te.uint(DEFAULT_DURATION, ns as u64);
                te.master(VIDEO, |vi| {
                    vi.uint(PIXEL_WIDTH, u64::from(v.width));
                    vi.uint(PIXEL_HEIGHT, u64::from(v.height));
                });
            }
            Track::Audio(a) => {
                if let AudioCodec::Opus { pre_skip, .. } = a.codec {
                    te.uint(CODEC_DELAY, u64::from(pre_skip) * 1_000_000_000 / 48_000);
                    te.uint(SEEK_PRE_ROLL, OPUS_SEEK_PRE_ROLL_NS);
                }
                te.master(AUDIO, |au| {
                    let rate = match a.codec {
                        AudioCodec::Opus { .. } => 48_000,
                        AudioCodec::PcmF32 => a.sample_rate,
                    };
                    au.float(SAMPLING_FREQUENCY, f64::from(rate));
                    au.uint(CHANNELS, u64::from(a.channels));
                    if a.codec == AudioCodec::PcmF32 {
                        au.uint(BIT_DEPTH, 32);
                    }
                });
            }
        }
    });
    Ok(e.buf)
}

/// The AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1): the
/// payload of an avcC box.
fn avc_private(v: &VideoTrack) -> Result<Vec<u8>, Error> {
    let mut b = BoxBuf::new();
    write_avcc(&mut b, &v.sps, &v.pps).map_err(Error::InvalidTrack)?;
    let bytes = b
        .into_bytes()
        .ok_or_else(|| Error::InvalidTrack("avcC record too large".into()))?;
    Ok(bytes[8..].to_vec())
}

/// The identification header OpusHead (RFC 7845 §5.1), little-endian.
pub(crate) fn opus_head(a: &AudioTrack) -> Vec<u8> {
    let mut h = b"OpusHead".to_vec();
    h.push(1); // version
    h.push(a.channels as u8); // validated <= 8
    if let AudioCodec::Opus { pre_skip, mapping } = &a.codec {
        h.extend_from_slice(&pre_skip.to_le_bytes());
        h.extend_from_slice(&a.sample_rate.to_le_bytes()); // input sample rate
        h.extend_from_slice(&0i16.to_le_bytes()); // output gain
        h.push(mapping.family);
        if mapping.family != 0 {
            h.push(mapping.streams);
            h.push(mapping.coupled);
            h.extend_from_slice(&mapping.mapping);
        }
    }
    h
}

impl<S: Sink> Writer for MkvWriter<S> {
    type Sink = S;

    fn put(&mut self, track: usize, s: &Sample) -> Result<(), Error> {
        self.out()?.check()?;
        let t_ms = self.time_ms(track, self.ticks[track]);
        let primary_key = track == self.primary && s.sync;
        let new_cluster = match &self.cluster {
            None => true,
            Some(c) => {
                let span = t_ms - c.time_ms;
                let every = self
                    .policy
                    .every
                    .is_some_and(|d| span >= d.as_millis() as i64 && track == self.primary);
                let audio_only = !self.tracks[self.primary].is_video()
                    && track == self.primary
                    && span >= AUDIO_CLUSTER_MS;
                (primary_key && self.tracks[track].is_video() && c.blocks > 0)
                    || !(-MAX_CLUSTER_SPAN_MS..=MAX_CLUSTER_SPAN_MS).contains(&span)
                    || every
                    || audio_only
            }
        };
        if new_cluster {
            self.open_cluster(t_ms, primary_key)?;
        }
        let cluster_ms = self.cluster.as_ref().map_or(0, |c| c.time_ms);
        let rel = (t_ms - cluster_ms) as i16; // within ±30000: checked above
                                              // RFC 9559 §10: track number (vint), timestamp (int16), flags.
        let mut block = std::mem::take(&mut self.scratch);
        block.clear();
        block.extend_from_slice(&crate::ebml::vint(track as u64 + 1));
        block.extend_from_slice(&rel.to_be_bytes());
        let mut e = Ebml::new();
        if s.trim_end > 0 {
            // A BlockGroup, to carry DiscardPadding (ns dropped from the end).
            block.push(0x00);
            let scale = u64::from(self.tracks[track].timescale());
            let pad_ns = u64::from(s.trim_end) * 1_000_000_000 / scale.max(1);
            let mut tail = Ebml::new();
            tail.int(DISCARD_PADDING, pad_ns as i64);
            let block_len = (block.len() + s.data.len()) as u64;
            let block_header_len = 1 + crate::ebml::vint(block_len).len() as u64;
            e.header(
                BLOCK_GROUP,
                block_header_len + block_len + tail.buf.len() as u64,
            );
            e.header(BLOCK, block_len);
            e.buf.extend_from_slice(&block);
            let out = self.out()?;
            out.write(&e.buf)?;
            out.write(s.data)?;
            out.write(&tail.buf)?;
        } else {
            // Flags: 0x80 keyframe.
            block.push(if s.sync { 0x80 } else { 0x00 });
            e.header(SIMPLE_BLOCK, (block.len() + s.data.len()) as u64);
            e.buf.extend_from_slice(&block);
            let out = self.out()?;
            out.write(&e.buf)?;
            out.write(s.data)?;
        }
        self.scratch = block;
        if let Some(c) = &mut self.cluster {
            c.blocks += 1;
        }
        self.ticks[track] += u64::from(s.duration);
        self.samples += 1;
        let end_ticks = self.ticks[track] - u64::from(s.trim_end);
        let end = self.time_ms(track, end_ticks) as f64;
        self.end_ms = self.end_ms.max(end);
        Ok(())
    }

    fn finish(&mut self) -> Result<u64, Error> {
        self.out()?.check()?;
        if self.samples == 0 {
            return Err(Error::NoFrames {
                path: self.name().to_path_buf(),
            });
        }
        self.close_cluster()?;
        let primary = self.primary as u64 + 1;
        let (segment_data_at, seek_head_at) = (self.segment_data_at, self.seek_head_at);
        let (info_at, tracks_at, segment_size_at) =
            (self.info_at, self.tracks_at, self.segment_size_at);
        let (duration_at, end_ms) = (self.duration_at, self.end_ms);
        let cues = std::mem::take(&mut self.cues);
        let out = self.out()?;
        if out.can_seek() {
            let cues_at = out.len();
            let mut e = Ebml::new();
            e.master(CUES, |c| {
                for &(time, pos) in &cues {
                    c.master(CUE_POINT, |p| {
                        p.uint(CUE_TIME, time);
                        p.master(CUE_TRACK_POSITIONS, |tp| {
                            tp.uint(CUE_TRACK, primary);
                            tp.uint(CUE_CLUSTER_POSITION, pos);
                        });
                    });
                }
            });
            if !cues.is_empty() {
                out.write(&e.buf)?;
            }
            let mut entries = vec![
                (INFO, info_at - segment_data_at),
                (TRACKS, tracks_at - segment_data_at),
            ];
            if !cues.is_empty() {
                entries.push((CUES, cues_at - segment_data_at));
            }
            let head = seek_head(&entries);
            let mut room = Ebml::new();
            room.buf.extend_from_slice(&head);
            room.void(SEEK_HEAD_ROOM - head.len());
            out.patch(seek_head_at, &room.buf)?;
            if let Some(at) = duration_at {
                out.patch(at, &end_ms.to_be_bytes())?;
            }
            let size = out.len() - segment_data_at;
            out.patch(segment_size_at, &size8(size))?;
        }
        out.flush()?;
        Ok(out.len())
    }

    fn take_out(&mut self) -> Option<Out<S>> {
        self.out.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::SeekableIo;
    use crate::testutil::track;
    use std::io::Cursor;

    #[test]
    fn seek_head_fits_its_room() {
        let h = seek_head(&[(INFO, u64::MAX), (TRACKS, 1), (CUES, 2)]);
        assert!(h.len() + 2 <= SEEK_HEAD_ROOM, "{}", h.len());
    }

    #[test]
    fn header_layout_and_duration_offset() {
        let t = [Track::Video(track(64, 48, 30, 1))];
        let policy = ClusterPolicy {
            every: None,
            durable: false,
        };
        let mut w = MkvWriter::new(
            SeekableIo(Cursor::new(Vec::new())),
            Path::new("x.mkv"),
            &t,
            policy,
        )
        .unwrap();
        let at = w.duration_at.unwrap() as usize;
        let data = w.take_out().unwrap().into_sink().unwrap().0.into_inner();
        // The Duration element: ID 0x4489, size 0x88, then the float.
        assert_eq!(&data[at - 3..at], &[0x44, 0x89, 0x88]);
        assert_eq!(&data[at..at + 8], &0f64.to_be_bytes());
        assert_eq!(&data[..4], &EBML.to_be_bytes());
    }
}

#[cfg(test)]
mod large_tests {
    use super::*;
    use crate::sink::SeekableIo;
    use crate::testutil::{ebml_header, track, SparseStore};
    use crate::writer::Front;
    use crate::Muxer;

    #[test]
    fn matroska_beyond_4_gib_has_exact_sizes_and_cues() {
        // 270 blocks of 16 MiB, keyframes at 0, 130 and 260: the last Cluster
        // starts past 4 GiB. The sparse store holds only what differs from FILL.
        const NAL_LEN: usize = 16 << 20;
        const COUNT: u32 = 270;
        let tracks = [Track::Video(track(64, 48, 30, 1))];
        let policy = ClusterPolicy {
            every: None,
            durable: false,
        };
        let w = MkvWriter::new(
            SeekableIo(SparseStore::default()),
            Path::new("big.mkv"),
            &tracks,
            policy,
        )
        .unwrap();
        let mut m = Front::new(w, &tracks, Path::new("big.mkv"));
        let mut au = vec![vec![SparseStore::FILL; NAL_LEN]];
        for i in 0..COUNT {
            let key = i % 130 == 0;
            au[0][0] = if key { 0x65 } else { 0x41 };
            au[0][1..5].copy_from_slice(&i.to_be_bytes());
            m.write_video(0, &au, key).unwrap();
        }
        let (out, n) = m.finish_into_out().unwrap();
        let mut store = out.into_sink().unwrap().0;
        assert_eq!(n, store.len());
        assert!(n > 1 << 32);

        let head = store.read_at(0, 4096);
        let (id, size, hl) = ebml_header(&head);
        assert_eq!(id, EBML);
        let seg_at = hl + size.unwrap() as usize;
        let (id, size, hl) = ebml_header(&head[seg_at..]);
        assert_eq!(id, SEGMENT);
        let data_at = (seg_at + hl) as u64;
        assert_eq!(size, Some(n - data_at), "Segment size patched");

        // Walk the Segment: every Cluster has a known size, and the blocks
        // carry the samples in order.
        let (mut pos, mut clusters, mut blocks, mut cue_positions) =
            (data_at, Vec::new(), 0u32, Vec::new());
        while pos < n {
            let h = store.read_at(pos, 16);
            let (id, size, hl) = ebml_header(&h);
            let size = size.expect("every size known");
            match id {
                CLUSTER => {
                    clusters.push(pos - data_at);
                    let mut at = pos + hl as u64;
                    let end = at + size;
                    while at < end {
                        let h = store.read_at(at, 16);
                        let (cid, csize, chl) = ebml_header(&h);
                        if cid == SIMPLE_BLOCK {
                            // track 1, timestamp, flags, then the 4-byte length.
                            let b = store.read_at(at + chl as u64 + 4 + 4, 5);
                            assert_eq!(&b[1..5], &blocks.to_be_bytes(), "block {blocks}");
                            blocks += 1;
                        }
                        at += chl as u64 + csize.unwrap();
                    }
                }
                CUES => {
                    let c = store.read_at(pos + hl as u64, size as usize);
                    let mut at = 0;
                    while at < c.len() {
                        let (_, psize, phl) = ebml_header(&c[at..]);
                        let point = &c[at + phl..at + phl + psize.unwrap() as usize];
                        // CueTime, then CueTrackPositions { CueTrack, CueClusterPosition }.
                        let (_, tsize, thl) = ebml_header(point);
                        let tp = &point[thl + tsize.unwrap() as usize..];
                        let (_, _, tphl) = ebml_header(tp);
                        let inner = &tp[tphl..];
                        let (_, s1, h1) = ebml_header(inner);
                        let (pid, s2, h2) = ebml_header(&inner[h1 + s1.unwrap() as usize..]);
                        assert_eq!(pid, CUE_CLUSTER_POSITION);
                        let v = &inner[h1 + s1.unwrap() as usize + h2..][..s2.unwrap() as usize];
                        cue_positions.push(v.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b)));
                        at += phl + psize.unwrap() as usize;
                    }
                }
                _ => {}
            }
            pos += hl as u64 + size;
        }
        assert_eq!(pos, n);
        assert_eq!(blocks, COUNT);
        assert_eq!(clusters.len(), 3);
        assert!(clusters[2] > 1 << 32);
        assert_eq!(
            cue_positions, clusters,
            "a Cue per Cluster, at its position"
        );
    }
}
