use std::io::Cursor;

use super::*;
use crate::testutil::{parse_mp4, split_sample, track, FailingWriter, SparseStore, TrackInfo};

/// Access units of a small clip: several NAL units each, sizes all different,
/// keyframes at 0 and 3.
fn clip() -> Vec<(Vec<Vec<u8>>, bool)> {
    (0..6u8)
        .map(|i| {
            let key = i % 3 == 0;
            let header = if key { 0x65 } else { 0x41 };
            let nals = (0..=i % 3)
                .map(|j| {
                    let mut nal = vec![header];
                    nal.extend((0..(10 + 7 * i as usize + j as usize)).map(|k| k as u8 ^ i));
                    nal
                })
                .collect();
            (nals, key)
        })
        .collect()
}

fn mux(t: &VideoTrack, aus: &[(Vec<Vec<u8>>, bool)]) -> (Vec<u8>, u64) {
    let mut m = Mp4Muxer::new(Cursor::new(Vec::new()), t).unwrap();
    for (nals, key) in aus {
        m.write_sample(nals, *key).unwrap();
    }
    let (out, n) = m.finish_into_inner().unwrap();
    (out.into_inner(), n)
}

/// Checks every sample's bytes in the file against the input.
fn check_samples(
    info: &TrackInfo,
    read: &mut dyn FnMut(u64, usize) -> Vec<u8>,
    aus: &[(Vec<Vec<u8>>, bool)],
) {
    assert_eq!(info.stsz.len(), aus.len());
    assert_eq!(info.chunk_offsets.len(), aus.len());
    for (i, (nals, _)) in aus.iter().enumerate() {
        let want: usize = nals.iter().map(|n| n.len() + 4).sum();
        assert_eq!(info.stsz[i] as usize, want, "stsz[{i}]");
        let bytes = read(info.chunk_offsets[i], want);
        assert_eq!(
            &split_sample(&bytes),
            nals,
            "sample {i} at its chunk offset"
        );
    }
}

#[test]
fn mp4_box_tree_tables_and_samples_round_trip() {
    let t = track(64, 48, 30, 1);
    let aus = clip();
    let (file, n) = mux(&t, &aus);
    assert_eq!(n, file.len() as u64);
    let info = parse_mp4(&file, n);

    assert_eq!(info.top, ["ftyp", "moov", "mdat"]);
    assert_eq!(&file[4..8], b"ftyp");
    assert_eq!(&file[8..12], b"isom");
    let compatible: Vec<&[u8]> = file[16..32].chunks(4).collect();
    assert_eq!(compatible, [b"isom", b"iso2", b"avc1", b"mp41"]);

    // 30/1 → 15360 ticks per second, 512 per frame, exact in mvhd, tkhd, mdhd.
    assert_eq!(info.mdhd_timescale, 15360);
    assert_eq!(info.mdhd_duration, 6 * 512);
    assert_eq!(info.mvhd_timescale, 15360);
    assert_eq!(info.mvhd_duration, 6 * 512);
    assert_eq!(info.tkhd_duration, 6 * 512);
    assert_eq!(info.tkhd_flags, 7);
    assert_eq!((info.tkhd_width, info.tkhd_height), (64 << 16, 48 << 16));
    assert_eq!(&info.handler, b"vide");
    assert_eq!((info.avc1_width, info.avc1_height), (64, 48));

    // avcC (14496-15 §5.3.3.1): version 1, profile/compat/level from the SPS,
    // 4-byte lengths, one SPS, one PPS; Baseline has no trailer.
    let mut avcc = vec![1, 66, 0xC0, 30, 0xFF, 0xE1, 0, t.sps.len() as u8];
    avcc.extend_from_slice(&t.sps);
    avcc.extend_from_slice(&[1, 0, t.pps.len() as u8]);
    avcc.extend_from_slice(&t.pps);
    assert_eq!(info.avcc, avcc);

    assert_eq!(info.stts, [(6, 512)]);
    let total: u64 = info
        .stts
        .iter()
        .map(|&(c, d)| u64::from(c) * u64::from(d))
        .sum();
    assert_eq!(total, info.mdhd_duration);
    assert_eq!(info.stss, [1, 4]);
    assert_eq!(info.stsc, [(1, 1, 1)]);
    assert!(!info.co64);
    check_samples(
        &info,
        &mut |at, n| file[at as usize..at as usize + n].to_vec(),
        &aus,
    );

    // The mdat holds exactly the samples, back to back, with an 8-byte header.
    assert_eq!(info.mdat_header, 8);
    let sum: u64 = info.stsz.iter().map(|&s| u64::from(s)).sum();
    assert_eq!(info.mdat_payload, (info.chunk_offsets[0], sum));
}

