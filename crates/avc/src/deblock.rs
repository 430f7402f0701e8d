//! In-loop deblocking filter (8.7) for frame macroblocks of a 4:2:0, 8-bit
//! picture coded as one slice with disable_deblocking_filter_idc = 0 and
//! transform_size_8x8_flag = 0.
//!
//! Macroblocks are filtered in raster order (8.7), or with the same result
//! by rows side by side in wavefront order on several threads, in place.
//! Within a macroblock the luma vertical edges go left to right, then the
//! horizontal edges top to bottom; then each chroma plane the same way. The
//! filter works in place, so samples filtered at one edge feed the next, as
//! in a decoder. Luma and the two chroma planes never read each other's
//! samples, so doing the three planes of one macroblock one after the other
//! is the order of 8.7.
//!
//! Boundary strengths (8.7.2.1) are derived once per macroblock from luma
//! 4×4 blocks and shared by the chroma edges that lie on the same luma
//! positions (chroma edge 0 on luma edge 0, chroma edge 4 on luma edge 8).
//!
//! The 16 lines of an edge are filtered side by side as lanes, without
//! per-sample branches. Vertical edges are reached through transposed
//! squares of samples (SSE2 on x86-64), horizontal edges in place. On CPUs
//! with AVX2 (a run-time check) the macroblock filter runs compiled for AVX2
//! and the lane filters are written out in AVX2 intrinsics; the tests hold
//! them to the portable filters and both to the line-by-line reference.

use crate::frame::{prefetch_lines_at, Plane, YuvFrame, MBS_PER_CACHE_LINE};
use crate::transform::chroma_qp;
use crate::wavefront::wavefront;
use rayon::prelude::*;

/// What the filter needs to know of each macroblock (8.7.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MbDeblockInfo {
    /// Intra-coded (I_NxN, I_16x16 or I_PCM).
    pub intra: bool,
    /// QPY of the macroblock; 0 for I_PCM (7.4.5).
    pub qp: i32,
    /// Bit `b` set when 4×4 luma block luma4x4BlkIdx = b has non-zero
    /// transform coefficient levels.
    pub nonzero: u16,
    /// Motion vector of each 4×4 luma block in luma4x4BlkIdx order, in
    /// quarter luma samples.
    pub mv: [[i16; 2]; 16],
    /// Reference picture of each 8×8 partition (−1 for none / intra).
    pub ref_idx: [i8; 4],
}

/// Filter offsets from the slice header and PPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeblockParams {
    /// FilterOffsetA = slice_alpha_c0_offset_div2 << 1.
    pub offset_a: i32,
    /// FilterOffsetB = slice_beta_offset_div2 << 1.
    pub offset_b: i32,
    /// chroma_qp_index_offset of the PPS.
    pub chroma_qp_offset: i32,
}

/// Table 8-16: α′ by indexA (α = α′ at bit depth 8).
const ALPHA: [u8; 52] = [
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // 0..15
    4, 4, 5, 6, 7, 8, 9, 10, 12, 13, 15, 17, 20, 22, 25, 28, // 16..31
    32, 36, 40, 45, 50, 56, 63, 71, 80, 90, 101, 113, 127, 144, 162, 182, // 32..47
    203, 226, 255, 255, // 48..51
];

/// Table 8-16: β′ by indexB (β = β′ at bit depth 8).
const BETA: [u8; 52] = [
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // 0..15
    2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 6, 6, 7, 7, 8, 8, // 16..31
    9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15, 16, 16, // 32..47
    17, 17, 18, 18, // 48..51
];

/// Table 8-17: t′C0 by indexA for bS = 1, 2, 3 (tC0 = t′C0 at bit depth 8).
const TC0: [[u8; 3]; 52] = [
    [0, 0, 0], // 0
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0], // 10
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 1],
    [0, 0, 1],
    [0, 0, 1],
    [0, 0, 1], // 20
    [0, 1, 1],
    [0, 1, 1],
    [1, 1, 1],
    [1, 1, 1],
    [1, 1, 1],
    [1, 1, 1],
    [1, 1, 2],
    [1, 1, 2],
    [1, 1, 2],
    [1, 1, 2], // 30
    [1, 2, 3],
    [1, 2, 3],
    [2, 2, 3],
    [2, 2, 4],
    [2, 3, 4],
    [2, 3, 4],
    [3, 3, 5],
    [3, 4, 6],
    [3, 4, 6],
    [4, 5, 7], // 40
    [4, 5, 8],
    [4, 6, 9],
    [5, 7, 10],
    [6, 8, 11],
    [6, 8, 13],
    [7, 10, 14],
    [8, 11, 16],
    [9, 12, 18],
    [10, 13, 20],
    [11, 15, 23], // 50
    [13, 17, 25],
];

/// Boundary strengths of one macroblock (8.7.2.1): `v[e][s]` for the
/// vertical edge at x = 4e, rows 4s..4s+3; `h[e][s]` for the horizontal edge
/// at y = 4e, columns 4s..4s+3. Left / top macroblock edges that are not
/// filtered hold 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Strengths {
    v: [[u8; 4]; 4],
    h: [[u8; 4]; 4],
}

/// Thresholds of one edge (8.7.2.2), at bit depth 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Thresholds {
    alpha: i32,
    beta: i32,
    /// Row of Table 8-17 for indexA.
    tc0: [u8; 3],
}

impl Thresholds {
    /// indexA / indexB from qPav and the filter offsets (8.7.2.2).
    fn new(qp_av: i32, params: &DeblockParams) -> Thresholds {
        let index_a = qp_av.saturating_add(params.offset_a).clamp(0, 51) as usize;
        let index_b = qp_av.saturating_add(params.offset_b).clamp(0, 51) as usize;
        Thresholds {
            alpha: i32::from(ALPHA[index_a]),
            beta: i32::from(BETA[index_b]),
            tc0: TC0[index_a],
        }
    }

    /// Thresholds for an edge between macroblocks of QP `qp_p` and `qp_q`
    /// (qPav, 8.7.2.2); the filter looks them up in a [`ThresholdTable`].
    #[cfg(test)]
    fn between(qp_p: i32, qp_q: i32, params: &DeblockParams) -> Thresholds {
        Thresholds::new((qp_p + qp_q + 1) >> 1, params)
    }

    /// No sample can pass filterSamplesFlag (8.7.2.2) when α or β is 0.
    fn filters_nothing(&self) -> bool {
        self.alpha == 0 || self.beta == 0
    }

    /// tC0 for bS 1..=3 (Table 8-17).
    #[cfg(test)]
    fn tc0_for(&self, bs: u8) -> i32 {
        i32::from(self.tc0[usize::from(bs.clamp(1, 3)) - 1])
    }
}

/// The [`Thresholds`] of every qPav (0..=51) for one set of filter
/// offsets, so that each edge looks its thresholds up (8.7.2.2).
struct ThresholdTable {
    by_qp_av: [Thresholds; 52],
}

impl ThresholdTable {
    fn new(params: &DeblockParams) -> ThresholdTable {
        ThresholdTable {
            by_qp_av: std::array::from_fn(|q| Thresholds::new(q as i32, params)),
        }
    }

    /// [`Thresholds::between`] macroblocks of QP `qp_p` and `qp_q`, both in
    /// 0..=51.
    #[inline(always)]
    fn between(&self, qp_p: i32, qp_q: i32) -> &Thresholds {
        &self.by_qp_av[((qp_p + qp_q + 1) >> 1).clamp(0, 51) as usize]
    }
}

/// luma4x4BlkIdx of the 4×4 block at column `bx`, row `by` (6.4.3).
fn blk_idx(bx: usize, by: usize) -> usize {
    (by / 2) * 8 + (bx / 2) * 4 + (by % 2) * 2 + (bx % 2)
}

/// mbPartIdx of the 8×8 partition holding the 4×4 block at (`bx`, `by`).
fn part_idx(bx: usize, by: usize) -> usize {
    (by / 2) * 2 + bx / 2
}

/// bS for the edge between luma 4×4 block `pb` of macroblock `p` and block
/// `qb` of `q`, blocks given as (column, row) inside their macroblock
/// (8.7.2.1, frame macroblocks, no MBAFF, P prediction).
fn boundary_strength(
    p: &MbDeblockInfo,
    pb: (usize, usize),
    q: &MbDeblockInfo,
    qb: (usize, usize),
    mb_edge: bool,
) -> u8 {
    if p.intra || q.intra {
        return if mb_edge { 4 } else { 3 };
    }
    let coded =
        |mb: &MbDeblockInfo, (bx, by): (usize, usize)| (mb.nonzero >> blk_idx(bx, by)) & 1 != 0;
    if coded(p, pb) || coded(q, qb) {
        return 2;
    }
    u8::from(motion_differs(p, pb, q, qb))
}

/// The bS = 1 test of 8.7.2.1 for one motion vector per partition: different
/// reference pictures or numbers of motion vectors, or a vector component
/// differing by 4 or more quarter luma samples. `ref_idx` values of one slice
/// name the same picture exactly when they are equal.
fn motion_differs(
    p: &MbDeblockInfo,
    (pbx, pby): (usize, usize),
    q: &MbDeblockInfo,
    (qbx, qby): (usize, usize),
) -> bool {
    let (rp, rq) = (p.ref_idx[part_idx(pbx, pby)], q.ref_idx[part_idx(qbx, qby)]);
    if rp != rq {
        return true;
    }
    if rp < 0 {
        return false; // no motion vector on either side
    }
    let (mp, mq) = (p.mv[blk_idx(pbx, pby)], q.mv[blk_idx(qbx, qby)]);
    let far = |a: i16, b: i16| (i32::from(a) - i32::from(b)).abs() >= 4;
    far(mp[0], mq[0]) || far(mp[1], mq[1])
}

/// All boundary strengths of macroblock `cur` (8.7.2.1), with its left and
/// top neighbours when those edges are filtered.
fn strengths(
    cur: &MbDeblockInfo,
    left: Option<&MbDeblockInfo>,
    top: Option<&MbDeblockInfo>,
) -> Strengths {
    // 8.7.2.1: 3 throughout an intra macroblock; with one motion, 2 where a
    // side has levels and 0 elsewhere.
    let inner = if cur.intra {
        Inner::Uniform(3)
    } else if !one_motion(cur) {
        Inner::PerBlock
    } else if cur.nonzero == 0 {
        Inner::Uniform(0)
    } else {
        Inner::ByLevels(raster_levels(cur.nonzero))
    };
    Strengths {
        v: direction_strengths(cur, left, inner, |e, i| (e, i)),
        h: direction_strengths(cur, top, inner, |e, i| (i, e)),
    }
}

/// How the internal edges of a macroblock get their bS.
#[derive(Clone, Copy)]
enum Inner {
    /// Every internal edge has this bS (an intra macroblock, or one motion
    /// and no levels).
    Uniform(u8),
    /// An inter macroblock with one reference and one vector: 2 where a
    /// block on either side has levels, else 0 (8.7.2.1: the motion is the
    /// same on both sides). Bit 4·row + column is set for a block with levels.
    ByLevels(u16),
    /// The rule for each pair of blocks ([`boundary_strength`]).
    PerBlock,
}

/// Whether an inter macroblock's 4×4 blocks share one reference and one
/// vector.
#[inline(always)]
fn one_motion(m: &MbDeblockInfo) -> bool {
    !m.intra && one_ref(m) && (m.ref_idx[0] < 0 || one_mv(m))
}

/// `nonzero` (bit luma4x4BlkIdx) with bit 4·row + column per block: the
/// index's bits are (column 0, row 0, column 1, row 1) from the lowest
/// (6.4.3), the raster position's (column 0, column 1, row 0, row 1), so
/// index bits 1 and 2 trade places.
#[inline(always)]
fn raster_levels(nonzero: u16) -> u16 {
    // Bits whose index has bit 1 set and bit 2 clear (2, 3, 10, 11) swap
    // with those 2 above them.
    let t = (nonzero ^ nonzero >> 2) & 0x0c0c;
    nonzero ^ t ^ t << 2
}

/// Whether the macroblock's partitions all use one reference index.
#[inline(always)]
fn one_ref(m: &MbDeblockInfo) -> bool {
    m.ref_idx.iter().all(|&r| r == m.ref_idx[0])
}

/// Whether the macroblock's 4×4 blocks all have one vector (compared
/// element by element: an array `==` calls the C library here).
#[inline(always)]
fn one_mv(m: &MbDeblockInfo) -> bool {
    m.mv.iter().all(|&v| v == m.mv[0])
}

/// bS rows of the four edges of one direction (8.7.2.1): `at(e, i)` is the
/// (column, row) of the 4×4 block right of / below edge `e` on line block
/// `i`; `nb` is the neighbour across edge 0 (not filtered when `None`),
/// `inner` how the internal edges get theirs ([`Inner`]).
#[inline(always)]
fn direction_strengths(
    cur: &MbDeblockInfo,
    nb: Option<&MbDeblockInfo>,
    inner: Inner,
    at: impl Fn(usize, usize) -> (usize, usize),
) -> [[u8; 4]; 4] {
    let mut rows = [[0; 4]; 4];
    if let Some(n) = nb {
        rows[0] = if n.intra || cur.intra {
            [4; 4]
        } else {
            std::array::from_fn(|i| boundary_strength(n, at(3, i), cur, at(0, i), true))
        };
    }
    for (e, row) in rows.iter_mut().enumerate().skip(1) {
        *row = match inner {
            Inner::Uniform(b) => [b; 4],
            Inner::ByLevels(coded) => std::array::from_fn(|i| {
                let bit = |(bx, by): (usize, usize)| (coded >> (4 * by + bx)) & 1;
                2 * (bit(at(e - 1, i)) | bit(at(e, i))) as u8
            }),
            Inner::PerBlock => {
                std::array::from_fn(|i| boundary_strength(cur, at(e - 1, i), cur, at(e, i), false))
            }
        };
    }
    rows
}

/// How a macroblock's 4×4 blocks move, as the boundary strengths of
/// 8.7.2.1 read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Motion {
    /// Intra-coded: bS 3 or 4 on every edge it touches.
    #[default]
    Intra,
    /// Inter, one reference index and one vector for every block (or no
    /// vector at all, reference index −1).
    One,
    /// Inter with blocks of different motion: the rule block by block.
    Mixed,
}

/// What the boundary strengths and thresholds of 8.7.2 read of one
/// macroblock, found once per picture: its levels as a raster mask, its one
/// motion where it has one, and its QPs clamped for the threshold tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Summary {
    motion: Motion,
    /// Bit 4·row + column set for a 4×4 luma block with levels.
    coded: u16,
    /// The vector of every block ([`Motion::One`] with a reference index ≥ 0).
    mv: [i16; 2],
    /// The reference index of every partition ([`Motion::One`]).
    ref_idx: i8,
    /// QPY clamped to 0..=51.
    qp: u8,
    /// QPC (Table 8-15) of that QPY with chroma_qp_index_offset.
    qpc: u8,
}

impl Summary {
    fn of(m: &MbDeblockInfo, chroma_qp_offset: i32) -> Summary {
        let motion = if m.intra {
            Motion::Intra
        } else if one_motion(m) {
            Motion::One
        } else {
            Motion::Mixed
        };
        let ref_idx = m.ref_idx[0];
        Summary {
            motion,
            coded: raster_levels(m.nonzero),
            mv: if ref_idx >= 0 { m.mv[0] } else { [0; 2] },
            ref_idx,
            qp: luma_qp(m, 0) as u8,
            qpc: chroma_qp_of(m, chroma_qp_offset) as u8,
        }
    }

    /// [`Summary::of`] every macroblock, side by side when the pool has
    /// several threads.
    fn of_all(mbs: &[MbDeblockInfo], chroma_qp_offset: i32) -> Vec<Summary> {
        if rayon::current_num_threads() < 2 {
            return mbs
                .iter()
                .map(|m| Summary::of(m, chroma_qp_offset))
                .collect();
        }
        mbs.par_iter()
            .with_min_len(256)
            .map(|m| Summary::of(m, chroma_qp_offset))
            .collect()
    }
}

/// The bS of four lines across a macroblock edge (8.7.2.1) as the bytes
/// of a `u32`, line 0 in the lowest.
type EdgeBs = u32;

/// Moves bits 0, 4, 8 and 12 of `mask` (a column of a raster block mask)
/// to bit 0 of bytes 0..4.
#[inline(always)]
fn column_bytes(mask: u16) -> EdgeBs {
    let m = u32::from(mask);
    (m & 1) | (m & 0x10) << 4 | (m & 0x100) << 8 | (m & 0x1000) << 12
}

/// Moves bits 0..4 of `mask` (a row of a raster block mask) to bit 0 of
/// bytes 0..4.
#[inline(always)]
fn row_bytes(mask: u16) -> EdgeBs {
    let m = u32::from(mask);
    (m & 1) | (m & 2) << 7 | (m & 4) << 14 | (m & 8) << 21
}

/// bS of a macroblock edge between inter macroblocks with one motion each
/// (8.7.2.1): 2 on lines where a side has levels (`coded`: bit 0 of each
/// byte), else 1 where the motion differs.
#[inline(always)]
fn inter_edge_bs(coded: EdgeBs, p: &Summary, q: &Summary) -> EdgeBs {
    let far = |a: i16, b: i16| (i32::from(a) - i32::from(b)).abs() >= 4;
    let differs = p.ref_idx != q.ref_idx
        || (p.ref_idx >= 0 && (far(p.mv[0], q.mv[0]) || far(p.mv[1], q.mv[1])));
    let ones = if differs { 0x0101_0101 } else { 0 };
    coded << 1 | (ones & !coded)
}

