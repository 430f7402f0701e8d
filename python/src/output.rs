//! Where the encoded streams go: a file, memory, or a Python file-like
//! object, as a [`container::Output`] for the library's `MediaWriter`, and
//! what to do with it once the container is finished.

use std::fs::File;
use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use framepress::{Format, Fragmentation, Output};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::error::{BindError, BindResult};

/// Names a file-like destination in error messages.
pub const FILE_LIKE: &str = "file-like output";

/// Bytes copied per `write` call when a finished file is streamed into a file-like.
const COPY_CHUNK: usize = 1 << 20;

/// The format names `format=` takes, for messages.
const FORMAT_NAMES: &str = "\"mp4\", \"mov\", \"mkv\" or \"h264\" (a raw Annex B stream)";

/// Parses `format="mp4"` (or `"mov"`, `"mkv"`, `"h264"`).
pub fn parse_format(text: &str) -> BindResult<Format> {
    Format::from_name(text).ok_or_else(|| {
        BindError::value(format!(
            "unsupported format '{text}' (expected {FORMAT_NAMES})"
        ))
    })
}

/// The format a file name asks for, by its extension.
pub fn format_of_path(path: &Path) -> BindResult<Format> {
    Format::from_path(path).ok_or_else(|| {
        BindError::value(format!(
            "cannot tell the container of '{}' from its extension (expected a name ending in \
             .mp4, .m4v, .mov, .mkv, .h264 or .264)",
            path.display()
        ))
    })
}

/// The exception of a failed `write`, kept to become the `__cause__` of
/// the error reported; shared with the writer the muxer owns.
pub type ErrorSlot = Arc<Mutex<Option<PyErr>>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

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

/// An in-memory buffer the muxer writes (and reads back, for faststart)
/// while the encoder keeps a handle to take the bytes at the end.
#[derive(Clone, Default)]
pub struct SharedBuffer(Arc<Mutex<Cursor<Vec<u8>>>>);

impl SharedBuffer {
    fn take_bytes(&self) -> Vec<u8> {
        std::mem::take(lock(&self.0).get_mut())
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        lock(&self.0).write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for SharedBuffer {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        lock(&self.0).read(buf)
    }
}

impl Seek for SharedBuffer {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        lock(&self.0).seek(pos)
    }
}

/// What remains to do once the container is finished.
pub enum Finish {
    /// The output already holds everything.
    Done,
    /// Return the bytes collected in memory.
    Memory(SharedBuffer),
    /// A file-like output whose container needed seeking was assembled in a
    /// temporary file: copy it into the file-like.
    Copy(File, PyWriter),
    /// A file-like written as the streams were encoded: flush it.
    Flush(ErrorSlot, Arc<Mutex<Option<PyWriter>>>),
}

/// What a finished output produced.
pub enum Finished {
    Written,
    Bytes(Vec<u8>),
}

/// The output for a file path.
pub fn file(path: &Path) -> BindResult<(Output, Format, Finish)> {
    let format = format_of_path(path)?;
    Ok((Output::file(path)?, format, Finish::Done))
}

/// An output collecting the container in memory.
pub fn memory() -> (Output, Finish) {
    let buffer = SharedBuffer::default();
    (
        Output::seekable(buffer.clone(), "in-memory output"),
        Finish::Memory(buffer),
    )
}

/// A writer shared between the muxer and the finishing step, so that the
/// file-like can be flushed after the muxer is done with it.
struct SharedWriter(Arc<Mutex<Option<PyWriter>>>);

impl Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match lock(&self.0).as_mut() {
            Some(w) => w.write(buf),
            None => Err(io::Error::other(
                "the file-like output was already finished",
            )),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match lock(&self.0).as_mut() {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

/// An output writing `format` into a Python object with a `write` method.
///
/// Annex B and crash-safe (fragmented) MP4/MOV/Matroska are written into
/// it as frames are encoded. Whole-file MP4, MOV and Matroska put their index
/// first or patch sizes, which needs seeking: they are assembled in an
/// anonymous temporary file and written out when the output is closed, so
/// the file-like receives exactly the bytes a file would.
pub fn file_like(
    target: Py<PyAny>,
    format: Format,
    fragmentation: Fragmentation,
) -> BindResult<(Output, Finish)> {
    let streaming = format == Format::AnnexB || fragmentation != Fragmentation::Auto;
    let writer = PyWriter::new(target);
    if streaming {
        let slot = writer.error.clone();
        let shared = Arc::new(Mutex::new(Some(writer)));
        let output = Output::stream(SharedWriter(shared.clone()), FILE_LIKE);
        return Ok((output, Finish::Flush(slot, shared)));
    }
    let temp = tempfile::tempfile().map_err(|e| {
        BindError::runtime(format!(
            "cannot create a temporary file to assemble the {} output in: {e} (check that the \
             temporary directory, TMPDIR, is writable, or use format \"h264\")",
            format.name()
        ))
    })?;
    let reader = temp
        .try_clone()
        .map_err(|e| BindError::runtime(format!("cannot reopen the temporary output file: {e}")))?;
    Ok((
        Output::seekable(temp, FILE_LIKE),
        Finish::Copy(reader, writer),
    ))
}

impl Finish {
    /// The exception a failing file-like `write` raised, if any.
    pub fn take_cause(&self) -> Option<PyErr> {
        match self {
            Finish::Flush(slot, _) => lock(slot).take(),
            Finish::Copy(_, w) => lock(&w.error).take(),
            _ => None,
        }
    }

    /// Completes what the finished container leaves to do.
    pub fn run(self) -> BindResult<Finished> {
        match self {
            Finish::Done => Ok(Finished::Written),
            Finish::Memory(buffer) => Ok(Finished::Bytes(buffer.take_bytes())),
            Finish::Copy(mut file, mut writer) => {
                copy_out(&mut file, &mut writer)?;
                Ok(Finished::Written)
            }
            Finish::Flush(_, shared) => {
                if let Some(mut writer) = lock(&shared).take() {
                    writer
                        .flush()
                        .map_err(|e| write_error(&mut writer, "flush", e))?;
                }
                Ok(Finished::Written)
            }
        }
    }
}

/// An I/O error of `writer` as a `RuntimeError`, caused by the Python
/// exception behind it when there is one.
fn write_error(writer: &mut PyWriter, action: &str, e: io::Error) -> BindError {
    let cause = lock(&writer.error).take();
    BindError::with_cause(format!("cannot {action} the {FILE_LIKE}: {e}"), cause)
}

/// Streams the finished file from the temporary file into the file-like.
fn copy_out(file: &mut File, writer: &mut PyWriter) -> BindResult<()> {
    let read_error =
        |e: io::Error| BindError::runtime(format!("cannot read back the temporary output: {e}"));
    file.seek(SeekFrom::Start(0)).map_err(read_error)?;
    let mut buf = vec![0u8; COPY_CHUNK];
    loop {
        let n = file.read(&mut buf).map_err(read_error)?;
        if n == 0 {
            break;
        }
        writer
            .write_all(&buf[..n])
            .map_err(|e| write_error(writer, "write", e))?;
    }
    writer.flush().map_err(|e| write_error(writer, "flush", e))
}
