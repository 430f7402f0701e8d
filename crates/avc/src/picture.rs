//! Coding of whole pictures, macroblock rows side by side, with the bytes
//! of raster order. A P macroblock's decision reads only the source, the
//! reference and the previous picture's vectors, so inter macroblocks code
//! on the spot and only intra ones wait for the row above: the result is
//! that of the passes the CUDA backend runs (decisions and inter coding for
//! all macroblocks at once, then intra macroblocks in wavefront order).

use crate::analyse::{bare_skip_may_go_intra, intra_estimate_below, lambda};
use crate::bands::SharedRecon;
use crate::frame::{prefetch, Plane, YuvFrame, MBS_PER_CACHE_LINE};
use crate::wavefront::{wavefront_rows, RowProgress};
use rayon::prelude::*;
use std::collections::VecDeque;
use std::sync::Mutex;

use crate::inter::{code_bare_16x16_into, code_inter_mb_into, InterMb};
use crate::lossless::{code_inter_mb_lossless, code_intra_mb_lossless};
use crate::macroblock::{code_intra_mb_with, MbCoding, MbPos};
use crate::mc::RefPicture;
use crate::me::{search_mb, MeParams};
use crate::pixel::satd_u8;
use crate::skip::{predicted_skip_vector, MbVectors};
use crate::spare::keep_levels_of;

/// Codes an I picture: every macroblock intra, in wavefront order (the
/// result of raster order).
pub fn code_i_picture(
    src: &YuvFrame,
    recon: &mut YuvFrame,
    wm: usize,
    hm: usize,
    qp: i32,
) -> Vec<MbCoding> {
    code_i_picture_with(src, recon, wm, hm, qp, IntraMode::Full)
}

/// [`code_i_picture`] with a choice of intra macroblock types. Each
/// macroblock is coded after its left, top-left, top and top-right
/// neighbours (the only reconstructed samples intra prediction reads,
/// 8.3.1.2, 8.3.3, 8.3.4), so the result equals raster order for any thread
/// count. Each macroblock is coded in its own [`Neighbourhood`], with edges
/// copied out of the shared reconstruction and its samples copied in
/// ([`SharedRecon`]).
pub fn code_i_picture_with(
    src: &YuvFrame,
    recon: &mut YuvFrame,
    wm: usize,
    hm: usize,
    qp: i32,
    intra: IntraMode,
) -> Vec<MbCoding> {
    code_i_picture_into(src, recon, (wm, hm), (qp, intra), Vec::new())
}

/// [`code_i_picture_with`] into `old`, an earlier picture's macroblocks
/// (see [`code_rows`]).
pub(crate) fn code_i_picture_into(
    src: &YuvFrame,
    recon: &mut YuvFrame,
    (wm, hm): (usize, usize),
    coding: (i32, IntraMode),
    old: Vec<MbCoding>,
) -> Vec<MbCoding> {
    code_rows(src, recon, (wm, hm), coding, old, &|_: &mut (), _, _| {
        Decided::Intra
    })
}

/// What a picture pass decides for a macroblock before intra coding.
enum Decided {
    /// Coded already (an inter macroblock of a P picture).
    Coded(MbCoding),
    /// To be coded intra, once its neighbours are reconstructed.
    Intra,
}

