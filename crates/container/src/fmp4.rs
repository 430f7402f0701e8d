//! Fragmented MP4 and MOV (ISO/IEC 14496-12 §8.8), as FFmpeg writes with
//! `-movflags frag_keyframe+empty_moov`: an initial `ftyp` and a `moov` with
//! empty sample tables and a `mvex` box, then one movie fragment (`moof` +
//! `mdat`) per GOP or per chosen duration.
//!
//! Each fragment is written whole as soon as it is complete, so the output
//! never needs to seek: it works on pipes and standard output, and a file cut
//! anywhere (a crash, a kill) still decodes up to its last complete fragment.
//! Where the output can seek, the finished file's `mehd` is patched with the
//! total duration. Memory: one fragment, at most [`MAX_FRAGMENT_BYTES`].

use std::path::Path;
use std::time::Duration;

use crate::boxes::BoxBuf;
use crate::error::Error;
use crate::moov::{
    build_moov, movie_timescale, rescale_up, swap32, swaps_pcm, ChunkOffsets, Flavor, MoovInput,
    SampleTables, TrakInput, FTYP_FMP4, FTYP_MOV, NON_SYNC_SAMPLE, SYNC_SAMPLE,
};
use crate::sink::{Out, Sink};
use crate::track::Track;
use crate::writer::{Sample, Writer};

/// A fragment is closed early once it holds this many bytes, which bounds
/// memory whatever the GOP length; the next one then starts with a non-sync
/// picture, which decodes given the fragments before it.
pub(crate) const MAX_FRAGMENT_BYTES: usize = 32 << 20;

/// Without a video track, fragments last this long.
const AUDIO_ONLY_FRAGMENT: Duration = Duration::from_secs(1);

/// Where fragments end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// Before each keyframe of the first video track.
    Keyframes,
    /// Before the first sample of the first track once the fragment lasts this long.
    Every(Duration),
}

/// The samples of one track in the open fragment.
#[derive(Default)]
struct Pending {
    /// (size, duration, sample flags) of each sample; for PCM one entry per packet.
    samples: Vec<(u32, u32, u32)>,
    data: Vec<u8>,
    /// Ticks in the fragment.
    duration: u64,
}

/// The fragmented MP4/MOV writer.
pub(crate) struct FragmentedWriter<S: Sink> {
    out: Option<Out<S>>,
    flavor: Flavor,
    tracks: Vec<Track>,
    /// The track whose samples decide where fragments end: the first video
    /// track, else the first track.
    primary: usize,
    cut: Cut,
    pending: Vec<Pending>,
    pending_bytes: usize,
    /// Decode time (track ticks) of the first sample of the open fragment.
    decode_time: Vec<u64>,
    /// Total ticks and end trim of each track, for `mehd`.
    totals: Vec<SampleTables>,
    sequence: u32,
    /// File offset of mehd's 64-bit fragment_duration.
    mehd_at: Option<u64>,
    /// File offsets of the edits' 64-bit segment_duration, by track.
    edits_at: Vec<(usize, u64)>,
    movie_timescale: u32,
    finished: bool,
}

