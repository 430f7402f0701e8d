//! checkasm-style harness: every stage kernel of kernels/*.cu against the CPU
//! function it mirrors, on random and extreme inputs.

mod common;

use std::sync::Arc;

use avc::bits::BitSink;
use avc::cavlc::{residual_block_bits_bound, write_residual_block, CoeffTokenTable};
use avc::intra::{predict16x16, predict4x4, predict_chroma, Availability, Edge4, EdgeN};
use avc::transform::{
    chroma_qp, dequant4x4, forward4x4, forward_quant_chroma_dc, forward_quant_luma_dc, inverse4x4,
    inverse_chroma_dc, inverse_luma_dc, quant4x4, satd4x4,
};
use common::{gpu_present, Rng};
use cudarc::driver::{CudaFunction, CudaStream, LaunchConfig, PushKernelArg};
use framepress_cuda::buffer::DeviceBuffer;
use framepress_cuda::kernels::{function, load, Program};
use framepress_cuda::runtime::open_device;

struct Harness {
    ctx: Arc<cudarc::driver::CudaContext>,
    stream: Arc<CudaStream>,
    transform: CudaFunction,
    transform_lane: CudaFunction,
    predict: CudaFunction,
    cavlc: CudaFunction,
    escape: CudaFunction,
}

fn harness(test: &str) -> Option<Harness> {
    if !gpu_present(test) {
        return None;
    }
    let ctx = open_device(0).expect("device 0");
    let stream = ctx.new_stream().expect("stream");
    let module = load(&ctx, Program::WithChecks).expect("kernels compile and load");
    Some(Harness {
        transform: function(&module, "check_transform").expect("check_transform"),
        transform_lane: function(&module, "check_transform_lane").expect("check_transform_lane"),
        predict: function(&module, "check_predict").expect("check_predict"),
        cavlc: function(&module, "check_cavlc").expect("check_cavlc"),
        escape: function(&module, "nal_escape").expect("nal_escape"),
        ctx,
        stream,
    })
}