/// Codes every macroblock of a `wm`×`hm` picture, macroblock rows side by
/// side ([`wavefront_rows`]): `decide` (given the worker's state, what the
/// workers share and the macroblock's position) codes the macroblocks that
/// need nothing of the picture's reconstruction, and leaves the others to
/// intra coding, which follows in order within the row as soon as the row
/// above has got past each one's top-right neighbour. So a row whose next
/// intra macroblock must wait goes on deciding the macroblocks after it;
/// the results are those of raster order. Each row's results are kept by
/// its worker and stored when it ends.
///
/// The results go into `old` where it holds an earlier picture's `wm`×`hm`
/// macroblocks: a worker starting a row keeps that row's level boxes to
/// fill again ([`spare`](crate::spare)).
fn code_rows<S: Default>(
    src: &YuvFrame,
    recon: &mut YuvFrame,
    (wm, hm): (usize, usize),
    coding: (i32, IntraMode),
    old: Vec<MbCoding>,
    decide: &(impl Fn(&mut S, &RowWork, (usize, usize)) -> Decided + Sync),
) -> Vec<MbCoding> {
    let mut mbs = if old.len() == wm * hm {
        old
    } else {
        (0..wm * hm).into_par_iter().map(|_| uncoded()).collect()
    };
    let shared = SharedRecon::of(recon);
    let rows: Vec<Mutex<&mut [MbCoding]>> = mbs.chunks_mut(wm).map(Mutex::new).collect();
    let work = RowWork {
        src,
        recon: &shared,
        wm,
        coding,
    };
    wavefront_rows(
        wm,
        hm,
        &|row: &mut RowState<S>, y, progress: &RowProgress| {
            keep_levels_of(&mut lock(&rows[y]));
            row.start(wm);
            for x in 0..wm {
                match decide(&mut row.pass, &work, (x, y)) {
                    Decided::Coded(mb) => row.out[x] = mb,
                    Decided::Intra => row.pending.push_back(x),
                }
                row.code_intra(&work, (y, x + 1), progress, false);
            }
            row.code_intra(&work, (y, wm), progress, true);
            for (to, mb) in lock(&rows[y]).iter_mut().zip(row.out.drain(..)) {
                *to = mb;
            }
        },
    );
    drop(rows);
    mbs
}

/// What a worker of [`code_rows`] keeps: the pass's own state, the intra
/// coding's cut-out, and the row in progress.
#[derive(Default)]
struct RowState<S> {
    pass: S,
    cut_out: Neighbourhood,
    /// The row's results, by column.
    out: Vec<MbCoding>,
    /// Columns left to intra coding, left to right.
    pending: VecDeque<usize>,
}

impl<S> RowState<S> {
    fn start(&mut self, wm: usize) {
        self.out.clear();
        self.out.resize_with(wm, uncoded);
        self.pending.clear();
    }

    /// Intra codes the pending macroblocks of row `y` in order, each once
    /// the row above has got past its top-right neighbour (waiting for it
    /// with `wait`, else stopping at the first that is not ready), and
    /// publishes how many of the row's macroblocks are done (those before
    /// the first pending one, of the first `decided`).
    fn code_intra(
        &mut self,
        work: &RowWork,
        (y, decided): (usize, usize),
        progress: &RowProgress,
        wait: bool,
    ) {
        while let Some(&x) = self.pending.front() {
            let above = progress.above_of(x);
            if wait {
                above.wait();
            } else if !above.ready() {
                break;
            }
            self.out[x] = work.code(&mut self.cut_out, x, y);
            self.pending.pop_front();
        }
        progress.publish(self.pending.front().copied().unwrap_or(decided));
    }
}

/// A placeholder for a macroblock that the coding passes replace.
fn uncoded() -> MbCoding {
    MbCoding::i_pcm(None)
}

/// What the row workers share. Each is called for macroblock (x, y) by the
/// worker of row y in wavefront order, after waiting for the row above
/// where it reads it (intra macroblocks): what [`SharedRecon`] asks of its
/// callers.
struct RowWork<'a, 'b> {
    src: &'a YuvFrame,
    recon: &'a SharedRecon<'b>,
    wm: usize,
    coding: (i32, IntraMode),
}

impl RowWork<'_, '_> {
    /// Writes an inter macroblock's reconstruction at (x, y).
    fn paste(&self, c: &InterMb, x: usize, y: usize) {
        let blocks = [
            (&c.luma[..], (0, 16)),
            (&c.chroma[0][..], (0, 8)),
            (&c.chroma[1][..], (0, 8)),
        ];
        // SAFETY: macroblock (x, y) belongs to this row's worker.
        unsafe { self.recon.write_mb((x, y), blocks) };
    }

    /// Codes the intra macroblock at (x, y) in the cut-out `n`; the row
    /// above has got past its top-right neighbour.
    fn code(&self, n: &mut Neighbourhood, x: usize, y: usize) -> MbCoding {
        let (qp, intra) = self.coding;
        n.cut_out(self.recon, (x, y), self.wm);
        let src_pos = MbPos {
            mb_x: x,
            mb_y: y,
            width_mbs: self.wm,
        };
        let mb = intra_mb((self.src, src_pos), &mut n.recon, n.pos, qp, intra);
        n.paste_coded(self.recon, (x, y));
        mb
    }
}

