//! GOPs of IDR and P pictures: the CUDA encoder's bytes and reconstruction
//! equal those of `avc::encoder::Encoder`, over GOP length × qp × content ×
//! size × preset × deblocking.
//!
//! The CPU side can be computed ahead, on a machine without a GPU: run the
//! ignored test `write_cpu_digests` with `FRAMEPRESS_GOP_EXPECT=<file>`; the
//! GPU test then reads the digests from that file instead of encoding on the
//! CPU (and encodes on the CPU only the cases it does not find there).
//! `FRAMEPRESS_GOP_FILTER=<text>` keeps the cases whose name contains it;
//! `FRAMEPRESS_GOP_DUMP=<dir>` writes the GPU's output of the first
//! mismatching cases there, to study them on the CPU.

mod common;

use std::collections::HashMap;

use avc::encoder::{EncodedFrame, Encoder, EncoderSettings};
use avc::frame::YuvFrame;
use avc::me::MeParams;
use common::{gpu_present, panned, params, picture, Content};
use framepress_cuda::CudaEncoder;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Preset {
    Ultrafast,
    Medium,
}

/// The core settings of a preset, as framepress's `core_settings`.
fn settings(preset: Preset, gop: u32, deblock: bool) -> EncoderSettings {
    let (max_steps, subpel_rounds, partitions, intra4x4) = match preset {
        Preset::Ultrafast => (4, 0, false, false),
        Preset::Medium => (32, 3, true, true),
    };
    EncoderSettings {
        gop,
        deblock,
        me: MeParams {
            max_steps,
            subpel_rounds,
            partitions,
            early_skip: subpel_rounds == 0,
        },
        lossless: false,
        intra4x4,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clip {
    Random,
    Panned,
    Solid,
    Gradient,
    SceneCut,
}

const CLIPS: [Clip; 5] = [
    Clip::Random,
    Clip::Panned,
    Clip::Solid,
    Clip::Gradient,
    Clip::SceneCut,
];

/// A gradient moving right by 2 samples per frame.
fn moving_gradient(w: usize, h: usize, t: usize) -> YuvFrame {
    let mut f = YuvFrame::new(w, h);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    for (plane, pw, ph, c) in [
        (&mut f.y, w, h, 0usize),
        (&mut f.u, cw, ch, 1),
        (&mut f.v, cw, ch, 2),
    ] {
        for y in 0..ph {
            for x in 0..pw {
                plane.data[y * pw + x] = ((x * 3 + y * 2 + 2 * t + c * 40) % 256) as u8;
            }
        }
    }
    f
}

fn clip_frames(clip: Clip, w: usize, h: usize, n: usize) -> Vec<YuvFrame> {
    (0..n)
        .map(|t| match clip {
            Clip::Random => picture(Content::Random, w, h, 1 + t as u64),
            Clip::Panned => panned(w, h, t, 3),
            Clip::Solid => picture(Content::Solid, w, h, 1),
            Clip::Gradient => moving_gradient(w, h, t),
            Clip::SceneCut if t < n / 2 => panned(w, h, t, 5),
            Clip::SceneCut => picture(Content::Natural, w, h, 40 + t as u64),
        })
        .collect()
}

#[derive(Debug, Clone, Copy)]
struct Case {
    w: usize,
    h: usize,
    gop: u32,
    qp: u8,
    clip: Clip,
    preset: Preset,
    deblock: bool,
    frames: usize,
}

impl Case {
    fn name(&self) -> String {
        format!(
            "{}x{} gop {} qp {} {:?} {:?} deblock {}",
            self.w, self.h, self.gop, self.qp, self.clip, self.preset, self.deblock
        )
    }

    /// The qp of IDR and of P pictures: qp 26 is coded crf-style (IDR 3 lower).
    fn qps(&self) -> (u8, u8) {
        if self.qp == 26 {
            (23, 26)
        } else {
            (self.qp, self.qp)
        }
    }
}

/// The matrix: every combination on the small sizes; fewer frames, qps and
/// clips on the large ones.
fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let sizes = [(16, 16), (17, 33), (176, 144), (640, 360), (1920, 1080)];
    for (w, h) in sizes {
        let big = w * h >= 640 * 360;
        let huge = w * h >= 1920 * 1080;
        for gop in [1u32, 4, 30] {
            let frames = match gop {
                1 => 2,
                4 => 6,
                _ if huge => 8,
                _ if big => 12,
                _ => 32,
            };
            for qp in [0u8, 10, 26, 40, 51] {
                if huge && !matches!(qp, 10 | 26 | 51) {
                    continue;
                }
                for clip in CLIPS {
                    if huge && gop == 1 && clip != Clip::Panned {
                        continue;
                    }
                    for preset in [Preset::Ultrafast, Preset::Medium] {
                        for deblock in [false, true] {
                            if huge && deblock != (qp != 10) {
                                continue;
                            }
                            out.push(Case {
                                w,
                                h,
                                gop,
                                qp,
                                clip,
                                preset,
                                deblock,
                                frames,
                            });
                        }
                    }
                }
            }
        }
    }
    out
}

fn fnv(h: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *h ^= u64::from(b);
        *h = h.wrapping_mul(0x0100_0000_01b3);
    }
}

