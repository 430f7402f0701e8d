//! framepress: raw frames in, H.264 in MP4 or Annex B out.

pub mod config;
pub mod error;

pub use config::{ColourMatrix, ColourRange, Device, EncoderConfig, PixelFormat, Rational};
pub use error::{Error, Result};
pub mod file;

pub use avc::frame::{Plane, YuvFrame};
pub use file::{FileEncoder, Summary};
