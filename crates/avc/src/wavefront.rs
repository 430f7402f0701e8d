//! Visiting the macroblocks of a picture in wavefront order on the pool's
//! threads: each after its left, top-left, top and top-right neighbours, so
//! that the result equals raster order. Intra macroblocks of P pictures are
//! coded this way, and pictures are deblocked this way.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Visits every macroblock marked in `todo` after its left, top-left, top
/// and top-right neighbours have been visited (or passed over), so the
/// result equals a visit in raster order for any thread count.
///
/// Workers take macroblock rows in order and visit each row from left to
/// right with a state of their own; before a macroblock, a worker waits
/// until the row above has got past the macroblock to its top-right (a
/// wavefront without a barrier per step).
///
/// Rows are claimed in order, so a worker only waits for a row that a
/// running worker holds. That needs `visit` never to enter rayon: a worker
/// waiting inside rayon could pick up another row's task beneath its own
/// and wait on itself.
pub(crate) fn wavefront<S: Default>(
    wm: usize,
    hm: usize,
    todo: &[bool],
    visit: &(impl Fn(&mut S, usize, usize) + Sync),
) {
    let progress: Vec<AtomicUsize> = (0..hm).map(|_| AtomicUsize::new(0)).collect();
    let next_row = AtomicUsize::new(0);
    let work = || {
        let mut state = S::default();
        loop {
            let y = next_row.fetch_add(1, Ordering::Relaxed);
            if y >= hm {
                return;
            }
            let _finished = RowFinished(&progress[y]);
            for x in 0..wm {
                if todo[y * wm + x] {
                    if y > 0 {
                        wait_for(&progress[y - 1], (x + 2).min(wm));
                    }
                    visit(&mut state, x, y);
                }
                progress[y].store(x + 1, Ordering::Release);
            }
        }
    };
    let workers = rayon::current_num_threads().clamp(1, hm.max(1));
    rayon::scope(|s| {
        for _ in 0..workers {
            s.spawn(|_| work());
        }
    });
}

/// Marks a row as finished when its worker leaves it, normally or by a
/// panic, so that the row below never waits for ever (the panic itself is
/// reported when the scope ends).
struct RowFinished<'a>(&'a AtomicUsize);

impl Drop for RowFinished<'_> {
    fn drop(&mut self) {
        self.0.store(usize::MAX, Ordering::Release);
    }
}

/// Waits until a row's progress reaches `at_least` macroblocks.
fn wait_for(progress: &AtomicUsize, at_least: usize) {
    let mut spins = 0u32;
    while progress.load(Ordering::Acquire) < at_least {
        if spins < 100 {
            std::hint::spin_loop();
            spins += 1;
        } else {
            std::thread::yield_now();
        }
    }
}
