//! Container writers: MP4 (moov before mdat) and raw Annex B. Written by the container task.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot write output: {0}")]
    Io(#[from] std::io::Error),
}
