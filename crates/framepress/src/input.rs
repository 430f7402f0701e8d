//! Frame sources: YUV4MPEG2 (.y4m) and headerless raw frames, from a file or
//! from standard input.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

use crate::config::{ColourMatrix, ColourRange, PixelFormat, Rational, MAX_DIMENSION};
use crate::encoder::InputFrame;
use crate::error::{Error, Result};

/// The first bytes of every YUV4MPEG2 stream.
const Y4M_MAGIC: &[u8] = b"YUV4MPEG2 ";
/// Longest accepted y4m header or FRAME line, newline included.
pub const MAX_HEADER_LINE: usize = 4096;
/// The y4m colourspaces read as yuv420p.
const Y4M_ACCEPTED: &str = "420, 420jpeg, 420paldv, 420mpeg2";
/// The name used in messages for standard input.
const STDIN_NAME: &str = "<stdin>";

/// What a source delivers: every frame has this size and layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    pub width: u32,
    pub height: u32,
    pub pixel_format: PixelFormat,
    /// The frame rate the source declares, if any.
    pub frame_rate: Option<Rational>,
    /// The colour matrix the source declares, if any.
    pub matrix: Option<ColourMatrix>,
    /// The sample range the source declares, if any.
    pub range: Option<ColourRange>,
}

impl SourceInfo {
    /// A source of `pixel_format` frames that declares nothing else.
    pub fn new(width: u32, height: u32, pixel_format: PixelFormat) -> SourceInfo {
        SourceInfo {
            width,
            height,
            pixel_format,
            frame_rate: None,
            matrix: None,
            range: None,
        }
    }

    /// Bytes in one frame.
    pub fn frame_bytes(&self) -> usize {
        self.pixel_format.frame_bytes(self.width, self.height)
    }
}

/// A stream of frames of one size and layout.
pub trait FrameSource {
    fn info(&self) -> &SourceInfo;

    /// Reads the next frame's bytes into `parts` in turn (together the
    /// frame's size). Returns `Ok(false)` at a clean end of the stream.
    fn read_into(&mut self, parts: &mut [&mut [u8]]) -> Result<bool>;

    /// Reads the next frame into `buf`, resizing it to the frame size.
    /// Returns `Ok(false)` at a clean end of the stream.
    fn read_frame(&mut self, buf: &mut Vec<u8>) -> Result<bool> {
        buf.resize(self.info().frame_bytes(), 0);
        self.read_into(&mut [buf])
    }

    /// Reads the next frame straight into an encoder's input frame of the
    /// source's size (see [`InputFrame`]), saving the copy from a packed
    /// buffer; only for yuv420p sources, whose frames are the input frame's
    /// planes back to back. Returns `Ok(false)` at a clean end of the stream.
    fn read_input_frame(&mut self, frame: &mut InputFrame) -> Result<bool> {
        check_input_frame(self.info(), frame)?;
        self.read_into(&mut frame.planes_mut())
    }
}

/// Refuses an input frame that a source's frames do not fill exactly.
fn check_input_frame(info: &SourceInfo, frame: &InputFrame) -> Result<()> {
    if info.pixel_format != PixelFormat::Yuv420p {
        return Err(Error::InvalidInput(format!(
            "{} frames cannot be read into an input frame (only yuv420p): read them with read_frame",
            info.pixel_format.name()
        )));
    }
    let (w, h) = frame.size();
    if (w, h) != (info.width, info.height) {
        return Err(Error::InvalidInput(format!(
            "an input frame of {w}x{h} cannot hold the source's {}x{} frames",
            info.width, info.height
        )));
    }
    Ok(())
}

/// Parses a frame size written `WxH`, e.g. `1920x1080`.
pub fn parse_size(text: &str) -> Result<(u32, u32)> {
    let bad = || Error::InvalidOption {
        option: "size",
        value: text.to_string(),
        expected: "WIDTHxHEIGHT, e.g. 1920x1080".to_string(),
    };
    let (w, h) = text.trim().split_once(['x', 'X']).ok_or_else(bad)?;
    let width = parse_dimension(w.trim(), "width").ok_or_else(bad)??;
    let height = parse_dimension(h.trim(), "height").ok_or_else(bad)??;
    Ok((width, height))
}

