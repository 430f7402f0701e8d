//! Motion estimation. Each macroblock searches on its own: it reads the
//! source, the reference picture and vectors of the previous picture (the
//! seeds), never a decision made in the same picture (DESIGN invariant 8).
//! Costs are integer: distortion + λ·(bits of the vector difference from
//! the first seed), ties broken by the order of evaluation.

use crate::bits::se_len;
use crate::frame::Plane;
use crate::mc::{mv_limits, RefPicture};
use crate::pixel::{sad_16x16_x4, sad_16x16_x4_unchecked, sad_u8, satd_u8};
use crate::syntax::Partition;

/// Effort settings of the search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeParams {
    /// Steps of the integer diamond search.
    pub max_steps: u32,
    /// Quarter-sample refinement rounds (0: integer vectors only).
    pub subpel_rounds: u32,
    /// Try 16×8, 8×16 and 8×8 partitions besides 16×16.
    pub partitions: bool,
    /// A macroblock that the predicted P_Skip vector leaves without levels
    /// takes it without a motion search (faster); otherwise the two compete
    /// (avc::picture::decide_p_mb).
    pub early_skip: bool,
}

/// The chosen motion of a macroblock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MbMotion {
    pub partition: Partition,
    /// Vector of each partition (quarter samples); unused entries are zero.
    pub mvs: [[i16; 2]; 4],
    /// Distortion (SATD) + λ·bits of the whole macroblock.
    pub cost: u32,
}

/// Where a block sits and what it searches for.
struct Block<'a> {
    src: &'a Plane,
    refp: &'a RefPicture,
    x: i32,
    y: i32,
    w: usize,
    h: usize,
    /// Limits of each vector component, quarter samples.
    lim: [(i32, i32); 2],
    /// The same limits in whole samples (their ends are whole samples).
    full_lim: [(i32, i32); 2],
    /// Offset of the block's first sample in the source plane, and of the
    /// co-located sample in the reference's padded samples.
    src_at: usize,
    ref_at: usize,
    /// The source block, and the reference block at every whole-sample
    /// vector within the limits, lie in their planes' samples.
    window: bool,
    pred: [i16; 2],
    lambda: u32,
}

