//! Throughput on the GPU (run with `--ignored`): device frames → NAL units at
//! qp 26, natural-like content, and the time to the first packet.

mod common;

use std::time::Instant;

use common::{gpu_present, params, picture, Content};
use framepress_cuda::buffer::DeviceBuffer;
use framepress_cuda::runtime::open_device;
use framepress_cuda::{CudaIntraEncoder, DeviceFrame, PixelFormat};

/// `frames` device frames cycling over 8 distinct pictures.
fn device_frames(w: usize, h: usize, frames: usize) -> (DeviceBuffer, Vec<DeviceFrame>) {
    let ctx = open_device(0).expect("device");
    let stream = ctx.new_stream().expect("stream");
    let distinct = 8;
    let bytes = PixelFormat::Yuv420p.frame_bytes(w, h);
    let dev = DeviceBuffer::new(&ctx, bytes * distinct, "bench frames").expect("alloc");
    for i in 0..distinct {
        let f = picture(Content::Natural, w, h, i as u64 + 1);
        dev.upload(&stream, i * bytes, &f.to_i420())
            .expect("upload");
    }
    stream.synchronize().expect("upload done");
    let list = (0..frames)
        .map(|i| DeviceFrame::packed(PixelFormat::Yuv420p, dev.at((i % distinct) * bytes), w, h))
        .collect();
    (dev, list)
}

fn throughput(w: usize, h: usize, frames: usize, batch: Option<usize>) {
    let (_dev, list) = device_frames(w, h, frames);
    let t = Instant::now();
    let mut enc = CudaIntraEncoder::new(0, params(w as u32, h as u32), 26).expect("encoder");
    enc.set_keep_recon(false);
    enc.encode_device(&list[..1]).expect("first frame");
    let warm_ms = t.elapsed().as_secs_f64() * 1e3;
    if let Some(b) = batch {
        enc.set_max_batch(b);
    }
    let batch = enc.max_batch();
    enc.encode_device(&list[..batch.min(frames)])
        .expect("warm-up");
    let t = Instant::now();
    let out = enc.encode_device(&list).expect("encode");
    let secs = t.elapsed().as_secs_f64();
    let total: usize = out.iter().map(|f| f.nals[0].len()).sum();
    eprintln!(
        "BENCH {w}x{h} qp 26 on {}: {:.0} fps ({frames} frames, batch {batch}, {:.1} KB/frame); \
         new encoder to first packet in a warm process {warm_ms:.0} ms",
        enc.device_name(),
        frames as f64 / secs,
        total as f64 / frames as f64 / 1024.0,
    );
}

