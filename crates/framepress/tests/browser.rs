//! The MP4s play in a real browser: headless Chromium loads each file (a
//! faststart MP4 and a fragmented one, each with H.264 video and Opus audio)
//! from a local HTTP server started here, in a `<video>` element; a script
//! reports the duration and size, seeks into the clip, draws the frame onto
//! a canvas and posts the pixels back, which must match the encoder's
//! reconstruction within the tolerance of the browser's YUV → RGB conversion.
//!
//! Chromium comes from Debian's `chromium` package (its bundled FFmpeg plays
//! H.264); it is looked up in `FRAMEPRESS_CHROMIUM`, then `PATH`. Without it
//! the test is skipped, unless `FRAMEPRESS_REQUIRE_TOOLS` is set.

mod common;
mod media;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use framepress::{
    AudioConfig, EncoderConfig, Fragmentation, MediaWriter, OutputOptions, RateControl, Rational,
};

const W: u32 = 320;
const H: u32 = 240;
const FPS: u32 = 30;
const FRAMES: usize = 30;
/// Seek target: the middle of frame 15.
const SEEK_FRAME: usize = 15;
/// Largest accepted difference per RGB channel between the browser's pixel
/// and the reconstruction converted with the BT.709 limited-range matrix.
const TOLERANCE: i32 = 10;

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FRAMEPRESS_CHROMIUM").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let paths = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&paths) {
        for name in ["chromium", "chromium-browser"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Frame `i`: four flat quadrants whose colours change from frame to frame,
/// so that the right frame must be shown, with nothing for chroma
/// subsampling or scaling to blur away from the quadrant centres.
fn frame(i: usize) -> Vec<u8> {
    let (w, h) = (W as usize, H as usize);
    let colours = quadrant_yuv(i);
    let mut out = vec![0u8; w * h * 3 / 2];
    let q = |x: usize, y: usize| usize::from(x >= w / 2) + 2 * usize::from(y >= h / 2);
    for y in 0..h {
        for x in 0..w {
            out[y * w + x] = colours[q(x, y)][0];
        }
    }
    let (cw, ch) = (w / 2, h / 2);
    for y in 0..ch {
        for x in 0..cw {
            let c = colours[q(2 * x, 2 * y)];
            out[w * h + y * cw + x] = c[1];
            out[w * h + cw * ch + y * cw + x] = c[2];
        }
    }
    out
}

fn quadrant_yuv(i: usize) -> [[u8; 3]; 4] {
    let i = i as u8;
    [
        [60 + 3 * i, 110, 170],
        [170 - 3 * i, 80, 120],
        [100 + 3 * i, 170, 100],
        [200 - 3 * i, 128, 128],
    ]
}

/// BT.709 limited range YUV → RGB, as browsers display such streams.
fn rgb(yuv: [u8; 3]) -> [i32; 3] {
    let y = 1.164_383_6 * (f64::from(yuv[0]) - 16.0);
    let u = f64::from(yuv[1]) - 128.0;
    let v = f64::from(yuv[2]) - 128.0;
    let c = |x: f64| x.round().clamp(0.0, 255.0) as i32;
    [
        c(y + 1.792_741 * v),
        c(y - 0.213_249 * u - 0.532_909 * v),
        c(y + 2.112_402 * u),
    ]
}

/// Quadrant centres, in pixels.
fn points() -> [(u32, u32); 4] {
    [
        (W / 4, H / 4),
        (3 * W / 4, H / 4),
        (W / 4, 3 * H / 4),
        (3 * W / 4, 3 * H / 4),
    ]
}

/// Writes the clip with video and a second of Opus audio; returns the
/// reconstruction of the frame the page seeks to.
fn write_clip(path: &Path, fragmentation: Fragmentation) -> Vec<u8> {
    let options = OutputOptions {
        fragmentation,
        ..OutputOptions::default()
    };
    let mut w = MediaWriter::create(path, &options).unwrap();
    let mut c = EncoderConfig::new(W, H);
    c.rate = RateControl::Qp(18);
    c.gop = 10;
    c.frame_rate = Rational::new(FPS, 1);
    c.keep_reconstruction = true;
    c.preset = framepress::Preset::Veryfast;
    let v = w.add_video(&c).unwrap();
    let a = w.add_audio(&AudioConfig::new(48_000, 2)).unwrap();
    let mut seek_recon = Vec::new();
    for i in 0..FRAMES {
        w.encode_frame(v, &frame(i)).unwrap();
        for r in w.take_reconstructions(v) {
            if i == SEEK_FRAME {
                seek_recon = r.to_i420();
            }
        }
        w.add_samples(a, &media::tones_planar(48_000, 2, 1600))
            .unwrap();
    }
    w.finish().unwrap();
    seek_recon
}

/// The reconstruction's YUV at (x, y).
fn yuv_at(i420: &[u8], x: u32, y: u32) -> [u8; 3] {
    let (w, h) = (W as usize, H as usize);
    let (x, y) = (x as usize, y as usize);
    let (cw, ch) = (w / 2, h / 2);
    [
        i420[y * w + x],
        i420[w * h + (y / 2) * cw + x / 2],
        i420[w * h + cw * ch + (y / 2) * cw + x / 2],
    ]
}

const PAGE: &str = r#"<!doctype html>
<html><body><canvas id="c"></canvas>
<script>
const files = FILES;
const points = POINTS;
function once(target, ok, bad) {
  return new Promise((resolve, reject) => {
    target.addEventListener(ok, () => resolve(), {once: true});
    target.addEventListener(bad, () => reject(new Error(bad + ' ' +
      (target.error ? target.error.code + ' ' + target.error.message : ''))), {once: true});
  });
}
async function check(name) {
  const v = document.createElement('video');
  v.muted = true;
  v.preload = 'auto';
  document.body.appendChild(v);
  const meta = once(v, 'loadedmetadata', 'error');
  v.src = name;
  await meta;
  const r = {name: name, duration: v.duration, width: v.videoWidth, height: v.videoHeight};
  const seeked = once(v, 'seeked', 'error');
  v.currentTime = SEEK;
  await seeked;
  if (v.readyState < 2) { await once(v, 'loadeddata', 'error'); }
  const c = document.getElementById('c');
  c.width = v.videoWidth;
  c.height = v.videoHeight;
  const g = c.getContext('2d', {willReadFrequently: true});
  g.drawImage(v, 0, 0);
  r.currentTime = v.currentTime;
  r.pixels = points.map(p => Array.from(g.getImageData(p[0], p[1], 1, 1).data.slice(0, 3)));
  return r;
}
(async () => {
  const results = [];
  for (const f of files) {
    try { results.push(await check(f)); }
    catch (e) { results.push({name: f, error: String(e)}); }
  }
  await fetch('/result', {method: 'POST', body: JSON.stringify(results)});
})();
</script></body></html>
"#;

/// Serves the page and the clips from `dir` (with byte ranges, which the
/// media stack uses to seek) and forwards the posted result.
fn serve(listener: TcpListener, dir: PathBuf, page: String, results: mpsc::Sender<String>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let (dir, page, results) = (dir.clone(), page.clone(), results.clone());
        std::thread::spawn(move || {
            let _ = handle(stream, &dir, &page, &results);
        });
    }
}

