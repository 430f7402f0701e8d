//! One bitstream, two engines: on a machine with a CUDA device, encoding
//! on the GPU gives exactly the bytes of the CPU backend. Without a driver
//! the tests print a note and pass, unless FRAMEPRESS_REQUIRE_GPU=1.

mod common;

use framepress::{Device, EncoderConfig, FileEncoder, PixelFormat, Preset, RateControl};

fn gpu_required() -> bool {
    std::env::var("FRAMEPRESS_REQUIRE_GPU").is_ok_and(|v| v == "1")
}

/// The bytes of an Annex B encode of `frames` on `device`, or the error text.
fn encode(
    device: Device,
    config: &EncoderConfig,
    frames: &[Vec<u8>],
    path: &std::path::Path,
) -> Result<Vec<u8>, String> {
    let mut c = config.clone();
    c.device = device;
    let mut enc = FileEncoder::create(path, &c).map_err(|e| e.to_string())?;
    for f in frames {
        enc.encode_frame(f).map_err(|e| e.to_string())?;
    }
    enc.finish().map_err(|e| e.to_string())?;
    std::fs::read(path).map_err(|e| e.to_string())
}

/// Whether this machine can encode on CUDA device 0.
fn cuda_available() -> bool {
    let dir = common::Scratch::new("cuda-probe");
    let mut c = EncoderConfig::new(16, 16);
    c.gop = 1;
    match encode(
        Device::Cuda(0),
        &c,
        &[vec![0u8; 384]],
        &dir.path("probe.h264"),
    ) {
        Ok(_) => true,
        Err(e) => {
            assert!(
                !gpu_required(),
                "FRAMEPRESS_REQUIRE_GPU=1 but CUDA is unavailable: {e}"
            );
            eprintln!("skipping: {e}");
            false
        }
    }
}

#[test]
fn cuda_bytes_equal_cpu_bytes_over_the_matrix() {
    if !cuda_available() {
        return;
    }
    let dir = common::Scratch::new("cuda-matrix");
    let sizes = [(1, 1), (2, 2), (16, 16), (17, 33), (256, 256), (1920, 1080)];
    let mut cases = 0;
    for (w, h) in sizes {
        let contents: Vec<(&str, Vec<Vec<u8>>)> = vec![
            (
                "random",
                (0..3)
                    .map(|i| common::uniform_random_i420(w, h, i))
                    .collect(),
            ),
            ("solid", vec![common::solid_i420(w, h, [40, 90, 200]); 2]),
            ("gradient", vec![common::gradient_i420(w, h); 2]),
            (
                "natural",
                (0..3)
                    .map(|i| common::natural_i420_at(w, h, 3 * i, 2 * i))
                    .collect(),
            ),
        ];
        for (name, frames) in &contents {
            for (rate, deblock) in [
                (RateControl::Qp(0), true),
                (RateControl::Qp(1), false),
                (RateControl::Qp(20), true),
                (RateControl::Crf(23), true),
                (RateControl::Qp(30), false),
                (RateControl::Qp(51), true),
            ] {
                let mut c = EncoderConfig::new(w, h);
                c.pixel_format = PixelFormat::Yuv420p;
                c.gop = 1;
                c.rate = rate;
                c.deblock = deblock;
                let cpu = encode(Device::Cpu, &c, frames, &dir.path("cpu.h264")).expect("cpu");
                let gpu = encode(Device::Cuda(0), &c, frames, &dir.path("gpu.h264")).expect("cuda");
                assert!(
                    cpu == gpu,
                    "{w}x{h} {name} {rate:?} deblock {deblock}: CUDA bytes differ from CPU bytes"
                );
                cases += 1;
            }
        }
    }
    eprintln!("{cases} cases: CUDA bytes == CPU bytes");
}