/// `None` if `text` is not a decimal number; otherwise the number checked
/// against 1..=MAX_DIMENSION.
fn parse_dimension(text: &str, name: &'static str) -> Option<Result<u32>> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value = text.parse::<u32>().unwrap_or(u32::MAX);
    Some(check_dimension(name, value).map(|()| value))
}

fn check_dimension(name: &'static str, value: u32) -> Result<()> {
    if value == 0 || value > MAX_DIMENSION {
        return Err(Error::InvalidDimension {
            name,
            value,
            max: MAX_DIMENSION,
        });
    }
    Ok(())
}

/// Opens `path` (`-` for standard input) as a frame source.
///
/// A `.y4m` name, or content starting with `YUV4MPEG2 `, is read as y4m;
/// anything else as raw frames, which needs `raw` (pixel format, width,
/// height).
pub fn open_input(
    path: &str,
    raw: Option<(PixelFormat, u32, u32)>,
) -> Result<Box<dyn FrameSource>> {
    let (name, reader): (PathBuf, Box<dyn BufRead>) = if path == "-" {
        (STDIN_NAME.into(), Box::new(io::stdin().lock()))
    } else {
        let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
        (
            path.into(),
            Box::new(BufReader::with_capacity(1 << 16, file)),
        )
    };
    let (prefix, rest) = sniff(reader, &name)?;
    let is_y4m = prefix == Y4M_MAGIC || has_y4m_extension(path);
    let reader: Box<dyn BufRead> = Box::new(Cursor::new(prefix).chain(rest));
    if is_y4m {
        return Ok(Box::new(Y4mReader::new(reader, name)?));
    }
    match raw {
        Some((format, width, height)) => Ok(Box::new(RawReader::new(
            reader, format, width, height, name,
        )?)),
        None => Err(Error::InvalidInput(format!(
            "'{}' is not a y4m file, so it is read as raw frames: give their --pix-fmt and --size",
            name.display()
        ))),
    }
}

fn has_y4m_extension(path: &str) -> bool {
    Path::new(path)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("y4m"))
}

/// Reads up to the length of the y4m magic from `reader`, returning those
/// bytes and the reader positioned after them.
fn sniff<R: Read>(mut reader: R, name: &Path) -> Result<(Vec<u8>, R)> {
    let mut prefix = vec![0; Y4M_MAGIC.len()];
    let got = read_full(&mut reader, &mut prefix).map_err(|e| Error::io("read", name, e))?;
    prefix.truncate(got);
    Ok((prefix, reader))
}

/// Fills `buf` unless the stream ends first; returns the bytes read.
fn read_full<R: Read + ?Sized>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// [`read_full`] into each of `parts` in turn, stopping where the stream
/// ends; returns the bytes read in all.
fn read_full_parts<R: Read + ?Sized>(reader: &mut R, parts: &mut [&mut [u8]]) -> io::Result<usize> {
    let mut total = 0;
    for part in parts.iter_mut() {
        let got = read_full(reader, part)?;
        total += got;
        if got < part.len() {
            break;
        }
    }
    Ok(total)
}

/// Headerless frames of a fixed size, back to back.
pub struct RawReader<R> {
    reader: R,
    info: SourceInfo,
    name: PathBuf,
    frames: u64,
}

impl<R: Read> RawReader<R> {
    /// `name` is used in error messages.
    pub fn new(
        reader: R,
        pixel_format: PixelFormat,
        width: u32,
        height: u32,
        name: impl Into<PathBuf>,
    ) -> Result<RawReader<R>> {
        check_dimension("width", width)?;
        check_dimension("height", height)?;
        Ok(RawReader {
            reader,
            info: SourceInfo::new(width, height, pixel_format),
            name: name.into(),
            frames: 0,
        })
    }
}

impl<R: Read> FrameSource for RawReader<R> {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn read_into(&mut self, parts: &mut [&mut [u8]]) -> Result<bool> {
        let expected = parts.iter().map(|p| p.len()).sum();
        let got = read_full_parts(&mut self.reader, parts)
            .map_err(|e| Error::io("read", &self.name, e))?;
        if got == 0 {
            return Ok(false);
        }
        if got < expected {
            return Err(Error::FrameSize {
                index: self.frames,
                got,
                expected,
                detail: "the input ends mid-frame".to_string(),
            });
        }
        self.frames += 1;
        Ok(true)
    }
}

