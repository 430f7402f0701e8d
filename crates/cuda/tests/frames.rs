//! Whole pictures: the CUDA encoder's bytes and reconstruction equal those of
//! `avc::encoder::IntraEncoder`, over qp × content × size, deblocking off and on.

mod common;

use avc::encoder::IntraEncoder;
use avc::frame::YuvFrame;
use common::{gpu_present, params, picture, Content, Rng, CONTENTS};
use framepress_cuda::{CudaIntraEncoder, DeviceFrame, HostFrame, PixelFormat};

const QPS: [u8; 8] = [0, 1, 10, 20, 26, 30, 40, 51];
const SIZES: [(usize, usize); 6] = [(1, 1), (2, 2), (16, 16), (17, 33), (256, 256), (1920, 1080)];

/// CPU encodings of `frames`, on several threads.
fn cpu_encode(
    frames: &[YuvFrame],
    w: usize,
    h: usize,
    qp: u8,
    deblock: bool,
) -> Vec<avc::encoder::EncodedFrame> {
    std::thread::scope(|s| {
        let handles: Vec<_> = frames
            .iter()
            .enumerate()
            .map(|(i, f)| {
                s.spawn(move || {
                    let mut enc = IntraEncoder::new(params(w as u32, h as u32), qp);
                    enc.set_deblocking(deblock);
                    // idr_pic_id alternates: give frame i the CPU encoder state of frame i.
                    for _ in 0..i % 2 {
                        enc.encode(&YuvFrame::new(w, h)).expect("cpu encode");
                    }
                    enc.encode(f).expect("cpu encode")
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("cpu thread"))
            .collect()
    })
}

fn first_difference(a: &[u8], b: &[u8]) -> String {
    let at = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    format!(
        "lengths {} vs {}, first difference at byte {at}",
        a.len(),
        b.len()
    )
}

/// Where two reconstructions first differ: (plane, x, y).
fn recon_difference(a: &YuvFrame, b: &YuvFrame) -> String {
    for (name, p, q) in [("Y", &a.y, &b.y), ("U", &a.u, &b.u), ("V", &a.v, &b.v)] {
        if (p.width, p.height) != (q.width, q.height) {
            return format!(
                "{name} sizes {}x{} vs {}x{}",
                p.width, p.height, q.width, q.height
            );
        }
        if let Some(i) = p.data.iter().zip(&q.data).position(|(x, y)| x != y) {
            let (x, y) = (i % p.width, i / p.width);
            return format!("{name} at ({x}, {y}): {} vs {}", p.data[i], q.data[i]);
        }
    }
    "none".into()
}

/// Encodes `frames` on both engines and compares bytes and reconstruction;
/// returns a description of each mismatch.
fn compare(
    gpu: &mut CudaIntraEncoder,
    frames: &[YuvFrame],
    qp: u8,
    deblock: bool,
    what: &str,
) -> Vec<String> {
    let (w, h) = (frames[0].width(), frames[0].height());
    let want = cpu_encode(frames, w, h, qp, deblock);
    let got = match gpu.encode_batch(frames) {
        Ok(g) => g,
        Err(e) => return vec![format!("{what}: GPU error {e}")],
    };
    assert_eq!(got.len(), want.len());
    let mut bad = Vec::new();
    for (i, (g, c)) in got.iter().zip(&want).enumerate() {
        let bytes_ok = g.nals == c.nals;
        let recon_ok = g.recon == c.recon;
        if !bytes_ok || !recon_ok {
            bad.push(format!(
                "{what} frame {i}: bytes {}, reconstruction {}",
                if bytes_ok {
                    "equal".into()
                } else {
                    first_difference(&g.nals[0], &c.nals[0])
                },
                if recon_ok {
                    "equal".into()
                } else {
                    recon_difference(&g.recon, &c.recon)
                }
            ));
        }
    }
    bad
}

fn assert_all_equal(bad: Vec<String>) {
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

fn matrix(deblock: bool) {
    let (mut cases, mut bad) = (0, Vec::new());
    for &(w, h) in &SIZES {
        for qp in QPS {
            let mut gpu =
                CudaIntraEncoder::new(0, params(w as u32, h as u32), qp).expect("encoder");
            gpu.set_deblocking(deblock);
            // One batch with every content (frame i gets idr_pic_id i % 2 on both engines).
            let frames: Vec<YuvFrame> = CONTENTS
                .iter()
                .enumerate()
                .map(|(i, &c)| picture(c, w, h, 1 + i as u64 + u64::from(qp)))
                .collect();
            bad.extend(compare(
                &mut gpu,
                &frames,
                qp,
                deblock,
                &format!("{w}x{h} qp {qp} deblock {deblock}"),
            ));
            cases += frames.len();
        }
    }
    eprintln!(
        "MATRIX deblocking {deblock}: {} of {cases} pictures byte-identical",
        cases - bad.len()
    );
    assert_all_equal(bad);
}

#[test]
fn matrix_deblocking_off() {
    if gpu_present("matrix_deblocking_off") {
        matrix(false);
    }
}

#[test]
fn matrix_deblocking_on() {
    if gpu_present("matrix_deblocking_on") {
        matrix(true);
    }
}

#[test]
fn ten_random_pictures_at_qp_1() {
    if !gpu_present("ten_random_pictures_at_qp_1") {
        return;
    }
    let frames: Vec<YuvFrame> = (0..10)
        .map(|i| picture(Content::Random, 256, 256, 100 + i))
        .collect();
    for batch in [1, 3, 10] {
        let mut gpu = CudaIntraEncoder::new(0, params(256, 256), 1).expect("encoder");
        gpu.set_max_batch(batch);
        assert_all_equal(compare(
            &mut gpu,
            &frames,
            1,
            false,
            &format!("random 256x256 qp 1, batches of {batch}"),
        ));
    }
}

/// RGB and NV12 input through the colour kernel equals the CPU conversion
/// (framepress::colour) followed by the CPU encoder.
#[test]
fn host_formats_match_cpu_conversion() {
    if !gpu_present("host_formats_match_cpu_conversion") {
        return;
    }
    use framepress::{ColourMatrix, ColourRange};
    let mut rng = Rng(9);
    for (w, h) in [(17usize, 33usize), (64, 48), (1, 1)] {
        for format in [
            PixelFormat::Rgb24,
            PixelFormat::Rgb24Planar,
            PixelFormat::Nv12,
            PixelFormat::Yuv420p,
        ] {
            let data: Vec<u8> = (0..format.frame_bytes(w, h)).map(|_| rng.byte()).collect();
            let fp_format = match format {
                PixelFormat::Rgb24 => framepress::PixelFormat::Rgb24,
                PixelFormat::Rgb24Planar => framepress::PixelFormat::Rgb24Planar,
                PixelFormat::Nv12 => framepress::PixelFormat::Nv12,
                PixelFormat::Yuv420p => framepress::PixelFormat::Yuv420p,
            };
            let yuv = framepress::to_yuv420(
                fp_format,
                ColourMatrix::Bt709,
                ColourRange::Limited,
                w as u32,
                h as u32,
                &data,
            )
            .expect("cpu conversion");
            let want = cpu_encode(std::slice::from_ref(&yuv), w, h, 26, false);
            let mut gpu =
                CudaIntraEncoder::new(0, params(w as u32, h as u32), 26).expect("encoder");
            let got = gpu
                .encode_host(&[HostFrame {
                    format,
                    data: &data,
                }])
                .expect("gpu encode");
            assert!(
                got[0].recon == want[0].recon,
                "{format:?} {w}x{h}: reconstruction differs"
            );
            assert!(
                got[0].nals == want[0].nals,
                "{format:?} {w}x{h}: bytes differ"
            );
        }
    }
}

/// Frames in device memory, with a pitch wider than the row.
#[test]
fn device_frames_with_pitch() {
    if !gpu_present("device_frames_with_pitch") {
        return;
    }
    let (w, h) = (40usize, 24usize);
    let frame = picture(Content::Natural, w, h, 5);
    let want = cpu_encode(std::slice::from_ref(&frame), w, h, 20, false);
    let mut gpu = CudaIntraEncoder::new(0, params(w as u32, h as u32), 20).expect("encoder");
    let ctx = framepress_cuda::runtime::open_device(0).expect("device");
    let pitch = 64usize;
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let mut host = vec![0u8; pitch * (h + 2 * ch)];
    for y in 0..h {
        host[y * pitch..y * pitch + w].copy_from_slice(frame.y.row(y));
    }
    for (k, plane) in [&frame.u, &frame.v].into_iter().enumerate() {
        for y in 0..ch {
            let at = pitch * (h + k * ch + y);
            host[at..at + cw].copy_from_slice(plane.row(y));
        }
    }
    let stream = ctx.new_stream().expect("stream");
    let dev =
        framepress_cuda::buffer::DeviceBuffer::new(&ctx, host.len(), "test frame").expect("alloc");
    dev.upload(&stream, 0, &host).expect("upload");
    let df = DeviceFrame {
        format: PixelFormat::Yuv420p,
        planes: [
            (dev.ptr(), pitch),
            (dev.at(pitch * h), pitch),
            (dev.at(pitch * (h + ch)), pitch),
        ],
        stream: stream.cu_stream(),
    };
    let got = gpu.encode_device(&[df]).expect("gpu encode");
    assert!(got[0].nals == want[0].nals && got[0].recon == want[0].recon);
}
