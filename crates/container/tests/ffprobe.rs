//! Wraps a real H.264 stream (made by libx264, see tests/data/README.md) in MP4
//! and Annex B through the public API, then lets FFmpeg's ffprobe (and ffmpeg,
//! when present) check the files. Without ffprobe the FFmpeg checks are skipped
//! with a note; set FRAMEPRESS_FFPROBE / FRAMEPRESS_FFMPEG to point at them.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

use container::{create_file, ContainerKind, VideoTrack};

const STREAM: &[u8] = include_bytes!("data/testsrc2_64x48_10f_high.h264");

/// Splits an Annex B byte stream at its start codes (H.264 §B.2), dropping the
/// zero bytes that precede a four-byte start code.
fn split_annexb(data: &[u8]) -> Vec<Vec<u8>> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i..i + 3] == [0, 0, 1] {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut nals = Vec::new();
    for (k, &s) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(data.len(), |&n| n - 3);
        let mut nal = &data[s..end];
        while let [rest @ .., 0] = nal {
            nal = rest;
        }
        nals.push(nal.to_vec());
    }
    nals
}

struct Parsed {
    sps: Vec<u8>,
    pps: Vec<u8>,
    /// Slice NAL units of each access unit, and whether it is an IDR.
    access_units: Vec<(Vec<Vec<u8>>, bool)>,
}

fn parse_fixture() -> Parsed {
    let mut p = Parsed {
        sps: Vec::new(),
        pps: Vec::new(),
        access_units: Vec::new(),
    };
    for nal in split_annexb(STREAM) {
        match nal[0] & 0x1F {
            7 => p.sps = nal,
            8 => p.pps = nal,
            t @ (1 | 5) => {
                // first_mb_in_slice == 0 (ue(v) '1') begins a new picture.
                if nal[1] & 0x80 != 0 {
                    p.access_units.push((Vec::new(), t == 5));
                }
                p.access_units
                    .last_mut()
                    .expect("slice before any picture")
                    .0
                    .push(nal);
            }
            t => panic!("unexpected NAL unit type {t} in the fixture"),
        }
    }
    p
}

fn track(p: &Parsed, num: u32, den: u32) -> VideoTrack {
    VideoTrack {
        width: 64,
        height: 48,
        frame_rate_num: num,
        frame_rate_den: den,
        sps: p.sps.clone(),
        pps: p.pps.clone(),
    }
}

/// A scratch directory under Cargo's per-target temporary directory, removed on drop.
struct OutDir(PathBuf);

