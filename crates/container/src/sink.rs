//! Where the bytes go. A [`Sink`] is a file, a pipe or any stream; it tells the
//! writers whether they may seek (to patch sizes and write indexes) and read
//! back (to move the media data behind a faststart `moov`). [`Output`] is the
//! public handle that names a destination; [`Out`] wraps a sink with the error
//! bookkeeping every writer shares.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::file::PartialFile;

/// A destination the writers can use; see the module notes.
pub(crate) trait Sink {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()>;
    fn flush(&mut self) -> io::Result<()>;
    /// Whether [`Sink::seek_to`] works.
    fn can_seek(&self) -> bool;
    /// Whether [`Sink::read_exact`] works (it needs seeking too).
    fn can_read(&self) -> bool;
    fn seek_to(&mut self, pos: u64) -> io::Result<()>;
    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()>;
    /// Called after each complete fragment of crash-safe output: what is
    /// written so far decodes on its own. A file written under a temporary
    /// name is moved into place at the first call; streams are flushed.
    fn durable_point(&mut self, name: &Path) -> Result<(), Error> {
        self.flush().map_err(|e| Error::io("flush", name, e))
    }
    /// Completes the output after its last byte: flush, and for files sync
    /// and move into place.
    fn commit(self) -> Result<(), Error>
    where
        Self: Sized,
    {
        Ok(())
    }
}

fn unsupported(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("the output cannot {what}"),
    )
}

/// A stream that can seek and read back, such as a file or an in-memory cursor.
#[derive(Debug)]
pub(crate) struct SeekableIo<F>(pub F);

impl<F: Read + Write + Seek> Sink for SeekableIo<F> {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.0.write_all(data)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
    fn can_seek(&self) -> bool {
        true
    }
    fn can_read(&self) -> bool {
        true
    }
    fn seek_to(&mut self, pos: u64) -> io::Result<()> {
        self.0.seek(SeekFrom::Start(pos)).map(|_| ())
    }
    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.0.read_exact(buf)
    }
}

/// A stream that only takes bytes in order: a pipe, a socket, standard output.
#[derive(Debug)]
pub(crate) struct StreamIo<W>(pub W);

impl<W: Write> Sink for StreamIo<W> {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.0.write_all(data)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
    fn can_seek(&self) -> bool {
        false
    }
    fn can_read(&self) -> bool {
        false
    }
    fn seek_to(&mut self, _pos: u64) -> io::Result<()> {
        Err(unsupported("seek"))
    }
    fn read_exact(&mut self, _buf: &mut [u8]) -> io::Result<()> {
        Err(unsupported("be read back"))
    }
}

/// A writer that can also seek; implemented for every such type.
pub trait WriteSeek: Write + Seek + Send {}
impl<T: Write + Seek + Send> WriteSeek for T {}

/// A writer that can also seek and read back; implemented for every such type.
pub trait ReadWriteSeek: Read + Write + Seek + Send {}
impl<T: Read + Write + Seek + Send> ReadWriteSeek for T {}

enum Dest {
    /// A regular file, written under a hidden temporary name (see [`Output::file`]).
    File(PartialFile),
    /// A FIFO, character device or socket named by a path: written in place, in order.
    Special(File),
    Stream(Box<dyn Write + Send>),
    WriteSeek(Box<dyn WriteSeek>),
    ReadWriteSeek(Box<dyn ReadWriteSeek>),
}

/// Where a muxer writes: a file path, or any stream.
///
/// What the stream can do picks the layout: MP4 and MOV get the faststart
/// layout (`moov` first) on outputs that seek and read back, `moov` after the
/// media data on outputs that only seek, and fragments on outputs that do
/// neither; Matroska patches its sizes and writes an index (Cues) only where
/// it can seek.
pub struct Output {
    dest: Dest,
    name: PathBuf,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.dest {
            Dest::File(_) => "file",
            Dest::Special(_) => "special file",
            Dest::Stream(_) => "stream",
            Dest::WriteSeek(_) => "seekable stream",
            Dest::ReadWriteSeek(_) => "readable seekable stream",
        };
        f.debug_struct("Output")
            .field("name", &self.name)
            .field("kind", &kind)
            .finish()
    }
}

