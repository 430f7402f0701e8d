//! The movie box (`moov`, ISO/IEC 14496-12 §8.2.1) for any number of video
//! (AVC) and audio (Opus, PCM) tracks: built from the sample tables once every
//! sample is known (progressive files), or with empty tables and a `mvex` box
//! in front of movie fragments (fragmented files, §8.8).

use crate::avcc::write_avcc;
use crate::boxes::BoxBuf;
use crate::track::{AudioCodec, AudioTrack, Track, VideoTrack};

/// Media timescale and per-sample duration for a frame rate `num/den`.
///
/// The timescale is `num` and each sample lasts `den` ticks, after reducing the
/// fraction, so every rate is exact (30000/1001 → 30000 and 1001). Small
/// timescales are scaled by a power of two up to at least 10000 ticks per second
/// (30/1 → 15360 and 512), a resolution players and editors handle well.
pub(crate) fn media_timing(num: u32, den: u32) -> (u32, u32) {
    let g = gcd(num, den).max(1);
    let (mut scale, mut delta) = (num / g, den / g);
    while scale < 10_000 {
        match (scale.checked_mul(2), delta.checked_mul(2)) {
            (Some(s), Some(d)) => {
                scale = s;
                delta = d;
            }
            _ => break,
        }
    }
    (scale, delta)
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `v` ticks of `from` per second in ticks of `to`, rounded up.
pub(crate) fn rescale_up(v: u64, from: u32, to: u32) -> u64 {
    let n = u128::from(v) * u128::from(to);
    let d = u128::from(from.max(1));
    u64::try_from(n.div_ceil(d)).unwrap_or(u64::MAX)
}

/// ISO (MP4, ISO/IEC 14496-14) or QuickTime (MOV) conventions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    Mp4,
    Mov,
}

/// §4.3 FileTypeBox of a progressive MP4: major brand isom, minor version
/// 0x200, compatible brands isom, iso2, avc1, mp41.
pub(crate) const FTYP_MP4: &[u8] = b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41";
/// A fragmented MP4: major brand iso5 (needed for default-base-is-moof,
/// §8.8.7.1), compatible iso5, iso6, avc1, mp41.
pub(crate) const FTYP_FMP4: &[u8] = b"\0\0\0\x20ftypiso5\0\0\x02\0iso5iso6avc1mp41";
/// QuickTime: major and only brand 'qt  '.
pub(crate) const FTYP_MOV: &[u8] = b"\0\0\0\x14ftypqt  \0\0\x02\0qt  ";

/// Whether samples of `track` are stored byte-swapped: float PCM arrives
/// little-endian, and QuickTime's 'fl32' is big-endian.
pub(crate) fn swaps_pcm(flavor: Flavor, track: &Track) -> bool {
    flavor == Flavor::Mov && matches!(track, Track::Audio(a) if a.codec == AudioCodec::PcmF32)
}

/// Reverses the bytes of each 32-bit value.
pub(crate) fn swap32(data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    for v in out.chunks_exact_mut(4) {
        v.reverse();
    }
    out
}

/// The sample tables of one track (§8.5–§8.7), kept while writing.
#[derive(Debug, Clone, Default)]
pub(crate) struct SampleTables {
    /// Size of each sample (stsz), unless `constant_size` is set.
    pub sizes: Vec<u32>,
    /// Every sample has this size (PCM, where a sample is one frame).
    pub constant_size: Option<u32>,
    /// Samples so far.
    pub count: u64,
    /// Runs of (sample_count, sample_delta) (stts).
    pub stts: Vec<(u32, u32)>,
    /// 1-based numbers of the sync samples (stss), for video.
    pub sync: Vec<u32>,
    /// Every sample is a sync sample: no stss (audio).
    pub all_sync: bool,
    /// (offset relative to the start of the media data, samples) of each chunk.
    pub chunks: Vec<(u64, u32)>,
    /// Sum of the sample durations, in media ticks.
    pub duration: u64,
    /// Media ticks at the end that are not presented (the padding of the
    /// last Opus packet).
    pub trim_end: u64,
}

