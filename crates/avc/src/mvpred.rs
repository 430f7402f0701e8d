//! Motion vector prediction (8.4.1.1, 8.4.1.3) for the syntax pass, over a
//! picture whose macroblocks are all decided.

use crate::macroblock::{luma_block_at, MbCoding};
use crate::syntax::Partition;

/// Motion of one neighbouring partition: `None` when it is not available
/// (outside the picture or not yet decoded); otherwise (refIdx, mv) with
/// refIdx −1 for intra macroblocks (8.4.1.3.2).
type Neighbour = Option<(i8, [i16; 2])>;

/// What motion-vector prediction reads of a decided macroblock.
pub trait Motion {
    /// Intra (refIdx −1 to its neighbours, 8.4.1.3.2).
    fn is_intra(&self) -> bool;
    /// The vector of 4×4 luma block `blk` (luma4x4BlkIdx) of an inter macroblock.
    fn block_mv(&self, blk: usize) -> [i16; 2];
}

impl Motion for MbCoding {
    fn is_intra(&self) -> bool {
        self.luma.is_intra()
    }

    fn block_mv(&self, blk: usize) -> [i16; 2] {
        self.mvs[blk]
    }
}

/// The decided macroblocks of a picture (or of a window of it) in raster
/// order.
pub struct MotionField<'a, M = MbCoding> {
    pub mbs: &'a [M],
    pub width_mbs: usize,
}

