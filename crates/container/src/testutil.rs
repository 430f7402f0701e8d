//! Test helpers: tracks, failing and sparse streams, temporary directories and
//! a reader of the MP4 box tree (ISO/IEC 14496-12) to check what was written.

use std::collections::BTreeMap;
use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::VideoTrack;

/// A Baseline track with a small but well-formed SPS/PPS.
pub(crate) fn track(width: u32, height: u32, num: u32, den: u32) -> VideoTrack {
    VideoTrack {
        width,
        height,
        frame_rate_num: num,
        frame_rate_den: den,
        sps: vec![0x67, 66, 0xC0, 30, 0xDA, 0x02, 0x80, 0xBF],
        pps: vec![0x68, 0xCE, 0x3C, 0x80],
    }
}

/// The error a full disk gives (ENOSPC).
pub(crate) fn disk_full_error() -> io::Error {
    #[cfg(windows)]
    let code = 112; // ERROR_DISK_FULL
    #[cfg(not(windows))]
    let code = 28; // ENOSPC
    io::Error::from_raw_os_error(code)
}

/// An in-memory stream whose writes fail with ENOSPC past `limit` bytes of file size.
#[derive(Debug)]
pub(crate) struct FailingWriter {
    inner: Cursor<Vec<u8>>,
    limit: u64,
}

impl FailingWriter {
    pub(crate) fn new(limit: u64) -> FailingWriter {
        FailingWriter {
            inner: Cursor::new(Vec::new()),
            limit,
        }
    }
}

impl Write for FailingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = self.limit.saturating_sub(self.inner.position());
        if room == 0 && !buf.is_empty() {
            return Err(disk_full_error());
        }
        let n = buf.len().min(room as usize);
        self.inner.write(&buf[..n])
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for FailingWriter {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl Seek for FailingWriter {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// A stream of any length that stores only the bytes that differ from
/// [`SparseStore::FILL`]: a test can write more than 4 GiB of mostly-FILL
/// samples and read everything back without that much memory or disk.
#[derive(Debug, Default)]
pub(crate) struct SparseStore {
    len: u64,
    pos: u64,
    bytes: BTreeMap<u64, u8>,
}

impl SparseStore {
    pub(crate) const FILL: u8 = 0xA5;

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Reads `n` bytes at `at` (fewer at the end).
    pub(crate) fn read_at(&mut self, at: u64, n: usize) -> Vec<u8> {
        let mut v = vec![0; n];
        self.pos = at;
        let got = self.read(&mut v).unwrap_or(0);
        v.truncate(got);
        v
    }
}

impl Write for SparseStore {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let start = self.pos;
        let end = start + buf.len() as u64;
        let stale: Vec<u64> = self.bytes.range(start..end).map(|(&k, _)| k).collect();
        for k in stale {
            self.bytes.remove(&k);
        }
        let fill8 = u64::from_ne_bytes([Self::FILL; 8]);
        for (c, chunk) in buf.chunks(8).enumerate() {
            if chunk.len() == 8 && u64::from_ne_bytes(chunk.try_into().unwrap()) == fill8 {
                continue;
            }
            for (i, &b) in chunk.iter().enumerate() {
                if b != Self::FILL {
                    self.bytes.insert(start + (c * 8 + i) as u64, b);
                }
            }
        }
        self.pos = end;
        self.len = self.len.max(end);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for SparseStore {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (self.len.saturating_sub(self.pos)).min(buf.len() as u64) as usize;
        let out = &mut buf[..n];
        out.fill(Self::FILL);
        for (&k, &v) in self.bytes.range(self.pos..self.pos + n as u64) {
            out[(k - self.pos) as usize] = v;
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for SparseStore {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.pos = match pos {
            SeekFrom::Start(p) => p,
            SeekFrom::End(d) => self.len.checked_add_signed(d).unwrap(),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d).unwrap(),
        };
        Ok(self.pos)
    }
}

/// A directory under the system temporary directory, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "framepress-container-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    /// Names of the entries in the directory, sorted.
    pub(crate) fn entries(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn be16(d: &[u8], at: usize) -> u16 {
    u16::from_be_bytes(d[at..at + 2].try_into().unwrap())
}

pub(crate) fn be32(d: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(d[at..at + 4].try_into().unwrap())
}

pub(crate) fn be64(d: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(d[at..at + 8].try_into().unwrap())
}

/// One box found by [`walk`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bx<'a> {
    pub kind: [u8; 4],
    /// Offset of the box in the slice that was walked.
    pub start: u64,
    /// Declared size of the whole box.
    pub size: u64,
    /// Header length: 8, or 16 with a largesize.
    pub header: u64,
    /// The payload, cut to the walked slice (it may extend past it).
    pub payload: &'a [u8],
}

impl Bx<'_> {
    pub(crate) fn name(&self) -> String {
        String::from_utf8_lossy(&self.kind).into_owned()
    }
}

/// Walks sibling boxes (§4.2.2): size 1 means a 64-bit largesize follows,
/// size 0 means "to the end". A box may extend past `data` only if it is last.
pub(crate) fn walk(data: &[u8]) -> Vec<Bx<'_>> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < data.len() {
        assert!(at + 8 <= data.len(), "truncated box header at {at}");
        let mut size = u64::from(be32(data, at));
        let kind: [u8; 4] = data[at + 4..at + 8].try_into().unwrap();
        let mut header = 8;
        if size == 1 {
            size = be64(data, at + 8);
            header = 16;
        } else if size == 0 {
            size = (data.len() - at) as u64;
        }
        assert!(size >= header, "box {kind:?} at {at} has size {size}");
        let end = (at as u64 + size).min(data.len() as u64) as usize;
        out.push(Bx {
            kind,
            start: at as u64,
            size,
            header,
            payload: &data[at + header as usize..end],
        });
        if at as u64 + size > data.len() as u64 {
            break;
        }
        at = end;
    }
    out
}