impl SampleTables {
    /// `n` samples of `delta` ticks each.
    pub fn add_time(&mut self, mut n: u64, delta: u32) {
        self.duration += n * u64::from(delta);
        while n > 0 {
            match self.stts.last_mut() {
                Some((count, d)) if *d == delta && *count < u32::MAX => {
                    let room = u64::from(u32::MAX - *count);
                    let take = n.min(room);
                    *count += take as u32; // take <= room fits u32
                    n -= take;
                }
                _ => {
                    let take = n.min(u64::from(u32::MAX));
                    self.stts.push((take as u32, delta));
                    n -= take;
                }
            }
        }
    }

    /// Places `samples` samples at `offset`: in a new chunk, or at the end of
    /// the last one when `extend` (the data follows it directly).
    pub fn add_chunk(&mut self, offset: u64, samples: u32, extend: bool) {
        match self.chunks.last_mut() {
            Some((_, n)) if extend && n.checked_add(samples).is_some() => *n += samples,
            _ => self.chunks.push((offset, samples)),
        }
    }
}

/// One track of the movie.
pub(crate) struct TrakInput<'a> {
    pub track: &'a Track,
    pub tables: &'a SampleTables,
}

/// How chunk offsets are stored (§8.7.5): 32-bit `stco` or 64-bit `co64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChunkOffsets {
    Stco,
    Co64,
}

/// Everything the `moov` describes.
pub(crate) struct MoovInput<'a> {
    pub flavor: Flavor,
    pub tracks: &'a [TrakInput<'a>],
    /// Ticks per second of the movie (mvhd, tkhd and edit list durations).
    pub movie_timescale: u32,
    /// A fragmented movie: empty sample tables and an `mvex` box.
    pub fragmented: bool,
}

/// The movie timescale: the first track's media timescale, so that its
/// durations are exact in both.
pub(crate) fn movie_timescale(tracks: &[Track]) -> u32 {
    tracks.first().map_or(1000, Track::timescale)
}

/// A built `moov` and, for fragmented movies, the offsets within it of the
/// 64-bit fields to patch once the length is known: the fragment_duration of
/// `mehd`, and the segment_duration of each track's edit (by track index).
pub(crate) struct BuiltMoov {
    pub bytes: Vec<u8>,
    pub mehd_duration_at: Option<usize>,
    pub edit_duration_at: Vec<(usize, usize)>,
}

/// Builds the `moov` box. Chunk `k` of a track starts at `data_start +
/// chunks[k].0` in the file. The box size depends only on the tables and
/// `offsets`, not on `data_start`.
pub(crate) fn build_moov(
    m: &MoovInput,
    data_start: u64,
    offsets: ChunkOffsets,
) -> Result<BuiltMoov, String> {
    let mut movie_duration = 0u64;
    let mut trak_durations = Vec::with_capacity(m.tracks.len());
    for t in m.tracks {
        let d = rescale_up(
            presented_duration(t),
            t.track.timescale(),
            m.movie_timescale,
        );
        movie_duration = movie_duration.max(d);
        trak_durations.push(d);
    }
    let version = u8::from(u32::try_from(movie_duration).is_err());

    let mut b = BoxBuf::new();
    b.begin(b"moov");

    // §8.2.2 MovieHeaderBox.
    b.begin_full(b"mvhd", version, 0);
    times(&mut b, version, m.movie_timescale, movie_duration);
    b.u32(0x0001_0000); // rate 1.0
    b.u16(0x0100); // volume 1.0
    b.zeros(2 + 8); // reserved
    b.unity_matrix();
    b.zeros(6 * 4); // pre_defined
    b.u32(m.tracks.len() as u32 + 1); // next_track_ID (a handful of tracks)
    b.end();

    let mut edit_duration_at = Vec::new();
    for (i, t) in m.tracks.iter().enumerate() {
        if let Some(at) = write_trak(
            &mut b,
            m,
            t,
            i as u32 + 1,
            trak_durations[i],
            data_start,
            offsets,
        )? {
            edit_duration_at.push((i, at));
        }
    }

    let mut mehd_duration_at = None;
    if m.fragmented {
        // §8.8.1 MovieExtendsBox.
        b.begin(b"mvex");
        // §8.8.2 MovieExtendsHeaderBox, version 1: the whole duration, patched
        // when the last fragment is written (0 until then: unknown).
        b.begin_full(b"mehd", 1, 0);
        mehd_duration_at = Some(b.len());
        b.u64(0);
        b.end();
        for (i, t) in m.tracks.iter().enumerate() {
            // §8.8.3 TrackExtendsBox: defaults for the track's fragments.
            b.begin_full(b"trex", 0, 0);
            b.u32(i as u32 + 1); // track_ID
            b.u32(1); // default_sample_description_index
            b.u32(0); // default_sample_duration
            b.u32(0); // default_sample_size
            b.u32(match t.track {
                Track::Video(_) => NON_SYNC_SAMPLE,
                Track::Audio(_) => SYNC_SAMPLE,
            });
            b.end();
        }
        b.end();
    }

    b.end(); // moov
    let bytes = b
        .into_bytes()
        .ok_or_else(|| "the moov box would exceed 4 GiB".to_string())?;
    Ok(BuiltMoov {
        bytes,
        mehd_duration_at,
        edit_duration_at,
    })
}

