//! Picture buffers: 8-bit planes and 4:2:0 frames.

/// One 8-bit plane, rows stored contiguously (stride == width).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plane {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

impl Clone for Plane {
    fn clone(&self) -> Plane {
        Plane {
            width: self.width,
            height: self.height,
            data: self.data.clone(),
        }
    }

    /// Copies `source` into this plane's buffer, which is reallocated only
    /// when too small (the derived `clone_from` would allocate a new one
    /// every time: reference pictures take each reconstruction this way).
    fn clone_from(&mut self, source: &Plane) {
        self.width = source.width;
        self.height = source.height;
        self.data.clone_from(&source.data);
    }
}

impl Plane {
    /// A plane filled with `value`.
    pub fn filled(width: usize, height: usize, value: u8) -> Plane {
        Plane {
            width,
            height,
            data: vec![value; width * height],
        }
    }

    /// A plane of zeros with room for `rows` rows (at least `height`)
    /// before its buffer must grow.
    pub fn zeroed_with_room(width: usize, height: usize, rows: usize) -> Plane {
        let mut data = vec![0; width * rows.max(height)];
        data.truncate(width * height);
        Plane {
            width,
            height,
            data,
        }
    }

    #[inline]
    pub fn at(&self, x: usize, y: usize) -> u8 {
        self.data[y * self.width + x]
    }

    #[inline]
    pub fn row(&self, y: usize) -> &[u8] {
        &self.data[y * self.width..(y + 1) * self.width]
    }

    /// A hint to bring the samples at column `x` of rows `y0..y0 + rows`
    /// (those the plane holds) into the cache ahead of their use: one cache
    /// line per row. Changes nothing the program sees.
    #[inline]
    pub fn prefetch_rows(&self, x: usize, y0: usize, rows: usize) {
        let rows = y0.saturating_add(rows).min(self.height).saturating_sub(y0);
        if let Some(start) = y0.checked_mul(self.width).and_then(|i| i.checked_add(x)) {
            prefetch_lines(&self.data, start, self.width, rows);
        }
    }
}

/// Where a block of rows lies in a buffer: the offset of its first sample
/// and the distance between rows.
pub(crate) type RowsAt = (usize, usize);

/// Asks for the 64 bytes of `data` from offsets `start`, `start + stride`,
/// … on (`rows` of them, as many as `data` holds): the cache line of each
/// row's first byte and that of its 64th, which differ unless the row
/// starts a line (buffers are 16-byte aligned). The bounds are checked
/// once, so that each line costs the prefetch alone.
#[inline(always)]
pub(crate) fn prefetch_lines(data: &[u8], start: usize, stride: usize, rows: usize) {
    prefetch_lines_at(data.as_ptr(), data.len(), start, stride, rows);
}

/// [`prefetch_lines`] of the `len` samples from `base` on (a buffer that
/// other threads may be writing: nothing is read).
#[inline(always)]
pub(crate) fn prefetch_lines_at(
    base: *const u8,
    len: usize,
    start: usize,
    stride: usize,
    rows: usize,
) {
    if start >= len {
        return;
    }
    // Rows r with start + r·stride < len lie in the buffer.
    let rows = match stride {
        0 => rows.min(1),
        _ => rows.min((len - start - 1) / stride + 1),
    };
    let first = base.wrapping_add(start);
    if rows > 0 && (rows - 1) * stride + 63 < len - start {
        // Every row's 64 bytes lie in the buffer (the common case): no
        // clamping per row.
        for r in 0..rows {
            let row = first.wrapping_add(r * stride);
            prefetch_ptr(row);
            prefetch_ptr(row.wrapping_add(63));
        }
        return;
    }
    // The last byte of the first row's 64 that lies in the buffer; later
    // rows' are `stride` on, or clamped to the buffer's last.
    let reach = (len - start - 1).min(63);
    let last_of = |r: usize| (start + r * stride + reach).min(len - 1);
    for r in 0..rows {
        prefetch_ptr(first.wrapping_add(r * stride));
        prefetch_ptr(base.wrapping_add(last_of(r)));
    }
}

/// [`prefetch`] of the cache line holding `p`, which points into a live
/// buffer.
#[inline(always)]
fn prefetch_ptr(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE (part of x86-64) has the instruction; a prefetch reads
    // nothing the program sees.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Asks the CPU to bring the cache line holding the start of `value` into
/// its caches.
#[inline(always)]
pub(crate) fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE (part of x86-64) has the instruction; a prefetch reads
    // nothing the program sees, and `value` is a valid reference.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>((value as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// A YUV 4:2:0 frame: luma `width`×`height`, chroma ⌈width/2⌉×⌈height/2⌉.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct YuvFrame {
    pub y: Plane,
    pub u: Plane,
    pub v: Plane,
}

