//! framepress: raw frames in, H.264 in MP4 or Annex B out.

pub mod config;
pub mod cuda;
pub mod encoder;
pub mod error;

pub use config::{
    parse_bitrate, ColourMatrix, ColourRange, Device, EncoderConfig, PixelFormat, Preset,
    RateControl, Rational,
};
pub use error::{Error, Result};
pub mod file;

pub use avc::frame::{Plane, YuvFrame};
pub use file::{FileEncoder, Summary};
pub mod colour;
pub mod input;

pub use colour::{to_yuv420, to_yuv420_into};
pub use cuda::DeviceFrame;
pub use encoder::{max_access_unit_bytes, Encoder, InputFrame, Packet};
pub use input::{open_input, parse_size, FrameSource, RawReader, SourceInfo, Y4mReader};
pub mod audio;
pub mod batch;
pub mod mux;
mod resample;
mod vbv;

pub use audio::{AudioCodec, AudioConfig, AudioEncoder, AudioPacket};
pub use mux::{
    Format, Fragmentation, MediaWriter, Output, OutputOptions, StreamId, StreamSummary,
    VideoStreamInfo, WriterSummary,
};