/// A YUV4MPEG2 stream of 4:2:0 frames.
pub struct Y4mReader<R> {
    reader: R,
    info: SourceInfo,
    name: PathBuf,
    frames: u64,
}

impl<R: BufRead> Y4mReader<R> {
    /// Reads and checks the stream header; `name` is used in error messages.
    pub fn new(mut reader: R, name: impl Into<PathBuf>) -> Result<Y4mReader<R>> {
        let name = name.into();
        let header = read_line(&mut reader, &name)?.ok_or_else(|| {
            Error::InvalidInput(format!(
                "'{}' is empty: expected a y4m header",
                name.display()
            ))
        })?;
        let info = parse_header(&header)?;
        Ok(Y4mReader {
            reader,
            info,
            name,
            frames: 0,
        })
    }
}

impl<R: BufRead> FrameSource for Y4mReader<R> {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    /// Reads the FRAME line, then the samples.
    fn read_into(&mut self, parts: &mut [&mut [u8]]) -> Result<bool> {
        let Some(line) = read_line(&mut self.reader, &self.name)? else {
            return Ok(false);
        };
        check_frame_header(&line, self.frames)?;
        let expected: usize = parts.iter().map(|p| p.len()).sum();
        let got = read_full_parts(&mut self.reader, parts)
            .map_err(|e| Error::io("read", &self.name, e))?;
        if got < expected {
            return Err(Error::InvalidInput(format!(
                "y4m frame {} is truncated: got {got} of {expected} bytes",
                self.frames
            )));
        }
        self.frames += 1;
        Ok(true)
    }
}

/// Reads one line without its newline, or `None` at the end of the stream.
/// Lines longer than [`MAX_HEADER_LINE`] or cut off by the end are errors.
fn read_line<R: BufRead>(reader: &mut R, name: &Path) -> Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let limit = MAX_HEADER_LINE as u64;
    reader
        .take(limit)
        .read_until(b'\n', &mut line)
        .map_err(|e| Error::io("read", name, e))?;
    match line.last() {
        None => Ok(None),
        Some(b'\n') => {
            line.pop();
            Ok(Some(line))
        }
        Some(_) if line.len() >= MAX_HEADER_LINE => Err(Error::InvalidInput(format!(
            "y4m header line is longer than {MAX_HEADER_LINE} bytes (is this a y4m file?)"
        ))),
        Some(_) => Err(Error::InvalidInput(format!(
            "y4m header line '{}' is cut off by the end of the input",
            preview(&line)
        ))),
    }
}

/// The start of `bytes`, printable.
fn preview(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(32)];
    let more = if cut.len() < bytes.len() { "…" } else { "" };
    format!("{}{more}", cut.escape_ascii())
}

fn check_frame_header(line: &[u8], index: u64) -> Result<()> {
    let ok = line
        .strip_prefix(b"FRAME")
        .is_some_and(|rest| rest.is_empty() || rest[0] == b' ');
    if ok {
        return Ok(());
    }
    Err(Error::InvalidInput(format!(
        "y4m frame {index} does not start with a FRAME line (found '{}')",
        preview(line)
    )))
}

/// Parses the stream header line (without its newline).
fn parse_header(line: &[u8]) -> Result<SourceInfo> {
    let params = line
        .strip_prefix(&Y4M_MAGIC[..Y4M_MAGIC.len() - 1])
        .filter(|rest| rest.is_empty() || rest[0] == b' ')
        .ok_or_else(|| {
            Error::InvalidInput(format!(
                "not a y4m file: it starts with '{}', not 'YUV4MPEG2 '",
                preview(line)
            ))
        })?;
    let text = String::from_utf8_lossy(params);
    let mut header = Header::default();
    for token in text.split(' ').filter(|t| !t.is_empty()) {
        header.apply(token)?;
    }
    header.finish()
}

/// The parameters of a y4m header, as they are read.
#[derive(Default)]
struct Header {
    width: Option<u32>,
    height: Option<u32>,
    frame_rate: Option<Rational>,
    range: Option<ColourRange>,
}