/// GOPs with P pictures: IDR + P streams coded on the GPU equal the CPU's
/// bytes, for every preset family (integer search without Intra4x4,
/// quarter-sample search with partitions), constant qp and crf, deblocking
/// on and off, and content that pans, cuts and stands still.
#[test]
fn p_pictures_cuda_bytes_equal_cpu_bytes() {
    if !cuda_available() {
        return;
    }
    let dir = common::Scratch::new("cuda-gop");
    let mut cases = 0;
    for (w, h) in [(16u32, 16u32), (17, 33), (176, 144), (640, 360)] {
        let pan: Vec<Vec<u8>> = (0..10)
            .map(|i| common::natural_i420_at(w, h, 3 * i, 2 * i))
            .collect();
        let mut cut = pan[..5].to_vec();
        cut.extend((0..5).map(|i| common::uniform_random_i420(w, h, 50 + i)));
        let still = vec![common::gradient_i420(w, h); 6];
        for (name, frames) in [("pan", &pan), ("cut", &cut), ("still", &still)] {
            for (gop, preset, rate, deblock) in [
                (4, Preset::Ultrafast, RateControl::Qp(26), true),
                (4, Preset::Medium, RateControl::Crf(23), true),
                (30, Preset::Medium, RateControl::Qp(40), false),
                (30, Preset::Faster, RateControl::Qp(10), true),
                (3, Preset::Superfast, RateControl::Qp(51), true),
            ] {
                let mut c = EncoderConfig::new(w, h);
                c.pixel_format = PixelFormat::Yuv420p;
                c.gop = gop;
                c.preset = preset;
                c.rate = rate;
                c.deblock = deblock;
                let cpu = encode(Device::Cpu, &c, frames, &dir.path("cpu.mp4")).expect("cpu");
                let gpu = encode(Device::Cuda(0), &c, frames, &dir.path("gpu.mp4")).expect("cuda");
                assert!(
                    cpu == gpu,
                    "{w}x{h} {name} gop {gop} {preset:?} {rate:?} deblock {deblock}: CUDA bytes differ from CPU bytes"
                );
                cases += 1;
            }
        }
    }
    eprintln!("{cases} GOP cases with P pictures: CUDA bytes == CPU bytes");
}

/// Lossless coding (transform bypass, 8.5.15 DPCM) on the GPU: the CPU's
/// bytes, intra-only and with P pictures, where macroblocks of both kinds and
/// I_PCM (on noise) occur.
#[test]
fn lossless_on_cuda_gives_the_cpu_bytes() {
    if !cuda_available() {
        return;
    }
    let dir = common::Scratch::new("cuda-lossless");
    let mut cases = 0;
    for (w, h) in [(16, 16), (17, 33), (256, 256), (640, 360)] {
        let contents: Vec<(&str, Vec<Vec<u8>>)> = vec![
            (
                "natural",
                (0..6)
                    .map(|i| common::natural_at(w, h, 3 * i, 2 * i))
                    .collect(),
            ),
            (
                "random",
                (0..3).map(|i| common::uniform_random(w, h, i)).collect(),
            ),
            ("gradient", vec![common::gradient(w, h); 3]),
        ];
        for (name, frames) in &contents {
            for (gop, preset) in [
                (1, Preset::Medium),
                (4, Preset::Ultrafast),
                (250, Preset::Medium),
            ] {
                let mut c = EncoderConfig::new(w, h);
                c.pixel_format = PixelFormat::Rgb24;
                c.gop = gop;
                c.preset = preset;
                c.rate = RateControl::Crf(0);
                let cpu = encode(Device::Cpu, &c, frames, &dir.path("cpu.mp4")).expect("cpu");
                let gpu = encode(Device::Cuda(0), &c, frames, &dir.path("gpu.mp4")).expect("cuda");
                assert!(
                    cpu == gpu,
                    "{w}x{h} {name} gop {gop} {preset:?}: lossless CUDA bytes differ"
                );
                cases += 1;
            }
        }
    }
    eprintln!("{cases} lossless cases: CUDA bytes equal the CPU's");
}