/// Finds the box at `path` (e.g. `["moov", "trak", "mdia", "mdhd"]`) below
/// `data`, stepping over the fixed fields of stsd (§8.5.2) and avc1 (§12.1.3).
pub(crate) fn find<'a>(data: &'a [u8], path: &[&str]) -> Option<Bx<'a>> {
    let (first, rest) = path.split_first()?;
    let b = walk(data).into_iter().find(|b| b.name() == *first)?;
    if rest.is_empty() {
        return Some(b);
    }
    let skip = match *first {
        "stsd" => 8,  // version, flags, entry_count
        "avc1" => 78, // VisualSampleEntry fields
        _ => 0,
    };
    find(&b.payload[skip..], rest)
}

/// What an MP4's moov says about its single video track.
#[derive(Debug)]
pub(crate) struct TrackInfo {
    pub top: Vec<String>,
    pub mvhd_timescale: u32,
    pub mvhd_duration: u64,
    pub tkhd_flags: u32,
    pub tkhd_duration: u64,
    pub tkhd_width: u32,
    pub tkhd_height: u32,
    pub mdhd_timescale: u32,
    pub mdhd_duration: u64,
    pub handler: [u8; 4],
    pub avc1_width: u16,
    pub avc1_height: u16,
    pub avcc: Vec<u8>,
    pub stts: Vec<(u32, u32)>,
    pub stss: Vec<u32>,
    pub stsc: Vec<(u32, u32, u32)>,
    pub stsz: Vec<u32>,
    pub co64: bool,
    pub chunk_offsets: Vec<u64>,
    /// Offset of the mdat payload and its length, from the mdat header.
    pub mdat_payload: (u64, u64),
    pub mdat_header: u64,
}