impl Block<'_> {
    fn new<'a>(
        src: &'a Plane,
        refp: &'a RefPicture,
        rect: (usize, usize, usize, usize),
        mb: (i32, i32),
        pred: [i16; 2],
        lambda: u32,
    ) -> Block<'a> {
        let (x, y) = (mb.0 + rect.0 as i32, mb.1 + rect.1 as i32);
        let lim = [
            mv_limits(x, rect.2 as i32, refp.full.width as i32),
            mv_limits(y, rect.3 as i32, refp.full.height as i32),
        ];
        let full_lim = lim.map(|(lo, hi)| (lo / 4, hi / 4));
        let (w, h) = (rect.2, rect.3);
        let src_at = y as usize * src.width + x as usize;
        let ref_at = refp.full.offset(x, y);
        let src_fits = h > 0 && src_at + (h - 1) * src.width + w <= src.data.len();
        Block {
            src,
            refp,
            x,
            y,
            w,
            h,
            lim,
            full_lim,
            src_at,
            ref_at,
            window: src_fits && window_fits(refp, ref_at, full_lim, (w, h)),
            pred,
            lambda,
        }
    }

    fn clamp(&self, mv: [i32; 2]) -> [i32; 2] {
        [
            mv[0].clamp(self.lim[0].0, self.lim[0].1),
            mv[1].clamp(self.lim[1].0, self.lim[1].1),
        ]
    }

    /// Whether the whole-sample vector `full` lies within the limits
    /// (whose ends, from [`mv_limits`], are whole samples).
    #[inline]
    fn holds_full(&self, full: [i32; 2]) -> bool {
        let inside = |v: i32, (lo, hi): (i32, i32)| lo <= v && v <= hi;
        inside(full[0], self.full_lim[0]) && inside(full[1], self.full_lim[1])
    }

    fn mv_bits(&self, mv: [i32; 2]) -> u32 {
        mvd_len(mv[0] - i32::from(self.pred[0])) + mvd_len(mv[1] - i32::from(self.pred[1]))
    }

    /// SAD at an integer vector (in whole samples) + λ·bits.
    fn sad_cost(&self, full: [i32; 2]) -> u32 {
        // The common widths as constants, so that the SAD kernel is chosen
        // where this is compiled.
        let sad = match self.w {
            16 => self.sad(full, 16),
            8 => self.sad(full, 8),
            w => self.sad(full, w),
        };
        sad + self.lambda * self.mv_bits([full[0] * 4, full[1] * 4])
    }

    /// [`Block::sad_cost`] of each of `cands` (at most [`PATTERN_MAX`]),
    /// for 16×16 blocks in groups of two to four with the source rows
    /// loaded once.
    fn sad_costs(&self, cands: &[[i32; 2]]) -> [u32; PATTERN_MAX] {
        let mut costs = [0; PATTERN_MAX];
        let n = cands.len().min(PATTERN_MAX);
        if (self.w, self.h) != (16, 16) {
            for k in 0..n {
                costs[k] = self.sad_cost(cands[k]);
            }
            return costs;
        }
        let src = &self.src.data[self.src_at..];
        let stride = self.refp.full.stride();
        let mut k = 0;
        while k < n {
            let group = (n - k).min(4);
            if group < 2 {
                costs[k] = self.sad_cost(cands[k]);
                break;
            }
            // Two SADs alone cost about what four together do: a group of
            // two or three repeats its first candidate.
            let pick = |j: usize| cands[k + if j < group { j } else { 0 }];
            let sads = if self.window {
                let blocks = std::array::from_fn(|j| self.reference_ptr(pick(j)));
                // SAFETY: the candidates lie within the limits (seeds are
                // clamped, steps keep to `holds_full`), where `window`
                // says every block lies in the samples; so does the source.
                unsafe { sad_16x16_x4_unchecked(src.as_ptr(), self.src.width, blocks, stride) }
            } else {
                let blocks = std::array::from_fn(|j| self.reference_at(pick(j)).0);
                sad_16x16_x4(src, self.src.width, blocks, stride)
            };
            for j in 0..group {
                let c = cands[k + j];
                costs[k + j] = sads[j] + self.lambda * self.mv_bits([c[0] * 4, c[1] * 4]);
            }
            k += group;
        }
        costs
    }

    /// SAD of the block (`w` samples wide, the block's width) at an
    /// integer vector.
    #[inline(always)]
    fn sad(&self, full: [i32; 2], w: usize) -> u32 {
        let (pred, stride) = self.reference_at(full);
        sad_u8(
            &self.src.data[self.src_at..],
            self.src.width,
            pred,
            stride,
            w,
            self.h,
        )
    }

    /// The reference samples of the block at the whole-sample vector `full`
    /// (within the limits, which keep it inside the margin), from its first
    /// one on, and their stride: `full[1]` rows and `full[0]` samples from
    /// the co-located block.
    #[inline]
    fn reference_at(&self, full: [i32; 2]) -> (&[u8], usize) {
        let samples = self.refp.full.samples();
        (
            &samples[self.reference_offset(full)..],
            self.refp.full.stride(),
        )
    }

    /// The first reference sample of the block at the whole-sample vector
    /// `full`, as [`Block::reference_at`] finds it, unchecked: in the
    /// samples only where `window` holds and `full` is within the limits.
    #[inline]
    fn reference_ptr(&self, full: [i32; 2]) -> *const u8 {
        debug_assert!(self.window && self.holds_full(full));
        let samples = self.refp.full.samples().as_ptr();
        samples.wrapping_add(self.reference_offset(full))
    }

    /// Where the block at the whole-sample vector `full` starts in the
    /// reference's samples: `full[1]` rows and `full[0]` samples from the
    /// co-located block (wrapping where that lies outside them).
    #[inline(always)]
    fn reference_offset(&self, full: [i32; 2]) -> usize {
        let stride = self.refp.full.stride() as isize;
        self.ref_at
            .wrapping_add_signed(full[1] as isize * stride + full[0] as isize)
    }

    /// The whole-sample vector a seed (quarter samples) starts from: the
    /// seed clamped to the limits, rounded down.
    #[inline]
    fn seed_full(&self, mv: [i16; 2]) -> [i32; 2] {
        let c = self.clamp([i32::from(mv[0]), i32::from(mv[1])]);
        [c[0] >> 2, c[1] >> 2]
    }

    /// SATD at a quarter-sample vector + λ·bits.
    fn satd_cost(&self, mv: [i32; 2]) -> u32 {
        let qmv = [mv[0] as i16, mv[1] as i16];
        let src = &self.src.data[self.y as usize * self.src.width + self.x as usize..];
        let (x, y, w, h) = (self.x, self.y, self.w, self.h);
        // Whole and half-sample predictions are read in place.
        let total = match self.refp.luma_block_in_plane((x, y), (w, h), qmv) {
            Some((pred, stride)) => satd_u8(src, self.src.width, pred, stride, w, h),
            None => {
                let mut pred = [0u8; 256];
                self.refp.predict_luma(x, y, w, h, qmv, &mut pred[..w * h]);
                satd_u8(src, self.src.width, &pred, w, w, h)
            }
        };
        total + self.lambda * self.mv_bits(mv)
    }

    /// Whether every whole-sample vector within `reach` of `centre` (each
    /// component apart) lies within the limits.
    #[inline]
    fn holds_around(&self, centre: [i32; 2], reach: i32) -> bool {
        let inside = |v: i32, (lo, hi): (i32, i32)| lo + reach <= v && v + reach <= hi;
        inside(centre[0], self.full_lim[0]) && inside(centre[1], self.full_lim[1])
    }

    /// Integer search from the best of the seeds: a hexagon of radius 2
    /// until it stops moving, then a unit diamond (x264-style).
    ///
    /// A vector costed before never wins again (a candidate wins only with
    /// a cost strictly below the best so far, which never rises), so a step
    /// may cost any vector again or skip one costed before: after the
    /// hexagon moves to its point `i`, only points `i − 1`, `i` and `i + 1`
    /// of the next hexagon are new (the other three and the centre were
    /// costed by the step before); every diamond step costs its four points
    /// (one group of four costs what three do).
    fn integer_search(&self, seeds: &[[i16; 2]], steps: u32) -> [i32; 2] {
        let mut best = self.seed_full(seeds[0]);
        // Any cost is below u32::MAX: the first seed is taken first.
        let mut best_cost = u32::MAX;
        let mut cands = [best; PATTERN_MAX];
        let mut n = 1;
        for &s in &seeds[1..] {
            let cand = self.seed_full(s);
            if cands[..n].contains(&cand) {
                continue;
            }
            if n == PATTERN_MAX {
                self.take_cheapest(&cands[..n], (&mut best, &mut best_cost));
                n = 0;
            }
            cands[n] = cand;
            n += 1;
        }
        self.take_cheapest(&cands[..n], (&mut best, &mut best_cost));
        let mut came_by = None;
        for _ in 0..steps {
            let new = |i: usize| came_by.is_none_or(|c| (i + 7 - c) % 6 <= 2);
            match self.step(best, &HEXAGON, new, (&mut best, &mut best_cost)) {
                Some(i) => came_by = Some(i),
                None => break,
            }
        }
        for _ in 0..steps {
            if self
                .step(best, &DIAMOND, |_| true, (&mut best, &mut best_cost))
                .is_none()
            {
                break;
            }
        }
        [best[0] * 4, best[1] * 4]
    }

    /// One step of a search pattern around `centre` (the best so far): its
    /// points whose index `new` admits and the limits hold, costed together,
    /// then compared in order; the index of the point moved to, if any.
    #[inline]
    fn step(
        &self,
        centre: [i32; 2],
        pattern: &[[i32; 2]],
        new: impl Fn(usize) -> bool,
        best: (&mut [i32; 2], &mut u32),
    ) -> Option<usize> {
        let inside = self.holds_around(centre, 2);
        let mut cands = [[0; 2]; PATTERN_MAX];
        let mut index = [0; PATTERN_MAX];
        let mut n = 0;
        for (i, d) in pattern.iter().enumerate() {
            let cand = [centre[0] + d[0], centre[1] + d[1]];
            if new(i) && (inside || self.holds_full(cand)) {
                cands[n] = cand;
                index[n] = i;
                n += 1;
            }
        }
        self.take_cheapest(&cands[..n], best).map(|k| index[k])
    }

    /// Moves `best` to each of `cands` in turn that costs strictly less than
    /// the best so far (ties keep the earlier vector), costing them together;
    /// the position in `cands` of the last move, if any.
    fn take_cheapest(
        &self,
        cands: &[[i32; 2]],
        (best, best_cost): (&mut [i32; 2], &mut u32),
    ) -> Option<usize> {
        let costs = self.sad_costs(cands);
        let mut moved = None;
        for (k, (&cand, &c)) in cands.iter().zip(&costs).enumerate() {
            if c < *best_cost {
                *best = cand;
                *best_cost = c;
                moved = Some(k);
            }
        }
        moved
    }

    /// Half- then quarter-sample refinement around `mv` with SATD costs.
    fn refine(&self, mv: [i32; 2], rounds: u32) -> ([i32; 2], u32) {
        if rounds == 0 {
            return (mv, self.satd_cost(mv));
        }
        let mut visited = Visited::default();
        visited.first_visit(mv);
        let mut best = mv;
        let mut best_cost = self.satd_cost(mv);
        for round in 0..rounds {
            let step = if round == 0 { 2 } else { 1 };
            let centre = best;
            for d in [
                [0, -1],
                [-1, 0],
                [1, 0],
                [0, 1],
                [-1, -1],
                [1, -1],
                [-1, 1],
                [1, 1],
            ] {
                let cand = self.clamp([centre[0] + d[0] * step, centre[1] + d[1] * step]);
                if !visited.first_visit(cand) {
                    continue;
                }
                let c = self.satd_cost(cand);
                if c < best_cost {
                    best = cand;
                    best_cost = c;
                }
            }
        }
        (best, best_cost)
    }

    fn search(&self, seeds: &[[i16; 2]], p: &MeParams) -> ([i16; 2], u32) {
        let full = self.integer_search(seeds, p.max_steps);
        let (mv, cost) = self.refine(full, p.subpel_rounds);
        ([mv[0] as i16, mv[1] as i16], cost)
    }
}