fn handle(
    stream: TcpStream,
    dir: &Path,
    page: &str,
    results: &mpsc::Sender<String>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (mut length, mut range) = (0usize, None);
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap_or(("", ""));
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap_or(0),
            "range" => range = Some(value.trim().to_string()),
            _ => {}
        }
    }
    let mut out = stream;
    if method == "POST" && target == "/result" {
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body)?;
        let _ = results.send(String::from_utf8_lossy(&body).into_owned());
        return out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
    let (body, kind) = match target {
        "/" | "/index.html" => (page.as_bytes().to_vec(), "text/html"),
        t if t.ends_with(".mp4") && !t[1..].contains('/') => {
            match std::fs::read(dir.join(&t[1..])) {
                Ok(b) => (b, "video/mp4"),
                Err(_) => (Vec::new(), ""),
            }
        }
        _ => (Vec::new(), ""),
    };
    if kind.is_empty() {
        return out.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    }
    // "bytes=START-" or "bytes=START-END".
    let span = range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.split_once('-'))
        .and_then(|(a, b)| {
            let start: usize = a.parse().ok()?;
            let end: usize = if b.is_empty() {
                body.len().checked_sub(1)?
            } else {
                b.parse::<usize>().ok()?.min(body.len().checked_sub(1)?)
            };
            (start <= end).then_some((start, end))
        });
    let head = match span {
        Some((s, e)) => format!(
            "HTTP/1.1 206 Partial Content\r\nContent-Type: {kind}\r\nAccept-Ranges: bytes\r\n\
             Content-Range: bytes {s}-{e}/{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len(),
            e - s + 1
        ),
        None => format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nAccept-Ranges: bytes\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ),
    };
    out.write_all(head.as_bytes())?;
    if method != "HEAD" {
        let (s, e) = span.unwrap_or((0, body.len().saturating_sub(1)));
        if !body.is_empty() {
            out.write_all(&body[s..=e])?;
        }
    }
    Ok(())
}

