//! P_Skip merging, the pass of a P picture between its inter and intra
//! passes. An inter macroblock may be written as P_Skip (7.3.4) only when it
//! is 16×16 with no residual and its vector is the one P_Skip infers from
//! its neighbours (8.4.1.1), which the per-macroblock decisions of the inter
//! pass cannot know. This pass visits the inter macroblocks in wavefront
//! order, when their left, top-left, top and top-right neighbours are final,
//! and recodes each that is not yet 16×16 with the inferred vector: if that
//! leaves no levels (the residual quantises to zero, or is decimated away),
//! the macroblock becomes P_Skip. Intra macroblocks stay intra.

use std::sync::Mutex;

use crate::frame::YuvFrame;
use crate::inter::{code_inter_mb, InterMb};
use crate::macroblock::{LumaPred, MbCoding, MbPos};
use crate::mc::{mv_limits, RefPicture};
use crate::me::MbMotion;
use crate::mvpred::{Motion, MotionField};
use crate::picture::{lock, wavefront, InterRecon};
use crate::syntax::Partition;

/// What the pass reads of a macroblock: its vectors, and whether it is
/// intra or 16×16.
#[derive(Debug, Clone, Copy, Default)]
struct MbVectors {
    intra: bool,
    is_16x16: bool,
    mvs: [[i16; 2]; 16],
}

impl MbVectors {
    fn of(mb: &MbCoding) -> MbVectors {
        MbVectors {
            intra: mb.luma.is_intra(),
            is_16x16: mb.luma == LumaPred::Inter(Partition::P16x16),
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

/// The macroblocks and reconstructions of one macroblock row.
type Row<'a> = (&'a mut [MbCoding], &'a mut [Option<InterRecon>]);

/// Turns the inter macroblocks of a P picture (`inter[addr]` holds the
/// reconstruction of each) into P_Skip where the inferred vector leaves no
/// levels, replacing their coding and reconstruction.
pub(crate) fn merge_skips(
    src: &YuvFrame,
    refp: &RefPicture,
    qp: i32,
    (wm, hm): (usize, usize),
    mbs: &mut [MbCoding],
    inter: &mut [Option<InterRecon>],
) {
    let field: Vec<Mutex<Vec<MbVectors>>> = mbs
        .chunks(wm)
        .map(|row| Mutex::new(row.iter().map(MbVectors::of).collect()))
        .collect();
    let todo: Vec<bool> = inter.iter().map(Option::is_some).collect();
    let rows: Vec<Mutex<Row>> = mbs
        .chunks_mut(wm)
        .zip(inter.chunks_mut(wm))
        .map(Mutex::new)
        .collect();
    wavefront(wm, hm, &todo, &|_: &mut (), x, y| {
        let (window, width, at) = window_of(&field, x, y, wm);
        let here = window[at];
        let mv = MotionField {
            mbs: &window,
            width_mbs: width,
        }
        .skip_vector(at);
        // 16×16 with this vector already: a skip if it has no levels, and
        // coding it again would give the same levels.
        if here.is_16x16 && here.mvs[0] == mv {
            return;
        }
        let pos = MbPos {
            mb_x: x,
            mb_y: y,
            width_mbs: wm,
        };
        let Some(c) = code_skip(src, refp, pos, qp, mv) else {
            return;
        };
        lock(&field[y])[x] = MbVectors::of(&c.mb);
        let mut row = lock(&rows[y]);
        row.1[x] = Some((c.luma, c.chroma));
        row.0[x] = c.mb;
    });
}

/// The macroblock at (x, y) with its neighbours one column each side and
/// one row above (clipped to the picture): the window's vectors, its width
/// and the macroblock's index in it. Only the neighbours are read, and
/// these are final.
fn window_of(
    field: &[Mutex<Vec<MbVectors>>],
    x: usize,
    y: usize,
    wm: usize,
) -> ([MbVectors; 6], usize, usize) {
    let (x0, x1, y0) = (x.saturating_sub(1), (x + 2).min(wm), y.saturating_sub(1));
    let width = x1 - x0;
    let mut window = [MbVectors::default(); 6];
    for (r, row) in (y0..=y).enumerate() {
        window[r * width..(r + 1) * width].copy_from_slice(&lock(&field[row])[x0..x1]);
    }
    (window, width, (y - y0) * width + x - x0)
}

/// The macroblock coded as 16×16 with vector `mv`, if that leaves no levels
/// and the vector keeps the block within reach of the reference (8.4.2.2:
/// [`mv_limits`]).
fn code_skip(
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
    let motion = MbMotion {
        partition: Partition::P16x16,
        mvs: [mv; 4],
        cost: 0,
    };
    let c = code_inter_mb(src, refp, pos, qp, &motion);
    let bare = c.mb.luma == LumaPred::Inter(Partition::P16x16)
        && c.mb.cbp_luma == 0
        && c.mb.cbp_chroma == 0;
    bare.then_some(c)
}