impl OutDir {
    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for OutDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn out_dir(tag: &str) -> OutDir {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("container-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    OutDir(d)
}

fn write(path: &Path, kind: ContainerKind, t: &VideoTrack, p: &Parsed) -> u64 {
    let mut m = create_file(path, kind, t).unwrap();
    for (nals, key) in &p.access_units {
        m.write_sample(nals, *key).unwrap();
    }
    let n = m.finish().unwrap();
    assert_eq!(std::fs::metadata(path).unwrap().len(), n);
    n
}

/// A tool named by `var`, else `name` beside `sibling`, else `name` on PATH.
fn find_tool(var: &str, name: &str, sibling: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = env::var_os(var) {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    let beside = sibling.and_then(Path::parent).map(|d| d.join(name));
    let on_path = env::var_os("PATH")
        .map(|paths| {
            env::split_paths(&paths)
                .map(|d| d.join(name))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    beside.into_iter().chain(on_path).find(|p| p.is_file())
}

fn ffprobe() -> Option<PathBuf> {
    let p = find_tool("FRAMEPRESS_FFPROBE", "ffprobe", None);
    if p.is_none() {
        println!(
            "note: ffprobe not found (PATH or FRAMEPRESS_FFPROBE); skipping the FFmpeg checks"
        );
    }
    p
}

fn run(tool: &Path, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}",
        tool.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `key=value` lines of ffprobe's default writer without section wrappers.
fn probe(ffprobe: &Path, file: &Path, entries: &str) -> Vec<(String, String)> {
    let f = file.to_str().unwrap();
    run(
        ffprobe,
        &[
            "-v",
            "error",
            "-count_frames",
            "-show_entries",
            entries,
            "-of",
            "default=noprint_wrappers=1",
            f,
        ],
    )
    .lines()
    .filter_map(|l| l.split_once('='))
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn get<'a>(kv: &'a [(String, String)], key: &str) -> &'a str {
    kv.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("ffprobe gave no {key}: {kv:?}"))
}

#[test]
fn fixture_splits_into_ten_pictures() {
    let p = parse_fixture();
    assert_eq!(p.sps[1], 100, "High profile");
    assert_eq!(p.access_units.len(), 10);
    let keys: Vec<usize> = (0..10).filter(|&i| p.access_units[i].1).collect();
    assert_eq!(keys, [0, 5]);
}

#[test]
fn ffprobe_reads_mp4_at_30fps() {
    let p = parse_fixture();
    let dir = out_dir("mp4-30");
    let path = dir.join("clip.mp4");
    write(&path, ContainerKind::Mp4, &track(&p, 30, 1), &p);
    let Some(ffprobe) = ffprobe() else { return };

    let s = probe(
        &ffprobe,
        &path,
        "stream=codec_name,profile,width,height,r_frame_rate,avg_frame_rate,nb_frames,nb_read_frames,duration:format=format_name,duration",
    );
    assert_eq!(get(&s, "codec_name"), "h264");
    assert_eq!(get(&s, "profile"), "High");
    assert_eq!(get(&s, "width"), "64");
    assert_eq!(get(&s, "height"), "48");
    assert_eq!(get(&s, "r_frame_rate"), "30/1");
    assert_eq!(get(&s, "avg_frame_rate"), "30/1");
    assert_eq!(get(&s, "nb_frames"), "10");
    assert_eq!(get(&s, "nb_read_frames"), "10", "every frame decodes");
    assert!(get(&s, "format_name").contains("mp4"));
    // Stream and format durations: 10 frames at 30 fps.
    let durations: Vec<&str> = s
        .iter()
        .filter(|(k, _)| k == "duration")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(durations, ["0.333333", "0.333333"]);

    let f = path.to_str().unwrap();
    let flags = run(
        &ffprobe,
        &[
            "-v",
            "error",
            "-show_entries",
            "packet=flags",
            "-of",
            "csv=p=0",
            f,
        ],
    );
    let keys: Vec<usize> = flags
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with('K'))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(keys, [0, 5], "stss marks the IDR frames");
}

#[test]
fn ffprobe_reads_mp4_at_ntsc_rate() {
    let p = parse_fixture();
    let dir = out_dir("mp4-ntsc");
    let path = dir.join("clip.m4v");
    write(&path, ContainerKind::Mp4, &track(&p, 30000, 1001), &p);
    let Some(ffprobe) = ffprobe() else { return };

    let s = probe(
        &ffprobe,
        &path,
        "stream=time_base,r_frame_rate,avg_frame_rate,nb_frames,nb_read_frames,duration_ts,duration",
    );
    assert_eq!(get(&s, "time_base"), "1/30000");
    assert_eq!(get(&s, "r_frame_rate"), "30000/1001");
    assert_eq!(get(&s, "avg_frame_rate"), "30000/1001");
    assert_eq!(get(&s, "duration_ts"), "10010");
    assert_eq!(get(&s, "duration"), "0.333667");
    assert_eq!(get(&s, "nb_frames"), "10");
    assert_eq!(get(&s, "nb_read_frames"), "10");
}

#[test]
fn ffprobe_reads_annexb() {
    let p = parse_fixture();
    let dir = out_dir("annexb");
    let path = dir.join("clip.264");
    write(&path, ContainerKind::AnnexB, &track(&p, 30, 1), &p);
    // Parameter sets before each of the two keyframes, then the slices.
    let mut want = Vec::new();
    for (nals, key) in &p.access_units {
        let params = if *key { vec![&p.sps, &p.pps] } else { vec![] };
        for nal in params.into_iter().chain(nals) {
            want.extend_from_slice(&[0, 0, 0, 1]);
            want.extend_from_slice(nal);
        }
    }
    assert_eq!(std::fs::read(&path).unwrap(), want);
    let Some(ffprobe) = ffprobe() else { return };

    let s = probe(
        &ffprobe,
        &path,
        "stream=codec_name,width,height,nb_read_frames",
    );
    assert_eq!(get(&s, "codec_name"), "h264");
    assert_eq!((get(&s, "width"), get(&s, "height")), ("64", "48"));
    assert_eq!(get(&s, "nb_read_frames"), "10");
}

#[test]
fn decoded_pictures_match_the_source_stream() {
    let p = parse_fixture();
    let dir = out_dir("md5");
    let path = dir.join("clip.mp4");
    write(&path, ContainerKind::Mp4, &track(&p, 30, 1), &p);
    let Some(ffprobe) = ffprobe() else { return };
    let Some(ffmpeg) = find_tool("FRAMEPRESS_FFMPEG", "ffmpeg", Some(&ffprobe)) else {
        println!("note: ffmpeg not found (beside ffprobe, PATH or FRAMEPRESS_FFMPEG); skipping the decode comparison");
        return;
    };
    let source = dir.join("source.h264");
    std::fs::write(&source, STREAM).unwrap();
    // The last field of each framemd5 line is the MD5 of one decoded picture.
    let md5s = |f: &Path| -> Vec<String> {
        run(
            &ffmpeg,
            &[
                "-v",
                "error",
                "-i",
                f.to_str().unwrap(),
                "-f",
                "framemd5",
                "-",
            ],
        )
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.rsplit(',').next().unwrap().trim().to_string())
        .collect()
    };
    let from_mp4 = md5s(&path);
    assert_eq!(from_mp4.len(), 10);
    assert_eq!(from_mp4, md5s(&source));
}

/// The fixture's decoded pictures, as framemd5 hashes, or `None` without FFmpeg.
fn md5s_of(file: &Path) -> Option<Vec<String>> {
    let ffprobe = ffprobe()?;
    let ffmpeg = find_tool("FRAMEPRESS_FFMPEG", "ffmpeg", Some(&ffprobe))?;
    Some(
        run(
            &ffmpeg,
            &[
                "-v",
                "error",
                "-i",
                file.to_str().unwrap(),
                "-map",
                "0:v:0",
                "-f",
                "framemd5",
                "-",
            ],
        )
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.rsplit(',').next().unwrap().trim().to_string())
        .collect(),
    )
}