/// [`strengths`] from summaries, where no macroblock involved has
/// [`Motion::Mixed`] (`None` there): with whole masks instead of block by
/// block.
#[inline(always)]
fn summary_strengths(
    cur: &Summary,
    left: Option<&Summary>,
    top: Option<&Summary>,
) -> Option<Strengths> {
    let mixed = |s: Option<&Summary>| s.is_some_and(|s| s.motion == Motion::Mixed);
    if cur.motion == Motion::Mixed || mixed(left) || mixed(top) {
        return None;
    }
    let intra = cur.motion == Motion::Intra;
    // Edge 0 against a neighbour: 4 with an intra side, else by levels
    // (the cur column / row 0 against the neighbour's 3) and motion.
    let across = |nb: Option<&Summary>, coded: fn(&Summary, &Summary) -> EdgeBs| {
        nb.map_or(0, |n| {
            if intra || n.motion == Motion::Intra {
                0x0404_0404
            } else {
                inter_edge_bs(coded(cur, n), n, cur)
            }
        })
    };
    let v0 = across(left, |c, n| {
        column_bytes(c.coded & 0x1111 | n.coded >> 3 & 0x1111)
    });
    let h0 = across(top, |c, n| row_bytes(c.coded & 0xf | n.coded >> 12));
    // Internal edges: 3 when intra, else 2 where a side has levels (one
    // motion on both sides).
    let inner = |e: usize, bytes: fn(u16) -> EdgeBs, step: usize| {
        if intra {
            0x0303_0303
        } else {
            let m = cur.coded >> (step * (e - 1)) | cur.coded >> (step * e);
            bytes(m) << 1
        }
    };
    let v = [
        v0,
        inner(1, |m| column_bytes(m & 0x1111), 1),
        inner(2, |m| column_bytes(m & 0x1111), 1),
        inner(3, |m| column_bytes(m & 0x1111), 1),
    ];
    let h = [
        h0,
        inner(1, |m| row_bytes(m & 0xf), 4),
        inner(2, |m| row_bytes(m & 0xf), 4),
        inner(3, |m| row_bytes(m & 0xf), 4),
    ];
    Some(Strengths {
        v: v.map(u32::to_le_bytes),
        h: h.map(u32::to_le_bytes),
    })
}

/// Lines filtered together: 16 luma lines of one edge, or 8 Cb and 8 Cr lines.
const LANES: usize = 16;

/// Samples across one macroblock's vertical edges, transposed: `strip[k][l]`
/// is sample k across the edges on line (row) l. Entries 0..4 lie in the
/// left neighbour, entry 4 is the macroblock's first column; edge e of a
/// plane with 4-sample edge spacing has p3..q3 at 4e..4e+8. Horizontal edges
/// need no strip: their lines are the columns of whole rows.
type Strip<const K: usize> = [[u8; LANES]; K];

/// p3, p2, p1, p0, q0, q1, q2, q3 of every lane across one edge.
type Window = [[u8; LANES]; 8];

/// Per-lane inputs of one edge (8.7.2.2): bS, tC0 (Table 8-17; 0 where
/// bS is 0 or 4), α and β.
struct LaneParams {
    /// Some lane has bS 4, some lane has bS 1..=3.
    any_strong: bool,
    any_normal: bool,
    bs: [u8; LANES],
    tc0: [i16; LANES],
    alpha: i16,
    beta: i16,
}

impl LaneParams {
    /// Spreads the four bS values of an edge over the lanes, `LINES`
    /// consecutive lanes each (wrapping after 4 × `LINES` lanes).
    #[inline(always)]
    fn new<const LINES: usize>(t: &Thresholds, bs: &[u8; 4]) -> LaneParams {
        // tC0 by bS (masked to 0..8): Table 8-17 for 1..=3, else 0.
        let by_bs = [0, t.tc0[0], t.tc0[1], t.tc0[2], 0, 0, 0, 0];
        let tc0 = bs.map(|b| by_bs[usize::from(b & 7)]);
        LaneParams {
            any_strong: bs.contains(&4),
            any_normal: bs.iter().any(|b| (1..4).contains(b)),
            bs: spread::<LINES>(*bs),
            tc0: spread::<LINES>(tc0).map(i16::from),
            alpha: t.alpha as i16,
            beta: t.beta as i16,
        }
    }
}

/// Lane l holds `v[(l / LINES) % 4]`.
#[inline(always)]
fn spread<const LINES: usize>(v: [u8; 4]) -> [u8; LANES] {
    let mut out = [0; LANES];
    for (lines, &b) in out.chunks_exact_mut(LINES).zip(v.iter().cycle()) {
        lines.fill(b);
    }
    out
}

/// Clip1Y / Clip1C at bit depth 8.
#[inline(always)]
fn clip1(v: i16) -> i16 {
    v.clamp(0, 255)
}

/// Clip3(−c, c, v) for c ≥ 0, without `clamp`'s panic path.
#[inline(always)]
fn clip_pm(v: i16, c: i16) -> i16 {
    v.max(-c).min(c)
}

/// filterSamplesFlag (8.7.2.2): bS ≠ 0, |p0 − q0| < α, |p1 − p0| < β, |q1 − q0| < β.
#[inline(always)]
fn filter_samples(bs: u8, [p1, p0, q0, q1]: [i16; 4], alpha: i16, beta: i16) -> bool {
    (bs != 0) & ((p0 - q0).abs() < alpha) & ((p1 - p0).abs() < beta) & ((q1 - q0).abs() < beta)
}

/// Δ of 8.7.2.3, clipped to ±tC.
#[inline(always)]
fn delta(p1: i16, p0: i16, q0: i16, q1: i16, tc: i16) -> i16 {
    clip_pm((((q0 - p0) << 2) + (p1 - q1) + 4) >> 3, tc)
}

/// Luma bS < 4 (8.7.2.3, chromaStyleFilteringFlag = 0): new p1, p0, q0, q1.
#[inline(always)]
fn luma_normal(s: [i16; 6], ap: bool, aq: bool, tc0: i16) -> [i16; 4] {
    let [p2, p1, p0, q0, q1, q2] = s;
    let tc = tc0 + i16::from(ap) + i16::from(aq);
    let d = delta(p1, p0, q0, q1, tc);
    let avg = (p0 + q0 + 1) >> 1;
    let dp1 = clip_pm((p2 + avg - (p1 << 1)) >> 1, tc0);
    let dq1 = clip_pm((q2 + avg - (q1 << 1)) >> 1, tc0);
    [
        if ap { p1 + dp1 } else { p1 },
        clip1(p0 + d),
        clip1(q0 - d),
        if aq { q1 + dq1 } else { q1 },
    ]
}

/// Luma bS = 4 (8.7.2.4, chromaStyleFilteringFlag = 0): new p2..q2.
#[inline(always)]
fn luma_strong(s: [i16; 8], ap: bool, aq: bool, alpha: i16) -> [i16; 6] {
    let [p3, p2, p1, p0, q0, q1, q2, q3] = s;
    let strong = (p0 - q0).abs() < (alpha >> 2) + 2;
    let (sp, sq) = (ap & strong, aq & strong);
    [
        if sp {
            (2 * p3 + 3 * p2 + p1 + p0 + q0 + 4) >> 3
        } else {
            p2
        },
        if sp { (p2 + p1 + p0 + q0 + 2) >> 2 } else { p1 },
        if sp {
            (p2 + 2 * p1 + 2 * p0 + 2 * q0 + q1 + 4) >> 3
        } else {
            (2 * p1 + p0 + q1 + 2) >> 2
        },
        if sq {
            (p1 + 2 * p0 + 2 * q0 + 2 * q1 + q2 + 4) >> 3
        } else {
            (2 * q1 + q0 + p1 + 2) >> 2
        },
        if sq { (p0 + q0 + q1 + q2 + 2) >> 2 } else { q1 },
        if sq {
            (2 * q3 + 3 * q2 + q1 + q0 + p0 + 4) >> 3
        } else {
            q2
        },
    ]
}

/// Samples p3..q3 of lane `l`, widened.
#[inline(always)]
fn lane(w: &Window, l: usize) -> [i16; 8] {
    [
        i16::from(w[0][l]),
        i16::from(w[1][l]),
        i16::from(w[2][l]),
        i16::from(w[3][l]),
        i16::from(w[4][l]),
        i16::from(w[5][l]),
        i16::from(w[6][l]),
        i16::from(w[7][l]),
    ]
}

/// Writes p2..q2 of lane `l` where `on`, else leaves the lane as it was.
/// Every filtered value lies in 0..=255 (8.7.2.3, 8.7.2.4).
#[inline(always)]
fn set_lane(w: &mut Window, l: usize, on: bool, old: [i16; 8], new: [i16; 6]) {
    for k in 0..6 {
        w[k + 1][l] = if on { new[k] } else { old[k + 1] } as u8;
    }
}

/// Filters the lanes of a luma edge that have bS 1..=3 (8.7.2.2, 8.7.2.3),
/// branch-free so that the lanes are computed side by side.
#[inline(always)]
fn filter_luma_normal(w: &mut Window, lp: &LaneParams) {
    for l in 0..LANES {
        let s = lane(w, l);
        let [_, p2, p1, p0, q0, q1, q2, _] = s;
        let bs = lp.bs[l];
        let on = (bs < 4) & filter_samples(bs, [p1, p0, q0, q1], lp.alpha, lp.beta);
        let ap = (p2 - p0).abs() < lp.beta;
        let aq = (q2 - q0).abs() < lp.beta;
        let [n1, n0, m0, m1] = luma_normal([p2, p1, p0, q0, q1, q2], ap, aq, lp.tc0[l]);
        set_lane(w, l, on, s, [p2, n1, n0, m0, m1, q2]);
    }
}

/// Filters the lanes of a luma edge that have bS 4 (8.7.2.2, 8.7.2.4).
#[inline(always)]
fn filter_luma_strong(w: &mut Window, lp: &LaneParams) {
    for l in 0..LANES {
        let s = lane(w, l);
        let [_, p2, p1, p0, q0, q1, q2, _] = s;
        let bs = lp.bs[l];
        let on = (bs == 4) & filter_samples(bs, [p1, p0, q0, q1], lp.alpha, lp.beta);
        let ap = (p2 - p0).abs() < lp.beta;
        let aq = (q2 - q0).abs() < lp.beta;
        set_lane(w, l, on, s, luma_strong(s, ap, aq, lp.alpha));
    }
}

/// Filters a luma edge (8.7.2.2 to 8.7.2.4), with AVX2 where the CPU has it.
/// Kept out of line: inlined into the macroblock loop its lane loops are
/// no longer vectorised.
#[inline(never)]
fn filter_luma_lanes(w: &mut Window, t: &Thresholds, bs: &[u8; 4]) {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        // SAFETY: the CPU has AVX2; the window is borrowed here alone.
        unsafe { avx2::filter_luma_lanes(&avx2::WindowRows(w), t, bs) };
        return;
    }
    filter_luma_lanes_portable(w, t, bs);
}

/// [`filter_luma_lanes`] for any CPU. Edges are all bS 4 (macroblock edges
/// with an intra side) or all below 4, so usually one pass runs.
#[inline(always)]
fn filter_luma_lanes_portable(w: &mut Window, t: &Thresholds, bs: &[u8; 4]) {
    let lp = &LaneParams::new::<4>(t, bs);
    if lp.any_strong {
        filter_luma_strong(w, lp);
    }
    if lp.any_normal {
        filter_luma_normal(w, lp);
    }
}

/// Filters a chroma edge (8.7.2.2 to 8.7.2.4), with AVX2 where the CPU has
/// it; out of line like [`filter_luma_lanes`].
#[inline(never)]
fn filter_chroma_lanes(w: &mut Window, t: &Thresholds, bs: &[u8; 4]) {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        // SAFETY: the CPU has AVX2; the window is borrowed here alone.
        unsafe { avx2::filter_chroma_lanes(&avx2::WindowRows(w), t, bs) };
        return;
    }
    filter_chroma_lanes_portable(w, t, bs);
}