/// Digest of each frame: (slice NAL units, reconstruction, IDR flag).
fn digests(frames: &[EncodedFrame]) -> Vec<(u64, u64, bool)> {
    frames
        .iter()
        .map(|f| {
            let mut n = 0xcbf2_9ce4_8422_2325u64;
            for nal in &f.nals {
                fnv(&mut n, &(nal.len() as u64).to_le_bytes());
                fnv(&mut n, nal);
            }
            let mut r = 0xcbf2_9ce4_8422_2325u64;
            for p in [&f.recon.y, &f.recon.u, &f.recon.v] {
                fnv(&mut r, &(p.width as u64).to_le_bytes());
                fnv(&mut r, &p.data);
            }
            (n, r, f.idr)
        })
        .collect()
}

fn cpu_encode(case: &Case, frames: &[YuvFrame]) -> Vec<EncodedFrame> {
    let mut enc = Encoder::new(
        params(case.w as u32, case.h as u32),
        settings(case.preset, case.gop, case.deblock),
    );
    let (qi, qp) = case.qps();
    frames
        .iter()
        .map(|f| {
            let q = if enc.next_is_idr() { qi } else { qp };
            enc.encode(f, q).expect("cpu encode")
        })
        .collect()
}

type Digests = Vec<(u64, u64, bool)>;

fn format_digests(d: &Digests) -> String {
    d.iter()
        .map(|(n, r, i)| format!("{n:016x}:{r:016x}:{}", u8::from(*i)))
        .collect::<Vec<_>>()
        .join(",")
}

fn parse_digests(s: &str) -> Option<Digests> {
    s.split(',')
        .map(|f| {
            let mut it = f.split(':');
            let n = u64::from_str_radix(it.next()?, 16).ok()?;
            let r = u64::from_str_radix(it.next()?, 16).ok()?;
            let i = it.next()? == "1";
            Some((n, r, i))
        })
        .collect()
}

fn load_expected() -> HashMap<String, Digests> {
    let Ok(path) = std::env::var("FRAMEPRESS_GOP_EXPECT") else {
        return HashMap::new();
    };
    let Ok(text) = std::fs::read_to_string(&path) else {
        return HashMap::new();
    };
    text.lines()
        .filter_map(|l| {
            let (name, d) = l.split_once('\t')?;
            Some((name.to_string(), parse_digests(d)?))
        })
        .collect()
}

fn filtered(all: Vec<Case>) -> Vec<Case> {
    match std::env::var("FRAMEPRESS_GOP_FILTER") {
        Ok(f) if !f.is_empty() => all
            .into_iter()
            .filter(|c| f.split('|').any(|part| c.name().contains(part)))
            .collect(),
        _ => all,
    }
}

/// CPU digests of every case, ahead of a GPU run (no GPU needed).
#[test]
#[ignore]
fn write_cpu_digests() {
    let path = std::env::var("FRAMEPRESS_GOP_EXPECT").expect("FRAMEPRESS_GOP_EXPECT=<file>");
    let have = load_expected();
    let todo: Vec<Case> = filtered(cases())
        .into_iter()
        .filter(|c| !have.contains_key(&c.name()))
        .collect();
    let lines: Vec<String> = std::thread::scope(|s| {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let chunks: Vec<Vec<Case>> = (0..threads)
            .map(|t| todo.iter().skip(t).step_by(threads).copied().collect())
            .collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|c| {
                            let frames = clip_frames(c.clip, c.w, c.h, c.frames);
                            let d = digests(&cpu_encode(c, &frames));
                            format!("{}\t{}", c.name(), format_digests(&d))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("thread"))
            .collect()
    });
    let mut text = std::fs::read_to_string(&path).unwrap_or_default();
    for l in &lines {
        text.push_str(l);
        text.push('\n');
    }
    std::fs::write(&path, text).expect("write digests");
    eprintln!("{} cases written to {path}", lines.len());
}