/// §8.8.3.1 sample flags of a sync sample: sample_depends_on 2 (depends on
/// no other sample), sample_is_non_sync_sample 0.
pub(crate) const SYNC_SAMPLE: u32 = 0x0200_0000;
/// A non-sync sample: sample_depends_on 1, sample_is_non_sync_sample 1.
pub(crate) const NON_SYNC_SAMPLE: u32 = 0x0101_0000;

/// The edit (§8.6.6 EditListBox) a track needs: Opus drops its pre-skip at
/// the start and the padding of its last packet at the end.
fn edit(t: &TrakInput) -> Option<(u64, u64)> {
    match t.track {
        Track::Audio(a) if a.pre_skip() > 0 || t.tables.trim_end > 0 => {
            Some((a.pre_skip(), presented_duration(t)))
        }
        _ => None,
    }
}

/// Media ticks presented: the samples' duration less pre-skip and end trim.
fn presented_duration(t: &TrakInput) -> u64 {
    let skip = match t.track {
        Track::Audio(a) => a.pre_skip(),
        Track::Video(_) => 0,
    };
    t.tables
        .duration
        .saturating_sub(skip)
        .saturating_sub(t.tables.trim_end)
}

/// Writes a `trak`; returns, for a fragmented movie with an edit, the offset
/// of the edit's 64-bit segment_duration.
#[allow(clippy::too_many_arguments)]
fn write_trak(
    b: &mut BoxBuf,
    m: &MoovInput,
    t: &TrakInput,
    track_id: u32,
    duration: u64,
    data_start: u64,
    offsets: ChunkOffsets,
) -> Result<Option<usize>, String> {
    let media_duration = t.tables.duration;
    let mut edit_at = None;
    let edit = edit(t);
    let version =
        u8::from(u32::try_from(duration).is_err() || u32::try_from(media_duration).is_err());
    let is_audio = !t.track.is_video();
    b.begin(b"trak");
    // §8.3.2 TrackHeaderBox; flags track_enabled | track_in_movie | track_in_preview.
    b.begin_full(b"tkhd", version, 0x000007);
    if version == 1 {
        b.u64(0); // creation_time
        b.u64(0); // modification_time
        b.u32(track_id);
        b.u32(0); // reserved
        b.u64(duration);
    } else {
        b.u32(0);
        b.u32(0);
        b.u32(track_id);
        b.u32(0);
        b.u32(duration as u32); // fits: version 0 only when it fits 32 bits
    }
    b.zeros(8); // reserved
    b.u16(0); // layer
    b.u16(u16::from(is_audio)); // alternate_group: audio tracks are alternatives of each other
    b.u16(if is_audio { 0x0100 } else { 0 }); // volume: 1.0 for audio, 0 for video
    b.u16(0); // reserved
    b.unity_matrix();
    match t.track {
        Track::Video(v) => {
            b.u32(v.width << 16); // width, 16.16 fixed point (<= 65535 is validated)
            b.u32(v.height << 16);
        }
        Track::Audio(_) => {
            b.u32(0);
            b.u32(0);
        }
    }
    b.end();

    if let Some((media_time, presented)) = edit {
        // §8.6.5 EditBox, §8.6.6 EditListBox: one edit that starts the
        // presentation `media_time` ticks into the media. A fragmented movie
        // does not know its length yet: segment_duration 0 covers all of it
        // (64 bits, patched where the output can seek).
        let segment = if m.fragmented {
            0
        } else {
            rescale_up(presented, t.track.timescale(), m.movie_timescale)
        };
        let v = u8::from(
            m.fragmented || u32::try_from(segment).is_err() || u32::try_from(media_time).is_err(),
        );
        b.begin(b"edts");
        b.begin_full(b"elst", v, 0);
        b.u32(1); // entry_count
        if v == 1 {
            if m.fragmented {
                edit_at = Some(b.len());
            }
            b.u64(segment);
            b.u64(media_time);
        } else {
            b.u32(segment as u32);
            b.u32(media_time as u32);
        }
        b.u16(1); // media_rate_integer
        b.u16(0); // media_rate_fraction
        b.end();
        b.end();
    }

    b.begin(b"mdia");
    // §8.4.2 MediaHeaderBox.
    b.begin_full(b"mdhd", version, 0);
    times(b, version, t.track.timescale(), media_duration);
    b.u16(0x55C4); // pad '0', language 'und' as packed ISO-639-2/T
    b.u16(0); // pre_defined
    b.end();

    let (handler, name): (&[u8; 4], &str) = if is_audio {
        (b"soun", "SoundHandler")
    } else {
        (b"vide", "VideoHandler")
    };
    write_hdlr(b, m.flavor, b"mhlr", handler, name);

    b.begin(b"minf");
    if is_audio {
        // §12.2.2 SoundMediaHeaderBox.
        b.begin_full(b"smhd", 0, 0);
        b.u16(0); // balance: centre
        b.u16(0); // reserved
        b.end();
    } else {
        // §12.1.2 VideoMediaHeaderBox, flags 1.
        b.begin_full(b"vmhd", 0, 1);
        b.u16(0); // graphicsmode: copy
        b.zeros(3 * 2); // opcolor
        b.end();
    }
    if m.flavor == Flavor::Mov {
        // QuickTime's data handler reference.
        write_hdlr(b, m.flavor, b"dhlr", b"alis", "DataHandler");
    }

    // §8.7.1 DataInformationBox, §8.7.2 DataReferenceBox with one
    // self-contained entry (flags 1): 'url ' in ISO files, 'alis' in QuickTime.
    b.begin(b"dinf");
    b.begin_full(b"dref", 0, 0);
    b.u32(1);
    let entry = match m.flavor {
        Flavor::Mp4 => b"url ",
        Flavor::Mov => b"alis",
    };
    b.begin_full(entry, 0, 1);
    b.end();
    b.end();
    b.end();

    b.begin(b"stbl");
    write_stsd(b, m.flavor, t.track)?;
    write_tables(b, t, data_start, offsets)?;
    b.end(); // stbl
    b.end(); // minf
    b.end(); // mdia
    b.end(); // trak
    Ok(edit_at)
}

