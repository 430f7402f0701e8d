#!/usr/bin/env python3
"""framepress against x264 and openh264: speed, size and quality on the same raw frames, in one run.

    python3 bench/bench.py --smoke             # CI: tiny clip, two rungs, a few seconds, non-zero exit on failure
    python3 bench/bench.py --frames 30         # full run: default clips and encoders, qp 22/27/32/37, 3 timing runs
    python3 bench/bench.py --clips noise,testsrc2 --encoders framepress-cpu-medium,x264-medium --anchor x264-medium
    python3 bench/bench.py --list              # the encoder table

For each clip (bench/make_clips.py makes them: raw yuv420p, so every encoder reads identical frames), each encoder and
each rung of the quantiser ladder, the harness

  * encodes the raw file --runs times, timing each run with a wall clock around the process (making the input is not
    timed; the file is read once beforehand so it sits in the page cache), and takes the child's own peak RSS and
    CPU time from os.wait4; at the middle rung it also times the clip's first third, so that the report can give the
    speed beyond it, start-up and finishing left out (what long clips approach);
  * decodes the first run's output with FFmpeg (a decoder no one here wrote), checks the frame count, and compares it
    with the source: PSNR (Y, U, V, and PSNR-YUV), SSIM, and VMAF when the FFmpeg has libvmaf;
  * computes BD-rate (PSNR-Y, and PSNR-YUV) of every encoder against an anchor (default x264-ultrafast), with PCHIP
    interpolation (bench/bdrate.py);
  * encodes the first frames of the noise clip at qp 0 and 1 to Annex B and reports the largest access unit against
    the raw frame and against framepress's proven bound (`framepress bound WxH`, where the CLI has it);

then prints a markdown report and writes it, with a JSON file holding one record per (clip, encoder, setting), to the
output folder. A failing encoder is reported as "failed: <reason>" and the run goes on; an encoder that this build or
machine does not have (a --device cuda without a GPU, an option the CLI does not know yet) is skipped with a note.
The exit status is non-zero when framepress or the harness failed (with --smoke: when any encoder failed on the
clip); a reference encoder failing on noise (openh264 at low qp) is a result, reported but not counted.

Definitions: bytes = H.264 payload (sum of the container's video samples, as demuxed by FFmpeg; the file size is in
the JSON too); bits/pixel = 8 * bytes / (width * height * frames); PSNR per plane from the clip's mean squared error
(FFmpeg's psnr summary); PSNR-YUV = 10 log10(255^2 / ((6 MSE_Y + MSE_U + MSE_V) / 8)), the 6:1:1 weighting of the
per-plane MSE over the clip (FFmpeg's "average" weights 4:1:1 by sample count; it is in the JSON as psnr_avg_ffmpeg);
SSIM = FFmpeg's ssim "All" (and Y); VMAF = libvmaf's default model (vmaf_v0.6.1), pooled mean.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import make_clips  # noqa: E402
from bdrate import try_bd_rate  # noqa: E402


# --------------------------------------------------------------------------------------------------------------------
# The encoder table. One line per encoder and setting. `args` are the encoder's own options; "{q}" is replaced by the
# rung of the ladder (a qp, or a crf where rc="crf"), "{threads}" by --threads. The harness adds input and output:
#   framepress: framepress encode IN OUT --pix-fmt yuv420p --size WxH --fps R <args>
#   ffmpeg:     ffmpeg -f rawvideo -pix_fmt yuv420p -s WxH -r R -i IN <args> OUT
# A line whose encoder this build or machine lacks is skipped with a note (the probe encode fails), so lines for
# settings the CLI does not have yet can wait here. default=False: only with --encoders all or by name.
# --------------------------------------------------------------------------------------------------------------------
@dataclass
class Encoder:
    name: str
    tool: str  # "framepress" or "ffmpeg"
    args: list
    rc: str = "qp"  # what a rung means: "qp" or "crf"
    threads: str = "{threads}"  # what to report as the thread count
    default: bool = True
    required: bool = False  # the smoke run fails when this one is skipped
    q_min: int = 0  # lowest rung the encoder accepts (the worst-case table skips lower ones)
    note: str = ""


FP_CPU = ["--device", "cpu", "--threads", "{threads}"]
FP_CUDA = ["--device", "cuda"]
X264 = ["-c:v", "libx264", "-threads", "{threads}"]
ENCODERS = [
    Encoder("framepress-cpu-ultrafast", "framepress", FP_CPU + ["--preset", "ultrafast", "--qp", "{q}"]),
    Encoder("framepress-cpu-ultrafast-nodeblock", "framepress",
            FP_CPU + ["--preset", "ultrafast", "--no-deblock", "--qp", "{q}"], default=False),
    Encoder("framepress-cpu-superfast", "framepress", FP_CPU + ["--preset", "superfast", "--qp", "{q}"], default=False),
    Encoder("framepress-cpu-superfast-nodeblock", "framepress",
            FP_CPU + ["--preset", "superfast", "--no-deblock", "--qp", "{q}"], default=False),
    Encoder("framepress-cpu-veryfast", "framepress", FP_CPU + ["--preset", "veryfast", "--qp", "{q}"]),
    Encoder("framepress-cpu-medium", "framepress", FP_CPU + ["--preset", "medium", "--qp", "{q}"], required=True,
            note="the CLI's default preset"),
    Encoder("framepress-cpu-slow", "framepress", FP_CPU + ["--preset", "slow", "--qp", "{q}"]),
    Encoder("framepress-cuda-ultrafast", "framepress", FP_CUDA + ["--preset", "ultrafast", "--qp", "{q}"], threads="GPU"),
    Encoder("framepress-cuda-medium", "framepress", FP_CUDA + ["--preset", "medium", "--qp", "{q}"], threads="GPU"),
    Encoder("framepress-cpu-medium-intra", "framepress", FP_CPU + ["--preset", "medium", "--gop", "1", "--qp", "{q}"],
            default=False, note="every frame an IDR"),
    Encoder("framepress-cpu-medium-crf", "framepress", FP_CPU + ["--preset", "medium", "--crf", "{q}"], rc="crf",
            default=False),
    Encoder("x264-ultrafast", "ffmpeg", X264 + ["-preset", "ultrafast", "-qp", "{q}"]),
    Encoder("x264-veryfast", "ffmpeg", X264 + ["-preset", "veryfast", "-qp", "{q}"]),
    Encoder("x264-medium", "ffmpeg", X264 + ["-preset", "medium", "-qp", "{q}"]),
    Encoder("x264-veryfast-intra", "ffmpeg", X264 + ["-preset", "veryfast", "-g", "1", "-qp", "{q}"],
            default=False, note="every frame an IDR"),
    Encoder("x264-ultrafast-crf", "ffmpeg", X264 + ["-preset", "ultrafast", "-crf", "{q}"], rc="crf", default=False),
    Encoder("x264-veryfast-crf", "ffmpeg", X264 + ["-preset", "veryfast", "-crf", "{q}"], rc="crf", default=False),
    Encoder("x264-medium-crf", "ffmpeg", X264 + ["-preset", "medium", "-crf", "{q}"], rc="crf", default=False),
    # openh264 holds a constant qp when its quality-mode rate control is clamped to qmin = qmax (rc_mode off ignores
    # both); FFmpeg clips qmin to 1..51.
    Encoder("openh264", "ffmpeg", ["-c:v", "libopenh264", "-threads", "{threads}", "-rc_mode", "quality",
                                   "-qmin", "{q}", "-qmax", "{q}"], q_min=1),
]
ENCODER_BY_NAME = {e.name: e for e in ENCODERS}

DEFAULT_LADDER = [22, 27, 32, 37]
SMOKE_LADDER = [27, 37]
WORST_QPS = [0, 1]
PSNR_CAP = 100.0  # dB, for identical planes (MSE 0)


# --------------------------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------------------------
def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


GENERIC_FFMPEG_LINES = re.compile(r"Task finished with error|Terminating thread|Error (submitting|encoding|muxing|closing|"
                                  r"writing trailer)|Conversion failed|Nothing was written")


def short_reason(text: str, limit: int = 160) -> str:
    """The telling line of an error output: framepress's "error: ..." line, or FFmpeg's first error line that is not
    one of its generic follow-ups, without its "[component @ 0x...]" prefixes."""
    lines = [re.sub(r"^(\[[^]]*@ 0x[0-9a-f]+\]\s*)+", "", ln.strip()) for ln in text.splitlines() if ln.strip()]
    for ln in lines:
        if ln.lower().startswith("error") and not GENERIC_FFMPEG_LINES.search(ln):
            return ln[:limit]
    for ln in lines:
        if re.search(r"error|fail|invalid|unknown|not found|no such", ln, re.I) and not GENERIC_FFMPEG_LINES.search(ln):
            return ln[:limit]
    return (lines[-1] if lines else "no message")[:limit]


@dataclass
class Run:
    rc: int
    wall_s: float
    maxrss_kib: int
    cpu_s: float
    stderr: str
    timed_out: bool = False
    background: Optional[float] = None  # CPU cores' worth of other work on the machine during the run


CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def system_busy_s() -> Optional[float]:
    """CPU seconds the whole machine has been busy (all cores), from /proc/stat; None where there is none."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def background_load(seconds: float = 1.0) -> Optional[float]:
    """Cores kept busy by others over `seconds` while this harness runs nothing."""
    before = system_busy_s()
    time.sleep(seconds)
    after = system_busy_s()
    return None if before is None or after is None else max(0.0, (after - before) / seconds)


