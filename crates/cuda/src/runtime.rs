//! Loading the CUDA driver and NVRTC at run time, and opening a device.
//!
//! cudarc loads `libcuda` and `libnvrtc` lazily and panics when they are
//! missing, so every entry point checks for them first and returns
//! [`CudaError::NoDriver`] / [`CudaError::NoNvrtc`] instead.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::driver::{result, sys, CudaContext};

use crate::error::{driver, CudaError, Result};

/// Whether the CUDA driver library can be loaded.
pub fn driver_available() -> bool {
    static PRESENT: OnceLock<bool> = OnceLock::new();
    // SAFETY: only tries to dlopen the library under its known names.
    *PRESENT.get_or_init(|| unsafe { sys::is_culib_present() })
}

/// The directory named by `FRAMEPRESS_NVRTC_DIR`, if set and non-empty.
pub fn nvrtc_dir() -> Option<PathBuf> {
    std::env::var_os("FRAMEPRESS_NVRTC_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
}

/// Whether NVRTC can be loaded. A library in `FRAMEPRESS_NVRTC_DIR` is loaded
/// first (and kept loaded), so that cudarc's lookup by soname finds it.
pub fn nvrtc_available() -> bool {
    static PRESENT: OnceLock<bool> = OnceLock::new();
    *PRESENT.get_or_init(|| {
        preload_nvrtc_from_dir();
        // SAFETY: only tries to dlopen the library under its known names.
        unsafe { cudarc::nvrtc::sys::is_culib_present() }
    })
}

fn preload_nvrtc_from_dir() {
    let Some(dir) = nvrtc_dir() else { return };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let name = |p: &PathBuf| {
        p.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string()
    };
    // NVRTC opens its builtins library by soname at compile time: load it first.
    let builtins = paths
        .iter()
        .filter(|p| name(p).starts_with("libnvrtc-builtins.so"));
    let main = paths.iter().filter(|p| {
        let n = name(p);
        n.starts_with("libnvrtc.so") && !n.contains(".alt.")
    });
    for group in [builtins.collect::<Vec<_>>(), main.collect()] {
        for path in group {
            // SAFETY: loading NVIDIA's NVRTC libraries runs no initialisers with
            // preconditions; the handle is leaked so the library stays loaded.
            if let Ok(lib) = unsafe { libloading::Library::new(path) } {
                std::mem::forget(lib);
                break;
            }
        }
    }
}

/// The number of CUDA devices, or why there are none.
pub fn device_count() -> Result<usize> {
    if !driver_available() {
        return Err(CudaError::NoDriver);
    }
    match result::init() {
        Ok(()) => {}
        Err(e) if e.0 == sys::CUresult::CUDA_ERROR_NO_DEVICE => return Err(CudaError::NoDevice),
        Err(e) => return Err(driver("initialisation (cuInit)")(e)),
    }
    let n = result::device::get_count().map_err(driver("device count"))?;
    Ok(n.max(0) as usize)
}

/// The driver's CUDA version as reported by cuDriverGetVersion (e.g. 13000).
pub fn driver_version() -> Result<i32> {
    if !driver_available() {
        return Err(CudaError::NoDriver);
    }
    let mut v = 0;
    // SAFETY: the driver library is present; `v` is a valid out pointer.
    unsafe { sys::cuDriverGetVersion(&mut v) }
        .result()
        .map_err(driver("cuDriverGetVersion"))?;
    Ok(v)
}

/// The contexts opened so far, by device: every encoder on a device shares
/// one (the device's primary context), so that its modules load once per
/// process rather than once per encoder.
fn contexts() -> &'static Mutex<HashMap<usize, Arc<CudaContext>>> {
    static OPEN: OnceLock<Mutex<HashMap<usize, Arc<CudaContext>>>> = OnceLock::new();
    OPEN.get_or_init(Mutex::default)
}

/// Opens device `index` (its primary context), checking the index first.
pub fn open_device(index: usize) -> Result<Arc<CudaContext>> {
    let count = device_count()?;
    if count == 0 {
        return Err(CudaError::NoDevice);
    }
    if index >= count {
        return Err(CudaError::BadDevice { index, count });
    }
    let mut open = contexts().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(ctx) = open.get(&index) {
        return Ok(ctx.clone());
    }
    let ctx = CudaContext::new(index).map_err(driver("context creation"))?;
    // The backend orders its work on its own streams.
    // SAFETY: buffers are raw allocations used on one stream at a time.
    unsafe { ctx.disable_event_tracking() };
    open.insert(index, ctx.clone());
    Ok(ctx)
}
