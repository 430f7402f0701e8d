//! Where the coded stream goes: a file, memory, or a Python file-like object.

use std::fs::File;
use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use container::{create_file, AnnexBMuxer, ContainerKind, Mp4Muxer, VideoMuxer, VideoTrack};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::error::{BindError, BindResult};

/// Names a file-like destination in error messages.
const FILE_LIKE: &str = "file-like output";

/// Bytes copied per `write` call when an MP4 is streamed into a file-like.
const COPY_CHUNK: usize = 1 << 20;

/// The container formats, by the names the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Mp4,
    AnnexB,
}

impl Format {
    /// Parses `format="mp4"` or `format="h264"`.
    pub fn parse(text: &str) -> BindResult<Format> {
        match text.trim().to_ascii_lowercase().as_str() {
            "mp4" => Ok(Format::Mp4),
            "h264" => Ok(Format::AnnexB),
            _ => Err(BindError::value(format!(
                "unsupported format '{text}' (expected \"mp4\" or \"h264\" for a raw Annex B stream)"
            ))),
        }
    }

    /// The format a file name asks for, by its extension.
    pub fn from_path(path: &Path) -> BindResult<Format> {
        match ContainerKind::from_path(path) {
            Some(ContainerKind::Mp4) => Ok(Format::Mp4),
            Some(ContainerKind::AnnexB) => Ok(Format::AnnexB),
            _ => Err(BindError::value(format!(
                "cannot tell the container of '{}' from its extension (expected a name ending \
                 in .mp4, .m4v, .h264 or .264)",
                path.display()
            ))),
        }
    }

    fn kind(self) -> ContainerKind {
        match self {
            Format::Mp4 => ContainerKind::Mp4,
            Format::AnnexB => ContainerKind::AnnexB,
        }
    }
}

/// The exception of a failed `write`, kept to become the `__cause__` of
/// the error reported; shared with the muxer that owns the writer.
type ErrorSlot = Arc<Mutex<Option<PyErr>>>;

/// A Python object with a `write` method, as a Rust writer.
pub struct PyWriter {
    target: Py<PyAny>,
    error: ErrorSlot,
}

impl PyWriter {
    pub fn new(target: Py<PyAny>) -> PyWriter {
        PyWriter {
            target,
            error: ErrorSlot::default(),
        }
    }

    fn fail(&mut self, error: PyErr) -> io::Error {
        let message = error.to_string();
        *lock(&self.error) = Some(error);
        io::Error::other(message)
    }
}

impl Write for PyWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let result = Python::attach(|py| -> PyResult<usize> {
            let written = self
                .target
                .call_method1(py, "write", (PyBytes::new(py, buf),))?;
            // Raw streams may write less and say so; others return None.
            Ok(written
                .extract::<usize>(py)
                .unwrap_or(buf.len())
                .min(buf.len()))
        });
        result.map_err(|e| self.fail(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        let result = Python::attach(|py| -> PyResult<()> {
            let target = self.target.bind(py);
            if target.hasattr("flush")? {
                target.call_method0("flush")?;
            }
            Ok(())
        });
        result.map_err(|e| self.fail(e))
    }
}

/// An open output.
pub enum Sink {
    /// A file that appears at its path only when finished.
    File(Mutex<Box<dyn VideoMuxer + Send>>),
    /// MP4 in memory, returned by `finish`.
    MemoryMp4(Mp4Muxer<Cursor<Vec<u8>>>),
    /// Annex B in memory, returned by `finish`.
    MemoryAnnexB(AnnexBMuxer<Vec<u8>>),
    /// Annex B written into a file-like as it is coded.
    WriterAnnexB(AnnexBMuxer<PyWriter>, ErrorSlot),
    /// MP4 assembled in an anonymous temporary file (its movie box goes
    /// first, which needs seeking), streamed into the file-like at `finish`.
    WriterMp4(Mp4Muxer<File>, PyWriter),
}

/// What a finished sink produced.
pub enum Finished {
    /// Written to a file or file-like.
    Written,
    /// The whole stream, from a memory sink.
    Bytes(Vec<u8>),
}

impl Sink {
    /// Opens a file at `path`, in the container its extension names.
    pub fn file(path: &Path, track: &VideoTrack) -> BindResult<Sink> {
        let format = Format::from_path(path)?;
        let muxer = create_file(path, format.kind(), track)?;
        Ok(Sink::File(Mutex::new(muxer)))
    }