/// Every visible CUDA device gives the CPU's bytes (several GPUs: `cuda:1`
/// equals `cuda:0` equals the CPU), for I and P pictures, each preset family,
/// a target bitrate and lossless coding, with two encoders per device alive
/// at once.
#[test]
fn every_cuda_device_gives_the_cpu_bytes() {
    if !cuda_available() {
        return;
    }
    let devices = framepress::batch::cuda_device_count();
    let dir = common::Scratch::new("cuda-devices");
    let (w, h) = (640u32, 360u32);
    let frames: Vec<Vec<u8>> = (0..12)
        .map(|i| common::natural_i420_at(w, h, 3 * i, 2 * i))
        .collect();
    let mut cases = 0;
    for (gop, preset, rate) in [
        (1, Preset::Ultrafast, RateControl::Qp(20)),
        (6, Preset::Ultrafast, RateControl::Crf(23)),
        (250, Preset::Medium, RateControl::Qp(30)),
        (
            6,
            Preset::Veryfast,
            RateControl::Bitrate {
                bits_per_second: 400_000,
                buffer_bits: 0,
            },
        ),
        (4, Preset::Medium, RateControl::Crf(0)),
    ] {
        let mut c = EncoderConfig::new(w, h);
        c.pixel_format = PixelFormat::Yuv420p;
        c.gop = gop;
        c.preset = preset;
        c.rate = rate;
        let cpu = encode(Device::Cpu, &c, &frames, &dir.path("cpu.mp4")).expect("cpu");
        // Both files of a device are encoded by encoders alive at the same time.
        std::thread::scope(|s| {
            let runs: Vec<_> = (0..devices)
                .flat_map(|d| (0..2).map(move |k| (d, k)))
                .map(|(d, k)| {
                    let (c, frames, dir) = (&c, &frames, &dir);
                    s.spawn(move || {
                        let path = dir.path(format!("cuda{d}-{k}.mp4"));
                        (d, encode(Device::Cuda(d as u32), c, frames, &path))
                    })
                })
                .collect();
            for run in runs {
                let (d, bytes) = run.join().expect("encoder thread");
                let bytes = bytes.unwrap_or_else(|e| panic!("cuda:{d}: {e}"));
                assert!(
                    bytes == cpu,
                    "gop {gop} {preset:?} {rate:?}: cuda:{d} bytes differ from the CPU's"
                );
                cases += 1;
            }
        });
    }
    eprintln!("{cases} encodes on {devices} CUDA device(s): every one equals the CPU's bytes");
}

/// The case that crashes NVENC: 10 uniform-random 256×256 frames at qp 1,
/// as NV12 and as RGB, finish on the GPU with the CPU's bytes.
#[test]
fn random_frames_at_qp1_on_cuda() {
    if !cuda_available() {
        return;
    }
    let dir = common::Scratch::new("cuda-seed");
    for format in [PixelFormat::Nv12, PixelFormat::Rgb24] {
        let frames: Vec<Vec<u8>> = (0..10)
            .map(|i| common::SplitMix64::new(i).bytes(format.frame_bytes(256, 256)))
            .collect();
        let mut c = EncoderConfig::new(256, 256);
        c.pixel_format = format;
        c.gop = 1;
        c.rate = RateControl::Qp(1);
        let cpu = encode(Device::Cpu, &c, &frames, &dir.path("cpu.mp4")).expect("cpu");
        let gpu = encode(Device::Cuda(0), &c, &frames, &dir.path("gpu.mp4")).expect("cuda");
        assert!(cpu == gpu, "{format:?}: CUDA MP4 differs from CPU MP4");
    }
}

#[test]
fn missing_cuda_device_is_a_clear_error() {
    let dir = common::Scratch::new("cuda-missing");
    let mut c = EncoderConfig::new(16, 16);
    c.gop = 1;
    let err = encode(
        Device::Cuda(1000),
        &c,
        &[vec![0u8; 384]],
        &dir.path("x.h264"),
    )
    .expect_err("device 1000");
    assert!(
        err.contains("does not exist") || err.contains("no CUDA driver") || err.contains("CUDA"),
        "unclear error: {err}"
    );
    assert!(!dir.path("x.h264").exists());
}

/// Device memory holding a copy of host bytes, freed on drop.
struct DeviceCopy {
    ptr: u64,
}

impl DeviceCopy {
    fn new(ctx: &cudarc::driver::CudaContext, bytes: &[u8]) -> DeviceCopy {
        ctx.bind_to_thread().expect("bind the context");
        // SAFETY: a fresh allocation of `bytes.len()` bytes, filled from `bytes`.
        unsafe {
            let ptr = cudarc::driver::result::malloc_sync(bytes.len().max(1)).expect("cuMemAlloc");
            cudarc::driver::result::memcpy_htod_sync(ptr, bytes).expect("cuMemcpyHtoD");
            DeviceCopy { ptr }
        }
    }
}