impl Header {
    fn apply(&mut self, token: &str) -> Result<()> {
        let mut chars = token.chars();
        let tag = chars.next();
        let value = chars.as_str();
        match tag {
            Some('W') => self.width = Some(y4m_dimension(value, "width")?),
            Some('H') => self.height = Some(y4m_dimension(value, "height")?),
            Some('F') => self.frame_rate = y4m_rate(value)?,
            Some('I') => y4m_interlace(value)?,
            Some('C') => y4m_colourspace(value)?,
            Some('X') => self.range = y4m_range(value).or(self.range),
            // Pixel aspect (A), comments and unknown tags carry nothing we use.
            _ => {}
        }
        Ok(())
    }

    fn finish(self) -> Result<SourceInfo> {
        let missing = |what: &str| Error::InvalidInput(format!("y4m header has no {what}"));
        let width = self.width.ok_or_else(|| missing("width (W)"))?;
        let height = self.height.ok_or_else(|| missing("height (H)"))?;
        let mut info = SourceInfo::new(width, height, PixelFormat::Yuv420p);
        info.frame_rate = self.frame_rate;
        info.range = self.range;
        Ok(info)
    }
}

fn y4m_dimension(value: &str, name: &'static str) -> Result<u32> {
    parse_dimension(value, name).unwrap_or_else(|| {
        Err(Error::InvalidInput(format!(
            "y4m header has a bad {name} '{value}'"
        )))
    })
}

/// `F<num>:<den>`; `F0:0` means unknown.
fn y4m_rate(value: &str) -> Result<Option<Rational>> {
    let bad = || {
        Error::InvalidInput(format!(
            "y4m header has a bad frame rate 'F{value}' (expected F<num>:<den>)"
        ))
    };
    let (n, d) = value.split_once(':').ok_or_else(bad)?;
    let num: u32 = n.parse().map_err(|_| bad())?;
    let den: u32 = d.parse().map_err(|_| bad())?;
    match (num, den) {
        (0, 0) => Ok(None),
        (0, _) | (_, 0) => Err(bad()),
        _ => Ok(Some(Rational::new(num, den).reduced())),
    }
}

fn y4m_interlace(value: &str) -> Result<()> {
    match value {
        "p" | "?" => Ok(()),
        "t" | "b" | "m" => Err(Error::InvalidInput(format!(
            "interlaced y4m input (I{value}) is not supported: only progressive (Ip) frames are accepted"
        ))),
        _ => Err(Error::InvalidInput(format!(
            "y4m header has an unknown interlacing 'I{value}' (expected Ip)"
        ))),
    }
}

fn y4m_colourspace(value: &str) -> Result<()> {
    match value {
        "420" | "420jpeg" | "420paldv" | "420mpeg2" => Ok(()),
        _ => Err(Error::InvalidInput(format!(
            "y4m colourspace C{value} is not supported (accepted: {Y4M_ACCEPTED})"
        ))),
    }
}