/// Whether the `w`×`h` reference block whose first sample is at `ref_at`
/// lies in the reference's samples at every whole-sample vector within
/// `full_lim` (the blocks at the two extreme vectors, first and last
/// sample, do).
fn window_fits(
    refp: &RefPicture,
    ref_at: usize,
    full_lim: [(i32, i32); 2],
    (w, h): (usize, usize),
) -> bool {
    let stride = refp.full.stride() as i64;
    let at = |dx: i32, dy: i32| ref_at as i64 + i64::from(dy) * stride + i64::from(dx);
    let first = at(full_lim[0].0, full_lim[1].0);
    let end = at(full_lim[0].1, full_lim[1].1) + (h as i64 - 1) * stride + w as i64;
    h > 0 && first >= 0 && end <= refp.full.samples().len() as i64
}

/// Length of se(v) (9.1.1) of a vector difference: looked up within
/// ±[`MVD_TABLE_REACH`] quarter samples (where searches stay), else worked
/// out.
#[inline(always)]
fn mvd_len(v: i32) -> u32 {
    match MVD_LEN.get(v.wrapping_add(MVD_TABLE_REACH) as usize) {
        Some(&len) => u32::from(len),
        None => se_len(v),
    }
}

/// Reach of [`MVD_LEN`] either side of zero, quarter samples.
const MVD_TABLE_REACH: i32 = 1024;

