//! Raw device and pinned host allocations, freed on drop.

use std::sync::Arc;

use cudarc::driver::{result, sys, CudaContext, CudaStream};

use crate::error::{alloc, driver, CudaError, Result};

/// A device allocation of `bytes` bytes.
pub struct DeviceBuffer {
    ctx: Arc<CudaContext>,
    ptr: sys::CUdeviceptr,
    bytes: usize,
}

impl DeviceBuffer {
    /// Allocates `bytes` (at least one) bytes on the context's device.
    pub fn new(ctx: &Arc<CudaContext>, bytes: usize, what: &'static str) -> Result<DeviceBuffer> {
        ctx.bind_to_thread().map_err(driver("context binding"))?;
        let size = bytes.max(1);
        // SAFETY: the context is current; the memory is only used through `ptr`.
        let ptr = unsafe { result::malloc_sync(size) }.map_err(alloc(what, size))?;
        Ok(DeviceBuffer {
            ctx: ctx.clone(),
            ptr,
            bytes,
        })
    }

    /// The device address.
    pub fn ptr(&self) -> u64 {
        self.ptr
    }

    /// The device address `offset` bytes in.
    pub fn at(&self, offset: usize) -> u64 {
        debug_assert!(offset <= self.bytes);
        self.ptr + offset as u64
    }

    pub fn len(&self) -> usize {
        self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// Zeroes `len` bytes from `offset`, asynchronously on `stream`.
    pub fn zero(&self, stream: &CudaStream, offset: usize, len: usize) -> Result<()> {
        check_range(offset, len, self.bytes)?;
        // SAFETY: the range lies inside the allocation.
        unsafe { result::memset_d8_async(self.at(offset), 0, len, stream.cu_stream()) }
            .map_err(driver("memset"))
    }

    /// Copies `src` to `offset`, asynchronously on `stream`; `src` must stay
    /// alive and unchanged until the stream has passed the copy.
    pub fn upload(&self, stream: &CudaStream, offset: usize, src: &[u8]) -> Result<()> {
        check_range(offset, src.len(), self.bytes)?;
        if src.is_empty() {
            return Ok(());
        }
        // SAFETY: the range lies inside the allocation; the caller keeps `src` alive.
        unsafe { result::memcpy_htod_async(self.at(offset), src, stream.cu_stream()) }
            .map_err(driver("host-to-device copy"))
    }

    /// Copies `dst.len()` bytes from `offset` into `dst`, asynchronously on
    /// `stream`; the caller synchronises before reading `dst`.
    pub fn download(&self, stream: &CudaStream, offset: usize, dst: &mut [u8]) -> Result<()> {
        check_range(offset, dst.len(), self.bytes)?;
        if dst.is_empty() {
            return Ok(());
        }
        // SAFETY: the range lies inside the allocation; the caller keeps `dst` alive.
        unsafe { result::memcpy_dtoh_async(dst, self.at(offset), stream.cu_stream()) }
            .map_err(driver("device-to-host copy"))
    }
}

fn check_range(offset: usize, len: usize, size: usize) -> Result<()> {
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(()),
        _ => Err(CudaError::InvalidInput(format!(
            "device buffer access {offset}+{len} beyond its {size} bytes"
        ))),
    }
}

impl Drop for DeviceBuffer {
    fn drop(&mut self) {
        if self.ctx.bind_to_thread().is_ok() {
            // SAFETY: `ptr` came from malloc_sync and is freed once; free_sync
            // waits for work using it.
            let _ = unsafe { result::free_sync(self.ptr) };
        }
    }
}

/// Page-locked host memory, for fast asynchronous copies from the device.
pub struct PinnedBuffer {
    ctx: Arc<CudaContext>,
    ptr: *mut u8,
    bytes: usize,
}

impl PinnedBuffer {
    /// Allocates `bytes` (at least one) page-locked bytes.
    pub fn new(ctx: &Arc<CudaContext>, bytes: usize) -> Result<PinnedBuffer> {
        ctx.bind_to_thread().map_err(driver("context binding"))?;
        let size = bytes.max(1);
        // SAFETY: the context is current; the memory is only used through `ptr`.
        let ptr =
            unsafe { result::malloc_host(size, 0) }.map_err(driver("pinned host allocation"))?;
        Ok(PinnedBuffer {
            ctx: ctx.clone(),
            ptr: ptr.cast(),
            bytes: size,
        })
    }

    pub fn len(&self) -> usize {
        self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// The first `len` bytes (the caller has synchronised with the copy into them).
    pub fn bytes(&self, len: usize) -> &[u8] {
        // SAFETY: `ptr` holds `self.bytes` bytes, allocated and owned by self.
        unsafe { std::slice::from_raw_parts(self.ptr, len.min(self.bytes)) }
    }

    /// Copies `len` bytes from device address `src` to `offset`,
    /// asynchronously on `stream`.
    pub fn download_from(
        &mut self,
        stream: &CudaStream,
        offset: usize,
        src: u64,
        len: usize,
    ) -> Result<()> {
        check_range(offset, len, self.bytes)?;
        // SAFETY: the destination range lies inside the allocation.
        let dst = unsafe { std::slice::from_raw_parts_mut(self.ptr.add(offset), len) };
        unsafe { result::memcpy_dtoh_async(dst, src, stream.cu_stream()) }
            .map_err(driver("device-to-host copy"))
    }
}

// SAFETY: the buffer owns its allocation; access goes through &self / &mut self.
unsafe impl Send for PinnedBuffer {}

impl Drop for PinnedBuffer {
    fn drop(&mut self) {
        if self.ctx.bind_to_thread().is_ok() {
            // SAFETY: `ptr` came from malloc_host and is freed once.
            let _ = unsafe { result::free_host(self.ptr.cast()) };
        }
    }
}

/// A CUDA event (without timing), destroyed on drop.
pub struct Event {
    ctx: Arc<CudaContext>,
    event: sys::CUevent,
}

impl Event {
    pub fn new(ctx: &Arc<CudaContext>) -> Result<Event> {
        ctx.bind_to_thread().map_err(driver("context binding"))?;
        let event = result::event::create(sys::CUevent_flags::CU_EVENT_DISABLE_TIMING)
            .map_err(driver("event creation"))?;
        Ok(Event {
            ctx: ctx.clone(),
            event,
        })
    }

    /// Marks the point the stream has reached.
    pub fn record(&self, stream: &CudaStream) -> Result<()> {
        // SAFETY: the event and the stream are live and on the same context.
        unsafe { result::event::record(self.event, stream.cu_stream()) }
            .map_err(driver("event record"))
    }

    /// Waits until the stream has passed the recorded point; a fault of the
    /// work before it is reported here.
    pub fn synchronize(&self) -> std::result::Result<(), result::DriverError> {
        // SAFETY: the event is live.
        unsafe { result::event::synchronize(self.event) }
    }
}

// SAFETY: an event handle may be used from any thread once its context is
// bound, which every method does first.
unsafe impl Send for Event {}

impl Drop for Event {
    fn drop(&mut self) {
        if self.ctx.bind_to_thread().is_ok() {
            // SAFETY: the event is destroyed once.
            let _ = unsafe { result::event::destroy(self.event) };
        }
    }
}