impl<S: Sink> FragmentedWriter<S> {
    pub fn new(
        sink: S,
        name: &Path,
        flavor: Flavor,
        tracks: &[Track],
        cut: Cut,
    ) -> Result<Self, Error> {
        let mut out = Out::new(sink, name);
        let primary = tracks.iter().position(Track::is_video).unwrap_or(0);
        let cut = match (cut, tracks.get(primary)) {
            (Cut::Keyframes, Some(Track::Audio(_))) => Cut::Every(AUDIO_ONLY_FRAGMENT),
            (c, _) => c,
        };
        let totals: Vec<SampleTables> = tracks.iter().map(|_| SampleTables::default()).collect();
        let trak: Vec<TrakInput> = tracks
            .iter()
            .zip(&totals)
            .map(|(track, tables)| TrakInput { track, tables })
            .collect();
        let movie_timescale = movie_timescale(tracks);
        let moov = build_moov(
            &MoovInput {
                flavor,
                tracks: &trak,
                movie_timescale,
                fragmented: true,
            },
            0,
            ChunkOffsets::Stco,
        )
        .map_err(|reason| Error::Unsupported {
            path: name.to_path_buf(),
            reason,
        })?;
        let ftyp = match flavor {
            Flavor::Mp4 => FTYP_FMP4,
            Flavor::Mov => FTYP_MOV,
        };
        let mut head = ftyp.to_vec();
        let mehd_at = moov.mehd_duration_at.map(|at| (head.len() + at) as u64);
        let edits_at = moov
            .edit_duration_at
            .iter()
            .map(|&(track, at)| (track, (head.len() + at) as u64))
            .collect();
        head.extend_from_slice(&moov.bytes);
        out.write(&head)?;
        Ok(FragmentedWriter {
            out: Some(out),
            flavor,
            tracks: tracks.to_vec(),
            primary,
            cut,
            pending: tracks.iter().map(|_| Pending::default()).collect(),
            pending_bytes: 0,
            decode_time: vec![0; tracks.len()],
            totals,
            sequence: 0,
            mehd_at,
            edits_at,
            movie_timescale,
            finished: false,
        })
    }

    fn name(&self) -> &Path {
        self.out
            .as_ref()
            .map_or(Path::new("MP4 output"), |o| &o.name)
    }

    fn out(&mut self) -> Result<&mut Out<S>, Error> {
        let name = self.name().to_path_buf();
        self.out.as_mut().ok_or(Error::Poisoned { path: name })
    }

    fn has_pending(&self) -> bool {
        self.pending.iter().any(|p| !p.samples.is_empty())
    }

    /// Whether the open fragment ends before this sample.
    fn cuts_before(&self, track: usize, s: &Sample) -> bool {
        if !self.has_pending() {
            return false;
        }
        if self.pending_bytes + s.data.len() > MAX_FRAGMENT_BYTES {
            return true;
        }
        if track != self.primary {
            return false;
        }
        match self.cut {
            Cut::Keyframes => s.sync,
            Cut::Every(d) => {
                let p = &self.pending[track];
                let scale = self.tracks[track].timescale();
                // p.duration / scale >= d, in integers.
                u128::from(p.duration) * 1_000_000_000 >= d.as_nanos() * u128::from(scale)
            }
        }
    }