/// The macroblock filter compiled for AVX2 (the portable code, so the same
/// results, with three-operand SSE instructions), and the lane filters
/// written out in AVX2: 16 lanes of i16 in one register, each filter
/// computed only where some lane needs it.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::sse2::Halves;
    use super::{FrameView, MbSite, SiteQp, ThresholdTable, Thresholds, Window};
    use std::arch::x86_64::*;

    /// Whether the CPU has AVX2 (detected once, then cached by std).
    #[inline(always)]
    pub(super) fn available() -> bool {
        std::arch::is_x86_feature_detected!("avx2")
    }

    /// [`super::filter_luma_lanes_portable`] written out in AVX2 (16 lanes of
    /// i16): both filters of 8.7.2.3 and 8.7.2.4 for every lane, each kept
    /// where its bS and filterSamplesFlag say (lanes are independent, so one
    /// pass equals the portable strong-then-normal passes).
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn filter_luma_lanes<R: Rows>(w: &R, t: &Thresholds, bs: &[u8; 4]) {
        let row = |k: usize| lane_row(w, k);
        let (p2, p1, p0, q0, q1, q2) = (row(1), row(2), row(3), row(4), row(5), row(6));
        // bS of lane l is bs[l / 4].
        let spread = _mm_setr_epi8(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
        let Some(e) = edge_lanes(t, bs, spread, [p1, p0, q0, q1]) else {
            return;
        };
        let (tc0, alpha, beta, on) = (e.tc0, e.alpha, e.beta, e.on);
        let four = _mm256_set1_epi16(4);
        let strong_lane = _mm256_cmpeq_epi16(e.bs, four);
        let (normal_on, strong_on) = (
            _mm256_andnot_si256(strong_lane, on),
            _mm256_and_si256(strong_lane, on),
        );
        let (ap, aq) = (below(gap(p2, p0), beta), below(gap(q2, q0), beta));
        let clip = |v, c| _mm256_min_epi16(_mm256_max_epi16(v, _mm256_sub_epi16(zero(), c)), c);
        let (add, sub) = (|a, b| _mm256_add_epi16(a, b), |a, b| _mm256_sub_epi16(a, b));
        let mut out = [p2, p1, p0, q0, q1, q2];
        if _mm256_movemask_epi8(normal_on) != 0 {
            // bS < 4 (8.7.2.3): tC = tC0 + ap + aq (the masks are −1 where set).
            let delta = delta(p1, p0, q0, q1, sub(sub(tc0, ap), aq));
            let avg = _mm256_srai_epi16(add(add(p0, q0), _mm256_set1_epi16(1)), 1);
            let side = |x2, x1| {
                add(
                    x1,
                    clip(_mm256_srai_epi16(sub(add(x2, avg), add(x1, x1)), 1), tc0),
                )
            };
            let new = [
                p2,
                _mm256_blendv_epi8(p1, side(p2, p1), ap),
                clip1(add(p0, delta)),
                clip1(sub(q0, delta)),
                _mm256_blendv_epi8(q1, side(q2, q1), aq),
                q2,
            ];
            out = std::array::from_fn(|k| _mm256_blendv_epi8(out[k], new[k], normal_on));
        }
        if _mm256_movemask_epi8(strong_on) != 0 {
            // bS = 4 (8.7.2.4).
            let (p3, q3) = (row(0), row(7));
            let near = below(
                gap(p0, q0),
                add(_mm256_srai_epi16(alpha, 2), _mm256_set1_epi16(2)),
            );
            let (sp, sq) = (_mm256_and_si256(ap, near), _mm256_and_si256(aq, near));
            let (two, pq) = (_mm256_set1_epi16(2), add(p0, q0));
            let x2 = |v| add(v, v);
            let eighth = |v| _mm256_srai_epi16(v, 3);
            let quarter = |v| _mm256_srai_epi16(v, 2);
            let new = [
                _mm256_blendv_epi8(
                    p2,
                    eighth(add(add(x2(p3), add(x2(p2), p2)), add(add(p1, pq), four))),
                    sp,
                ),
                _mm256_blendv_epi8(p1, quarter(add(add(p2, p1), add(pq, two))), sp),
                _mm256_blendv_epi8(
                    quarter(add(add(x2(p1), p0), add(q1, two))),
                    eighth(add(add(add(p2, x2(p1)), x2(pq)), add(q1, four))),
                    sp,
                ),
                _mm256_blendv_epi8(
                    quarter(add(add(x2(q1), q0), add(p1, two))),
                    eighth(add(add(add(p1, x2(pq)), x2(q1)), add(q2, four))),
                    sq,
                ),
                _mm256_blendv_epi8(q1, quarter(add(add(pq, q1), add(q2, two))), sq),
                _mm256_blendv_epi8(
                    q2,
                    eighth(add(add(x2(q3), add(x2(q2), q2)), add(add(q1, pq), four))),
                    sq,
                ),
            ];
            out = std::array::from_fn(|k| _mm256_blendv_epi8(out[k], new[k], strong_on));
        }
        // Rows 1..=6 (p2..q2) are written back.
        for (k, pair) in out.chunks_exact(2).enumerate() {
            store_rows(w, 1 + 2 * k, pair[0], pair[1]);
        }
    }

    /// [`super::filter_chroma_lanes_portable`] written out in AVX2 (16 lanes
    /// of i16, two lines per bS): only p0 and q0 change (8.7.2.3 with tC =
    /// tC0 + 1, 8.7.2.4's chroma form).
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn filter_chroma_lanes<R: Rows>(w: &R, t: &Thresholds, bs: &[u8; 4]) {
        let row = |k: usize| lane_row(w, k);
        let (p1, p0, q0, q1) = (row(2), row(3), row(4), row(5));
        // bS of lane l is bs[(l / 2) % 4].
        let spread = _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 1, 1, 2, 2, 3, 3);
        let Some(e) = edge_lanes(t, bs, spread, [p1, p0, q0, q1]) else {
            return;
        };
        let (add, two, four) = (
            |a, b| _mm256_add_epi16(a, b),
            _mm256_set1_epi16(2),
            _mm256_set1_epi16(4),
        );
        let delta = delta(p1, p0, q0, q1, add(e.tc0, _mm256_set1_epi16(1)));
        let strong = _mm256_cmpeq_epi16(e.bs, four);
        let n_p0 = _mm256_blendv_epi8(
            clip1(add(p0, delta)),
            _mm256_srai_epi16(add(add(add(p1, p1), p0), add(q1, two)), 2),
            strong,
        );
        let n_q0 = _mm256_blendv_epi8(
            clip1(_mm256_sub_epi16(q0, delta)),
            _mm256_srai_epi16(add(add(add(q1, q1), q0), add(p1, two)), 2),
            strong,
        );
        // Rows 3 and 4 (p0, q0) are written back.
        let (n_p0, n_q0) = (
            _mm256_blendv_epi8(p0, n_p0, e.on),
            _mm256_blendv_epi8(q0, n_q0, e.on),
        );
        store_rows(w, 3, n_p0, n_q0);
    }

    /// The 8 rows of 16 lanes across one edge (p3 = row 0 … q3 = row 7)
    /// where a lane filter reads and writes them.
    pub(super) trait Rows {
        /// The 16 samples of row `k` (0..8).
        ///
        /// # Safety
        /// The row must be readable.
        unsafe fn load(&self, k: usize) -> __m128i;
        /// Writes the 16 samples of row `k` (0..8).
        ///
        /// # Safety
        /// The row must be writable and not borrowed elsewhere.
        unsafe fn store(&self, k: usize, v: __m128i);
    }

    /// A [`Window`] on the stack.
    pub(super) struct WindowRows(pub(super) *mut Window);

    impl Rows for WindowRows {
        #[inline(always)]
        unsafe fn load(&self, k: usize) -> __m128i {
            _mm_loadu_si128((*self.0)[k].as_ptr().cast())
        }
        #[inline(always)]
        unsafe fn store(&self, k: usize, v: __m128i) {
            _mm_storeu_si128((*self.0)[k].as_mut_ptr().cast(), v)
        }
    }

    /// 16 samples of 8 rows of a plane, from `at` on, rows `stride` apart
    /// (a horizontal luma edge in place).
    pub(super) struct PlaneRows {
        pub(super) at: *mut u8,
        pub(super) stride: usize,
    }

    impl Rows for PlaneRows {
        #[inline(always)]
        unsafe fn load(&self, k: usize) -> __m128i {
            _mm_loadu_si128(self.at.add(k * self.stride).cast())
        }
        #[inline(always)]
        unsafe fn store(&self, k: usize, v: __m128i) {
            _mm_storeu_si128(self.at.add(k * self.stride).cast(), v)
        }
    }

    /// 8 samples of 8 rows of each chroma plane (Cb in lanes 0..8, Cr in
    /// lanes 8..16), from `at` on, rows `stride` apart (a horizontal chroma
    /// edge in place).
    pub(super) struct ChromaRows {
        pub(super) at: [*mut u8; 2],
        pub(super) stride: [usize; 2],
    }

    impl Rows for ChromaRows {
        #[inline(always)]
        unsafe fn load(&self, k: usize) -> __m128i {
            let half = |c: usize| _mm_loadl_epi64(self.at[c].add(k * self.stride[c]).cast());
            _mm_unpacklo_epi64(half(0), half(1))
        }
        #[inline(always)]
        unsafe fn store(&self, k: usize, v: __m128i) {
            _mm_storel_epi64(self.at[0].add(k * self.stride[0]).cast(), v);
            _mm_storel_epi64(
                self.at[1].add(k * self.stride[1]).cast(),
                _mm_unpackhi_epi64(v, v),
            );
        }
    }

    /// Row `k` of an edge's rows in 16-bit lanes.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn lane_row<R: Rows>(w: &R, k: usize) -> __m256i {
        _mm256_cvtepu8_epi16(w.load(k))
    }

    /// Writes two rows of lanes, each within 0..=255, as rows `k` and
    /// `k + 1` of an edge's rows.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn store_rows<R: Rows>(w: &R, k: usize, a: __m256i, b: __m256i) {
        let bytes = _mm256_permute4x64_epi64(_mm256_packus_epi16(a, b), 0b11_01_10_00);
        w.store(k, _mm256_castsi256_si128(bytes));
        w.store(k + 1, _mm256_extracti128_si256(bytes, 1));
    }

    /// The per-lane inputs of an edge (8.7.2.2).
    struct EdgeLanes {
        bs: __m256i,
        /// Table 8-17 by bS (0 for bS 0 and 4).
        tc0: __m256i,
        alpha: __m256i,
        beta: __m256i,
        /// filterSamplesFlag.
        on: __m256i,
    }

    /// [`EdgeLanes`] of an edge whose lane l takes `bs[spread[l]]`, from its
    /// p1, p0, q0 and q1 rows; `None` where no lane passes filterSamplesFlag
    /// (the edge keeps every sample).
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn edge_lanes(
        t: &Thresholds,
        bs: &[u8; 4],
        spread: __m128i,
        [p1, p0, q0, q1]: [__m256i; 4],
    ) -> Option<EdgeLanes> {
        let bs8 = _mm_shuffle_epi8(_mm_cvtsi32_si128(i32::from_le_bytes(*bs)), spread);
        let [t1, t2, t3] = t.tc0.map(|v| v as i8);
        let by_bs = _mm_setr_epi8(0, t1, t2, t3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        let e = EdgeLanes {
            bs: _mm256_cvtepu8_epi16(bs8),
            tc0: _mm256_cvtepu8_epi16(_mm_shuffle_epi8(by_bs, bs8)),
            alpha: _mm256_set1_epi16(t.alpha as i16),
            beta: _mm256_set1_epi16(t.beta as i16),
            on: zero(),
        };
        let on = _mm256_and_si256(
            _mm256_and_si256(below(gap(p0, q0), e.alpha), below(gap(p1, p0), e.beta)),
            _mm256_andnot_si256(_mm256_cmpeq_epi16(e.bs, zero()), below(gap(q1, q0), e.beta)),
        );
        (_mm256_movemask_epi8(on) != 0).then_some(EdgeLanes { on, ..e })
    }

    /// Δ of 8.7.2.3, clipped to ±`tc`.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn delta(p1: __m256i, p0: __m256i, q0: __m256i, q1: __m256i, tc: __m256i) -> __m256i {
        let d = _mm256_add_epi16(
            _mm256_slli_epi16(_mm256_sub_epi16(q0, p0), 2),
            _mm256_add_epi16(_mm256_sub_epi16(p1, q1), _mm256_set1_epi16(4)),
        );
        let d = _mm256_srai_epi16(d, 3);
        _mm256_min_epi16(_mm256_max_epi16(d, _mm256_sub_epi16(zero(), tc)), tc)
    }

    /// |a − b| in 16-bit lanes.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn gap(a: __m256i, b: __m256i) -> __m256i {
        _mm256_abs_epi16(_mm256_sub_epi16(a, b))
    }

    /// Lanes where a < b.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn below(a: __m256i, b: __m256i) -> __m256i {
        _mm256_cmpgt_epi16(b, a)
    }

    /// Clip1 (8-bit) in 16-bit lanes.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn clip1(v: __m256i) -> __m256i {
        _mm256_min_epi16(_mm256_max_epi16(v, zero()), _mm256_set1_epi16(255))
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn zero() -> __m256i {
        _mm256_setzero_si256()
    }

    /// Three rounds of interleaving the bytes of registers i and i + 4 into
    /// registers 2i and 2i + 1 within each 128-bit half: each round rotates
    /// the 7-bit index (register, byte) of every byte left by one bit, so
    /// the register's 3 bits and the byte's top 3 trade places.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn interleave3(mut v: [__m256i; 8]) -> [__m256i; 8] {
        for _ in 0..3 {
            v = std::array::from_fn(|i| {
                let (a, b) = (v[i / 2], v[i / 2 + 4]);
                if i % 2 == 0 {
                    _mm256_unpacklo_epi8(a, b)
                } else {
                    _mm256_unpackhi_epi8(a, b)
                }
            });
        }
        v
    }

    /// [`super::sse2::load_columns16`] with AVX2. Register j starts with
    /// rows j and j + 8 in its halves; after [`interleave3`] register k's
    /// low half holds samples 0..8 of lines 2k and 2k + 1, its high half
    /// samples 8..16, which one 64-bit permutation puts in line order.
    ///
    /// # Safety
    /// The CPU has AVX2; 16 bytes are readable at each row; `lines` has at
    /// least 16 entries.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(super) unsafe fn load_columns16(rows: Halves, lines: &mut [[u8; 16]]) {
        debug_assert!(lines.len() >= 16);
        let ((top, ts), (bottom, bs)) = (rows.top, rows.bottom);
        let v = std::array::from_fn(|j| {
            let lo = _mm_loadu_si128(top.add(j * ts).cast_const().cast());
            let hi = _mm_loadu_si128(bottom.add(j * bs).cast_const().cast());
            _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1)
        });
        let out = lines.as_mut_ptr().cast::<u8>();
        for (k, x) in interleave3(v).into_iter().enumerate() {
            let pair = _mm256_permute4x64_epi64(x, 0b11_01_10_00);
            _mm256_storeu_si256(out.add(32 * k).cast(), pair);
        }
    }

    /// [`super::sse2::store_columns16`] with AVX2: register k starts with
    /// lines 2k and 2k + 1; after [`interleave3`] its halves hold the odd and
    /// even samples of rows 2k and 2k + 1 (by 64-bit quarters), which a
    /// permutation and a byte shuffle put in order.
    ///
    /// # Safety
    /// The CPU has AVX2; 16 bytes are writable at each row; `lines` has at
    /// least 16 entries.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(super) unsafe fn store_columns16(lines: &[[u8; 16]], rows: Halves) {
        debug_assert!(lines.len() >= 16);
        let at = lines.as_ptr().cast::<u8>();
        let v = std::array::from_fn(|k| _mm256_loadu_si256(at.add(32 * k).cast()));
        let zip = _mm256_setr_epi8(
            0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12,
            5, 13, 6, 14, 7, 15,
        );
        let out = interleave3(v);
        // Registers 0..4 hold rows 0..8 (the top half), 4..8 rows 8..16.
        for (half, (p, stride)) in [rows.top, rows.bottom].into_iter().enumerate() {
            for (k, &x) in out[4 * half..4 * half + 4].iter().enumerate() {
                let rows2 = _mm256_shuffle_epi8(_mm256_permute4x64_epi64(x, 0b11_01_10_00), zip);
                let at = p.add(2 * k * stride);
                _mm_storeu_si128(at.cast(), _mm256_castsi256_si128(rows2));
                _mm_storeu_si128(at.add(stride).cast(), _mm256_extracti128_si256(rows2, 1));
            }
        }
    }

    /// [`super::filter_mb_portable`] with AVX2.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn filter_mb(
        frame: FrameView,
        site: &MbSite,
        luma: SiteQp,
        chroma: SiteQp,
        table: &ThresholdTable,
    ) {
        super::filter_mb_portable(frame, site, luma, chroma, table);
    }
}

/// Filters every lane of a chroma edge: chromaStyleFilteringFlag = 1, so only
/// p0 and q0 change (8.7.2.3 with tC = tC0 + 1; 8.7.2.4 simple form).
#[allow(clippy::needless_range_loop)] // `l` indexes the window rows and the lane inputs
#[inline(always)]
fn filter_chroma_lanes_portable(w: &mut Window, t: &Thresholds, bs: &[u8; 4]) {
    let lp = &LaneParams::new::<2>(t, bs);
    for l in 0..LANES {
        let (p1, p0) = (i16::from(w[2][l]), i16::from(w[3][l]));
        let (q0, q1) = (i16::from(w[4][l]), i16::from(w[5][l]));
        let bs = lp.bs[l];
        let on = filter_samples(bs, [p1, p0, q0, q1], lp.alpha, lp.beta);
        let d = delta(p1, p0, q0, q1, lp.tc0[l] + 1);
        let (n0, m0) = if bs == 4 {
            ((2 * p1 + p0 + q1 + 2) >> 2, (2 * q1 + q0 + p1 + 2) >> 2)
        } else {
            (clip1(p0 + d), clip1(q0 - d))
        };
        w[3][l] = if on { n0 } else { p0 } as u8;
        w[4][l] = if on { m0 } else { q0 } as u8;
    }
}

/// Where one plane's part of a strip of vertical edges lies: the
/// macroblock's top-left sample and the first strip entry present (0 with a
/// left neighbour, else 4).
#[derive(Clone, Copy)]
struct StripAt {
    stride: usize,
    x0: usize,
    y0: usize,
    k0: usize,
}

/// `LANES` lines of `LANES` samples each.
type Square = [[u8; LANES]; LANES];

/// `m` transposed: sample c of line r becomes sample r of line c.
#[inline(always)]
fn transpose(m: &Square) -> Square {
    #[cfg(target_arch = "x86_64")]
    {
        sse2::transpose(m)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        transpose_scalar(m)
    }
}

/// [`transpose`] one sample at a time.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))] // the reference for the SSE2 one
fn transpose_scalar(m: &Square) -> Square {
    std::array::from_fn(|c| std::array::from_fn(|r| m[r][c]))
}

/// [`transpose`] with SSE2, which every x86-64 CPU has.
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use super::{Square, LANES};
    use std::arch::x86_64::{
        __m128i, _mm_cvtsi32_si128, _mm_loadl_epi64, _mm_loadu_si128, _mm_storel_epi64,
        _mm_storeu_si128, _mm_unpackhi_epi16, _mm_unpackhi_epi32, _mm_unpackhi_epi64,
        _mm_unpackhi_epi8, _mm_unpacklo_epi16, _mm_unpacklo_epi32, _mm_unpacklo_epi64,
        _mm_unpacklo_epi8,
    };

    /// `m` transposed.
    #[inline(always)]
    pub(super) fn transpose(m: &Square) -> Square {
        let mut out = [[0u8; LANES]; LANES];
        // SAFETY: SSE2 is part of the x86_64 baseline; every load reads one
        // 16-byte line of `m` and every store writes one line of `out`.
        unsafe {
            let v = std::array::from_fn(|r| _mm_loadu_si128(m[r].as_ptr().cast()));
            store_lines(&mut out, transpose_regs(v));
        }
        out
    }

    /// Four rounds of interleaving the bytes of lines i and i + 8 into lines
    /// 2i and 2i + 1: each round rotates the 8-bit index (line, sample) of
    /// every byte left by one bit, so four swap line and sample.
    #[inline(always)]
    unsafe fn transpose_regs(mut v: [__m128i; LANES]) -> [__m128i; LANES] {
        for _ in 0..4 {
            v = std::array::from_fn(|i| {
                let (a, b) = (v[i / 2], v[i / 2 + 8]);
                if i % 2 == 0 {
                    _mm_unpacklo_epi8(a, b)
                } else {
                    _mm_unpackhi_epi8(a, b)
                }
            });
        }
        v
    }

    #[inline(always)]
    unsafe fn store_lines(lines: &mut [[u8; LANES]], v: [__m128i; LANES]) {
        for (line, x) in lines.iter_mut().zip(v) {
            _mm_storeu_si128(line.as_mut_ptr().cast(), x);
        }
    }

    /// Rows 0..8 at `top`, rows 8..16 at `bottom`, each half's rows
    /// `stride` apart (the halves of one plane, or a Cb and a Cr square).
    #[derive(Clone, Copy)]
    pub(super) struct Halves {
        pub(super) top: (*mut u8, usize),
        pub(super) bottom: (*mut u8, usize),
    }

    impl Halves {
        /// 16 rows of one plane from `p` on, `stride` apart.
        pub(super) fn of_plane(p: *mut u8, stride: usize) -> Halves {
            Halves {
                top: (p, stride),
                bottom: (p.wrapping_add(8 * stride), stride),
            }
        }

        #[inline(always)]
        pub(super) fn row(self, r: usize) -> *mut u8 {
            let ((p, stride), r) = if r < 8 {
                (self.top, r)
            } else {
                (self.bottom, r - 8)
            };
            p.wrapping_add(r * stride)
        }
    }

    /// The 16 samples from each of the rows of `rows` on, transposed into
    /// `lines`: line c holds sample c of every row. Caller: 16 bytes
    /// readable at each row; `lines` has 16 entries.
    #[inline(always)]
    pub(super) unsafe fn load_columns16(rows: Halves, lines: &mut [[u8; LANES]]) {
        let v = std::array::from_fn(|r| _mm_loadu_si128(rows.row(r).cast_const().cast()));
        store_lines(lines, transpose_regs(v));
    }

    /// Inverse of [`load_columns16`]: sample r of line c goes to byte c of
    /// row r. Caller: 16 bytes writable at each row; `lines` has 16
    /// entries.
    #[inline(always)]
    pub(super) unsafe fn store_columns16(lines: &[[u8; LANES]], rows: Halves) {
        let v = std::array::from_fn(|c| _mm_loadu_si128(lines[c].as_ptr().cast()));
        for (r, x) in transpose_regs(v).into_iter().enumerate() {
            _mm_storeu_si128(rows.row(r).cast(), x);
        }
    }

    /// The 8 samples from each of the 16 rows of `rows` on, transposed into
    /// the 8 lines of `lines`: line c holds sample c of every row. Pairs of
    /// rows are interleaved by bytes, then by 16, 32 and 64 bits. Caller: 8
    /// bytes readable at each row; `lines` has 8 entries.
    #[inline(always)]
    pub(super) unsafe fn load_columns8(rows: Halves, lines: &mut [[u8; LANES]]) {
        let r: [__m128i; 16] =
            std::array::from_fn(|k| _mm_loadl_epi64(rows.row(k).cast_const().cast()));
        // Samples 0..8 of rows 2i and 2i + 1, byte by byte.
        let t: [__m128i; 8] = std::array::from_fn(|i| _mm_unpacklo_epi8(r[2 * i], r[2 * i + 1]));
        // Entry 2j + h: samples 4h..4h + 4 of rows 4j..4j + 4, four rows a sample.
        let u: [__m128i; 8] =
            std::array::from_fn(|i| unpack(16, i % 2 == 0, t[i / 2 * 2], t[i / 2 * 2 + 1]));
        // Entry 4h + p: samples 2p, 2p + 1 of rows 8h..8h + 8, eight rows a sample.
        let v: [__m128i; 8] = std::array::from_fn(|i| {
            let (h, p) = (i / 4, i % 4);
            unpack(32, p % 2 == 0, u[4 * h + p / 2], u[4 * h + 2 + p / 2])
        });
        for (c, line) in lines.iter_mut().take(8).enumerate() {
            let x = unpack(64, c % 2 == 0, v[c / 2], v[4 + c / 2]);
            _mm_storeu_si128(line.as_mut_ptr().cast(), x);
        }
    }

    /// Inverse of [`load_columns8`]: sample r of line c goes to byte c of
    /// row r. Caller: 8 bytes writable at each row; `lines` has 8 entries.
    #[inline(always)]
    pub(super) unsafe fn store_columns8(lines: &[[u8; LANES]], rows: Halves) {
        let l: [__m128i; 8] = std::array::from_fn(|c| _mm_loadu_si128(lines[c].as_ptr().cast()));
        // Entry 2k + h: samples 2k, 2k + 1 of rows 8h..8h + 8, a row's two side by side.
        let a: [__m128i; 8] =
            std::array::from_fn(|i| unpack(8, i % 2 == 0, l[i / 2 * 2], l[i / 2 * 2 + 1]));
        // Entry 4h + 2q + s: samples 4s..4s + 4 of rows 8h + 4q..8h + 4q + 4.
        let b: [__m128i; 8] = std::array::from_fn(|i| {
            let (h, q, s) = (i / 4, (i / 2) % 2, i % 2);
            unpack(16, q == 0, a[4 * s + h], a[4 * s + 2 + h])
        });
        // Rows 4g..4g + 4 (g = 2h + q), two to a register, 8 samples each.
        for g in 0..4 {
            let (x, y) = (b[2 * g], b[2 * g + 1]);
            for half in 0..2 {
                let pair = unpack(32, half == 0, x, y);
                let r = 4 * g + 2 * half;
                _mm_storel_epi64(rows.row(r).cast(), pair);
                _mm_storel_epi64(rows.row(r + 1).cast(), _mm_unpackhi_epi64(pair, pair));
            }
        }
    }

    /// The low (`low`) or high halves of `a` and `b`, interleaved by
    /// elements of `bits` bits (8, 16, 32 or 64).
    #[inline(always)]
    unsafe fn unpack(bits: u32, low: bool, a: __m128i, b: __m128i) -> __m128i {
        match (bits, low) {
            (8, true) => _mm_unpacklo_epi8(a, b),
            (8, false) => _mm_unpackhi_epi8(a, b),
            (16, true) => _mm_unpacklo_epi16(a, b),
            (16, false) => _mm_unpackhi_epi16(a, b),
            (32, true) => _mm_unpacklo_epi32(a, b),
            (32, false) => _mm_unpackhi_epi32(a, b),
            (_, true) => _mm_unpacklo_epi64(a, b),
            (_, false) => _mm_unpackhi_epi64(a, b),
        }
    }

    /// The 4 samples from each of the 16 rows at `p`, `stride` apart,
    /// transposed into 4 lines: [`transpose_regs`] with only the rounds'
    /// lines that hold samples (a byte's sample index has two bits, so after
    /// round k only the lines whose k low bits are zero, or after round 3
    /// lines 0, 1, 8 and 9, hold any). Caller: the rows are readable.
    #[inline(always)]
    pub(super) unsafe fn load_columns4(p: *const u8, stride: usize, lines: &mut [[u8; LANES]]) {
        let l: [__m128i; LANES] = std::array::from_fn(|r| {
            _mm_cvtsi32_si128(p.add(r * stride).cast::<i32>().read_unaligned())
        });
        let v1: [__m128i; 8] = std::array::from_fn(|j| _mm_unpacklo_epi8(l[j], l[j + 8]));
        let v2: [__m128i; 4] = std::array::from_fn(|j| _mm_unpacklo_epi8(v1[j], v1[j + 4]));
        let (v3_0, v3_1) = (
            _mm_unpacklo_epi8(v2[0], v2[2]),
            _mm_unpackhi_epi8(v2[0], v2[2]),
        );
        let (v3_8, v3_9) = (
            _mm_unpacklo_epi8(v2[1], v2[3]),
            _mm_unpackhi_epi8(v2[1], v2[3]),
        );
        let v4 = [
            _mm_unpacklo_epi8(v3_0, v3_8),
            _mm_unpackhi_epi8(v3_0, v3_8),
            _mm_unpacklo_epi8(v3_1, v3_9),
            _mm_unpackhi_epi8(v3_1, v3_9),
        ];
        for (line, x) in lines.iter_mut().zip(v4) {
            _mm_storeu_si128(line.as_mut_ptr().cast(), x);
        }
    }

    /// Inverse of [`load_columns4`]: lines 0..4 become 4 samples of each of
    /// the 16 rows at `p`. Pairs of lines are interleaved by bytes, then the
    /// pairs by 16 bits, which leaves each row's four samples side by side.
    /// Caller: the rows are writable.
    #[inline(always)]
    pub(super) unsafe fn store_columns4(lines: &[[u8; LANES]], p: *mut u8, stride: usize) {
        let c: [__m128i; 4] = std::array::from_fn(|k| _mm_loadu_si128(lines[k].as_ptr().cast()));
        let (p0, p1) = (_mm_unpacklo_epi8(c[0], c[1]), _mm_unpackhi_epi8(c[0], c[1]));
        let (q0, q1) = (_mm_unpacklo_epi8(c[2], c[3]), _mm_unpackhi_epi8(c[2], c[3]));
        let quads = [
            _mm_unpacklo_epi16(p0, q0),
            _mm_unpackhi_epi16(p0, q0),
            _mm_unpacklo_epi16(p1, q1),
            _mm_unpackhi_epi16(p1, q1),
        ];
        for (j, quad) in quads.into_iter().enumerate() {
            let rows: [i32; 4] = std::mem::transmute(quad);
            for (k, row) in rows.into_iter().enumerate() {
                p.add((4 * j + k) * stride)
                    .cast::<i32>()
                    .write_unaligned(row);
            }
        }
    }
}

