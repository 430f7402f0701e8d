//! The movie box (`moov`, ISO/IEC 14496-12 §8.2.1) for one AVC video track,
//! built from the per-sample tables once every sample is known.

use crate::avcc::write_avcc;
use crate::boxes::BoxBuf;

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

/// Everything the `moov` describes.
pub(crate) struct MoovInput<'a> {
    pub width: u32,
    pub height: u32,
    /// Ticks per second of both the movie and the media (mvhd and mdhd), so that
    /// every duration is exact in both.
    pub timescale: u32,
    /// Duration of each sample, in `timescale` ticks.
    pub sample_delta: u32,
    pub sps: &'a [u8],
    pub pps: &'a [u8],
    /// Size in bytes of each sample, in decoding order.
    pub sizes: &'a [u32],
    /// 1-based numbers of the sync (IDR) samples, ascending.
    pub sync: &'a [u32],
}

/// How chunk offsets are stored (§8.7.5): 32-bit `stco` or 64-bit `co64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChunkOffsets {
    Stco,
    Co64,
}

/// Builds the `moov` box. Each sample is its own chunk; sample `i` starts at
/// `data_start + sizes[..i].sum()` in the file. The box size depends only on
/// the input tables and `offsets`, not on `data_start`.
pub(crate) fn build_moov(
    m: &MoovInput,
    data_start: u64,
    offsets: ChunkOffsets,
) -> Result<Vec<u8>, String> {
    let sample_count = u32::try_from(m.sizes.len()).map_err(|_| {
        format!(
            "{} frames (at most {} fit an MP4 track)",
            m.sizes.len(),
            u32::MAX
        )
    })?;
    let duration = u64::from(sample_count) * u64::from(m.sample_delta);
    // Version 1 boxes carry 64-bit times; use them only where 32 bits do not fit.
    let version = u8::from(u32::try_from(duration).is_err());

    let mut b = BoxBuf::new();
    b.begin(b"moov");

    // §8.2.2 MovieHeaderBox.
    b.begin_full(b"mvhd", version, 0);
    times(&mut b, version, m.timescale, duration);
    b.u32(0x0001_0000); // rate 1.0
    b.u16(0x0100); // volume 1.0
    b.zeros(2 + 8); // reserved
    b.unity_matrix();
    b.zeros(6 * 4); // pre_defined
    b.u32(2); // next_track_ID
    b.end();

    b.begin(b"trak");
    // §8.3.2 TrackHeaderBox; flags track_enabled | track_in_movie | track_in_preview.
    b.begin_full(b"tkhd", version, 0x000007);
    if version == 1 {
        b.u64(0); // creation_time
        b.u64(0); // modification_time
        b.u32(1); // track_ID
        b.u32(0); // reserved
        b.u64(duration);
    } else {
        b.u32(0);
        b.u32(0);
        b.u32(1);
        b.u32(0);
        b.u32(duration as u32); // fits: version 0 only when duration fits 32 bits
    }
    b.zeros(8); // reserved
    b.u16(0); // layer
    b.u16(0); // alternate_group
    b.u16(0); // volume: 0 for video
    b.u16(0); // reserved
    b.unity_matrix();
    b.u32(m.width << 16); // width, 16.16 fixed point (width <= 65535 is validated)
    b.u32(m.height << 16);
    b.end();

    b.begin(b"mdia");
    // §8.4.2 MediaHeaderBox.
    b.begin_full(b"mdhd", version, 0);
    times(&mut b, version, m.timescale, duration);
    b.u16(0x55C4); // pad '0', language 'und' as packed ISO-639-2/T
    b.u16(0); // pre_defined
    b.end();

    // §8.4.3 HandlerBox.
    b.begin_full(b"hdlr", 0, 0);
    b.u32(0); // pre_defined
    b.bytes(b"vide"); // handler_type
    b.zeros(3 * 4); // reserved
    b.bytes(b"VideoHandler\0"); // name, null-terminated UTF-8
    b.end();

    b.begin(b"minf");
    // §12.1.2 VideoMediaHeaderBox, flags 1.
    b.begin_full(b"vmhd", 0, 1);
    b.u16(0); // graphicsmode: copy
    b.zeros(3 * 2); // opcolor
    b.end();

    // §8.7.1 DataInformationBox, §8.7.2 DataReferenceBox with one
    // self-contained ('url ' flags 1) entry.
    b.begin(b"dinf");
    b.begin_full(b"dref", 0, 0);
    b.u32(1);
    b.begin_full(b"url ", 0, 1);
    b.end();
    b.end();
    b.end();

    b.begin(b"stbl");
    write_stsd(&mut b, m)?;

    // §8.6.1.2 TimeToSampleBox: one run, every sample lasts sample_delta.
    b.begin_full(b"stts", 0, 0);
    b.u32(1);
    b.u32(sample_count);
    b.u32(m.sample_delta);
    b.end();

    // §8.6.2 SyncSampleBox: the IDR samples.
    b.begin_full(b"stss", 0, 0);
    b.u32(m.sync.len() as u32); // sync.len() <= sizes.len() <= u32::MAX
    for &s in m.sync {
        b.u32(s);
    }
    b.end();

    // §8.7.4 SampleToChunkBox: every chunk holds one sample of description 1.
    b.begin_full(b"stsc", 0, 0);
    b.u32(1); // entry_count
    b.u32(1); // first_chunk
    b.u32(1); // samples_per_chunk
    b.u32(1); // sample_description_index
    b.end();

    // §8.7.3.2 SampleSizeBox with per-sample sizes.
    b.begin_full(b"stsz", 0, 0);
    b.u32(0); // sample_size: sizes differ
    b.u32(sample_count);
    for &s in m.sizes {
        b.u32(s);
    }
    b.end();

    // §8.7.5 ChunkOffsetBox / ChunkLargeOffsetBox.
    let fourcc = match offsets {
        ChunkOffsets::Stco => b"stco",
        ChunkOffsets::Co64 => b"co64",
    };
    b.begin_full(fourcc, 0, 0);
    b.u32(sample_count);
    let mut offset = data_start;
    for &s in m.sizes {
        match offsets {
            ChunkOffsets::Stco => {
                let o = u32::try_from(offset)
                    .map_err(|_| format!("chunk offset {offset} does not fit stco"))?;
                b.u32(o);
            }
            ChunkOffsets::Co64 => b.u64(offset),
        }
        offset += u64::from(s);
    }
    b.end();

    b.end(); // stbl
    b.end(); // minf
    b.end(); // mdia
    b.end(); // trak
    b.end(); // moov
    b.into_bytes()
        .ok_or_else(|| "the moov box would exceed 4 GiB".to_string())
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

/// §8.5.2 SampleDescriptionBox with one `avc1` entry (14496-15 §5.3.4.1
/// AVCSampleEntry, extending §12.1.3 VisualSampleEntry).
fn write_stsd(b: &mut BoxBuf, m: &MoovInput) -> Result<(), String> {
    b.begin_full(b"stsd", 0, 0);
    b.u32(1); // entry_count
    b.begin(b"avc1");
    b.zeros(6); // SampleEntry reserved
    b.u16(1); // data_reference_index
    b.u16(0); // pre_defined
    b.u16(0); // reserved
    b.zeros(3 * 4); // pre_defined
    b.u16(m.width as u16); // validated <= 65535
    b.u16(m.height as u16);
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
    write_avcc(b, m.sps, m.pps)?;
    b.end(); // avc1
    b.end(); // stsd
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
}
