//! The library's error type: every failure is a value that says what is wrong
//! and what is accepted.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid {name} {value} (expected 1..={max})")]
    InvalidDimension {
        name: &'static str,
        value: u32,
        max: u32,
    },

    #[error("invalid {option} '{value}' (expected {expected})")]
    InvalidOption {
        option: &'static str,
        value: String,
        expected: String,
    },

    #[error("frame {index} has {got} bytes, expected {expected} ({detail})")]
    FrameSize {
        index: u64,
        got: usize,
        expected: usize,
        detail: String,
    },

    #[error("input is not valid: {0}")]
    InvalidInput(String),

    #[error("unknown output extension for '{path}' (expected .mp4, .mov, .mkv or .h264/.264)")]
    UnknownExtension { path: PathBuf },

    #[error("cannot {action} '{path}': {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    Container(#[from] container::Error),

    #[error("audio encoding failed: {0}")]
    Audio(String),

    #[error("encoder used after an error or after finish")]
    InvalidState,

    #[error("encoding failed: {0}")]
    Codec(#[from] avc::encoder::AvcError),

    #[error("CUDA: {0}")]
    Cuda(String),

    #[error("{failed} of {total} clips failed (see the messages above); the others were written")]
    Batch { failed: usize, total: usize },
}

impl Error {
    /// Wraps an I/O error with what was being done and to which path.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
