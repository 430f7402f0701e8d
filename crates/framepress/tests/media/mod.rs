//! Helpers for the container tests (`mod media;` beside `mod common;`): decode
//! any video or audio stream of a file with FFmpeg, list a file's streams with
//! ffprobe, walk MP4 boxes, and measure audio error.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use crate::common;

/// Decodes video stream `index` (0-based among video streams) of `path` to
/// I420 frames of `width`×`height`, exactly as the decoder output them; panics
/// on any decoder error. Requires ffmpeg.
pub fn decode_video(path: &Path, index: usize, width: u32, height: u32) -> Vec<Vec<u8>> {
    let ffmpeg = common::ffmpeg().expect("decoding needs ffmpeg");
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
        .args(["-map", &format!("0:v:{index}"), "-fps_mode", "passthrough"])
        .args(["-f", "yuv4mpegpipe", "-"]);
    let (stdout, stderr) = common::run_with_stderr(&mut command);
    assert!(
        stderr.trim().is_empty(),
        "decoding {} reported errors:\n{stderr}",
        path.display()
    );
    let decoded = common::parse_y4m(&stdout).expect("y4m from ffmpeg");
    assert_eq!(
        (decoded.width, decoded.height),
        (width, height),
        "{} stream {index}",
        path.display()
    );
    decoded.frames
}

/// Decodes audio stream `index` of `path` to interleaved float32 samples at the
/// stream's own rate. Requires ffmpeg.
pub fn decode_audio(path: &Path, index: usize) -> Vec<f32> {
    let ffmpeg = common::ffmpeg().expect("decoding needs ffmpeg");
    let mut command = Command::new(ffmpeg);
    command
        .args(["-nostdin", "-hide_banner", "-v", "error", "-i"])
        .arg(path)
        .args(["-map", &format!("0:a:{index}"), "-f", "f32le", "-"]);
    let (stdout, stderr) = common::run_with_stderr(&mut command);
    assert!(
        stderr.trim().is_empty(),
        "decoding audio of {} reported errors:\n{stderr}",
        path.display()
    );
    stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// One stream as ffprobe lists it.
#[derive(Debug, Clone, Default)]
pub struct StreamInfo {
    pub codec_type: String,
    pub codec_name: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub r_frame_rate: String,
    pub sample_rate: Option<u32>,
    pub channels: Option<u32>,
    pub nb_read_frames: Option<u64>,
    pub duration: Option<f64>,
}

/// The file's format name, duration and every stream, from ffprobe (with
/// `-count_frames`). Requires ffprobe.
pub fn probe_all(path: &Path) -> (String, Option<f64>, Vec<StreamInfo>) {
    let ffprobe = common::ffprobe().expect("probing needs ffprobe");
    let mut command = Command::new(ffprobe);
    command
        .args([
            "-hide_banner",
            "-v",
            "error",
            "-count_frames",
            "-show_entries",
        ])
        .arg(
            "stream=codec_type,codec_name,width,height,r_frame_rate,sample_rate,channels,\
             nb_read_frames,duration:format=format_name,duration",
        )
        .args(["-of", "json"])
        .arg(path);
    let (stdout, errors) = common::run_with_stderr(&mut command);
    assert!(
        errors.trim().is_empty(),
        "ffprobe reported errors on {}:\n{errors}",
        path.display()
    );
    let text = String::from_utf8_lossy(&stdout);
    let json = common::Json::parse(&text).expect("ffprobe JSON");
    let format = json.get("format").expect("format section");
    let fstr = |key: &str| format.get(key).and_then(common::Json::as_string);
    let mut streams = Vec::new();
    let mut i = 0;
    while let Some(s) = json.get("streams").and_then(|a| a.index(i)) {
        let get = |key: &str| s.get(key).and_then(common::Json::as_string);
        let num = |key: &str| get(key).and_then(|v| v.parse::<u64>().ok());
        streams.push(StreamInfo {
            codec_type: get("codec_type").unwrap_or_default(),
            codec_name: get("codec_name").unwrap_or_default(),
            width: num("width").map(|v| v as u32),
            height: num("height").map(|v| v as u32),
            r_frame_rate: get("r_frame_rate").unwrap_or_default(),
            sample_rate: num("sample_rate").map(|v| v as u32),
            channels: num("channels").map(|v| v as u32),
            nb_read_frames: num("nb_read_frames"),
            duration: get("duration").and_then(|v| v.parse().ok()),
        });
        i += 1;
    }
    (
        fstr("format_name").unwrap_or_default(),
        fstr("duration").and_then(|v| v.parse().ok()),
        streams,
    )
}

/// The types of the top-level boxes of an MP4 file (ISO/IEC 14496-12 §4.2),
/// and where each starts; a box cut off by the end of the data is left out.
pub fn top_level_boxes(data: &[u8]) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 8 <= data.len() {
        let mut size = u32::from_be_bytes(data[at..at + 4].try_into().unwrap()) as u64;
        let kind = String::from_utf8_lossy(&data[at + 4..at + 8]).into_owned();
        if size == 1 {
            if at + 16 > data.len() {
                break;
            }
            size = u64::from_be_bytes(data[at + 8..at + 16].try_into().unwrap());
        } else if size == 0 {
            size = (data.len() - at) as u64;
        }
        if size < 8 || at as u64 + size > data.len() as u64 {
            break;
        }
        out.push((kind, at, size as usize));
        at += size as usize;
    }
    out
}

/// Signal-to-noise ratio in dB of `got` against `want`.
pub fn snr_db(got: &[f32], want: &[f32]) -> f64 {
    let (mut signal, mut noise) = (0f64, 0f64);
    for (g, w) in got.iter().zip(want) {
        signal += f64::from(*w).powi(2);
        noise += f64::from(g - w).powi(2);
    }
    10.0 * (signal / noise.max(1e-30)).log10()
}

/// `n` frames of `channels` channels, channel `c` a sine of 220·(c+1)·√2 Hz
/// plus a quieter 1 kHz tone, as planar (channel after channel) samples.
pub fn tones_planar(rate: u32, channels: usize, n: usize) -> Vec<f32> {
    (0..channels)
        .flat_map(|c| {
            let f = 220.0 * (c as f64 + 1.0) * std::f64::consts::SQRT_2;
            (0..n).map(move |i| {
                let t = i as f64 / f64::from(rate);
                (0.4 * (2.0 * std::f64::consts::PI * f * t).sin()
                    + 0.1 * (2.0 * std::f64::consts::PI * 1000.0 * t).sin()) as f32
            })
        })
        .collect()
}

/// Planar samples as interleaved frames.
pub fn interleave(planar: &[f32], channels: usize) -> Vec<f32> {
    let n = planar.len() / channels;
    (0..n)
        .flat_map(|i| (0..channels).map(move |c| planar[c * n + i]))
        .collect()
}
