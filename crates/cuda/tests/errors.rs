//! Errors, not crashes: a missing driver, a bad device index and bad input
//! are error values with clear messages.

mod common;

use avc::frame::YuvFrame;
use common::{gpu_present, params};
use framepress_cuda::{runtime, CudaError, CudaIntraEncoder, DeviceFrame, PixelFormat};

#[test]
fn no_driver_or_bad_index_is_an_error() {
    match CudaIntraEncoder::new(1000, params(16, 16), 26) {
        Err(CudaError::NoDriver) => {
            assert!(!runtime::driver_available());
            let text = CudaError::NoDriver.to_string();
            assert!(text.contains("no CUDA driver found") && text.contains("--device cpu"));
        }
        Err(CudaError::NoDevice) => {}
        Err(CudaError::BadDevice { index, count }) => {
            assert_eq!(index, 1000);
            let text = CudaError::BadDevice { index, count }.to_string();
            assert_eq!(
                text,
                format!("CUDA device 1000 does not exist (found {count})")
            );
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("device 1000 exists?"),
    }
}

#[test]
fn bad_frames_are_errors() {
    if !gpu_present("bad_frames_are_errors") {
        return;
    }
    let mut enc = CudaIntraEncoder::new(0, params(32, 16), 26).expect("encoder");
    assert!(matches!(
        enc.encode(&YuvFrame::new(16, 16)),
        Err(CudaError::FrameSize { .. })
    ));
    let null = DeviceFrame::packed(PixelFormat::Nv12, 0, 32, 16);
    assert!(matches!(
        enc.encode_device(&[null]),
        Err(CudaError::InvalidInput(_))
    ));
    let short = framepress_cuda::HostFrame {
        format: PixelFormat::Rgb24,
        data: &[0u8; 10],
    };
    assert!(matches!(
        enc.encode_host(&[short]),
        Err(CudaError::InvalidInput(_))
    ));
    // The encoder still works after rejected input.
    enc.encode(&YuvFrame::new(32, 16)).expect("encodes");
}

#[test]
fn out_of_gpu_memory_is_an_error_and_the_device_recovers() {
    if !gpu_present("out_of_gpu_memory_is_an_error_and_the_device_recovers") {
        return;
    }
    // 128 pictures of 8192x8192 per step, two step buffer sets: far beyond
    // any GPU's memory.
    let (w, h) = (8192, 8192);
    let settings = avc::encoder::EncoderSettings {
        gop: 1,
        deblock: true,
        me: avc::me::MeParams {
            max_steps: 4,
            subpel_rounds: 0,
            partitions: false,
            early_skip: true,
        },
        lossless: false,
        intra4x4: false,
    };
    let mut enc = framepress_cuda::CudaEncoder::new(0, params(w, h), settings).expect("encoder");
    enc.set_max_batch(128);
    enc.set_keep_recon(false);
    let frame = YuvFrame::new(w as usize, h as usize);
    let frames = vec![frame; 128];
    let qps = vec![30u8; frames.len()];
    match enc.encode_batch(&frames, &qps) {
        Err(e @ CudaError::OutOfMemory { .. }) => {
            let text = e.to_string();
            assert!(
                text.starts_with("out of GPU memory while allocating"),
                "{text}"
            );
            eprintln!("as expected: {text}");
        }
        Err(e) => panic!("expected an out-of-memory error, got: {e}"),
        Ok(_) => panic!("128 pictures of 8192x8192 fit in GPU memory?"),
    }
    drop(enc);
    // The failed allocations left nothing behind: a new encoder works.
    let mut small = CudaIntraEncoder::new(0, params(64, 64), 26).expect("encoder after OOM");
    small
        .encode(&YuvFrame::new(64, 64))
        .expect("encodes after OOM");
}