/// §8.4.3 HandlerBox. QuickTime puts its component type in pre_defined and
/// its name as a counted (Pascal) string; ISO files a null-terminated one.
fn write_hdlr(b: &mut BoxBuf, flavor: Flavor, component: &[u8; 4], handler: &[u8; 4], name: &str) {
    b.begin_full(b"hdlr", 0, 0);
    match flavor {
        Flavor::Mp4 => b.u32(0),
        Flavor::Mov => b.bytes(component),
    }
    b.bytes(handler); // handler_type
    b.zeros(3 * 4); // reserved
    match flavor {
        Flavor::Mp4 => {
            b.bytes(name.as_bytes());
            b.u8(0);
        }
        Flavor::Mov => {
            b.u8(name.len() as u8); // short constant names
            b.bytes(name.as_bytes());
        }
    }
    b.end();
}

/// The sample tables (empty in a fragmented movie).
fn write_tables(
    b: &mut BoxBuf,
    t: &TrakInput,
    data_start: u64,
    offsets: ChunkOffsets,
) -> Result<(), String> {
    let tab = t.tables;
    let count = u32::try_from(tab.count).map_err(|_| {
        format!(
            "{} samples in one track (at most {} fit an MP4 track)",
            tab.count,
            u32::MAX
        )
    })?;

    // §8.6.1.2 TimeToSampleBox.
    b.begin_full(b"stts", 0, 0);
    b.u32(tab.stts.len() as u32); // at most one run per sample
    for &(n, delta) in &tab.stts {
        b.u32(n);
        b.u32(delta);
    }
    b.end();

    // §8.6.2 SyncSampleBox: the IDR samples of a video track; absent when
    // every sample is a sync sample.
    if !tab.all_sync {
        b.begin_full(b"stss", 0, 0);
        b.u32(tab.sync.len() as u32); // sync.len() <= count
        for &s in &tab.sync {
            b.u32(s);
        }
        b.end();
    }

    // §8.7.4 SampleToChunkBox: a run for each change of samples per chunk.
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for (k, &(_, n)) in tab.chunks.iter().enumerate() {
        if !matches!(runs.last(), Some(&(_, last)) if last == n) {
            runs.push((k as u32 + 1, n));
        }
    }
    b.begin_full(b"stsc", 0, 0);
    b.u32(runs.len() as u32);
    for (first_chunk, n) in runs {
        b.u32(first_chunk);
        b.u32(n); // samples_per_chunk
        b.u32(1); // sample_description_index
    }
    b.end();

    // §8.7.3.2 SampleSizeBox.
    b.begin_full(b"stsz", 0, 0);
    match tab.constant_size {
        Some(size) => {
            b.u32(size);
            b.u32(count);
        }
        None => {
            b.u32(0); // sample_size: sizes differ
            b.u32(count);
            for &s in &tab.sizes {
                b.u32(s);
            }
        }
    }
    b.end();

    // §8.7.5 ChunkOffsetBox / ChunkLargeOffsetBox.
    let fourcc = match offsets {
        ChunkOffsets::Stco => b"stco",
        ChunkOffsets::Co64 => b"co64",
    };
    b.begin_full(fourcc, 0, 0);
    b.u32(tab.chunks.len() as u32); // at most one chunk per sample
    for &(rel, _) in &tab.chunks {
        let offset = data_start + rel;
        match offsets {
            ChunkOffsets::Stco => {
                let o = u32::try_from(offset)
                    .map_err(|_| format!("chunk offset {offset} does not fit stco"))?;
                b.u32(o);
            }
            ChunkOffsets::Co64 => b.u64(offset),
        }
    }
    b.end();
    Ok(())
}