/// se(v) lengths of −[`MVD_TABLE_REACH`]..=[`MVD_TABLE_REACH`].
static MVD_LEN: [u8; 2 * MVD_TABLE_REACH as usize + 1] = {
    let mut out = [0u8; 2 * MVD_TABLE_REACH as usize + 1];
    let mut i = 0;
    while i < out.len() {
        let v = i as i32 - MVD_TABLE_REACH;
        // codeNum + 1 (Table 9-3): 2·v for v > 0, 2·|v| + 1 otherwise.
        let code = if v > 0 { 2 * v } else { 1 - 2 * v } as u32;
        out[i] = (2 * (31 - code.leading_zeros()) + 1) as u8;
        i += 1;
    }
    out
};

/// The most candidates of one step of the integer search (the hexagon's).
const PATTERN_MAX: usize = 6;

/// The hexagon of radius 2 of the integer search, its points in order
/// round the centre.
const HEXAGON: [[i32; 2]; 6] = [[-2, 0], [-1, -2], [1, -2], [2, 0], [1, 2], [-1, 2]];

/// The unit diamond of the integer search.
const DIAMOND: [[i32; 2]; 4] = [[0, -1], [-1, 0], [1, 0], [0, 1]];

/// The vectors a search has costed. A vector costed before can never win
/// again (a candidate wins only with a cost strictly below the best so far,
/// which never rises), so skipping it leaves every decision as it was.
/// Vectors near the first one are remembered in a grid of bits (searches
/// move a few steps from their seeds), others in a short list.
#[derive(Default)]
struct Visited {
    /// The first vector recorded, the grid's centre.
    origin: Option<[i32; 2]>,
    /// Bit x + GRID / 2 of row y + GRID / 2: the vector origin + (x, y).
    grid: [u32; GRID],
    far: [[i32; 2]; FAR_MAX],
    far_len: usize,
}

