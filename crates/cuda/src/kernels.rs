//! The CUDA sources, their compilation by NVRTC and the on-disk cache.
//!
//! The stage files of `kernels/` are concatenated in a fixed order into one
//! program and compiled for the device's exact architecture (`sm_XY`) into a
//! cubin. The cubin is cached under `$FRAMEPRESS_CACHE_DIR`,
//! `$XDG_CACHE_HOME/framepress` or `~/.cache/framepress`, keyed by a hash of
//! the sources, the options, the architecture and the driver version, so a
//! warm start compiles nothing (and does not even load NVRTC).

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::driver::{CudaContext, CudaFunction, CudaModule};
use cudarc::nvrtc::{result as nvrtc, sys as nvrtc_sys, Ptx};

use crate::error::{driver, CudaError, Result};
use crate::runtime;

/// The stage sources in compilation order: each may use what comes before it.
pub const STAGES: [(&str, &str); 10] = [
    ("common.cu", include_str!("../kernels/common.cu")),
    ("transform.cu", include_str!("../kernels/transform.cu")),
    ("cavlc.cu", include_str!("../kernels/cavlc.cu")),
    ("intra.cu", include_str!("../kernels/intra.cu")),
    ("inter.cu", include_str!("../kernels/inter.cu")),
    ("lossless.cu", include_str!("../kernels/lossless.cu")),
    ("deblock.cu", include_str!("../kernels/deblock.cu")),
    ("colour.cu", include_str!("../kernels/colour.cu")),
    ("pack.cu", include_str!("../kernels/pack.cu")),
    ("nal.cu", include_str!("../kernels/nal.cu")),
];

/// Kernels that expose single stages to the test harness (checkasm style).
pub const CHECKS: (&str, &str) = ("checks.cu", include_str!("../kernels/checks.cu"));

/// NVRTC options besides the architecture.
const OPTIONS: [&str; 2] = ["--std=c++17", "-default-device"];

/// NVRTC options: [`OPTIONS`], plus `-DINTRA_MIN_BLOCKS=N` when
/// `FRAMEPRESS_INTRA_MIN_BLOCKS` is set (a tuning knob: the intra kernel's
/// register budget as blocks per multiprocessor).
fn options() -> Vec<String> {
    let mut options: Vec<String> = OPTIONS.iter().map(|s| s.to_string()).collect();
    let blocks = std::env::var("FRAMEPRESS_INTRA_MIN_BLOCKS").ok();
    if let Some(n) = blocks
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|n| (1..=16).contains(n))
    {
        options.push(format!("-DINTRA_MIN_BLOCKS={n}"));
    }
    options
}

/// Which program to build: the encoder's, or the encoder's plus the checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Program {
    Encoder,
    WithChecks,
}

impl Program {
    /// The concatenated source, with `#line` markers naming each stage file.
    pub fn source(self) -> String {
        let mut parts: Vec<(&str, &str)> = STAGES.to_vec();
        if self == Program::WithChecks {
            parts.push(CHECKS);
        }
        let mut out = String::new();
        for (name, text) in parts {
            out.push_str(&format!("#line 1 \"{name}\"\n"));
            out.push_str(text);
            out.push('\n');
        }
        out
    }
}

/// Compiles `source` with NVRTC for `arch` (e.g. `sm_90`, or `compute_90` for
/// PTX); returns the cubin (or PTX) bytes.
pub fn compile(source: &str, arch: &str) -> Result<Vec<u8>> {
    if !runtime::nvrtc_available() {
        return Err(CudaError::NoNvrtc);
    }
    let compile_err = |log: String| CudaError::Compile {
        arch: arch.to_string(),
        log,
    };
    let src = CString::new(source).map_err(|_| compile_err("source contains a NUL byte".into()))?;
    let name = c"framepress.cu";
    let prog =
        nvrtc::create_program(&src, Some(name)).map_err(|e| compile_err(format!("{e:?}")))?;
    let guard = ProgramGuard(prog);
    let mut options = options();
    options.push(format!("--gpu-architecture={arch}"));
    // SAFETY: `prog` is a live program created above.
    let status = unsafe { nvrtc::compile_program(guard.0, &options) };
    if status.is_err() {
        return Err(compile_err(program_log(guard.0)));
    }
    let bytes = if arch.starts_with("sm_") {
        cubin(guard.0)
    } else {
        // SAFETY: `prog` compiled successfully.
        unsafe { nvrtc::get_ptx(guard.0) }.map(|v| v.into_iter().map(|c| c as u8).collect())
    };
    bytes.map_err(|e| compile_err(format!("could not read the compiled code: {e:?}")))
}

/// Destroys an NVRTC program when dropped.
struct ProgramGuard(nvrtc_sys::nvrtcProgram);

impl Drop for ProgramGuard {
    fn drop(&mut self) {
        // SAFETY: the program was created by create_program and is destroyed once.
        let _ = unsafe { nvrtc::destroy_program(self.0) };
    }
}

fn program_log(prog: nvrtc_sys::nvrtcProgram) -> String {
    // SAFETY: `prog` is live; the log is NUL terminated.
    match unsafe { nvrtc::get_program_log(prog) } {
        Ok(raw) => {
            let bytes: Vec<u8> = raw.iter().map(|&c| c as u8).collect();
            CStr::from_bytes_until_nul(&bytes)
                .map(|s| s.to_string_lossy().trim().to_string())
                .unwrap_or_default()
        }
        Err(e) => format!("(no log: {e:?})"),
    }
}