/// Parses `head`, the start of an MP4 file holding at least ftyp, moov and
/// the mdat header; `file_len` is the length of the whole file.
pub(crate) fn parse_mp4(head: &[u8], file_len: u64) -> TrackInfo {
    let top = walk(head);
    let names: Vec<String> = top.iter().map(Bx::name).collect();
    let mdat = *top.iter().find(|b| b.name() == "mdat").expect("mdat");
    assert_eq!(mdat.start + mdat.size, file_len, "mdat must end the file");
    let moov = top.iter().find(|b| b.name() == "moov").expect("moov");
    let moov_bytes = &head[moov.start as usize..(moov.start + moov.size) as usize];
    let get = |path: &[&str]| find(moov_bytes, path).unwrap_or_else(|| panic!("{path:?}"));
    let stbl = ["moov", "trak", "mdia", "minf", "stbl"];
    let in_stbl = |name: &'static str| {
        let mut p = stbl.to_vec();
        p.push(name);
        find(moov_bytes, &p)
    };

    // (version, timescale, duration) of mvhd / mdhd (§8.2.2, §8.4.2).
    let times = |b: Bx| {
        let p = b.payload;
        if p[0] == 1 {
            (be32(p, 20), be64(p, 24))
        } else {
            (be32(p, 12), u64::from(be32(p, 16)))
        }
    };
    let (mvhd_timescale, mvhd_duration) = times(get(&["moov", "mvhd"]));
    let (mdhd_timescale, mdhd_duration) = times(get(&["moov", "trak", "mdia", "mdhd"]));
    let tkhd = get(&["moov", "trak", "tkhd"]).payload;
    let (tkhd_duration, rest) = if tkhd[0] == 1 {
        (be64(tkhd, 28), 36)
    } else {
        (u64::from(be32(tkhd, 20)), 24)
    };
    // reserved 8, layer 2, alternate_group 2, volume 2, reserved 2, matrix 36.
    let wh = rest + 8 + 8 + 36;
    let hdlr = get(&["moov", "trak", "mdia", "hdlr"]).payload;
    let avc1 = in_stbl("stsd")
        .map(|b| walk(&b.payload[8..])[0])
        .expect("stsd entry");
    assert_eq!(&avc1.kind, b"avc1");
    let avcc = find(moov_bytes, &[&stbl[..], &["stsd", "avc1", "avcC"]].concat()).expect("avcC");

    let table = |name: &'static str, width: usize| -> Vec<Vec<u64>> {
        let Some(b) = in_stbl(name) else {
            return Vec::new();
        };
        let p = b.payload;
        let count = be32(p, 4) as usize;
        let (mut at, fields) = if name == "stsz" {
            assert_eq!(be32(p, 4), 0, "constant sample_size not expected");
            (12, be32(p, 8) as usize)
        } else {
            (8, count)
        };
        let per = if name == "stts" {
            2
        } else if name == "stsc" {
            3
        } else {
            1
        };
        let mut rows = Vec::new();
        for _ in 0..fields {
            let mut row = Vec::new();
            for _ in 0..per {
                row.push(if width == 8 {
                    be64(p, at)
                } else {
                    u64::from(be32(p, at))
                });
                at += width;
            }
            rows.push(row);
        }
        assert_eq!(at, p.len(), "{name} has trailing bytes");
        rows
    };
    let co64 = in_stbl("co64").is_some();
    assert!(
        co64 != in_stbl("stco").is_some(),
        "exactly one of stco/co64"
    );
    TrackInfo {
        top: names,
        mvhd_timescale,
        mvhd_duration,
        tkhd_flags: be32(tkhd, 0) & 0xFF_FFFF,
        tkhd_duration,
        tkhd_width: be32(tkhd, wh),
        tkhd_height: be32(tkhd, wh + 4),
        mdhd_timescale,
        mdhd_duration,
        handler: hdlr[8..12].try_into().unwrap(),
        avc1_width: be16(avc1.payload, 24),
        avc1_height: be16(avc1.payload, 26),
        avcc: avcc.payload.to_vec(),
        stts: table("stts", 4)
            .iter()
            .map(|r| (r[0] as u32, r[1] as u32))
            .collect(),
        stss: table("stss", 4).iter().map(|r| r[0] as u32).collect(),
        stsc: table("stsc", 4)
            .iter()
            .map(|r| (r[0] as u32, r[1] as u32, r[2] as u32))
            .collect(),
        stsz: table("stsz", 4).iter().map(|r| r[0] as u32).collect(),
        co64,
        chunk_offsets: if co64 {
            table("co64", 8).iter().map(|r| r[0]).collect()
        } else {
            table("stco", 4).iter().map(|r| r[0]).collect()
        },
        mdat_payload: (mdat.start + mdat.header, mdat.size - mdat.header),
        mdat_header: mdat.header,
    }
}

/// Splits a sample of 4-byte-length-prefixed NAL units (14496-15 §5.3.2).
pub(crate) fn split_sample(mut s: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !s.is_empty() {
        let n = be32(s, 0) as usize;
        out.push(s[4..4 + n].to_vec());
        s = &s[4 + n..];
    }
    out
}

/// An EBML element header (RFC 8794 §4): its ID (marker bits kept), data
/// size (`None` for unknown), and header length.
pub(crate) fn ebml_header(d: &[u8]) -> (u32, Option<u64>, usize) {
    let id_len = d[0].leading_zeros() as usize + 1;
    let id = d[..id_len]
        .iter()
        .fold(0u32, |a, &b| (a << 8) | u32::from(b));
    let s = &d[id_len..];
    let size_len = s[0].leading_zeros() as usize + 1;
    let mut v = u64::from(s[0]) & ((1u64 << (8 - size_len)) - 1);
    for &b in &s[1..size_len] {
        v = (v << 8) | u64::from(b);
    }
    let unknown = v == (1u64 << (7 * size_len)) - 1;
    (id, (!unknown).then_some(v), id_len + size_len)
}
