//! Atomic output files: data goes to a hidden temporary file next to the
//! target, which is renamed onto the target only after everything was written
//! and synced. Any other end (an error, a drop) removes the temporary file.
//!
//! Crash-safe (fragmented) output is the exception: [`PartialFile::publish`]
//! renames the file into place as soon as its first fragment is complete and
//! writing goes on through the same open file, so that after a crash the
//! target holds every complete fragment. A published file is never removed.
//! Since the data then goes to the file the path named at publish time, each
//! later durable point and the commit check that the path still names that
//! file: if the file was deleted, its directory removed or the path replaced,
//! what was written since is not at the path, and the muxer fails with
//! [`Error::Vanished`] instead of reporting a success.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::Error;
#[cfg(test)]
use crate::{ContainerKind, VideoTrack};

/// Distinguishes temporary files of one process writing the same target twice.
static NEXT_ID: AtomicU32 = AtomicU32::new(0);

/// A temporary file that becomes `target` on [`PartialFile::commit`].
#[derive(Debug)]
pub(crate) struct PartialFile {
    /// `None` only after commit has closed it.
    file: Option<File>,
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
    /// Renamed onto the target before the end (see [`PartialFile::publish`]).
    published: bool,
    /// Identity of the open file (see [`FileId`]), taken when it is published.
    published_id: Option<FileId>,
    /// Test hook: writes past this many bytes fail as a full disk would.
    #[cfg(test)]
    pub(crate) fail_after: Option<u64>,
}

impl PartialFile {
    /// Creates `.NAME.partial-<pid>-<n>` in the directory of `target`, after
    /// removing those a killed process left there (see [`remove_stale`]).
    pub(crate) fn create(target: &Path) -> Result<PartialFile, Error> {
        let name = target.file_name().ok_or_else(|| Error::Create {
            path: target.to_path_buf(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "the path does not name a file"),
        })?;
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        remove_stale(dir, name);
        let mut last_error = None;
        // A name can only be taken by a stale file of a crashed process that had
        // the same pid; a few attempts step past it.
        for _ in 0..16 {
            let mut temp_name = OsString::from(".");
            temp_name.push(name);
            temp_name.push(format!(
                ".partial-{}-{}",
                std::process::id(),
                NEXT_ID.fetch_add(1, Ordering::Relaxed)
            ));
            let temp = dir.join(temp_name);
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&temp)
            {
                Ok(file) => {
                    return Ok(PartialFile {
                        file: Some(file),
                        temp,
                        target: target.to_path_buf(),
                        committed: false,
                        published: false,
                        published_id: None,
                        #[cfg(test)]
                        fail_after: None,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_error = Some(e),
                Err(e) => return Err(create_error(target, e)),
            }
        }
        let e = last_error.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::AlreadyExists, "temporary file exists")
        });
        Err(create_error(target, e))
    }

    /// Path of the temporary file.
    #[cfg(test)]
    pub(crate) fn temp_path(&self) -> &Path {
        &self.temp
    }

    fn file(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("file already committed"))
    }

    /// Renames the file onto the target now, while it is still being written
    /// (the open file stays valid). From then on the file is kept whatever
    /// happens, and each later call flushes and checks that the target path
    /// still names the open file (see the module notes).
    pub(crate) fn publish(&mut self) -> Result<(), Error> {
        if self.committed {
            return Ok(());
        }
        self.file()
            .and_then(|f| f.flush())
            .map_err(|e| Error::io("flush", &self.target, e))?;
        if self.published {
            return self.check_in_place();
        }
        fs::rename(&self.temp, &self.target).map_err(|source| Error::Rename {
            path: self.target.clone(),
            source,
        })?;
        self.published = true;
        let id = self
            .file()
            .and_then(|f| FileId::of_open(f))
            .map_err(|e| Error::io("inspect", &self.target, e))?;
        self.published_id = Some(id);
        // The rename itself may have raced with a removal of the directory.
        self.check_in_place()
    }

    /// After [`PartialFile::publish`]: fails with [`Error::Vanished`] unless
    /// the target path still names the open file.
    fn check_in_place(&self) -> Result<(), Error> {
        let Some(id) = self.published_id else {
            return Ok(());
        };
        let vanished = |detail: String| Error::Vanished {
            path: self.target.clone(),
            detail,
        };
        match FileId::of_path(&self.target) {
            Ok(Some(now)) if now == id => Ok(()),
            Ok(Some(_)) => Err(vanished("another file now has its name".into())),
            Ok(None) => Err(vanished(
                "it no longer exists (the path now names nothing, or its directory is gone)".into(),
            )),
            Err(e) => Err(vanished(format!("its path cannot be checked: {e}"))),
        }
    }

    /// Syncs the data to disk, closes the file and renames it onto the target.
    pub(crate) fn commit(mut self) -> Result<(), Error> {
        let Some(mut file) = self.file.take() else {
            return Err(Error::Poisoned {
                path: self.target.clone(),
            });
        };
        file.flush()
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io("sync", &self.target, e))?;
        // Closed before the rename, which some systems refuse on open files.
        drop(file);
        if self.published {
            // The last bytes went into the open file; make sure it is still the one at the path.
            self.check_in_place()?;
        } else {
            fs::rename(&self.temp, &self.target).map_err(|source| Error::Rename {
                path: self.target.clone(),
                source,
            })?;
        }
        self.committed = true;
        Ok(())
    }
}