impl<M: Motion> MotionField<'_, M> {
    /// The partition covering luma location (x, y) relative to the top-left
    /// of macroblock `addr` (6.4.11.7, 6.4.12), as seen while decoding
    /// partition `part_idx` of a macroblock partitioned as `part`.
    fn neighbour(&self, at: At, part: Partition, part_idx: usize, x: i32, y: i32) -> Neighbour {
        let inside_x = (0..16).contains(&x);
        let inside_y = (0..16).contains(&y);
        if inside_x && inside_y {
            let blk = luma_block_at(x as usize & !3, y as usize & !3);
            let idx = partition_of(part, x as usize, y as usize);
            if idx >= part_idx {
                return None; // not yet decoded
            }
            return Some((0, self.mbs[at.addr].block_mv(blk)));
        }
        let (dx, dy) = match (x, y) {
            (x, y) if x < 0 && y < 0 => (-1, -1),
            (x, y) if x < 0 && (0..16).contains(&y) => (-1, 0),
            (x, y) if (0..16).contains(&x) && y < 0 => (0, -1),
            (x, y) if x >= 16 && y < 0 => (1, -1),
            _ => return None, // right of or below the macroblock: not yet decoded
        };
        let (xw, yw) = ((x + 16) as usize % 16, (y + 16) as usize % 16);
        self.mb_block(at, (dx, dy), luma_block_at(xw & !3, yw & !3))
    }

    /// mvpLX of partition `idx` of macroblock `addr` (8.4.1.3), refIdx 0.
    pub fn predict(&self, addr: usize, part: Partition, idx: usize) -> [i16; 2] {
        self.predict_at(self.at(addr), part, idx)
    }

    /// Macroblock `addr` with its column and row, found once per prediction.
    fn at(&self, addr: usize) -> At {
        At {
            addr,
            mb_x: (addr % self.width_mbs) as i32,
            mb_y: (addr / self.width_mbs) as i32,
        }
    }

    fn predict_at(&self, at: At, part: Partition, idx: usize) -> [i16; 2] {
        if part == Partition::P16x16 {
            return combine(self.whole_mb_neighbours(at));
        }
        let (x, y, w, _) = part.rect(idx);
        let (x, y, w) = (x as i32, y as i32, w as i32);
        let a = self.neighbour(at, part, idx, x - 1, y);
        let b = self.neighbour(at, part, idx, x, y - 1);
        let c = self
            .neighbour(at, part, idx, x + w, y - 1)
            .or_else(|| self.neighbour(at, part, idx, x - 1, y - 1));
        let (a, b, c) = available_or_intra([a, b, c]);
        match (part, idx) {
            (Partition::P16x8, 0) if b.0 == 0 => return b.1,
            (Partition::P16x8, 1) if a.0 == 0 => return a.1,
            (Partition::P8x16, 0) if a.0 == 0 => return a.1,
            (Partition::P8x16, 1) if c.0 == 0 => return c.1,
            _ => {}
        }
        median_prediction(a, b, c)
    }

    /// A, B and C (D where C is missing) of a 16×16 partition (8.4.1.3.2,
    /// 6.4.11.7): block 5 of the left macroblock, block 10 of the top one,
    /// block 10 of the top-right one or else block 15 of the top-left one.
    #[inline]
    fn whole_mb_neighbours(&self, at: At) -> [Neighbour; 3] {
        [
            self.left_of(at),
            self.above(at),
            self.above_right_or_left(at),
        ]
    }

    /// Block `blk` of the macroblock (dx, dy) away from `at`; every
    /// macroblock before this one in raster order is decoded.
    #[inline(always)]
    fn mb_block(&self, at: At, (dx, dy): (i32, i32), blk: usize) -> Neighbour {
        let (nx, ny) = (at.mb_x + dx, at.mb_y + dy);
        if nx < 0 || ny < 0 || nx >= self.width_mbs as i32 {
            return None;
        }
        let n = &self.mbs[ny as usize * self.width_mbs + nx as usize];
        Some(if n.is_intra() {
            (-1, [0, 0])
        } else {
            (0, n.block_mv(blk))
        })
    }

    #[inline(always)]
    fn left_of(&self, at: At) -> Neighbour {
        self.mb_block(at, (-1, 0), 5)
    }

    #[inline(always)]
    fn above(&self, at: At) -> Neighbour {
        self.mb_block(at, (0, -1), 10)
    }

    #[inline(always)]
    fn above_right_or_left(&self, at: At) -> Neighbour {
        self.mb_block(at, (1, -1), 10)
            .or_else(|| self.mb_block(at, (-1, -1), 15))
    }

    /// The motion vector of P_Skip (8.4.1.1): zero where A or B is missing
    /// or is a zero vector with refIdx 0, else the 16×16 prediction. Where
    /// A and B are both present (the macroblock is neither in the first
    /// column nor the first row), so is C, or else D (6.4.11.7): the three
    /// are read at their addresses.
    pub fn skip_vector(&self, addr: usize) -> [i16; 2] {
        let wm = self.width_mbs;
        let x = addr % wm;
        if x == 0 || addr < wm {
            return [0, 0];
        }
        let a = self.block_at(addr - 1, 5);
        let b = self.block_at(addr - wm, 10);
        if a == (0, [0, 0]) || b == (0, [0, 0]) {
            return [0, 0];
        }
        let c = if x + 1 < wm {
            self.block_at(addr - wm + 1, 10)
        } else {
            self.block_at(addr - wm - 1, 15)
        };
        median_prediction(a, b, c)
    }

    /// Block `blk` of the available macroblock `addr` as a neighbour:
    /// refIdx −1 and a zero vector for intra (8.4.1.3.2).
    #[inline(always)]
    fn block_at(&self, addr: usize, blk: usize) -> Available {
        let n = &self.mbs[addr];
        if n.is_intra() {
            (-1, [0, 0])
        } else {
            (0, n.block_mv(blk))
        }
    }
}

/// A neighbour that is available: (refIdx, vector).
type Available = (i8, [i16; 2]);

/// 8.4.1.3 for a 16×16 partition: the median, or the one neighbour with
/// the same reference.
#[inline]
fn combine(n: [Neighbour; 3]) -> [i16; 2] {
    let (a, b, c) = available_or_intra(n);
    median_prediction(a, b, c)
}

/// 8.4.1.3: with B and C missing and A present both take A; a missing
/// neighbour counts as refIdx −1 with a zero vector (8.4.1.3.2).
#[inline]
fn available_or_intra([a, b, c]: [Neighbour; 3]) -> (Available, Available, Available) {
    let (b, c) = if b.is_none() && c.is_none() && a.is_some() {
        (a, a)
    } else {
        (b, c)
    };
    let unpack = |n: Neighbour| n.unwrap_or((-1, [0, 0]));
    (unpack(a), unpack(b), unpack(c))
}