/// Ends the browser: politely, then by force.
fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn chromium_plays_the_mp4s_and_shows_the_right_frame() {
    let Some(browser) = chromium() else {
        if common::tools_required() {
            panic!(
                "chromium is required ({} is set) but was not found: \
                 apt-get install -y --no-install-recommends chromium, or set FRAMEPRESS_CHROMIUM",
                common::REQUIRE_TOOLS_VAR
            );
        }
        eprintln!(
            "skipping: chromium not found (apt-get install chromium, or set FRAMEPRESS_CHROMIUM)"
        );
        return;
    };
    let scratch = common::Scratch::new("browser");
    let files = [
        ("faststart.mp4", Fragmentation::Auto),
        ("fragmented.mp4", Fragmentation::Keyframes),
    ];
    let mut recons = Vec::new();
    for (name, f) in files {
        recons.push(write_clip(&scratch.path(name), f));
    }
    let seek = (SEEK_FRAME as f64 + 0.5) / f64::from(FPS);
    let page = PAGE
        .replace(
            "FILES",
            &format!(
                "[{}]",
                files
                    .iter()
                    .map(|(n, _)| format!("'{n}'"))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        )
        .replace(
            "POINTS",
            &format!(
                "[{}]",
                points()
                    .iter()
                    .map(|(x, y)| format!("[{x},{y}]"))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        )
        .replace("SEEK", &format!("{seek}"));

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    {
        let dir = scratch.dir().to_path_buf();
        std::thread::spawn(move || serve(listener, dir, page, tx));
    }
    let profile = scratch.path("profile");
    let log = std::fs::File::create(scratch.path("chromium.log")).unwrap();
    let child = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--mute-audio",
            "--autoplay-policy=no-user-gesture-required",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("http://127.0.0.1:{port}/index.html"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.display()));
    let result = rx.recv_timeout(Duration::from_secs(90));
    stop(child);
    let text = result.unwrap_or_else(|_| {
        let log = std::fs::read_to_string(scratch.path("chromium.log")).unwrap_or_default();
        panic!("no result from chromium within 90 s; its log:\n{log}")
    });
    eprintln!("chromium reported: {text}");
    let json = common::Json::parse(&text).expect("result JSON");
    for (k, (name, _)) in files.iter().enumerate() {
        let r = json.index(k).expect("a result per file");
        let get = |key: &str| r.get(key).and_then(common::Json::as_string);
        assert!(get("error").is_none(), "{name}: {text}");
        let num = |key: &str| -> f64 {
            get(key)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name}: no {key} in {text}"))
        };
        let duration = num("duration");
        assert!(
            (duration - FRAMES as f64 / f64::from(FPS)).abs() < 0.05,
            "{name}: duration {duration}"
        );
        assert_eq!(
            (num("width"), num("height")),
            (f64::from(W), f64::from(H)),
            "{name}"
        );
        let pixels = r.get("pixels").expect("pixels");
        for (p, &(x, y)) in points().iter().enumerate() {
            let px = pixels.index(p).expect("a pixel");
            let got: Vec<i32> = (0..3)
                .map(|c| {
                    px.index(c)
                        .and_then(common::Json::as_string)
                        .and_then(|v| v.parse().ok())
                        .expect("a channel value")
                })
                .collect();
            let want = rgb(yuv_at(&recons[k], x, y));
            for c in 0..3 {
                assert!(
                    (got[c] - want[c]).abs() <= TOLERANCE,
                    "{name}: pixel ({x},{y}) is {got:?}, the reconstruction of frame {SEEK_FRAME} gives {want:?}"
                );
            }
            // And not a neighbouring frame's colour.
            for other in [SEEK_FRAME - 1, SEEK_FRAME + 1] {
                let near = rgb(quadrant_yuv(other)[p]);
                let d_near: i32 = (0..3).map(|c| (got[c] - near[c]).abs()).sum();
                let d_want: i32 = (0..3).map(|c| (got[c] - want[c]).abs()).sum();
                assert!(
                    d_want < d_near,
                    "{name}: pixel ({x},{y}) {got:?} looks like frame {other}"
                );
            }
        }
    }
}