/// Removes the temporary files of `name` in `dir` that a process killed
/// mid-write left behind (SIGKILL, a crash, a power cut: nothing in the dying
/// process can remove them). Such a file is `.NAME.partial-<pid>-<n>`, and it
/// is stale when no process `<pid>` runs. Best effort: failures are ignored,
/// and files of running processes (this one included) are left alone.
///
/// Only on Linux, where `/proc/<pid>` tells whether a process runs. A process
/// in another PID namespace (another container sharing the directory) is not
/// visible there, so this assumes that one directory is written from one
/// namespace.
#[cfg(target_os = "linux")]
fn remove_stale(dir: &Path, name: &std::ffi::OsStr) {
    let proc = Path::new("/proc");
    // Without /proc, or with other users' processes hidden from it (mounted
    // with `hidepid=2`: then even pid 1 is invisible), a missing /proc/<pid>
    // proves nothing.
    if !proc.join("1").exists() {
        return;
    }
    let Some(name) = name.to_str() else {
        return;
    };
    let prefix = format!(".{name}.partial-");
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(stale_pid)
        else {
            continue;
        };
        if pid == std::process::id() || proc.join(pid.to_string()).exists() {
            continue;
        }
        // Only regular files: never follow a link or touch a directory.
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn remove_stale(_dir: &Path, _name: &std::ffi::OsStr) {}

/// The pid of a temporary file name's tail `<pid>-<n>`, if it has that form.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn stale_pid(tail: &str) -> Option<u32> {
    let (pid, n) = tail.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(pid) || !digits(n) {
        return None;
    }
    pid.parse().ok().filter(|&p| p > 0)
}

/// What identifies a file independently of its name: device and inode
/// numbers on Unix. Elsewhere only whether the path exists can be checked,
/// so any existing file counts as the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    #[cfg(unix)]
    dev: u64,
    #[cfg(unix)]
    ino: u64,
}

impl FileId {
    fn from_meta(meta: &fs::Metadata) -> FileId {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            FileId {
                dev: meta.dev(),
                ino: meta.ino(),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            FileId {}
        }
    }

    fn of_open(file: &File) -> io::Result<FileId> {
        file.metadata().map(|m| FileId::from_meta(&m))
    }

    /// `None` when nothing is at `path` (it or a directory above it is gone).
    fn of_path(path: &Path) -> io::Result<Option<FileId>> {
        match fs::metadata(path) {
            Ok(m) => Ok(Some(FileId::from_meta(&m))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn create_error(target: &Path, source: io::Error) -> Error {
    if crate::error::is_disk_full(&source) {
        Error::DiskFull {
            path: target.to_path_buf(),
            source,
        }
    } else {
        Error::Create {
            path: target.to_path_buf(),
            source,
        }
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.committed && !self.published {
            // Close first: some systems cannot remove an open file.
            self.file = None;
            let _ = fs::remove_file(&self.temp);
        }
    }
}

impl Write for PartialFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        #[cfg(test)]
        let buf = match self.fail_after {
            Some(limit) => {
                let pos = self.file()?.stream_position()?;
                let room = limit.saturating_sub(pos);
                if room == 0 && !buf.is_empty() {
                    return Err(crate::testutil::disk_full_error());
                }
                &buf[..buf.len().min(usize::try_from(room).unwrap_or(usize::MAX))]
            }
            None => buf,
        };
        self.file()?.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file()?.flush()
    }
}

impl Read for PartialFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.file()?.read(buf)
    }
}

impl Seek for PartialFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.file()?.seek(pos)
    }
}

/// Wraps the temporary file in a muxer of one video track (tests inject
/// failures into the file first).
#[cfg(test)]
pub(crate) fn muxer_for(
    out: PartialFile,
    path: &Path,
    kind: ContainerKind,
    track: &VideoTrack,
) -> Result<Box<dyn crate::Muxer + Send>, Error> {
    crate::open_sink(
        out,
        path,
        kind,
        &[crate::Track::Video(track.clone())],
        &crate::MuxOptions::default(),
    )
}

#[cfg(test)]
mod tests;