#[test]
fn mp4_ntsc_rate_is_exact() {
    let t = track(1920, 1080, 30000, 1001);
    let aus = clip();
    let (file, n) = mux(&t, &aus);
    let info = parse_mp4(&file, n);
    assert_eq!(info.mdhd_timescale, 30000);
    assert_eq!(info.mdhd_duration, 6 * 1001);
    assert_eq!(info.mvhd_timescale, 30000);
    assert_eq!(info.mvhd_duration, 6 * 1001);
    assert_eq!(info.tkhd_duration, 6 * 1001);
    assert_eq!(info.stts, [(6, 1001)]);
    assert_eq!((info.avc1_width, info.avc1_height), (1920, 1080));
    check_samples(
        &info,
        &mut |at, n| file[at as usize..at as usize + n].to_vec(),
        &aus,
    );
}

#[test]
fn mp4_long_duration_uses_version_1_boxes() {
    // One frame every 4e9 ticks: two frames overflow 32-bit durations.
    let t = track(16, 16, 1, 4_000_000_000);
    let aus = vec![(vec![vec![0x65, 1]], true), (vec![vec![0x41, 2]], false)];
    let (file, n) = mux(&t, &aus);
    let info = parse_mp4(&file, n);
    assert_eq!(info.mdhd_timescale, 1);
    assert_eq!(info.mdhd_duration, 8_000_000_000);
    assert_eq!(info.mvhd_duration, 8_000_000_000);
    assert_eq!(info.tkhd_duration, 8_000_000_000);
    assert_eq!(info.stts, [(2, 4_000_000_000)]);
    check_samples(
        &info,
        &mut |at, n| file[at as usize..at as usize + n].to_vec(),
        &aus,
    );
}

#[test]
fn mp4_payload_larger_than_the_copy_buffer_moves_intact() {
    // Three 3 MiB samples: the shift at finish takes several 4 MiB steps.
    let t = track(64, 48, 25, 1);
    let aus: Vec<_> = (0..3u32)
        .map(|i| {
            let nal: Vec<u8> = (0..3 << 20)
                .map(|k: u32| (k.wrapping_mul(2654435761) >> (8 + i)) as u8)
                .collect();
            (vec![nal], i == 0)
        })
        .collect();
    let (file, n) = mux(&t, &aus);
    let info = parse_mp4(&file, n);
    assert_eq!(info.top, ["ftyp", "moov", "mdat"]);
    assert_eq!(info.mdhd_timescale, 12800);
    check_samples(
        &info,
        &mut |at, n| file[at as usize..at as usize + n].to_vec(),
        &aus,
    );
}

#[test]
fn mp4_beyond_4_gib_uses_co64_and_largesize() {
    // 257 samples of 16 MiB: the last ones start past u32::MAX. The sparse store
    // keeps only the bytes that differ from FILL, so nothing near 4 GiB is held.
    const NAL_LEN: usize = 16 << 20;
    const COUNT: u32 = 257;
    let t = track(64, 48, 30, 1);
    let mut m = Mp4Muxer::new(SparseStore::default(), &t).unwrap();
    let mut au = vec![vec![SparseStore::FILL; NAL_LEN]];
    for i in 0..COUNT {
        au[0][0] = if i % 100 == 0 { 0x65 } else { 0x41 };
        au[0][1..5].copy_from_slice(&i.to_be_bytes());
        m.write_sample(&au, i % 100 == 0).unwrap();
    }
    let (mut store, n) = m.finish_into_inner().unwrap();
    assert_eq!(n, store.len());
    assert!(n > u64::from(u32::MAX));

    let head = store.read_at(0, 64 << 10);
    let info = parse_mp4(&head, n);
    assert_eq!(info.top, ["ftyp", "moov", "mdat"]);
    assert!(info.co64, "offsets past 4 GiB need co64");
    assert_eq!(info.mdat_header, 16, "an mdat over 4 GiB needs a largesize");
    assert_eq!(info.stss, [1, 101, 201]);
    assert_eq!(info.stts, [(COUNT, 512)]);
    assert!(*info.chunk_offsets.last().unwrap() > u64::from(u32::MAX));
    assert_eq!(
        info.mdat_payload,
        (
            info.chunk_offsets[0],
            u64::from(COUNT) * (NAL_LEN as u64 + 4)
        )
    );
    for i in 0..COUNT {
        let at = info.chunk_offsets[i as usize];
        assert_eq!(info.stsz[i as usize] as usize, NAL_LEN + 4);
        let start = store.read_at(at, 9);
        assert_eq!(
            &start[..4],
            &(NAL_LEN as u32).to_be_bytes(),
            "length of sample {i}"
        );
        assert_eq!(start[4], if i % 100 == 0 { 0x65 } else { 0x41 });
        assert_eq!(
            &start[5..9],
            &i.to_be_bytes(),
            "sample {i} found at its co64 offset"
        );
        let tail = store.read_at(at + NAL_LEN as u64 + 3, 1);
        assert_eq!(
            tail,
            [SparseStore::FILL],
            "sample {i} ends where the next begins"
        );
    }
}