/// Side of the grid of [`Visited`] (the bits of a `u32` row).
const GRID: usize = 32;

/// Vectors outside the grid remembered per search; once full, later ones
/// are costed again (which is always exact, only slower).
const FAR_MAX: usize = 16;

impl Visited {
    /// Records `p`; false if it was recorded before.
    fn first_visit(&mut self, p: [i32; 2]) -> bool {
        let origin = *self.origin.get_or_insert(p);
        let half = GRID as i32 / 2;
        let (x, y) = (p[0] - origin[0] + half, p[1] - origin[1] + half);
        if (0..GRID as i32).contains(&x) && (0..GRID as i32).contains(&y) {
            let (row, bit) = (&mut self.grid[y as usize], 1u32 << x);
            let new = *row & bit == 0;
            *row |= bit;
            return new;
        }
        if self.far[..self.far_len].contains(&p) {
            return false;
        }
        if self.far_len < FAR_MAX {
            self.far[self.far_len] = p;
            self.far_len += 1;
        }
        true
    }
}

/// Estimated bits of each partitioning's mb_type (and sub_mb_types).
fn partition_bits(p: Partition) -> u32 {
    match p {
        Partition::P16x16 => 1,
        Partition::P16x8 | Partition::P8x16 => 3,
        Partition::P8x8 => 5 + 4,
    }
}