QUIET_BUDGET = {"left_s": 0.0}  # what is left of --quiet-budget: total seconds the run may spend waiting


def wait_for_quiet(limit: float, max_wait_s: float) -> Optional[float]:
    """Waits (up to max_wait_s, and what is left of the run's waiting budget) until other processes use less than
    `limit` cores; returns the last load seen."""
    t0 = time.monotonic()
    max_wait_s = min(max_wait_s, QUIET_BUDGET["left_s"])
    if max_wait_s <= 0:
        return None
    try:
        return _wait_for_quiet(limit, max_wait_s)
    finally:
        QUIET_BUDGET["left_s"] -= time.monotonic() - t0


def _wait_for_quiet(limit: float, max_wait_s: float) -> Optional[float]:
    deadline = time.monotonic() + max_wait_s
    announced = False
    while True:
        load = background_load()
        if load is None or load < limit or time.monotonic() >= deadline:
            if announced and load is not None:
                log(f"bench:   going on (others use {load:.2f} cores)")
            return load
        if not announced:
            log(f"bench:   machine busy (others use {load:.2f} cores); waiting up to {max_wait_s:g} s for quiet")
            announced = True
        time.sleep(2)


def run_child(argv: list, timeout_s: float, cwd: Optional[Path] = None) -> Run:
    """Runs argv once; wall clock around the process, and that child's own rusage from os.wait4."""
    with tempfile.TemporaryFile() as err:
        busy_before = system_busy_s()
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, cwd=cwd)
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout_s, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        busy_after = system_busy_s()
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; keep Popen from waiting again
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    cpu = usage.ru_utime + usage.ru_stime
    background = None
    if busy_before is not None and busy_after is not None and wall > 0:
        # /proc/stat counts in clock ticks: allow two ticks of slack so short runs are not flagged for rounding.
        background = max(0.0, (busy_after - busy_before - cpu - 2 / CLK_TCK) / wall)
    return Run(proc.returncode, wall, usage.ru_maxrss, cpu, text, timed_out.is_set(), background)


def run_text(argv: list, timeout_s: float = 600, cwd: Optional[Path] = None) -> subprocess.CompletedProcess:
    return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, errors="replace", timeout=timeout_s, cwd=cwd)


def sha256_of(path: Path) -> str:
    return make_clips.sha256_of(path)


# --------------------------------------------------------------------------------------------------------------------
# Tools and machine
# --------------------------------------------------------------------------------------------------------------------
@dataclass
class Tools:
    ffmpeg: str
    framepress: str  # a private copy, so a rebuild during the run cannot change it
    framepress_source: str
    has_vmaf: bool
    ffmpeg_version: str
    framepress_version: str
    framepress_sha256: str
    bound_cache: dict = field(default_factory=dict)

    def bound(self, w: int, h: int) -> tuple[Optional[int], str]:
        """framepress's proven maximum access-unit size for WxH, asked of the binary (`framepress bound WxH`)."""
        key = (w, h)
        if key not in self.bound_cache:
            try:
                done = run_text([self.framepress, "bound", f"{w}x{h}"], 60)
                m = re.search(r"\d+", done.stdout)
                if done.returncode == 0 and m:
                    self.bound_cache[key] = (int(m.group(0)), "")
                else:
                    self.bound_cache[key] = (None, "this framepress has no `bound` subcommand: "
                                             + short_reason(done.stderr or done.stdout))
            except (OSError, subprocess.SubprocessError) as e:
                self.bound_cache[key] = (None, str(e))
        return self.bound_cache[key]


def build_framepress() -> None:
    log("bench: cargo build --release -p framepress-cli")
    done = subprocess.run(["cargo", "build", "--release", "-p", "framepress-cli"], cwd=ROOT,
                          stdout=sys.stderr, stderr=sys.stderr)
    if done.returncode != 0:
        sys.exit("bench: cargo build failed")


def build_kind(binary: str) -> str:
    """How the timed framepress was built, from where it lies."""
    parts = Path(binary).parts
    if parts[-3:-1] == ("pgo", "release"):
        return "profile-guided release build"
    if parts[-2:-1] == ("release",):
        return "release build"
    return "binary given"


def build_framepress_pgo() -> Path:
    """scripts/build-release.sh: a release build optimised with a profile of the demo clip (or a plain one
    where llvm-profdata is missing); returns the binary it built."""
    log("bench: scripts/build-release.sh (profile-guided release build)")
    done = subprocess.run([str(ROOT / "scripts" / "build-release.sh")], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=sys.stderr, text=True)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        sys.exit("bench: scripts/build-release.sh failed")
    return Path(lines[-1])