    /// Writes the open fragment, if it holds anything: §8.8.4 MovieFragmentBox
    /// with a §8.8.6 TrackFragmentBox per track, then the §8.1.1 MediaDataBox.
    fn write_fragment(&mut self) -> Result<(), Error> {
        if !self.has_pending() {
            return Ok(());
        }
        self.out()?.check()?;
        self.sequence = self
            .sequence
            .checked_add(1)
            .ok_or_else(|| Error::TooLarge {
                path: self.name().to_path_buf(),
                what: "more than 4294967295 fragments".into(),
            })?;
        let mut b = BoxBuf::new();
        b.begin(b"moof");
        // §8.8.5 MovieFragmentHeaderBox.
        b.begin_full(b"mfhd", 0, 0);
        b.u32(self.sequence);
        b.end();
        // (position of the trun data_offset field, bytes before this track's data)
        let mut offsets = Vec::new();
        let mut data_before = 0u64;
        for (i, p) in self.pending.iter().enumerate() {
            if p.samples.is_empty() {
                continue;
            }
            let pcm = match &self.tracks[i] {
                Track::Audio(a) => a.pcm_frame_bytes(),
                Track::Video(_) => None,
            };
            b.begin(b"traf");
            // §8.8.7 TrackFragmentHeaderBox: default-base-is-moof (0x020000);
            // PCM adds default duration (0x08), size (0x10) and flags (0x20).
            let flags = 0x02_0000 | if pcm.is_some() { 0x38 } else { 0 };
            b.begin_full(b"tfhd", 0, flags);
            b.u32(i as u32 + 1); // track_ID
            if let Some(frame) = pcm {
                b.u32(1); // default_sample_duration: one frame
                b.u32(frame); // default_sample_size
                b.u32(SYNC_SAMPLE); // default_sample_flags
            }
            b.end();
            // §8.8.12 TrackFragmentBaseMediaDecodeTimeBox, version 1.
            b.begin_full(b"tfdt", 1, 0);
            b.u64(self.decode_time[i]);
            b.end();
            // §8.8.8 TrackRunBox: data-offset (0x001); otherwise per-sample
            // duration (0x100), size (0x200) and flags (0x400).
            let trun_flags = if pcm.is_some() { 0x001 } else { 0x701 };
            b.begin_full(b"trun", 0, trun_flags);
            let count: u64 = if pcm.is_some() {
                p.duration
            } else {
                p.samples.len() as u64
            };
            b.u32(count as u32); // bounded by MAX_FRAGMENT_BYTES
            offsets.push((b.len(), data_before));
            b.u32(0); // data_offset, patched below
            if pcm.is_none() {
                for &(size, duration, flags) in &p.samples {
                    b.u32(duration);
                    b.u32(size);
                    b.u32(flags);
                }
            }
            b.end();
            b.end();
            data_before += p.data.len() as u64;
        }
        b.end();
        let moof_len = b.len() as u64;
        let payload = data_before;
        let header_len: u64 = if payload + 8 <= u64::from(u32::MAX) {
            8
        } else {
            16
        };
        for (at, before) in offsets {
            // Relative to the start of the moof (default-base-is-moof); the
            // fragment size bound keeps it far below 2^31.
            b.patch_u32(at, (moof_len + header_len + before) as u32);
        }
        let mut moof = b.into_bytes().ok_or_else(|| Error::TooLarge {
            path: self.name().to_path_buf(),
            what: "a movie fragment header over 4 GiB".into(),
        })?;
        if header_len == 8 {
            moof.extend_from_slice(&((payload + 8) as u32).to_be_bytes());
            moof.extend_from_slice(b"mdat");
        } else {
            moof.extend_from_slice(&1u32.to_be_bytes());
            moof.extend_from_slice(b"mdat");
            moof.extend_from_slice(&(payload + 16).to_be_bytes());
        }
        let mut pending = std::mem::take(&mut self.pending);
        let result = (|| {
            let out = self.out()?;
            out.write(&moof)?;
            for p in &pending {
                out.write(&p.data)?;
            }
            out.durable_point()
        })();
        for (i, p) in pending.iter_mut().enumerate() {
            self.decode_time[i] += p.duration;
            *p = Pending::default();
        }
        self.pending = pending;
        self.pending_bytes = 0;
        result
    }
}

impl<S: Sink> Writer for FragmentedWriter<S> {
    type Sink = S;

    fn put(&mut self, track: usize, s: &Sample) -> Result<(), Error> {
        self.out()?.check()?;
        if self.cuts_before(track, s) {
            self.write_fragment()?;
        }
        let flags = if s.sync { SYNC_SAMPLE } else { NON_SYNC_SAMPLE };
        let swap = swaps_pcm(self.flavor, &self.tracks[track]);
        let p = &mut self.pending[track];
        p.samples.push((s.data.len() as u32, s.duration, flags));
        if swap {
            p.data.extend_from_slice(&swap32(s.data));
        } else {
            p.data.extend_from_slice(s.data);
        }
        p.duration += u64::from(s.duration);
        self.pending_bytes += s.data.len();
        let t = &mut self.totals[track];
        t.count += 1;
        t.duration += u64::from(s.duration);
        t.trim_end += u64::from(s.trim_end);
        Ok(())
    }

