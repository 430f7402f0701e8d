//! H.264 codec core: pure functions over planes. No I/O, no CUDA.

pub mod bits;
pub mod cavlc;
pub mod cavlc_tables;
pub mod frame;
pub mod nal;
