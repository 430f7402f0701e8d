//! The deblocking filter (8.7) refereed by FFmpeg: streams coded with
//! disable_deblocking_filter_idc = 0 must decode, byte for byte, to the
//! reconstruction the encoder kept (DESIGN invariant 1).
//!
//! FFmpeg comes from `FRAMEPRESS_FFMPEG`, else `.tools/ffmpeg` at the
//! workspace root (`scripts/fetch-tools.sh`). Without it the tests print a
//! note and pass, unless `FRAMEPRESS_REQUIRE_TOOLS=1`, when they fail.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use avc::bits::BitWriter;
use avc::deblock::{deblock_picture, DeblockParams, MbDeblockInfo};
use avc::encoder::{EncodedFrame, Encoder, EncoderSettings, IntraEncoder};
use avc::frame::{Plane, YuvFrame};
use avc::macroblock::{code_intra_mb, LumaPred, MbCoding, MbPos};
use avc::nal::{annex_b, nal_unit, NalType};
use avc::params::{pps_nal, sps_nal, write_i_slice_header, ColourSpace, SliceHeader, StreamParams};
use avc::slice::PictureSyntax;

const QPS: [u8; 8] = [10, 20, 26, 30, 36, 40, 45, 51];
const SIZES: [(usize, usize); 4] = [(16, 16), (48, 32), (176, 144), (17, 33)];

// ---------------------------------------------------------------------------
// FFmpeg

fn tools_required() -> bool {
    env::var("FRAMEPRESS_REQUIRE_TOOLS")
        .map(|v| !matches!(v.trim(), "" | "0" | "false" | "no"))
        .unwrap_or(false)
}

/// The FFmpeg binary, or `None` after a note when it is missing and not required.
fn ffmpeg() -> Option<PathBuf> {
    let path = match env::var_os("FRAMEPRESS_FFMPEG").filter(|v| !v.is_empty()) {
        Some(v) => PathBuf::from(v),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tools/ffmpeg"),
    };
    if path.is_file() {
        return Some(path);
    }
    let why = format!(
        "ffmpeg not found at {} (run scripts/fetch-tools.sh or set FRAMEPRESS_FFMPEG)",
        path.display()
    );
    assert!(
        !tools_required(),
        "FRAMEPRESS_REQUIRE_TOOLS is set but {why}"
    );
    eprintln!("skipping: {why}");
    None
}

/// Decodes an Annex B stream to yuv420p bytes, all frames in order.
fn decode(ffmpeg: &Path, stream: &[u8], name: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("deblock_ffmpeg");
    fs::create_dir_all(&dir).expect("scratch directory");
    let file = dir.join(format!("{name}.h264"));
    fs::write(&file, stream).expect("write stream");
    let out = Command::new(ffmpeg)
        .args(["-nostdin", "-v", "error", "-err_detect", "explode", "-i"])
        .arg(&file)
        .args(["-fps_mode", "passthrough", "-f", "rawvideo"])
        .args(["-pix_fmt", "yuv420p", "-"])
        .stdin(Stdio::null())
        .output()
        .expect("run ffmpeg");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "ffmpeg failed on {}: {stderr}",
        file.display()
    );
    out.stdout
}

// ---------------------------------------------------------------------------
// Content

/// xorshift32: deterministic noise.
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }

    fn byte(&mut self) -> u8 {
        (self.next() >> 24) as u8
    }
}

#[derive(Debug, Clone, Copy)]
enum Content {
    /// Smooth waves, a few hard edges and fine texture.
    Natural,
    Noise,
    Gradient,
    /// Rectangles of solid colour whose edges fall off the macroblock grid.
    Blocks,
}

const CONTENTS: [Content; 4] = [
    Content::Natural,
    Content::Noise,
    Content::Gradient,
    Content::Blocks,
];

/// Triangle wave of period `2n` in 0..n.
fn tri(v: i64, n: i64) -> i64 {
    let m = v.rem_euclid(2 * n);
    if m < n {
        m
    } else {
        2 * n - 1 - m
    }
}

