//! framepress's CUDA backend: the H.264 encoder's stages as CUDA kernels,
//! compiled at run time by NVRTC, producing exactly the bytes of the CPU
//! encoder in `avc`.
//!
//! Nothing is linked against CUDA at build time: the driver (`libcuda`) and
//! NVRTC (`libnvrtc`) are loaded when an encoder is created, and their
//! absence is an error ([`CudaError::NoDriver`], [`CudaError::NoNvrtc`]),
//! never a crash.

pub mod buffer;
pub mod colour;
pub mod encoder;
pub mod error;
pub mod kernels;
mod profile;
pub mod runtime;
pub mod source;
mod stages;

pub use colour::{Coefficients, PixelFormat};
pub use encoder::{Checkpoint, CudaEncoder, CudaIntraEncoder};
pub use error::{CudaError, Result};
pub use source::{DeviceFrame, HostFrame};

#[cfg(test)]
mod tests {
    /// The encoder can move to another thread (e.g. a pipeline's worker).
    #[test]
    fn encoder_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<crate::CudaIntraEncoder>();
        assert_send::<crate::CudaEncoder>();
    }
}
