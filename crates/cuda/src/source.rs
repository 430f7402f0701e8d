//! Frame sources: frames in host memory, and frames already in device memory.

use cudarc::driver::sys::CUstream;

use crate::colour::PixelFormat;

/// A frame in host memory: tightly packed planes back to back, as
/// [`PixelFormat::frame_bytes`] describes.
#[derive(Debug, Clone, Copy)]
pub struct HostFrame<'a> {
    pub format: PixelFormat,
    pub data: &'a [u8],
}

/// A frame in device memory of the encoder's device.
#[derive(Debug, Clone, Copy)]
pub struct DeviceFrame {
    pub format: PixelFormat,
    /// Device address and row pitch in bytes of each plane, in the order of
    /// the format (R, G, B; Y, U, V; Y, UV); unused entries are ignored.
    pub planes: [(u64, usize); 3],
    /// A stream whose queued work must finish before the frame is read
    /// (the producer's), or null for none.
    pub stream: CUstream,
}

impl DeviceFrame {
    /// A frame whose planes lie back to back from `ptr`, rows tightly
    /// packed, as [`PixelFormat::frame_bytes`] describes.
    pub fn packed(format: PixelFormat, ptr: u64, width: usize, height: usize) -> DeviceFrame {
        let mut planes = [(0u64, 0usize); 3];
        let mut offset = 0u64;
        for (i, plane) in planes.iter_mut().enumerate().take(format.planes()) {
            let (w, h) = format.plane_size(i, width, height);
            *plane = (ptr + offset, w);
            offset += (w * h) as u64;
        }
        DeviceFrame {
            format,
            planes,
            stream: std::ptr::null_mut(),
        }
    }

    /// The same frame, read only after the work queued on the stream whose
    /// `CUstream` handle is `handle` as an integer (0: none), as Python's
    /// `torch.cuda.Stream.cuda_stream` gives it.
    pub fn after_handle(self, handle: usize) -> DeviceFrame {
        self.after(handle as CUstream)
    }

    /// The same frame, read only after the work queued on `stream`.
    pub fn after(mut self, stream: CUstream) -> DeviceFrame {
        self.stream = stream;
        self
    }
}