/// Sample of a content at (x, y) in a plane (0 luma, 1 Cb, 2 Cr), `t` the picture index.
fn sample(c: Content, plane: usize, x: i64, y: i64, t: i64, rng: &mut Rng) -> u8 {
    let p = plane as i64;
    let v = match c {
        Content::Natural => {
            let x = x + 3 * t; // pans for P pictures
            let smooth = 40 + tri(x + y / 2 + 37 * p, 160) / 2 + tri(2 * y - x / 3, 120) / 3;
            let edge = if (x / 13 + y / 11) % 4 == 0 { 60 } else { 0 };
            let texture = i64::from(rng.byte() % 9) - 4;
            smooth + edge + texture
        }
        Content::Noise => i64::from(rng.byte()),
        Content::Gradient => 16 + (x * 3 + y * 2 + 40 * p + 2 * t) % 220,
        Content::Blocks => {
            let cell = ((x + t) / 11 * 7 + y / 9 * 13 + p * 5) % 17;
            20 + cell * 12
        }
    };
    v.clamp(0, 255) as u8
}

fn fill(f: &mut YuvFrame, seed: u32, mut at: impl FnMut(usize, i64, i64, &mut Rng) -> u8) {
    let mut rng = Rng(seed | 1);
    for (i, p) in [&mut f.y, &mut f.u, &mut f.v].into_iter().enumerate() {
        let w = p.width;
        for (k, v) in p.data.iter_mut().enumerate() {
            *v = at(i, (k % w) as i64, (k / w) as i64, &mut rng);
        }
    }
}

fn content(c: Content, w: usize, h: usize, t: i64) -> YuvFrame {
    let mut f = YuvFrame::new(w, h);
    fill(&mut f, 0x9E37_79B9 ^ t as u32, |p, x, y, rng| {
        sample(c, p, x, y, t, rng)
    });
    f
}

/// Left half noise (I_PCM at low qp), right half smooth.
fn half_noise(w: usize, h: usize) -> YuvFrame {
    let mut f = YuvFrame::new(w, h);
    fill(&mut f, 77, |p, x, y, rng| {
        let half = if p == 0 { w as i64 / 2 } else { w as i64 / 4 };
        if x < half {
            rng.byte()
        } else {
            sample(Content::Gradient, p, x, y, 0, rng)
        }
    });
    f
}

// ---------------------------------------------------------------------------
// Coding and checking

fn params(w: usize, h: usize) -> StreamParams {
    StreamParams {
        width: w as u32,
        height: h as u32,
        fps_num: 30,
        fps_den: 1,
        colour: ColourSpace::Bt709,
        full_range: false,
    }
}

/// A coded stream: Annex B bytes and the reconstructions, concatenated.
struct Coded {
    stream: Vec<u8>,
    recon: Vec<u8>,
    frames: Vec<YuvFrame>,
}

impl Coded {
    fn new() -> Coded {
        Coded {
            stream: Vec::new(),
            recon: Vec::new(),
            frames: Vec::new(),
        }
    }

    fn push(&mut self, sps: &[u8], pps: &[u8], frame: EncodedFrame) {
        let mut nals = vec![sps.to_vec(), pps.to_vec()];
        nals.extend(frame.nals);
        self.stream.extend(annex_b(&nals));
        self.recon.extend(frame.recon.to_i420());
        self.frames.push(frame.recon);
    }
}

/// All-intra stream of `frames` at `qp`, deblocking on or off.
fn intra_stream(w: usize, h: usize, qp: u8, frames: &[YuvFrame], deblock: bool) -> Coded {
    let mut enc = IntraEncoder::new(params(w, h), qp);
    enc.set_deblocking(deblock);
    let mut coded = Coded::new();
    for f in frames {
        let frame = enc.encode(f).expect("encodes");
        coded.push(enc.sps(), enc.pps(), frame);
    }
    coded
}

/// Where decoded and reconstructed pictures first differ, as a readable line.
fn first_difference(decoded: &[u8], coded: &Coded) -> String {
    let mut at = 0;
    for (n, f) in coded.frames.iter().enumerate() {
        for (name, p, mb) in [("Y", &f.y, 16), ("U", &f.u, 8), ("V", &f.v, 8)] {
            let Some(got) = decoded.get(at..at + p.data.len()) else {
                return format!("decoded stream ends in frame {n} plane {name}");
            };
            if let Some(i) = got.iter().zip(&p.data).position(|(a, b)| a != b) {
                let (x, y) = (i % p.width, i / p.width);
                return format!(
                    "frame {n} plane {name} at ({x}, {y}) in macroblock ({}, {}): \
                     decoded {} reconstructed {}",
                    x / mb,
                    y / mb,
                    got[i],
                    p.data[i]
                );
            }
            at += p.data.len();
        }
    }
    format!(
        "decoded {} bytes, reconstructed {}",
        decoded.len(),
        coded.recon.len()
    )
}

