//! Visiting the macroblocks of a picture in wavefront order on the pool's
//! threads: each after its left, top-left, top and top-right neighbours, so
//! that the result equals raster order. Pictures are coded this way (an
//! inter macroblock of a P picture without waiting), and deblocked this way.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Visits every macroblock marked in `todo` after its left, top-left, top
/// and top-right neighbours have been visited (or passed over), so the
/// result equals a visit in raster order for any thread count: [`wavefront_on_demand`]
/// with a wait before every marked macroblock.
pub(crate) fn wavefront<S: Default>(
    wm: usize,
    hm: usize,
    todo: &[bool],
    visit: &(impl Fn(&mut S, usize, usize) + Sync),
) {
    wavefront_on_demand(wm, hm, &|state: &mut S, x, y, above: &Above| {
        if todo[y * wm + x] {
            above.wait();
            visit(state, x, y);
        }
    });
}

/// Visits every macroblock, each row from left to right on one worker;
/// `visit` gets an [`Above`] to wait, before it reads them, until its
/// top-left, top and top-right neighbours have been visited. Macroblocks
/// that read nothing of the row above go on without waiting, so rows move
/// side by side, and the result equals raster order wherever `visit` waits
/// before reading what the rows above wrote.
///
/// Workers take macroblock rows in order ([`wavefront_rows`]); a wait is
/// until the row above has got past the macroblock to the top-right (a
/// wavefront without a barrier per step). Waiting only for the marked ones
/// of those neighbours was measured and not kept: the intra pass of 1080p P
/// pictures took as long at 2 threads.
pub(crate) fn wavefront_on_demand<S: Default>(
    wm: usize,
    hm: usize,
    visit: &(impl Fn(&mut S, usize, usize, &Above) + Sync),
) {
    wavefront_rows(wm, hm, &|state: &mut S, y, row: &RowProgress| {
        for x in 0..wm {
            visit(state, x, y, &row.above_of(x));
            row.publish(x + 1);
        }
    });
}

/// Runs `row_pass` for every macroblock row `y` of a `wm`×`hm` picture, rows
/// side by side on the pool's threads: the pass publishes through its
/// [`RowProgress`] how many of its row's macroblocks are done, and reads the
/// row above only where that row's published progress covers it (waiting,
/// or first doing work that needs nothing from it). Done means for good:
/// the rows below may read it from then on.
///
/// Rows are claimed in order, so a worker only waits for a row that a
/// running worker holds. That needs the pass never to enter rayon: a worker
/// waiting inside rayon could pick up another row's task beneath its own
/// and wait on itself.
pub(crate) fn wavefront_rows<S: Default>(
    wm: usize,
    hm: usize,
    row_pass: &(impl Fn(&mut S, usize, &RowProgress) + Sync),
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
            let row = RowProgress {
                own: &progress[y],
                above: y.checked_sub(1).map(|a| &progress[a]),
                wm,
            };
            row_pass(&mut state, y, &row);
        }
    };
    let workers = rayon::current_num_threads().clamp(1, hm.max(1));
    rayon::scope(|s| {
        for _ in 0..workers {
            s.spawn(|_| work());
        }
    });
}

/// One row of [`wavefront_rows`]: its own progress, and the row above's.
pub(crate) struct RowProgress<'a> {
    own: &'a AtomicUsize,
    above: Option<&'a AtomicUsize>,
    wm: usize,
}

impl RowProgress<'_> {
    /// Marks the row's first `done` macroblocks as done for good (release
    /// ordering: their results are visible to a row that sees the count).
    pub(crate) fn publish(&self, done: usize) {
        self.own.store(done, Ordering::Release);
    }

    /// The wait for macroblock `x` of this row: until the row above has got
    /// past its top-right neighbour.
    pub(crate) fn above_of(&self, x: usize) -> Above<'_> {
        Above {
            row: self.above,
            at_least: (x + 2).min(self.wm),
        }
    }
}

/// The row above a macroblock of [`wavefront_on_demand`], to wait for.
pub(crate) struct Above<'a> {
    /// The row's progress (`None` in the first row).
    row: Option<&'a AtomicUsize>,
    /// How far it must get: past the top-right neighbour.
    at_least: usize,
}

impl Above<'_> {
    /// Waits until the macroblock's top-left, top and top-right neighbours
    /// have been visited (at once in the first row).
    pub(crate) fn wait(&self) {
        if let Some(row) = self.row {
            wait_for(row, self.at_least);
        }
    }

    /// Whether [`Above::wait`] would return at once.
    pub(crate) fn ready(&self) -> bool {
        self.row
            .is_none_or(|row| row.load(Ordering::Acquire) >= self.at_least)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every marked macroblock is visited once, after each marked one of
    /// its left, top-left, top and top-right neighbours, on pools of 1 to 4
    /// threads, for masks from sparse to full (visits that take a while, so
    /// that the workers overlap).
    #[test]
    fn visits_follow_the_marked_neighbours() {
        let mut state = 0x2545_f491u32;
        let mut next = move |n: u32| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state % n
        };
        for threads in 1..=4 {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            for density in [1, 3, 5, 8, 1, 3, 5, 8, 2, 6] {
                let (wm, hm) = (12 + next(20) as usize, 6 + next(10) as usize);
                let todo: Vec<bool> = (0..wm * hm).map(|_| next(8) < density).collect();
                let clock = AtomicUsize::new(0);
                let seen: Vec<AtomicUsize> = (0..wm * hm).map(|_| AtomicUsize::new(0)).collect();
                pool.install(|| {
                    wavefront(wm, hm, &todo, &|_: &mut (), x, y| {
                        let spin = (0..20_000u32).fold(x as u32, |a, b| a.wrapping_mul(31) ^ b);
                        std::hint::black_box(spin);
                        let t = clock.fetch_add(1, Ordering::SeqCst) + 1;
                        assert_eq!(
                            seen[y * wm + x].swap(t, Ordering::SeqCst),
                            0,
                            "visited twice"
                        );
                    })
                });
                for y in 0..hm {
                    for x in (0..wm).filter(|&x| todo[y * wm + x]) {
                        let at = seen[y * wm + x].load(Ordering::SeqCst);
                        assert!(at > 0, "({x}, {y}) not visited");
                        let above = y
                            .checked_sub(1)
                            .map(|a| (x.saturating_sub(1)..(x + 2).min(wm), a));
                        let mut neighbours: Vec<(usize, usize)> =
                            x.checked_sub(1).map(|l| (l, y)).into_iter().collect();
                        if let Some((xs, a)) = above {
                            neighbours.extend(xs.map(|n| (n, a)));
                        }
                        for (nx, ny) in neighbours
                            .into_iter()
                            .filter(|&(nx, ny)| todo[ny * wm + nx])
                        {
                            let before = seen[ny * wm + nx].load(Ordering::SeqCst);
                            assert!(
                                before < at,
                                "{threads} threads: ({x}, {y}) visited before ({nx}, {ny})"
                            );
                        }
                    }
                }
                let marked = todo.iter().filter(|&&t| t).count();
                assert_eq!(clock.load(Ordering::SeqCst), marked);
            }
        }
    }
}