/// Locks a mutex; a poisoned one (a worker that panicked) is used as it is,
/// since the panic itself is reported when the scope ends.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The neighbours a macroblock may predict from, cut out of the
/// reconstruction: up to one macroblock column each side and one row above,
/// clipped to the picture, so that the availability the coding derives from
/// `pos` (6.4.8, 6.4.11) is that of the macroblock in the picture. Only
/// what intra coding reads is copied (the rest is left as the previous
/// macroblock had it): the reconstructed row above the macroblock
/// (top-left, top and top-right samples) and the column left of it
/// (8.3.1.2, 8.3.3, 8.3.4). The macroblock's source is read in place. Its
/// planes are reused from one macroblock to the next.
#[derive(Default)]
struct Neighbourhood {
    recon: YuvFrame,
    /// The macroblock's position inside the cut-out.
    pos: MbPos,
}

impl Neighbourhood {
    /// Cuts the neighbours of the macroblock at (mb_x, mb_y) out of the
    /// shared reconstruction: the row above's last sample row and the
    /// column to the left. The row above has got past the macroblock's
    /// top-right neighbour.
    fn cut_out(&mut self, recon: &SharedRecon, (mb_x, mb_y): (usize, usize), wm: usize) {
        let (x0, y0) = (mb_x.saturating_sub(1), mb_y.saturating_sub(1));
        let x1 = (mb_x + 2).min(wm);
        let pos = MbPos {
            mb_x: mb_x - x0,
            mb_y: mb_y - y0,
            width_mbs: x1 - x0,
        };
        size_to(&mut self.recon, (x1 - x0, mb_y + 1 - y0));
        let planes = [&mut self.recon.y, &mut self.recon.u, &mut self.recon.v];
        for (p, plane) in planes.into_iter().enumerate() {
            let n = if p == 0 { 16 } else { 8 };
            // SAFETY: the row above up to the top-right neighbour is
            // finished; the left neighbour is this worker's own.
            unsafe { cut_plane(recon, p, n, plane, (x0, mb_x, mb_y), pos) };
        }
        self.pos = pos;
    }

    /// Writes the coded macroblock's reconstruction into the shared
    /// reconstruction at (mb_x, mb_y), the caller's own macroblock.
    fn paste_coded(&self, recon: &SharedRecon, (mb_x, mb_y): (usize, usize)) {
        let (lx, ly) = (self.pos.mb_x, self.pos.mb_y);
        let (y, u, v) = (&self.recon.y, &self.recon.u, &self.recon.v);
        let at = |p: &Plane, n: usize| (ly * n * p.width + lx * n, p.width);
        let blocks = [
            (&y.data[..], at(y, 16)),
            (&u.data[..], at(u, 8)),
            (&v.data[..], at(v, 8)),
        ];
        // SAFETY: the macroblock belongs to the caller's worker.
        unsafe { recon.write_mb((mb_x, mb_y), blocks) };
    }
}

/// Copies plane `p`'s neighbours of macroblock (mb_x, mb_y) (`n` samples
/// wide) into the cut-out's `plane`, whose macroblock is at `pos` and whose
/// first column is macroblock column `x0`: the row above's last sample row
/// and the column to the left.
///
/// # Safety
/// The row above has got past the macroblock's top-right neighbour.
#[inline(always)]
unsafe fn cut_plane(
    recon: &SharedRecon,
    p: usize,
    n: usize,
    plane: &mut Plane,
    (x0, mb_x, mb_y): (usize, usize, usize),
    pos: MbPos,
) {
    let w = plane.width;
    // SAFETY: passed on to the caller (the left column is the worker's own).
    unsafe {
        if mb_y > 0 {
            let at = (x0 * n, mb_y * n - 1);
            recon.read(p, at, &mut plane.data, ((n - 1) * w, w), (w, 1));
        }
        if mb_x > 0 {
            let at = (mb_x * n - 1, mb_y * n);
            let to = (pos.mb_y * n * w + pos.mb_x * n - 1, w);
            recon.read(p, at, &mut plane.data, to, (1, n));
        }
    }
}

/// Makes the frame `w`×`h` macroblocks, its samples left as they were:
/// coding reads only the samples the cut-out copies in, so the others need
/// no clearing.
fn size_to(f: &mut YuvFrame, (w, h): (usize, usize)) {
    for (plane, n) in [(&mut f.y, 16), (&mut f.u, 8), (&mut f.v, 8)] {
        plane.width = w * n;
        plane.height = h * n;
        plane.data.resize(plane.width * plane.height, 0);
    }
}