/// A macroblock address with its column and row.
#[derive(Clone, Copy)]
struct At {
    addr: usize,
    mb_x: i32,
    mb_y: i32,
}

/// Index of the partition of `part` that holds luma sample (x, y).
fn partition_of(part: Partition, x: usize, y: usize) -> usize {
    match part {
        Partition::P16x16 => 0,
        Partition::P16x8 => y / 8,
        Partition::P8x16 => x / 8,
        Partition::P8x8 => (y / 8) * 2 + x / 8,
    }
}

/// 8.4.1.3.1: the one neighbour with the same reference, else the median.
#[inline]
fn median_prediction(a: Available, b: Available, c: Available) -> [i16; 2] {
    match (a.0 == 0, b.0 == 0, c.0 == 0) {
        (true, false, false) => a.1,
        (false, true, false) => b.1,
        (false, false, true) => c.1,
        _ => {
            let med = |p: i16, q: i16, r: i16| p.max(q).min(p.min(q).max(r));
            [med(a.1[0], b.1[0], c.1[0]), med(a.1[1], b.1[1], c.1[1])]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::macroblock::LumaPred;

    #[test]
    fn median_and_single_match() {
        let m = median_prediction((0, [1, 9]), (0, [5, 2]), (0, [3, 4]));
        assert_eq!(m, [3, 4]);
        let s = median_prediction((-1, [0, 0]), (0, [7, 7]), (-1, [0, 0]));
        assert_eq!(s, [7, 7]);
    }

    /// The 16×16 neighbours read directly, and P_Skip's vector read at the
    /// neighbours' addresses (8.4.1.1), are those of the general neighbour
    /// rules, on fields with intra macroblocks, zero vectors and edges, one
    /// and several macroblocks wide.
    #[test]
    fn whole_mb_neighbours_and_skip_vectors_follow_the_general_rule() {
        for (wm, hm) in [(1, 4), (2, 3), (6, 5)] {
            for seed in 0..40usize {
                let mbs: Vec<MbCoding> = (0..wm * hm)
                    .map(|a| {
                        let k = a * 31 + seed * 17;
                        let mvs = std::array::from_fn(|b| {
                            if (k + b) % 5 == 0 {
                                [0, 0]
                            } else {
                                [((k + 3 * b) % 9) as i16 - 4, ((k / 3 + b) % 7) as i16 - 3]
                            }
                        });
                        let luma = if k % 4 == 1 {
                            LumaPred::I16(0)
                        } else {
                            LumaPred::Inter(Partition::P16x16)
                        };
                        MbCoding::without_levels(luma, mvs)
                    })
                    .collect();
                let field = MotionField {
                    mbs: &mbs,
                    width_mbs: wm,
                };
                for addr in 0..wm * hm {
                    let at = field.at(addr);
                    let general = |x, y| field.neighbour(at, Partition::P16x16, 0, x, y);
                    let c = general(16, -1).or_else(|| general(-1, -1));
                    assert_eq!(
                        field.whole_mb_neighbours(at),
                        [general(-1, 0), general(0, -1), c],
                        "{wm}x{hm} seed {seed} mb {addr}"
                    );
                    let want = match (general(-1, 0), general(0, -1)) {
                        (None, _) | (_, None) => [0, 0],
                        (Some((0, [0, 0])), _) | (_, Some((0, [0, 0]))) => [0, 0],
                        _ => field.predict(addr, Partition::P16x16, 0),
                    };
                    assert_eq!(
                        field.skip_vector(addr),
                        want,
                        "{wm}x{hm} seed {seed} mb {addr}"
                    );
                }
            }
        }
    }

    #[test]
    fn partitions_of_samples() {
        assert_eq!(partition_of(Partition::P8x8, 12, 3), 1);
        assert_eq!(partition_of(Partition::P16x8, 12, 9), 1);
        assert_eq!(partition_of(Partition::P8x16, 3, 15), 0);
    }
}
