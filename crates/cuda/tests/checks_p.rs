//! checkasm-style harness for the P-picture stages: reference planes and
//! motion compensation (all fractions, picture-edge clamping), SAD / SATD
//! search costs, the motion search of every macroblock, inter macroblock
//! coding, and mv prediction / P_Skip / P-slice CAVLC — each kernel against
//! the CPU function it mirrors.

mod common;

use std::sync::Arc;

use avc::analyse::{intra_estimate, intra_estimate_below, lambda};
use avc::bits::{se_len, BitSink, BitWriter};
use avc::encoder::pad_frame;
use avc::frame::YuvFrame;
use avc::macroblock::{luma_block_at, LumaPred, MbCoding, MbLevels, MbPos};
use avc::mc::{mv_limits, RefPicture};
use avc::me::{search_mb, MbMotion, MeParams};
use avc::picture::{decide_p_mb, IntraMode, PContext};
use avc::skip::MbVectors;
use avc::slice::PictureSyntax;
use avc::syntax::Partition;
use avc::transform::satd_u8;
use common::{gpu_present, panned, picture, Content, Rng};
use cudarc::driver::{CudaFunction, CudaStream, LaunchConfig, PushKernelArg};
use framepress_cuda::buffer::DeviceBuffer;
use framepress_cuda::kernels::{function, load, Program};
use framepress_cuda::runtime::open_device;

const MARGIN: usize = 48;
const MB_RECORD: usize = 880;
const MOTION_RECORD: usize = 28;
const MB_WORDS: usize = 104;
const KIND_PENDING: u8 = 4;

struct Gpu {
    ctx: Arc<cudarc::driver::CudaContext>,
    stream: Arc<CudaStream>,
    ref_planes: CudaFunction,
    check_mc: CudaFunction,
    check_me_cost: CudaFunction,
    p_search: CudaFunction,
    p_inter: CudaFunction,
    p_skip_flags: CudaFunction,
    cavlc: CudaFunction,
    pack_scan: CudaFunction,
    pack_bits: CudaFunction,
}

fn gpu(test: &str) -> Option<Gpu> {
    if !gpu_present(test) {
        return None;
    }
    let ctx = open_device(0).expect("device 0");
    let stream = ctx.new_stream().expect("stream");
    let m = load(&ctx, Program::WithChecks).expect("kernels compile and load");
    let f = |name| function(&m, name).expect(name);
    Some(Gpu {
        ref_planes: f("ref_planes"),
        check_mc: f("check_mc"),
        check_me_cost: f("check_me_cost"),
        p_search: f("p_search"),
        p_inter: f("p_inter"),
        p_skip_flags: f("p_skip_flags"),
        cavlc: f("cavlc_write_mbs"),
        pack_scan: f("pack_scan"),
        pack_bits: f("pack_bits"),
        ctx,
        stream,
    })
}

/// A padded picture as the device holds it: Y, then U, then V.
fn frame_bytes(f: &YuvFrame) -> Vec<u8> {
    let mut v = f.y.data.clone();
    v.extend_from_slice(&f.u.data);
    v.extend_from_slice(&f.v.data);
    v
}

