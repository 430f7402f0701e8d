//! Frames as the caller's tensor holds them: N×3×H×W uint8 with any strides.
//!
//! A frame is read in place when its memory already is one of the layouts
//! the encoder takes: contiguous 3×H×W (planar RGB, a contiguous NCHW
//! tensor) or contiguous H×W×3 (interleaved RGB, a channels-last tensor or a
//! transposed N×H×W×3 array). Any other strides are gathered into a reused
//! frame buffer, one frame at a time.

use std::marker::PhantomData;

use framepress::PixelFormat;

use crate::error::{BindError, BindResult};

/// DLPack type codes (dlpack.h, `DLDataTypeCode`).
const TYPE_NAMES: [(u8, &str); 7] = [
    (0, "int"),
    (1, "uint"),
    (2, "float"),
    (3, "opaque handle"),
    (4, "bfloat"),
    (5, "complex"),
    (6, "bool"),
];

/// Number and size of the frames in a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameShape {
    pub count: usize,
    pub height: u32,
    pub width: u32,
}

fn shape_text(shape: &[i64]) -> String {
    let dims: Vec<String> = shape.iter().map(i64::to_string).collect();
    format!("({})", dims.join(", "))
}

/// Checks the element type: `code`, `bits`, `lanes` of a DLPack `DLDataType`.
pub fn check_dtype(code: u8, bits: u8, lanes: u16) -> BindResult<()> {
    if (code, bits, lanes) == (1, 8, 1) {
        return Ok(());
    }
    let name = match TYPE_NAMES.iter().find(|(c, _)| *c == code) {
        Some((6, name)) => (*name).to_string(),
        Some((_, name)) => format!("{name}{bits}"),
        None => format!("type code {code} with {bits} bits"),
    };
    let lanes = if lanes == 1 {
        String::new()
    } else {
        format!(" ×{lanes} lanes")
    };
    Err(BindError::value(format!(
        "frames must have dtype uint8, got {name}{lanes} (convert them first, e.g. \
         frames.to(torch.uint8) or frames.astype(numpy.uint8))"
    )))
}

/// Checks that `shape` is N×3×H×W with frames of a usable size.
pub fn check_shape(shape: &[i64]) -> BindResult<FrameShape> {
    let text = shape_text(shape);
    if shape.len() != 4 {
        let hint = if shape.len() == 3 {
            " (one frame? add a leading axis: frames[None] or frames.unsqueeze(0))"
        } else {
            ""
        };
        return Err(BindError::value(format!(
            "frames must be 4-D (N, 3, H, W), got {}-D shape {text}{hint}",
            shape.len()
        )));
    }
    if shape[1] != 3 {
        let hint = if shape[3] == 3 {
            " (channels last? pass a view in N×3×H×W order, no copy is made: \
             frames.permute(0, 3, 1, 2) for torch, frames.transpose(0, 3, 1, 2) for numpy)"
        } else {
            ""
        };
        return Err(BindError::value(format!(
            "frames must have 3 (RGB) channels in dimension 1, shape (N, 3, H, W), got shape \
             {text}{hint}"
        )));
    }
    let max = i64::from(framepress::config::MAX_DIMENSION);
    for (name, v) in [("height", shape[2]), ("width", shape[3])] {
        if !(1..=max).contains(&v) {
            return Err(BindError::value(format!(
                "frames have {name} {v}, shape {text} (expected a {name} in 1..={max})"
            )));
        }
    }
    let count = usize::try_from(shape[0])
        .map_err(|_| BindError::value(format!("frames have a negative count, shape {text}")))?;
    Ok(FrameShape {
        count,
        height: shape[2] as u32,
        width: shape[3] as u32,
    })
}

/// How one frame's memory is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Contiguous 3×H×W.
    Planar,
    /// Contiguous H×W×3.
    Interleaved,
    /// Anything else: gathered.
    Strided,
}

/// The layout in which the CUDA backend can read frames where they lie:
/// planar RGB (each plane's rows contiguous, any row pitch, planes anywhere)
/// or interleaved RGB (each row's pixels contiguous, any row pitch); `None`
/// for anything else, which is copied into one of these first.
pub fn device_format(shape: FrameShape, strides: [i64; 4]) -> Option<PixelFormat> {
    let (h, w) = (i64::from(shape.height), i64::from(shape.width));
    let [_, sc, sh, sw] = strides;
    let rows_ok = |row: i64| h <= 1 || sh >= row;
    if (w <= 1 || sw == 1) && rows_ok(w) {
        Some(PixelFormat::Rgb24Planar)
    } else if sc == 1 && sw == 3 && rows_ok(3 * w) {
        Some(PixelFormat::Rgb24)
    } else {
        None
    }
}

/// A batch of frames in host memory, read where it lies, borrowed for `'a`
/// from whatever keeps that memory alive.
#[derive(Debug)]
pub struct HostFrames<'a> {
    base: *const u8,
    shape: FrameShape,
    /// Byte strides of frame, channel, row and column.
    strides: [isize; 4],
    owner: PhantomData<&'a [u8]>,
}

// SAFETY: `HostFrames` only reads memory that its owner keeps alive and
// unchanged for `'a` (see `HostFrames::new`); any thread may read it.
unsafe impl Send for HostFrames<'_> {}
unsafe impl Sync for HostFrames<'_> {}

