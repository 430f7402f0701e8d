//! The container error type: every failure says what went wrong, on which
//! file, and what the user can do about it.

use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The track description cannot be stored in the container.
    #[error("invalid video track: {0}")]
    InvalidTrack(String),

    /// An access unit handed to `write_sample` is unusable.
    #[error("invalid access unit #{index} for '{path}': {reason}")]
    InvalidSample {
        path: PathBuf,
        index: u64,
        reason: String,
    },

    /// A sample names a track the muxer does not have.
    #[error("no track {track} in '{path}' (it has {tracks}, numbered from 0)")]
    NoSuchTrack {
        path: PathBuf,
        track: usize,
        tracks: usize,
    },

    /// The container format cannot carry these tracks.
    #[error("cannot write '{path}': {reason}")]
    Unsupported { path: PathBuf, reason: String },

    /// The output (or its temporary file) could not be created.
    #[error(
        "cannot create output file '{path}': {source} — check that the directory exists and is writable"
    )]
    Create {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The file system ran out of space (ENOSPC / ErrorKind::StorageFull) or quota.
    #[error(
        "disk full while writing '{path}' ({source}) — free some space or write to another disk"
    )]
    DiskFull {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// Any other I/O failure while writing, reading back or syncing the output.
    #[error("cannot {action} '{path}': {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The finished temporary file could not be renamed onto the target.
    #[error(
        "cannot move the finished file into place as '{path}': {source} — check that the path is not a directory and the directory is writable"
    )]
    Rename {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// Crash-safe output was moved into place and written on, but its path no
    /// longer names that file: it was deleted, its directory removed, or
    /// another file took its name. What was written since is not at the path.
    #[error(
        "the output file '{path}' was removed or replaced while it was being written: {detail} — what was written since is not at that path; keep the output file and its directory in place until the encode finishes, then encode again"
    )]
    Vanished { path: PathBuf, detail: String },

    /// `finish` was called before any access unit was written. No file is
    /// produced: an MP4 without samples is legal but many players reject it.
    #[error("no frames were written to '{path}', so no file was created — write at least one frame before finishing")]
    NoFrames { path: PathBuf },

    /// The clip exceeds a limit of the container format.
    #[error("'{path}' exceeds a limit of the container format: {what}")]
    TooLarge { path: PathBuf, what: String },

    /// A previous call failed; the output is incomplete and must be discarded.
    #[error(
        "cannot continue writing '{path}': an earlier write failed, so the output is incomplete"
    )]
    Poisoned { path: PathBuf },
}

/// Raw OS error codes that mean "no space left": ENOSPC and EDQUOT on Linux and
/// the BSDs/macOS, ERROR_HANDLE_DISK_FULL and ERROR_DISK_FULL on Windows.
#[cfg(unix)]
const DISK_FULL_CODES: &[i32] = &[28, if cfg!(target_os = "linux") { 122 } else { 69 }];
#[cfg(windows)]
const DISK_FULL_CODES: &[i32] = &[39, 112];
#[cfg(not(any(unix, windows)))]
const DISK_FULL_CODES: &[i32] = &[];

/// True when `e` means the storage is full. `ErrorKind::StorageFull` and
/// `QuotaExceeded` are newer than this workspace's minimum Rust version, so the
/// kind is matched by its name as well as by the raw OS code.
pub(crate) fn is_disk_full(e: &io::Error) -> bool {
    if let Some(code) = e.raw_os_error() {
        if DISK_FULL_CODES.contains(&code) {
            return true;
        }
    }
    matches!(
        format!("{:?}", e.kind()).as_str(),
        "StorageFull" | "QuotaExceeded"
    )
}

impl Error {
    /// Classifies an I/O error raised while working on `path`.
    pub(crate) fn io(action: &'static str, path: &Path, source: io::Error) -> Error {
        if is_disk_full(&source) {
            Error::DiskFull {
                path: path.to_path_buf(),
                source,
            }
        } else {
            Error::Io {
                action,
                path: path.to_path_buf(),
                source,
            }
        }
    }

    /// True for [`Error::DiskFull`].
    pub fn is_disk_full(&self) -> bool {
        matches!(self, Error::DiskFull { .. })
    }
}