    fn finish(&mut self) -> Result<u64, Error> {
        self.out()?.check()?;
        if self.totals.iter().all(|t| t.count == 0) {
            return Err(Error::NoFrames {
                path: self.name().to_path_buf(),
            });
        }
        self.write_fragment()?;
        self.finished = true;
        let presented: Vec<u64> = self
            .tracks
            .iter()
            .zip(&self.totals)
            .map(|(track, t)| {
                let skip = match track {
                    Track::Audio(a) => a.pre_skip(),
                    Track::Video(_) => 0,
                };
                let ticks = t.duration.saturating_sub(skip).saturating_sub(t.trim_end);
                rescale_up(ticks, track.timescale(), self.movie_timescale)
            })
            .collect();
        let duration = presented.iter().copied().max().unwrap_or(0);
        let (mehd_at, edits_at) = (self.mehd_at, std::mem::take(&mut self.edits_at));
        let out = self.out()?;
        if out.can_seek() {
            // The finished file knows its length: the whole duration, and
            // where each edited track (Opus) ends, which cuts the padding of
            // its last packet.
            if let Some(at) = mehd_at {
                out.patch(at, &duration.to_be_bytes())?;
            }
            for (track, at) in edits_at {
                out.patch(at, &presented[track].to_be_bytes())?;
            }
        }
        out.flush()?;
        Ok(out.len())
    }

    fn take_out(&mut self) -> Option<Out<S>> {
        self.out.take()
    }
}

impl<S: Sink> Drop for FragmentedWriter<S> {
    /// An unfinished writer still writes what it holds as a last fragment, so
    /// nothing that was encoded is lost (unless the output already failed).
    fn drop(&mut self) {
        if !self.finished && self.out.as_ref().is_some_and(|o| !o.failed()) {
            let _ = self.write_fragment();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::SeekableIo;
    use crate::testutil::{be32, be64, track, SparseStore};
    use crate::writer::Front;
    use crate::Muxer;

    #[test]
    fn fragmented_mp4_beyond_4_gib() {
        // 270 samples of 16 MiB: fragments close at 32 MiB, so each holds two
        // samples, and the last ones start past 4 GiB.
        const NAL_LEN: usize = 16 << 20;
        const COUNT: u32 = 270;
        let tracks = [Track::Video(track(64, 48, 30, 1))];
        let w = FragmentedWriter::new(
            SeekableIo(SparseStore::default()),
            Path::new("big.mp4"),
            Flavor::Mp4,
            &tracks,
            Cut::Keyframes,
        )
        .unwrap();
        let mut m = Front::new(w, &tracks, Path::new("big.mp4"));
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

        let (mut pos, mut sample, mut last_moof) = (0u64, 0u32, 0u64);
        while pos < n {
            let h = store.read_at(pos, 16);
            let size = u64::from(be32(&h, 0));
            let kind = &h[4..8];
            if kind == b"moof" {
                last_moof = pos;
                let moof = store.read_at(pos, size as usize);
                let at = |name: &[u8]| moof.windows(4).position(|w| w == name).unwrap();
                // tfdt version 1: the decode time of the fragment's first sample.
                let tfdt = at(b"tfdt");
                assert_eq!(be64(&moof, tfdt + 8), u64::from(sample) * 512);
                // trun: flags 0x701, sample_count, data_offset, then per sample.
                let trun = at(b"trun");
                assert_eq!(be32(&moof, trun + 4), 0x701);
                let count = be32(&moof, trun + 8);
                let mut data = pos + u64::from(be32(&moof, trun + 12));
                for k in 0..count as usize {
                    let entry = trun + 16 + 12 * k;
                    let (dur, len, flags) = (
                        be32(&moof, entry),
                        be32(&moof, entry + 4),
                        be32(&moof, entry + 8),
                    );
                    assert_eq!(dur, 512);
                    assert_eq!(len as usize, NAL_LEN + 4);
                    let key = sample % 130 == 0;
                    assert_eq!(flags, if key { SYNC_SAMPLE } else { NON_SYNC_SAMPLE });
                    let b = store.read_at(data + 4, 5);
                    assert_eq!(&b[1..5], &sample.to_be_bytes(), "sample {sample}");
                    data += u64::from(len);
                    sample += 1;
                }
            }
            pos += size;
        }
        assert_eq!(pos, n);
        assert_eq!(sample, COUNT);
        assert!(last_moof > 1 << 32);
        // mehd holds the whole duration, patched at the end.
        let head = store.read_at(0, 4096);
        let mehd = head.windows(4).position(|w| w == b"mehd").unwrap();
        assert_eq!(be64(&head, mehd + 8), u64::from(COUNT) * 512);
    }
}
