//! Encoding straight to a file whose extension picks the container.
//! (Skeleton: the encoder lands with the codec core.)

use std::path::Path;

use crate::config::EncoderConfig;
use crate::error::{Error, Result};

/// What an encode produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub frames: u64,
    pub bytes: u64,
}

/// Encodes frames to `path` (.mp4, .h264 or .264). The file appears under its
/// name only when [`FileEncoder::finish`] succeeds; on any error nothing is left behind.
pub struct FileEncoder {
    _private: (),
}

impl FileEncoder {
    pub fn create(path: &Path, config: &EncoderConfig) -> Result<FileEncoder> {
        config.validate()?;
        let _ = path;
        Err(Error::InvalidState)
    }

    /// Encodes one frame in the configured pixel format.
    pub fn encode_frame(&mut self, frame: &[u8]) -> Result<()> {
        let _ = frame;
        Err(Error::InvalidState)
    }

    /// Finishes the stream and the container; returns what was written.
    pub fn finish(self) -> Result<Summary> {
        Err(Error::InvalidState)
    }
}