/// [`sse2::load_columns16`], with AVX2 where the CPU has it.
///
/// # Safety
/// As for [`sse2::load_columns16`].
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn load_columns16(rows: sse2::Halves, lines: &mut [[u8; LANES]]) {
    if avx2::available() {
        // SAFETY: the CPU has AVX2; the rest is the caller's.
        unsafe { avx2::load_columns16(rows, lines) }
    } else {
        unsafe { sse2::load_columns16(rows, lines) }
    }
}

/// [`sse2::store_columns16`], with AVX2 where the CPU has it.
///
/// # Safety
/// As for [`sse2::store_columns16`].
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn store_columns16(lines: &[[u8; LANES]], rows: sse2::Halves) {
    if avx2::available() {
        // SAFETY: the CPU has AVX2; the rest is the caller's.
        unsafe { avx2::store_columns16(lines, rows) }
    } else {
        unsafe { sse2::store_columns16(lines, rows) }
    }
}

/// The samples of one plane, reached through a pointer so that the rows of
/// macroblocks of a picture can be filtered by several threads at once
/// ([`deblock_rows_in_parallel`]); every access is bounds-checked against
/// `len`. Made from an exclusive borrow and neither `Send` nor `Sync`: only
/// [`SharedFrame`] hands it to other threads.
#[derive(Clone, Copy)]
struct Samples<'a> {
    ptr: *mut u8,
    len: usize,
    _plane: std::marker::PhantomData<&'a mut [u8]>,
}

impl<'a> Samples<'a> {
    fn of(data: &'a mut [u8]) -> Samples<'a> {
        Samples {
            ptr: data.as_mut_ptr(),
            len: data.len(),
            _plane: std::marker::PhantomData,
        }
    }

    #[inline(always)]
    fn len(self) -> usize {
        self.len
    }

    /// Copies the samples from offset `at` on into `dst`.
    #[inline(always)]
    fn copy_out(self, at: usize, dst: &mut [u8]) {
        assert!(at <= self.len && dst.len() <= self.len - at);
        // SAFETY: the range lies in the plane (checked above).
        unsafe { std::ptr::copy_nonoverlapping(self.ptr.add(at), dst.as_mut_ptr(), dst.len()) }
    }

    /// Copies `src` to the samples from offset `at` on.
    #[inline(always)]
    fn copy_in(self, at: usize, src: &[u8]) {
        assert!(at <= self.len && src.len() <= self.len - at);
        // SAFETY: the range lies in the plane (checked above).
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), self.ptr.add(at), src.len()) }
    }

    /// The first sample, for loads and stores checked by the caller.
    #[inline(always)]
    fn ptr(self) -> *mut u8 {
        self.ptr
    }

    /// [`Plane::prefetch_rows`] for a plane `stride` wide.
    #[inline(always)]
    fn prefetch_rows(self, stride: usize, x: usize, y0: usize, rows: usize) {
        if let Some(start) = y0.checked_mul(stride).and_then(|i| i.checked_add(x)) {
            prefetch_lines_at(self.ptr, self.len, start, stride, rows);
        }
    }
}

/// A plane to filter: its samples and its width (the stride).
#[derive(Clone, Copy)]
struct PlaneView<'a> {
    data: Samples<'a>,
    width: usize,
}

impl<'a> PlaneView<'a> {
    fn of(plane: &'a mut Plane) -> PlaneView<'a> {
        PlaneView {
            width: plane.width,
            data: Samples::of(&mut plane.data),
        }
    }
}

/// The three planes of a picture to filter.
#[derive(Clone, Copy)]
struct FrameView<'a> {
    y: PlaneView<'a>,
    u: PlaneView<'a>,
    v: PlaneView<'a>,
}

impl<'a> FrameView<'a> {
    fn of(frame: &'a mut YuvFrame) -> FrameView<'a> {
        FrameView {
            y: PlaneView::of(&mut frame.y),
            u: PlaneView::of(&mut frame.u),
            v: PlaneView::of(&mut frame.v),
        }
    }

    /// [`YuvFrame::prefetch_mb`] for the macroblock's rows and the 4 rows
    /// above it that its top edges read.
    #[inline(always)]
    fn prefetch_mb(self, mb_x: usize, mb_y: usize) {
        let y = self.y;
        y.data
            .prefetch_rows(y.width, mb_x * 16, (mb_y * 16).saturating_sub(4), 20);
        for c in [self.u, self.v] {
            c.data
                .prefetch_rows(c.width, mb_x * 8, (mb_y * 8).saturating_sub(4), 12);
        }
    }
}

/// Where the lines of a square lie in a plane: the plane's stride, the
/// column of the first sample copied and the row of the first line (a row
/// of the plane, so `y0 * stride` does not overflow).
type SquareAt = (usize, usize, usize);

/// Copies `LEN` samples of rows `y0..y0 + sq.len()`, from column `x` on,
/// into lanes `lane0..lane0 + LEN` of the lines of `sq`; stops at the first
/// row the plane does not hold whole.
#[inline(always)]
fn read_square<const LEN: usize>(
    sq: &mut [[u8; LANES]],
    data: Samples,
    (stride, x, y0): SquareAt,
    lane0: usize,
) -> Option<()> {
    if x.checked_add(LEN)? > stride || lane0 + LEN > LANES {
        return None;
    }
    if let Some(start) = whole_rows(data.len(), stride, y0, sq.len()) {
        for (r, line) in sq.iter_mut().enumerate() {
            // SAFETY: the rows lie whole in the plane and x + LEN ≤ stride
            // (checked above); lane0 + LEN ≤ LANES.
            unsafe {
                let from = data.ptr().add(start + r * stride + x);
                std::ptr::copy_nonoverlapping(from, line.as_mut_ptr().add(lane0), LEN);
            }
        }
        return Some(());
    }
    for (r, line) in sq.iter_mut().enumerate() {
        let row = whole_row(data.len(), stride, y0.checked_add(r)?)?;
        data.copy_out(row + x, &mut line[lane0..lane0 + LEN]);
    }
    Some(())
}

/// The offset of row `y0` when rows `y0..y0 + rows` lie whole in a plane of
/// `len` samples `stride` wide.
#[inline(always)]
fn whole_rows(len: usize, stride: usize, y0: usize, rows: usize) -> Option<usize> {
    let end = y0.checked_add(rows)?.checked_mul(stride)?;
    (end <= len).then_some(y0 * stride)
}

/// The offset of row `y` of a plane `stride` wide when the plane holds the
/// whole row.
#[inline(always)]
fn whole_row(len: usize, stride: usize, y: usize) -> Option<usize> {
    let start = y.checked_mul(stride)?;
    (start.checked_add(stride)? <= len).then_some(start)
}

/// Inverse of [`read_square`]: copies lanes `lane0..lane0 + LEN` of the
/// lines of `sq` to rows `y0..y0 + sq.len()` from column `x` on; stops at
/// the first row the plane does not hold whole.
#[inline(always)]
fn write_square<const LEN: usize>(
    sq: &[[u8; LANES]],
    data: Samples,
    (stride, x, y0): SquareAt,
    lane0: usize,
) -> Option<()> {
    if x.checked_add(LEN)? > stride || lane0 + LEN > LANES {
        return None;
    }
    if let Some(start) = whole_rows(data.len(), stride, y0, sq.len()) {
        for (r, line) in sq.iter().enumerate() {
            // SAFETY: as in `read_square`.
            unsafe {
                let to = data.ptr().add(start + r * stride + x);
                std::ptr::copy_nonoverlapping(line.as_ptr().add(lane0), to, LEN);
            }
        }
        return Some(());
    }
    for (r, line) in sq.iter().enumerate() {
        let row = whole_row(data.len(), stride, y0.checked_add(r)?)?;
        data.copy_in(row + x, &line[lane0..lane0 + LEN]);
    }
    Some(())
}

/// Vertical luma edges (8.7.1): entry k of line r is column x0 + k − 4 of
/// row y0 + r. The macroblock's 16 columns are one transposed square; with
/// a left neighbour entries 0..4 are the last four lines of the square left
/// of it.
///
/// # Safety
/// `whole` is what [`luma_strip_start`] gives for `data.len()` and `at`.
#[inline(always)]
unsafe fn gather_luma_columns(
    strip: &mut Strip<20>,
    data: Samples,
    at: &StripAt,
    whole: Option<(usize, bool)>,
) {
    debug_assert_eq!(whole, luma_strip_start(data.len(), at));
    #[cfg(target_arch = "x86_64")]
    if let Some((start, left)) = whole {
        // SAFETY: `luma_strip_start` checked that the 16 rows of 16
        // samples from `start` on, and with `left` the 4 samples before
        // each, lie in `data`.
        unsafe {
            let p = data.ptr().add(start);
            load_columns16(sse2::Halves::of_plane(p, at.stride), &mut strip[4..]);
            if left {
                sse2::load_columns4(p.sub(4), at.stride, &mut strip[..4]);
            }
        }
        return;
    }
    gather_luma_columns_by_rows(strip, data, at);
}

/// [`gather_luma_columns`] row by row through squares, for any CPU and
/// for strips that reach the plane's end.
#[inline(always)]
fn gather_luma_columns_by_rows(strip: &mut Strip<20>, data: Samples, at: &StripAt) {
    let mut sq = [[0; LANES]; LANES];
    if read_square::<LANES>(&mut sq, data, (at.stride, at.x0, at.y0), 0).is_none() {
        return;
    }
    strip[4..].copy_from_slice(&transpose(&sq));
    let left = at.x0.checked_sub(LANES).filter(|_| at.k0 == 0);
    if let Some(x) = left {
        if read_square::<LANES>(&mut sq, data, (at.stride, x, at.y0), 0).is_some() {
            strip[..4].copy_from_slice(&transpose(&sq)[LANES - 4..]);
        }
    }
}

/// Inverse of [`gather_luma_columns`]: writes the macroblock's columns and,
/// with a left neighbour, its last four columns.
///
/// # Safety
/// As for [`gather_luma_columns`].
#[inline(always)]
unsafe fn scatter_luma_columns(
    strip: &Strip<20>,
    data: Samples,
    at: &StripAt,
    whole: Option<(usize, bool)>,
) {
    debug_assert_eq!(whole, luma_strip_start(data.len(), at));
    #[cfg(target_arch = "x86_64")]
    if let Some((start, left)) = whole {
        // SAFETY: as in `gather_luma_columns`.
        unsafe {
            let p = data.ptr().add(start);
            store_columns16(&strip[4..], sse2::Halves::of_plane(p, at.stride));
            if left {
                sse2::store_columns4(&strip[..4], p.sub(4), at.stride);
            }
        }
        return;
    }
    scatter_luma_columns_by_rows(strip, data, at);
}

/// [`scatter_luma_columns`] row by row, the inverse of
/// [`gather_luma_columns_by_rows`].
#[inline(always)]
fn scatter_luma_columns_by_rows(strip: &Strip<20>, data: Samples, at: &StripAt) {
    let mut sq: Square = [[0; LANES]; LANES];
    sq.copy_from_slice(&strip[4..]);
    write_square::<LANES>(&transpose(&sq), data, (at.stride, at.x0, at.y0), 0);
    let left = at.x0.checked_sub(LANES).filter(|_| at.k0 == 0);
    if let Some(x) = left {
        sq[LANES - 4..].copy_from_slice(&strip[..4]);
        let at_left = (at.stride, x + LANES - 4, at.y0);
        write_square::<4>(&transpose(&sq), data, at_left, LANES - 4);
    }
}

/// Where the strip of [`gather_luma_columns`] starts when its rows can be
/// moved whole with 16-sample loads and stores: the offset of the
/// macroblock's first sample, and whether the 4 columns left of it are in
/// the strip (with a filtered left edge, as in the row-by-row copies).
/// `None` where some row is not whole in the plane.
#[inline(always)]
fn luma_strip_start(len: usize, at: &StripAt) -> Option<(usize, bool)> {
    let left = at.k0 == 0 && at.x0 >= LANES;
    if at.x0.checked_add(LANES)? > at.stride {
        return None;
    }
    let row = whole_rows(len, at.stride, at.y0, LANES)?;
    Some((row + at.x0, left))
}

/// Where the 8 Cb and 8 Cr rows of the chroma strip start when each can be
/// moved whole as 16 samples from column x0 − 4 (with a left neighbour) or
/// x0 on, the samples past entry 12 (columns of the macroblock to the
/// right) carried along unchanged; `None` where those 16 samples reach past
/// the end of a row (they would carry along samples of the next row, which
/// another worker of [`deblock_rows_in_parallel`] may be filtering) or some
/// row is not whole in its plane.
#[inline(always)]
fn chroma_strip_starts(lens: [usize; 2], at: [&StripAt; 2]) -> Option<[usize; 2]> {
    let before = if chroma_left(at[0]).is_some() { 4 } else { 0 };
    let start = |len: usize, a: &StripAt| {
        let x = a.x0.checked_sub(before)?;
        if x.checked_add(LANES)? > a.stride {
            return None;
        }
        Some(whole_rows(len, a.stride, a.y0, 8)? + x)
    };
    Some([start(lens[0], at[0])?, start(lens[1], at[1])?])
}

/// Vertical chroma edges (8.7.1): lines 0..8 are rows of Cb, lines 8..16
/// rows of Cr, transposed together. With a left neighbour the square starts
/// 8 columns left of the macroblock (entry k is its line k + 4), else at the
/// macroblock, half filled (entry k is its line k − 4). Where whole rows can
/// be moved, entries 0..16 (with a left neighbour) or 4..20 are 16 columns
/// from x0 − 4 or x0 on, of which those past entry 12 only travel along.
///
/// # Safety
/// `whole` is what [`chroma_strip_starts`] gives for the planes' lengths
/// and `at`.
#[inline(always)]
unsafe fn gather_chroma_columns(
    strip: &mut Strip<20>,
    (u, v): (Samples, Samples),
    at: [&StripAt; 2],
    whole: Option<[usize; 2]>,
) {
    debug_assert_eq!(whole, chroma_strip_starts([u.len(), v.len()], at));
    #[cfg(target_arch = "x86_64")]
    if let Some([su, sv]) = whole {
        // SAFETY: `chroma_strip_starts` checked that the 8 rows of 16
        // samples from `su` in `u` and from `sv` in `v` lie in the planes.
        unsafe {
            let rows = sse2::Halves {
                top: (u.ptr().add(su), at[0].stride),
                bottom: (v.ptr().add(sv), at[1].stride),
            };
            let k = if chroma_left(at[0]).is_some() { 0 } else { 4 };
            load_columns16(rows, &mut strip[k..k + LANES]);
        }
        return;
    }
    gather_chroma_columns_by_rows(strip, u, v, at);
}

/// [`gather_chroma_columns`] row by row through a square, for any CPU and
/// near the planes' ends: entries 0..12 or 4..12 only.
#[inline(always)]
fn gather_chroma_columns_by_rows(strip: &mut Strip<20>, u: Samples, v: Samples, at: [&StripAt; 2]) {
    let mut sq = [[0; LANES]; LANES];
    let (top, bottom) = sq.split_at_mut(8);
    let (read_u, read_v) = match chroma_left(at[0]) {
        Some(x) => (
            read_square::<LANES>(top, u, (at[0].stride, x, at[0].y0), 0),
            read_square::<LANES>(bottom, v, (at[1].stride, x, at[1].y0), 0),
        ),
        None => (
            read_square::<8>(top, u, (at[0].stride, at[0].x0, at[0].y0), 0),
            read_square::<8>(bottom, v, (at[1].stride, at[1].x0, at[1].y0), 0),
        ),
    };
    if read_u.is_none() && read_v.is_none() {
        return;
    }
    let t = transpose(&sq);
    if chroma_left(at[0]).is_some() {
        strip[..12].copy_from_slice(&t[4..]);
    } else {
        strip[4..12].copy_from_slice(&t[..8]);
    }
}

/// Inverse of [`gather_chroma_columns`]: writes columns x0 − 4..x0 + 8 with
/// a left neighbour, else x0..x0 + 8.
///
/// # Safety
/// As for [`gather_chroma_columns`].
#[inline(always)]
unsafe fn scatter_chroma_columns(
    strip: &Strip<20>,
    (u, v): (Samples, Samples),
    at: [&StripAt; 2],
    whole: Option<[usize; 2]>,
) {
    debug_assert_eq!(whole, chroma_strip_starts([u.len(), v.len()], at));
    #[cfg(target_arch = "x86_64")]
    if let Some([su, sv]) = whole {
        // SAFETY: as in `gather_chroma_columns`; the samples written past
        // entry 12 are those read there.
        unsafe {
            let rows = sse2::Halves {
                top: (u.ptr().add(su), at[0].stride),
                bottom: (v.ptr().add(sv), at[1].stride),
            };
            let k = if chroma_left(at[0]).is_some() { 0 } else { 4 };
            store_columns16(&strip[k..k + LANES], rows);
        }
        return;
    }
    scatter_chroma_columns_by_rows(strip, u, v, at);
}

/// [`scatter_chroma_columns`] row by row, the inverse of
/// [`gather_chroma_columns_by_rows`].
#[inline(always)]
fn scatter_chroma_columns_by_rows(strip: &Strip<20>, u: Samples, v: Samples, at: [&StripAt; 2]) {
    let mut sq: Square = [[0; LANES]; LANES];
    let (au, av) = (at[0], at[1]);
    if chroma_left(au).is_some() {
        sq[4..].copy_from_slice(&strip[..12]);
        let t = transpose(&sq);
        write_square::<12>(&t[..8], u, (au.stride, au.x0 - 4, au.y0), 4);
        write_square::<12>(&t[8..], v, (av.stride, av.x0 - 4, av.y0), 4);
    } else {
        sq[..8].copy_from_slice(&strip[4..12]);
        let t = transpose(&sq);
        write_square::<8>(&t[..8], u, (au.stride, au.x0, au.y0), 0);
        write_square::<8>(&t[8..], v, (av.stride, av.x0, av.y0), 0);
    }
}

/// The column 8 left of the macroblock where the square of
/// [`gather_chroma_columns`] starts with a left neighbour; `None` without.
#[inline(always)]
fn chroma_left(at: &StripAt) -> Option<usize> {
    at.x0.checked_sub(8).filter(|_| at.k0 == 0)
}

/// One macroblock to filter: where it is, which of its left / top edges
/// are filtered, and its boundary strengths.
struct MbSite {
    mb_x: usize,
    mb_y: usize,
    has_left: bool,
    has_top: bool,
    bs: Strengths,
}

impl MbSite {
    /// Strip position for the vertical edges in a plane with `n`×`n`
    /// macroblocks; the left neighbour's columns are read only when the
    /// left edge is filtered (`left_live`).
    fn strip_at(&self, stride: usize, n: usize, left_live: bool) -> StripAt {
        StripAt {
            stride,
            x0: self.mb_x * n,
            y0: self.mb_y * n,
            k0: if self.has_left && left_live { 0 } else { 4 },
        }
    }