impl<'a> HostFrames<'a> {
    /// Describes frames at `base` with byte `strides` (frame, channel, row,
    /// column). Fails when an offset would overflow.
    ///
    /// # Safety
    /// Every byte `base + Σ index·stride` for indices within `shape` must be
    /// readable for `'a`, and nothing may write to it meanwhile.
    pub unsafe fn new(
        base: *const u8,
        shape: FrameShape,
        strides: [i64; 4],
    ) -> BindResult<HostFrames<'a>> {
        let dims = [
            shape.count as i64,
            3,
            i64::from(shape.height),
            i64::from(shape.width),
        ];
        let mut reach: i128 = 0;
        for (d, s) in dims.iter().zip(strides) {
            reach += i128::from((d - 1).max(0)) * i128::from(s).abs();
        }
        let too_far = || BindError::value("frames have strides too large to address");
        if reach > isize::MAX as i128 {
            return Err(too_far());
        }
        if base.is_null() && shape.count > 0 {
            return Err(BindError::value("frames have no data (a null pointer)"));
        }
        let strides = strides.map(|s| isize::try_from(s).unwrap_or(isize::MAX));
        Ok(HostFrames {
            base,
            shape,
            strides,
            owner: PhantomData,
        })
    }

    pub fn count(&self) -> usize {
        self.shape.count
    }

    /// The layout of each frame (the frame stride does not matter).
    pub fn layout(&self) -> Layout {
        let (h, w) = (self.shape.height as isize, self.shape.width as isize);
        let [_, sc, sh, sw] = self.strides;
        // A dimension of size 1 is never stepped along, so its stride is free.
        let ok = |size: isize, stride: isize, want: isize| size <= 1 || stride == want;
        if ok(w, sw, 1) && ok(h, sh, w) && sc == h * w {
            Layout::Planar
        } else if sc == 1 && ok(w, sw, 3) && ok(h, sh, 3 * w) {
            Layout::Interleaved
        } else {
            Layout::Strided
        }
    }

    /// The encoder input format that reads these frames with the least work.
    pub fn natural_format(&self) -> PixelFormat {
        match self.layout() {
            Layout::Planar => PixelFormat::Rgb24Planar,
            Layout::Interleaved => PixelFormat::Rgb24,
            Layout::Strided if self.strides[1].abs() < self.strides[3].abs() => PixelFormat::Rgb24,
            Layout::Strided => PixelFormat::Rgb24Planar,
        }
    }

    /// Frame `index` in `format` (planar or interleaved RGB): the caller's
    /// memory when it already has that layout, else gathered into `scratch`.
    pub fn frame<'s>(
        &'s self,
        index: usize,
        format: PixelFormat,
        scratch: &'s mut Vec<u8>,
    ) -> &'s [u8] {
        assert!(index < self.shape.count, "frame index out of range");
        let bytes = 3 * self.shape.height as usize * self.shape.width as usize;
        // SAFETY: within the batch (checked above); offsets fit (see `new`).
        let base = unsafe { self.base.offset(index as isize * self.strides[0]) };
        match (self.layout(), format) {
            (Layout::Planar, PixelFormat::Rgb24Planar)
            | (Layout::Interleaved, PixelFormat::Rgb24) => {
                // SAFETY: the frame is `bytes` contiguous readable bytes (`new`).
                unsafe { std::slice::from_raw_parts(base, bytes) }
            }
            _ => {
                scratch.resize(bytes, 0);
                // SAFETY: every offset read lies within the frame (`new`).
                unsafe { self.gather(base, format, scratch) };
                scratch
            }
        }
    }

    /// Copies one frame starting at `base` into `out` in `format`.
    unsafe fn gather(&self, base: *const u8, format: PixelFormat, out: &mut [u8]) {
        let (h, w) = (self.shape.height as usize, self.shape.width as usize);
        let [_, sc, sh, sw] = self.strides;
        let at = |c: usize, y: usize, x: usize| {
            // SAFETY: c < 3, y < h, x < w: within the frame (`new`).
            unsafe { *base.offset(c as isize * sc + y as isize * sh + x as isize * sw) }
        };
        if format == PixelFormat::Rgb24 {
            for (y, row) in out.chunks_exact_mut(3 * w).enumerate() {
                if sc == 1 && sw == 3 {
                    // SAFETY: a contiguous row of 3·w bytes.
                    let src =
                        unsafe { std::slice::from_raw_parts(base.offset(y as isize * sh), 3 * w) };
                    row.copy_from_slice(src);
                    continue;
                }
                for (x, px) in row.chunks_exact_mut(3).enumerate() {
                    for (c, v) in px.iter_mut().enumerate() {
                        *v = at(c, y, x);
                    }
                }
            }
        } else {
            for (i, row) in out.chunks_exact_mut(w).enumerate() {
                let (c, y) = (i / h, i % h);
                if sw == 1 {
                    // SAFETY: a contiguous row of w bytes.
                    let src = unsafe {
                        std::slice::from_raw_parts(
                            base.offset(c as isize * sc + y as isize * sh),
                            w,
                        )
                    };
                    row.copy_from_slice(src);
                    continue;
                }
                for (x, v) in row.iter_mut().enumerate() {
                    *v = at(c, y, x);
                }
            }
        }
    }
}
