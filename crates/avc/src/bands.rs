//! The reconstruction of a picture as the row workers of the picture pass
//! ([`crate::picture`]) share it: each worker writes the macroblocks of its
//! own macroblock row, and reads the row above only where the wavefront
//! has finished it.
//!
//! Samples are reached through pointers rather than through a lock per
//! macroblock row: a lock's release is a full fence on x86-64, which after
//! a macroblock's 384 samples waits for every store to land (about 4 % of
//! a 1080p encode's time went there). The wavefront's progress counters
//! already order the accesses (release as a row's macroblocks are done,
//! acquire before reading the row above).

use crate::frame::{RowsAt, YuvFrame};
use std::marker::PhantomData;

/// One plane of the picture, reached through a pointer; every access is
/// checked against its length.
#[derive(Clone, Copy)]
struct SharedPlane {
    ptr: *mut u8,
    len: usize,
    stride: usize,
}

impl SharedPlane {
    fn of(data: &mut [u8], stride: usize) -> SharedPlane {
        SharedPlane {
            ptr: data.as_mut_ptr(),
            len: data.len(),
            stride,
        }
    }

    /// The offset of sample (`x`, `y`) when `rows` rows of `width`
    /// samples from it lie in the plane; panics otherwise (the picture
    /// pass only asks for blocks of its own picture).
    #[inline(always)]
    fn block_at(&self, (x, y): (usize, usize), size: (usize, usize)) -> usize {
        let at = y.checked_mul(self.stride).and_then(|o| o.checked_add(x));
        let inside = x.checked_add(size.0).is_some_and(|end| end <= self.stride);
        match at {
            Some(at) if inside && block_fits(self.len, (at, self.stride), size) => at,
            _ => panic!(
                "a block of {} rows of {} at ({x}, {y}) reaches past the plane",
                size.1, size.0
            ),
        }
    }

    /// Copies `width`×`rows` samples from `src` (at `from`) to (`x`, `y`).
    ///
    /// # Safety
    /// No other thread reads or writes those samples of the plane meanwhile.
    #[inline(always)]
    unsafe fn write(&self, at: (usize, usize), src: &[u8], from: RowsAt, size: (usize, usize)) {
        let to = self.block_at(at, size);
        assert!(
            block_fits(src.len(), from, size),
            "a block reaches past its source"
        );
        // SAFETY: both blocks lie in their buffers (checked above); the
        // caller has these samples of the plane to itself.
        unsafe {
            copy_block(
                (src.as_ptr().add(from.0), from.1),
                (self.ptr.add(to), self.stride),
                size,
            )
        }
    }

    /// Copies `width`×`rows` samples at (`x`, `y`) into `dst` (at `to`).
    ///
    /// # Safety
    /// No other thread writes those samples of the plane meanwhile.
    #[inline(always)]
    unsafe fn read(&self, at: (usize, usize), dst: &mut [u8], to: RowsAt, size: (usize, usize)) {
        let from = self.block_at(at, size);
        assert!(
            block_fits(dst.len(), to, size),
            "a block reaches past its destination"
        );
        // SAFETY: as in `write`; no thread writes these samples now.
        unsafe {
            copy_block(
                (self.ptr.add(from), self.stride),
                (dst.as_mut_ptr().add(to.0), to.1),
                size,
            )
        }
    }
}

/// Whether `rows` rows of `width` samples, `stride` apart from offset `at`
/// on, lie in a buffer of `len` samples.
#[inline(always)]
fn block_fits(len: usize, (at, stride): RowsAt, (width, rows): (usize, usize)) -> bool {
    let Some(last) = rows.checked_sub(1) else {
        return true;
    };
    last.checked_mul(stride)
        .and_then(|o| o.checked_add(at))
        .and_then(|o| o.checked_add(width))
        .is_some_and(|end| end <= len)
}

/// Copies `width`×`rows` samples between blocks given by their first sample
/// and row distance.
///
/// # Safety
/// Both blocks lie in their buffers, which do not overlap.
#[inline(always)]
unsafe fn copy_block(
    (from, from_stride): (*const u8, usize),
    (to, to_stride): (*mut u8, usize),
    (width, rows): (usize, usize),
) {
    for r in 0..rows {
        // SAFETY: row r of each block lies in its buffer (the caller's
        // promise).
        unsafe {
            std::ptr::copy_nonoverlapping(from.add(r * from_stride), to.add(r * to_stride), width);
        }
    }
}

/// The three planes of a picture's reconstruction, shared by the row
/// workers of one picture pass. Luma is plane 0, Cb 1, Cr 2; a macroblock
/// is `16 >> (plane > 0)` samples wide.
pub(crate) struct SharedRecon<'a> {
    planes: [SharedPlane; 3],
    _frame: PhantomData<&'a mut YuvFrame>,
}

// SAFETY: the picture pass codes rows side by side
// ([`crate::wavefront::wavefront_rows`]): a macroblock row belongs to one
// worker, which writes only the macroblocks of that row (each once) and
// reads its own row's samples; it reads the row above only after that
// row's published progress (release ordering, read with acquire ordering)
// has passed the macroblocks it reads (up to the top-right neighbour), and
// a row publishes only macroblocks that are done and never written again.
// So no sample is written by one thread while another reads or writes it.
unsafe impl Sync for SharedRecon<'_> {}