    /// bS rows of the edges of one direction.
    fn bs(&self, vertical: bool) -> &[[u8; 4]; 4] {
        if vertical {
            &self.bs.v
        } else {
            &self.bs.h
        }
    }
}

/// QP of the current, left and top macroblocks for one component: QPY for
/// luma, QPC (Table 8-15) for chroma (8.7.2.2).
#[derive(Clone, Copy)]
struct SiteQp {
    cur: i32,
    left: i32,
    top: i32,
}

/// Thresholds of one component's edges of a macroblock (8.7.2.2): inside
/// it, and towards its left and top neighbours where those edges are
/// filtered.
struct SiteThresholds<'a> {
    inner: &'a Thresholds,
    left: Option<&'a Thresholds>,
    top: Option<&'a Thresholds>,
}

impl<'a> SiteThresholds<'a> {
    #[inline(always)]
    fn new(site: &MbSite, qp: SiteQp, table: &'a ThresholdTable) -> SiteThresholds<'a> {
        // qPav of equal QPs is that QP: most edges of a picture.
        let inner = table.between(qp.cur, qp.cur);
        let across = |has: bool, qp_nb: i32| {
            has.then(|| {
                if qp_nb == qp.cur {
                    inner
                } else {
                    table.between(qp_nb, qp.cur)
                }
            })
        };
        SiteThresholds {
            inner,
            left: across(site.has_left, qp.left),
            top: across(site.has_top, qp.top),
        }
    }
}

/// Thresholds of the 4 luma edge positions of one direction, `None` where
/// nothing is filtered: edge 0 without a neighbour, α or β of 0, or bS 0
/// throughout.
#[inline(always)]
fn edge_plan<'a>(
    site: &MbSite,
    th: &SiteThresholds<'a>,
    vertical: bool,
) -> [Option<&'a Thresholds>; 4] {
    let nb = if vertical { th.left } else { th.top };
    let rows = site.bs(vertical);
    std::array::from_fn(|e| {
        let t = if e == 0 { nb? } else { th.inner };
        (!t.filters_nothing() && rows[e] != [0; 4]).then_some(t)
    })
}

/// The window of an edge whose p3 is strip entry `k`.
#[inline(always)]
fn window<const K: usize>(strip: &mut Strip<K>, k: usize) -> Option<&mut Window> {
    strip.get_mut(k..k + 8)?.try_into().ok()
}

/// Luma edges of one macroblock (8.7): vertical edges left to right through
/// a transposed strip, then horizontal edges top to bottom in place.
#[inline(always)]
fn filter_mb_luma(y: PlaneView, site: &MbSite, th: &SiteThresholds) {
    let plan = edge_plan(site, th, true);
    if plan.iter().any(Option::is_some) && !filter_left_luma_edge_alone(y, site, &plan) {
        let mut strip: Strip<20> = [[0; LANES]; 20];
        let at = site.strip_at(y.width, 16, plan[0].is_some());
        let whole = luma_strip_start(y.data.len(), &at);
        // SAFETY: `whole` is the strip's (and below).
        unsafe { gather_luma_columns(&mut strip, y.data, &at, whole) };
        for (e, t) in plan.iter().enumerate() {
            if let (Some(t), Some(w)) = (t, window(&mut strip, 4 * e)) {
                filter_luma_lanes(w, t, &site.bs.v[e]);
            }
        }
        unsafe { scatter_luma_columns(&strip, y.data, &at, whole) };
    }
    let (x0, y0) = (site.mb_x * 16, site.mb_y * 16);
    for (e, t) in edge_plan(site, th, false).iter().enumerate() {
        // Lines are the macroblock's columns; p3 lies on row y0 + 4e − 4.
        let (Some(t), Some(p3)) = (t, (y0 + 4 * e).checked_sub(4)) else {
            continue;
        };
        filter_luma_rows(y, (x0, p3), t, &site.bs.h[e]);
    }
}

/// Where the left edge is the only vertical luma edge of a macroblock to
/// filter (most often so: a macroblock without levels beside one that moves
/// otherwise), filters it through the 8 columns around it alone, transposed
/// into one window (8.7.1), instead of the whole strip; false where it does
/// not apply (or the 16 rows of those columns are not whole in the plane).
#[inline(always)]
fn filter_left_luma_edge_alone(
    y: PlaneView,
    site: &MbSite,
    plan: &[Option<&Thresholds>; 4],
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if let [Some(t), None, None, None] = *plan {
        let Some(start) = left_edge_start(y, (site.mb_x * 16, site.mb_y * 16), 16) else {
            return false;
        };
        let mut w: Window = [[0; LANES]; 8];
        // SAFETY: `left_edge_start` checked that the 16 rows of 8 samples
        // from `start` on lie in the plane, which only this macroblock's
        // filter touches there now.
        unsafe {
            let rows = sse2::Halves::of_plane(y.data.ptr().add(start), y.width);
            sse2::load_columns8(rows, &mut w);
            filter_luma_lanes(&mut w, t, &site.bs.v[0]);
            sse2::store_columns8(&w, rows);
        }
        return true;
    }
    let _ = (y, site, plan);
    false
}

/// The offset of sample (x0 − 4, y0) when the `rows` rows from y0 on hold
/// the 8 samples from x0 − 4 on: p3..q3 of a macroblock's left edge.
#[inline(always)]
fn left_edge_start(plane: PlaneView, (x0, y0): (usize, usize), rows: usize) -> Option<usize> {
    let x = x0.checked_sub(4)?;
    if x + 8 > plane.width {
        return None;
    }
    Some(whole_rows(plane.data.len(), plane.width, y0, rows)? + x)
}

/// Filters the horizontal luma edge whose p3 row is `p3`, columns `x0..x0 +
/// 16`, where the plane holds its 8 rows: in place with AVX2, else through
/// a window.
#[inline(always)]
fn filter_luma_rows(y: PlaneView, (x0, p3): (usize, usize), t: &Thresholds, bs: &[u8; 4]) {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        if let Some(start) = rows_start(y, (x0, p3), LANES) {
            // SAFETY: the CPU has AVX2; `rows_start` checked that the 8 rows
            // of 16 samples from `start` on lie in the plane, which only
            // this macroblock's filter touches there now.
            unsafe {
                let rows = avx2::PlaneRows {
                    at: y.data.ptr().add(start),
                    stride: y.width,
                };
                filter_luma_rows_avx2(&rows, t, bs);
            }
        }
        return;
    }
    let mut w: Window = [[0; LANES]; 8];
    if read_square::<LANES>(&mut w, y.data, (y.width, x0, p3), 0).is_some() {
        filter_luma_lanes(&mut w, t, bs);
        // Only p2..q2 change (8.7.2.3, 8.7.2.4).
        write_square::<LANES>(&w[1..7], y.data, (y.width, x0, p3 + 1), 0);
    }
}

/// [`avx2::filter_luma_lanes`] on rows of a plane, kept out of line like
/// [`filter_luma_lanes`].
///
/// # Safety
/// The CPU has AVX2 and the rows are writable.
#[cfg(target_arch = "x86_64")]
#[inline(never)]
unsafe fn filter_luma_rows_avx2(rows: &avx2::PlaneRows, t: &Thresholds, bs: &[u8; 4]) {
    avx2::filter_luma_lanes(rows, t, bs);
}

/// [`avx2::filter_chroma_lanes`] on rows of the chroma planes, out of line.
///
/// # Safety
/// The CPU has AVX2 and the rows are writable.
#[cfg(target_arch = "x86_64")]
#[inline(never)]
unsafe fn filter_chroma_rows_avx2(rows: &avx2::ChromaRows, t: &Thresholds, bs: &[u8; 4]) {
    avx2::filter_chroma_lanes(rows, t, bs);
}

/// The offset of sample (x0, p3) when the 8 rows from p3 on hold `len`
/// samples from x0 on.
#[inline(always)]
fn rows_start(plane: PlaneView, (x0, p3): (usize, usize), len: usize) -> Option<usize> {
    if x0.checked_add(len)? > plane.width {
        return None;
    }
    Some(whole_rows(plane.data.len(), plane.width, p3, 8)? + x0)
}

/// Chroma edges of one macroblock (8.7), Cb in lanes 0..8 and Cr in lanes
/// 8..16: both planes share bS and, with one chroma_qp_index_offset, QPC.
/// The 4:2:0 edges at chroma samples 0 and 4 use the bS of luma edges 0 and
/// 8, two chroma lines per luma bS. Vertical edges go through a transposed
/// strip, horizontal ones are filtered in place.
#[inline(always)]
fn filter_mb_chroma(u: PlaneView, v: PlaneView, site: &MbSite, th: &SiteThresholds) {
    let [e0, _, e2, _] = edge_plan(site, th, true);
    if (e0.is_some() || e2.is_some()) && !filter_left_chroma_edge_alone((u, v), site, (e0, e2)) {
        let mut strip: Strip<20> = [[0; LANES]; 20];
        let (au, av) = (
            site.strip_at(u.width, 8, e0.is_some()),
            site.strip_at(v.width, 8, e0.is_some()),
        );
        let whole = chroma_strip_starts([u.data.len(), v.data.len()], [&au, &av]);
        // SAFETY: `whole` is the strip's (and below).
        unsafe { gather_chroma_columns(&mut strip, (u.data, v.data), [&au, &av], whole) };
        for (k, luma_edge, t) in [(0, 0, e0), (4, 2, e2)] {
            if let (Some(t), Some(w)) = (t, window(&mut strip, k)) {
                filter_chroma_lanes(w, t, &site.bs.v[luma_edge]);
            }
        }
        unsafe { scatter_chroma_columns(&strip, (u.data, v.data), [&au, &av], whole) };
    }
    let [e0, _, e2, _] = edge_plan(site, th, false);
    let (x0, y0) = (site.mb_x * 8, site.mb_y * 8);
    for (k, luma_edge, t) in [(0, 0, e0), (4, 2, e2)] {
        // Lines are the macroblock's columns; p3 lies on row y0 + k − 4.
        let (Some(t), Some(p3)) = (t, (y0 + k).checked_sub(4)) else {
            continue;
        };
        filter_chroma_rows((u, v), (x0, p3), t, &site.bs.h[luma_edge]);
    }
}

/// [`filter_left_luma_edge_alone`] for the chroma planes: where their left
/// edge is the only vertical one to filter, its 8 Cb and 8 Cr rows of 8
/// samples go through one window (Cb in lanes 0..8, Cr in 8..16).
#[inline(always)]
fn filter_left_chroma_edge_alone(
    (u, v): (PlaneView, PlaneView),
    site: &MbSite,
    edges: (Option<&Thresholds>, Option<&Thresholds>),
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if let (Some(t), None) = edges {
        let at = (site.mb_x * 8, site.mb_y * 8);
        let Some((su, sv)) = left_edge_start(u, at, 8).zip(left_edge_start(v, at, 8)) else {
            return false;
        };
        let mut w: Window = [[0; LANES]; 8];
        // SAFETY: as in `filter_left_luma_edge_alone`, for the 8 rows of 8
        // samples of each plane.
        unsafe {
            let rows = sse2::Halves {
                top: (u.data.ptr().add(su), u.width),
                bottom: (v.data.ptr().add(sv), v.width),
            };
            sse2::load_columns8(rows, &mut w);
            filter_chroma_lanes(&mut w, t, &site.bs.v[0]);
            sse2::store_columns8(&w, rows);
        }
        return true;
    }
    let _ = (u, v, site, edges);
    false
}

/// Filters the horizontal chroma edge whose p3 row is `p3`, columns x0 to
/// x0 + 7 of both planes, where the planes hold its rows: in place with
/// AVX2, else through a window.
#[inline(always)]
fn filter_chroma_rows(
    (u, v): (PlaneView, PlaneView),
    (x0, p3): (usize, usize),
    t: &Thresholds,
    bs: &[u8; 4],
) {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        let starts = rows_start(u, (x0, p3), 8).zip(rows_start(v, (x0, p3), 8));
        if let Some((su, sv)) = starts {
            // SAFETY: as in `filter_luma_rows`, for the 8 rows of 8 samples
            // of each plane.
            unsafe {
                let rows = avx2::ChromaRows {
                    at: [u.data.ptr().add(su), v.data.ptr().add(sv)],
                    stride: [u.width, v.width],
                };
                filter_chroma_rows_avx2(&rows, t, bs);
            }
        }
        return;
    }
    let mut w: Window = [[0; LANES]; 8];
    let read_u = read_square::<8>(&mut w, u.data, (u.width, x0, p3), 0);
    let read_v = read_square::<8>(&mut w, v.data, (v.width, x0, p3), 8);
    if read_u.is_some() && read_v.is_some() {
        filter_chroma_lanes(&mut w, t, bs);
        // Only p0 and q0 change (8.7.2.3, 8.7.2.4).
        write_square::<8>(&w[3..5], u.data, (u.width, x0, p3 + 3), 0);
        write_square::<8>(&w[3..5], v.data, (v.width, x0, p3 + 3), 8);
    }
}

/// Whole macroblock rows (of `width_mbs`) that `plane` holds with
/// macroblocks `n` samples wide; 0 when it is narrower than one row.
fn plane_mb_rows(plane: &Plane, width_mbs: usize, n: usize) -> usize {
    let Some(row_width) = width_mbs.checked_mul(n) else {
        return 0;
    };
    if plane.width < row_width || plane.width == 0 {
        return 0;
    }
    plane.height.min(plane.data.len() / plane.width) / n
}