/// `XCOLORRANGE=FULL` or `XCOLORRANGE=LIMITED`; other extensions say nothing.
fn y4m_range(value: &str) -> Option<ColourRange> {
    let range = value.strip_prefix("COLORRANGE=")?;
    if range.eq_ignore_ascii_case("FULL") {
        Some(ColourRange::Full)
    } else if range.eq_ignore_ascii_case("LIMITED") {
        Some(ColourRange::Limited)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn y4m(header: &str, frames: &[&[u8]]) -> Vec<u8> {
        let mut out = format!("{header}\n").into_bytes();
        for f in frames {
            out.extend_from_slice(b"FRAME\n");
            out.extend_from_slice(f);
        }
        out
    }

    fn open_y4m(bytes: &[u8]) -> Result<Y4mReader<Cursor<Vec<u8>>>> {
        Y4mReader::new(Cursor::new(bytes.to_vec()), "test.y4m")
    }

    fn read_all(source: &mut dyn FrameSource) -> Result<Vec<Vec<u8>>> {
        let mut frames = Vec::new();
        let mut buf = Vec::new();
        while source.read_frame(&mut buf)? {
            frames.push(buf.clone());
        }
        Ok(frames)
    }

    fn err_text<T>(r: Result<T>) -> String {
        match r {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        }
    }

    /// Frame `i` of a w×h yuv420p clip: bytes counting up from `i`.
    fn frame(w: u32, h: u32, i: u8) -> Vec<u8> {
        let n = PixelFormat::Yuv420p.frame_bytes(w, h);
        (0..n).map(|k| (k as u8).wrapping_add(i)).collect()
    }

    #[test]
    fn y4m_reads_header_and_frames() {
        let (a, b) = (frame(5, 3, 0), frame(5, 3, 1));
        let bytes = y4m(
            "YUV4MPEG2 W5 H3 F30000:1001 Ip A1:1 C420jpeg XYSCSS=420JPEG",
            &[&a, &b],
        );
        let mut r = open_y4m(&bytes).expect("valid");
        let info = r.info().clone();
        assert_eq!((info.width, info.height), (5, 3));
        assert_eq!(info.pixel_format, PixelFormat::Yuv420p);
        assert_eq!(info.frame_rate, Some(Rational::new(30000, 1001)));
        assert_eq!((info.matrix, info.range), (None, None));
        assert_eq!(read_all(&mut r).expect("frames"), vec![a, b]);
    }

    #[test]
    fn y4m_minimal_header_and_frame_params() {
        let f = frame(2, 2, 9);
        let mut bytes = b"YUV4MPEG2 H2 W2\nFRAME Ixyz Xfoo\n".to_vec();
        bytes.extend_from_slice(&f);
        let mut r = open_y4m(&bytes).expect("valid");
        assert_eq!(r.info().frame_rate, None);
        assert_eq!(read_all(&mut r).expect("frames"), vec![f]);
    }

    #[test]
    fn y4m_accepts_every_420_colourspace_and_unknown_rate() {
        for c in ["", " C420", " C420jpeg", " C420paldv", " C420mpeg2"] {
            let header = format!("YUV4MPEG2 W4 H4 F0:0 I?{c}");
            let r = open_y4m(&y4m(&header, &[])).expect(&header);
            assert_eq!(r.info().pixel_format, PixelFormat::Yuv420p);
            assert_eq!(r.info().frame_rate, None);
        }
    }

    #[test]
    fn y4m_colour_range_hint() {
        for (x, want) in [
            ("XCOLORRANGE=FULL", Some(ColourRange::Full)),
            ("XCOLORRANGE=LIMITED", Some(ColourRange::Limited)),
            ("XCOLORRANGE=ODD", None),
            ("XOTHER=1", None),
        ] {
            let r = open_y4m(&y4m(&format!("YUV4MPEG2 W4 H4 {x}"), &[])).expect(x);
            assert_eq!(r.info().range, want, "{x}");
        }
    }

    #[test]
    fn y4m_empty_stream_has_no_frames() {
        let mut r = open_y4m(&y4m("YUV4MPEG2 W4 H4 F25:1", &[])).expect("valid");
        assert_eq!(r.info().frame_rate, Some(Rational::new(25, 1)));
        assert!(read_all(&mut r).expect("clean end").is_empty());
    }

    #[test]
    fn y4m_bad_magic() {
        let text = err_text(open_y4m(b"RIFF1234 W4 H4\n"));
        assert!(
            text.contains("not a y4m file") && text.contains("YUV4MPEG2"),
            "{text}"
        );
        let text = err_text(open_y4m(b"YUV4MPEG2W4 H4\n"));
        assert!(text.contains("not a y4m file"), "{text}");
        let text = err_text(open_y4m(b""));
        assert!(text.contains("empty"), "{text}");
    }

    #[test]
    fn y4m_missing_dimensions() {
        let text = err_text(open_y4m(b"YUV4MPEG2 H4\n"));
        assert!(text.contains("no width"), "{text}");
        let text = err_text(open_y4m(b"YUV4MPEG2 W4 F30:1\n"));
        assert!(text.contains("no height"), "{text}");
        let text = err_text(open_y4m(b"YUV4MPEG2 Wabc H4\n"));
        assert!(text.contains("bad width 'abc'"), "{text}");
    }

    #[test]
    fn y4m_zero_and_oversize_dimensions() {
        for (header, what) in [
            ("YUV4MPEG2 W0 H4", "width 0"),
            ("YUV4MPEG2 W4 H0", "height 0"),
            ("YUV4MPEG2 W8193 H4", "width 8193"),
            ("YUV4MPEG2 W4 H99999999999", "height"),
        ] {
            let err = open_y4m(&y4m(header, &[])).err().expect(header);
            assert!(
                matches!(err, Error::InvalidDimension { .. }),
                "{header}: {err}"
            );
            assert!(err.to_string().contains(what), "{err}");
        }
    }

    #[test]
    fn y4m_rejects_interlaced() {
        for i in ["t", "b", "m"] {
            let text = err_text(open_y4m(&y4m(&format!("YUV4MPEG2 W4 H4 I{i}"), &[])));
            assert!(
                text.contains("interlaced") && text.contains("progressive"),
                "{text}"
            );
        }
    }

    #[test]
    fn y4m_rejects_other_colourspaces() {
        for c in ["444", "422", "mono", "420p10", "444alpha"] {
            let text = err_text(open_y4m(&y4m(&format!("YUV4MPEG2 W4 H4 C{c}"), &[])));
            assert!(text.contains(&format!("C{c}")), "{text}");
            assert!(text.contains(Y4M_ACCEPTED), "{text}");
        }
    }

    #[test]
    fn y4m_bad_frame_rate() {
        for f in ["F30", "F0:1", "F30:0", "Fa:b"] {
            let text = err_text(open_y4m(&y4m(&format!("YUV4MPEG2 W4 H4 {f}"), &[])));
            assert!(text.contains("frame rate"), "{text}");
        }
    }

    #[test]
    fn y4m_bad_frame_header() {
        let f = frame(2, 2, 0);
        let mut bytes = y4m("YUV4MPEG2 W2 H2", &[&f]);
        bytes.extend_from_slice(b"FRAMES\n");
        bytes.extend_from_slice(&f);
        let mut r = open_y4m(&bytes).expect("header");
        let text = err_text(read_all(&mut r));
        assert!(text.contains("frame 1") && text.contains("FRAME"), "{text}");
    }

    #[test]
    fn y4m_truncated_frame_header() {
        let mut bytes = y4m("YUV4MPEG2 W2 H2", &[]);
        bytes.extend_from_slice(b"FRA");
        let mut r = open_y4m(&bytes).expect("header");
        let text = err_text(read_all(&mut r));
        assert!(text.contains("cut off"), "{text}");
    }

    #[test]
    fn y4m_truncated_frame() {
        let (a, b) = (frame(4, 4, 0), frame(4, 4, 1));
        let bytes = y4m("YUV4MPEG2 W4 H4", &[&a, &b[..10]]);
        let mut r = open_y4m(&bytes).expect("header");
        let mut buf = Vec::new();
        assert!(r.read_frame(&mut buf).expect("first frame"));
        let text = err_text(r.read_frame(&mut buf));
        assert!(
            text.contains("frame 1 is truncated: got 10 of 24 bytes"),
            "{text}"
        );
    }

    #[test]
    fn y4m_header_line_too_long() {
        let mut bytes = b"YUV4MPEG2 W4 H4 X".to_vec();
        bytes.resize(1 << 20, b'a');
        let text = err_text(open_y4m(&bytes));
        assert!(text.contains("longer than 4096"), "{text}");
        // A garbage frame line is capped too.
        let mut bytes = y4m("YUV4MPEG2 W4 H4", &[]);
        bytes.resize(1 << 20, b'F');
        let mut r = open_y4m(&bytes).expect("header");
        assert!(err_text(read_all(&mut r)).contains("longer than 4096"));
    }

    #[test]
    fn y4m_header_cut_off() {
        let text = err_text(open_y4m(b"YUV4MPEG2 W4 H4"));
        assert!(text.contains("cut off"), "{text}");
    }

    #[test]
    fn raw_reads_whole_frames() {
        let fb = PixelFormat::Rgb24.frame_bytes(3, 2);
        let data: Vec<u8> = (0..3 * fb).map(|i| i as u8).collect();
        let mut r = RawReader::new(&data[..], PixelFormat::Rgb24, 3, 2, "x.rgb").expect("valid");
        assert_eq!(r.info(), &SourceInfo::new(3, 2, PixelFormat::Rgb24));
        let frames = read_all(&mut r).expect("frames");
        assert_eq!(frames.len(), 3);
        assert_eq!(frames.concat(), data);
    }

    #[test]
    fn raw_empty_input_has_no_frames() {
        let mut r = RawReader::new(&[][..], PixelFormat::Nv12, 4, 4, "x").expect("valid");
        assert!(read_all(&mut r).expect("clean end").is_empty());
    }

    #[test]
    fn raw_short_final_frame() {
        let fb = PixelFormat::Yuv420p.frame_bytes(4, 4);
        let data = vec![7u8; 2 * fb + 5];
        let mut r = RawReader::new(&data[..], PixelFormat::Yuv420p, 4, 4, "x.yuv").expect("valid");
        let err = read_all(&mut r).expect_err("short frame");
        assert!(
            matches!(
                err,
                Error::FrameSize {
                    index: 2,
                    got: 5,
                    expected: 24,
                    ..
                }
            ),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains("has 5 bytes, expected 24 (the input ends mid-frame)"),
            "{text}"
        );
    }

    #[test]
    fn raw_rejects_bad_dimensions() {
        for (w, h) in [(0, 2), (2, 0), (MAX_DIMENSION + 1, 2)] {
            let r = RawReader::new(&[][..], PixelFormat::Rgb24, w, h, "x");
            assert!(matches!(r.err(), Some(Error::InvalidDimension { .. })));
        }
    }

    /// Every frame of `source` read into one reused input frame, its planes
    /// joined (the packed layout).
    fn read_all_input(source: &mut dyn FrameSource) -> Result<Vec<Vec<u8>>> {
        let info = source.info().clone();
        let mut frame = InputFrame::new(info.width, info.height);
        let mut frames = Vec::new();
        while source.read_input_frame(&mut frame)? {
            frames.push(frame.planes_mut().concat());
        }
        Ok(frames)
    }

    #[test]
    fn input_frames_hold_what_read_frame_reads() {
        // Odd sizes: chroma planes of 3×2 for 5×3.
        let frames = [frame(5, 3, 0), frame(5, 3, 9), frame(5, 3, 200)];
        let packed = frames.concat();
        let mut raw =
            RawReader::new(&packed[..], PixelFormat::Yuv420p, 5, 3, "x.yuv").expect("raw");
        assert_eq!(read_all_input(&mut raw).expect("raw frames"), frames);
        let mut trickle =
            RawReader::new(Trickle(&packed), PixelFormat::Yuv420p, 5, 3, "-").expect("pipe");
        assert_eq!(read_all_input(&mut trickle).expect("piped frames"), frames);
        let refs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
        let bytes = y4m("YUV4MPEG2 W5 H3 F25:1", &refs);
        let mut r = open_y4m(&bytes).expect("y4m");
        assert_eq!(read_all_input(&mut r).expect("y4m frames"), frames);
    }

    #[test]
    fn input_frames_refuse_short_frames_other_formats_and_sizes() {
        // A frame cut off inside its chroma planes.
        let fb = PixelFormat::Yuv420p.frame_bytes(4, 4);
        let data = vec![7u8; fb + 18];
        let mut r = RawReader::new(&data[..], PixelFormat::Yuv420p, 4, 4, "x.yuv").expect("raw");
        let err = read_all_input(&mut r).expect_err("short frame");
        assert!(
            matches!(
                err,
                Error::FrameSize {
                    index: 1,
                    got: 18,
                    expected: 24,
                    ..
                }
            ),
            "{err:?}"
        );
        let bytes = y4m("YUV4MPEG2 W4 H4", &[&data[..3]]);
        let err = err_text(read_all_input(&mut open_y4m(&bytes).expect("y4m")));
        assert!(err.contains("truncated: got 3 of 24 bytes"), "{err}");
        let rgb = vec![0u8; PixelFormat::Rgb24.frame_bytes(4, 4)];
        let mut r = RawReader::new(&rgb[..], PixelFormat::Rgb24, 4, 4, "x.rgb").expect("raw");
        let err = err_text(r.read_input_frame(&mut InputFrame::new(4, 4)));
        assert!(
            err.contains("rgb24 frames cannot be read into an input frame"),
            "{err}"
        );
        let mut r = RawReader::new(&data[..], PixelFormat::Yuv420p, 4, 4, "x.yuv").expect("raw");
        let err = err_text(r.read_input_frame(&mut InputFrame::new(6, 4)));
        assert!(
            err.contains("an input frame of 6x4 cannot hold the source's 4x4 frames"),
            "{err}"
        );
    }

    /// Reads from a slice in tiny pieces, as a pipe may.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.0.len()).min(3);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn readers_handle_short_reads() {
        let f = frame(6, 4, 3);
        let bytes = y4m("YUV4MPEG2 W6 H4", &[&f, &f]);
        let mut r =
            Y4mReader::new(BufReader::with_capacity(5, Trickle(&bytes)), "pipe").expect("valid");
        assert_eq!(read_all(&mut r).expect("frames").len(), 2);
        let mut r = RawReader::new(Trickle(&f), PixelFormat::Yuv420p, 6, 4, "pipe").expect("valid");
        assert_eq!(read_all(&mut r).expect("frames"), vec![f]);
    }

    #[test]
    fn parse_size_accepts_and_rejects() {
        assert_eq!(parse_size("1920x1080").expect("ok"), (1920, 1080));
        assert_eq!(parse_size(" 1X8192 ").expect("ok"), (1, 8192));
        for bad in [
            "", "1920", "x1080", "1920x", "axb", "-1x2", "1x2x3", "1.5x2",
        ] {
            let err = parse_size(bad).expect_err(bad);
            assert!(
                matches!(err, Error::InvalidOption { option: "size", .. }),
                "{bad}"
            );
        }
        for (bad, what) in [
            ("0x10", "width 0"),
            ("10x0", "height 0"),
            ("8193x10", "width 8193"),
        ] {
            let err = parse_size(bad).expect_err(bad);
            assert!(err.to_string().contains(what), "{err}");
        }
        assert!(parse_size("99999999999x2").is_err());
    }

    /// A scratch file under the system temp dir, removed on drop.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(name: &str, bytes: &[u8]) -> TempFile {
            let path = std::env::temp_dir()
                .join(format!("framepress-input-{}-{name}", std::process::id()));
            std::fs::write(&path, bytes).expect("write temp file");
            TempFile(path)
        }

        fn path(&self) -> &str {
            self.0.to_str().expect("utf-8 temp path")
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn open_input_detects_y4m_by_extension_and_content() {
        let f = frame(4, 2, 0);
        let bytes = y4m("YUV4MPEG2 W4 H2", &[&f]);
        for name in ["clip.y4m", "clip.Y4M", "clip.bin"] {
            let file = TempFile::new(name, &bytes);
            let raw = Some((PixelFormat::Rgb24, 4, 2));
            let mut src = open_input(file.path(), raw).expect(name);
            assert_eq!(src.info().pixel_format, PixelFormat::Yuv420p, "{name}");
            assert_eq!(read_all(src.as_mut()).expect("frames"), vec![f.clone()]);
        }
    }

    #[test]
    fn open_input_y4m_extension_with_bad_content() {
        let file = TempFile::new("bad.y4m", b"hello world\n");
        let text = err_text(open_input(file.path(), None));
        assert!(text.contains("not a y4m file"), "{text}");
    }

    #[test]
    fn open_input_raw() {
        let data = vec![1u8; 2 * PixelFormat::Nv12.frame_bytes(4, 2)];
        let file = TempFile::new("clip.nv12", &data);
        let mut src = open_input(file.path(), Some((PixelFormat::Nv12, 4, 2))).expect("raw");
        assert_eq!(src.info(), &SourceInfo::new(4, 2, PixelFormat::Nv12));
        assert_eq!(read_all(src.as_mut()).expect("frames").len(), 2);
        // Shorter than the y4m magic.
        let file = TempFile::new("tiny.yuv", &[1, 2, 3]);
        let mut src = open_input(file.path(), Some((PixelFormat::Yuv420p, 2, 2))).expect("raw");
        let text = err_text(read_all(src.as_mut()));
        assert!(text.contains("has 3 bytes, expected 6"), "{text}");
    }

    #[test]
    fn open_input_raw_needs_format_and_size() {
        let file = TempFile::new("clip.rgb", &[0; 12]);
        let text = err_text(open_input(file.path(), None));
        assert!(
            text.contains("--pix-fmt") && text.contains("--size"),
            "{text}"
        );
    }

    #[test]
    fn open_input_missing_file() {
        let path = std::env::temp_dir().join("framepress-no-such-file.rgb");
        let path = path.to_str().expect("utf-8");
        let err = open_input(path, Some((PixelFormat::Rgb24, 2, 2)))
            .err()
            .expect("missing");
        assert!(matches!(err, Error::Io { action: "open", .. }), "{err:?}");
        assert!(err.to_string().contains(path), "{err}");
    }
}
