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
                early_skip: false,
            }
        } else {
            MeParams {
                max_steps: 4,
                subpel_rounds: 0,
                partitions: false,
                early_skip: true,
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

/// Raw I420 clips named by `FRAMEPRESS_BENCH_CLIPS` (`PATH:WxH,...`).
fn bench_clips() -> Vec<(std::path::PathBuf, usize, usize)> {
    let Ok(list) = std::env::var("FRAMEPRESS_BENCH_CLIPS") else {
        return Vec::new();
    };
    list.split(',')
        .filter_map(|item| {
            let (path, size) = item.rsplit_once(':')?;
            let (w, h) = size.split_once('x')?;
            Some((path.into(), w.parse().ok()?, h.parse().ok()?))
        })
        .collect()
}

/// The frames of a raw I420 clip, uploaded to device memory.
fn clip_device_frames(
    path: &std::path::Path,
    w: usize,
    h: usize,
) -> (DeviceBuffer, Vec<DeviceFrame>, usize) {
    let data = std::fs::read(path).expect("read the clip");
    let bytes = PixelFormat::Yuv420p.frame_bytes(w, h);
    let n = data.len() / bytes;
    assert!(
        n >= 30,
        "{}: {n} frames, at least 30 needed",
        path.display()
    );
    let ctx = open_device(0).expect("device");
    let stream = ctx.new_stream().expect("stream");
    let dev = DeviceBuffer::new(&ctx, bytes * n, "bench clip").expect("alloc");
    dev.upload(&stream, 0, &data[..bytes * n]).expect("upload");
    stream.synchronize().expect("upload done");
    let list = (0..n)
        .map(|i| DeviceFrame::packed(PixelFormat::Yuv420p, dev.at(i * bytes), w, h))
        .collect();
    (dev, list, n)
}

/// Muxes GOPs (in order) into a faststart MP4 in memory; returns its size.
fn mux_mp4(
    sps: &[u8],
    pps: &[u8],
    w: usize,
    h: usize,
    gops: &[Vec<avc::encoder::EncodedFrame>],
) -> usize {
    use framepress::{Format, MediaWriter, Output, OutputOptions, Rational, VideoStreamInfo};
    let buffer = std::io::Cursor::new(Vec::new());
    let options = OutputOptions {
        format: Some(Format::Mp4),
        ..OutputOptions::default()
    };
    let mut writer = MediaWriter::new(Output::seekable(buffer, "bench.mp4"), Format::Mp4, &options)
        .expect("writer");
    let id = writer
        .add_video_stream(&VideoStreamInfo {
            width: w as u32,
            height: h as u32,
            frame_rate: Rational::new(30, 1),
            sps: sps.to_vec(),
            pps: pps.to_vec(),
        })
        .expect("stream");
    for frame in gops.iter().flatten() {
        writer.write_nals(id, &frame.nals, frame.idr).expect("mux");
    }
    writer.finish().expect("finish").bytes as usize
}

/// x264 ultrafast at qp 26, GOP 30, every core, on the same raw clip (looped
/// to at least `frames` frames), to an MP4 file: frames per second.
fn x264_fps(
    path: &std::path::Path,
    w: usize,
    h: usize,
    clip_frames: usize,
    frames: usize,
) -> Option<f64> {
    let ffmpeg = std::env::var("FRAMEPRESS_FFMPEG").ok()?;
    let loops = frames.div_ceil(clip_frames).saturating_sub(1);
    let out = std::env::temp_dir().join("framepress-bench-x264.mp4");
    let t = Instant::now();
    let status = std::process::Command::new(ffmpeg)
        .args(["-v", "error", "-y", "-stream_loop", &loops.to_string()])
        .args([
            "-f",
            "rawvideo",
            "-pix_fmt",
            "yuv420p",
            "-s",
            &format!("{w}x{h}"),
            "-r",
            "30",
        ])
        .arg("-i")
        .arg(path)
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-qp",
            "26",
            "-g",
            "30",
        ])
        .arg(&out)
        .status()
        .ok()?;
    let secs = t.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&out);
    status
        .success()
        .then(|| ((loops + 1) * clip_frames) as f64 / secs)
}

/// Device frames of real clips → MP4 bytes in memory, GOP 30, qp 26,
/// ultrafast, with `FRAMEPRESS_BENCH_GOPS` GOPs (default 128) side by side,
/// beside x264 ultrafast on the same host (FRAMEPRESS_FFMPEG) in the same run.
#[test]
#[ignore]
fn clips_to_mp4_beside_x264() {
    use avc::encoder::EncoderSettings;
    use avc::me::MeParams;
    use framepress_cuda::CudaEncoder;
    if !gpu_present("clips_to_mp4") {
        return;
    }
    let lanes: usize = std::env::var("FRAMEPRESS_BENCH_GOPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128);
    for (path, w, h) in bench_clips() {
        let (_dev, list, n) = clip_device_frames(&path, w, h);
        let gop = 30;
        let settings = EncoderSettings {
            gop: gop as u32,
            deblock: true,
            me: MeParams {
                max_steps: 4,
                subpel_rounds: 0,
                partitions: false,
                early_skip: true,
            },
            lossless: false,
            intra4x4: false,
        };
        let mut enc = CudaEncoder::new(0, params(w as u32, h as u32), settings).expect("encoder");
        enc.set_keep_recon(false);
        enc.set_max_batch(lanes);
        // Lane k codes the 30 frames from (7k mod (n - 29)): different content per GOP.
        let starts: Vec<usize> = (0..lanes).map(|k| (7 * k) % (n - gop + 1)).collect();
        let gops: Vec<&[DeviceFrame]> = starts.iter().map(|&s| &list[s..s + gop]).collect();
        enc.encode_gops_device(&gops[..1], 26, 26).expect("warm-up");
        let t = Instant::now();
        let coded = enc.encode_gops_device(&gops, 26, 26).expect("encode");
        let encoded = t.elapsed().as_secs_f64();
        let bytes = mux_mp4(enc.sps(), enc.pps(), w, h, &coded);
        let total = t.elapsed().as_secs_f64();
        let frames = lanes * gop;
        let x264 = x264_fps(&path, w, h, n, 600)
            .map_or("not run (set FRAMEPRESS_FFMPEG)".to_string(), |f| {
                format!("{f:.0} fps")
            });
        eprintln!(
            "BENCH-MP4 {} {w}x{h} qp 26 GOP 30 ultrafast on {}: {frames} frames ({lanes} GOPs) device \
             frames → MP4 {:.0} fps (coding alone {:.0} fps), {:.1} KB/frame; x264 ultrafast qp 26, all \
             cores, raw file → MP4: {x264}",
            path.file_name().map_or(String::new(), |f| f.to_string_lossy().into_owned()),
            enc.device_name(),
            frames as f64 / total,
            frames as f64 / encoded,
            bytes as f64 / frames as f64 / 1024.0,
        );
    }
}