    /// Collects the stream in memory.
    pub fn memory(format: Format, track: &VideoTrack) -> BindResult<Sink> {
        Ok(match format {
            Format::Mp4 => Sink::MemoryMp4(Mp4Muxer::new(Cursor::new(Vec::new()), track)?),
            Format::AnnexB => Sink::MemoryAnnexB(AnnexBMuxer::new(Vec::new(), track)?),
        })
    }

    /// Writes into a Python object with a `write` method.
    pub fn writer(target: Py<PyAny>, format: Format, track: &VideoTrack) -> BindResult<Sink> {
        let writer = PyWriter::new(target);
        Ok(match format {
            Format::AnnexB => {
                let slot = writer.error.clone();
                Sink::WriterAnnexB(AnnexBMuxer::with_name(writer, track, FILE_LIKE)?, slot)
            }
            Format::Mp4 => {
                let temp = tempfile::tempfile().map_err(|e| {
                    BindError::runtime(format!(
                        "cannot create a temporary file to assemble the MP4 in: {e} (check that \
                         the temporary directory, TMPDIR, is writable, or use format \"h264\")"
                    ))
                })?;
                Sink::WriterMp4(Mp4Muxer::with_name(temp, track, FILE_LIKE)?, writer)
            }
        })
    }

    /// Appends one access unit.
    pub fn write_sample(&mut self, nals: &[Vec<u8>], keyframe: bool) -> BindResult<()> {
        let result = match self {
            Sink::File(m) => lock_mut(m).write_sample(nals, keyframe),
            Sink::MemoryMp4(m) => m.write_sample(nals, keyframe),
            Sink::MemoryAnnexB(m) => m.write_sample(nals, keyframe),
            Sink::WriterMp4(m, _) => m.write_sample(nals, keyframe),
            Sink::WriterAnnexB(m, slot) => {
                return m
                    .write_sample(nals, keyframe)
                    .map_err(|e| BindError::from_container(e, lock(slot).take()))
            }
        };
        result.map_err(BindError::from)
    }

    /// Completes the container.
    pub fn finish(self) -> BindResult<Finished> {
        match self {
            Sink::File(m) => {
                let muxer = m.into_inner().unwrap_or_else(|e| e.into_inner());
                muxer.finish()?;
                Ok(Finished::Written)
            }
            Sink::MemoryMp4(m) => {
                let (cursor, _) = m.finish_into_inner()?;
                Ok(Finished::Bytes(cursor.into_inner()))
            }
            Sink::MemoryAnnexB(m) => Ok(Finished::Bytes(m.finish_into_inner()?.0)),
            Sink::WriterAnnexB(m, slot) => {
                let (mut writer, _) = m
                    .finish_into_inner()
                    .map_err(|e| BindError::from_container(e, lock(&slot).take()))?;
                writer
                    .flush()
                    .map_err(|e| write_error(&mut writer, "flush", e))?;
                Ok(Finished::Written)
            }
            Sink::WriterMp4(m, mut writer) => {
                let (mut file, _) = m.finish_into_inner()?;
                copy_out(&mut file, &mut writer)?;
                Ok(Finished::Written)
            }
        }
    }
}

fn lock_mut<T>(m: &mut Mutex<T>) -> &mut T {
    m.get_mut().unwrap_or_else(|e| e.into_inner())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// An I/O error of `writer` as a `RuntimeError`, caused by the Python
/// exception behind it when there is one.
fn write_error(writer: &mut PyWriter, action: &str, e: io::Error) -> BindError {
    let cause = lock(&writer.error).take();
    BindError::with_cause(format!("cannot {action} the {FILE_LIKE}: {e}"), cause)
}

/// Streams the finished MP4 from the temporary file into the file-like.
fn copy_out(file: &mut File, writer: &mut PyWriter) -> BindResult<()> {
    file.seek(SeekFrom::Start(0))
        .map_err(|e| BindError::runtime(format!("cannot read back the temporary MP4: {e}")))?;
    let mut buf = vec![0u8; COPY_CHUNK];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| BindError::runtime(format!("cannot read back the temporary MP4: {e}")))?;
        if n == 0 {
            break;
        }
        writer
            .write_all(&buf[..n])
            .map_err(|e| write_error(writer, "write", e))?;
    }
    writer.flush().map_err(|e| write_error(writer, "flush", e))
}