fn source_md5s(dir: &OutDir) -> Option<Vec<String>> {
    let source = dir.join("source.h264");
    std::fs::write(&source, STREAM).unwrap();
    md5s_of(&source)
}

fn mux_to(
    output: container::Output,
    kind: ContainerKind,
    tracks: &[container::Track],
    p: &Parsed,
    options: &container::MuxOptions,
) -> u64 {
    let mut m = container::open(output, kind, tracks, options).unwrap();
    for (nals, key) in &p.access_units {
        m.write_video(0, nals, *key).unwrap();
    }
    m.finish().unwrap()
}

#[test]
fn mov_mkv_and_fragmented_mp4_decode_like_the_source() {
    let p = parse_fixture();
    let dir = out_dir("formats");
    let t = track(&p, 30, 1);
    let mov = dir.join("clip.mov");
    let mkv = dir.join("clip.mkv");
    write(&mov, ContainerKind::Mov, &t, &p);
    write(&mkv, ContainerKind::Mkv, &t, &p);
    // A fragmented MP4 through a stream that cannot seek.
    let frag = dir.join("frag.mp4");
    let file = std::fs::File::create(&frag).unwrap();
    let n = mux_to(
        container::Output::stream(file, &frag),
        ContainerKind::Mp4,
        &[container::Track::Video(t.clone())],
        &p,
        &container::MuxOptions::default(),
    );
    assert_eq!(std::fs::metadata(&frag).unwrap().len(), n);
    let Some(want) = source_md5s(&dir) else {
        return;
    };
    for f in [&mov, &mkv, &frag] {
        assert_eq!(md5s_of(f).unwrap(), want, "{}", f.display());
    }
    let ffprobe = ffprobe().unwrap();
    for (f, format) in [(&mov, "mov"), (&mkv, "matroska"), (&frag, "mp4")] {
        let s = probe(
            &ffprobe,
            f,
            "stream=codec_name,width,height,r_frame_rate,nb_read_frames:format=format_name,duration",
        );
        assert_eq!(get(&s, "codec_name"), "h264", "{f:?}");
        assert_eq!((get(&s, "width"), get(&s, "height")), ("64", "48"));
        assert_eq!(get(&s, "r_frame_rate"), "30/1", "{f:?}");
        assert_eq!(get(&s, "nb_read_frames"), "10", "{f:?}");
        assert!(get(&s, "format_name").contains(format), "{f:?}: {s:?}");
        let d: f64 = get(&s, "duration").parse().unwrap();
        assert!((d - 1.0 / 3.0).abs() < 0.02, "{f:?}: duration {d}");
    }
}