fn i32_bytes(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn bytes_i32(b: &[u8]) -> Vec<i32> {
    b.chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn rd16(b: &[u8], at: usize) -> i16 {
    i16::from_le_bytes([b[at], b[at + 1]])
}

fn rd32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl Gpu {
    fn buffer(&self, bytes: &[u8]) -> DeviceBuffer {
        let b = DeviceBuffer::new(&self.ctx, bytes.len().max(1), "test").expect("alloc");
        b.upload(&self.stream, 0, bytes).expect("upload");
        b
    }

    fn zeros(&self, len: usize) -> DeviceBuffer {
        let b = DeviceBuffer::new(&self.ctx, len.max(1), "test").expect("alloc");
        b.zero(&self.stream, 0, len.max(1)).expect("zero");
        b
    }

    fn read(&self, b: &DeviceBuffer, len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        b.download(&self.stream, 0, &mut out).expect("download");
        self.stream.synchronize().expect("kernels ran");
        out
    }

    /// The 4 reference planes of a padded picture (device frame `rec`).
    fn planes(
        &self,
        rec: &DeviceBuffer,
        wm: usize,
        hm: usize,
        half: bool,
    ) -> (DeviceBuffer, usize) {
        let (pw, ph) = (wm * 16 + 2 * MARGIN, hm * 16 + 2 * MARGIN);
        let plane_bytes = pw * ph;
        let planes = self.zeros(4 * plane_bytes);
        let (r, p) = (rec.ptr(), planes.ptr());
        let (wmi, hmi) = (wm as i32, hm as i32);
        let fb = (wm * hm * 384) as i64;
        let pb = plane_bytes as i64;
        let half = i32::from(half);
        let cfg = LaunchConfig {
            grid_dim: ((pw as u32).div_ceil(32), (ph as u32).div_ceil(8), 1),
            block_dim: (32, 8, 1),
            shared_mem_bytes: 0,
        };
        let mut b = self.stream.launch_builder(&self.ref_planes);
        b.arg(&r)
            .arg(&p)
            .arg(&wmi)
            .arg(&hmi)
            .arg(&fb)
            .arg(&pb)
            .arg(&half);
        unsafe { b.launch(cfg) }.expect("ref_planes");
        (planes, plane_bytes)
    }
}

fn padded(f: &YuvFrame) -> YuvFrame {
    let (wm, hm) = (f.width().div_ceil(16), f.height().div_ceil(16));
    pad_frame(f, wm * 16, hm * 16)
}

/// Reference planes, then luma and chroma prediction at every fraction,
/// inside the picture and across its edges, against avc::mc.
#[test]
fn reference_planes_and_motion_compensation_match_the_cpu() {
    let Some(g) = gpu("reference_planes_and_motion_compensation_match_the_cpu") else {
        return;
    };
    let mut rng = Rng(77);
    for (w, h, content) in [
        (48usize, 32usize, Content::Random),
        (17, 33, Content::Natural),
        (176, 144, Content::Natural),
    ] {
        let pic = padded(&picture(content, w, h, 5));
        let (wm, hm) = (pic.y.width / 16, pic.y.height / 16);
        let (pw, ph) = (pic.y.width as i32, pic.y.height as i32);
        let cpu = RefPicture::new(&pic);
        let rec = g.buffer(&frame_bytes(&pic));
        let (planes, plane_bytes) = g.planes(&rec, wm, hm, true);
        let raw = g.read(&planes, 4 * plane_bytes);
        let stride = pw as usize + 2 * MARGIN;
        let mut bad = 0;
        for (k, plane) in [&cpu.full, &cpu.half_h, &cpu.half_v, &cpu.half_c]
            .into_iter()
            .enumerate()
        {
            for y in -(MARGIN as i32)..ph + MARGIN as i32 {
                for x in -(MARGIN as i32)..pw + MARGIN as i32 {
                    let at = k * plane_bytes
                        + (y + MARGIN as i32) as usize * stride
                        + (x + MARGIN as i32) as usize;
                    if raw[at] != plane.at(x, y) {
                        bad += 1;
                    }
                }
            }
        }
        assert_eq!(bad, 0, "{w}x{h}: {bad} reference plane samples differ");
        // Prediction cases: kind, x, y, mv0, mv1.
        let mut cases: Vec<[i32; 5]> = Vec::new();
        for _ in 0..3000 {
            let (x, y) = (rng.range(0, pw - 4), rng.range(0, ph - 4));
            let (lx, ly) = (mv_limits(x, 4, pw), mv_limits(y, 4, ph));
            let mv0 = match rng.range(0, 3) {
                0 => lx.0,
                1 => lx.1,
                _ => rng.range(lx.0, lx.1),
            };
            let mv1 = match rng.range(0, 3) {
                0 => ly.0,
                1 => ly.1,
                _ => rng.range(ly.0, ly.1),
            };
            cases.push([0, x, y, mv0, mv1]);
            let (cx, cy) = (rng.range(0, pw / 2 - 4), rng.range(0, ph / 2 - 4));
            cases.push([
                1 + rng.range(0, 1),
                cx,
                cy,
                rng.range(-900, 900),
                rng.range(-900, 900),
            ]);
        }
        for fy in 0..4 {
            for fx in 0..4 {
                cases.push([0, 0, 0, -128 + fx, -128 + fy]);
                cases.push([0, pw - 4, ph - 4, 32 * 4 + fx - 4, 32 * 4 + fy - 4]);
                cases.push([1, 0, 0, -2000 + fx, -2000 + fy]);
                cases.push([2, pw / 2 - 4, ph / 2 - 4, 2000 + fx, 2000 + fy]);
            }
        }
        let input: Vec<i32> = cases.iter().flatten().copied().collect();
        let inb = g.buffer(&i32_bytes(&input));
        let outb = g.zeros(cases.len() * 64);
        let (ip, op, pp, rp) = (inb.ptr(), outb.ptr(), planes.ptr(), rec.ptr());
        let n = cases.len() as i32;
        let (wmi, hmi, pb) = (wm as i32, hm as i32, plane_bytes as i64);
        let mut b = g.stream.launch_builder(&g.check_mc);
        b.arg(&ip)
            .arg(&op)
            .arg(&n)
            .arg(&pp)
            .arg(&rp)
            .arg(&wmi)
            .arg(&hmi)
            .arg(&pb);
        unsafe { b.launch(LaunchConfig::for_num_elems(n as u32)) }.expect("check_mc");
        let got = bytes_i32(&g.read(&outb, cases.len() * 64));
        let mut bad = Vec::new();
        for (i, c) in cases.iter().enumerate() {
            let mut want = [0u8; 16];
            let mv = [c[3] as i16, c[4] as i16];
            if c[0] == 0 {
                cpu.predict_luma(c[1], c[2], 4, 4, mv, &mut want);
            } else {
                cpu.predict_chroma((c[0] - 1) as usize, (c[1], c[2]), (4, 4), mv, &mut want);
            }
            let g16: Vec<u8> = got[i * 16..i * 16 + 16].iter().map(|&v| v as u8).collect();
            if g16 != want {
                bad.push(format!("{c:?}"));
            }
        }
        assert!(
            bad.is_empty(),
            "{w}x{h}: {} of {} predictions differ, e.g. {:?}",
            bad.len(),
            cases.len(),
            &bad[..bad.len().min(5)]
        );
        // Full-sample only (ultrafast): G is the same plane.
        let (planes0, _) = g.planes(&rec, wm, hm, false);
        let raw0 = g.read(&planes0, plane_bytes);
        assert!(
            raw0[..plane_bytes] == raw[..plane_bytes],
            "{w}x{h}: full-sample plane differs"
        );
    }
}

fn rect(part: Partition, idx: usize) -> (usize, usize, usize, usize) {
    part.rect(idx)
}

const PARTS: [Partition; 4] = [
    Partition::P16x16,
    Partition::P16x8,
    Partition::P8x16,
    Partition::P8x8,
];

/// SAD and SATD costs of the search against the CPU's definitions.
#[test]
fn search_costs_match_the_cpu() {
    let Some(g) = gpu("search_costs_match_the_cpu") else {
        return;
    };
    let mut rng = Rng(5);
    let (w, h) = (80usize, 48usize);
    let src = padded(&picture(Content::Natural, w, h, 9));
    let rpic = padded(&picture(Content::Random, w, h, 10));
    let (wm, hm) = (w / 16, h / 16);
    let cpu = RefPicture::new(&rpic);
    let rec = g.buffer(&frame_bytes(&rpic));
    let (planes, plane_bytes) = g.planes(&rec, wm, hm, true);
    let srcb = g.buffer(&frame_bytes(&src));
    let mut cases: Vec<[i32; 10]> = Vec::new();
    for _ in 0..4000 {
        let (mx, my) = (rng.range(0, wm as i32 - 1), rng.range(0, hm as i32 - 1));
        let p = rng.range(0, 3) as usize;
        let idx = rng.range(0, PARTS[p].count() as i32 - 1);
        let (rx, ry, rw, rh) = rect(PARTS[p], idx as usize);
        let (x, y) = (mx * 16 + rx as i32, my * 16 + ry as i32);
        let (lx, ly) = (
            mv_limits(x, rw as i32, w as i32),
            mv_limits(y, rh as i32, h as i32),
        );
        let sad = rng.range(0, 1);
        let (c0, c1) = if sad == 1 {
            (rng.range(lx.0 / 4, lx.1 / 4), rng.range(ly.0 / 4, ly.1 / 4))
        } else {
            (rng.range(lx.0, lx.1), rng.range(ly.0, ly.1))
        };
        let lam = lambda(rng.range(0, 51)) as i32;
        cases.push([
            mx,
            my,
            p as i32,
            idx,
            rng.range(-300, 300),
            rng.range(-300, 300),
            lam,
            sad,
            c0,
            c1,
        ]);
    }
    let input: Vec<i32> = cases.iter().flatten().copied().collect();
    let inb = g.buffer(&i32_bytes(&input));
    let outb = g.zeros(cases.len() * 4);
    let (ip, op, sp, pp) = (inb.ptr(), outb.ptr(), srcb.ptr(), planes.ptr());
    let n = cases.len() as i32;
    let (wmi, hmi, pb) = (wm as i32, hm as i32, plane_bytes as i64);
    let mut b = g.stream.launch_builder(&g.check_me_cost);
    b.arg(&ip)
        .arg(&op)
        .arg(&n)
        .arg(&sp)
        .arg(&pp)
        .arg(&wmi)
        .arg(&hmi)
        .arg(&pb);
    let cfg = LaunchConfig {
        grid_dim: (n as u32, 1, 1),
        block_dim: (32, 1, 1),
        shared_mem_bytes: 0,
    };
    unsafe { b.launch(cfg) }.expect("check_me_cost");
    let got = bytes_i32(&g.read(&outb, cases.len() * 4));
    let mut bad = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let (rx, ry, rw, rh) = rect(PARTS[c[2] as usize], c[3] as usize);
        let (x, y) = (c[0] as usize * 16 + rx, c[1] as usize * 16 + ry);
        let bits = |m0: i32, m1: i32| se_len(m0 - c[4]) + se_len(m1 - c[5]);
        let want = if c[7] == 1 {
            let mut sad = 0u32;
            for r in 0..rh {
                for k in 0..rw {
                    let s = src.y.at(x + k, y + r);
                    let p = cpu
                        .full
                        .at(x as i32 + k as i32 + c[8], y as i32 + r as i32 + c[9]);
                    sad += u32::from(s.abs_diff(p));
                }
            }
            sad + c[6] as u32 * bits(c[8] * 4, c[9] * 4)
        } else {
            let mut pred = [0u8; 256];
            cpu.predict_luma(
                x as i32,
                y as i32,
                rw,
                rh,
                [c[8] as i16, c[9] as i16],
                &mut pred[..rw * rh],
            );
            let s = &src.y.data[y * src.y.width + x..];
            satd_u8(s, src.y.width, &pred, rw, rw, rh) + c[6] as u32 * bits(c[8], c[9])
        };
        if got[i] as u32 != want {
            bad.push(format!("{c:?}: {} vs {want}", got[i]));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} costs differ, e.g. {:?}",
        bad.len(),
        cases.len(),
        &bad[..bad.len().min(5)]
    );
}

/// avc::picture::seeds (private there): the co-located vector, zero, then
/// the co-located vectors of the four neighbours not listed yet.
fn seeds(prev: &[[i16; 2]], addr: usize, wm: usize, hm: usize) -> Vec<[i16; 2]> {
    let (x, y) = (addr % wm, addr / wm);
    let mut out = vec![prev[addr], [0, 0]];
    let around = [
        (x > 0).then(|| addr - 1),
        (y > 0).then(|| addr - wm),
        (x + 1 < wm).then(|| addr + 1),
        (y + 1 < hm).then(|| addr + wm),
    ];
    for n in around.into_iter().flatten() {
        if !out.contains(&prev[n]) {
            out.push(prev[n]);
        }
    }
    out
}

fn partition(p: u8) -> Partition {
    PARTS[usize::from(p & 3)]
}

/// Serialises a macroblock as the device's MbRecord (kernels/common.cu).
fn record(mb: &MbCoding) -> Vec<u8> {
    let mut r = vec![0u8; MB_RECORD];
    let (kind, part) = match mb.luma {
        LumaPred::I4(_) => (0u8, 0u8),
        LumaPred::I16(_) => (1, 0),
        LumaPred::Pcm => (2, 0),
        LumaPred::Inter(p) => (3, p.mb_type() as u8),
    };
    r[0] = kind;
    r[1] = if let LumaPred::I16(m) = mb.luma { m } else { 0 };
    r[2] = mb.chroma_mode;
    r[3] = mb.cbp_luma;
    r[4] = mb.cbp_chroma;
    r[5] = part;
    if let LumaPred::I4(modes) = mb.luma {
        r[8..24].copy_from_slice(&modes);
    }
    let pcm = kind == 2;
    let i16 = kind == 1;
    let total = |v: &[i16]| v.iter().filter(|&&x| x != 0).count() as u8;
    let lv = mb.levels();
    for blk in 0..16 {
        r[24 + blk] = if pcm {
            16
        } else if mb.cbp_luma & (1 << (blk / 4)) == 0 {
            0
        } else if i16 {
            total(&lv.luma[blk][1..])
        } else {
            total(&lv.luma[blk])
        };
    }
    for c in 0..2 {
        for blk in 0..4 {
            r[40 + c * 4 + blk] = if pcm {
                16
            } else if mb.cbp_chroma & 2 == 0 {
                0
            } else {
                total(&lv.chroma_ac[c][blk][1..])
            };
        }
    }
    let mut put = |at: usize, v: i16| r[at..at + 2].copy_from_slice(&v.to_le_bytes());
    for blk in 0..16 {
        for k in 0..16 {
            put(48 + (blk * 16 + k) * 2, lv.luma[blk][k]);
        }
        put(560 + blk * 2, lv.luma_dc[blk]);
    }
    for c in 0..2 {
        for k in 0..4 {
            put(592 + (c * 4 + k) * 2, lv.chroma_dc[c][k]);
            for j in 0..16 {
                put(608 + ((c * 4 + k) * 16 + j) * 2, lv.chroma_ac[c][k][j]);
            }
        }
    }
    if let LumaPred::Inter(p) = mb.luma {
        for k in 0..p.count() {
            let (x, y, _, _) = p.rect(k);
            let mv = mb.mvs[luma_block_at(x, y)];
            put(864 + k * 4, mv[0]);
            put(866 + k * 4, mv[1]);
        }
    }
    r
}

/// Motion search of every macroblock, then inter coding, against
/// avc::me::search_mb, avc::analyse::intra_estimate and avc::picture::decide_p_mb.
#[test]
fn motion_search_and_inter_coding_match_the_cpu() {
    let Some(g) = gpu("motion_search_and_inter_coding_match_the_cpu") else {
        return;
    };
    let mut rng = Rng(123);
    let presets = [
        (
            "ultrafast",
            MeParams {
                max_steps: 4,
                subpel_rounds: 0,
                partitions: false,
                early_skip: true,
            },
        ),
        (
            "medium",
            MeParams {
                max_steps: 32,
                subpel_rounds: 3,
                partitions: true,
                early_skip: false,
            },
        ),
        (
            "superfast",
            MeParams {
                max_steps: 8,
                subpel_rounds: 1,
                partitions: false,
                early_skip: false,
            },
        ),
    ];
    let mut failures = Vec::new();
    let mut counted = (0usize, 0usize, 0usize);
    for (w, h) in [(176usize, 144usize), (17, 33), (64, 64)] {
        for (t, qp) in [(1usize, 26i32), (2, 10), (3, 51), (4, 0), (5, 40)] {
            let refp_pic = padded(&panned(w, h, t - 1, 3));
            let src = if qp == 0 {
                padded(&picture(Content::Random, w, h, t as u64))
            } else {
                padded(&panned(w, h, t, 3))
            };
            let (wm, hm) = (src.y.width / 16, src.y.height / 16);
            let mbs = wm * hm;
            // Previous vectors: a mix of intra (zero) and inter ones.
            let mut prev = Vec::with_capacity(mbs);
            let mut prev_recs = Vec::with_capacity(mbs * MB_RECORD);
            let mut field = Vec::with_capacity(mbs);
            for _ in 0..mbs {
                let inter = rng.range(0, 3) > 0;
                let mv = if inter {
                    [rng.range(-40, 40) as i16, rng.range(-40, 40) as i16]
                } else {
                    [0, 0]
                };
                let mut r = vec![0u8; MB_RECORD];
                r[0] = if inter { 3 } else { 1 };
                r[864..866].copy_from_slice(&mv[0].to_le_bytes());
                r[866..868].copy_from_slice(&mv[1].to_le_bytes());
                prev.push(mv);
                field.push(MbVectors::new(!inter, [mv; 16]));
                prev_recs.extend_from_slice(&r);
            }
            let rec_ref = g.buffer(&frame_bytes(&refp_pic));
            let srcb = g.buffer(&frame_bytes(&src));
            let prevb = g.buffer(&prev_recs);
            for (name, me) in presets {
                let cpu_ref = RefPicture::new(&refp_pic);
                // Sub-sample planes for every preset: the previous records below hold
                // quarter-sample vectors, so a predicted P_Skip vector may be one (in an
                // encode, presets without sub-sample search only ever have whole-sample ones).
                let (planes, plane_bytes) = g.planes(&rec_ref, wm, hm, true);
                let motion = g.zeros(mbs * MOTION_RECORD);
                let recs = g.zeros(mbs * MB_RECORD);
                let rec = g.zeros(wm * hm * 384);
                let (wmi, hmi, nf) = (wm as i32, hm as i32, 1i32);
                let (fb, pb) = ((wm * hm * 384) as i64, plane_bytes as i64);
                let (steps, rounds, parts) = (
                    me.max_steps as i32,
                    me.subpel_rounds as i32,
                    i32::from(me.partitions),
                );
                let cfg = LaunchConfig {
                    grid_dim: ((mbs as u32).div_ceil(4), 1, 1),
                    block_dim: (32, 4, 1),
                    shared_mem_bytes: 0,
                };
                let (sp, pp, prp, mp) = (srcb.ptr(), planes.ptr(), prevb.ptr(), motion.ptr());
                let mut b = g.stream.launch_builder(&g.p_search);
                b.arg(&sp)
                    .arg(&pp)
                    .arg(&prp)
                    .arg(&mp)
                    .arg(&wmi)
                    .arg(&hmi)
                    .arg(&nf)
                    .arg(&fb)
                    .arg(&pb)
                    .arg(&qp)
                    .arg(&steps)
                    .arg(&rounds)
                    .arg(&parts);
                unsafe { b.launch(cfg) }.expect("p_search");
                let (rp, rrp, rcp) = (rec.ptr(), rec_ref.ptr(), recs.ptr());
                let no_flags = 0u64;
                let (lossless, early_skip) = (0i32, i32::from(me.early_skip));
                let mut b = g.stream.launch_builder(&g.p_inter);
                b.arg(&sp)
                    .arg(&rp)
                    .arg(&rrp)
                    .arg(&pp)
                    .arg(&mp)
                    .arg(&prp)
                    .arg(&rcp)
                    .arg(&wmi)
                    .arg(&hmi)
                    .arg(&nf)
                    .arg(&fb)
                    .arg(&pb)
                    .arg(&qp)
                    .arg(&no_flags)
                    .arg(&lossless)
                    .arg(&early_skip);
                unsafe { b.launch(cfg) }.expect("p_inter");
                let mraw = g.read(&motion, mbs * MOTION_RECORD);
                let rraw = g.read(&recs, mbs * MB_RECORD);
                let recon = g.read(&rec, wm * hm * 384);
                let lam = lambda(qp);
                for addr in 0..mbs {
                    let (x, y) = (addr % wm, addr / wm);
                    let what = format!("{w}x{h} qp {qp} {name} mb ({x}, {y})");
                    let s = seeds(&prev, addr, wm, hm);
                    let want = search_mb(&src.y, &cpu_ref, x, y, &s, lam, &me);
                    let est = intra_estimate(&src.y, x, y, lam);
                    let intra = intra_estimate_below(&src.y, x, y, lam, want.cost);
                    let m = &mraw[addr * MOTION_RECORD..(addr + 1) * MOTION_RECORD];
                    let got = MbMotion {
                        partition: partition(m[0]),
                        mvs: std::array::from_fn(|k| [rd16(m, 4 + k * 4), rd16(m, 6 + k * 4)]),
                        cost: rd32(m, 20),
                    };
                    counted.0 += 1;
                    if got != want || rd32(m, 24) != est || (m[1] != 0) != intra {
                        failures.push(format!(
                            "{what}: search {got:?} est {} vs {want:?} est {est}",
                            rd32(m, 24)
                        ));
                        continue;
                    }
                    let r = &rraw[addr * MB_RECORD..(addr + 1) * MB_RECORD];
                    let ctx = PContext {
                        refp: &cpu_ref,
                        prev_mvs: &prev,
                        prev_field: &field,
                        me: &me,
                        qp,
                        intra: IntraMode::Full,
                    };
                    let Some(coded) = decide_p_mb(&src, &ctx, addr, (wm, hm)) else {
                        if r[0] != KIND_PENDING {
                            failures.push(format!(
                                "{what}: intra macroblock not left pending (kind {})",
                                r[0]
                            ));
                        }
                        continue;
                    };
                    counted.1 += 1;
                    if matches!(coded.mb.luma, LumaPred::Pcm) {
                        counted.2 += 1;
                    }
                    let want_rec = record(&coded.mb);
                    if r != &want_rec[..] {
                        let at = r
                            .iter()
                            .zip(&want_rec)
                            .position(|(a, b)| a != b)
                            .unwrap_or(0);
                        failures.push(format!(
                            "{what}: record differs at byte {at} ({} vs {}), cpu {:?}",
                            r[at], want_rec[at], coded.mb.luma
                        ));
                        continue;
                    }
                    let (pw, ph) = (wm * 16, hm * 16);
                    let mut same = true;
                    for k in 0..256 {
                        same &= recon[(y * 16 + k / 16) * pw + x * 16 + k % 16] == coded.luma[k];
                    }
                    for c in 0..2 {
                        for k in 0..64 {
                            let at = pw * ph
                                + c * pw * ph / 4
                                + (y * 8 + k / 8) * (pw / 2)
                                + x * 8
                                + k % 8;
                            same &= recon[at] == coded.chroma[c][k];
                        }
                    }
                    if !same {
                        failures.push(format!("{what}: reconstruction differs"));
                    }
                }
            }
        }
    }
    eprintln!(
        "P STAGES: {} macroblock searches, {} inter macroblocks coded ({} I_PCM); {} mismatches",
        counted.0,
        counted.1,
        counted.2,
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches, e.g.:\n{}",
        failures.len(),
        failures[..failures.len().min(12)].join("\n")
    );
}

/// A random macroblock for the syntax pass: P_Skip candidates, inter
/// macroblocks of every partitioning, Intra4x4, Intra16x16 and I_PCM.
fn random_mb(rng: &mut Rng, src: &YuvFrame, pos: MbPos) -> MbCoding {
    let levels = |rng: &mut Rng, sparse: i32| -> i16 {
        if rng.range(0, sparse) != 0 {
            0
        } else if rng.range(0, 20) == 0 {
            rng.range(-600, 600) as i16
        } else {
            rng.range(-3, 3) as i16
        }
    };
    let mut mb = MbCoding {
        luma: LumaPred::Inter(Partition::P16x16),
        chroma_mode: 0,
        cbp_luma: 0,
        cbp_chroma: 0,
        levels: None,
        pcm: None,
        mvs: [[0; 2]; 16],
    };
    let kind = rng.range(0, 99);
    let residual = |mb: &mut MbCoding, rng: &mut Rng, i16: bool| {
        let sparse = [2, 6, 30][rng.range(0, 2) as usize];
        let mut lv = MbLevels::ZERO;
        for blk in 0..16 {
            for k in usize::from(i16)..16 {
                lv.luma[blk][k] = levels(rng, sparse);
            }
        }
        if rng.range(0, 2) == 0 {
            lv.luma = [[0; 16]; 16];
        }
        for c in 0..2 {
            for k in 0..4 {
                lv.chroma_dc[c][k] = levels(rng, sparse);
                for j in 1..16 {
                    lv.chroma_ac[c][k][j] = if rng.range(0, 1) == 0 {
                        0
                    } else {
                        levels(rng, sparse)
                    };
                }
            }
        }
        if rng.range(0, 2) == 0 {
            lv.chroma_ac = [[[0; 16]; 4]; 2];
        }
        if rng.range(0, 3) == 0 {
            lv.chroma_dc = [[0; 4]; 2];
        }
        for blk in 0..16 {
            if lv.luma[blk].iter().any(|&v| v != 0) {
                mb.cbp_luma |= 1 << (blk / 4);
            }
        }
        if i16 && mb.cbp_luma != 0 {
            mb.cbp_luma = 15;
        }
        let ac = lv
            .chroma_ac
            .iter()
            .flatten()
            .any(|b| b[1..].iter().any(|&v| v != 0));
        let dc = lv.chroma_dc.iter().flatten().any(|&v| v != 0);
        mb.cbp_chroma = if ac {
            2
        } else if dc {
            1
        } else {
            0
        };
        // Levels of 8x8 quarters left out by the pattern are not sent.
        for blk in 0..16 {
            if mb.cbp_luma & (1 << (blk / 4)) == 0 {
                lv.luma[blk] = [0; 16];
            }
        }
        mb.levels = lv.held();
    };
    let small = [[0i16, 0], [4, 0], [-4, 4], [1, 2], [0, -8]];
    match kind {
        0..=39 => {
            let mv = small[rng.range(0, 4) as usize];
            mb.mvs = [mv; 16];
            if rng.range(0, 3) == 0 {
                residual(&mut mb, rng, false);
            }
        }
        40..=64 => {
            let p = PARTS[rng.range(0, 3) as usize];
            mb.luma = LumaPred::Inter(p);
            let mvs: [[i16; 2]; 4] = std::array::from_fn(|_| {
                if rng.range(0, 1) == 0 {
                    small[rng.range(0, 4) as usize]
                } else {
                    [rng.range(-200, 200) as i16, rng.range(-200, 200) as i16]
                }
            });
            mb.mvs = std::array::from_fn(|blk| {
                let (bx, by) = avc::macroblock::luma_block_xy(blk);
                let k = match p {
                    Partition::P16x16 => 0,
                    Partition::P16x8 => by / 8,
                    Partition::P8x16 => bx / 8,
                    Partition::P8x8 => (by / 8) * 2 + bx / 8,
                };
                mvs[k]
            });
            residual(&mut mb, rng, false);
        }
        65..=79 => {
            mb.luma = LumaPred::I16(rng.range(0, 3) as u8);
            mb.chroma_mode = rng.range(0, 3) as u8;
            residual(&mut mb, rng, true);
            for k in 0..16 {
                mb.levels_mut().luma_dc[k] = levels(rng, 3);
            }
        }
        80..=91 => {
            mb.luma = LumaPred::I4(std::array::from_fn(|_| rng.range(0, 8) as u8));
            mb.chroma_mode = rng.range(0, 3) as u8;
            residual(&mut mb, rng, false);
        }
        _ => {
            let mut samples = Box::new([0u8; 384]);
            let (x0, y0) = (pos.mb_x * 16, pos.mb_y * 16);
            for k in 0..256 {
                samples[k] = src.y.at(x0 + k % 16, y0 + k / 16);
            }
            for c in 0..2 {
                let p = if c == 0 { &src.u } else { &src.v };
                for k in 0..64 {
                    samples[256 + c * 64 + k] = p.at(pos.mb_x * 8 + k % 8, pos.mb_y * 8 + k / 8);
                }
            }
            mb.luma = LumaPred::Pcm;
            mb.pcm = Some(samples);
        }
    }
    mb
}

/// P_Skip decisions, mv prediction and the whole P-slice data (mb_skip_run,
/// mvd, intra mb_type offset, nC) against avc::slice::PictureSyntax.
#[test]
fn p_slice_syntax_matches_the_cpu() {
    let Some(g) = gpu("p_slice_syntax_matches_the_cpu") else {
        return;
    };
    let mut rng = Rng(2024);
    let mut checked = (0usize, 0usize);
    for (wm, hm) in [(1usize, 1usize), (2, 3), (11, 9), (40, 23)] {
        for round in 0..6 {
            let src = picture(Content::Random, wm * 16, hm * 16, 7 + round);
            let pos = |a: usize| MbPos {
                mb_x: a % wm,
                mb_y: a / wm,
                width_mbs: wm,
            };
            let mut mbs: Vec<MbCoding> = (0..wm * hm)
                .map(|a| random_mb(&mut rng, &src, pos(a)))
                .collect();
            // Keep every macroblock within the 3200-bit bound, as the encoder does.
            for a in 0..wm * hm {
                let mut w = BitWriter::new();
                PictureSyntax::new(&mbs, wm)
                    .write_macroblock(&mut w, a, 5)
                    .expect("codable");
                if w.bit_len() > 3200 {
                    mbs[a].levels_mut().luma = [[0; 16]; 16];
                    mbs[a].cbp_luma = 0;
                }
            }
            let n = wm * hm;
            let raw: Vec<u8> = mbs.iter().flat_map(record).collect();
            let recs = g.buffer(&raw);
            let srcb = g.buffer(&frame_bytes(&src));
            let skip = g.zeros(n);
            let (wmi, hmi, nf) = (wm as i32, hm as i32, 1i32);
            let (rp, kp) = (recs.ptr(), skip.ptr());
            let mut b = g.stream.launch_builder(&g.p_skip_flags);
            b.arg(&rp).arg(&kp).arg(&wmi).arg(&hmi).arg(&nf);
            unsafe { b.launch(LaunchConfig::for_num_elems(n as u32)) }.expect("p_skip_flags");
            let flags = g.read(&skip, n);
            let syntax = PictureSyntax::new(&mbs, wm);
            for (a, &flag) in flags.iter().enumerate() {
                assert_eq!(
                    flag != 0,
                    syntax.is_skip(a),
                    "{wm}x{hm} round {round}: skip of macroblock {a}"
                );
            }
            checked.0 += n;
            // Bits of every macroblock, packed with an empty header.
            let bits = g.zeros(n * MB_WORDS * 4);
            let lens = g.zeros(n * 4);
            let starts = g.zeros(n * 4);
            let header = g.zeros(16);
            let header_bits = g.zeros(4);
            let rbsp_words = n * MB_WORDS + 8;
            let rbsp = g.zeros(rbsp_words * 4);
            let rbsp_len = g.zeros(4);
            let fb = (n * 384) as i64;
            let (bp, lp, sp, srcp) = (bits.ptr(), lens.ptr(), starts.ptr(), srcb.ptr());
            let mut b = g.stream.launch_builder(&g.cavlc);
            b.arg(&rp)
                .arg(&bp)
                .arg(&lp)
                .arg(&srcp)
                .arg(&wmi)
                .arg(&hmi)
                .arg(&nf)
                .arg(&fb)
                .arg(&kp);
            unsafe { b.launch(LaunchConfig::for_num_elems(n as u32)) }.expect("cavlc");
            let (hp, hbp, rbp, rlp) = (header.ptr(), header_bits.ptr(), rbsp.ptr(), rbsp_len.ptr());
            let (rw, mbs_i) = (rbsp_words as i64, n as i32);
            let mut b = g.stream.launch_builder(&g.pack_scan);
            b.arg(&lp)
                .arg(&sp)
                .arg(&hp)
                .arg(&hbp)
                .arg(&rbp)
                .arg(&rw)
                .arg(&rlp)
                .arg(&mbs_i);
            let cfg = LaunchConfig {
                grid_dim: (1, 1, 1),
                block_dim: (1024, 1, 1),
                shared_mem_bytes: 0,
            };
            unsafe { b.launch(cfg) }.expect("pack_scan");
            let mut b = g.stream.launch_builder(&g.pack_bits);
            b.arg(&bp)
                .arg(&lp)
                .arg(&sp)
                .arg(&rbp)
                .arg(&rw)
                .arg(&mbs_i)
                .arg(&nf);
            let cfg = LaunchConfig {
                grid_dim: ((n as u32).div_ceil(8), 1, 1),
                block_dim: (32, 8, 1),
                shared_mem_bytes: 0,
            };
            unsafe { b.launch(cfg) }.expect("pack_bits");
            let len = rd32(&g.read(&rbsp_len, 4), 0) as usize;
            let words = g.read(&rbsp, rbsp_words * 4);
            let got: Vec<u8> = words
                .chunks_exact(4)
                .flat_map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]).to_be_bytes())
                .take(len)
                .collect();
            let mut w = BitWriter::new();
            syntax.write_p_slice_data(&mut w).expect("cpu syntax");
            w.put_trailing_bits();
            let want = w.into_bytes();
            let at = got.iter().zip(&want).position(|(a, b)| a != b);
            assert!(
                got == want,
                "{wm}x{hm} round {round}: slice data differs ({} vs {} bytes, first difference at byte {at:?})",
                got.len(),
                want.len()
            );
            checked.1 += 1;
        }
    }
    eprintln!(
        "P SYNTAX: {} skip decisions, {} P-slice payloads byte-identical",
        checked.0, checked.1
    );
}
