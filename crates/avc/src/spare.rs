//! Reuse of the boxes that hold macroblock levels ([`MbLevels`]).
//!
//! A coded macroblock keeps its levels in a box of its own, and a picture
//! has thousands of them. Asking the allocator for each and giving them all
//! back when the picture is written costs more than it should: the workers
//! that code the rows allocate, and another thread frees, so every box
//! crosses threads and takes the allocator's locks. Instead, a worker that
//! starts a row takes the boxes of that row of the previous picture
//! ([`keep_levels_of`]) and fills them again ([`boxed`]); so boxes mostly
//! stay with the thread that uses them, and the allocator is asked only
//! where a row needs more than it had.
//!
//! Each thread keeps at most [`KEEP`] spare boxes; the rest go back to the
//! allocator.

use crate::macroblock::{MbCoding, MbLevels};
use std::cell::RefCell;

/// Spare boxes a thread keeps at most (about 0.8 MiB).
const KEEP: usize = 1024;

thread_local! {
    // The boxes are what is kept: handed out as they are, not moved.
    #[allow(clippy::vec_box)]
    static SPARE: RefCell<Vec<Box<MbLevels>>> = const { RefCell::new(Vec::new()) };
}

/// `levels` in a box: a spare one of this thread where it has one, else a
/// new one.
pub(crate) fn boxed(levels: MbLevels) -> Box<MbLevels> {
    match SPARE.with(|s| s.borrow_mut().pop()) {
        Some(mut b) => {
            *b = levels;
            b
        }
        None => Box::new(levels),
    }
}

/// A box for levels to be written in place: a spare one of this thread
/// (holding an earlier macroblock's levels) where it has one, else a new
/// one of zeros. Give it back with [`keep`] if it is not used.
pub(crate) fn take() -> Box<MbLevels> {
    SPARE
        .with(|s| s.borrow_mut().pop())
        .unwrap_or_else(|| Box::new(MbLevels::ZERO))
}

/// Keeps an unused box as one of this thread's spares (up to [`KEEP`]).
pub(crate) fn keep(levels: Box<MbLevels>) {
    SPARE.with(|s| keep_in(&mut s.borrow_mut(), levels));
}

/// Takes the level boxes out of `mbs` (which are left without levels) and
/// keeps them as this thread's spares, up to [`KEEP`].
pub(crate) fn keep_levels_of(mbs: &mut [MbCoding]) {
    SPARE.with(|s| {
        let mut spare = s.borrow_mut();
        for b in mbs.iter_mut().filter_map(|mb| mb.levels.take()) {
            keep_in(&mut spare, b);
        }
    });
}

/// Adds `levels` to `spare` while it holds fewer than [`KEEP`].
#[allow(clippy::vec_box)]
#[inline(always)]
fn keep_in(spare: &mut Vec<Box<MbLevels>>, levels: Box<MbLevels>) {
    if spare.len() < KEEP {
        spare.push(levels);
    }
}

/// How many spare boxes this thread holds.
#[cfg(test)]
pub(crate) fn spares() -> usize {
    SPARE.with(|s| s.borrow().len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::macroblock::LumaPred;
    use crate::syntax::Partition;

    fn levels(v: i16) -> MbLevels {
        let mut l = MbLevels::ZERO;
        l.luma[3][5] = v;
        l.chroma_ac[1][2][7] = -v;
        l
    }

    fn coded(v: i16) -> MbCoding {
        let mut mb = MbCoding::without_levels(LumaPred::Inter(Partition::P16x16), [[0; 2]; 16]);
        mb.levels = Some(Box::new(levels(v)));
        mb
    }

    /// Boxes taken from macroblocks come back, filled with the new levels,
    /// and the macroblocks are left without levels.
    #[test]
    fn kept_boxes_are_refilled() {
        // A fresh thread, so that no other test's spares are counted.
        std::thread::spawn(|| {
            let mut mbs = vec![coded(4), coded(9)];
            let at: Vec<*const MbLevels> = mbs.iter().map(|m| m.levels() as *const _).collect();
            keep_levels_of(&mut mbs);
            assert!(mbs.iter().all(|m| m.levels.is_none()));
            assert_eq!(spares(), 2);
            let a = boxed(levels(-3));
            let b = boxed(levels(7));
            assert_eq!((&*a, &*b), (&levels(-3), &levels(7)));
            let mut got = [&*a as *const MbLevels, &*b as *const MbLevels];
            got.sort();
            let mut want = at;
            want.sort();
            assert_eq!(got.to_vec(), want, "the kept boxes are reused");
            assert_eq!(spares(), 0);
            // With none left, a new box.
            assert_eq!(*boxed(levels(1)), levels(1));
        })
        .join()
        .unwrap();
    }

    /// A thread keeps no more than KEEP spares.
    #[test]
    fn spares_are_bounded() {
        std::thread::spawn(|| {
            let mut mbs: Vec<MbCoding> = (0..KEEP + 10).map(|i| coded(i as i16)).collect();
            keep_levels_of(&mut mbs);
            assert_eq!(spares(), KEEP);
            assert!(mbs.iter().all(|m| m.levels.is_none()));
        })
        .join()
        .unwrap();
    }
}
