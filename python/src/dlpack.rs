//! Reading tensors through the DLPack protocol (`__dlpack__` and
//! `__dlpack_device__`), without copying their data.
//!
//! The consumer asks for a versioned capsule (`max_version=(1, 0)`; numpy ≥ 2.1,
//! torch ≥ 2.5) and falls back to the legacy one. For CUDA memory it passes
//! the stream it will wait on (`stream=`): the producer's own current stream
//! when the caller names it, else the legacy default stream, so that the
//! producer orders its pending writes before that stream. It does not take
//! ownership: the capsule keeps its name, so its producer's destructor frees
//! the tensor once the capsule is dropped, and the capsule is held for as long
//! as the data is read.

use std::ffi::{c_void, CStr};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyDict};

use framepress::{DeviceFrame, PixelFormat};

use crate::backend::Device;
use crate::error::{BindError, BindResult};
use crate::frames::{check_dtype, check_shape, device_format, FrameShape, HostFrames};

const LEGACY: &CStr = c"dltensor";
const VERSIONED: &CStr = c"dltensor_versioned";

/// `DLDeviceType` values (dlpack.h).
const DL_CPU: i32 = 1;
const DL_CUDA: i32 = 2;
const DL_CUDA_HOST: i32 = 3;
const DL_CUDA_MANAGED: i32 = 13;

/// The legacy default stream's handle (`CU_STREAM_LEGACY`), which DLPack
/// names 1; 0 is not allowed there.
const LEGACY_STREAM: usize = 1;

#[repr(C)]
#[derive(Clone, Copy)]
struct DLDevice {
    device_type: i32,
    device_id: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct DLDataType {
    code: u8,
    bits: u8,
    lanes: u16,
}

#[repr(C)]
struct DLTensor {
    data: *mut c_void,
    device: DLDevice,
    ndim: i32,
    dtype: DLDataType,
    shape: *const i64,
    strides: *const i64,
    byte_offset: u64,
}

/// `DLManagedTensor`, the legacy capsule's content.
#[repr(C)]
#[allow(dead_code)] // the layout is the producer's; not every field is read
struct DLManagedTensor {
    dl_tensor: DLTensor,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensor)>,
}

#[repr(C)]
struct DLPackVersion {
    major: u32,
    minor: u32,
}

/// `DLManagedTensorVersioned` (DLPack ≥ 1.0), the versioned capsule's content.
#[repr(C)]
#[allow(dead_code)] // the layout is the producer's; not every field is read
struct DLManagedTensorVersioned {
    version: DLPackVersion,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensorVersioned)>,
    flags: u64,
    dl_tensor: DLTensor,
}

/// A tensor exported through DLPack: its metadata, and the capsule that
/// keeps its memory alive.
pub struct Exported<'py> {
    /// Owns the tensor's memory while the frames are read.
    _capsule: Bound<'py, PyCapsule>,
    data: *const u8,
    pub device: Device,
    pub shape: FrameShape,
    /// Strides in elements (= bytes for uint8).
    strides: [i64; 4],
    /// For CUDA memory: the stream (`CUstream` handle) after whose queued
    /// work the frames may be read.
    stream: usize,
}

impl Exported<'_> {
    /// The frames in host memory, for a CPU engine.
    pub fn host_frames(&self) -> BindResult<HostFrames<'_>> {
        if self.device != Device::Cpu {
            return Err(BindError::runtime(format!(
                "frames on {} cannot be read from host memory",
                self.device
            )));
        }
        // SAFETY: the producer keeps the data described by shape and strides
        // valid while its capsule, held by `self`, lives; the view borrows `self`.
        unsafe { HostFrames::new(self.data, self.shape, self.strides) }
    }
}

impl Exported<'_> {
    /// The layout the frames have in device memory, if the CUDA backend can
    /// read it in place (planar or interleaved RGB with any row pitch).
    pub fn device_format(&self) -> Option<PixelFormat> {
        device_format(self.shape, self.strides)
    }

    /// The frames as device frames laid out as `format`, for a CUDA engine.
    pub fn device_frames(&self, format: PixelFormat) -> BindResult<Vec<DeviceFrame>> {
        if !matches!(self.device, Device::Cuda(_)) {
            return Err(BindError::runtime(format!(
                "frames on {} are not in CUDA device memory",
                self.device
            )));
        }
        if self.device_format() != Some(format) {
            return Err(BindError::runtime(format!(
                "internal error: device frames with strides {:?} read as {}",
                self.strides,
                format.name()
            )));
        }
        let (h, w) = (i64::from(self.shape.height), i64::from(self.shape.width));
        let [sn, sc, sh, _] = self.strides;
        let base = self.data as u64;
        let at = |offset: i64| base.wrapping_add(offset as u64);
        let row = if format == PixelFormat::Rgb24 {
            3 * w
        } else {
            w
        };
        // With one row the row stride is never used.
        let pitch = if h > 1 { sh } else { row } as usize;
        Ok((0..self.shape.count as i64)
            .map(|i| {
                let first = i * sn;
                let planes = if format == PixelFormat::Rgb24 {
                    [(at(first), pitch), (0, 0), (0, 0)]
                } else {
                    [0, 1, 2].map(|c| (at(first + c * sc), pitch))
                };
                DeviceFrame {
                    planes,
                    stream: self.stream,
                }
            })
            .collect())
    }
}