impl Drop for DeviceCopy {
    fn drop(&mut self) {
        // SAFETY: allocated by malloc_sync and no longer read (every send waits for its frames).
        let _ = unsafe { cudarc::driver::result::free_sync(self.ptr) };
    }
}

/// Lays a tightly packed frame out with each plane's rows `pad` bytes apart
/// beyond their width, planes back to back; returns the bytes and each
/// plane's (offset, pitch).
fn with_pitch(
    format: PixelFormat,
    frame: &[u8],
    w: u32,
    h: u32,
    pad: usize,
) -> (Vec<u8>, Vec<(usize, usize)>) {
    let (cw, ch) = (w.div_ceil(2) as usize, h.div_ceil(2) as usize);
    let (w, h) = (w as usize, h as usize);
    let planes: Vec<(usize, usize)> = match format {
        PixelFormat::Rgb24 => vec![(3 * w, h)],
        PixelFormat::Rgb24Planar => vec![(w, h); 3],
        PixelFormat::Yuv420p => vec![(w, h), (cw, ch), (cw, ch)],
        PixelFormat::Nv12 => vec![(w, h), (2 * cw, ch)],
    };
    let (mut out, mut layout, mut src) = (Vec::new(), Vec::new(), 0);
    for (row, rows) in planes {
        layout.push((out.len(), row + pad));
        for _ in 0..rows {
            out.extend_from_slice(&frame[src..src + row]);
            out.resize(out.len() + pad, 0xA5);
            src += row;
        }
    }
    (out, layout)
}

/// The Annex B-free packet bytes of `frames` through `send_frame` on the CPU.
fn cpu_packets(config: &EncoderConfig, frames: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut enc = framepress::Encoder::new(config.clone()).expect("cpu encoder");
    let mut out = Vec::new();
    for f in frames {
        enc.send_frame(f).expect("send_frame");
        while let Some(p) = enc.receive_packet() {
            out.push(p.nals.concat());
        }
    }
    enc.flush().expect("flush");
    while let Some(p) = enc.receive_packet() {
        out.push(p.nals.concat());
    }
    out
}

#[test]
fn device_frames_give_the_bytes_of_host_frames() {
    if !cuda_available() {
        return;
    }
    let ctx = cudarc::driver::CudaContext::new(0).expect("CUDA context");
    let mut cases = 0;
    for (w, h) in [(17, 33), (256, 256), (640, 360)] {
        for format in [
            PixelFormat::Rgb24,
            PixelFormat::Rgb24Planar,
            PixelFormat::Yuv420p,
            PixelFormat::Nv12,
        ] {
            // GOP 2 and 3: the second call holds whole GOPs, coded side by
            // side (after one picture that ends a GOP, for GOP 2).
            for gop in [1, 2, 3, 8] {
                let mut config = EncoderConfig::new(w, h);
                config.pixel_format = format;
                config.gop = gop;
                config.preset = Preset::Medium;
                // GOP 2 with a target bitrate: device frames coded picture
                // after picture, each at the rate controller's qp.
                config.rate = if gop == 2 {
                    RateControl::Bitrate {
                        bits_per_second: 200_000,
                        buffer_bits: 0,
                    }
                } else {
                    RateControl::Crf(20)
                };
                let frames: Vec<Vec<u8>> = (0..10)
                    .map(|i| common::SplitMix64::new(i).bytes(config.frame_bytes()))
                    .map(|noise| {
                        let base = common::natural_at(w, h, 3 * i64::from(noise[0] % 4), 2);
                        blend_into_format(&config, &base, &noise)
                    })
                    .collect();
                let want = cpu_packets(&config, &frames);

                config.device = Device::Cuda(0);
                let mut enc = framepress::Encoder::new(config.clone()).expect("cuda encoder");
                let copies: Vec<(DeviceCopy, Vec<(usize, usize)>)> = frames
                    .iter()
                    .map(|f| {
                        let (bytes, layout) = with_pitch(format, f, w, h, 13);
                        (DeviceCopy::new(&ctx, &bytes), layout)
                    })
                    .collect();
                let device: Vec<framepress::DeviceFrame> = copies
                    .iter()
                    .map(|(copy, layout)| {
                        let mut planes = [(0u64, 0usize); 3];
                        for (p, &(offset, pitch)) in planes.iter_mut().zip(layout) {
                            *p = (copy.ptr + offset as u64, pitch);
                        }
                        framepress::DeviceFrame { planes, stream: 0 }
                    })
                    .collect();
                // Two calls, so that a GOP spans them (GOP 8), or the second
                // starts at a GOP boundary with whole GOPs (GOP 3).
                enc.send_device_frames(&device[..3]).expect("device frames");
                enc.send_device_frames(&device[3..]).expect("device frames");
                enc.flush().expect("flush");
                let mut got = Vec::new();
                while let Some(p) = enc.receive_packet() {
                    got.push(p.nals.concat());
                }
                assert_eq!(got.len(), want.len(), "{w}x{h} {format:?} gop {gop}");
                for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                    assert!(a == b, "{w}x{h} {format:?} gop {gop}: picture {i} differs");
                }
                cases += 1;
            }
        }
    }
    eprintln!("{cases} device-frame cases equal the host-frame bytes");
}

