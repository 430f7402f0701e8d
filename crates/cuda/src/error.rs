//! Typed errors of the CUDA backend. Nothing here panics on a machine without
//! CUDA: a missing driver, GPU or NVRTC is an error value with a clear message.

use cudarc::driver::{result::DriverError, sys::CUresult};

/// Everything that can go wrong in the CUDA backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CudaError {
    #[error("no CUDA driver found (libcuda.so) — install the NVIDIA driver or use --device cpu")]
    NoDriver,
    #[error(
        "no CUDA GPU found: the driver reports no devices — check the GPU, or use --device cpu"
    )]
    NoDevice,
    #[error("CUDA device {index} does not exist (found {count})")]
    BadDevice { index: usize, count: usize },
    #[error("out of GPU memory while allocating {bytes} bytes for {what}")]
    OutOfMemory { what: &'static str, bytes: usize },
    #[error(
        "NVRTC not found (libnvrtc.so) — the CUDA backend compiles its kernels at run time; install the CUDA \
         runtime compiler (e.g. pip install nvidia-cuda-nvrtc) and set FRAMEPRESS_NVRTC_DIR or LD_LIBRARY_PATH"
    )]
    NoNvrtc,
    #[error("NVRTC could not compile the framepress kernels for {arch}: {log}")]
    Compile { arch: String, log: String },
    #[error("CUDA {op} failed: {detail}")]
    Driver { op: &'static str, detail: String },
    #[error("CUDA kernel {kernel} failed: {detail}")]
    Kernel {
        kernel: &'static str,
        detail: String,
    },
    #[error("frame is {got_w}x{got_h}, the encoder was configured for {want_w}x{want_h}")]
    FrameSize {
        got_w: usize,
        got_h: usize,
        want_w: usize,
        want_h: usize,
    },
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("internal error: access unit of {size} bytes exceeds the proven bound of {bound}")]
    BoundExceeded { size: usize, bound: usize },
}

/// Result alias of the CUDA backend.
pub type Result<T> = std::result::Result<T, CudaError>;

/// The driver's name and description of a status code.
pub(crate) fn describe(e: DriverError) -> String {
    let name = e.error_name().map(|s| s.to_string_lossy().into_owned());
    let text = e.error_string().map(|s| s.to_string_lossy().into_owned());
    match (name, text) {
        (Ok(n), Ok(t)) => format!("{n} ({t})"),
        (Ok(n), Err(_)) => n,
        _ => format!("{:?}", e.0),
    }
}

/// Maps a driver error of operation `op` to a [`CudaError`].
pub(crate) fn driver(op: &'static str) -> impl Fn(DriverError) -> CudaError {
    move |e| CudaError::Driver {
        op,
        detail: describe(e),
    }
}

/// Maps an allocation failure to [`CudaError::OutOfMemory`] when it is one.
pub(crate) fn alloc(what: &'static str, bytes: usize) -> impl Fn(DriverError) -> CudaError {
    move |e| {
        if e.0 == CUresult::CUDA_ERROR_OUT_OF_MEMORY {
            CudaError::OutOfMemory { what, bytes }
        } else {
            CudaError::Driver {
                op: "memory allocation",
                detail: describe(e),
            }
        }
    }
}

/// Maps a failure seen while running or waiting for `kernel` (launch errors
/// and asynchronous faults such as an illegal address).
pub(crate) fn kernel(kernel: &'static str) -> impl Fn(DriverError) -> CudaError {
    move |e| CudaError::Kernel {
        kernel,
        detail: describe(e),
    }
}