fn device_from(device_type: i32, device_id: i32) -> BindResult<Device> {
    match device_type {
        DL_CPU | DL_CUDA_HOST => Ok(Device::Cpu),
        DL_CUDA | DL_CUDA_MANAGED => Ok(Device::Cuda(u32::try_from(device_id).ok())),
        other => Err(BindError::value(format!(
            "frames are on an unsupported device (DLPack device type {other}); expected CPU or \
             CUDA memory"
        ))),
    }
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// The device the frames are on, from `__dlpack_device__`, without
/// exporting them.
pub fn frames_device(obj: &Bound<'_, PyAny>) -> BindResult<Device> {
    if !obj.hasattr("__dlpack__")? {
        return Err(BindError::value(format!(
            "frames must be a torch.Tensor or a numpy.ndarray (any object with __dlpack__), got \
             {}",
            type_name(obj)
        )));
    }
    if !obj.hasattr("__dlpack_device__")? {
        return Ok(Device::Cpu);
    }
    let (device_type, device_id): (i32, i32) = obj.call_method0("__dlpack_device__")?.extract()?;
    device_from(device_type, device_id)
}

/// Exports `obj` through `__dlpack__` and checks it holds uint8 N×3×H×W
/// frames. `stream` is the producer's current CUDA stream when the caller
/// knows it (torch's `current_stream().cuda_stream`; 0 for its default
/// stream); it matters only for frames in CUDA memory.
pub fn export<'py>(obj: &Bound<'py, PyAny>, stream: Option<usize>) -> BindResult<Exported<'py>> {
    let py = obj.py();
    let dlpack = obj.getattr("__dlpack__")?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("max_version", (1, 0))?;
    let wait_on = match stream {
        Some(0) | None => LEGACY_STREAM,
        Some(s) => s,
    };
    if matches!(frames_device(obj)?, Device::Cuda(_)) {
        kwargs.set_item("stream", wait_on)?;
    }
    let capsule = match dlpack.call((), Some(&kwargs)) {
        Ok(c) => c,
        // An exporter older than DLPack 1.0 takes no max_version.
        Err(e) if e.is_instance_of::<PyTypeError>(py) => {
            kwargs.del_item("max_version")?;
            dlpack
                .call((), Some(&kwargs))
                .map_err(|e| export_error(py, e))?
        }
        Err(e) => return Err(export_error(py, e)),
    };
    let capsule = capsule.cast_into::<PyCapsule>().map_err(|e| {
        BindError::value(format!(
            "frames.__dlpack__() returned {}, not a DLPack capsule",
            type_name(e.into_inner().as_any())
        ))
    })?;
    // SAFETY: a capsule with one of these names holds the matching struct.
    let tensor: &DLTensor = unsafe {
        if capsule.is_valid_checked(Some(VERSIONED)) {
            let m = capsule
                .pointer_checked(Some(VERSIONED))?
                .cast::<DLManagedTensorVersioned>()
                .as_ref();
            if m.version.major != 1 {
                return Err(BindError::value(format!(
                    "frames use DLPack {}.{}, expected 1.x",
                    m.version.major, m.version.minor
                )));
            }
            &*std::ptr::addr_of!(m.dl_tensor)
        } else if capsule.is_valid_checked(Some(LEGACY)) {
            let m = capsule
                .pointer_checked(Some(LEGACY))?
                .cast::<DLManagedTensor>()
                .as_ref();
            &*std::ptr::addr_of!(m.dl_tensor)
        } else {
            return Err(BindError::value(
                "frames.__dlpack__() returned a capsule that is not an unused DLPack tensor",
            ));
        }
    };
    read_tensor(capsule.clone(), tensor, wait_on)
}

/// Copies the metadata out of `tensor` (owned by `capsule`) and checks it.
fn read_tensor<'py>(
    capsule: Bound<'py, PyCapsule>,
    t: &DLTensor,
    stream: usize,
) -> BindResult<Exported<'py>> {
    let device = device_from(t.device.device_type, t.device.device_id)?;
    check_dtype(t.dtype.code, t.dtype.bits, t.dtype.lanes)?;
    let ndim = usize::try_from(t.ndim).unwrap_or(0);
    let dims: Vec<i64> = if ndim == 0 || t.shape.is_null() {
        Vec::new()
    } else {
        // SAFETY: DLPack: `shape` has `ndim` entries.
        unsafe { std::slice::from_raw_parts(t.shape, ndim) }.to_vec()
    };
    let shape = check_shape(&dims)?;
    let strides = if t.strides.is_null() {
        // Null strides: compact row-major.
        let (h, w) = (i64::from(shape.height), i64::from(shape.width));
        [3 * h * w, h * w, w, 1]
    } else {
        // SAFETY: DLPack: non-null `strides` has `ndim` (= 4) entries.
        let s = unsafe { std::slice::from_raw_parts(t.strides, 4) };
        [s[0], s[1], s[2], s[3]]
    };
    let offset = usize::try_from(t.byte_offset)
        .map_err(|_| BindError::value("frames have a byte offset too large to address"))?;
    let data = (t.data as *const u8).wrapping_add(offset);
    Ok(Exported {
        _capsule: capsule,
        data,
        device,
        shape,
        strides,
        stream,
    })
}

/// An error raised by `__dlpack__` itself, e.g. numpy's BufferError for a
/// read-only array under the legacy protocol, as a ValueError that says so.
fn export_error(py: Python<'_>, e: PyErr) -> BindError {
    let message = e.value(py).to_string();
    let hint = if message.contains("readonly") || message.contains("read-only") {
        " (numpy before 2.1 cannot export read-only arrays: upgrade numpy, or pass a writable \
         copy such as frames.copy())"
    } else {
        ""
    };
    BindError::value(format!(
        "cannot read the frames through DLPack: {message}{hint}"
    ))
}