/// Deblocks a whole reconstructed picture in place (8.7): `frame` is padded
/// to whole macroblocks, `mbs` is in raster order with `width_mbs` per row.
///
/// Filters the macroblocks that both `mbs` and the frame cover, in raster
/// order on one thread, or with its result by rows side by side on the
/// current rayon pool's threads: entries of `mbs` beyond the frame's whole
/// macroblock rows are ignored, and macroblocks of the frame without an
/// entry are left unfiltered. Does nothing when `width_mbs` is 0 or a plane
/// is narrower than `width_mbs` macroblocks. QP values are clamped to
/// 0..=51; it never panics.
pub fn deblock_picture(
    frame: &mut YuvFrame,
    mbs: &[MbDeblockInfo],
    width_mbs: usize,
    params: DeblockParams,
) {
    let rows = plane_mb_rows(&frame.y, width_mbs, 16)
        .min(plane_mb_rows(&frame.u, width_mbs, 8))
        .min(plane_mb_rows(&frame.v, width_mbs, 8));
    let count = mbs.len().min(rows * width_mbs);
    if count == 0 {
        return;
    }
    let table = ThresholdTable::new(&params);
    let frame = FrameView::of(frame);
    let mbs = &mbs[..count];
    let sums = Summary::of_all(mbs, params.chroma_qp_offset);
    if rayon::current_num_threads() < 2 {
        for addr in 0..count {
            if addr % MBS_PER_CACHE_LINE == 0 {
                let ahead = addr + 2 * MBS_PER_CACHE_LINE;
                frame.prefetch_mb(ahead % width_mbs, ahead / width_mbs);
            }
            filter_mb_at(frame, (mbs, &sums), addr, width_mbs, &table);
        }
    } else {
        deblock_rows_in_parallel(frame, (mbs, &sums), width_mbs, &table);
    }
}

/// Filters macroblock `addr` of the picture, `sums` holding the
/// [`Summary`] of every macroblock. The caller asks ahead for the rows of
/// the group of macroblocks after next (the filter streams the picture with
/// 16 rows advancing together, an order the CPU does not foresee; a hint
/// only, 1080p: ~12 % less time).
#[inline(always)]
fn filter_mb_at(
    frame: FrameView,
    (mbs, sums): (&[MbDeblockInfo], &[Summary]),
    addr: usize,
    width_mbs: usize,
    table: &ThresholdTable,
) {
    let (site, luma, chroma) = mb_site((mbs, sums), addr, width_mbs);
    if site.bs == Strengths::default() {
        return; // nothing to filter (8.7.2.2: bS 0 filters no sample)
    }
    filter_mb(frame, &site, luma, chroma, table);
}

/// A picture that the row workers of [`deblock_rows_in_parallel`] filter
/// in place side by side.
struct SharedFrame<'a>(FrameView<'a>);

// SAFETY: the workers filter each macroblock once, after its left, top and
// top-right neighbours ([`wavefront`]: a row waits for the row above to get
// two macroblocks ahead, and publishes its progress with release / acquire
// ordering). Filtering macroblock (x, y) reads and writes its own samples,
// four columns of (x − 1, y) and four rows of (x, y − 1) (8.7.1, at most p3
// to q3 across an edge), and the chroma strip rewrites unchanged up to eight
// columns of (x + 1, y), which the same worker filters later (never past
// the end of a row: `chroma_strip_starts`); the macroblocks filtered
// meanwhile lie two or more columns right of it in the rows above, or left
// of it in the rows below, so no sample is written by one thread while
// another reads or writes it.
unsafe impl Sync for SharedFrame<'_> {}

/// Filters the macroblocks in place, rows side by side on the pool's
/// threads in wavefront order ([`wavefront`]), with the result of raster
/// order: a macroblock's filtering reads the samples last written by its
/// left, top and top-right neighbours (the top-right one filters its left
/// edge into the top neighbour). A core that is busy elsewhere when the
/// filter starts (the encoder writes the slice beside it) joins in for
/// the rows not yet taken when it is free.
fn deblock_rows_in_parallel(
    frame: FrameView,
    (mbs, sums): (&[MbDeblockInfo], &[Summary]),
    width_mbs: usize,
    table: &ThresholdTable,
) {
    let rows = mbs.len().div_ceil(width_mbs);
    let todo: Vec<bool> = (0..rows * width_mbs).map(|a| a < mbs.len()).collect();
    let shared = SharedFrame(frame);
    let shared = &shared;
    wavefront(width_mbs, rows, &todo, &|_: &mut (), x, y| {
        let frame = shared.0;
        let ahead = x + 2 * MBS_PER_CACHE_LINE;
        if x % MBS_PER_CACHE_LINE == 0 && ahead < width_mbs {
            frame.prefetch_mb(ahead, y);
        }
        filter_mb_at(frame, (mbs, sums), y * width_mbs + x, width_mbs, table);
    });
}

/// The site of macroblock `addr` and the QPs of its luma and chroma edges:
/// strengths from the summaries where they settle them, else block by block.
#[inline(always)]
fn mb_site(
    (mbs, sums): (&[MbDeblockInfo], &[Summary]),
    addr: usize,
    width_mbs: usize,
) -> (MbSite, SiteQp, SiteQp) {
    let (mb_x, mb_y) = (addr % width_mbs, addr / width_mbs);
    let (has_left, has_top) = (mb_x > 0, mb_y > 0);
    let cur = &sums[addr];
    let left = has_left.then(|| &sums[addr - 1]);
    let top = has_top.then(|| &sums[addr - width_mbs]);
    let bs = summary_strengths(cur, left, top).unwrap_or_else(|| {
        let left = has_left.then(|| &mbs[addr - 1]);
        let top = has_top.then(|| &mbs[addr - width_mbs]);
        strengths(&mbs[addr], left, top)
    });
    let site = MbSite {
        mb_x,
        mb_y,
        has_left,
        has_top,
        bs,
    };
    let qps = |f: fn(&Summary) -> u8| SiteQp {
        cur: i32::from(f(cur)),
        left: left.map_or(0, |m| i32::from(f(m))),
        top: top.map_or(0, |m| i32::from(f(m))),
    };
    (site, qps(|m| m.qp), qps(|m| m.qpc))
}

/// [`mb_site`] with every strength block by block: what the reference
/// filter and the tests use.
#[cfg(test)]
fn mb_site_by_blocks(
    mbs: &[MbDeblockInfo],
    addr: usize,
    width_mbs: usize,
    chroma_qp_offset: i32,
) -> (MbSite, SiteQp, SiteQp) {
    let cur = &mbs[addr];
    let (mb_x, mb_y) = (addr % width_mbs, addr / width_mbs);
    let left = (mb_x > 0).then(|| &mbs[addr - 1]);
    let top = (mb_y > 0).then(|| &mbs[addr - width_mbs]);
    let site = MbSite {
        mb_x,
        mb_y,
        has_left: left.is_some(),
        has_top: top.is_some(),
        bs: strengths(cur, left, top),
    };
    let qps = |f: fn(&MbDeblockInfo, i32) -> i32| SiteQp {
        cur: f(cur, chroma_qp_offset),
        left: left.map_or(0, |m| f(m, chroma_qp_offset)),
        top: top.map_or(0, |m| f(m, chroma_qp_offset)),
    };
    (site, qps(luma_qp), qps(chroma_qp_of))
}

/// All edges of one macroblock: luma, then both chroma planes (8.7); the
/// AVX2 build where the CPU has it.
fn filter_mb(
    frame: FrameView,
    site: &MbSite,
    luma: SiteQp,
    chroma: SiteQp,
    table: &ThresholdTable,
) {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        // SAFETY: the CPU has AVX2.
        unsafe { avx2::filter_mb(frame, site, luma, chroma, table) };
        return;
    }
    filter_mb_portable(frame, site, luma, chroma, table);
}

/// [`filter_mb`] for any CPU.
#[inline(always)]
fn filter_mb_portable(
    frame: FrameView,
    site: &MbSite,
    luma: SiteQp,
    chroma: SiteQp,
    table: &ThresholdTable,
) {
    let luma = SiteThresholds::new(site, luma, table);
    filter_mb_luma(frame.y, site, &luma);
    let chroma = SiteThresholds::new(site, chroma, table);
    filter_mb_chroma(frame.u, frame.v, site, &chroma);
}

/// QPY of a macroblock, clamped to 0..=51 (the second argument is unused).
fn luma_qp(m: &MbDeblockInfo, _chroma_offset: i32) -> i32 {
    m.qp.clamp(0, 51)
}

/// QPC of a macroblock from its QPY and chroma_qp_index_offset (8.5.8, Table 8-15).
fn chroma_qp_of(m: &MbDeblockInfo, chroma_offset: i32) -> i32 {
    chroma_qp(luma_qp(m, 0) + chroma_offset.clamp(-12, 12))
}

/// The filter written line by line straight from 8.7, on the planes in
/// place: the reference the strip-based filter is checked against.
#[cfg(test)]
mod reference {
    use super::*;

    /// Filters one line of luma samples across an edge (8.7.2.3, 8.7.2.4):
    /// q0 at `data[o]`, p0 at `data[o - step]`; four samples each side exist.
    pub(super) fn filter_luma_line(data: &mut [u8], o: usize, step: usize, bs: u8, t: &Thresholds) {
        let at = |k: usize| i32::from(data[k]);
        let (p0, q0) = (at(o - step), at(o));
        let (p1, q1) = (at(o - 2 * step), at(o + step));
        // filterSamplesFlag.
        if (p0 - q0).abs() >= t.alpha || (p1 - p0).abs() >= t.beta || (q1 - q0).abs() >= t.beta {
            return;
        }
        let (p2, q2) = (at(o - 3 * step), at(o + 2 * step));
        let ap = (p2 - p0).abs() < t.beta; // ap < β
        let aq = (q2 - q0).abs() < t.beta; // aq < β
        if bs < 4 {
            // 8.7.2.3
            let tc0 = t.tc0_for(bs);
            let tc = tc0 + i32::from(ap) + i32::from(aq);
            let delta = (((q0 - p0) << 2) + (p1 - q1) + 4) >> 3;
            let delta = delta.clamp(-tc, tc);
            data[o - step] = clip1_i32(p0 + delta);
            data[o] = clip1_i32(q0 - delta);
            if ap {
                let d = ((p2 + ((p0 + q0 + 1) >> 1) - (p1 << 1)) >> 1).clamp(-tc0, tc0);
                data[o - 2 * step] = (p1 + d) as u8;
            }
            if aq {
                let d = ((q2 + ((p0 + q0 + 1) >> 1) - (q1 << 1)) >> 1).clamp(-tc0, tc0);
                data[o + step] = (q1 + d) as u8;
            }
            return;
        }
        // 8.7.2.4
        let strong = (p0 - q0).abs() < (t.alpha >> 2) + 2;
        let (p3, q3) = (at(o - 4 * step), at(o + 3 * step));
        if ap && strong {
            data[o - step] = ((p2 + 2 * p1 + 2 * p0 + 2 * q0 + q1 + 4) >> 3) as u8;
            data[o - 2 * step] = ((p2 + p1 + p0 + q0 + 2) >> 2) as u8;
            data[o - 3 * step] = ((2 * p3 + 3 * p2 + p1 + p0 + q0 + 4) >> 3) as u8;
        } else {
            data[o - step] = ((2 * p1 + p0 + q1 + 2) >> 2) as u8;
        }
        if aq && strong {
            data[o] = ((p1 + 2 * p0 + 2 * q0 + 2 * q1 + q2 + 4) >> 3) as u8;
            data[o + step] = ((p0 + q0 + q1 + q2 + 2) >> 2) as u8;
            data[o + 2 * step] = ((2 * q3 + 3 * q2 + q1 + q0 + p0 + 4) >> 3) as u8;
        } else {
            data[o] = ((2 * q1 + q0 + p1 + 2) >> 2) as u8;
        }
    }

    /// Filters one line of chroma samples across an edge: chromaStyleFilteringFlag
    /// = 1, so only p0 and q0 change (8.7.2.3 with tC = tC0 + 1, 8.7.2.4 simple form).
    pub(super) fn filter_chroma_line(
        data: &mut [u8],
        o: usize,
        step: usize,
        bs: u8,
        t: &Thresholds,
    ) {
        let at = |k: usize| i32::from(data[k]);
        let (p0, q0) = (at(o - step), at(o));
        let (p1, q1) = (at(o - 2 * step), at(o + step));
        // filterSamplesFlag.
        if (p0 - q0).abs() >= t.alpha || (p1 - p0).abs() >= t.beta || (q1 - q0).abs() >= t.beta {
            return;
        }
        if bs < 4 {
            let tc = t.tc0_for(bs) + 1;
            let delta = ((((q0 - p0) << 2) + (p1 - q1) + 4) >> 3).clamp(-tc, tc);
            data[o - step] = clip1_i32(p0 + delta);
            data[o] = clip1_i32(q0 - delta);
        } else {
            data[o - step] = ((2 * p1 + p0 + q1 + 2) >> 2) as u8;
            data[o] = ((2 * q1 + q0 + p1 + 2) >> 2) as u8;
        }
    }

    /// Clip1Y / Clip1C at bit depth 8.
    fn clip1_i32(v: i32) -> u8 {
        v.clamp(0, 255) as u8
    }