#[test]
fn mp4_small_files_use_stco_and_plain_mdat_header() {
    let (file, n) = mux(&track(64, 48, 30, 1), &clip());
    let info = parse_mp4(&file, n);
    assert!(!info.co64);
    assert_eq!(info.mdat_header, 8);
}

#[test]
fn mp4_disk_full_while_writing_samples() {
    let t = track(64, 48, 30, 1);
    let mut m = Mp4Muxer::with_name(FailingWriter::new(200), &t, "out.mp4").unwrap();
    let big = vec![vec![0x65; 100]];
    m.write_sample(&big, true).unwrap();
    let e = m.write_sample(&big, true).unwrap_err();
    assert!(e.is_disk_full(), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.starts_with("disk full while writing 'out.mp4'"),
        "{msg}"
    );
    assert!(matches!(
        m.write_sample(&big, true),
        Err(Error::Poisoned { .. })
    ));
    let e = m.finish_into_inner().unwrap_err();
    assert!(e.to_string().contains("earlier write failed"), "{e}");
}

#[test]
fn mp4_disk_full_while_finishing() {
    // The samples fit, but moving them behind the moov needs more room.
    let t = track(64, 48, 30, 1);
    let aus = clip();
    let written = 48
        + aus
            .iter()
            .flat_map(|(n, _)| n)
            .map(|n| n.len() as u64 + 4)
            .sum::<u64>();
    let mut m = Mp4Muxer::with_name(FailingWriter::new(written + 100), &t, "out.mp4").unwrap();
    for (nals, key) in &aus {
        m.write_sample(nals, *key).unwrap();
    }
    let e = m.finish_into_inner().unwrap_err();
    assert!(e.is_disk_full(), "{e:?}");
    assert!(
        e.to_string().contains("disk full while writing 'out.mp4'"),
        "{e}"
    );
}

#[test]
fn mp4_failure_at_creation_is_reported() {
    let e = Mp4Muxer::with_name(FailingWriter::new(10), &track(64, 48, 30, 1), "x.mp4")
        .err()
        .unwrap();
    assert!(e.is_disk_full(), "{e:?}");
}

#[test]
fn mp4_empty_clip_is_an_error() {
    let m = Mp4Muxer::new(Cursor::new(Vec::new()), &track(64, 48, 30, 1)).unwrap();
    let e = m.finish_into_inner().unwrap_err();
    assert!(matches!(e, Error::NoFrames { .. }), "{e:?}");
    assert!(e.to_string().contains("no frames were written"), "{e}");
}

#[test]
fn mp4_rejects_bad_access_units_and_stays_usable() {
    let t = track(64, 48, 30, 1);
    let mut m = Mp4Muxer::new(Cursor::new(Vec::new()), &t).unwrap();
    let e = m.write_sample(&[vec![0x41, 1]], false).unwrap_err();
    assert!(e.to_string().contains("access unit #0"), "{e}");
    assert!(e.to_string().contains("not a keyframe"), "{e}");
    assert!(m.write_sample(&[], true).is_err());
    assert!(m.write_sample(&[vec![]], true).is_err());
    m.write_sample(&[vec![0x65, 1]], true).unwrap();
    assert_eq!(m.sample_count(), 1);
    let (out, n) = m.finish_into_inner().unwrap();
    let info = parse_mp4(out.get_ref(), n);
    assert_eq!(info.stsz, [6]);
}

#[test]
fn mp4_rejects_invalid_track() {
    let e = Mp4Muxer::new(Cursor::new(Vec::new()), &track(0, 48, 30, 1))
        .err()
        .unwrap();
    assert!(
        e.to_string().starts_with("invalid video track: width 0"),
        "{e}"
    );
}

#[test]
fn mp4_high_profile_record_carries_the_chroma_trailer() {
    let mut t = track(64, 48, 30, 1);
    // High profile; sps_id 0, chroma_format_idc 1, bit depths 0 and 0: '1 010 1 1' + stop bit.
    t.sps = vec![0x67, 100, 0x00, 30, 0xAE, 0x80];
    let (file, n) = mux(&t, &clip());
    let info = parse_mp4(&file, n);
    assert_eq!(&info.avcc[..4], &[1, 100, 0x00, 30]);
    assert_eq!(&info.avcc[info.avcc.len() - 4..], &[0xFD, 0xF8, 0xF8, 0x00]);
}
