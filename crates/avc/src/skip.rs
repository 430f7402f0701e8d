//! P_Skip decisions. A macroblock may be written as P_Skip (7.3.4) only when
//! it is 16×16 with no residual and its vector is the one P_Skip infers from
//! its left, top and top-right (or top-left) neighbours (8.4.1.1). P
//! pictures are coded in wavefront order, so when a macroblock's turn comes
//! those neighbours are final: the macroblock is first tried as 16×16 with
//! the inferred vector, and if that leaves no levels (the residual quantises
//! to zero, or is decimated away) it is P_Skip without a motion search or an
//! intra decision.

use std::sync::Mutex;

use crate::frame::YuvFrame;
use crate::inter::{code_bare_16x16, InterMb};
use crate::macroblock::{LumaPred, MbCoding, MbPos};
use crate::mc::{mv_limits, RefPicture};
use crate::mvpred::{Motion, MotionField};
use crate::picture::lock;
use crate::syntax::Partition;

/// What vector prediction reads of a decided macroblock.
#[derive(Debug, Clone, Copy, Default)]
struct MbVectors {
    intra: bool,
    mvs: [[i16; 2]; 16],
}

impl Motion for MbVectors {
    fn is_intra(&self) -> bool {
        self.intra
    }

    fn block_mv(&self, blk: usize) -> [i16; 2] {
        self.mvs[blk]
    }
}

/// The vectors of a picture's decided macroblocks, one lock per macroblock
/// row, for workers that decide macroblocks in wavefront order.
pub(crate) struct MotionRows {
    rows: Vec<Mutex<Vec<MbVectors>>>,
    wm: usize,
}

impl MotionRows {
    pub fn new(wm: usize, hm: usize) -> MotionRows {
        MotionRows {
            rows: (0..hm)
                .map(|_| Mutex::new(vec![MbVectors::default(); wm]))
                .collect(),
            wm,
        }
    }

    /// Records the decision of the macroblock at (x, y).
    pub fn set(&self, x: usize, y: usize, mb: &MbCoding) {
        lock(&self.rows[y])[x] = MbVectors {
            intra: mb.luma.is_intra(),
            mvs: mb.mvs,
        };
    }

    /// The vector P_Skip infers for the macroblock at (x, y) (8.4.1.1),
    /// once its left, top-left, top and top-right neighbours are set.
    pub fn skip_vector(&self, x: usize, y: usize) -> [i16; 2] {
        let (x0, x1, y0) = (
            x.saturating_sub(1),
            (x + 2).min(self.wm),
            y.saturating_sub(1),
        );
        let width = x1 - x0;
        let mut window = [MbVectors::default(); 6];
        for (r, row) in (y0..=y).enumerate() {
            window[r * width..(r + 1) * width].copy_from_slice(&lock(&self.rows[row])[x0..x1]);
        }
        MotionField {
            mbs: &window,
            width_mbs: width,
        }
        .skip_vector((y - y0) * width + x - x0)
    }
}

/// The macroblock as P_Skip with the inferred vector `mv`, if that leaves
/// it no levels and the vector keeps the block within reach of the
/// reference ([`mv_limits`]).
pub(crate) fn try_skip(
    src: &YuvFrame,
    refp: &RefPicture,
    pos: MbPos,
    qp: i32,
    mv: [i16; 2],
) -> Option<InterMb> {
    let (x, y) = (pos.mb_x as i32 * 16, pos.mb_y as i32 * 16);
    let lim = [
        mv_limits(x, 16, refp.full.width as i32),
        mv_limits(y, 16, refp.full.height as i32),
    ];
    let inside = |v: i16, (lo, hi): (i32, i32)| (lo..=hi).contains(&i32::from(v));
    if !inside(mv[0], lim[0]) || !inside(mv[1], lim[1]) {
        return None;
    }
    let c = code_bare_16x16(src, refp, pos, qp, mv)?;
    debug_assert!(c.mb.luma == LumaPred::Inter(Partition::P16x16));
    Some(c)
}
