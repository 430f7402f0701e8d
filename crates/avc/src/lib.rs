//! H.264 codec core: pure functions over planes. No I/O, no CUDA.

pub mod analyse;
pub mod bits;
pub mod cavlc;
pub mod cavlc_tables;
pub mod deblock;
pub mod decimate;
pub mod encoder;
pub mod frame;
pub mod inter;
pub mod intra;
pub mod lossless;
pub mod macroblock;
pub mod mc;
pub mod me;
pub mod mvpred;
pub mod nal;
pub mod nonzero;
pub mod params;
pub mod picture;
pub mod pixel;
pub mod ratecontrol;
pub mod skip;
pub mod slice;
pub mod syntax;
pub mod transform;
pub(crate) mod wavefront;