#[test]
#[ignore]
fn throughput_1080p_and_720p() {
    if !gpu_present("throughput") {
        return;
    }
    let n = std::env::var("FRAMEPRESS_BENCH_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512);
    // FRAMEPRESS_BENCH_QUICK=1: only the default batch size.
    let quick = std::env::var("FRAMEPRESS_BENCH_QUICK").is_ok_and(|v| v == "1");
    let batches: &[usize] = if quick { &[128] } else { &[32, 64, 128] };
    for &batch in batches {
        throughput(1920, 1080, n, Some(batch));
    }
    throughput(1280, 720, n, None);
}

/// Run alone in a fresh process: creating the first encoder (CUDA context,
/// kernels from the cache or NVRTC) and coding one 1080p frame.
#[test]
#[ignore]
fn first_packet_in_a_new_process() {
    if !gpu_present("first_packet") {
        return;
    }
    let (w, h) = (1920usize, 1080usize);
    let t = Instant::now();
    let mut enc = CudaIntraEncoder::new(0, params(w as u32, h as u32), 26).expect("encoder");
    let created = t.elapsed().as_secs_f64() * 1e3;
    let (_dev, list) = device_frames(w, h, 1);
    let t = Instant::now();
    enc.encode_device(&list).expect("frame");
    let coded = t.elapsed().as_secs_f64() * 1e3;
    eprintln!(
        "FIRST PACKET 1080p on {}: encoder created in {created:.0} ms, first frame coded in {coded:.0} ms, \
         total {:.0} ms",
        enc.device_name(),
        created + coded
    );
}

/// `n` distinct panning device frames.
fn panning_device_frames(w: usize, h: usize, n: usize) -> (DeviceBuffer, Vec<DeviceFrame>) {
    let ctx = open_device(0).expect("device");
    let stream = ctx.new_stream().expect("stream");
    let bytes = PixelFormat::Yuv420p.frame_bytes(w, h);
    let dev = DeviceBuffer::new(&ctx, bytes * n, "bench frames").expect("alloc");
    for i in 0..n {
        let f = common::panned(w, h, i, 1);
        dev.upload(&stream, i * bytes, &f.to_i420())
            .expect("upload");
    }
    stream.synchronize().expect("upload done");
    let list = (0..n)
        .map(|i| DeviceFrame::packed(PixelFormat::Yuv420p, dev.at(i * bytes), w, h))
        .collect();
    (dev, list)
}

fn gop_throughput(w: usize, h: usize, medium: bool, gops: usize) {
    use avc::encoder::EncoderSettings;
    use avc::me::MeParams;
    use framepress_cuda::CudaEncoder;
    let gop = 30usize;
    let (_dev, list) = panning_device_frames(w, h, gop);
    let settings = EncoderSettings {
        gop: gop as u32,
        deblock: true,
        me: if medium {
            MeParams {
                max_steps: 32,
                subpel_rounds: 3,
                partitions: true,
            }
        } else {
            MeParams {
                max_steps: 4,
                subpel_rounds: 0,
                partitions: false,
            }
        },
        lossless: false,
        intra4x4: medium,
    };
    let mut enc = CudaEncoder::new(0, params(w as u32, h as u32), settings).expect("encoder");
    enc.set_keep_recon(false);
    // Pictures per step (GOPs coded together); the default fits 4 GiB of buffers.
    if let Some(b) = std::env::var("FRAMEPRESS_BENCH_MAX_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        enc.set_max_batch(b);
    }
    let qps: Vec<u8> = (0..gop).map(|i| if i == 0 { 23 } else { 26 }).collect();
    enc.encode_device(&list[..2], &qps[..2]).expect("warm-up");
    enc.reset_stream().expect("reset");
    // One stream: picture after picture.
    let t = Instant::now();
    let out = enc.encode_device(&list, &qps).expect("encode");
    let one = gop as f64 / t.elapsed().as_secs_f64();
    let kb = out.iter().map(|f| f.nals[0].len()).sum::<usize>() as f64 / gop as f64 / 1024.0;
    // Independent GOPs side by side.
    let lanes: Vec<&[DeviceFrame]> = (0..gops).map(|_| &list[..]).collect();
    enc.encode_gops_device(&lanes[..1], 23, 26)
        .expect("warm-up");
    let t = Instant::now();
    enc.encode_gops_device(&lanes, 23, 26).expect("encode gops");
    let many = (gop * gops) as f64 / t.elapsed().as_secs_f64();
    eprintln!(
        "BENCH GOP {gop} {w}x{h} qp 26 (IDR 23) {} on {}: one stream {one:.0} fps ({kb:.1} KB/frame); \
         {gops} GOPs side by side {many:.0} fps (steps of up to {} pictures)",
        if medium { "medium" } else { "ultrafast" },
        enc.device_name(),
        enc.max_batch(),
    );
}

#[test]
#[ignore]
fn gop_throughput_1080p_and_720p() {
    if !gpu_present("gop_throughput") {
        return;
    }
    let gops = std::env::var("FRAMEPRESS_BENCH_GOPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    for medium in [false, true] {
        gop_throughput(1920, 1080, medium, gops);
        gop_throughput(1280, 720, medium, gops);
    }
}
