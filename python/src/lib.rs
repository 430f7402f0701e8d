//! Python bindings of framepress: the native module `framepress._framepress`.
//!
//! The Python layer (`python/framepress/__init__.py`) gives the TorchCodec-style
//! API; this module does the work: it reads frames through DLPack without
//! copying them, maps the encoding options, and runs the encoder with the GIL
//! released.

mod backend;
mod dlpack;
mod encoder;
mod error;
mod frames;
mod options;
mod output;

use pyo3::prelude::*;

#[pymodule]
fn _framepress(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("EXTRA_OPTIONS", options::EXTRA_OPTIONS.to_vec())?;
    m.add_class::<encoder::NativeEncoder>()?;
    m.add_function(wrap_pyfunction!(encoder::inspect_frames, m)?)?;
    m.add_function(wrap_pyfunction!(backend::cuda_device_count, m)?)?;
    m.add_function(wrap_pyfunction!(backend::check_device, m)?)?;
    Ok(())
}