/// Searches the motion of the macroblock at (mb_x, mb_y). `seeds` (at least
/// one) are candidate vectors from the previous picture; the first is also
/// the predictor for vector costs.
pub fn search_mb(
    src: &Plane,
    refp: &RefPicture,
    mb_x: usize,
    mb_y: usize,
    seeds: &[[i16; 2]],
    lambda: u32,
    params: &MeParams,
) -> MbMotion {
    let origin = (mb_x as i32 * 16, mb_y as i32 * 16);
    let fallback = [[0i16, 0]];
    let seeds = if seeds.is_empty() {
        &fallback[..]
    } else {
        seeds
    };
    let whole = Block::new(
        src,
        refp,
        Partition::P16x16.rect(0),
        origin,
        seeds[0],
        lambda,
    );
    let (mv16, cost16) = whole.search(seeds, params);
    let mut best = MbMotion {
        partition: Partition::P16x16,
        mvs: [mv16, [0; 2], [0; 2], [0; 2]],
        cost: cost16 + lambda * partition_bits(Partition::P16x16),
    };
    if !params.partitions {
        return best;
    }
    for part in [Partition::P16x8, Partition::P8x16, Partition::P8x8] {
        let mut mvs = [[0i16; 2]; 4];
        let mut cost = lambda * partition_bits(part);
        for (idx, slot) in mvs.iter_mut().enumerate().take(part.count()) {
            let block = Block::new(src, refp, part.rect(idx), origin, seeds[0], lambda);
            let local = [mv16, seeds[0]];
            let quick = MeParams {
                max_steps: 2,
                ..*params
            };
            let (mv, c) = block.search(&local, &quick);
            *slot = mv;
            cost += c;
        }
        if cost < best.cost {
            best = MbMotion {
                partition: part,
                mvs,
                cost,
            };
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The looked-up se(v) lengths of vector differences equal 9.1.1's
    /// within the table's reach and beyond it.
    #[test]
    fn mvd_lengths_equal_the_exp_golomb_rule() {
        let reach = MVD_TABLE_REACH;
        for v in (-3 * reach..=3 * reach).chain([i32::MIN / 4, i32::MAX / 4]) {
            assert_eq!(mvd_len(v), se_len(v), "{v}");
        }
    }
    use crate::frame::YuvFrame;

    /// A textured picture and the same picture shifted by (dx, dy) samples.
    fn shifted_pair(dx: i32, dy: i32) -> (YuvFrame, YuvFrame) {
        let (w, h) = (64usize, 48usize);
        let tex = |x: i32, y: i32| {
            let (fx, fy) = (x as f64, y as f64);
            (128.0 + 60.0 * (fx * 0.21).sin() * (fy * 0.17).cos() + 40.0 * ((fx + fy) * 0.09).sin())
                as u8
        };
        let mut a = YuvFrame::new(w, h);
        let mut b = YuvFrame::new(w, h);
        for y in 0..h {
            for x in 0..w {
                a.y.data[y * w + x] = tex(x as i32, y as i32);
                b.y.data[y * w + x] = tex(x as i32 + dx, y as i32 + dy);
            }
        }
        (a, b)
    }

    #[test]
    fn visited_answers_once_per_vector_near_and_far() {
        let mut v = Visited::default();
        let points: Vec<[i32; 2]> = (-40..40)
            .step_by(3)
            .flat_map(|x| (-20..20).step_by(7).map(move |y| [x + 5, y - 3]))
            .collect();
        // The first point is the grid's centre; the grid spans −16..16 around it.
        let in_grid = |p: [i32; 2]| (0..2).all(|c| (-16..16).contains(&(p[c] - points[0][c])));
        let mut far_seen = 0;
        for &p in &points {
            assert!(v.first_visit(p), "new point {p:?}");
            let remembered = in_grid(p) || {
                far_seen += 1;
                far_seen <= FAR_MAX
            };
            assert_eq!(v.first_visit(p), !remembered, "repeat of {p:?}");
        }
        assert!(far_seen > FAR_MAX, "the list overflows in this test");
        // Every grid point is still remembered at the end.
        for &p in points.iter().filter(|&&p| in_grid(p)) {
            assert!(!v.first_visit(p), "grid repeat of {p:?}");
        }
    }

    /// The integer search written plainly: every step costs each of its
    /// points within the limits, none skipped.
    fn integer_search_costing_all(b: &Block, seeds: &[[i16; 2]], steps: u32) -> [i32; 2] {
        let (mut best, mut best_cost) = (b.seed_full(seeds[0]), u32::MAX);
        let mut take = |cand: [i32; 2], best: &mut [i32; 2]| {
            let c = b.sad_cost(cand);
            if c < best_cost {
                (*best, best_cost) = (cand, c);
            }
        };
        for &s in seeds {
            take(b.seed_full(s), &mut best);
        }
        for pattern in [&HEXAGON[..], &DIAMOND[..]] {
            for _ in 0..steps {
                let centre = best;
                for d in pattern {
                    let cand = [centre[0] + d[0], centre[1] + d[1]];
                    if b.holds_full(cand) {
                        take(cand, &mut best);
                    }
                }
                if best == centre {
                    break;
                }
            }
        }
        [best[0] * 4, best[1] * 4]
    }

    #[test]
    fn integer_search_equals_costing_every_point() {
        // Textured pictures whose motion varies, so searches wander and
        // reach the limits.
        let (w, h) = (96usize, 64usize);
        let mut state = 7u32;
        let mut noise = || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 27) as i32
        };
        let mut cur = YuvFrame::new(w, h);
        let mut prev = YuvFrame::new(w, h);
        for y in 0..h {
            for x in 0..w {
                let (xi, yi) = (x as i32, y as i32);
                prev.y.data[y * w + x] = ((xi * 7 + yi * 3 + (xi * yi) / 9 + noise()) % 256) as u8;
                cur.y.data[y * w + x] =
                    (((xi + 3) * 7 + (yi - 2) * 3 + (xi * yi) / 11 + noise()) % 256) as u8;
            }
        }
        let refp = RefPicture::new(&prev);
        let seed_sets: [&[[i16; 2]]; 4] = [
            &[[0, 0]],
            &[[13, -9], [0, 0], [-40, 24], [3, 3]],
            &[[400, -400], [0, 0], [-400, 400], [8, 8], [9, 8], [-4, 0]],
            &[[-60, 20], [60, -20]],
        ];
        for mb in [(0, 0), (2, 1), (5, 3), (3, 0)] {
            for seeds in seed_sets {
                for steps in [1, 2, 4, 16] {
                    for lambda in [0, 4, 40] {
                        let origin = (mb.0 * 16, mb.1 * 16);
                        let b = Block::new(&cur.y, &refp, (0, 0, 16, 16), origin, seeds[0], lambda);
                        assert_eq!(
                            b.integer_search(seeds, steps),
                            integer_search_costing_all(&b, seeds, steps),
                            "mb {mb:?} seeds {seeds:?} steps {steps} lambda {lambda}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn finds_a_whole_sample_shift() {
        let (reference, current) = shifted_pair(3, -2);
        let r = RefPicture::new(&reference);
        let p = MeParams {
            max_steps: 16,
            subpel_rounds: 2,
            partitions: false,
            early_skip: false,
        };
        let m = search_mb(&current.y, &r, 1, 1, &[[0, 0]], 1, &p);
        assert_eq!(m.mvs[0], [12, -8]);
    }

    #[test]
    fn search_is_deterministic_and_within_limits() {
        let (reference, current) = shifted_pair(-5, 4);
        let r = RefPicture::new(&reference);
        let p = MeParams {
            max_steps: 32,
            subpel_rounds: 2,
            partitions: true,
            early_skip: false,
        };
        let a = search_mb(&current.y, &r, 0, 0, &[[400, -400], [0, 0]], 4, &p);
        let b = search_mb(&current.y, &r, 0, 0, &[[400, -400], [0, 0]], 4, &p);
        assert_eq!(a, b);
        for mv in a.mvs {
            assert!(i32::from(mv[0]) >= mv_limits(0, 16, 64).0);
            assert!(i32::from(mv[1]) >= mv_limits(0, 16, 48).0);
        }
    }
}