/// Where two frames first differ, for the report.
fn explain(cpu: Option<&EncodedFrame>, gpu: &EncodedFrame) -> String {
    let Some(cpu) = cpu else {
        return String::new();
    };
    let (a, b) = (&cpu.nals[0], &gpu.nals[0]);
    let at = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let mut s = format!(
        " (bytes {} vs {}, first difference at {at}",
        a.len(),
        b.len()
    );
    for (name, p, q) in [
        ("Y", &cpu.recon.y, &gpu.recon.y),
        ("U", &cpu.recon.u, &gpu.recon.u),
        ("V", &cpu.recon.v, &gpu.recon.v),
    ] {
        if let Some(i) = p.data.iter().zip(&q.data).position(|(x, y)| x != y) {
            let (x, y) = (i % p.width, i / p.width);
            let n = if name == "Y" { 16 } else { 8 };
            s.push_str(&format!(
                "; recon {name} ({x}, {y}) in macroblock ({}, {}): {} vs {}",
                x / n,
                y / n,
                p.data[i],
                q.data[i]
            ));
            break;
        }
    }
    s.push(')');
    s
}

fn dump(dir: &str, case: &Case, gpu: &[EncodedFrame]) {
    let name: String = case
        .name()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let mut bytes = Vec::new();
    for f in gpu {
        bytes.extend_from_slice(&(f.nals[0].len() as u32).to_le_bytes());
        bytes.extend_from_slice(&f.nals[0]);
        for p in [&f.recon.y, &f.recon.u, &f.recon.v] {
            bytes.extend_from_slice(&p.data);
        }
    }
    let _ = std::fs::create_dir_all(dir);
    let _ = std::fs::write(format!("{dir}/{name}.bin"), bytes);
}