    /// One edge of one plane: `origin` is the first q0 sample, `across` the step
    /// from p0 to q0, `along` the step between lines; `lines_per_bs` lines share
    /// each entry of `bs`.
    struct Edge<'a> {
        origin: usize,
        across: usize,
        along: usize,
        lines_per_bs: usize,
        bs: &'a [u8; 4],
    }

    /// Filters all luma lines of an edge (16 lines, four per bS).
    fn filter_luma_edge(data: &mut [u8], e: &Edge, t: &Thresholds) {
        for (s, &bs) in e.bs.iter().enumerate() {
            if bs == 0 {
                continue;
            }
            for k in s * e.lines_per_bs..(s + 1) * e.lines_per_bs {
                filter_luma_line(data, e.origin + k * e.along, e.across, bs, t);
            }
        }
    }

    /// Filters all chroma lines of an edge (8 lines, two per bS).
    fn filter_chroma_edge(data: &mut [u8], e: &Edge, t: &Thresholds) {
        for (s, &bs) in e.bs.iter().enumerate() {
            if bs == 0 {
                continue;
            }
            for k in s * e.lines_per_bs..(s + 1) * e.lines_per_bs {
                filter_chroma_line(data, e.origin + k * e.along, e.across, bs, t);
            }
        }
    }

    /// Filters the edges of one macroblock in one plane (8.7): vertical edges
    /// left to right, then horizontal edges top to bottom. Luma has edges at
    /// 0, 4, 8, 12; 4:2:0 chroma at 0 and 4, with the bS of luma edges 0 and 8.
    fn filter_mb_plane(
        plane: &mut Plane,
        site: &MbSite,
        qp: SiteQp,
        params: &DeblockParams,
        chroma: bool,
    ) {
        let (n, edges): (usize, &[usize]) = if chroma {
            (8, &[0, 2])
        } else {
            (16, &[0, 1, 2, 3])
        };
        let stride = plane.width;
        let base = site.mb_y * n * stride + site.mb_x * n;
        let inner = Thresholds::between(qp.cur, qp.cur, params);
        for vertical in [true, false] {
            let (across, along) = if vertical { (1, stride) } else { (stride, 1) };
            let (has_nb, qp_nb, rows) = if vertical {
                (site.has_left, qp.left, &site.bs.v)
            } else {
                (site.has_top, qp.top, &site.bs.h)
            };
            for &e in edges {
                let t = match (e, has_nb) {
                    (0, true) => Thresholds::between(qp_nb, qp.cur, params),
                    (0, false) => continue,
                    _ => inner,
                };
                if t.filters_nothing() || rows[e] == [0; 4] {
                    continue;
                }
                let edge = Edge {
                    origin: base + n / 4 * e * across,
                    across,
                    along,
                    lines_per_bs: n / 4,
                    bs: &rows[e],
                };
                if chroma {
                    filter_chroma_edge(&mut plane.data, &edge, &t);
                } else {
                    filter_luma_edge(&mut plane.data, &edge, &t);
                }
            }
        }
    }

    /// [`deblock_picture`](super::deblock_picture), one line at a time.
    pub fn deblock_picture(
        frame: &mut YuvFrame,
        mbs: &[MbDeblockInfo],
        width_mbs: usize,
        params: DeblockParams,
    ) {
        let rows = plane_mb_rows(&frame.y, width_mbs, 16)
            .min(plane_mb_rows(&frame.u, width_mbs, 8))
            .min(plane_mb_rows(&frame.v, width_mbs, 8));
        let count = mbs.len().min(rows * width_mbs);
        for addr in 0..count {
            let (site, luma, chroma) =
                mb_site_by_blocks(mbs, addr, width_mbs, params.chroma_qp_offset);
            filter_mb_plane(&mut frame.y, &site, luma, &params, false);
            filter_mb_plane(&mut frame.u, &site, chroma, &params, true);
            filter_mb_plane(&mut frame.v, &site, chroma, &params, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intra(qp: i32) -> MbDeblockInfo {
        MbDeblockInfo {
            intra: true,
            qp,
            ref_idx: [-1; 4],
            ..MbDeblockInfo::default()
        }
    }

    fn inter(qp: i32) -> MbDeblockInfo {
        MbDeblockInfo {
            qp,
            ..MbDeblockInfo::default()
        }
    }

    fn params() -> DeblockParams {
        DeblockParams::default()
    }

    #[test]
    fn tables_match_the_standard() {
        // Table 8-16.
        assert_eq!(ALPHA[15], 0);
        assert_eq!(ALPHA[16], 4);
        assert_eq!(ALPHA[30], 25);
        assert_eq!((ALPHA[51], BETA[51]), (255, 18));
        assert_eq!((ALPHA[40], BETA[40]), (80, 13));
        assert_eq!(BETA[16], 2);
        // Table 8-17.
        assert_eq!(TC0[51], [13, 17, 25]);
        assert_eq!(TC0[16], [0, 0, 0]);
        assert_eq!(TC0[17], [0, 0, 1]);
        assert_eq!(TC0[40], [4, 5, 7]);
        // Monotone in index.
        for i in 1..52 {
            assert!(ALPHA[i] >= ALPHA[i - 1] && BETA[i] >= BETA[i - 1]);
            assert!((0..3).all(|b| TC0[i][b] >= TC0[i - 1][b]));
        }
    }

    #[test]
    fn thresholds_clip_index_and_apply_offsets() {
        let t = Thresholds::new(51, &params());
        assert_eq!(
            (t.alpha, t.beta, t.tc0_for(1), t.tc0_for(2), t.tc0_for(3)),
            (255, 18, 13, 17, 25)
        );
        assert!(Thresholds::new(15, &params()).filters_nothing());
        let off = DeblockParams {
            offset_a: 12,
            offset_b: -12,
            chroma_qp_offset: 0,
        };
        let t = Thresholds::new(30, &off);
        assert_eq!(
            (t.alpha, t.beta),
            (i32::from(ALPHA[42]), i32::from(BETA[18]))
        );
        let t = Thresholds::new(i32::MAX, &off);
        assert_eq!(t.alpha, 255);
        assert_eq!(
            Thresholds::between(0, 30, &params()),
            Thresholds::new(15, &params())
        );
        assert_eq!(
            Thresholds::between(30, 31, &params()),
            Thresholds::new(31, &params())
        );
    }

    #[test]
    fn transpose_transposes() {
        let mut rng = Rng(99);
        for round in 0..200 {
            // Random bytes, and the extremes 0 and 255 in random places.
            let m: Square = std::array::from_fn(|_| {
                std::array::from_fn(|_| match (round % 3, rng.below(4)) {
                    (0, 0) => 0,
                    (0, 1) => 255,
                    _ => rng.next() as u8,
                })
            });
            let t = transpose(&m);
            assert_eq!(t, transpose_scalar(&m));
            for (r, line) in m.iter().enumerate() {
                for (c, &v) in line.iter().enumerate() {
                    assert_eq!(t[c][r], v);
                }
            }
            assert_eq!(transpose(&t), m);
        }
    }

    /// The AVX2 column loads and stores equal the SSE2 ones (and transpose):
    /// rows of one plane, and halves in two planes with other strides.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_columns_equal_sse2_columns() {
        if !avx2::available() {
            return;
        }
        let mut rng = Rng(7);
        for round in 0..100 {
            let (stride_a, stride_b) = (24 + 8 * (round % 3), 16 + 4 * (round % 5));
            let mut a: Vec<u8> = (0..stride_a * 16).map(|_| rng.next() as u8).collect();
            let mut b: Vec<u8> = (0..stride_b * 8).map(|_| rng.next() as u8).collect();
            let layouts = |a: &mut Vec<u8>, b: &mut Vec<u8>| {
                [
                    sse2::Halves::of_plane(a.as_mut_ptr().wrapping_add(round % 8), stride_a),
                    sse2::Halves {
                        top: (a.as_mut_ptr(), stride_a),
                        bottom: (b.as_mut_ptr().wrapping_add(round % 4), stride_b),
                    },
                ]
            };
            for which in 0..2 {
                let rows = layouts(&mut a, &mut b)[which];
                let (mut want, mut got) = ([[0u8; LANES]; LANES], [[0u8; LANES]; LANES]);
                // SAFETY: 16 bytes at each row lie in `a` or `b`; the CPU has AVX2.
                unsafe {
                    sse2::load_columns16(rows, &mut want);
                    avx2::load_columns16(rows, &mut got);
                }
                assert_eq!(got, want, "load, round {round}, layout {which}");
                for (c, line) in got.iter().enumerate() {
                    for (r, &v) in line.iter().enumerate() {
                        // SAFETY: as above.
                        assert_eq!(unsafe { *rows.row(r).add(c) }, v);
                    }
                }
                let lines: [[u8; LANES]; LANES] =
                    std::array::from_fn(|_| std::array::from_fn(|_| rng.next() as u8));
                let (a0, b0) = (a.clone(), b.clone());
                // SAFETY: as above.
                unsafe { sse2::store_columns16(&lines, rows) };
                let (want_a, want_b) = (a.clone(), b.clone());
                a.copy_from_slice(&a0);
                b.copy_from_slice(&b0);
                let rows = layouts(&mut a, &mut b)[which];
                // SAFETY: as above.
                unsafe { avx2::store_columns16(&lines, rows) };
                assert_eq!(
                    (&a, &b),
                    (&want_a, &want_b),
                    "store, round {round}, layout {which}"
                );
            }
        }
    }

    /// The raster mask of levels moves each luma4x4BlkIdx bit to 4·row +
    /// column of its block, for every mask.
    #[test]
    fn raster_levels_follow_the_block_positions() {
        for nonzero in 0..=u16::MAX {
            let mut expected = 0u16;
            for by in 0..4 {
                for bx in 0..4 {
                    expected |= ((nonzero >> blk_idx(bx, by)) & 1) << (4 * by + bx);
                }
            }
            assert_eq!(raster_levels(nonzero), expected, "{nonzero:#06x}");
        }
    }

    /// Strengths from summaries equal the rule block by block wherever they
    /// answer, and they answer for every neighbourhood without mixed motion
    /// (half the cases here: intra, one-vector inter with levels, still
    /// neighbours with nearby or distant vectors, other references, no
    /// neighbours at the picture's edges).
    #[test]
    fn summary_strengths_equal_the_rule_block_by_block() {
        let mut rng = Rng(0xb5_0000);
        let (mut answered, mut zero) = (0, 0);
        for round in 0..20_000 {
            let mut mb = || {
                let mut mb = random_mb(&mut rng);
                if round % 2 == 0 && !mb.intra {
                    mb.ref_idx = [(rng.below(5) / 4) as i8; 4];
                    let r = rng.below(4) as i16 + 2;
                    mb.mv = [[rng.below(2 * r as u32) as i16 - r, rng.below(7) as i16 - 3]; 16];
                    if rng.below(3) == 0 {
                        mb.nonzero = 0;
                    }
                }
                mb
            };
            let mbs = [mb(), mb(), mb()];
            let sums = mbs.map(|m| Summary::of(&m, 0));
            let (left, top) = match round % 4 {
                0 => (None, None),
                1 => (Some(1), None),
                2 => (None, Some(2)),
                _ => (Some(1), Some(2)),
            };
            let Some(got) =
                summary_strengths(&sums[0], left.map(|i| &sums[i]), top.map(|i| &sums[i]))
            else {
                let mixed = [Some(0), left, top]
                    .iter()
                    .flatten()
                    .any(|&i| sums[i].motion == Motion::Mixed);
                assert!(mixed, "round {round}: no answer without mixed motion");
                continue;
            };
            answered += 1;
            let want = strengths(&mbs[0], left.map(|i| &mbs[i]), top.map(|i| &mbs[i]));
            assert_eq!(got, want, "round {round}: {mbs:?}");
            zero += usize::from(got == Strengths::default());
        }
        assert!(
            answered > 8000 && zero > 500,
            "answered {answered}, all zero {zero}"
        );
    }

    #[test]
    fn strengths_follow_the_per_edge_rule() {
        // Every bS of a macroblock against boundary_strength edge by edge,
        // half of them one-vector inter macroblocks with levels (whose
        // internal edges are 2 or 0 by the levels alone).
        let mut rng = Rng(0x5eed);
        for round in 0..3000 {
            let mut cur = random_mb(&mut rng);
            if round % 2 == 0 {
                cur.intra = false;
                cur.ref_idx = [0; 4];
                cur.mv = [cur.mv[0]; 16];
                cur.nonzero = (rng.next() as u16) | 1 << rng.below(16);
            }
            let (left, top) = (random_mb(&mut rng), random_mb(&mut rng));
            let got = strengths(&cur, Some(&left), Some(&top));
            for e in 0..4 {
                for i in 0..4 {
                    let (v, h) = if e == 0 {
                        (
                            boundary_strength(&left, (3, i), &cur, (0, i), true),
                            boundary_strength(&top, (i, 3), &cur, (i, 0), true),
                        )
                    } else {
                        (
                            boundary_strength(&cur, (e - 1, i), &cur, (e, i), false),
                            boundary_strength(&cur, (i, e - 1), &cur, (i, e), false),
                        )
                    };
                    assert_eq!(got.v[e][i], v, "round {round}: vertical edge {e} line {i}");
                    assert_eq!(
                        got.h[e][i], h,
                        "round {round}: horizontal edge {e} line {i}"
                    );
                }
            }
        }
    }

    #[test]
    fn block_indices_follow_luma4x4blkidx() {
        assert_eq!(blk_idx(0, 0), 0);
        assert_eq!(blk_idx(1, 0), 1);
        assert_eq!(blk_idx(0, 1), 2);
        assert_eq!(blk_idx(2, 0), 4);
        assert_eq!(blk_idx(0, 2), 8);
        assert_eq!(blk_idx(3, 3), 15);
        assert_eq!(part_idx(3, 0), 1);
        assert_eq!(part_idx(1, 3), 2);
    }

    #[test]
    fn boundary_strength_follows_8_7_2_1() {
        let (i, p) = (intra(30), inter(30));
        assert_eq!(boundary_strength(&i, (3, 0), &p, (0, 0), true), 4);
        assert_eq!(boundary_strength(&p, (3, 0), &i, (0, 0), true), 4);
        assert_eq!(boundary_strength(&i, (0, 0), &i, (1, 0), false), 3);
        assert_eq!(boundary_strength(&p, (3, 0), &p, (0, 0), true), 0);
        // Non-zero coefficients on either side.
        let mut c = inter(30);
        c.nonzero = 1 << blk_idx(1, 2);
        assert_eq!(boundary_strength(&c, (1, 2), &p, (2, 2), false), 2);
        assert_eq!(boundary_strength(&p, (0, 2), &c, (1, 2), false), 2);
        assert_eq!(boundary_strength(&c, (0, 2), &c, (0, 3), false), 0);
        // Motion: a component differing by 4 quarter samples, or another reference.
        let mut m = inter(30);
        m.mv[blk_idx(2, 0)] = [4, 0];
        assert_eq!(boundary_strength(&m, (1, 0), &m, (2, 0), false), 1);
        m.mv[blk_idx(2, 0)] = [-3, 3];
        assert_eq!(boundary_strength(&m, (1, 0), &m, (2, 0), false), 0);
        m.mv[blk_idx(2, 0)] = [0, -4];
        assert_eq!(boundary_strength(&m, (1, 0), &m, (2, 0), false), 1);
        let mut r = inter(30);
        r.ref_idx[1] = 1;
        assert_eq!(boundary_strength(&r, (1, 0), &r, (2, 0), false), 1);
        assert_eq!(boundary_strength(&r, (2, 0), &r, (3, 0), false), 0);
        // One motion vector against none.
        let mut n = inter(30);
        n.ref_idx = [-1; 4];
        assert_eq!(boundary_strength(&n, (3, 0), &p, (0, 0), true), 1);
        assert_eq!(boundary_strength(&n, (0, 0), &n, (1, 0), false), 0);
    }

    #[test]
    fn strengths_skip_missing_neighbours() {
        let i = intra(30);
        let s = strengths(&i, None, Some(&i));
        assert_eq!(s.v[0], [0; 4]);
        assert_eq!(s.v[1], [3; 4]);
        assert_eq!(s.h[0], [4; 4]);
        assert_eq!(s.h[3], [3; 4]);
        let mut p = inter(30);
        p.nonzero = 1 << blk_idx(3, 1);
        let s = strengths(&inter(30), Some(&p), None);
        assert_eq!(s.v[0], [0, 2, 0, 0]);
        assert_eq!(s.h[0], [0; 4]);
    }

    /// One line filtered by the reference and, in every lane, by the lane filter.
    fn line_after(bs: u8, samples: [u8; 8], index: i32, chroma: bool) -> [u8; 8] {
        let mut d = samples;
        let t = Thresholds::new(index, &params());
        let mut w: Window = [[0; LANES]; 8];
        for (k, &v) in samples.iter().enumerate() {
            w[k] = [v; LANES];
        }
        if chroma {
            reference::filter_chroma_line(&mut d, 4, 1, bs, &t);
            filter_chroma_lanes(&mut w, &t, &[bs; 4]);
        } else {
            reference::filter_luma_line(&mut d, 4, 1, bs, &t);
            filter_luma_lanes(&mut w, &t, &[bs; 4]);
        }
        for (k, lane) in w.iter().enumerate() {
            assert!(lane.iter().all(|&v| v == d[k]), "{lane:?} vs {d:?}");
        }
        d
    }

    #[test]
    fn line_filters_match_hand_computation() {
        let step = [10, 10, 10, 10, 20, 20, 20, 20];
        // indexA 40: α 80, β 13, tC0 5 for bS 2 → tC 7, Δ 4 (8.7.2.3).
        assert_eq!(
            line_after(2, step, 40, false),
            [10, 10, 12, 14, 16, 17, 20, 20]
        );
        // Strong filter (8.7.2.4).
        assert_eq!(
            line_after(4, step, 40, false),
            [10, 11, 13, 14, 16, 18, 19, 20]
        );
        // Chroma: tC = tC0 + 1, only p0 and q0 change.
        assert_eq!(
            line_after(2, step, 40, true),
            [10, 10, 10, 14, 16, 20, 20, 20]
        );
        assert_eq!(
            line_after(4, step, 40, true),
            [10, 10, 10, 13, 18, 20, 20, 20]
        );
        // bS 1 at indexA 30: tC0 1, tC 3 clips Δ = 4.
        assert_eq!(line_after(1, step, 30, false)[3..5], [13, 17]);
        // A step of α or more is an edge of the picture: untouched.
        let big = [10, 10, 10, 10, 90, 90, 90, 90];
        assert_eq!(line_after(4, big, 40, false), big);
        // Weak bS 4 form when |p0 − q0| ≥ (α >> 2) + 2.
        let mid = [10, 10, 10, 10, 40, 40, 40, 40];
        assert_eq!(
            line_after(4, mid, 40, false),
            [10, 10, 10, 18, 33, 40, 40, 40]
        );
        // β decides too: |p1 − p0| ≥ β leaves the line.
        assert_eq!(
            line_after(4, [10, 10, 40, 10, 20, 20, 20, 20], 40, false)[3],
            10
        );
    }

    /// The AVX2 lane filters give the portable ones' results on random and
    /// extreme windows, bS mixes and thresholds.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_lane_filters_match_portable() {
        if !avx2::available() {
            return;
        }
        let mut rng = Rng(0x0bad_cafe);
        let mut changed = 0;
        for round in 0..20_000 {
            let base = rng.below(256) as i32;
            let spread = [0, 1, 3, 8, 40, 255][rng.below(6) as usize];
            let w: Window = std::array::from_fn(|_| {
                std::array::from_fn(|_| match round % 4 {
                    0 => [0, 255][rng.below(2) as usize],
                    _ => (base + rng.below(spread + 1) as i32 - spread as i32 / 2).clamp(0, 255)
                        as u8,
                })
            });
            let t = Thresholds::new(rng.below(64) as i32 - 6, &params());
            let bs: [u8; 4] = std::array::from_fn(|_| rng.below(5) as u8);
            for chroma in [false, true] {
                let (mut fast, mut slow) = (w, w);
                // SAFETY: AVX2 is present (checked above).
                unsafe {
                    if chroma {
                        avx2::filter_chroma_lanes(&avx2::WindowRows(&mut fast), &t, &bs);
                    } else {
                        avx2::filter_luma_lanes(&avx2::WindowRows(&mut fast), &t, &bs);
                    }
                }
                if chroma {
                    filter_chroma_lanes_portable(&mut slow, &t, &bs);
                } else {
                    filter_luma_lanes_portable(&mut slow, &t, &bs);
                }
                assert_eq!(fast, slow, "round {round}, bS {bs:?}, chroma {chroma}");
                changed += usize::from(slow != w);
            }
        }
        assert!(changed > 5_000, "only {changed} windows were filtered");
    }

    fn frame_with(w: usize, h: usize, mut f: impl FnMut(usize, usize) -> u8) -> YuvFrame {
        let mut fr = YuvFrame::new(w, h);
        for y in 0..h {
            for x in 0..w {
                fr.y.data[y * w + x] = f(x, y);
            }
        }
        fr
    }

    #[test]
    fn flat_picture_is_unchanged() {
        let mut f = frame_with(48, 32, |_, _| 77);
        let before = f.clone();
        deblock_picture(&mut f, &[intra(51); 6], 3, params());
        assert_eq!(f, before);
    }

    #[test]
    fn small_step_between_intra_mbs_is_smoothed() {
        let mut f = frame_with(32, 16, |x, _| if x < 16 { 100 } else { 110 });
        deblock_picture(&mut f, &[intra(40); 2], 2, params());
        // Strong filter across the macroblock edge (bS 4, α 80).
        assert_eq!(
            &f.y.row(5)[12..20],
            &[100, 101, 103, 104, 106, 108, 109, 110]
        );
        assert_eq!(f.u, Plane::filled(16, 8, 128));
    }

    #[test]
    fn step_larger_than_alpha_stays() {
        let mut f = frame_with(32, 16, |x, _| if x < 16 { 20 } else { 120 });
        let before = f.clone();
        deblock_picture(&mut f, &[intra(40); 2], 2, params());
        assert_eq!(f, before);
    }

    #[test]
    fn pcm_neighbour_averages_qp_zero() {
        // QPY 30 beside I_PCM (QP 0): qPav 15 → α 0, nothing filtered at the edge.
        let mut f = frame_with(32, 16, |x, _| if x < 16 { 100 } else { 104 });
        let mut pcm = intra(0);
        pcm.qp = 0;
        deblock_picture(&mut f, &[pcm, intra(30)], 2, params());
        assert_eq!(f.y.row(0)[15..17], [100, 104]);
        // Both at 30: filtered.
        let mut g = frame_with(32, 16, |x, _| if x < 16 { 100 } else { 104 });
        deblock_picture(&mut g, &[intra(30); 2], 2, params());
        assert_ne!(g.y.row(0)[15..17], [100, 104]);
    }

    #[test]
    fn chroma_uses_chroma_qp_and_its_offset() {
        // QPY 20: QPC 20 (α 7) with offset 0; QPC 31 (α 28) with offset 12.
        let mk = || {
            let mut f = YuvFrame::new(32, 16);
            for y in 0..8 {
                for x in 0..16 {
                    f.u.data[y * 16 + x] = if x < 8 { 100 } else { 110 };
                }
            }
            f
        };
        let mut f = mk();
        deblock_picture(&mut f, &[intra(20); 2], 2, params());
        assert_eq!(f.u.row(0)[7..9], [100, 110]);
        let mut g = mk();
        let off = DeblockParams {
            chroma_qp_offset: 12,
            ..params()
        };
        deblock_picture(&mut g, &[intra(20); 2], 2, off);
        assert_eq!(g.u.row(0)[7..9], [103, 108]);
        assert_eq!(g.v, mk().v);
    }

    #[test]
    fn mismatched_inputs_never_panic() {
        let mbs = [intra(51); 12];
        let mut f = frame_with(48, 32, |x, y| ((x * 7 + y * 3) % 50) as u8);
        for wm in [0, 1, 2, 3, 4, 100, usize::MAX] {
            for n in [0, 1, 5, 6, 12] {
                deblock_picture(&mut f, &mbs[..n], wm, params());
            }
        }
        // Planes whose data is shorter than width × height.
        let mut g = frame_with(48, 32, |_, _| 1);
        g.y.data.truncate(100);
        g.u.data.clear();
        deblock_picture(&mut g, &mbs, 3, params());
        let mut h = frame_with(48, 32, |_, _| 1);
        h.y.width = 0;
        deblock_picture(&mut h, &mbs, 3, params());
        // Wild values.
        let wild = MbDeblockInfo {
            intra: false,
            qp: i32::MIN,
            nonzero: u16::MAX,
            mv: [[i16::MIN, i16::MAX]; 16],
            ref_idx: [i8::MIN, 0, i8::MAX, -1],
        };
        let extreme = DeblockParams {
            offset_a: i32::MAX,
            offset_b: i32::MIN,
            chroma_qp_offset: i32::MAX,
        };
        deblock_picture(&mut f, &[wild; 6], 3, extreme);
    }

    #[test]
    fn short_mbs_filter_what_exists() {
        let src = frame_with(
            32,
            32,
            |x, y| if (x / 16 + y / 16) % 2 == 0 { 100 } else { 110 },
        );
        let mut full = src.clone();
        deblock_picture(&mut full, &[intra(40); 4], 2, params());
        let mut part = src.clone();
        deblock_picture(&mut part, &[intra(40); 3], 2, params());
        // The first three macroblocks' edges are the same; the fourth's are not filtered.
        assert_eq!(full.y.row(4)[..], part.y.row(4)[..]);
        assert_eq!(part.y.row(24)[16..], src.y.row(24)[16..]);
    }

    /// A small xorshift generator for test content.
    struct Rng(u32);

    impl Rng {
        fn next(&mut self) -> u32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 17;
            self.0 ^= self.0 << 5;
            self.0
        }

        fn below(&mut self, n: u32) -> u32 {
            self.next() % n
        }
    }

    /// Content that passes the filter often: smooth ramps, small steps at
    /// block edges, some noise and the odd large step.
    fn random_frame(w: usize, h: usize, rng: &mut Rng) -> YuvFrame {
        let mut f = YuvFrame::new(w, h);
        let base = rng.below(200) as usize;
        let noise = 1 + rng.below(12);
        for p in [&mut f.y, &mut f.u, &mut f.v] {
            let width = p.width;
            for (i, v) in p.data.iter_mut().enumerate() {
                let (x, y) = (i % width, i / width);
                let block = (x / 4 + y / 4 * 3) % 5;
                let ramp = base + x / 3 + block * 3;
                let big = if rng.below(64) == 0 { 120 } else { 0 };
                *v = ((ramp + big + rng.below(noise) as usize) % 256) as u8;
            }
        }
        f
    }

    fn random_mb(rng: &mut Rng) -> MbDeblockInfo {
        let intra = rng.below(3) == 0;
        let mut mb = MbDeblockInfo {
            intra,
            qp: rng.below(52) as i32,
            nonzero: if rng.below(2) == 0 {
                0
            } else {
                rng.next() as u16
            },
            mv: [[0; 2]; 16],
            ref_idx: [-1; 4],
        };
        if !intra {
            let shared = [rng.below(9) as i16 - 4, rng.below(9) as i16 - 4];
            for mv in mb.mv.iter_mut() {
                *mv = if rng.below(3) == 0 {
                    [rng.below(13) as i16 - 6, rng.below(13) as i16 - 6]
                } else {
                    shared
                };
            }
            for r in mb.ref_idx.iter_mut() {
                *r = (rng.below(4) / 3) as i8;
            }
        }
        mb
    }

    /// Random samples for the planes of a `w`×`h` picture, `cut` rows short
    /// of whole macroblock rows in every plane.
    fn noise_planes(w: usize, h: usize, cut: usize, rng: &mut Rng) -> [Vec<u8>; 3] {
        let mut plane = |len: usize| (0..len).map(|_| rng.below(256) as u8).collect::<Vec<u8>>();
        [
            plane(w * (h - cut)),
            plane(w / 2 * (h / 2 - cut)),
            plane(w / 2 * (h / 2 - cut)),
        ]
    }

    /// The whole-row moves of the vertical-edge strips (16-sample loads and
    /// stores, transposed in registers) give the strips and planes of the
    /// row-by-row copies, at every macroblock position with and without a
    /// left edge, in planes cut short so that the row-by-row copies run too.
    #[test]
    fn strip_moves_match_the_row_by_row_copies() {
        let mut rng = Rng(0x0dd_ba11);
        let (mut whole, mut short) = (0, 0);
        for round in 0..400 {
            let (wm, hm) = (1 + rng.below(5) as usize, 1 + rng.below(3) as usize);
            let (w, h) = (wm * 16, hm * 16);
            let cut = if rng.below(4) == 0 {
                rng.below(4) as usize
            } else {
                0
            };
            let [mut y, mut u, mut v] = noise_planes(w, h, cut, &mut rng);
            let (mb_x, mb_y) = (rng.below(wm as u32) as usize, rng.below(hm as u32) as usize);
            let site = MbSite {
                mb_x,
                mb_y,
                has_left: mb_x > 0,
                has_top: mb_y > 0,
                bs: Strengths::default(),
            };
            let left_live = rng.below(2) == 0;
            let (ay, au, av) = (
                site.strip_at(w, 16, left_live),
                site.strip_at(w / 2, 8, left_live),
                site.strip_at(w / 2, 8, left_live),
            );
            let what = format!("round {round}: {wm}x{hm} MBs, cut {cut}, MB ({mb_x}, {mb_y})");
            match luma_strip_start(y.len(), &ay) {
                Some(_) => whole += 1,
                None => short += 1,
            }

            let (mut fast, mut rows): (Strip<20>, Strip<20>) = ([[7; LANES]; 20], [[7; LANES]; 20]);
            let whole = luma_strip_start(y.len(), &ay);
            // SAFETY: `whole` is the strip's, and so below.
            unsafe { gather_luma_columns(&mut fast, Samples::of(&mut y), &ay, whole) };
            gather_luma_columns_by_rows(&mut rows, Samples::of(&mut y), &ay);
            assert_eq!(fast, rows, "luma gather, {what}");
            for line in &mut fast[ay.k0..] {
                line.fill_with(|| rng.below(256) as u8);
            }
            let (mut y_fast, mut y_rows) = (y.clone(), y.clone());
            unsafe { scatter_luma_columns(&fast, Samples::of(&mut y_fast), &ay, whole) };
            scatter_luma_columns_by_rows(&fast, Samples::of(&mut y_rows), &ay);
            assert_eq!(y_fast, y_rows, "luma scatter, {what}");

            let (mut fast, mut rows): (Strip<20>, Strip<20>) = ([[7; LANES]; 20], [[7; LANES]; 20]);
            let whole = chroma_strip_starts([u.len(), v.len()], [&au, &av]);
            let (su, sv) = (Samples::of(&mut u), Samples::of(&mut v));
            unsafe { gather_chroma_columns(&mut fast, (su, sv), [&au, &av], whole) };
            gather_chroma_columns_by_rows(&mut rows, su, sv, [&au, &av]);
            let k = if chroma_left(&au).is_some() { 0 } else { 4 };
            assert_eq!(fast[k..12], rows[k..12], "chroma gather, {what}");
            // The filter changes entries k..12 at most; the rest travels along.
            for line in &mut fast[k..12] {
                line.fill_with(|| rng.below(256) as u8);
            }
            let (mut u_fast, mut v_fast, mut u_rows, mut v_rows) =
                (u.clone(), v.clone(), u.clone(), v.clone());
            let fast_planes = (Samples::of(&mut u_fast), Samples::of(&mut v_fast));
            unsafe { scatter_chroma_columns(&fast, fast_planes, [&au, &av], whole) };
            let row_planes = (Samples::of(&mut u_rows), Samples::of(&mut v_rows));
            scatter_chroma_columns_by_rows(&fast, row_planes.0, row_planes.1, [&au, &av]);
            assert_eq!((u_fast, v_fast), (u_rows, v_rows), "chroma scatter, {what}");
        }
        assert!(whole > 200 && short > 20, "{whole} whole, {short} short");
    }

    /// The 8-column transposes move sample c of row r to lane r of line c
    /// and back, in one plane and across a Cb and a Cr square.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn eight_column_moves_transpose_and_restore() {
        let mut rng = Rng(0xc01_face);
        for round in 0..50 {
            let (stride_a, stride_b) = (8 + 4 * (round % 5), 8 + 8 * (round % 3));
            let mut a: Vec<u8> = (0..stride_a * 16).map(|_| rng.below(256) as u8).collect();
            let mut b: Vec<u8> = (0..stride_b * 8).map(|_| rng.below(256) as u8).collect();
            for which in 0..2 {
                let rows = if which == 0 {
                    sse2::Halves::of_plane(a.as_mut_ptr(), stride_a)
                } else {
                    sse2::Halves {
                        top: (a.as_mut_ptr(), stride_a),
                        bottom: (b.as_mut_ptr(), stride_b),
                    }
                };
                let mut lines = [[0u8; LANES]; 8];
                // SAFETY: 8 bytes at each row lie in `a` or `b`.
                unsafe { sse2::load_columns8(rows, &mut lines) };
                for (c, line) in lines.iter().enumerate() {
                    for (r, &v) in line.iter().enumerate() {
                        // SAFETY: as above.
                        assert_eq!(unsafe { *rows.row(r).add(c) }, v, "round {round} {which}");
                    }
                }
                let new: [[u8; LANES]; 8] =
                    std::array::from_fn(|_| std::array::from_fn(|_| rng.below(256) as u8));
                let (a0, b0) = (a.clone(), b.clone());
                // SAFETY: as above.
                unsafe { sse2::store_columns8(&new, rows) };
                for (i, (&got, &was)) in a.iter().zip(&a0).enumerate() {
                    let (r, c) = (i / stride_a, i % stride_a);
                    let want = if c < 8 && (which == 0 || r < 8) {
                        new[c][r]
                    } else {
                        was
                    };
                    assert_eq!(got, want, "round {round} {which}: a row {r} sample {c}");
                }
                for (i, (&got, &was)) in b.iter().zip(&b0).enumerate() {
                    let (r, c) = (i / stride_b, i % stride_b);
                    let want = if which == 1 && c < 8 {
                        new[c][8 + r]
                    } else {
                        was
                    };
                    assert_eq!(got, want, "round {round} {which}: b row {r} sample {c}");
                }
            }
        }
    }

    /// Pictures of macroblocks mostly without levels and with one vector
    /// each, as P pictures are, where most filtered macroblocks filter only
    /// their left (and top) edges: the filter equals the reference, and
    /// the left edges alone took their short path often.
    #[test]
    fn left_edges_alone_match_the_reference() {
        let mut rng = Rng(0x1eef_ed6e);
        let mut alone = 0;
        for round in 0..120 {
            let (wm, hm) = (1 + rng.below(6) as usize, 1 + rng.below(4) as usize);
            let src = random_frame(wm * 16, hm * 16, &mut rng);
            let qp = 20 + rng.below(30) as i32;
            let mbs: Vec<MbDeblockInfo> = (0..wm * hm)
                .map(|_| {
                    if rng.below(5) == 0 {
                        return random_mb(&mut rng);
                    }
                    let mv = [rng.below(3) as i16 * 4 - 4, rng.below(2) as i16 * 5];
                    MbDeblockInfo {
                        intra: false,
                        qp,
                        nonzero: 0,
                        mv: [mv; 16],
                        ref_idx: [0; 4],
                    }
                })
                .collect();
            let sums = Summary::of_all(&mbs, 0);
            let table = ThresholdTable::new(&params());
            for addr in 0..mbs.len() {
                let (site, luma, _) = mb_site((&mbs, &sums), addr, wm);
                let plan = edge_plan(&site, &SiteThresholds::new(&site, luma, &table), true);
                alone += usize::from(matches!(plan, [Some(_), None, None, None]));
            }
            let (mut fast, mut slow) = (src.clone(), src.clone());
            deblock_picture(&mut fast, &mbs, wm, params());
            reference::deblock_picture(&mut slow, &mbs, wm, params());
            assert_eq!(fast, slow, "round {round}: {wm}x{hm} MBs");
        }
        assert!(
            alone > 300,
            "only {alone} macroblocks filtered their left edge alone"
        );
    }

    #[test]
    fn strip_filter_matches_the_line_by_line_reference() {
        let mut rng = Rng(0x1234_5678);
        let mut changed = 0;
        for round in 0..300 {
            let (wm, hm) = (1 + rng.below(6) as usize, 1 + rng.below(4) as usize);
            let src = random_frame(wm * 16, hm * 16, &mut rng);
            let uniform_qp = rng.below(2) == 0;
            let qp = 16 + rng.below(36) as i32;
            let mbs: Vec<MbDeblockInfo> = (0..wm * hm)
                .map(|_| {
                    let mut mb = random_mb(&mut rng);
                    if uniform_qp {
                        mb.qp = qp;
                    }
                    mb
                })
                .collect();
            let p = DeblockParams {
                offset_a: 2 * (rng.below(13) as i32 - 6),
                offset_b: 2 * (rng.below(13) as i32 - 6),
                chroma_qp_offset: rng.below(25) as i32 - 12,
            };
            let (mut fast, mut slow) = (src.clone(), src.clone());
            deblock_picture(&mut fast, &mbs, wm, p);
            reference::deblock_picture(&mut slow, &mbs, wm, p);
            assert_eq!(fast, slow, "round {round}: {wm}x{hm} MBs, {p:?}");
            changed += usize::from(fast != src);
        }
        assert!(
            changed > 200,
            "only {changed} of 300 pictures were filtered"
        );
    }

    /// The portable macroblock filter (what CPUs without AVX2 run) gives the
    /// reference's pictures too.
    #[test]
    fn portable_filter_matches_the_line_by_line_reference() {
        let mut rng = Rng(0x51de_c0de);
        for round in 0..100 {
            let (wm, hm) = (1 + rng.below(5) as usize, 1 + rng.below(4) as usize);
            let src = random_frame(wm * 16, hm * 16, &mut rng);
            let mbs: Vec<MbDeblockInfo> = (0..wm * hm).map(|_| random_mb(&mut rng)).collect();
            let p = DeblockParams {
                offset_a: 2 * (rng.below(13) as i32 - 6),
                offset_b: 2 * (rng.below(13) as i32 - 6),
                chroma_qp_offset: rng.below(25) as i32 - 12,
            };
            let (mut fast, mut slow) = (src.clone(), src.clone());
            for addr in 0..mbs.len() {
                let sums = Summary::of_all(&mbs, p.chroma_qp_offset);
                let (site, luma, chroma) = mb_site((&mbs, &sums), addr, wm);
                let table = ThresholdTable::new(&p);
                filter_mb_portable(FrameView::of(&mut fast), &site, luma, chroma, &table);
            }
            reference::deblock_picture(&mut slow, &mbs, wm, p);
            assert_eq!(fast, slow, "round {round}: {wm}x{hm} MBs, {p:?}");
        }
    }

    /// Thread pools of the given sizes.
    fn pools(sizes: &[usize]) -> Vec<rayon::ThreadPool> {
        sizes
            .iter()
            .map(|&n| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build()
                    .expect("pool")
            })
            .collect()
    }

    #[test]
    fn wavefront_equals_raster_for_any_thread_count() {
        let mut rng = Rng(0x9e37_79b9);
        let pools = pools(&[1, 2, 4, 5]);
        for round in 0..40 {
            let (wm, hm) = (1 + rng.below(10) as usize, 1 + rng.below(7) as usize);
            let src = random_frame(wm * 16, hm * 16, &mut rng);
            // Sometimes fewer entries than macroblocks: the rest stays unfiltered.
            let count = wm * hm - usize::from(rng.below(3) == 0) * rng.below(wm as u32) as usize;
            let mbs: Vec<MbDeblockInfo> = (0..count).map(|_| random_mb(&mut rng)).collect();
            let mut slow = src.clone();
            reference::deblock_picture(&mut slow, &mbs, wm, params());
            for pool in &pools {
                let mut fast = src.clone();
                pool.install(|| deblock_picture(&mut fast, &mbs, wm, params()));
                assert_eq!(fast, slow, "round {round}: {wm}x{hm}, {count} MBs");
            }
        }
    }

    /// Pictures large enough for the row workers to run side by side for a
    /// while (the small ones above are mostly done by the first worker
    /// before the next starts) equal the raster order's, row ends included.
    #[test]
    fn rows_filtered_side_by_side_equal_raster_order() {
        let mut rng = Rng(0x7a11_0c8e);
        let pools = pools(&[2, 3]);
        for round in 0..6 {
            let (wm, hm) = (40 + rng.below(30) as usize, 16 + rng.below(8) as usize);
            let src = random_frame(wm * 16, hm * 16, &mut rng);
            let mbs: Vec<MbDeblockInfo> = (0..wm * hm).map(|_| random_mb(&mut rng)).collect();
            let mut slow = src.clone();
            reference::deblock_picture(&mut slow, &mbs, wm, params());
            for pool in &pools {
                for _ in 0..3 {
                    let mut fast = src.clone();
                    pool.install(|| deblock_picture(&mut fast, &mbs, wm, params()));
                    assert!(fast == slow, "round {round}: {wm}x{hm}");
                }
            }
        }
    }

    /// Timing on a 1920×1080 (120×68 macroblock) intra picture at QP 30 in
    /// which most lines pass filterSamplesFlag: `cargo test --release -p avc
    /// deblock_1080p -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn deblock_1080p_timing() {
        let (w, h) = (1920, 1088);
        let mut s = 1u32;
        let src = frame_with(w, h, |x, y| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((x + y) / 8 % 200) as u8 + (s >> 30) as u8
        });
        let mbs = vec![intra(30); (w / 16) * (h / 16)];
        let runs = 50;
        let mut best = std::time::Duration::MAX;
        // Inside a pool, as the encoder runs it (RAYON_NUM_THREADS sets its size).
        let pool = rayon::ThreadPoolBuilder::new().build().expect("pool");
        for _ in 0..runs {
            let mut f = src.clone();
            let t = std::time::Instant::now();
            pool.install(|| deblock_picture(&mut f, &mbs, w / 16, params()));
            best = best.min(t.elapsed());
            assert_ne!(f, src);
        }
        let mut slow = src.clone();
        let t = std::time::Instant::now();
        reference::deblock_picture(&mut slow, &mbs, w / 16, params());
        let line_by_line = t.elapsed();
        let mut fast = src.clone();
        deblock_picture(&mut fast, &mbs, w / 16, params());
        assert_eq!(fast, slow);
        println!("deblock 1920x1088 intra qp 30: best of {runs}: {best:?} (line-by-line reference: {line_by_line:?})");
    }
}