/// Macroblocks of a row whose luma samples share one 64-byte cache line:
/// prefetching asks for a group's lines once (see [`YuvFrame::prefetch_mb`]).
pub(crate) const MBS_PER_CACHE_LINE: usize = 4;

impl YuvFrame {
    /// [`Plane::prefetch_rows`] for macroblock (mb_x, mb_y) of each plane,
    /// from `above` rows above it (luma and chroma alike) to its last row.
    #[inline]
    pub fn prefetch_mb(&self, mb_x: usize, mb_y: usize, above: usize) {
        self.y
            .prefetch_rows(mb_x * 16, (mb_y * 16).saturating_sub(above), 16 + above);
        for plane in [&self.u, &self.v] {
            plane.prefetch_rows(mb_x * 8, (mb_y * 8).saturating_sub(above), 8 + above);
        }
    }

    /// A mid-grey frame of the given luma size.
    pub fn new(width: usize, height: usize) -> YuvFrame {
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        YuvFrame {
            y: Plane::filled(width, height, 128),
            u: Plane::filled(cw, ch, 128),
            v: Plane::filled(cw, ch, 128),
        }
    }

    /// A frame of `width`×`height` luma samples, every sample 0: memory
    /// the system hands out zeroed, for frames whose every sample is written
    /// before it is read (no pass over the samples, unlike [`YuvFrame::new`]).
    pub fn zeroed(width: usize, height: usize) -> YuvFrame {
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        YuvFrame {
            y: Plane::filled(width, height, 0),
            u: Plane::filled(cw, ch, 0),
            v: Plane::filled(cw, ch, 0),
        }
    }

    /// [`YuvFrame::zeroed`] with room in each plane for `rows` luma rows, so
    /// that padding it to whole macroblocks in place
    /// ([`crate::encoder::pad_rows_in_place`]) keeps its buffers (growing
    /// them, in the first pictures, cost 1.1–1.6 ms a 1080p frame).
    pub fn zeroed_with_room(width: usize, height: usize, rows: usize) -> YuvFrame {
        let (cw, ch, crows) = (width.div_ceil(2), height.div_ceil(2), rows.div_ceil(2));
        YuvFrame {
            y: Plane::zeroed_with_room(width, height, rows),
            u: Plane::zeroed_with_room(cw, ch, crows),
            v: Plane::zeroed_with_room(cw, ch, crows),
        }
    }

    pub fn width(&self) -> usize {
        self.y.width
    }

    pub fn height(&self) -> usize {
        self.y.height
    }

    /// The frame as yuv420p bytes: Y, then U, then V.
    pub fn to_i420(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.y.data.len() + 2 * self.u.data.len());
        out.extend_from_slice(&self.y.data);
        out.extend_from_slice(&self.u.data);
        out.extend_from_slice(&self.v.data);
        out
    }

    /// Builds a frame from yuv420p bytes; `None` if the length is wrong.
    pub fn from_i420(width: usize, height: usize, bytes: &[u8]) -> Option<YuvFrame> {
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        let (ly, lc) = (width * height, cw * ch);
        if bytes.len() != ly + 2 * lc {
            return None;
        }
        Some(YuvFrame {
            y: Plane {
                width,
                height,
                data: bytes[..ly].to_vec(),
            },
            u: Plane {
                width: cw,
                height: ch,
                data: bytes[ly..ly + lc].to_vec(),
            },
            v: Plane {
                width: cw,
                height: ch,
                data: bytes[ly + lc..].to_vec(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_from_copies_into_the_same_buffer() {
        let source = Plane {
            width: 5,
            height: 3,
            data: (0..15).collect(),
        };
        let mut plane = Plane::filled(8, 4, 9);
        let buffer = plane.data.as_ptr();
        plane.clone_from(&source);
        assert_eq!(plane, source);
        assert_eq!(plane.data.as_ptr(), buffer, "the buffer is reused");
        assert_eq!(plane.clone(), source);
    }

    #[test]
    fn zeroed_and_new_frames_have_their_sizes_and_samples() {
        for (w, h) in [(16usize, 16usize), (33, 17), (1920, 1080)] {
            let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
            let sizes =
                |f: &YuvFrame| [&f.y, &f.u, &f.v].map(|p| (p.width, p.height, p.data.len()));
            let want = [(w, h, w * h), (cw, ch, cw * ch), (cw, ch, cw * ch)];
            let zeroed = YuvFrame::zeroed(w, h);
            assert_eq!(sizes(&zeroed), want);
            assert!([&zeroed.y, &zeroed.u, &zeroed.v]
                .iter()
                .all(|p| p.data.iter().all(|&v| v == 0)));
            let grey = YuvFrame::new(w, h);
            assert_eq!(sizes(&grey), want);
            assert!([&grey.y, &grey.u, &grey.v]
                .iter()
                .all(|p| p.data.iter().all(|&v| v == 128)));
        }
    }
}