/// creation_time, modification_time (both 0: output is reproducible), timescale
/// and duration, as in mvhd and mdhd of the given version.
fn times(b: &mut BoxBuf, version: u8, timescale: u32, duration: u64) {
    if version == 1 {
        b.u64(0);
        b.u64(0);
        b.u32(timescale);
        b.u64(duration);
    } else {
        b.u32(0);
        b.u32(0);
        b.u32(timescale);
        b.u32(duration as u32); // fits: version 0 only when duration fits 32 bits
    }
}

/// §8.5.2 SampleDescriptionBox with the track's one sample entry.
fn write_stsd(b: &mut BoxBuf, flavor: Flavor, track: &Track) -> Result<(), String> {
    b.begin_full(b"stsd", 0, 0);
    b.u32(1); // entry_count
    match track {
        Track::Video(v) => write_avc1(b, v)?,
        Track::Audio(a) => write_audio_entry(b, flavor, a)?,
    }
    b.end();
    Ok(())
}

/// 14496-15 §5.3.4.1 AVCSampleEntry, extending §12.1.3 VisualSampleEntry.
fn write_avc1(b: &mut BoxBuf, v: &VideoTrack) -> Result<(), String> {
    b.begin(b"avc1");
    b.zeros(6); // SampleEntry reserved
    b.u16(1); // data_reference_index
    b.u16(0); // pre_defined
    b.u16(0); // reserved
    b.zeros(3 * 4); // pre_defined
    b.u16(v.width as u16); // validated <= 65535
    b.u16(v.height as u16);
    b.u32(0x0048_0000); // horizresolution 72 dpi
    b.u32(0x0048_0000); // vertresolution 72 dpi
    b.u32(0); // reserved
    b.u16(1); // frame_count
    let name = b"framepress";
    let mut compressorname = [0u8; 32]; // Pascal string: length byte, then text
    compressorname[0] = name.len() as u8;
    compressorname[1..=name.len()].copy_from_slice(name);
    b.bytes(&compressorname);
    b.u16(0x0018); // depth: colour without alpha
    b.u16(0xFFFF); // pre_defined = -1
    write_avcc(b, &v.sps, &v.pps)?;
    b.end();
    Ok(())
}