fn assert_decodes_to_recon(ffmpeg: &Path, coded: &Coded, name: &str) {
    let decoded = decode(ffmpeg, &coded.stream, name);
    assert!(
        decoded == coded.recon,
        "{name}: FFmpeg's decode differs from the reconstruction: {}",
        first_difference(&decoded, coded)
    );
}

fn planes(f: &YuvFrame) -> [&Plane; 3] {
    [&f.y, &f.u, &f.v]
}

// ---------------------------------------------------------------------------
// Tests

/// Every qp × size × content, intra pictures: FFmpeg's output equals the
/// deblocked reconstruction, and deblocking changed the picture often.
#[test]
fn intra_pictures_decode_to_the_deblocked_reconstruction() {
    let Some(ffmpeg) = ffmpeg() else { return };
    let mut changed = 0;
    let mut report = String::new();
    for (w, h) in SIZES {
        let frames: Vec<YuvFrame> = CONTENTS.iter().map(|&c| content(c, w, h, 0)).collect();
        for qp in QPS {
            let coded = intra_stream(w, h, qp, &frames, true);
            assert_decodes_to_recon(&ffmpeg, &coded, &format!("intra_{w}x{h}_qp{qp}"));
            let plain = intra_stream(w, h, qp, &frames, false);
            for (c, (a, b)) in CONTENTS.iter().zip(coded.frames.iter().zip(&plain.frames)) {
                if planes(a) != planes(b) {
                    changed += 1;
                } else if qp >= 30 && w > 16 {
                    let _ = write!(report, " {c:?}@{w}x{h}/qp{qp}");
                }
            }
        }
    }
    // At qp ≥ 30 and more than one macroblock every content has filtered edges.
    assert!(report.is_empty(), "deblocking changed nothing in:{report}");
    assert!(changed >= 60, "deblocking changed only {changed} pictures");
}

/// I_PCM macroblocks (QPY 0 for the filter, 7.4.5, 8.7.2.2) beside coded
/// ones: noise at qp 0 and 1, and half noise, half smooth at qp 1 and 30.
#[test]
fn pcm_macroblocks_decode_to_the_deblocked_reconstruction() {
    let Some(ffmpeg) = ffmpeg() else { return };
    for (w, h) in [(48, 32), (176, 144), (17, 33)] {
        let noise = content(Content::Noise, w, h, 5);
        let mixed = half_noise(w, h);
        for (qp, frames) in [
            (0, vec![noise.clone(), mixed.clone()]),
            (1, vec![noise.clone(), mixed.clone()]),
            (30, vec![mixed.clone(), noise.clone()]),
            (51, vec![mixed.clone()]),
        ] {
            let coded = intra_stream(w, h, qp, &frames, true);
            assert_decodes_to_recon(&ffmpeg, &coded, &format!("pcm_{w}x{h}_qp{qp}"));
        }
    }
}

/// P pictures (bS 0, 1, 2 from motion and coefficients, 8.7.2.1) with
/// deblocking on: moving content in closed GOPs.
#[test]
fn p_pictures_decode_to_the_deblocked_reconstruction() {
    let Some(ffmpeg) = ffmpeg() else { return };
    for (w, h) in [(48, 32), (176, 144), (17, 33)] {
        for qp in [20u8, 26, 30, 36, 45] {
            for c in [Content::Natural, Content::Blocks, Content::Gradient] {
                let settings = EncoderSettings {
                    gop: 4,
                    deblock: true,
                    ..EncoderSettings::default()
                };
                let mut enc = Encoder::new(params(w, h), settings);
                let mut coded = Coded::new();
                for t in 0..6 {
                    let frame = enc.encode(&content(c, w, h, t), qp).expect("encodes");
                    coded.push(enc.sps(), enc.pps(), frame);
                }
                assert_decodes_to_recon(&ffmpeg, &coded, &format!("p_{c:?}_{w}x{h}_qp{qp}"));
            }
        }
    }
}

