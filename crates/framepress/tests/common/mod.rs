//! Helpers shared by framepress's integration tests (`mod common;` in a test file).
//!
//! * Tools: [`ffmpeg`] and [`ffprobe`] find the referee binaries; [`decode_to_i420`] decodes a stream to raw
//!   frames; [`probe`] reads stream properties.
//! * Content: deterministic frames in RGB24 ([`uniform_random`], [`solid`], [`gradient`], [`natural`]) and I420
//!   (the `_i420` variants), with a small PRNG ([`SplitMix64`]).
//! * Checking: [`assert_i420_frames_equal`] reports the first differing sample by frame, plane and macroblock.
//! * Files: [`Scratch`] gives a per-test directory under Cargo's target temp dir.
//!
//! Tools are looked up in `FRAMEPRESS_FFMPEG` / `FRAMEPRESS_FFPROBE`, then `.tools/` at the workspace root (where
//! `scripts/fetch-tools.sh` installs them), then `PATH`. When none is found a test prints "skipping: ..." and
//! returns, unless `FRAMEPRESS_REQUIRE_TOOLS=1` (set by `scripts/test.sh`), in which case it fails.
#![allow(dead_code)]

use std::env;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

pub const REQUIRE_TOOLS_VAR: &str = "FRAMEPRESS_REQUIRE_TOOLS";
pub const FFMPEG_VAR: &str = "FRAMEPRESS_FFMPEG";
pub const FFPROBE_VAR: &str = "FRAMEPRESS_FFPROBE";
pub const TEST_IMAGES_VAR: &str = "FRAMEPRESS_TEST_IMAGES";

/// Side of the square astronaut still, `astronaut_512x512.rgb` (raw RGB24).
pub const ASTRONAUT_SIZE: u32 = 512;

// ---------------------------------------------------------------------------------------------------------------
// Tools

/// The workspace root (two levels above this crate's manifest).
pub fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// True when `FRAMEPRESS_REQUIRE_TOOLS` is set to anything but empty, `0`, `false` or `no`.
pub fn tools_required() -> bool {
    match env::var(REQUIRE_TOOLS_VAR) {
        Ok(value) => !matches!(value.trim(), "" | "0" | "false" | "no"),
        Err(_) => false,
    }
}

/// The FFmpeg binary, or `None` (after printing "skipping: ...") when it is missing and not required.
///
/// Panics when it is missing and `FRAMEPRESS_REQUIRE_TOOLS` is set.
pub fn ffmpeg() -> Option<PathBuf> {
    tool("ffmpeg", FFMPEG_VAR)
}

/// The ffprobe binary, or `None` (after printing "skipping: ...") when it is missing and not required.
///
/// Panics when it is missing and `FRAMEPRESS_REQUIRE_TOOLS` is set.
pub fn ffprobe() -> Option<PathBuf> {
    tool("ffprobe", FFPROBE_VAR)
}

fn tool(name: &str, var: &str) -> Option<PathBuf> {
    match locate_tool(name, var) {
        Ok(path) => Some(path),
        Err(why) => {
            if tools_required() {
                panic!(
                    "{name} is required ({REQUIRE_TOOLS_VAR} is set) but {why}; \
                     run scripts/fetch-tools.sh or set {var}"
                );
            }
            eprintln!(
                "skipping: {name} not found ({why}; run scripts/fetch-tools.sh or set {var})"
            );
            None
        }
    }
}

fn locate_tool(name: &str, var: &str) -> Result<PathBuf, String> {
    if let Some(value) = env::var_os(var).filter(|value| !value.is_empty()) {
        let path = PathBuf::from(value);
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(format!(
                "{var}={} is not an executable file",
                path.display()
            ))
        };
    }
    let local = workspace_root().join(".tools").join(name);
    if is_executable(&local) {
        return Ok(local);
    }
    if let Some(paths) = env::var_os("PATH") {
        for dir in env::split_paths(&paths) {
            let candidate = dir.join(name);
            if is_executable(&candidate) {
                return Ok(candidate);
            }
        }
    }
    Err(format!("it is not in {var}, {} or PATH", local.display()))
}