/// Codes the intra macroblock whose source lies at `src_pos` of `src` into
/// the reconstruction `recon` at `pos`.
fn intra_mb(
    (src, src_pos): (&YuvFrame, MbPos),
    recon: &mut YuvFrame,
    pos: MbPos,
    qp: i32,
    mode: IntraMode,
) -> MbCoding {
    match mode {
        IntraMode::Lossless => code_intra_mb_lossless(src, src_pos, recon, pos),
        IntraMode::Full => code_intra_mb_with(src, src_pos, recon, pos, qp, true),
        IntraMode::Without4x4 => code_intra_mb_with(src, src_pos, recon, pos, qp, false),
    }
}

/// Which intra macroblock types a picture may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntraMode {
    /// Intra4x4, Intra16x16 and I_PCM.
    Full,
    /// Intra16x16 and I_PCM only (faster).
    Without4x4,
    /// Transform-bypass Intra4x4 and I_PCM.
    Lossless,
}

impl IntraMode {
    pub fn new(lossless: bool, i4: bool) -> IntraMode {
        match (lossless, i4) {
            (true, _) => IntraMode::Lossless,
            (false, true) => IntraMode::Full,
            (false, false) => IntraMode::Without4x4,
        }
    }
}

/// Candidate vectors for a macroblock from the previous picture: its
/// co-located vector first (also the predictor of vector costs), then zero
/// and the co-located vectors of its four neighbours (each once).
fn seeds(prev: &[[i16; 2]], addr: usize, wm: usize, hm: usize) -> Seeds {
    let (x, y) = (addr % wm, addr / wm);
    let mut out = Seeds {
        mvs: [prev[addr], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0]],
        len: 2,
    };
    let around = [
        (x > 0).then(|| addr - 1),
        (y > 0).then(|| addr - wm),
        (x + 1 < wm).then(|| addr + 1),
        (y + 1 < hm).then(|| addr + wm),
    ];
    for n in around.into_iter().flatten() {
        if !out.as_slice().contains(&prev[n]) {
            out.mvs[out.len] = prev[n];
            out.len += 1;
        }
    }
    out
}

/// The at most six seeds of [`seeds`], kept without an allocation.
struct Seeds {
    mvs: [[i16; 2]; 6],
    len: usize,
}

impl Seeds {
    fn as_slice(&self) -> &[[i16; 2]] {
        &self.mvs[..self.len]
    }
}

/// What a P picture is predicted from and how it is coded.
pub struct PContext<'a> {
    pub refp: &'a RefPicture,
    /// One vector per macroblock of the previous picture (zero for intra).
    pub prev_mvs: &'a [[i16; 2]],
    /// The previous picture's decisions as vector prediction reads them
    /// (empty without one).
    pub prev_field: &'a [MbVectors],
    pub me: &'a MeParams,
    pub qp: i32,
    /// Intra macroblock types; `Lossless` also makes inter macroblocks lossless.
    pub intra: IntraMode,
}

/// Codes a P picture of `wm`×`hm` macroblocks in one pass over macroblock
/// rows side by side ([`code_rows`]): each macroblock's decision (which
/// reads only the source, the reference and the previous picture's
/// vectors), then its coding. An inter macroblock is coded on the spot; an
/// intra one once the row above has got past its top-right neighbour, since
/// intra prediction reads the reconstruction around it (8.3.1.2, 8.3.3,
/// 8.3.4), the row deciding on meanwhile. So the result equals a pass of
/// decisions and inter coding followed by the intra macroblocks in raster
/// order, which is how the CUDA backend codes it.
pub fn code_p_picture(
    src: &YuvFrame,
    recon: &mut YuvFrame,
    wm: usize,
    hm: usize,
    ctx: &PContext,
) -> Vec<MbCoding> {
    code_p_picture_into(src, recon, (wm, hm), ctx, Vec::new())
}