/// §12.2.3 AudioSampleEntry (QuickTime's SoundDescription version 0 has the
/// same layout): 'Opus' with 'dOps' (Encapsulation of Opus in ISO Base Media
/// File Format §4.3), 'fpcm' with 'pcmC' (ISO/IEC 23003-5 §5) in MP4, or
/// QuickTime's big-endian float 'fl32' in MOV.
fn write_audio_entry(b: &mut BoxBuf, flavor: Flavor, a: &AudioTrack) -> Result<(), String> {
    let (fourcc, sample_size, rate) = match (&a.codec, flavor) {
        (AudioCodec::Opus { .. }, _) => (b"Opus", 16, 48_000),
        (AudioCodec::PcmF32, Flavor::Mp4) => (b"fpcm", 32, a.sample_rate),
        (AudioCodec::PcmF32, Flavor::Mov) => (b"fl32", 32, a.sample_rate),
    };
    if rate > 65535 {
        return Err(format!(
            "sample rate {rate} Hz does not fit the 16.16 samplerate of an MP4/MOV audio sample entry (at most 65535; use .mkv)"
        ));
    }
    b.begin(fourcc);
    b.zeros(6); // SampleEntry reserved
    b.u16(1); // data_reference_index
    b.zeros(8); // reserved (QuickTime: version 0, revision, vendor)
    b.u16(a.channels); // channelcount
    b.u16(sample_size); // samplesize
    b.u16(0); // pre_defined (QuickTime: compression ID)
    b.u16(0); // reserved (QuickTime: packet size)
    b.u32(rate << 16); // samplerate, 16.16 (checked above)
    match &a.codec {
        AudioCodec::Opus { pre_skip, mapping } => {
            // OpusSpecificBox: the OpusHead fields, big-endian.
            b.begin(b"dOps");
            b.u8(0); // Version
            b.u8(a.channels as u8); // OutputChannelCount (validated <= 8)
            b.u16(*pre_skip); // PreSkip
            b.u32(a.sample_rate); // InputSampleRate
            b.u16(0); // OutputGain
            b.u8(mapping.family); // ChannelMappingFamily
            if mapping.family != 0 {
                b.u8(mapping.streams);
                b.u8(mapping.coupled);
                b.bytes(&mapping.mapping);
            }
            b.end();
        }
        AudioCodec::PcmF32 if flavor == Flavor::Mp4 => {
            // PCMConfigurationBox: format_flags bit 0 = little-endian.
            b.begin_full(b"pcmC", 0, 0);
            b.u8(1);
            b.u8(32); // PCM_sample_size
            b.end();
        }
        AudioCodec::PcmF32 => {}
    }
    b.end();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_is_exact_and_fine_grained() {
        assert_eq!(media_timing(30000, 1001), (30000, 1001));
        assert_eq!(media_timing(30, 1), (15360, 512));
        assert_eq!(media_timing(25, 1), (12800, 512));
        assert_eq!(media_timing(60000, 2000), (15360, 512));
        assert_eq!(media_timing(24000, 1001), (24000, 1001));
        assert_eq!(media_timing(1, 4_000_000_000), (1, 4_000_000_000));
        assert_eq!(media_timing(u32::MAX, 1), (u32::MAX, 1));
    }

    #[test]
    fn stts_runs_merge_and_split() {
        let mut t = SampleTables::default();
        t.add_time(3, 960);
        t.add_time(1, 960);
        t.add_time(1, 500);
        assert_eq!(t.stts, [(4, 960), (1, 500)]);
        assert_eq!(t.duration, 4 * 960 + 500);
        let mut t = SampleTables::default();
        t.add_time(u64::from(u32::MAX) + 5, 1);
        assert_eq!(t.stts, [(u32::MAX, 1), (5, 1)]);
    }

    #[test]
    fn rescaling_rounds_up() {
        assert_eq!(rescale_up(48_000, 48_000, 15_360), 15_360);
        assert_eq!(rescale_up(1, 48_000, 15_360), 1);
        assert_eq!(rescale_up(0, 48_000, 15_360), 0);
    }
}