#[test]
fn gop_matrix_matches_cpu() {
    if !gpu_present("gop_matrix_matches_cpu") {
        return;
    }
    let expected = load_expected();
    let dump_dir = std::env::var("FRAMEPRESS_GOP_DUMP").ok();
    let all = filtered(cases());
    let mut bad = Vec::new();
    let mut dumped = 0;
    let mut encoders: HashMap<(usize, usize, u32, bool, bool), CudaEncoder> = HashMap::new();
    let t = std::time::Instant::now();
    for case in &all {
        let key = (
            case.w,
            case.h,
            case.gop,
            case.preset == Preset::Medium,
            case.deblock,
        );
        let enc = encoders.entry(key).or_insert_with(|| {
            CudaEncoder::new(
                0,
                params(case.w as u32, case.h as u32),
                settings(case.preset, case.gop, case.deblock),
            )
            .expect("encoder")
        });
        enc.reset_stream().expect("reset");
        let frames = clip_frames(case.clip, case.w, case.h, case.frames);
        let (qi, qp) = case.qps();
        let qps: Vec<u8> = enc
            .picture_types(frames.len())
            .into_iter()
            .map(|idr| if idr { qi } else { qp })
            .collect();
        let gpu = match enc.encode_batch(&frames, &qps) {
            Ok(g) => g,
            Err(e) => {
                bad.push(format!("{}: GPU error {e}", case.name()));
                continue;
            }
        };
        let got = digests(&gpu);
        let (want, cpu) = match expected.get(&case.name()) {
            Some(d) => (d.clone(), None),
            None => {
                let c = cpu_encode(case, &frames);
                (digests(&c), Some(c))
            }
        };
        if got != want {
            let i = got.iter().zip(&want).position(|(a, b)| a != b).unwrap_or(0);
            let part = if got.get(i).map(|g| g.0) != want.get(i).map(|w| w.0) {
                "bytes"
            } else {
                "reconstruction"
            };
            bad.push(format!(
                "{}: frame {i} ({}) {part} differ{}",
                case.name(),
                if want.get(i).is_some_and(|w| w.2) {
                    "IDR"
                } else {
                    "P"
                },
                gpu.get(i).map_or(String::new(), |g| explain(
                    cpu.as_ref().and_then(|c| c.get(i)),
                    g
                ))
            ));
            if let Some(dir) = &dump_dir {
                if dumped < 6 {
                    dump(dir, case, &gpu);
                    dumped += 1;
                }
            }
        }
    }
    eprintln!(
        "GOP MATRIX: {} of {} cases byte-identical (bytes and reconstruction of every picture) in {:.1} s",
        all.len() - bad.len(),
        all.len(),
        t.elapsed().as_secs_f64()
    );
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// Independent GOPs coded side by side equal the CPU's stream of their
/// concatenation.
#[test]
fn gops_side_by_side_match_cpu() {
    if !gpu_present("gops_side_by_side_match_cpu") {
        return;
    }
    for (w, h, preset) in [
        (176usize, 144usize, Preset::Medium),
        (64, 48, Preset::Ultrafast),
    ] {
        let gop = 5u32;
        let frames = clip_frames(Clip::Panned, w, h, 13);
        let case = Case {
            w,
            h,
            gop,
            qp: 26,
            clip: Clip::Panned,
            preset,
            deblock: true,
            frames: 13,
        };
        let want = cpu_encode(&case, &frames);
        let mut enc = CudaEncoder::new(0, params(w as u32, h as u32), settings(preset, gop, true))
            .expect("encoder");
        let gops: Vec<&[YuvFrame]> = frames.chunks(gop as usize).collect();
        let (qi, qp) = case.qps();
        let got: Vec<EncodedFrame> = enc
            .encode_gops(&gops, qi, qp)
            .expect("encode_gops")
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(got.len(), want.len());
        for (i, (g, c)) in got.iter().zip(&want).enumerate() {
            assert!(
                g.nals == c.nals,
                "{w}x{h} {preset:?}: frame {i} bytes differ{}",
                explain(Some(c), g)
            );
            assert!(
                g.recon == c.recon,
                "{w}x{h} {preset:?}: frame {i} reconstruction differs"
            );
        }
        // Streaming after side-by-side GOPs starts a new GOP.
        let more = enc.encode_batch(&frames[..2], &[qi, qp]).expect("more");
        assert!(more[0].idr && !more[1].idr);
    }
}

/// The streaming interface gives the same pictures as one batch.
#[test]
fn streaming_equals_batch() {
    if !gpu_present("streaming_equals_batch") {
        return;
    }
    let (w, h) = (96usize, 64usize);
    let frames = clip_frames(Clip::SceneCut, w, h, 10);
    let case = Case {
        w,
        h,
        gop: 4,
        qp: 30,
        clip: Clip::SceneCut,
        preset: Preset::Medium,
        deblock: true,
        frames: 10,
    };
    let want = cpu_encode(&case, &frames);
    let mut enc = CudaEncoder::new(
        0,
        params(w as u32, h as u32),
        settings(Preset::Medium, 4, true),
    )
    .expect("encoder");
    let mut got = Vec::new();
    for f in &frames {
        got.extend(enc.send_frame(f, 30).expect("send"));
    }
    got.extend(enc.flush().expect("flush"));
    assert_eq!(got.len(), want.len());
    for (i, (g, c)) in got.iter().zip(&want).enumerate() {
        assert!(
            g.nals == c.nals && g.recon == c.recon,
            "frame {i} differs{}",
            explain(Some(c), g)
        );
    }
}

/// Lossless coding (transform bypass): the CPU's bytes and reconstruction,
/// for every clip, intra-only and with P pictures.
#[test]
fn lossless_matches_cpu() {
    if !gpu_present("lossless_matches_cpu") {
        return;
    }
    let mut cases = 0;
    for (w, h) in [(16usize, 16usize), (17, 33), (176, 144)] {
        for clip in [
            Clip::Random,
            Clip::Panned,
            Clip::Solid,
            Clip::Gradient,
            Clip::SceneCut,
        ] {
            for (gop, preset) in [
                (1, Preset::Medium),
                (4, Preset::Ultrafast),
                (30, Preset::Medium),
            ] {
                let frames = clip_frames(clip, w, h, 6);
                let mut s = settings(preset, gop, true);
                s.lossless = true;
                let mut cpu = Encoder::new(params(w as u32, h as u32), s);
                let mut gpu = CudaEncoder::new(0, params(w as u32, h as u32), s).expect("encoder");
                for (i, f) in frames.iter().enumerate() {
                    let c = cpu.encode(f, 0).expect("cpu encode");
                    let g = gpu.encode(f, 0).expect("gpu encode");
                    assert!(
                        g.nals == c.nals && g.recon == c.recon,
                        "{w}x{h} {clip:?} gop {gop} {preset:?}: frame {i} differs{}",
                        explain(Some(&c), &g)
                    );
                }
                cases += 1;
            }
        }
    }
    eprintln!("{cases} lossless streams: CUDA == CPU");
}