/// [`code_p_picture`] into `old`, an earlier picture's macroblocks (see
/// [`code_rows`]).
pub(crate) fn code_p_picture_into(
    src: &YuvFrame,
    recon: &mut YuvFrame,
    (wm, hm): (usize, usize),
    ctx: &PContext,
    old: Vec<MbCoding>,
) -> Vec<MbCoding> {
    let coding = (ctx.qp, ctx.intra);
    code_rows(
        src,
        recon,
        (wm, hm),
        coding,
        old,
        &|inter: &mut InterBuffer, work, (x, y)| {
            if x % MBS_PER_CACHE_LINE == 0 {
                prefetch_mb(src, ctx, x + 2 * MBS_PER_CACHE_LINE, (y, wm));
            }
            let c = &mut inter.0;
            if decide_p_mb_into(src, ctx, y * wm + x, (wm, hm), c) {
                work.paste(c, x, y);
                Decided::Coded(std::mem::replace(&mut c.mb, uncoded()))
            } else {
                Decided::Intra
            }
        },
    )
}

/// The inter coding's buffer, kept by a worker of [`code_p_picture`] from
/// one macroblock to the next.
struct InterBuffer(InterMb);

impl Default for InterBuffer {
    fn default() -> InterBuffer {
        InterBuffer(InterMb::empty())
    }
}

/// Asks for the source and reference samples that the decision of
/// macroblock (mb_x, mb_y) reads first, ahead of it: the pass asks for the
/// group of macroblocks after next ([`MBS_PER_CACHE_LINE`]; rows of a picture
/// advancing together, an order the CPU does not foresee). A hint only
/// (one thread: without it 3.5–4.5 % more time in all).
fn prefetch_mb(src: &YuvFrame, ctx: &PContext, mb_x: usize, (mb_y, wm): (usize, usize)) {
    if mb_x >= wm {
        return;
    }
    src.prefetch_mb(mb_x, mb_y, 0);
    // Near the co-located vector of the previous picture (the search's
    // first seed, and what P_Skip's vector is usually near).
    let mv = ctx
        .prev_mvs
        .get(mb_y * wm + mb_x)
        .copied()
        .unwrap_or_default();
    ctx.refp.prefetch_mbs((mb_x, mb_y), mv);
    // The previous picture's decisions that P_Skip's vector reads: the
    // entries of the macroblock's row and of the row above (left, top and
    // top-right neighbours). An entry is about a cache line long.
    let field = ctx.prev_field;
    for r in mb_y.saturating_sub(1)..=mb_y {
        let from = (r * wm + mb_x).min(field.len());
        for entry in &field[from..(from + MBS_PER_CACHE_LINE).min(field.len())] {
            prefetch(entry);
        }
    }
}

/// The decision of macroblock `addr` of a P picture, from the source, the
/// reference and the previous picture's decisions: the coded inter
/// macroblock, or `None` for intra.
///
/// First the vector P_Skip would infer in the previous picture's field
/// ([`predicted_skip_vector`]): if it leaves no levels, it is taken without
/// a motion search where `me.early_skip` says so, and otherwise when its
/// SATD is no more than the search's cost; intra wins over it as over any
/// inter prediction while that SATD is within [`bare_skip_may_go_intra`].
/// Else the search's vectors, or intra.
pub fn decide_p_mb(
    src: &YuvFrame,
    ctx: &PContext,
    addr: usize,
    dims: (usize, usize),
) -> Option<InterMb> {
    let mut out = InterMb::empty();
    decide_p_mb_into(src, ctx, addr, dims, &mut out).then_some(out)
}