impl Output {
    /// Opens `path`.
    ///
    /// A regular file (or a new one) is written under a hidden temporary name
    /// in the same directory (`.NAME.partial-<pid>-<n>`) and moved onto `path`
    /// when the muxer finishes; if it fails or is dropped first, the temporary
    /// file is removed and `path` is untouched. Crash-safe (fragmented)
    /// output is moved into place as soon as its first fragment is complete,
    /// and from then on is never removed: after a crash, an error or a drop it
    /// holds every complete fragment.
    ///
    /// An existing FIFO, character device or socket (a named pipe,
    /// `/dev/stdout`) is written in place, as a stream that cannot seek.
    pub fn file(path: &Path) -> Result<Output, Error> {
        if let Ok(meta) = std::fs::metadata(path) {
            let t = meta.file_type();
            if !t.is_file() && !t.is_dir() {
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|source| Error::Create {
                        path: path.to_path_buf(),
                        source,
                    })?;
                return Ok(Output {
                    dest: Dest::Special(file),
                    name: path.to_path_buf(),
                });
            }
        }
        Ok(Output {
            dest: Dest::File(PartialFile::create(path)?),
            name: path.to_path_buf(),
        })
    }

    /// A stream that only takes bytes in order (a pipe, standard output, a
    /// socket); `name` names it in error messages.
    pub fn stream(writer: impl Write + Send + 'static, name: impl AsRef<Path>) -> Output {
        Output {
            dest: Dest::Stream(Box::new(writer)),
            name: name.as_ref().to_path_buf(),
        }
    }

    /// A stream that can seek but not read back.
    pub fn write_seek(writer: impl WriteSeek + 'static, name: impl AsRef<Path>) -> Output {
        Output {
            dest: Dest::WriteSeek(Box::new(writer)),
            name: name.as_ref().to_path_buf(),
        }
    }

    /// A stream that can seek and read back (a file opened for reading and
    /// writing, an in-memory cursor). It must be empty and at its start.
    pub fn seekable(io: impl ReadWriteSeek + 'static, name: impl AsRef<Path>) -> Output {
        Output {
            dest: Dest::ReadWriteSeek(Box::new(io)),
            name: name.as_ref().to_path_buf(),
        }
    }

    /// The path or name that error messages use.
    pub fn name(&self) -> &Path {
        &self.name
    }

    /// Whether the output can seek: faststart MP4 needs it (and reading back);
    /// without it MP4 and MOV are written as fragments.
    pub fn is_seekable(&self) -> bool {
        self.can_seek()
    }
}

impl Sink for Output {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match &mut self.dest {
            Dest::File(f) => Write::write_all(f, data),
            Dest::Special(f) => f.write_all(data),
            Dest::Stream(w) => w.write_all(data),
            Dest::WriteSeek(w) => w.write_all(data),
            Dest::ReadWriteSeek(w) => w.write_all(data),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.dest {
            Dest::File(f) => Write::flush(f),
            Dest::Special(f) => f.flush(),
            Dest::Stream(w) => w.flush(),
            Dest::WriteSeek(w) => w.flush(),
            Dest::ReadWriteSeek(w) => w.flush(),
        }
    }

    fn can_seek(&self) -> bool {
        matches!(
            self.dest,
            Dest::File(_) | Dest::WriteSeek(_) | Dest::ReadWriteSeek(_)
        )
    }

    fn can_read(&self) -> bool {
        matches!(self.dest, Dest::File(_) | Dest::ReadWriteSeek(_))
    }

    fn seek_to(&mut self, pos: u64) -> io::Result<()> {
        let to = SeekFrom::Start(pos);
        match &mut self.dest {
            Dest::File(f) => f.seek(to).map(|_| ()),
            Dest::WriteSeek(w) => w.seek(to).map(|_| ()),
            Dest::ReadWriteSeek(w) => w.seek(to).map(|_| ()),
            Dest::Special(_) | Dest::Stream(_) => Err(unsupported("seek")),
        }
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        match &mut self.dest {
            Dest::File(f) => Read::read_exact(f, buf),
            Dest::ReadWriteSeek(w) => w.read_exact(buf),
            _ => Err(unsupported("be read back")),
        }
    }

    fn durable_point(&mut self, name: &Path) -> Result<(), Error> {
        match &mut self.dest {
            Dest::File(f) => f.publish(),
            _ => Sink::flush(self).map_err(|e| Error::io("flush", name, e)),
        }
    }