fn to_bytes(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn from_bytes(b: &[u8]) -> Vec<i32> {
    b.chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

impl Harness {
    /// Uploads `input`, runs `launch` with (in, out) pointers, returns `out_len` ints.
    fn run(&self, input: &[i32], out_len: usize, launch: impl FnOnce(&Self, u64, u64)) -> Vec<i32> {
        let inb = DeviceBuffer::new(&self.ctx, input.len() * 4, "test input").expect("alloc");
        let outb = DeviceBuffer::new(&self.ctx, out_len * 4, "test output").expect("alloc");
        inb.upload(&self.stream, 0, &to_bytes(input))
            .expect("upload");
        outb.zero(&self.stream, 0, out_len * 4).expect("zero");
        launch(self, inb.ptr(), outb.ptr());
        let mut out = vec![0u8; out_len * 4];
        outb.download(&self.stream, 0, &mut out).expect("download");
        self.stream.synchronize().expect("kernel ran");
        from_bytes(&out)
    }

    /// Runs a transform op on 16-int cases; returns (16 values, ok) per case.
    fn transform(
        &self,
        cases: &[[i32; 16]],
        op: i32,
        qp: i32,
        flag: i32,
        lane: bool,
    ) -> Vec<([i32; 16], bool)> {
        let input: Vec<i32> = cases.iter().flatten().copied().collect();
        let n = cases.len() as i32;
        let out = self.run(&input, cases.len() * 17, |h, inp, outp| {
            let (f, cfg) = if lane {
                let cfg = LaunchConfig {
                    grid_dim: ((n as u32).div_ceil(2), 1, 1),
                    block_dim: (32, 1, 1),
                    shared_mem_bytes: 0,
                };
                (&h.transform_lane, cfg)
            } else {
                (&h.transform, LaunchConfig::for_num_elems(n as u32))
            };
            let mut b = h.stream.launch_builder(f);
            b.arg(&inp).arg(&outp).arg(&n).arg(&op).arg(&qp).arg(&flag);
            unsafe { b.launch(cfg) }.expect("launch");
        });
        out.chunks_exact(17)
            .map(|c| (c[..16].try_into().expect("16"), c[16] != 0))
            .collect()
    }
}

const FORWARD: i32 = 0;
const QUANT: i32 = 1;
const DEQUANT: i32 = 2;
const INVERSE: i32 = 3;
const SATD: i32 = 4;
const LUMA_DC_FWD: i32 = 5;
const LUMA_DC_INV: i32 = 6;
const CHROMA_DC_FWD: i32 = 7;
const CHROMA_DC_INV: i32 = 8;

/// Random blocks in lo..=hi plus the extremes (all lo, all hi, alternating, zero).
fn blocks(rng: &mut Rng, n: usize, lo: i32, hi: i32) -> Vec<[i32; 16]> {
    let mut v: Vec<[i32; 16]> = (0..n)
        .map(|_| std::array::from_fn(|_| rng.range(lo, hi)))
        .collect();
    v.push([lo; 16]);
    v.push([hi; 16]);
    v.push([0; 16]);
    v.push(std::array::from_fn(|i| if i % 2 == 0 { lo } else { hi }));
    v.push(std::array::from_fn(|i| {
        if (i / 4 + i) % 2 == 0 {
            hi
        } else {
            lo
        }
    }));
    // Sparse blocks: a few values, the rest zero.
    for _ in 0..n / 4 {
        let mut b = [0; 16];
        for _ in 0..rng.range(1, 3) {
            b[rng.range(0, 15) as usize] = rng.range(lo, hi);
        }
        v.push(b);
    }
    v
}

#[test]
fn transforms_match_the_cpu() {
    let Some(h) = harness("transforms_match_the_cpu") else {
        return;
    };
    let mut rng = Rng(0x5eed);
    let residuals = blocks(&mut rng, 2000, -255, 255);
    for lane in [false, true] {
        let got = h.transform(&residuals, FORWARD, 0, 0, lane);
        for (b, (g, _)) in residuals.iter().zip(&got) {
            let mut want = *b;
            forward4x4(&mut want);
            assert_eq!(*g, want, "forward4x4 lane={lane} of {b:?}");
        }
        let sat = h.transform(&residuals, SATD, 0, 0, lane);
        for (b, (g, _)) in residuals.iter().zip(&sat) {
            assert_eq!(g[0] as u32, satd4x4(b), "satd4x4 lane={lane} of {b:?}");
        }
    }
    let coefs = blocks(&mut rng, 300, -9180, 9180);
    let levels = blocks(&mut rng, 300, -3000, 3000);
    let small = blocks(&mut rng, 300, -20, 20);
    let scaled = blocks(&mut rng, 300, -40000, 40000);
    for qp in 0..=51 {
        for lane in [false, true] {
            for skip in [0, 1] {
                for (b, (g, _)) in coefs
                    .iter()
                    .zip(&h.transform(&coefs, QUANT, qp, skip, lane))
                {
                    let mut want = *b;
                    quant4x4(&mut want, qp, skip == 1);
                    assert_eq!(
                        *g, want,
                        "quant4x4 qp {qp} skip {skip} lane={lane} of {b:?}"
                    );
                }
                for set in [&levels, &small] {
                    for (b, (g, _)) in set.iter().zip(&h.transform(set, DEQUANT, qp, skip, lane)) {
                        assert_eq!(
                            *g,
                            dequant4x4(b, qp, skip == 1),
                            "dequant4x4 qp {qp} lane={lane} of {b:?}"
                        );
                    }
                }
            }
            // Inverse on realistic scaled coefficients and on out-of-range ones.
            let real: Vec<[i32; 16]> = small.iter().map(|b| dequant4x4(b, qp, false)).collect();
            for set in [&real, &scaled] {
                for (b, (g, ok)) in set.iter().zip(&h.transform(set, INVERSE, qp, 0, lane)) {
                    match inverse4x4(b) {
                        Some(want) => assert!(*ok && *g == want, "inverse4x4 lane={lane} of {b:?}"),
                        None => assert!(!ok, "inverse4x4 lane={lane} accepted {b:?}"),
                    }
                }
            }
        }
        check_dc(&h, &mut rng, qp);
    }
}

fn check_dc(h: &Harness, rng: &mut Rng, qp: i32) {
    let dcs = blocks(rng, 200, -4080, 4080);
    for (b, (g, _)) in dcs
        .iter()
        .zip(&h.transform(&dcs, LUMA_DC_FWD, qp, 0, false))
    {
        assert_eq!(*g, forward_quant_luma_dc(b, qp), "luma dc qp {qp} of {b:?}");
    }
    let lv = blocks(rng, 200, -3000, 3000);
    let small = blocks(rng, 200, -30, 30);
    for set in [&lv, &small] {
        for (b, (g, ok)) in set.iter().zip(&h.transform(set, LUMA_DC_INV, qp, 0, false)) {
            match inverse_luma_dc(b, qp) {
                Some(want) => assert!(*ok && *g == want, "inverse luma dc qp {qp} of {b:?}"),
                None => assert!(!ok, "inverse luma dc qp {qp} accepted {b:?}"),
            }
        }
    }
    let qpc = chroma_qp(qp);
    let four = |b: &[i32; 16]| -> [i32; 4] { [b[0], b[1], b[2], b[3]] };
    for (b, (g, _)) in dcs
        .iter()
        .zip(&h.transform(&dcs, CHROMA_DC_FWD, qp, 0, false))
    {
        assert_eq!(
            g[..4],
            forward_quant_chroma_dc(&four(b), qpc),
            "chroma dc qp {qp}"
        );
    }
    for set in [&lv, &small] {
        for (b, (g, ok)) in set
            .iter()
            .zip(&h.transform(set, CHROMA_DC_INV, qp, 0, false))
        {
            match inverse_chroma_dc(&four(b), qpc) {
                Some(want) => assert!(*ok && g[..4] == want, "inverse chroma dc qp {qp} of {b:?}"),
                None => assert!(!ok, "inverse chroma dc qp {qp} accepted {b:?}"),
            }
        }
    }
}

fn avail(bits: i32) -> Availability {
    Availability {
        left: bits & 1 != 0,
        top: bits & 2 != 0,
        top_left: bits & 4 != 0,
        top_right: bits & 8 != 0,
    }
}

/// Random edges, some flat, some at the extremes.
fn edge_values(rng: &mut Rng, n: usize, case: usize) -> Vec<i32> {
    match case % 4 {
        0 => (0..n).map(|_| rng.range(0, 255)).collect(),
        1 => vec![rng.range(0, 255); n],
        2 => (0..n).map(|i| if i % 2 == 0 { 0 } else { 255 }).collect(),
        _ => (0..n).map(|i| (i as i32 * 17) % 256).collect(),
    }
}

impl Harness {
    fn predict(&self, kind: i32, cases: &[Vec<i32>], out_per_case: usize) -> Vec<i32> {
        let input: Vec<i32> = cases.iter().flatten().copied().collect();
        let n = cases.len() as i32;
        self.run(&input, cases.len() * out_per_case, |h, inp, outp| {
            let mut b = h.stream.launch_builder(&h.predict);
            b.arg(&inp).arg(&outp).arg(&n).arg(&kind);
            unsafe { b.launch(LaunchConfig::for_num_elems(n as u32)) }.expect("launch");
        })
    }
}

#[test]
fn every_prediction_mode_matches_the_cpu() {
    let Some(h) = harness("every_prediction_mode_matches_the_cpu") else {
        return;
    };
    let mut rng = Rng(77);
    let (mut c4, mut c16, mut c8) = (Vec::new(), Vec::new(), Vec::new());
    for case in 0..400 {
        for bits in 0..16 {
            for mode in 0..9 {
                let mut c = edge_values(&mut rng, 13, case);
                c.extend([bits, mode]);
                c4.push(c);
            }
            for mode in 0..4 {
                let mut c = edge_values(&mut rng, 33, case);
                c.extend([bits, mode]);
                c16.push(c);
                let mut c = edge_values(&mut rng, 17, case);
                c.extend([bits, mode]);
                c8.push(c);
            }
        }
    }
    let got = h.predict(0, &c4, 16);
    for (c, g) in c4.iter().zip(got.chunks_exact(16)) {
        let edge = Edge4 {
            e: c[..13].try_into().expect("13"),
            avail: avail(c[13]),
        };
        assert_eq!(
            g,
            predict4x4(c[14] as u8, &edge),
            "Intra4x4 mode {} avail {}",
            c[14],
            c[13]
        );
    }
    let got = h.predict(1, &c16, 256);
    for (c, g) in c16.iter().zip(got.chunks_exact(256)) {
        let edge = EdgeN::<16> {
            top: c[..16].try_into().expect("16"),
            left: c[16..32].try_into().expect("16"),
            corner: c[32],
            avail: avail(c[33]),
        };
        assert_eq!(
            g,
            predict16x16(c[34] as u8, &edge),
            "Intra16x16 mode {} avail {}",
            c[34],
            c[33]
        );
    }
    let got = h.predict(2, &c8, 64);
    for (c, g) in c8.iter().zip(got.chunks_exact(64)) {
        let edge = EdgeN::<8> {
            top: c[..8].try_into().expect("8"),
            left: c[8..16].try_into().expect("8"),
            corner: c[16],
            avail: avail(c[17]),
        };
        assert_eq!(
            g,
            predict_chroma(c[18] as u8, &edge),
            "chroma mode {} avail {}",
            c[18],
            c[17]
        );
    }
}

/// A residual block: mostly zeros and small levels, sometimes large ones.
fn level_block(rng: &mut Rng, len: usize) -> Vec<i32> {
    let style = rng.range(0, 5);
    (0..len)
        .map(|_| match style {
            0 => rng.range(-1, 1),
            1 => {
                if rng.range(0, 3) == 0 {
                    rng.range(-5, 5)
                } else {
                    0
                }
            }
            2 => rng.range(-40, 40),
            3 => {
                if rng.range(0, 7) == 0 {
                    rng.range(-3000, 3000)
                } else {
                    rng.range(-2, 2)
                }
            }
            4 => rng.range(-2600, 2600),
            _ => {
                if rng.range(0, 1) == 0 {
                    0
                } else {
                    rng.range(-300, 300)
                }
            }
        })
        .collect()
}

#[test]
fn cavlc_blocks_match_the_cpu() {
    let Some(h) = harness("cavlc_blocks_match_the_cpu") else {
        return;
    };
    let mut rng = Rng(4242);
    let mut cases = Vec::new();
    for i in 0..60_000 {
        let (len, nc) = match i % 4 {
            0 => (16, rng.range(0, 16)),
            1 => (15, rng.range(0, 16)),
            2 => (4, -1),
            _ => (rng.range(0, 16) as usize, rng.range(0, 16)),
        };
        let mut c = level_block(&mut rng, len);
        c.resize(16, 0);
        c.extend([len as i32, nc]);
        cases.push(c);
    }
    let n = cases.len() as i32;
    let input: Vec<i32> = cases.iter().flatten().copied().collect();
    let out = h.run(&input, cases.len() * 34, |h, inp, outp| {
        let mut b = h.stream.launch_builder(&h.cavlc);
        b.arg(&inp).arg(&outp).arg(&n);
        unsafe { b.launch(LaunchConfig::for_num_elems(n as u32)) }.expect("launch");
    });
    let (mut coded, mut overflow) = (0, 0);
    for (c, o) in cases.iter().zip(out.chunks_exact(34)) {
        let (len, nc) = (c[16] as usize, c[17]);
        let table = if nc < 0 {
            CoeffTokenTable::ChromaDc
        } else {
            CoeffTokenTable::Nc(nc as u8)
        };
        let block = &c[..len];
        let mut w = avc::bits::BitWriter::new();
        let want_bound = residual_block_bits_bound(block, table).map_or(-1, |b| b as i32);
        assert_eq!(o[1], want_bound, "bound of {block:?} nc {nc}");
        match write_residual_block(&mut w, block, table) {
            Ok(_) => {
                coded += 1;
                let bits = w.bit_len() as i32;
                assert_eq!(o[0], bits, "bit count of {block:?} nc {nc}");
                let want = w.into_bytes();
                let got: Vec<u8> = o[2..]
                    .iter()
                    .flat_map(|&x| (x as u32).to_be_bytes())
                    .collect();
                assert_eq!(&got[..want.len()], &want[..], "bits of {block:?} nc {nc}");
            }
            Err(_) => {
                overflow += 1;
                assert_eq!(o[0], -1, "GPU coded {block:?}");
            }
        }
    }
    assert!(
        coded > 40_000 && overflow > 100,
        "coded {coded}, overflow {overflow}"
    );
}

/// Emulation prevention (7.4.1) of the NAL kernel against avc::nal::nal_unit,
/// on payloads full of zero runs of every length and bytes 0..=3.
#[test]
fn nal_escaping_matches_the_cpu() {
    let Some(h) = harness("nal_escaping_matches_the_cpu") else {
        return;
    };
    let mut rng = Rng(31337);
    let mut payloads: Vec<Vec<u8>> = Vec::new();
    for len in [1usize, 2, 3, 4, 5, 7, 64, 1000, 4097, 100_000] {
        for style in 0..4 {
            let mut p: Vec<u8> = (0..len - 1)
                .map(|i| match style {
                    0 => {
                        if rng.range(0, 9) < 7 {
                            0
                        } else {
                            rng.range(0, 3) as u8
                        }
                    }
                    1 => 0,
                    2 => rng.byte(),
                    _ => {
                        if (i / 5) % 3 == 0 {
                            0
                        } else {
                            rng.range(0, 4) as u8
                        }
                    }
                })
                .collect();
            p.push(0x80); // rbsp_stop_one_bit
            payloads.push(p);
        }
    }
    let words_per = payloads
        .iter()
        .map(|p| p.len().div_ceil(4))
        .max()
        .unwrap_or(1)
        + 1;
    let capacity = avc::nal::escaped_len_bound(words_per * 4) + 1;
    let n = payloads.len();
    let mut words = vec![0u8; n * words_per * 4];
    let mut lens = Vec::new();
    for (f, p) in payloads.iter().enumerate() {
        // Big-endian words as the packing kernel leaves them.
        for (k, chunk) in p.chunks(4).enumerate() {
            let mut w = [0u8; 4];
            w[..chunk.len()].copy_from_slice(chunk);
            let word = u32::from_be_bytes(w).to_le_bytes();
            let at = (f * words_per + k) * 4;
            words[at..at + 4].copy_from_slice(&word);
        }
        lens.extend_from_slice(&(p.len() as u32).to_le_bytes());
    }
    let buf = |bytes: usize| DeviceBuffer::new(&h.ctx, bytes, "escape test").expect("alloc");
    let (rbsp, rbsp_len, out, out_len) = (
        buf(words.len()),
        buf(lens.len()),
        buf(n * capacity),
        buf(n * 4),
    );
    rbsp.upload(&h.stream, 0, &words).expect("upload");
    rbsp_len.upload(&h.stream, 0, &lens).expect("upload");
    let (a, b, c, d) = (rbsp.ptr(), rbsp_len.ptr(), out.ptr(), out_len.ptr());
    let (wp, cap, header) = (words_per as i64, capacity as i64, 0x65i32);
    let mut launch = h.stream.launch_builder(&h.escape);
    launch
        .arg(&a)
        .arg(&wp)
        .arg(&b)
        .arg(&c)
        .arg(&cap)
        .arg(&d)
        .arg(&header);
    let cfg = LaunchConfig {
        grid_dim: (n as u32, 1, 1),
        block_dim: (1024, 1, 1),
        shared_mem_bytes: 0,
    };
    unsafe { launch.launch(cfg) }.expect("launch");
    let mut got_lens = vec![0u8; n * 4];
    out_len
        .download(&h.stream, 0, &mut got_lens)
        .expect("download");
    let mut got = vec![0u8; n * capacity];
    out.download(&h.stream, 0, &mut got).expect("download");
    h.stream.synchronize().expect("kernel ran");
    for (f, p) in payloads.iter().enumerate() {
        let want = avc::nal::nal_unit(3, avc::nal::NalType::IdrSlice, p);
        let len = u32::from_le_bytes(got_lens[f * 4..f * 4 + 4].try_into().expect("4")) as usize;
        assert_eq!(
            &got[f * capacity..f * capacity + len],
            &want[..],
            "payload {f} of {} bytes",
            p.len()
        );
    }
}