/// [`decide_p_mb`] into `out`: true for an inter macroblock (coded into
/// `out`), false for intra (`out` left undefined).
fn decide_p_mb_into(
    src: &YuvFrame,
    ctx: &PContext,
    addr: usize,
    (wm, hm): (usize, usize),
    out: &mut InterMb,
) -> bool {
    let PContext {
        refp,
        prev_mvs,
        prev_field,
        me,
        qp,
        intra,
    } = *ctx;
    let lossless = intra == IntraMode::Lossless;
    let (x, y) = (addr % wm, addr / wm);
    let pos = MbPos {
        mb_x: x,
        mb_y: y,
        width_mbs: wm,
    };
    let lam = lambda(qp);
    let search = || {
        let seeds = seeds(prev_mvs, addr, wm, hm);
        search_mb(&src.y, refp, x, y, seeds.as_slice(), lam, me)
    };
    let mut searched = None;
    if !lossless {
        let skip = predicted_skip_vector(prev_field, addr, wm);
        if code_bare_16x16_into(src, refp, pos, qp, skip, out) {
            let at = y * 16 * src.y.width + x * 16;
            let cost = satd_u8(&src.y.data[at..], src.y.width, &out.luma, 16, 16, 16);
            let motion = (!me.early_skip).then(search);
            if motion.is_none_or(|m| cost <= m.cost) {
                return !(bare_skip_may_go_intra(lam, cost, me.early_skip)
                    && intra_estimate_below(&src.y, x, y, lam, cost));
            }
            searched = motion;
        }
    }
    let motion = searched.unwrap_or_else(search);
    if intra_estimate_below(&src.y, x, y, lam, motion.cost) {
        return false;
    }
    if lossless {
        *out = code_inter_mb_lossless(src, refp, pos, &motion);
    } else {
        code_inter_mb_into(src, refp, pos, qp, &motion, out);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A picture of `wm`×`hm` macroblocks of smooth gradients with noise.
    fn picture(wm: usize, hm: usize) -> YuvFrame {
        let mut f = YuvFrame::new(wm * 16, hm * 16);
        let mut state = 0x1234_5678u32;
        for (k, plane) in [&mut f.y, &mut f.u, &mut f.v].into_iter().enumerate() {
            let w = plane.width;
            for (i, v) in plane.data.iter_mut().enumerate() {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let smooth = (i % w) * 3 + (i / w) * 2 + k * 40;
                *v = ((smooth + (state >> 28) as usize) % 256) as u8;
            }
        }
        f
    }

    #[test]
    fn intra_rows_code_as_raster_coding_in_place() {
        let (wm, hm) = (4, 3);
        let src = picture(wm, hm);
        for mode in [IntraMode::Full, IntraMode::Without4x4, IntraMode::Lossless] {
            let mut recon = YuvFrame::new(wm * 16, hm * 16);
            let mbs = code_i_picture_with(&src, &mut recon, wm, hm, 24, mode);
            let mut expected = YuvFrame::new(wm * 16, hm * 16);
            for (addr, coded) in mbs.iter().enumerate() {
                let pos = MbPos {
                    mb_x: addr % wm,
                    mb_y: addr / wm,
                    width_mbs: wm,
                };
                let mb = intra_mb((&src, pos), &mut expected, pos, 24, mode);
                assert_eq!(
                    format!("{mb:?}"),
                    format!("{coded:?}"),
                    "{mode:?} mb {addr}"
                );
            }
            assert_eq!(recon, expected, "{mode:?}");
        }
    }

    /// The one pass of rows side by side gives what decisions and inter
    /// coding for every macroblock, then the intra ones in raster order,
    /// give (the CUDA backend's passes), on pools of 1 to 3 threads; the
    /// picture has both kinds (a reference of noise where the source is
    /// smooth makes intra win there).
    #[test]
    fn p_pictures_code_as_inter_then_intra_in_raster_order() {
        let (wm, hm) = (7, 5);
        let src = picture(wm, hm);
        let mut old = src.clone();
        let mut state = 0x9e37_79b9u32;
        for (i, v) in old.y.data.iter_mut().enumerate() {
            let (x, y) = (i % (wm * 16), i / (wm * 16));
            if (x / 16 + y / 16) % 3 == 0 {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                *v = (state >> 24) as u8;
            }
        }
        let refp = RefPicture::new_full_sample(&old);
        let me = MeParams {
            max_steps: 4,
            subpel_rounds: 0,
            partitions: false,
            early_skip: true,
        };
        let prev_mvs = vec![[0i16; 2]; wm * hm];
        let ctx = PContext {
            refp: &refp,
            prev_mvs: &prev_mvs,
            prev_field: &[],
            me: &me,
            qp: 27,
            intra: IntraMode::Without4x4,
        };
        let mut want_recon = YuvFrame::new(wm * 16, hm * 16);
        let mut want: Vec<Option<MbCoding>> = vec![None; wm * hm];
        for (addr, slot) in want.iter_mut().enumerate() {
            if let Some(c) = decide_p_mb(&src, &ctx, addr, (wm, hm)) {
                c.store(&mut want_recon, pos_of(addr, wm));
                *slot = Some(c.mb);
            }
        }
        let intra = want.iter().filter(|m| m.is_none()).count();
        assert!(intra > 0 && intra < wm * hm, "{intra} intra macroblocks");
        for (addr, slot) in want.iter_mut().enumerate() {
            if slot.is_none() {
                let pos = pos_of(addr, wm);
                *slot = Some(intra_mb((&src, pos), &mut want_recon, pos, 27, ctx.intra));
            }
        }
        for threads in 1..=3 {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            // Into a new vector, and into an earlier picture's macroblocks
            // (an I picture of the reference, levels in most), whose level
            // boxes the rows reuse.
            let earlier = pool.install(|| {
                let mut r = YuvFrame::new(wm * 16, hm * 16);
                code_i_picture_into(&old, &mut r, (wm, hm), (27, IntraMode::Full), Vec::new())
            });
            assert!(earlier.iter().filter(|m| m.levels.is_some()).count() > wm * hm / 2);
            for (into, old_mbs) in [("new", Vec::new()), ("earlier", earlier)] {
                let mut recon = YuvFrame::new(wm * 16, hm * 16);
                let mbs =
                    pool.install(|| code_p_picture_into(&src, &mut recon, (wm, hm), &ctx, old_mbs));
                for (addr, (got, want)) in mbs.iter().zip(&want).enumerate() {
                    assert_eq!(
                        format!("{:?}", Some(got)),
                        format!("{:?}", want.as_ref()),
                        "{threads} threads, {into}, mb {addr}"
                    );
                }
                assert_eq!(recon, want_recon, "{threads} threads, {into}");
            }
        }
    }

    /// A P_Skip macroblock without levels goes intra where intra is
    /// cheaper only while its SATD is within [`bare_skip_may_go_intra`]:
    /// the source is a smooth ramp (which plane prediction holds) and the
    /// reference the ramp plus noise small enough to quantise away, at
    /// amplitudes on both sides of the limit.
    #[test]
    fn bare_skips_above_the_limit_stay_inter() {
        let (wm, hm, qp) = (3, 3, 37);
        let mut src = YuvFrame::new(wm * 16, hm * 16);
        for (i, v) in src.y.data.iter_mut().enumerate() {
            *v = (60 + (i % (wm * 16)) * 2 + (i / (wm * 16))) as u8;
        }
        src.u.data.fill(128);
        src.v.data.fill(128);
        let me = MeParams {
            max_steps: 4,
            subpel_rounds: 0,
            partitions: false,
            early_skip: true,
        };
        let centre = 4;
        let pos = pos_of(centre, wm);
        let lam = lambda(qp);
        let (mut below, mut above) = (0, 0);
        for amplitude in 1..=12u32 {
            let mut state = 0x2545_f491u32 ^ amplitude;
            let mut old = src.clone();
            for v in old.y.data.iter_mut() {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let noise = (state % (2 * amplitude + 1)) as i32 - amplitude as i32;
                *v = (i32::from(*v) + noise).clamp(0, 255) as u8;
            }
            let refp = RefPicture::new_full_sample(&old);
            let mut bare = InterMb::empty();
            if !code_bare_16x16_into(&src, &refp, pos, qp, [0, 0], &mut bare) {
                continue;
            }
            let at = 16 * src.y.width + 16;
            let satd = satd_u8(&src.y.data[at..], src.y.width, &bare.luma, 16, 16, 16);
            if !intra_estimate_below(&src.y, 1, 1, lam, satd) {
                continue;
            }
            let ctx = PContext {
                refp: &refp,
                prev_mvs: &[[0; 2]; 9],
                prev_field: &[],
                me: &me,
                qp,
                intra: IntraMode::Without4x4,
            };
            let decided = decide_p_mb(&src, &ctx, centre, (wm, hm));
            if bare_skip_may_go_intra(lam, satd, me.early_skip) {
                assert!(decided.is_none(), "amplitude {amplitude}: SATD {satd}");
                below += 1;
            } else {
                let mb = decided.map(|c| c.mb);
                assert!(
                    mb.as_ref().is_some_and(|m| m.levels.is_none()),
                    "amplitude {amplitude}: SATD {satd}: {mb:?}"
                );
                above += 1;
            }
        }
        assert!(below > 0 && above > 0, "{below} below, {above} above");
    }

    fn pos_of(addr: usize, wm: usize) -> MbPos {
        MbPos {
            mb_x: addr % wm,
            mb_y: addr / wm,
            width_mbs: wm,
        }
    }
}
