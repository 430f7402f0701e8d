//! A CPU-encoded and a CUDA-encoded video stream (different sizes and
//! rates) and an audio stream in one file. Runs where a CUDA device opens and
//! skips elsewhere. With `FRAMEPRESS_MIXED_OUT=DIR` it also leaves the file
//! and both streams' reconstructions (raw I420) in DIR, to be decoded on a
//! machine that has FFmpeg.

mod common;
mod media;

use std::path::PathBuf;

use framepress::{
    AudioCodec, AudioConfig, Device, Encoder, EncoderConfig, MediaWriter, OutputOptions,
    RateControl, Rational,
};

fn config(w: u32, h: u32, rate: Rational, gop: u32, device: Device) -> EncoderConfig {
    let mut c = EncoderConfig::new(w, h);
    c.rate = RateControl::Qp(24);
    c.gop = gop;
    c.frame_rate = rate;
    c.device = device;
    c.keep_reconstruction = true;
    c
}

#[test]
fn cpu_and_cuda_streams_in_one_file() {
    let cuda = config(128, 96, Rational::new(30, 1), 1, Device::Cuda(0));
    if let Err(e) = Encoder::new(cuda.clone()) {
        eprintln!("skipping: no CUDA encoder here ({e})");
        return;
    }
    let keep = std::env::var_os("FRAMEPRESS_MIXED_OUT").map(PathBuf::from);
    let scratch = common::Scratch::new("mixed-devices");
    let dir = keep.clone().unwrap_or_else(|| scratch.dir().to_path_buf());
    let path = dir.join("mixed.mp4");
    let mut w = MediaWriter::create(&path, &OutputOptions::default()).unwrap();
    let cpu = w
        .add_video(&config(96, 64, Rational::new(25, 1), 8, Device::Cpu))
        .unwrap();
    let gpu = w.add_video(&cuda).unwrap();
    let audio = w
        .add_audio(&AudioConfig {
            codec: AudioCodec::Pcm,
            ..AudioConfig::new(48_000, 2)
        })
        .unwrap();
    let (mut recon_cpu, mut recon_gpu) = (Vec::new(), Vec::new());
    for i in 0..30 {
        if i < 25 {
            let f = common::natural_i420_at(96, 64, 4 * i, 2 * i);
            w.encode_frame(cpu, &f).unwrap();
        }
        let f = common::natural_i420_at(128, 96, 3 * i, 5 * i);
        w.encode_frame(gpu, &f).unwrap();
        w.add_samples(audio, &media::tones_planar(48_000, 2, 1600))
            .unwrap();
        recon_cpu.extend(w.take_reconstructions(cpu).iter().map(|r| r.to_i420()));
        recon_gpu.extend(w.take_reconstructions(gpu).iter().map(|r| r.to_i420()));
    }
    // The CUDA encoder codes in batches: the last ones come with the end.
    w.end_stream(gpu).unwrap();
    recon_gpu.extend(w.take_reconstructions(gpu).iter().map(|r| r.to_i420()));
    let summary = w.finish().unwrap();
    assert_eq!(summary.streams[0].frames, 25);
    assert_eq!(summary.streams[1].frames, 30);
    assert_eq!((recon_cpu.len(), recon_gpu.len()), (25, 30));
    if keep.is_some() {
        std::fs::write(dir.join("cpu.yuv"), recon_cpu.concat()).unwrap();
        std::fs::write(dir.join("gpu.yuv"), recon_gpu.concat()).unwrap();
    }
    if common::ffmpeg().is_none() {
        return;
    }
    let a = media::decode_video(&path, 0, 96, 64);
    common::assert_i420_frames_equal(&a, &recon_cpu, 96, 64);
    let b = media::decode_video(&path, 1, 128, 96);
    common::assert_i420_frames_equal(&b, &recon_gpu, 128, 96);
}