def find_tools(args, work: Path) -> Tools:
    ffmpeg = make_clips.find_ffmpeg(args.ffmpeg)
    src = Path(args.framepress) if args.framepress else ROOT / "target" / "release" / "framepress"
    if args.pgo and not args.framepress:
        src = build_framepress_pgo()
    elif not args.framepress and (args.build or not src.is_file()):
        build_framepress()
    if not src.is_file():
        sys.exit(f"bench: no framepress binary at {src} (build it: cargo build --release -p framepress-cli)")
    copy = work / "framepress"
    shutil.copy2(src, copy)
    filters = run_text([ffmpeg, "-hide_banner", "-filters"]).stdout
    version = run_text([ffmpeg, "-hide_banner", "-version"]).stdout.splitlines()[0]
    fp_version = run_text([str(copy), "--version"]).stdout.strip()
    return Tools(ffmpeg, str(copy), str(src), bool(re.search(r"\blibvmaf\b", filters)) and not args.no_vmaf,
                 version, fp_version, sha256_of(copy))


def machine_info() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    gpus = []
    if shutil.which("nvidia-smi"):
        try:
            out = run_text(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"], 30)
            gpus = [ln.strip() for ln in out.stdout.splitlines() if ln.strip()] if out.returncode == 0 else []
        except (OSError, subprocess.SubprocessError):
            pass
    git = {}
    try:
        head = run_text(["git", "rev-parse", "HEAD"], 30, ROOT)
        dirty = run_text(["git", "status", "--porcelain", "--untracked-files=no"], 30, ROOT)
        if head.returncode == 0:
            git = {"commit": head.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gib": mem_gib,
        "gpus": gpus,
        "os": platform.platform(),
        "python": platform.python_version(),
        "loadavg_start": os.getloadavg(),
        "date_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "git": git,
    }


# --------------------------------------------------------------------------------------------------------------------
# Encoding and measuring
# --------------------------------------------------------------------------------------------------------------------
def encoder_argv(enc: Encoder, tools: Tools, clip: dict, src: str, out: str, q: int, threads: int) -> list:
    own = [a.replace("{q}", str(q)).replace("{threads}", str(threads)) for a in enc.args]
    w, h, fps = clip["width"], clip["height"], clip["fps"]
    if enc.tool == "framepress":
        return [tools.framepress, "encode", src, out, "--pix-fmt", "yuv420p", "--size", f"{w}x{h}", "--fps", fps, *own]
    if enc.tool == "ffmpeg":
        return [tools.ffmpeg, "-nostdin", "-hide_banner", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p",
                "-s", f"{w}x{h}", "-r", fps, "-i", src, *own, "-an", out]
    raise ValueError(f"unknown tool {enc.tool}")


def display_argv(argv: list, tools: Tools) -> str:
    shown = []
    for a in argv:
        if a == tools.framepress:
            a = "framepress"
        elif a == tools.ffmpeg:
            a = "ffmpeg"
        elif os.sep in a:
            a = Path(a).name
        shown.append(a)
    return " ".join(shown)


def probe(enc: Encoder, tools: Tools, work: Path, q: int, threads: int) -> Optional[str]:
    """Encodes two tiny frames; None when the encoder works here, else why not (the encoder is then skipped)."""
    clip = {"width": 64, "height": 48, "fps": "30"}
    src = work / "probe.yuv"
    if not src.exists():
        fb = make_clips.frame_bytes(64, 48)
        src.write_bytes(bytes((i * 7) & 0xFF for i in range(fb)) + bytes((i * 13) & 0xFF for i in range(fb)))
    out = work / f"probe-{enc.name}.mp4"
    try:
        r = run_child(encoder_argv(enc, tools, clip, str(src), str(out), max(q, enc.q_min), threads), 120)
    except OSError as e:
        return str(e)
    if r.rc != 0 or not out.is_file() or out.stat().st_size == 0:
        return short_reason(r.stderr) if r.stderr.strip() else f"exit status {r.rc}"
    out.unlink()
    return None


def stream_packets(tools: Tools, path: Path) -> list:
    """Sizes of the video packets (access units) of an encoded file, as FFmpeg demuxes them."""
    done = run_text([tools.ffmpeg, "-nostdin", "-hide_banner", "-v", "error", "-i", str(path), "-map", "0:v:0",
                     "-c", "copy", "-f", "framecrc", "-"])
    if done.returncode != 0:
        raise RuntimeError(f"ffmpeg could not demux the output: {short_reason(done.stderr)}")
    sizes = []
    for line in done.stdout.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        sizes.append(int(line.split(",")[4]))
    return sizes


def psnr_from_mse(mse: float) -> float:
    return PSNR_CAP if mse <= 0 else min(PSNR_CAP, 10 * math.log10(255.0**2 / mse))


def mse_from_psnr(text: str) -> float:
    return 0.0 if text == "inf" else 255.0**2 * 10 ** (-float(text) / 10)


def measure_quality(tools: Tools, out: Path, clip: dict, work: Path, threads: int) -> dict:
    """Decodes `out` with FFmpeg and compares it with the clip's raw frames."""
    w, h, n = clip["width"], clip["height"], clip["frames"]
    fb = make_clips.frame_bytes(w, h)
    dec = work / "decoded.yuv"
    done = run_text([tools.ffmpeg, "-nostdin", "-hide_banner", "-v", "error", "-y", "-i", str(out),
                     "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "yuv420p", str(dec)])
    if done.returncode != 0:
        raise RuntimeError(f"FFmpeg could not decode the output: {short_reason(done.stderr)}")
    got = dec.stat().st_size
    if got != n * fb:
        raise RuntimeError(f"decoded {got / fb:g} frames of {w}x{h}, expected {n}")
    raw = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{w}x{h}", "-r", clip["fps"]]
    result = {}
    for use_vmaf in ([True, False] if tools.has_vmaf else [False]):
        k = 3 if use_vmaf else 2
        graph = (f"[0:v]split={k}[d0][d1]{'[d2]' if use_vmaf else ''};"
                 f"[1:v]split={k}[r0][r1]{'[r2]' if use_vmaf else ''};"
                 "[d0][r0]psnr;[d1][r1]ssim")
        if use_vmaf:
            graph += f";[d2][r2]libvmaf=n_threads={threads}:log_fmt=json:log_path=vmaf.json"
        # Relative file names (cwd=work) keep paths out of the filter graph's escaping rules.
        done = run_text([tools.ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-v", "info",
                         *raw, "-i", dec.name, *raw, "-i", str(Path(clip["path"]).resolve()),
                         "-lavfi", graph, "-f", "null", "-"], cwd=work)
        if done.returncode != 0:
            if use_vmaf:
                result["vmaf_error"] = short_reason(done.stderr)
                continue
            raise RuntimeError(f"FFmpeg metrics failed: {short_reason(done.stderr)}")
        p = re.search(r"PSNR y:(\S+) u:(\S+) v:(\S+) average:(\S+)", done.stderr)
        s = re.search(r"SSIM Y:(\S+) .*All:(\S+)", done.stderr)
        if not p or not s:
            raise RuntimeError("no PSNR/SSIM summary in FFmpeg's output")
        mse = [mse_from_psnr(p.group(i)) for i in (1, 2, 3)]
        result.update(
            psnr_y=psnr_from_mse(mse[0]), psnr_u=psnr_from_mse(mse[1]), psnr_v=psnr_from_mse(mse[2]),
            psnr_yuv=psnr_from_mse((6 * mse[0] + mse[1] + mse[2]) / 8),
            psnr_avg_ffmpeg=min(PSNR_CAP, float(p.group(4))) if p.group(4) != "inf" else PSNR_CAP,
            ssim_y=float(s.group(1)), ssim_all=float(s.group(2)), vmaf=None,
        )
        if use_vmaf:
            try:
                result["vmaf"] = json.loads((work / "vmaf.json").read_text())["pooled_metrics"]["vmaf"]["mean"]
            except (OSError, ValueError, KeyError) as e:
                result["vmaf_error"] = f"no VMAF in libvmaf's log: {e}"
        break
    dec.unlink(missing_ok=True)
    return result


def access_unit_sizes(data: bytes) -> list:
    """Splits an Annex B byte stream into access units (7.4.1.2.3, for the NAL types an encoder writes); returns
    their sizes in bytes, each counting its NAL units' start codes (a zero_byte included) and every NAL unit
    (SPS, PPS, SEI, AUD, slices)."""
    starts = []  # (offset of the start code including a leading zero_byte, offset of the NAL header)
    i = data.find(b"\x00\x00\x01")
    while i >= 0:
        begin = i - 1 if i > 0 and data[i - 1] == 0 else i
        starts.append((begin, i + 3))
        i = data.find(b"\x00\x00\x01", i + 3)
    aus, cur, seen_vcl = [], 0, False
    for k, (begin, hdr) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(data)
        if hdr >= len(data):
            break
        nal_type = data[hdr] & 0x1F
        new_au = False
        if nal_type in (1, 5):
            first_mb_zero = hdr + 1 < len(data) and data[hdr + 1] & 0x80  # ue(v) first_mb_in_slice == 0
            new_au = seen_vcl and bool(first_mb_zero)
        elif nal_type in (6, 7, 8, 9, 14, 15, 16, 17, 18):
            new_au = seen_vcl
        if new_au:
            aus.append(cur)
            cur, seen_vcl = 0, False
        cur += end - begin
        if nal_type in (1, 5):
            seen_vcl = True
    if cur:
        aus.append(cur)
    return aus


# --------------------------------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------------------------------
def select_encoders(spec: str, anchor: str) -> list:
    if spec in ("default", "all"):
        chosen = [e for e in ENCODERS if spec == "all" or e.default]
    else:
        names = [n.strip() for n in spec.split(",") if n.strip()]
        unknown = [n for n in names if n not in ENCODER_BY_NAME]
        if unknown:
            sys.exit(f"bench: unknown encoder(s) {', '.join(unknown)}; --list shows them")
        chosen = [ENCODER_BY_NAME[n] for n in names]
    if anchor and anchor not in {e.name for e in chosen}:
        if anchor not in ENCODER_BY_NAME:
            sys.exit(f"bench: unknown anchor {anchor}")
        log(f"bench: adding the anchor {anchor} to the encoders")
        chosen.insert(0, ENCODER_BY_NAME[anchor])
    return chosen


def base_record(clip: dict, enc: Encoder, q: int, threads: int, machine_short: dict) -> dict:
    return {
        "clip": clip["name"], "width": clip["width"], "height": clip["height"], "frames": clip["frames"],
        "clip_fps": clip["fps"], "encoder": enc.name, "tool": enc.tool, "rc": enc.rc, "q": q,
        "threads": enc.threads.replace("{threads}", str(threads)), "status": "ok", "reason": "",
        "machine": machine_short,
    }


@dataclass
class Timing:
    """One encoder's timed runs of one rung, taken in turn with the other encoders' ([`bench_rung`])."""
    enc: Encoder
    rec: dict
    argv: list
    out: Path
    first: Optional[Path] = None
    runs: list = field(default_factory=list)
    contended: list = field(default_factory=list)
    attempts: int = 0
    error: Optional[str] = None

    def wants_run(self, args) -> bool:
        limit = 2 * args.runs if QUIET_BUDGET["left_s"] > 0 else args.runs
        return self.error is None and len(self.runs) < args.runs and self.attempts < limit


def timed_run(t: Timing, tools: Tools, clip: dict, args) -> None:
    """One run of `t`'s encoder. A run during which other processes kept more than --max-background cores busy does
    not count: the harness waits for quiet and runs again, up to --runs extra times; then it uses what it has and
    flags the record. The first run's output is checked and kept for the quality measures."""
    t.attempts += 1
    if args.quiet_wait > 0 and (t.attempts == 1 or t.contended):
        wait_for_quiet(args.max_background, args.quiet_wait)
    t.out.unlink(missing_ok=True)
    r = run_child(t.argv, args.timeout)
    if r.timed_out:
        raise RuntimeError(f"timed out after {args.timeout:g} s")
    if r.rc != 0:
        raise RuntimeError(short_reason(r.stderr) if r.stderr.strip() else f"exit status {r.rc}")
    if not t.out.is_file() or t.out.stat().st_size == 0:
        raise RuntimeError("exit status 0 but no output file")
    first_run = t.first is None
    if args.quiet_wait > 0 and r.background is not None and r.background > args.max_background:
        t.contended.append(r)
        log(f"bench:   {t.enc.name} run {t.attempts}: {r.wall_s:.2f} s while others used {r.background:.2f} cores; "
            "not counted")
    else:
        t.runs.append(r)
    if first_run:
        sizes = stream_packets(tools, t.out)
        if len(sizes) != clip["frames"]:
            raise RuntimeError(f"{len(sizes)} video packets in the output, expected {clip['frames']}")
        t.rec["bytes_file"] = t.out.stat().st_size
        t.rec["bytes"] = sum(sizes)
        t.rec["max_frame_bytes"] = max(sizes)
        t.first = t.out.with_name(t.out.stem + "-first.mp4")
        os.replace(t.out, t.first)


def finish_timing(t: Timing, tools: Tools, clip: dict, args, work: Path) -> None:
    """The record of `t`'s runs: median time, CPU, memory, and the quality of the first run's output."""
    rec, runs = t.rec, t.runs
    rec["contended"] = len(runs) < args.runs
    if rec["contended"]:
        runs += t.contended[: args.runs - len(runs)]
    rec["background_cores"] = [None if r.background is None else round(r.background, 2) for r in runs]
    rec["runs_not_counted"] = len(t.contended) if not rec["contended"] else 0
    times = [r.wall_s for r in runs]
    median = statistics.median(times)
    mid = min(runs, key=lambda r: abs(r.wall_s - median))
    pixels = clip["width"] * clip["height"] * clip["frames"]
    rec.update(
        runs=len(runs), times_s=[round(x, 4) for x in times], time_median_s=round(median, 4),
        fps=clip["frames"] / median, cpu_percent=round(100 * mid.cpu_s / mid.wall_s, 1),
        # CPU time per frame barely changes when other processes share the machine; wall time does.
        cpu_ms_per_frame=round(1000 * statistics.median(r.cpu_s for r in runs) / clip["frames"], 2),
        peak_rss_mib=round(max(r.maxrss_kib for r in runs) / 1024, 1),
        bits_per_pixel=8 * rec["bytes"] / pixels,
    )
    rec.update(measure_quality(tools, t.first, clip, work, args.threads))
    if args.keep:
        os.replace(t.first, work / f"{clip['name']}-{t.enc.name}-{rec['q']}.mp4")
    else:
        t.first.unlink(missing_ok=True)


def bench_rung(timings: list, tools: Tools, clip: dict, args, work: Path) -> None:
    """Times the encoders of one rung in turn — a run of each, then the next round, the first encoder of a round
    moving one place each time — so that a machine whose speed drifts (a shared host) slows them alike; then
    finishes each record. An encoder that fails gets its error in `error` and leaves the rotation."""
    round_no = 0
    while True:
        pending = [t for t in timings if t.wants_run(args)]
        if not pending:
            break
        shift = round_no % len(pending)
        for t in pending[shift:] + pending[:shift]:
            try:
                timed_run(t, tools, clip, args)
            except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as e:
                t.error = str(e)
        round_no += 1
    for t in timings:
        if t.error is None:
            try:
                finish_timing(t, tools, clip, args, work)
            except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as e:
                t.error = str(e)


def short_clip(clip: dict, work: Path) -> Optional[dict]:
    """The clip's first third (at least 2 frames, and fewer than the clip), written once into `work`."""
    n = clip["frames"] // 3
    if n < 2 or clip["frames"] - n < 2:
        return None
    path = work / f"{clip['name']}-first{n}.yuv"
    size = make_clips.frame_bytes(clip["width"], clip["height"]) * n
    if not path.is_file() or path.stat().st_size != size:
        with open(clip["path"], "rb") as f:
            path.write_bytes(f.read(size))
    return dict(clip, path=str(path), frames=n)


def bench_steady(enc: Encoder, tools: Tools, clip: dict, q: int, args, work: Path, rec: dict) -> None:
    """Times the clip's first third as bench_one times the whole clip: the difference of the two medians is the
    cost of the other frames without start-up and finishing, which a long clip's fps approaches."""
    short = short_clip(clip, work)
    if short is None or rec.get("status") != "ok":
        return
    out = work / f"{clip['name']}-{enc.name}-{q}-short.mp4"
    argv = encoder_argv(enc, tools, short, short["path"], str(out), q, args.threads)
    times = []
    for _ in range(args.runs):
        out.unlink(missing_ok=True)
        r = run_child(argv, args.timeout)
        if r.timed_out or r.rc != 0 or not out.is_file():
            raise RuntimeError(f"first {short['frames']} frames: " + (short_reason(r.stderr) or f"exit {r.rc}"))
        times.append(r.wall_s)
    out.unlink(missing_ok=True)
    t_short = statistics.median(times)
    rest = rec["time_median_s"] - t_short
    rec.update(short_frames=short["frames"], short_time_median_s=round(t_short, 4),
               steady_fps=(clip["frames"] - short["frames"]) / rest if rest > 0 else None)


def worst_case(encoders: list, tools: Tools, clip: dict, args, work: Path, machine_short: dict) -> list:
    """Largest access unit at qp 0/1 on noise, against the raw frame and framepress's proven bound."""
    w, h = clip["width"], clip["height"]
    fb = make_clips.frame_bytes(w, h)
    n = min(args.worst_frames, clip["frames"])
    src = work / f"worst-{clip['name']}.yuv"
    with open(clip["path"], "rb") as f_in, open(src, "wb") as f_out:
        f_out.write(f_in.read(n * fb))
    sub = dict(clip, frames=n, path=str(src))
    rows = []
    for enc in encoders:
        if enc.rc != "qp":
            continue
        for q in args.worst_qps:
            rec = base_record(sub, enc, q, args.threads, machine_short)
            rec["raw_frame_bytes"] = fb
            if q < enc.q_min:
                rec.update(status="skipped", reason=f"{enc.name} accepts qp >= {enc.q_min} only")
                rows.append(rec)
                continue
            out = work / f"worst-{enc.name}-{q}.h264"
            argv = encoder_argv(enc, tools, sub, str(src), str(out), q, args.threads)
            rec["command"] = display_argv(argv, tools)
            log(f"bench: worst case {clip['name']} {w}x{h} x{n} {enc.name} qp {q}")
            if args.quiet_wait > 0:
                wait_for_quiet(args.max_background, args.quiet_wait)
            try:
                r = run_child(argv, args.timeout)
                if r.timed_out or r.rc != 0:
                    raise RuntimeError(f"timed out after {args.timeout:g} s" if r.timed_out else
                                       (short_reason(r.stderr) if r.stderr.strip() else f"exit status {r.rc}"))
                aus = access_unit_sizes(out.read_bytes())
                if len(aus) != n:
                    raise RuntimeError(f"{len(aus)} access units in the output, expected {n}")
                dec_bin = subprocess.run([tools.ffmpeg, "-nostdin", "-v", "error", "-i", str(out), "-fps_mode",
                                          "passthrough", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         timeout=args.timeout)
                if dec_bin.returncode != 0 or len(dec_bin.stdout) != n * fb:
                    raise RuntimeError(f"FFmpeg decoded {len(dec_bin.stdout) / fb:g} of {n} frames: "
                                       f"{short_reason(dec_bin.stderr.decode('utf-8', 'replace'))}")
                rec.update(fps=n / r.wall_s, peak_rss_mib=round(r.maxrss_kib / 1024, 1), au_bytes=aus,
                           max_au_bytes=max(aus), mean_au_bytes=sum(aus) / len(aus), max_over_raw=max(aus) / fb)
                if enc.tool == "framepress":
                    bound, why = tools.bound(w, h)
                    rec["bound_bytes"] = bound
                    if bound is None:
                        rec["bound_note"] = why
                    else:
                        rec["max_over_bound"] = max(aus) / bound
                        if max(aus) > bound:
                            raise RuntimeError(f"access unit of {max(aus)} bytes exceeds the proven bound {bound}")
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                rec.update(status="failed", reason=str(e))
                log(f"bench:   failed: {e}")
            finally:
                out.unlink(missing_ok=True)
            rows.append(rec)
    src.unlink(missing_ok=True)
    return rows


def compute_bd(records: list, anchor: str, clips: list, encoders: list) -> list:
    rows = []
    for clip in clips:
        def curve(name, metric):
            return [(r["bytes"], r[metric]) for r in records
                    if r["clip"] == clip["name"] and r["encoder"] == name and r["status"] == "ok"]

        for enc in encoders:
            row = {"clip": clip["name"], "encoder": enc.name, "anchor": anchor}
            if not any(r["clip"] == clip["name"] and r["encoder"] == enc.name and r["status"] == "ok" for r in records):
                row.update(bd_rate_psnr_y=None, bd_rate_psnr_yuv=None, reason="no results")
            else:
                for metric in ("psnr_y", "psnr_yuv"):
                    value, why = try_bd_rate(curve(anchor, metric), curve(enc.name, metric))
                    row[f"bd_rate_{metric}"] = value
                    if why and "reason" not in row:
                        row["reason"] = why
            rows.append(row)
    return rows


# --------------------------------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------------------------------
def finite(obj):
    """obj with every NaN or infinite float replaced by None (JSON has no such numbers)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def fmt(v, spec: str, na: str = "n/a") -> str:
    if v is None:
        return na
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return na
    return format(v, spec)


def fmt_fps(v) -> str:
    return "n/a" if v is None else (f"{v:.1f}" if v >= 10 else f"{v:.2f}")


def table(header: list, rows: list, left: int = 1) -> list:
    """A markdown table; the first `left` columns are left-aligned, the others (numbers) right-aligned."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(":---" if i < left else "---:" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def report(data: dict) -> str:
    m, cfg = data["machine"], data["config"]
    lines = [
        "# framepress benchmark", "",
        f"- Date: {m['date_utc']}",
        f"- Machine: {m['cpu']}, {m['cores']} cores ({m['cores_usable']} usable), {m['memory_gib']} GiB, "
        f"{', '.join(m['gpus']) if m['gpus'] else 'no GPU'}; load average at start {m['loadavg_start'][0]:.2f}, "
        f"at end {m.get('loadavg_end', [0])[0]:.2f}",
        f"- framepress: {cfg['framepress_version']} (sha256 {cfg['framepress_sha256'][:12]}, "
        f"{build_kind(cfg.get('framepress', ''))}), git "
        f"{m['git'].get('commit', '?')[:12]}{' (dirty tree)' if m['git'].get('dirty') else ''}",
        *([f"- Label: {cfg['label']}"] if cfg.get("label") else []),
        f"- FFmpeg: {cfg['ffmpeg_version']}; VMAF: {'yes' if cfg['vmaf'] else 'no'}",
        f"- Ladder: {', '.join(map(str, cfg['ladder']))}; timing runs: {cfg['runs']} (fps = frames / median wall time); "
        f"threads for FFmpeg encoders: {cfg['threads']}; anchor: {cfg['anchor']}",
        "- bytes: H.264 payload (video samples); bpp: bits per pixel; PSNR-YUV: 6:1:1-weighted MSE; RSS: peak of the "
        "encoder process; CPU %: (user + system) / wall of the median run; CPU ms/frame: median (user + system) "
        "time per frame, which other load on the machine barely changes; ⚠: timed while other processes kept more "
        f"than {cfg.get('max_background', 0.3)} cores busy (no quiet runs to be had)", "",
        "## Clips", "",
    ]
    lines += table(["clip", "size", "frames", "fps", "source"],
                   [[c["name"], f"{c['width']}x{c['height']}", c["frames"], c["fps"], c["description"]]
                    for c in data["clips"]], left=5)
    for c in data["clips_skipped"]:
        lines.append(f"\nClip {c['name']} skipped: {c['error']}")
    recs = data["records"]
    skipped_encoders = data["skipped_encoders"]
    for clip in data["clips"]:
        lines += ["", f"## {clip['name']} ({clip['width']}x{clip['height']}, {clip['frames']} frames)", ""]
        rows = []
        for r in recs:
            if r["clip"] != clip["name"] or r["status"] == "skipped":
                continue
            head = [r["encoder"], f"{r['rc']} {r['q']}"]
            if r["status"] != "ok":
                rows.append(head + [f"failed: {r['reason']}"] + [""] * 11)
                continue
            vmaf = fmt(r.get("vmaf"), ".2f", "n/a" if not r.get("vmaf_error") else "failed")
            rows.append(head + [fmt_fps(r["fps"]) + (" ⚠" if r.get("contended") else ""), f"{r['bytes']:,}", fmt(r["bits_per_pixel"], ".4f"),
                                fmt(r["psnr_y"], ".2f"), fmt(r["psnr_yuv"], ".2f"), fmt(r["ssim_all"], ".4f"), vmaf,
                                fmt(r["peak_rss_mib"], ".1f"), r["threads"], fmt(r["cpu_percent"], ".0f"),
                                fmt(r.get("cpu_ms_per_frame"), ".1f")])
        lines += table(["encoder", "setting", "fps", "bytes", "bpp", "PSNR-Y", "PSNR-YUV", "SSIM", "VMAF",
                        "RSS MiB", "threads", "CPU %", "CPU ms/frame"], rows)
    # BD-rate
    bd = data["bd_rate"]
    clip_names = [c["name"] for c in data["clips"]]
    enc_names = [e for e in dict.fromkeys(r["encoder"] for r in bd)]
    for metric, title in (("bd_rate_psnr_y", "PSNR-Y"), ("bd_rate_psnr_yuv", "PSNR-YUV")):
        lines += ["", f"## BD-rate ({title}, PCHIP) against {cfg['anchor']}", "",
                  "Negative: fewer bits than the anchor for the same quality.", ""]
        rows, notes = [], []
        for name in enc_names:
            vals = []
            for cn in clip_names:
                row = next((b for b in bd if b["encoder"] == name and b["clip"] == cn), None)
                v = row.get(metric) if row else None
                vals.append(v)
                if row and v is None and row.get("reason") and metric == "bd_rate_psnr_y":
                    notes.append(f"- {name} on {cn}: {row['reason']}")
            ok = [v for v in vals if v is not None]
            mean = sum(ok) / len(ok) if ok and len(ok) == len(vals) else None
            rows.append([name] + [fmt(v, "+.1f") + (" %" if v is not None else "") for v in vals]
                        + [fmt(mean, "+.1f") + (" %" if mean is not None else "")])
        lines += table(["encoder"] + clip_names + ["mean"], rows)
        if notes:
            lines += [""] + notes
    # Speed summary at the middle rung
    if data["records"]:
        ladder = cfg["ladder"]
        q_mid = ladder[(len(ladder) - 1) // 2] if ladder else None
        lines += ["", f"## Speed at rung {q_mid} (fps)", ""]
        rows = []
        for name in enc_names:
            vals = []
            for cn in clip_names:
                r = next((r for r in recs if r["encoder"] == name and r["clip"] == cn and r["q"] == q_mid), None)
                vals.append(fmt_fps(r["fps"]) if r and r["status"] == "ok" else ("failed" if r else "n/a"))
            rows.append([name] + vals)
        lines += table(["encoder"] + clip_names, rows)
        steady = [r for r in recs if r["q"] == q_mid and r.get("short_frames")]
        if steady:
            lines += ["", f"## Speed at rung {q_mid} beyond the first third of each clip (fps)", "",
                      "Frames after the first third divided by the time they add: (whole-clip median − first-third "
                      "median). Start-up and finishing drop out, so this is what long clips approach; it is the "
                      "difference of two timings, so noisier than the table above.", ""]
            rows = []
            for name in enc_names:
                vals = []
                for cn in clip_names:
                    r = next((r for r in steady if r["encoder"] == name and r["clip"] == cn), None)
                    vals.append(fmt_fps(r.get("steady_fps")) if r else "n/a")
                rows.append([name] + vals)
            lines += table(["encoder"] + clip_names, rows)
    # Worst case
    wc = data["worst_case"]
    if wc:
        c = wc[0]
        lines += ["", f"## Worst case: {c['clip']} {c['width']}x{c['height']}, {c['frames']} frames, Annex B", "",
                  f"Raw yuv420p frame: {c['raw_frame_bytes']:,} bytes. Access units count SPS, PPS, SEI and start "
                  "codes. The bound is framepress's proven maximum access-unit size (`framepress bound WxH`).", ""]
        rows, notes = [], set()
        for r in wc:
            head = [r["encoder"], r["q"]]
            if r["status"] != "ok":
                rows.append(head + [f"{r['status']}: {r['reason']}"] + [""] * 5)
                continue
            bound = r.get("bound_bytes")
            if r["tool"] == "framepress" and bound is None:
                notes.add(r.get("bound_note", ""))
            rows.append(head + [f"{r['max_au_bytes']:,}", f"{r['mean_au_bytes']:,.0f}",
                                f"{100 * r['max_over_raw']:.2f} %",
                                f"{bound:,}" if bound else ("n/a" if r["tool"] == "framepress" else "—"),
                                f"{100 * r['max_over_bound']:.2f} %" if r.get("max_over_bound") else
                                ("n/a" if r["tool"] == "framepress" else "—"), fmt_fps(r.get("fps"))])
        lines += table(["encoder", "qp", "max AU bytes", "mean AU bytes", "max / raw", "bound", "max / bound", "fps"],
                       rows)
        lines += [""] + [f"Bound n/a: {n}" for n in sorted(notes) if n]
    if skipped_encoders:
        lines += ["", "## Skipped encoders", ""]
        lines += [f"- {name}: {why}" for name, why in skipped_encoders.items()]
    failures, reported = data["failures"], data["reference_encoder_failures"]
    lines += ["", f"{len(failures)} failure(s) of framepress or the harness." if failures else
              "No failures of framepress or the harness."]
    if reported:
        lines += ["", f"Reference encoders failed {len(reported)} time(s) (reported above, not counted as failures):"]
        lines += [f"- {r}" for r in reported]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------------------------------
def run_unit_tests() -> bool:
    suite = unittest.defaultTestLoader.discover(str(BENCH), pattern="test_*.py", top_level_dir=str(BENCH))
    result = unittest.TextTestRunner(stream=sys.stderr, verbosity=1).run(suite)
    return result.wasSuccessful()


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true",
                    help="CI mode: unit tests, tiny clips, rungs 27/37, one run; non-zero exit on any failure")
    ap.add_argument("--clips", default=None, help="comma-separated clip names, 'default' or 'all' (make_clips.py --list)")
    ap.add_argument("--frames", type=int, default=30, help="frames per clip when clips are made (default 30)")
    ap.add_argument("--clips-dir", type=Path, default=None, help="where clips are made and kept (default bench/clips)")
    ap.add_argument("--encoders", default="default", help="comma-separated encoder names, 'default' or 'all' (--list)")
    ap.add_argument("--anchor", default="x264-ultrafast", help="BD-rate anchor (default x264-ultrafast)")
    ap.add_argument("--ladder", default=None, help="comma-separated rungs (default 22,27,32,37)")
    ap.add_argument("--runs", type=int, default=None, help="timing runs per setting (default 3; smoke 1)")
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                    help="threads for the FFmpeg encoders and libvmaf (default: all usable cores)")
    ap.add_argument("--worst-clip", default=None, help="clip for the worst-case table (default noise; '' for none)")
    ap.add_argument("--worst-qps", default=",".join(map(str, WORST_QPS)), help="qps for the worst-case table (default 0,1)")
    ap.add_argument("--worst-frames", type=int, default=10, help="frames for the worst-case table (default 10)")
    ap.add_argument("--no-vmaf", action="store_true", help="skip VMAF")
    ap.add_argument("--ffmpeg", help="FFmpeg with libx264/libopenh264 (default $FRAMEPRESS_FFMPEG, .tools/ffmpeg, PATH)")
    ap.add_argument("--framepress", help="framepress binary (default: target/release/framepress, built if missing)")
    ap.add_argument("--build", action="store_true", help="run cargo build --release -p framepress-cli first "
                    "(the default for --smoke)")
    ap.add_argument("--no-build", action="store_true", help="with --smoke: use the binary as it is")
    ap.add_argument("--pgo", action="store_true", help="build with scripts/build-release.sh (profile-guided "
                    "optimisation trained on the demo clip; the same output bytes) and time that binary")
    ap.add_argument("--out", type=Path, default=None,
                    help="folder for report.md and results.json (default bench/results/DATE; smoke: a temporary one)")
    ap.add_argument("--label", default="", help="free text for the report header, e.g. which commit was built")
    ap.add_argument("--keep", action="store_true", help="keep the encoded files (in the work folder)")
    ap.add_argument("--timeout", type=float, default=1200, help="seconds one encode may take (default 1200)")
    ap.add_argument("--max-background", type=float, default=0.3,
                    help="a timing run during which other processes kept more than this many cores busy is run again "
                         "(default 0.3)")
    ap.add_argument("--quiet-wait", type=float, default=None,
                    help="seconds to wait for a busy machine to become quiet before timing a setting (default 300; "
                         "smoke 0, which also turns the contention check off)")
    ap.add_argument("--quiet-budget", type=float, default=3600,
                    help="seconds the whole run may spend waiting for quiet and re-running contended runs "
                         "(default 3600); after that, contended timings are kept and flagged")
    ap.add_argument("--list", action="store_true", help="list the encoders and clips and exit")
    args = ap.parse_args(argv)
    if args.smoke:
        args.clips = args.clips or "smoke-testsrc2"
        args.worst_clip = "smoke-noise" if args.worst_clip is None else args.worst_clip
        args.ladder = args.ladder or ",".join(map(str, SMOKE_LADDER))
        args.runs = args.runs or 1
        args.build = not args.no_build and not args.framepress
    args.clips = args.clips or "default"
    args.worst_clip = "noise" if args.worst_clip is None else args.worst_clip
    args.ladder = [int(x) for x in (args.ladder or ",".join(map(str, DEFAULT_LADDER))).split(",") if x.strip()]
    args.worst_qps = [int(x) for x in args.worst_qps.split(",") if x.strip()]
    args.runs = args.runs or 3
    if args.quiet_wait is None:
        args.quiet_wait = 0 if args.smoke else 300
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench: terminated"))  # so the work folder is removed
    if args.list:
        print("Encoders (default set marked *):")
        for e in ENCODERS:
            print(f"  {'*' if e.default else ' '} {e.name:28} {e.tool:10} {e.rc:3} {' '.join(e.args)}"
                  + (f"   # {e.note}" if e.note else ""))
        print("\nClips: python3 bench/make_clips.py --list")
        return 0
    t_start = time.perf_counter()
    QUIET_BUDGET["left_s"] = args.quiet_budget if args.quiet_wait > 0 else 0.0
    failures = []  # these make the exit status non-zero
    reported = []  # a reference encoder failing where it is not a harness fault (e.g. openh264 on noise): a result
    if args.smoke:
        log("bench: unit tests (bench/test_*.py)")
        if not run_unit_tests():
            failures.append("unit tests failed")

    work = Path(tempfile.mkdtemp(prefix="framepress-bench-"))
    tmp_out = None
    try:
        tools = find_tools(args, work)
        machine = machine_info()
        machine_short = {k: machine[k] for k in ("cpu", "cores", "gpus", "date_utc")}
        encoders = select_encoders(args.encoders, args.anchor)

        clip_names = make_clips.resolve_names(args.clips)
        if args.worst_clip and args.worst_clip not in clip_names:
            clip_names_all = clip_names + [args.worst_clip]
        else:
            clip_names_all = clip_names
        clips_dir = args.clips_dir or (work / "clips" if args.smoke else BENCH / "clips")
        made = make_clips.make(clip_names_all, args.frames, clips_dir, tools.ffmpeg, log=log)
        clips = [made[n] for n in clip_names if "error" not in made[n]]
        clips_skipped = [made[n] for n in clip_names_all if "error" in made[n]]
        for c in clips_skipped:
            if args.smoke:
                failures.append(f"clip {c['name']}: {c['error']}")

        # Which encoders work here at all?
        skipped = {}
        available = []
        for enc in encoders:
            why = probe(enc, tools, work, args.ladder[0] if args.ladder else 27, args.threads)
            if why:
                skipped[enc.name] = why
                log(f"bench: skipping {enc.name}: {why}")
                if enc.required:
                    failures.append(f"{enc.name} does not work: {why}")
            else:
                available.append(enc)

        records = []
        for clip in clips:
            with open(clip["path"], "rb") as f:  # into the page cache, so no run pays for the disk
                while f.read(1 << 24):
                    pass
            # Rung by rung, the encoders' runs in turn ([`bench_rung`]).
            for q in args.ladder:
                timings = []
                for enc in encoders:
                    rec = base_record(clip, enc, q, args.threads, machine_short)
                    records.append(rec)
                    if enc.name in skipped:
                        rec.update(status="skipped", reason=skipped[enc.name])
                    elif q < enc.q_min:
                        rec.update(status="skipped", reason=f"{enc.name} accepts {enc.rc} >= {enc.q_min} only")
                    else:
                        out = work / f"{clip['name']}-{enc.name}-{q}.mp4"
                        argv = encoder_argv(enc, tools, clip, clip["path"], str(out), q, args.threads)
                        rec["command"] = display_argv(argv, tools)
                        timings.append(Timing(enc, rec, argv, out))
                log(f"bench: {clip['name']} rung {q}: " + ", ".join(t.enc.name for t in timings))
                bench_rung(timings, tools, clip, args, work)
                for t in timings:
                    rec, enc = t.rec, t.enc
                    if t.error is None and q == args.ladder[(len(args.ladder) - 1) // 2]:
                        try:
                            bench_steady(enc, tools, clip, q, args, work, rec)
                        except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as e:
                            t.error = str(e)
                    if t.error is None:
                        log(f"bench:   {enc.name}: {rec['fps']:.2f} fps, {rec['bytes']:,} bytes, "
                            f"PSNR-Y {rec['psnr_y']:.2f}")
                        continue
                    rec.update(status="failed", reason=t.error)
                    what = f"{clip['name']} {enc.name} {enc.rc} {q}: {t.error}"
                    (failures if enc.tool == "framepress" or args.smoke else reported).append(what)
                    log(f"bench:   {enc.name} failed: {t.error}")
        # Reported clip by clip, encoder by encoder, rung by rung.
        order = {(c["name"], e.name, q): i for i, (c, e, q) in
                 enumerate((c, e, q) for c in clips for e in encoders for q in args.ladder)}
        records.sort(key=lambda r: order.get((r["clip"], r["encoder"], r["q"]), len(order)))

        worst = []
        if args.worst_clip and args.worst_clip in made and "error" not in made[args.worst_clip]:
            worst = worst_case(available, tools, made[args.worst_clip], args, work, machine_short)
            for r in worst:
                if r["status"] == "failed":
                    what = f"worst case {r['encoder']} qp {r['q']}: {r['reason']}"
                    (failures if r["tool"] == "framepress" else reported).append(what)

        bd = compute_bd(records, args.anchor, clips, available) if args.anchor in {e.name for e in available} else []
        if args.anchor not in {e.name for e in available}:
            log(f"bench: no BD-rate: the anchor {args.anchor} did not run")
        machine["loadavg_end"] = os.getloadavg()
        data = {
            "machine": machine,
            "config": {
                "ladder": args.ladder, "runs": args.runs, "threads": args.threads, "anchor": args.anchor,
                "smoke": args.smoke, "label": args.label, "vmaf": tools.has_vmaf, "ffmpeg": tools.ffmpeg,
                "ffmpeg_version": tools.ffmpeg_version, "framepress": tools.framepress_source,
                "framepress_version": tools.framepress_version, "framepress_sha256": tools.framepress_sha256,
                "encoders": [{"name": e.name, "tool": e.tool, "args": e.args, "rc": e.rc} for e in encoders],
                "worst_qps": args.worst_qps, "worst_frames": args.worst_frames,
                "max_background": args.max_background, "quiet_wait": args.quiet_wait,
                "quiet_budget": args.quiet_budget, "quiet_budget_used_s": round(
                    (args.quiet_budget if args.quiet_wait > 0 else 0) - QUIET_BUDGET["left_s"], 1),
                "psnr_yuv": "10*log10(255^2 / ((6*MSE_Y + MSE_U + MSE_V) / 8)), MSE over the whole clip",
                "bytes": "sum of the video packets (H.264 payload), bytes_file is the MP4 size",
                "wall_s": round(time.perf_counter() - t_start, 1),
            },
            "clips": [{k: v for k, v in c.items() if k != "path"} for c in clips],
            "clips_skipped": clips_skipped,
            "skipped_encoders": skipped,
            "records": records,
            "bd_rate": bd,
            "worst_case": worst,
            "failures": failures,
            "reference_encoder_failures": reported,
        }
        text = report(data)
        if args.out:
            out_dir = args.out
        elif args.smoke:
            out_dir = tmp_out = Path(tempfile.mkdtemp(prefix="framepress-bench-smoke-"))
        else:
            out_dir = BENCH / "results" / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "report.md").write_text(text)
        (out_dir / "results.json").write_text(json.dumps(finite(data), indent=1, allow_nan=False, default=str) + "\n")
        print(text)
        log(f"bench: wrote {out_dir / 'report.md'} and {out_dir / 'results.json'} "
            f"({time.perf_counter() - t_start:.0f} s)")
    finally:
        if args.keep:
            log(f"bench: kept the work folder {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
        if tmp_out:
            shutil.rmtree(tmp_out, ignore_errors=True)
    for r in reported:
        log(f"bench: reference encoder failed (a result, not a failure): {r}")
    if failures:
        log(f"bench: {len(failures)} failure(s):")
        for f in failures:
            log(f"  - {f}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