impl<'a> SharedRecon<'a> {
    pub(crate) fn of(frame: &'a mut YuvFrame) -> SharedRecon<'a> {
        let (yw, cw) = (frame.y.width, frame.u.width);
        SharedRecon {
            planes: [
                SharedPlane::of(&mut frame.y.data, yw),
                SharedPlane::of(&mut frame.u.data, cw),
                SharedPlane::of(&mut frame.v.data, cw),
            ],
            _frame: PhantomData,
        }
    }

    /// Copies a block into plane `p` at (`x`, `y`).
    ///
    /// # Safety
    /// The caller's worker owns the samples (its own macroblock row, not
    /// read by the row below before the wavefront lets it).
    #[inline(always)]
    pub(crate) unsafe fn write(
        &self,
        p: usize,
        at: (usize, usize),
        src: &[u8],
        from: RowsAt,
        size: (usize, usize),
    ) {
        // SAFETY: passed on to the caller.
        unsafe { self.planes[p].write(at, src, from, size) }
    }

    /// Copies a macroblock's three blocks (luma 16×16, Cb and Cr 8×8, each
    /// in its buffer at its [`RowsAt`]) to macroblock (mb_x, mb_y).
    ///
    /// # Safety
    /// As for [`SharedRecon::write`]: the macroblock is the caller's.
    #[inline(always)]
    pub(crate) unsafe fn write_mb(
        &self,
        (mb_x, mb_y): (usize, usize),
        blocks: [(&[u8], RowsAt); 3],
    ) {
        let [(y, y_at), (u, u_at), (v, v_at)] = blocks;
        // SAFETY: passed on to the caller.
        unsafe {
            self.write(0, (mb_x * 16, mb_y * 16), y, y_at, (16, 16));
            self.write(1, (mb_x * 8, mb_y * 8), u, u_at, (8, 8));
            self.write(2, (mb_x * 8, mb_y * 8), v, v_at, (8, 8));
        }
    }

    /// Copies a block of plane `p` at (`x`, `y`) out.
    ///
    /// # Safety
    /// The samples lie in the caller's own macroblock row, or in the row
    /// above where the wavefront has finished it.
    #[inline(always)]
    pub(crate) unsafe fn read(
        &self,
        p: usize,
        at: (usize, usize),
        dst: &mut [u8],
        to: RowsAt,
        size: (usize, usize),
    ) {
        // SAFETY: passed on to the caller.
        unsafe { self.planes[p].read(at, dst, to, size) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_go_in_and_come_out_where_asked() {
        let mut f = YuvFrame::new(32, 32);
        let before = f.u.data[0];
        let shared = SharedRecon::of(&mut f);
        let block: Vec<u8> = (0..64).collect();
        let mut back = vec![0u8; 64];
        // SAFETY: one thread.
        unsafe {
            shared.write(1, (8, 8), &block, (0, 8), (8, 8));
            shared.read(1, (8, 8), &mut back, (0, 8), (8, 8));
        }
        assert_eq!(back, block);
        for (i, &v) in f.u.data.iter().enumerate() {
            let (x, y) = (i % 16, i / 16);
            let want = if x >= 8 && y >= 8 {
                ((y - 8) * 8 + x - 8) as u8
            } else {
                before
            };
            assert_eq!(v, want, "({x}, {y})");
        }
    }

    /// Blocks of any size and position within the plane land where
    /// row-by-row slice copies put them, from and to buffers with any row
    /// distance, and nothing else changes.
    #[test]
    fn blocks_equal_row_by_row_copies() {
        let mut state = 7u32;
        let mut next = |n: usize| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as usize % n
        };
        for _ in 0..500 {
            let (width, rows) = (1 + next(16), 1 + next(16));
            let (x, y) = (next(33 - width), next(33 - rows));
            let stride = width + next(5);
            let src: Vec<u8> = (0..stride * rows).map(|_| next(256) as u8).collect();
            let mut f = YuvFrame::new(32, 32);
            let mut want = f.y.data.clone();
            for r in 0..rows {
                want[(y + r) * 32 + x..][..width].copy_from_slice(&src[r * stride..][..width]);
            }
            let shared = SharedRecon::of(&mut f);
            let mut back = vec![0u8; stride * rows];
            // SAFETY: one thread.
            unsafe {
                shared.write(0, (x, y), &src, (0, stride), (width, rows));
                shared.read(0, (x, y), &mut back, (0, stride), (width, rows));
            }
            for r in 0..rows {
                assert_eq!(back[r * stride..][..width], src[r * stride..][..width]);
            }
            assert_eq!(f.y.data, want);
        }
    }

    /// A block reaching past the source or destination buffer panics
    /// instead of reading or writing outside it.
    #[test]
    fn blocks_past_the_buffers_are_refused() {
        let mut f = YuvFrame::new(32, 32);
        let shared = SharedRecon::of(&mut f);
        let short_src = std::panic::catch_unwind(|| {
            // SAFETY: one thread; the call panics before touching memory.
            unsafe { shared.write(0, (0, 0), &[0; 63], (0, 8), (8, 8)) };
        });
        assert!(short_src.is_err());
        let short_dst = std::panic::catch_unwind(|| {
            let mut dst = [0u8; 64];
            // SAFETY: as above.
            unsafe { shared.read(0, (0, 0), &mut dst, (1, 8), (8, 8)) };
        });
        assert!(short_dst.is_err());
    }

    #[test]
    #[should_panic(expected = "reaches past the plane")]
    fn a_block_past_the_plane_is_refused() {
        let mut f = YuvFrame::new(32, 32);
        let shared = SharedRecon::of(&mut f);
        // SAFETY: one thread; the call panics before touching memory.
        unsafe { shared.write(0, (24, 0), &[0; 256], (0, 16), (16, 16)) };
    }
}