fn is_executable(path: &Path) -> bool {
    match fs::metadata(path) {
        Ok(meta) if meta.is_file() => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                meta.permissions().mode() & 0o111 != 0
            }
            #[cfg(not(unix))]
            {
                true
            }
        }
        _ => false,
    }
}

/// Runs a command to completion and returns its stdout; panics with the command line, exit status and stderr
/// if it cannot start or exits unsuccessfully.
pub fn run_checked(command: &mut Command) -> Vec<u8> {
    run_with_stderr(command).0
}

/// Like [`run_checked`], but also returns stderr (which a successful run may still have written to).
pub fn run_with_stderr(command: &mut Command) -> (Vec<u8>, String) {
    let line = command_line(command);
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{line}`: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if !output.status.success() {
        panic!("`{line}` failed ({}):\n{stderr}", output.status);
    }
    (output.stdout, stderr)
}

fn command_line(command: &Command) -> String {
    let mut line = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding

/// Bytes in one I420 frame: a full-size luma plane and two chroma planes of ceil(w/2) x ceil(h/2).
pub fn i420_frame_bytes(width: u32, height: u32) -> usize {
    let (w, h) = (width as usize, height as usize);
    w * h + 2 * w.div_ceil(2) * h.div_ceil(2)
}

/// Bytes in one RGB24 frame.
pub fn rgb24_frame_bytes(width: u32, height: u32) -> usize {
    width as usize * height as usize * 3
}

/// A stream decoded by FFmpeg, exactly as the decoder output it (no scaling, no pixel-format or range conversion).
#[derive(Debug, Clone)]
pub struct Decoded {
    pub width: u32,
    pub height: u32,
    /// The YUV4MPEG2 colour tag, e.g. `420jpeg`, `420mpeg2`, `420p10`, `444`.
    pub chroma: String,
    /// `Some(true)` for full range, `Some(false)` for limited, `None` when FFmpeg did not say.
    pub full_range: Option<bool>,
    pub frames: Vec<Vec<u8>>,
}

/// Decodes the first video stream of `path` with FFmpeg into I420 frames of `width` x `height` (planes Y, U, V;
/// chroma planes ceil(w/2) x ceil(h/2)), one `Vec` per frame, in output order.
///
/// Every decoded frame comes out exactly once (`-fps_mode passthrough`) and no conversion is applied: the stream
/// must decode to 8-bit 4:2:0 of the given size, limited or full range, or this panics. It also panics if FFmpeg
/// fails or reports any error (the decoder runs with `-err_detect explode`). Requires [`ffmpeg`].
pub fn decode_to_i420(path: &Path, width: u32, height: u32) -> Vec<Vec<u8>> {
    let decoded = decode(path);
    assert!(
        is_8bit_420(&decoded.chroma),
        "{} decodes to y4m colour format C{}, not 8-bit 4:2:0",
        path.display(),
        decoded.chroma
    );
    assert!(
        decoded.width == width && decoded.height == height,
        "{} decodes to {}x{}, expected {width}x{height}",
        path.display(),
        decoded.width,
        decoded.height
    );
    decoded.frames
}

fn is_8bit_420(chroma: &str) -> bool {
    matches!(chroma, "420" | "420jpeg" | "420mpeg2" | "420paldv")
}

/// Decodes the first video stream of `path` with FFmpeg, in the decoder's own pixel format (see [`Decoded`]).
/// Panics if FFmpeg fails or reports any error. Requires [`ffmpeg`].
pub fn decode(path: &Path) -> Decoded {
    let ffmpeg = ffmpeg()
        .expect("decoding needs ffmpeg: check common::ffmpeg() first and skip when it is None");
    let mut command = Command::new(ffmpeg);
    command
        .args([
            "-nostdin",
            "-hide_banner",
            "-v",
            "error",
            "-err_detect",
            "explode",
            "-i",
        ])
        .arg(path)
        .args([
            "-map",
            "0:v:0",
            "-fps_mode",
            "passthrough",
            "-f",
            "yuv4mpegpipe",
            "-",
        ]);
    let line = command_line(&command);
    let (stdout, stderr) = run_with_stderr(&mut command);
    assert!(
        stderr.trim().is_empty(),
        "`{line}` reported errors:\n{stderr}"
    );
    parse_y4m(&stdout).unwrap_or_else(|e| panic!("`{line}`: bad YUV4MPEG2 output: {e}"))
}

/// Parses a YUV4MPEG2 stream (8-bit formats only: 4:2:0, 4:2:2, 4:4:4, mono).
pub fn parse_y4m(data: &[u8]) -> Result<Decoded, String> {
    let header_end = data
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("no header line")?;
    let header = std::str::from_utf8(&data[..header_end]).map_err(|_| "header is not UTF-8")?;
    let mut fields = header.split(' ');
    if fields.next() != Some("YUV4MPEG2") {
        return Err(format!("not a YUV4MPEG2 header: {header:?}"));
    }
    let (mut width, mut height) = (None, None);
    let mut chroma = "420jpeg".to_string();
    let mut full_range = None;
    for field in fields.filter(|f| !f.is_empty()) {
        let (tag, value) = field.split_at(1);
        match tag {
            "W" => width = value.parse::<u32>().ok(),
            "H" => height = value.parse::<u32>().ok(),
            "C" => chroma = value.to_string(),
            "X" if value.starts_with("COLORRANGE=") => {
                full_range = Some(value == "COLORRANGE=FULL");
            }
            _ => {}
        }
    }
    let width = width.ok_or_else(|| format!("no width in {header:?}"))?;
    let height = height.ok_or_else(|| format!("no height in {header:?}"))?;
    let (w, h) = (width as usize, height as usize);
    let frame_bytes = match chroma.as_str() {
        c if is_8bit_420(c) => i420_frame_bytes(width, height),
        "422" => w * h + 2 * w.div_ceil(2) * h,
        "444" => 3 * w * h,
        "mono" => w * h,
        other => return Err(format!("unsupported colour format C{other}")),
    };
    let mut frames = Vec::new();
    let mut pos = header_end + 1;
    while pos < data.len() {
        let line_end = data[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|n| pos + n)
            .ok_or_else(|| format!("frame {}: no FRAME line", frames.len()))?;
        if !data[pos..line_end].starts_with(b"FRAME") {
            return Err(format!(
                "frame {}: expected FRAME at byte {pos}",
                frames.len()
            ));
        }
        let start = line_end + 1;
        let end = start + frame_bytes;
        if end > data.len() {
            return Err(format!(
                "frame {}: truncated ({} of {frame_bytes} bytes)",
                frames.len(),
                data.len() - start
            ));
        }
        frames.push(data[start..end].to_vec());
        pos = end;
    }
    Ok(Decoded {
        width,
        height,
        chroma,
        full_range,
        frames,
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Probing

/// Properties of the first video stream, as ffprobe reports them.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeInfo {
    pub codec_name: String,
    /// e.g. `High`, `Constrained Baseline`, `High 4:4:4 Predictive`.
    pub profile: String,
    /// `level_idc` (e.g. 40 for level 4.0).
    pub level: Option<i64>,
    pub width: u32,
    pub height: u32,
    pub pix_fmt: String,
    /// e.g. `25/1`, `30000/1001`.
    pub r_frame_rate: String,
    pub avg_frame_rate: String,
    /// Frame count from the container (`None` for raw Annex B).
    pub nb_frames: Option<u64>,
    /// Frames ffprobe actually decoded (`-count_frames`).
    pub nb_read_frames: Option<u64>,
    /// Seconds (`None` when the container does not say).
    pub duration: Option<f64>,
    pub color_space: Option<String>,
    pub color_range: Option<String>,
    pub color_primaries: Option<String>,
    pub color_transfer: Option<String>,
    /// What ffprobe wrote to stderr at `-v error` (empty for a clean stream).
    pub errors: String,
}

const PROBE_ENTRIES: &str =
    "stream=codec_name,profile,level,width,height,pix_fmt,r_frame_rate,avg_frame_rate,\
nb_frames,nb_read_frames,duration,color_space,color_range,color_primaries,color_transfer";

/// Runs `ffprobe -count_frames` on the first video stream of `path`. Panics if ffprobe fails or finds no video
/// stream. Fields ffprobe leaves out (it omits unknown colour properties) are `None`. Requires [`ffprobe`].
pub fn probe(path: &Path) -> ProbeInfo {
    let ffprobe = ffprobe()
        .expect("probing needs ffprobe: check common::ffprobe() first and skip when it is None");
    let mut command = Command::new(ffprobe);
    command
        .args([
            "-hide_banner",
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
        ])
        .args(["-show_entries", PROBE_ENTRIES, "-of", "json"])
        .arg(path);
    let line = command_line(&command);
    let (stdout, errors) = run_with_stderr(&mut command);
    let text = String::from_utf8_lossy(&stdout);
    let json = Json::parse(&text).unwrap_or_else(|e| panic!("`{line}`: bad JSON ({e}):\n{text}"));
    let stream = json
        .get("streams")
        .and_then(|s| s.index(0))
        .unwrap_or_else(|| {
            panic!(
                "`{line}`: no video stream in {}:\n{text}\n{errors}",
                path.display()
            )
        });
    let string = |key: &str| stream.get(key).and_then(Json::as_string);
    let required =
        |key: &str| string(key).unwrap_or_else(|| panic!("`{line}`: no {key} in:\n{text}"));
    let number = |key: &str| -> Option<u64> { string(key).and_then(|s| s.parse().ok()) };
    let dimension = |key: &str| -> u32 {
        number(key)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or_else(|| panic!("`{line}`: no {key} in:\n{text}"))
    };
    ProbeInfo {
        codec_name: required("codec_name"),
        profile: required("profile"),
        level: string("level").and_then(|s| s.parse().ok()),
        width: dimension("width"),
        height: dimension("height"),
        pix_fmt: required("pix_fmt"),
        r_frame_rate: required("r_frame_rate"),
        avg_frame_rate: required("avg_frame_rate"),
        nb_frames: number("nb_frames"),
        nb_read_frames: number("nb_read_frames"),
        duration: string("duration").and_then(|s| s.parse().ok()),
        color_space: string("color_space"),
        color_range: string("color_range"),
        color_primaries: string("color_primaries"),
        color_transfer: string("color_transfer"),
        errors,
    }
}

/// A JSON value; numbers keep their source text so that integers of any size survive.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Parses one JSON document (RFC 8259), surrounded by optional whitespace.
    pub fn parse(text: &str) -> Result<Json, String> {
        let mut parser = JsonParser {
            bytes: text.as_bytes(),
            pos: 0,
        };
        let value = parser.value(0)?;
        parser.skip_whitespace();
        if parser.pos != parser.bytes.len() {
            return Err(format!("trailing data at byte {}", parser.pos));
        }
        Ok(value)
    }

    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Element `i` of an array.
    pub fn index(&self, i: usize) -> Option<&Json> {
        match self {
            Json::Array(items) => items.get(i),
            _ => None,
        }
    }

    /// A string, or a number's text (ffprobe writes some numbers as strings and others as numbers).
    pub fn as_string(&self) -> Option<String> {
        match self {
            Json::String(s) | Json::Number(s) => Some(s.clone()),
            _ => None,
        }
    }
}

struct JsonParser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl JsonParser<'_> {
    fn skip_whitespace(&mut self) {
        while matches!(self.bytes.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn error<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at byte {}", self.pos))
    }

    fn expect(&mut self, literal: &str, value: Json) -> Result<Json, String> {
        if self.bytes[self.pos..].starts_with(literal.as_bytes()) {
            self.pos += literal.len();
            Ok(value)
        } else {
            self.error("invalid literal")
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > 64 {
            return self.error("nesting too deep");
        }
        self.skip_whitespace();
        match self.bytes.get(self.pos) {
            None => self.error("unexpected end"),
            Some(b'n') => self.expect("null", Json::Null),
            Some(b't') => self.expect("true", Json::Bool(true)),
            Some(b'f') => self.expect("false", Json::Bool(false)),
            Some(b'"') => Ok(Json::String(self.string()?)),
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.skip_whitespace();
                if self.bytes.get(self.pos) == Some(&b']') {
                    self.pos += 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.skip_whitespace();
                    match self.bytes.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Json::Array(items));
                        }
                        _ => return self.error("expected ',' or ']'"),
                    }
                }
            }
            Some(b'{') => {
                self.pos += 1;
                let mut members = Vec::new();
                self.skip_whitespace();
                if self.bytes.get(self.pos) == Some(&b'}') {
                    self.pos += 1;
                    return Ok(Json::Object(members));
                }
                loop {
                    self.skip_whitespace();
                    if self.bytes.get(self.pos) != Some(&b'"') {
                        return self.error("expected a member name");
                    }
                    let key = self.string()?;
                    self.skip_whitespace();
                    if self.bytes.get(self.pos) != Some(&b':') {
                        return self.error("expected ':'");
                    }
                    self.pos += 1;
                    members.push((key, self.value(depth + 1)?));
                    self.skip_whitespace();
                    match self.bytes.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Json::Object(members));
                        }
                        _ => return self.error("expected ',' or '}'"),
                    }
                }
            }
            Some(b'-' | b'0'..=b'9') => {
                let start = self.pos;
                while matches!(
                    self.bytes.get(self.pos),
                    Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                ) {
                    self.pos += 1;
                }
                let text = std::str::from_utf8(&self.bytes[start..self.pos]).expect("ASCII");
                if text.parse::<f64>().is_err() {
                    return self.error("invalid number");
                }
                Ok(Json::Number(text.to_string()))
            }
            Some(_) => self.error("unexpected character"),
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self
            .bytes
            .get(self.pos..self.pos + 4)
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok());
        match digits {
            Some(v) => {
                self.pos += 4;
                Ok(v)
            }
            None => self.error("invalid \\u escape"),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.pos += 1; // opening quote
        let mut out = Vec::new();
        loop {
            let Some(&b) = self.bytes.get(self.pos) else {
                return self.error("unterminated string");
            };
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.bytes.get(self.pos) else {
                        return self.error("unterminated escape");
                    };
                    self.pos += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let first = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&first)
                                && self.bytes[self.pos..].starts_with(b"\\u")
                            {
                                self.pos += 2;
                                let second = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&second) {
                                    return self.error("invalid surrogate pair");
                                }
                                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                            } else {
                                first
                            };
                            char::from_u32(code).unwrap_or('\u{FFFD}')
                        }
                        _ => return self.error("invalid escape"),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                _ => out.push(b),
            }
        }
        String::from_utf8(out).or_else(|_| self.error("string is not UTF-8"))
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Deterministic content

/// SplitMix64: a tiny, fast, well-mixed deterministic generator.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "SplitMix64::below(0)");
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        assert!(lo <= hi, "SplitMix64::range({lo}, {hi})");
        lo + self.below((hi - lo) as u64 + 1) as i64
    }

    pub fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = vec![0; len];
        self.fill(&mut out);
        out
    }
}

/// RGB24 with every byte uniformly random: the worst case for the entropy coder.
pub fn uniform_random(width: u32, height: u32, seed: u64) -> Vec<u8> {
    SplitMix64::new(seed).bytes(rgb24_frame_bytes(width, height))
}

/// I420 with every sample uniformly random (0..=255, all three planes).
pub fn uniform_random_i420(width: u32, height: u32, seed: u64) -> Vec<u8> {
    SplitMix64::new(seed).bytes(i420_frame_bytes(width, height))
}

/// RGB24 of one colour.
pub fn solid(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    rgb.repeat(width as usize * height as usize)
}

/// I420 of one colour, given as `[y, u, v]`.
pub fn solid_i420(width: u32, height: u32, yuv: [u8; 3]) -> Vec<u8> {
    let (luma, chroma) = plane_sizes(width, height);
    let mut out = vec![yuv[0]; luma];
    out.resize(luma + chroma, yuv[1]);
    out.resize(luma + 2 * chroma, yuv[2]);
    out
}

fn plane_sizes(width: u32, height: u32) -> (usize, usize) {
    let (w, h) = (width as usize, height as usize);
    (w * h, w.div_ceil(2) * h.div_ceil(2))
}

/// `i * 255 / (n - 1)`, rounded to nearest: a ramp from 0 to 255 over `n` steps.
fn ramp(i: usize, n: usize) -> u8 {
    if n <= 1 {
        return 0;
    }
    ((i * 255 * 2 + (n - 1)) / (2 * (n - 1))) as u8
}

/// Smooth RGB24: red ramps left to right, green top to bottom, blue along the diagonal.
pub fn gradient(width: u32, height: u32) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let mut out = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            out.extend_from_slice(&[ramp(x, w), ramp(y, h), ramp(x + y, w + h - 1)]);
        }
    }
    out
}

/// Smooth I420: luma ramps along the diagonal, U left to right, V top to bottom.
pub fn gradient_i420(width: u32, height: u32) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let mut out = Vec::with_capacity(i420_frame_bytes(width, height));
    for y in 0..h {
        out.extend((0..w).map(|x| ramp(x + y, w + h - 1)));
    }
    for _ in 0..ch {
        out.extend((0..cw).map(|x| ramp(x, cw)));
    }
    for y in 0..ch {
        out.resize(out.len() + cw, ramp(y, ch));
    }
    out
}

/// Natural RGB24 content: the astronaut still (512x512) cropped, or mirror-tiled for larger sizes.
/// See [`natural_at`].
pub fn natural(width: u32, height: u32) -> Vec<u8> {
    natural_at(width, height, 0, 0)
}

/// Natural RGB24 content whose top-left corner is at `(x0, y0)` of the mirror-tiled astronaut plane: step the
/// offset from frame to frame to pan. Without the image (and without `FRAMEPRESS_REQUIRE_TOOLS`) this is a
/// synthetic pattern of smooth areas, edges and fine texture, with a note printed once.
pub fn natural_at(width: u32, height: u32, x0: i64, y0: i64) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let mut out = Vec::with_capacity(w * h * 3);
    match astronaut() {
        Some(image) => {
            let side = ASTRONAUT_SIZE as i64;
            for y in 0..h {
                let sy = mirror(y0 + y as i64, side) as usize;
                for x in 0..w {
                    let sx = mirror(x0 + x as i64, side) as usize;
                    let at = (sy * ASTRONAUT_SIZE as usize + sx) * 3;
                    out.extend_from_slice(&image[at..at + 3]);
                }
            }
        }
        None => {
            for y in 0..h {
                for x in 0..w {
                    out.extend_from_slice(&synthetic_pixel(x0 + x as i64, y0 + y as i64));
                }
            }
        }
    }
    out
}

/// [`natural`] converted to I420 with [`rgb24_to_i420`].
pub fn natural_i420(width: u32, height: u32) -> Vec<u8> {
    rgb24_to_i420(&natural(width, height), width, height)
}

/// [`natural_at`] converted to I420 with [`rgb24_to_i420`].
pub fn natural_i420_at(width: u32, height: u32, x0: i64, y0: i64) -> Vec<u8> {
    rgb24_to_i420(&natural_at(width, height, x0, y0), width, height)
}

/// Reflects `i` into `0..n` (period `2n`: 0, 1, .., n-1, n-1, .., 0, 0, 1, ..).
fn mirror(i: i64, n: i64) -> i64 {
    let m = i.rem_euclid(2 * n);
    if m < n {
        m
    } else {
        2 * n - 1 - m
    }
}

fn synthetic_pixel(x: i64, y: i64) -> [u8; 3] {
    // Smooth: a slow diagonal wave (triangle, period 512) and a horizontal one.
    let smooth_a = mirror(x + y / 2, 256);
    let smooth_b = mirror(y * 2 - x / 3, 256);
    // Edges: a coarse checkerboard of 24-pixel cells in one quadrant of every 192-pixel tile.
    let in_quadrant = x.rem_euclid(192) < 96 && y.rem_euclid(192) < 96;
    let edge = if in_quadrant && ((x.div_euclid(24) + y.div_euclid(24)) & 1) == 1 {
        60
    } else {
        0
    };
    // Texture: small hashed noise.
    let mut hash = SplitMix64::new(((x as u64) << 32) ^ (y as u64) ^ 0x5EED);
    let noise = (hash.next_u64() & 15) as i64 - 8;
    let clamp = |v: i64| v.clamp(0, 255) as u8;
    [
        clamp(smooth_a * 3 / 4 + edge + noise + 20),
        clamp(smooth_b * 3 / 4 + edge / 2 + noise + 30),
        clamp((smooth_a + smooth_b) * 3 / 8 + noise + 40),
    ]
}

fn astronaut() -> Option<&'static [u8]> {
    static IMAGE: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    IMAGE.get_or_init(load_astronaut).as_deref()
}

/// The directory with the natural test images: `FRAMEPRESS_TEST_IMAGES`, else `.tools/images`.
pub fn test_images_dir() -> PathBuf {
    match env::var_os(TEST_IMAGES_VAR).filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join(".tools").join("images"),
    }
}

fn load_astronaut() -> Option<Vec<u8>> {
    let path = test_images_dir().join("astronaut_512x512.rgb");
    let expected = rgb24_frame_bytes(ASTRONAUT_SIZE, ASTRONAUT_SIZE);
    let problem = match fs::read(&path) {
        Ok(bytes) if bytes.len() == expected => return Some(bytes),
        Ok(bytes) => format!("it has {} bytes, expected {expected}", bytes.len()),
        Err(e) => e.to_string(),
    };
    if tools_required() {
        panic!(
            "{} is required ({REQUIRE_TOOLS_VAR} is set) but unusable: {problem}; run scripts/fetch-tools.sh",
            path.display()
        );
    }
    eprintln!(
        "note: {} unusable ({problem}); natural() uses a synthetic pattern instead (run scripts/fetch-tools.sh)",
        path.display()
    );
    None
}

/// RGB24 to I420 for test content: BT.601 limited range, integer arithmetic, chroma averaged over 2x2 blocks
/// (edge samples repeated for odd sizes). Not a reference for framepress's own conversion.
pub fn rgb24_to_i420(rgb: &[u8], width: u32, height: u32) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    assert_eq!(
        rgb.len(),
        w * h * 3,
        "rgb24_to_i420: wrong buffer size for {width}x{height}"
    );
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let pixel = |x: usize, y: usize| -> (i32, i32, i32) {
        let at = (y.min(h - 1) * w + x.min(w - 1)) * 3;
        (rgb[at] as i32, rgb[at + 1] as i32, rgb[at + 2] as i32)
    };
    let mut out = Vec::with_capacity(i420_frame_bytes(width, height));
    for y in 0..h {
        for x in 0..w {
            let (r, g, b) = pixel(x, y);
            out.push((((66 * r + 129 * g + 25 * b + 128) >> 8) + 16) as u8);
        }
    }
    let mut u_plane = Vec::with_capacity(cw * ch);
    let mut v_plane = Vec::with_capacity(cw * ch);
    for cy in 0..ch {
        for cx in 0..cw {
            let (mut r, mut g, mut b) = (0, 0, 0);
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let p = pixel(2 * cx + dx, 2 * cy + dy);
                r += p.0;
                g += p.1;
                b += p.2;
            }
            // Sums of four samples: divide by 4 inside the shift (>> 10 instead of >> 8).
            u_plane.push((((-38 * r - 74 * g + 112 * b + 512) >> 10) + 128) as u8);
            v_plane.push((((112 * r - 94 * g - 18 * b + 512) >> 10) + 128) as u8);
        }
    }
    out.extend_from_slice(&u_plane);
    out.extend_from_slice(&v_plane);
    out
}

/// I420 to NV12 (same luma; U and V interleaved in one plane).
pub fn i420_to_nv12(i420: &[u8], width: u32, height: u32) -> Vec<u8> {
    let (luma, chroma) = plane_sizes(width, height);
    assert_eq!(
        i420.len(),
        luma + 2 * chroma,
        "i420_to_nv12: wrong buffer size for {width}x{height}"
    );
    let (y, uv) = i420.split_at(luma);
    let (u, v) = uv.split_at(chroma);
    let mut out = Vec::with_capacity(i420.len());
    out.extend_from_slice(y);
    for (&cb, &cr) in u.iter().zip(v) {
        out.extend_from_slice(&[cb, cr]);
    }
    out
}

// ---------------------------------------------------------------------------------------------------------------
// Comparing

/// Describes the first sample where two I420 frames differ (plane, position, macroblock, values, and how many
/// samples differ in all), or `None` if they are equal.
pub fn i420_mismatch(actual: &[u8], expected: &[u8], width: u32, height: u32) -> Option<String> {
    let frame_bytes = i420_frame_bytes(width, height);
    if actual.len() != frame_bytes || expected.len() != frame_bytes {
        return Some(format!(
            "sizes differ: {} and {} bytes, a {width}x{height} I420 frame has {frame_bytes}",
            actual.len(),
            expected.len()
        ));
    }
    if actual == expected {
        return None;
    }
    let (w, h) = (width as usize, height as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let planes = [
        ("Y", 0, w, 16),
        ("U", w * h, cw, 8),
        ("V", w * h + cw * ch, cw, 8),
    ];
    let differing = actual.iter().zip(expected).filter(|(a, b)| a != b).count();
    let first = actual
        .iter()
        .zip(expected)
        .position(|(a, b)| a != b)
        .expect("frames differ");
    let (name, start, stride, mb) = planes
        .iter()
        .rev()
        .find(|(_, start, _, _)| first >= *start)
        .copied()
        .expect("plane");
    let (x, y) = ((first - start) % stride, (first - start) / stride);
    let mut message = String::new();
    let _ = write!(
        message,
        "plane {name} sample ({x}, {y}) in macroblock ({}, {}): got {}, expected {}; {differing} samples differ",
        x / mb,
        y / mb,
        actual[first],
        expected[first]
    );
    Some(message)
}

/// Asserts that two sequences of I420 frames are equal, naming the first differing frame and sample.
pub fn assert_i420_frames_equal(actual: &[Vec<u8>], expected: &[Vec<u8>], width: u32, height: u32) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "frame counts differ: got {}, expected {}",
        actual.len(),
        expected.len()
    );
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        if let Some(why) = i420_mismatch(a, e, width, height) {
            panic!(
                "frame {i} of {} ({width}x{height}) differs: {why}",
                actual.len()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Files

/// A fresh directory for one test's files under Cargo's target temp dir, unique per process and call. Removed on
/// drop when the test passed; kept (and its path printed) when it panicked, for a look at the streams.
#[derive(Debug)]
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    pub fn new(test_name: &str) -> Scratch {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("framepress-tests")
            .join(format!("{test_name}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        Scratch { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A path for a file named `name` inside the directory.
    pub fn path(&self, name: impl AsRef<OsStr>) -> PathBuf {
        self.dir.join(name.as_ref())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("test files kept in {}", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