fn cubin(prog: nvrtc_sys::nvrtcProgram) -> std::result::Result<Vec<u8>, nvrtc::NvrtcError> {
    let mut size = 0usize;
    // SAFETY: `prog` compiled successfully; the buffer has the reported size.
    unsafe {
        nvrtc_sys::nvrtcGetCUBINSize(prog, &mut size).result()?;
        let mut out = vec![0u8; size];
        nvrtc_sys::nvrtcGetCUBIN(prog, out.as_mut_ptr().cast()).result()?;
        Ok(out)
    }
}

/// 64-bit FNV-1a, enough to key a cache of compiled code.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        // Separate the parts so that moving bytes between them changes the hash.
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The cache directory, if one can be named.
pub fn cache_dir() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("FRAMEPRESS_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("framepress")))
        .or_else(|| var("HOME").map(|d| d.join(".cache").join("framepress")))
}

/// The compiled program for `arch`, from the cache or compiled (and cached).
pub fn cubin_for(program: Program, arch: &str, driver_version: i32) -> Result<Vec<u8>> {
    let source = program.source();
    let key = fnv1a(&[
        source.as_bytes(),
        options().join(" ").as_bytes(),
        arch.as_bytes(),
        &driver_version.to_le_bytes(),
        env!("CARGO_PKG_VERSION").as_bytes(),
    ]);
    let path = cache_dir().map(|d| d.join(format!("kernels-{arch}-{key:016x}.cubin")));
    if let Some(bytes) = path.as_ref().and_then(|p| std::fs::read(p).ok()) {
        if !bytes.is_empty() {
            return Ok(bytes);
        }
    }
    let bytes = compile(&source, arch)?;
    if let Some(p) = path {
        store(&p, &bytes);
    }
    Ok(bytes)
}

/// Writes a cache file atomically; failures only cost a recompilation later.
fn store(path: &std::path::Path, bytes: &[u8]) {
    let Some(dir) = path.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::write(&tmp, bytes).is_ok() && std::fs::rename(&tmp, path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// The device's architecture name for NVRTC, e.g. `sm_90`.
pub fn device_arch(ctx: &CudaContext) -> Result<String> {
    let (major, minor) = ctx
        .compute_capability()
        .map_err(driver("compute capability query"))?;
    Ok(format!("sm_{major}{minor}"))
}

/// The modules loaded so far, by device and program: each is loaded once
/// per process (the contexts are shared too, see `runtime::open_device`).
type Loaded = Mutex<HashMap<(usize, Program), (Arc<CudaContext>, Arc<CudaModule>)>>;

fn loaded() -> &'static Loaded {
    static LOADED: OnceLock<Loaded> = OnceLock::new();
    LOADED.get_or_init(Mutex::default)
}

/// Loads `program` into the context (compiling it when the cache misses),
/// or returns the module already loaded there.
pub fn load(ctx: &Arc<CudaContext>, program: Program) -> Result<Arc<CudaModule>> {
    let key = (ctx.ordinal(), program);
    let mut modules = loaded().lock().unwrap_or_else(|e| e.into_inner());
    if let Some((owner, m)) = modules.get(&key) {
        if Arc::ptr_eq(owner, ctx) {
            return Ok(m.clone());
        }
    }
    let module = load_uncached(ctx, program)?;
    modules.insert(key, (ctx.clone(), module.clone()));
    Ok(module)
}

fn load_uncached(ctx: &Arc<CudaContext>, program: Program) -> Result<Arc<CudaModule>> {
    let arch = device_arch(ctx)?;
    let version = runtime::driver_version()?;
    let bytes = cubin_for(program, &arch, version)?;
    match ctx.load_module(Ptx::from_binary(bytes)) {
        Ok(m) => Ok(m),
        Err(_) => {
            // A damaged cache file: compile afresh.
            let bytes = compile(&program.source(), &arch)?;
            ctx.load_module(Ptx::from_binary(bytes))
                .map_err(driver("module load"))
        }
    }
}

/// Looks up a kernel by name.
pub fn function(module: &Arc<CudaModule>, name: &'static str) -> Result<CudaFunction> {
    module.load_function(name).map_err(|e| CudaError::Kernel {
        kernel: name,
        detail: format!("not found in the module: {}", crate::error::describe(e)),
    })
}

/// Every kernel the encoder launches.
pub struct EncoderKernels {
    pub colour: CudaFunction,
    pub intra: CudaFunction,
    pub deblock: CudaFunction,
    pub cavlc: CudaFunction,
    pub pack_scan: CudaFunction,
    pub pack_bits: CudaFunction,
    pub nal_escape: CudaFunction,
    pub ref_planes: CudaFunction,
    pub p_search: CudaFunction,
    pub p_inter: CudaFunction,
    pub p_skip_flags: CudaFunction,
    pub intra_persistent: CudaFunction,
    pub deblock_persistent: CudaFunction,
    pub lossless_intra: CudaFunction,
    /// Keeps the module loaded.
    pub module: Arc<CudaModule>,
}

impl EncoderKernels {
    pub fn new(module: Arc<CudaModule>) -> Result<EncoderKernels> {
        Ok(EncoderKernels {
            colour: function(&module, "colour_to_yuv420")?,
            intra: function(&module, "intra_wavefront")?,
            deblock: function(&module, "deblock_wavefront")?,
            cavlc: function(&module, "cavlc_write_mbs")?,
            pack_scan: function(&module, "pack_scan")?,
            pack_bits: function(&module, "pack_bits")?,
            nal_escape: function(&module, "nal_escape")?,
            ref_planes: function(&module, "ref_planes")?,
            p_search: function(&module, "p_search")?,
            p_inter: function(&module, "p_inter")?,
            p_skip_flags: function(&module, "p_skip_flags")?,
            intra_persistent: function(&module, "intra_persistent")?,
            deblock_persistent: function(&module, "deblock_persistent")?,
            lossless_intra: function(&module, "lossless_intra")?,
            module,
        })
    }
}