/// Turns a coded macroblock into I_PCM carrying the source samples, and puts
/// them in the reconstruction.
fn make_pcm(mb: &mut MbCoding, src: &YuvFrame, recon: &mut YuvFrame, pos: MbPos) {
    let mut samples = Box::new([0u8; 384]);
    let blocks = [
        (&src.y, &mut recon.y, 16, 0),
        (&src.u, &mut recon.u, 8, 256),
    ];
    for (s, r, n, at) in blocks.into_iter().chain([(&src.v, &mut recon.v, 8, 320)]) {
        for y in 0..n {
            let from = (pos.mb_y * n + y) * s.width + pos.mb_x * n;
            samples[at + y * n..at + (y + 1) * n].copy_from_slice(&s.data[from..from + n]);
            r.data[from..from + n].copy_from_slice(&s.data[from..from + n]);
        }
    }
    mb.luma = LumaPred::Pcm;
    mb.pcm = Some(samples);
    mb.cbp_luma = 0;
    mb.cbp_chroma = 0;
}

/// One IDR picture at `qp` (width and height multiples of 16) in which the
/// macroblocks `pcm(mb_x, mb_y)` are I_PCM, coded by hand around the
/// encoder's macroblock coder, deblocked with I_PCM at QPY 0.
fn picture_with_pcm(src: &YuvFrame, qp: i32, pcm: impl Fn(usize, usize) -> bool) -> Coded {
    let (wm, hm) = (src.width() / 16, src.height() / 16);
    let mut recon = YuvFrame::new(src.width(), src.height());
    let mut mbs = Vec::new();
    for mb_y in 0..hm {
        for mb_x in 0..wm {
            let pos = MbPos {
                mb_x,
                mb_y,
                width_mbs: wm,
            };
            let mut mb = code_intra_mb(src, &mut recon, pos, qp);
            if pcm(mb_x, mb_y) {
                make_pcm(&mut mb, src, &mut recon, pos);
            }
            mbs.push(mb);
        }
    }
    let header = SliceHeader {
        idr: true,
        idr_pic_id: 0,
        frame_num: 0,
        qp,
        disable_deblocking: 0,
    };
    let mut w = BitWriter::new();
    write_i_slice_header(&mut w, &header);
    PictureSyntax::new(&mbs, wm)
        .write_i_slice_data(&mut w)
        .expect("slice data");
    w.put_trailing_bits();
    let slice = nal_unit(3, NalType::IdrSlice, &w.into_bytes());
    let infos: Vec<MbDeblockInfo> = mbs
        .iter()
        .map(|mb| MbDeblockInfo {
            intra: true,
            qp: if mb.pcm.is_some() { 0 } else { qp },
            ref_idx: [-1; 4],
            ..MbDeblockInfo::default()
        })
        .collect();
    deblock_picture(&mut recon, &infos, wm, DeblockParams::default());
    let p = params(src.width(), src.height());
    let mut coded = Coded::new();
    let frame = EncodedFrame {
        nals: vec![slice],
        idr: true,
        recon,
    };
    coded.push(&sps_nal(&p), &pps_nal(), frame);
    coded
}

/// I_PCM beside coded macroblocks at qp 30 to 51, where qPav = (0 + QPY + 1)
/// >> 1 (8.7.2.2) decides whether and how their edges are filtered.
#[test]
fn pcm_qp_zero_is_averaged_at_high_qp() {
    let Some(ffmpeg) = ffmpeg() else { return };
    for (w, h) in [(48, 32), (176, 144)] {
        let smooth = content(Content::Gradient, w, h, 0);
        let natural = content(Content::Natural, w, h, 0);
        for qp in [30, 33, 36, 40, 45, 51] {
            for (name, src) in [("gradient", &smooth), ("natural", &natural)] {
                let chequer = picture_with_pcm(src, qp, |x, y| (x + y) % 2 == 0);
                assert_decodes_to_recon(
                    &ffmpeg,
                    &chequer,
                    &format!("pcm_chequer_{name}_{w}x{h}_qp{qp}"),
                );
                let left = picture_with_pcm(src, qp, |x, _| x == 0);
                assert_decodes_to_recon(&ffmpeg, &left, &format!("pcm_left_{name}_{w}x{h}_qp{qp}"));
            }
        }
    }
}
