//! Skip-ready macroblocks. A macroblock is written as P_Skip (7.3.4) when it
//! is 16×16 with no residual and its vector is the one P_Skip infers from
//! its neighbours (8.4.1.1). Decisions read only the source, the reference
//! and the previous picture's decisions, never a neighbour decided in the
//! same picture, so the inferred vector itself cannot be known when a
//! macroblock decides. The stand-in is the vector P_Skip would infer at the
//! same place in the previous picture's motion field: where motion is
//! steady the two agree. A macroblock first tries that vector; if the
//! residual leaves no levels (it quantises to zero, or is decimated away)
//! the macroblock takes it without a motion search, and becomes P_Skip
//! wherever its neighbours' final vectors infer the same.

use crate::frame::YuvFrame;
use crate::inter::{code_bare_16x16, InterMb};
use crate::macroblock::{MbCoding, MbPos};
use crate::mc::{mv_limits, RefPicture};
use crate::mvpred::{Motion, MotionField};

/// What vector prediction reads of a decided macroblock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MbVectors {
    intra: bool,
    mvs: [[i16; 2]; 16],
}

impl MbVectors {
    /// An intra macroblock, or an inter one with these block vectors.
    pub fn new(intra: bool, mvs: [[i16; 2]; 16]) -> MbVectors {
        MbVectors { intra, mvs }
    }

    pub fn of(mb: &MbCoding) -> MbVectors {
        MbVectors {
            intra: mb.luma.is_intra(),
            mvs: mb.mvs,
        }
    }
}

impl Motion for MbVectors {
    fn is_intra(&self) -> bool {
        self.intra
    }

    fn block_mv(&self, blk: usize) -> [i16; 2] {
        self.mvs[blk]
    }
}

/// The vector P_Skip would infer for macroblock `addr` of a picture `wm`
/// macroblocks wide whose macroblocks had the previous picture's decisions
/// `prev` (8.4.1.1); zero without a previous P picture.
pub fn predicted_skip_vector(prev: &[MbVectors], addr: usize, wm: usize) -> [i16; 2] {
    if prev.is_empty() {
        return [0, 0];
    }
    MotionField {
        mbs: prev,
        width_mbs: wm,
    }
    .skip_vector(addr)
}

/// The macroblock as 16×16 with vector `mv`, if that leaves it no levels
/// and the vector keeps the block within reach of the reference
/// ([`mv_limits`]).
pub(crate) fn try_bare(
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
    code_bare_16x16(src, refp, pos, qp, mv)
}