    fn commit(self) -> Result<(), Error> {
        let name = self.name;
        match self.dest {
            Dest::File(f) => f.commit(),
            Dest::Special(mut f) => f.flush().map_err(|e| Error::io("flush", &name, e)),
            Dest::Stream(mut w) => w.flush().map_err(|e| Error::io("flush", &name, e)),
            Dest::WriteSeek(mut w) => w.flush().map_err(|e| Error::io("flush", &name, e)),
            Dest::ReadWriteSeek(mut w) => w.flush().map_err(|e| Error::io("flush", &name, e)),
        }
    }
}

impl Sink for PartialFile {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        Write::write_all(self, data)
    }
    fn flush(&mut self) -> io::Result<()> {
        Write::flush(self)
    }
    fn can_seek(&self) -> bool {
        true
    }
    fn can_read(&self) -> bool {
        true
    }
    fn seek_to(&mut self, pos: u64) -> io::Result<()> {
        self.seek(SeekFrom::Start(pos)).map(|_| ())
    }
    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        Read::read_exact(self, buf)
    }
    fn durable_point(&mut self, _name: &Path) -> Result<(), Error> {
        self.publish()
    }
    fn commit(self) -> Result<(), Error> {
        PartialFile::commit(self)
    }
}

/// A sink with the bookkeeping every writer needs: the write position, the
/// name for error messages, and a flag set by any failed write after which
/// the output is incomplete and every call fails.
pub(crate) struct Out<S: Sink> {
    pub sink: S,
    pub name: PathBuf,
    /// Where the next byte goes.
    pos: u64,
    /// The end of the data written so far.
    end: u64,
    failed: bool,
}

impl<S: Sink> Out<S> {
    pub fn new(sink: S, name: &Path) -> Out<S> {
        Out {
            sink,
            name: name.to_path_buf(),
            pos: 0,
            end: 0,
            failed: false,
        }
    }

    /// Bytes written so far (the file size).
    pub fn len(&self) -> u64 {
        self.end
    }

    pub fn can_seek(&self) -> bool {
        self.sink.can_seek()
    }

    pub fn can_read(&self) -> bool {
        self.sink.can_read()
    }

    /// Fails with [`Error::Poisoned`] after an earlier failure.
    pub fn check(&self) -> Result<(), Error> {
        if self.failed {
            Err(Error::Poisoned {
                path: self.name.clone(),
            })
        } else {
            Ok(())
        }
    }

    pub fn failed(&self) -> bool {
        self.failed
    }

    fn fail(&mut self, action: &'static str, e: io::Error) -> Error {
        self.failed = true;
        Error::io(action, &self.name, e)
    }

    pub fn write(&mut self, data: &[u8]) -> Result<(), Error> {
        self.check()?;
        self.sink
            .write_all(data)
            .map_err(|e| self.fail("write", e))?;
        self.pos += data.len() as u64;
        self.end = self.end.max(self.pos);
        Ok(())
    }

    pub fn seek(&mut self, pos: u64) -> Result<(), Error> {
        self.check()?;
        self.sink
            .seek_to(pos)
            .map_err(|e| self.fail("seek in", e))?;
        self.pos = pos;
        Ok(())
    }

    pub fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), Error> {
        self.check()?;
        self.sink
            .read_exact(buf)
            .map_err(|e| self.fail("read back", e))?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    /// Overwrites bytes at `at` and returns to the end of the data.
    pub fn patch(&mut self, at: u64, data: &[u8]) -> Result<(), Error> {
        let end = self.end;
        self.seek(at)?;
        self.write(data)?;
        self.seek(end)
    }

    pub fn flush(&mut self) -> Result<(), Error> {
        self.check()?;
        self.sink.flush().map_err(|e| self.fail("flush", e))
    }

    /// See [`Sink::durable_point`].
    pub fn durable_point(&mut self) -> Result<(), Error> {
        self.check()?;
        let name = self.name.clone();
        self.sink
            .durable_point(&name)
            .inspect_err(|_| self.failed = true)
    }

    /// Flushes and commits the sink; returns it when the caller needs it back.
    pub fn into_sink(mut self) -> Result<S, Error> {
        self.flush()?;
        Ok(self.sink)
    }
}