/// A frame of `config`'s format: natural RGB content with some noise, or
/// for YUV formats the noise itself (any bytes are valid YUV).
fn blend_into_format(config: &EncoderConfig, rgb: &[u8], noise: &[u8]) -> Vec<u8> {
    match config.pixel_format {
        PixelFormat::Rgb24 => rgb
            .iter()
            .zip(noise)
            .map(|(&a, &n)| a.wrapping_add(n % 8))
            .collect(),
        PixelFormat::Rgb24Planar => {
            let px = rgb.len() / 3;
            (0..3)
                .flat_map(|c| (0..px).map(move |i| (c, i)))
                .map(|(c, i)| rgb[3 * i + c].wrapping_add(noise[c * px + i] % 8))
                .collect()
        }
        PixelFormat::Yuv420p | PixelFormat::Nv12 => noise.to_vec(),
    }
}

#[test]
fn device_frames_on_a_cpu_encoder_are_a_clear_error() {
    let mut enc = framepress::Encoder::new(EncoderConfig::new(16, 16)).expect("encoder");
    let frame = framepress::DeviceFrame::packed(PixelFormat::Rgb24, 0x1000, 16, 16);
    let err = enc
        .send_device_frames(&[frame])
        .expect_err("device frames on the CPU")
        .to_string();
    assert!(
        err.contains("need an encoder on a CUDA device") && err.contains("cpu"),
        "{err}"
    );
}

/// A target bitrate on the GPU: each picture's qp, and each VBV re-encode at
/// a higher qp, as on the CPU, so the same bytes.
#[test]
fn bitrate_on_cuda_gives_the_cpu_bytes() {
    if !cuda_available() {
        return;
    }
    let dir = common::Scratch::new("cuda-bitrate");
    let (w, h) = (320, 192);
    let frames: Vec<Vec<u8>> = (0..24)
        .map(|i| {
            // Panning natural content with a burst of noise in the middle: the
            // VBV buffer overflows there and pictures are coded again.
            let mut f = common::natural_at(w, h, 5 * i, 3 * i);
            if (10..14).contains(&i) {
                let noise = common::uniform_random(w, h, i as u64);
                f.iter_mut()
                    .zip(noise)
                    .for_each(|(a, n)| *a = a.wrapping_add(n / 2));
            }
            f
        })
        .collect();
    let mut cases = 0;
    for (bits, buffer, gop) in [
        (150_000, 0, 8),
        (60_000, 30_000, 12),
        (400_000, 100_000, 1),
        (2_000_000, 0, 250),
    ] {
        for preset in [Preset::Ultrafast, Preset::Medium] {
            let mut c = EncoderConfig::new(w, h);
            c.pixel_format = PixelFormat::Rgb24;
            c.gop = gop;
            c.preset = preset;
            c.rate = RateControl::Bitrate {
                bits_per_second: bits,
                buffer_bits: buffer,
            };
            let cpu = encode(Device::Cpu, &c, &frames, &dir.path("cpu.mp4")).expect("cpu");
            let gpu = encode(Device::Cuda(0), &c, &frames, &dir.path("gpu.mp4")).expect("cuda");
            assert!(
                cpu == gpu,
                "bitrate {bits} buffer {buffer} gop {gop} {preset:?}: CUDA bytes differ"
            );
            cases += 1;
        }
    }
    eprintln!("{cases} bitrate cases: CUDA bytes equal the CPU's");
}
