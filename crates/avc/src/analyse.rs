//! Intra mode decision with integer costs: SATD + λ·bits, ties broken by the
//! lowest mode index (DESIGN invariant 4).
//!
//! Costs read only the source and reconstructed neighbour samples, never a
//! neighbour's decision: the bit estimates for modes are constants, since
//! predicted intra modes are derived later, in the syntax pass (invariant 8).

use crate::frame::Plane;
use crate::intra::{
    chroma_mode_allowed, dc16x16, i16_mode_allowed, i4_mode_allowed, predict16x16, predict4x4,
    predict_chroma, Availability, Edge4, EdgeN, I16_HORIZONTAL, I16_PLANE, I16_VERTICAL,
};
use crate::pixel::satd_i32;

/// λ for SATD costs, ≈ 2^((qp − 12) / 6) rounded, at least 1 (qp 0..51).
const LAMBDA: [u32; 52] = [
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 6, 6, 7, 8, 9,
    10, 11, 13, 14, 16, 18, 20, 23, 25, 29, 32, 36, 40, 45, 51, 57, 64, 72, 81, 91,
];

/// λ for a qp (clamped to 0..51).
pub fn lambda(qp: i32) -> u32 {
    LAMBDA[qp.clamp(0, 51) as usize]
}

/// Estimated bits of an Intra4x4 mode (flag + 3-bit remainder on average).
pub const I4_MODE_BITS: u32 = 3;
/// Estimated bits of mb_type for I_NxN plus its coded_block_pattern.
pub const I4_MB_BITS: u32 = 4;
/// Estimated bits of an Intra16x16 mb_type.
pub const I16_MB_BITS: u32 = 5;

/// SATD between a source block and a prediction, both in raster order with
/// the given width (a multiple of 4).
pub fn satd_block(src: &[i32], pred: &[i32], width: usize) -> u32 {
    satd_i32(src, pred, width, src.len() / width)
}

/// The best Intra4x4 mode for one block: (mode, cost, prediction).
pub fn best_i4_mode(src: &[i32; 16], edge: &Edge4, lambda: u32) -> (u8, u32, [i32; 16]) {
    let mut best = (u8::MAX, u32::MAX, [0i32; 16]);
    for mode in 0..9u8 {
        if !i4_mode_allowed(mode, edge.avail) {
            continue;
        }
        let pred = predict4x4(mode, edge);
        let cost = satd_block(src, &pred, 4) + lambda * I4_MODE_BITS;
        if cost < best.1 {
            best = (mode, cost, pred);
        }
    }
    best
}

/// The best Intra16x16 mode: (mode, cost).
///
/// The SATD of the vertical, horizontal and DC modes is found from the
/// Hadamard coefficients of the source alone ([`Spectrum16`]); the plane
/// prediction (8.3.3.4) is clipped, so its SATD is measured directly.
pub fn best_i16_mode(src: &[i32; 256], edge: &EdgeN<16>, lambda: u32) -> (u8, u32) {
    let spectrum = Spectrum16::new(src);
    let mut best = (u8::MAX, u32::MAX);
    for mode in 0..4u8 {
        if !i16_mode_allowed(mode, edge.avail) {
            continue;
        }
        let satd = match mode {
            I16_PLANE => satd_block(src, &predict16x16(mode, edge), 16),
            _ => spectrum.satd_against_flat(mode, edge),
        };
        let cost = satd + lambda * I16_MB_BITS;
        if cost < best.1 {
            best = (mode, cost);
        }
    }
    best
}

/// Unnormalised 4-point Hadamard transform: the plain sum first, then the
/// three sign patterns that sum to zero (a constant input gives [4a, 0, 0, 0]).
#[inline]
fn hadamard4(x: [i32; 4]) -> [i32; 4] {
    let (s01, d01, s23, d23) = (x[0] + x[1], x[0] - x[1], x[2] + x[3], x[2] - x[3]);
    [s01 + s23, s01 - s23, d01 - d23, d01 + d23]
}

/// The 2-D Hadamard coefficients C[v][u] of each 4×4 block of a 16×16
/// source (rows transformed, then columns), with each block's sum of
/// magnitudes.
///
/// The transform is linear, so a block's SATD against a prediction P is
/// Σ|C − H(P)| / 2 (every coefficient of a 4×4 Hadamard has the parity of
/// the block's sum, so the 16 magnitudes add up to an even number and the
/// rounding of [`crate::transform::satd4x4`] never applies). The vertical,
/// horizontal and DC predictions of 8.3.3.1–8.3.3.3 have few nonzero
/// coefficients: rows equal to t give 4·h(t) in row v = 0, columns equal
/// to l give 4·h(l) in column u = 0, a constant d gives 16·d at (0, 0).
struct Spectrum16 {
    /// [block (4·by + bx)][4·v + u].
    coef: [[i32; 16]; 16],
    /// Σ|C| of each block.
    magnitude: [u32; 16],
}

impl Spectrum16 {
    fn new(src: &[i32; 256]) -> Spectrum16 {
        let mut coef = [[0i32; 16]; 16];
        for (blk, c) in coef.iter_mut().enumerate() {
            let (x0, y0) = ((blk % 4) * 4, (blk / 4) * 4);
            let rows: [[i32; 4]; 4] = std::array::from_fn(|y| {
                let at = (y0 + y) * 16 + x0;
                hadamard4([src[at], src[at + 1], src[at + 2], src[at + 3]])
            });
            for u in 0..4 {
                let col = hadamard4([rows[0][u], rows[1][u], rows[2][u], rows[3][u]]);
                for v in 0..4 {
                    c[4 * v + u] = col[v];
                }
            }
        }
        let magnitude = coef.map(|c| c.iter().map(|v| v.unsigned_abs()).sum());
        Spectrum16 { coef, magnitude }
    }

    /// SATD of the source against the vertical, horizontal or DC
    /// prediction from `edge`.
    fn satd_against_flat(&self, mode: u8, edge: &EdgeN<16>) -> u32 {
        let dc = 16 * dc16x16(edge);
        let total: u32 = (0..16)
            .map(|blk| {
                let (bx, by) = (blk % 4, blk / 4);
                let edge4 = |e: &[i32; 16], at: usize| [e[at], e[at + 1], e[at + 2], e[at + 3]];
                match mode {
                    I16_VERTICAL => {
                        let h = hadamard4(edge4(&edge.top, bx * 4));
                        self.with_prediction(blk, (0..4).map(|u| (u, 4 * h[u])))
                    }
                    I16_HORIZONTAL => {
                        let h = hadamard4(edge4(&edge.left, by * 4));
                        self.with_prediction(blk, (0..4).map(|v| (4 * v, 4 * h[v])))
                    }
                    _ => self.with_prediction(blk, std::iter::once((0, dc))),
                }
            })
            .sum();
        total / 2
    }

    /// Σ|C − H(P)| of a block whose prediction's coefficients are zero but
    /// at the given (position, value) pairs.
    fn with_prediction(&self, blk: usize, at: impl Iterator<Item = (usize, i32)>) -> u32 {
        let c = &self.coef[blk];
        at.fold(self.magnitude[blk], |sum, (pos, p)| {
            sum - c[pos].unsigned_abs() + (c[pos] - p).unsigned_abs()
        })
    }
}

/// An estimate of the cost of coding a macroblock as intra, from source
/// samples alone (its neighbours' source stands in for their
/// reconstruction): the best Intra16x16 SATD plus λ·bits. Used to choose
/// between intra and inter without waiting for the neighbours.
pub fn intra_estimate(src: &Plane, mb_x: usize, mb_y: usize, lambda: u32) -> u32 {
    let avail = Availability {
        left: mb_x > 0,
        top: mb_y > 0,
        top_left: mb_x > 0 && mb_y > 0,
        top_right: false,
    };
    let (x0, y0) = (mb_x * 16, mb_y * 16);
    let edge = EdgeN::<16>::gather(&src.data, src.width, x0, y0, avail);
    let block: [i32; 256] = std::array::from_fn(|i| i32::from(src.at(x0 + i % 16, y0 + i / 16)));
    best_i16_mode(&block, &edge, lambda).1
}

/// The best chroma mode over both chroma planes.
pub fn best_chroma_mode(src: [&[i32; 64]; 2], edge: [&EdgeN<8>; 2]) -> u8 {
    let mut best = (0u8, u32::MAX);
    for mode in 0..4u8 {
        if !chroma_mode_allowed(mode, edge[0].avail) {
            continue;
        }
        let cost: u32 = (0..2)
            .map(|c| satd_block(src[c], &predict_chroma(mode, edge[c]), 8))
            .sum();
        if cost < best.1 {
            best = (mode, cost);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intra::Availability;

    #[test]
    fn lambda_grows_with_qp() {
        assert!(LAMBDA.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(lambda(-5), 1);
        assert_eq!(lambda(99), 91);
    }

    #[test]
    fn picks_vertical_for_vertical_stripes() {
        let avail = Availability {
            left: true,
            top: true,
            top_left: true,
            top_right: true,
        };
        let top: [i32; 8] = [0, 255, 0, 255, 0, 255, 0, 255];
        let mut e = [100i32; 13];
        e[5..13].copy_from_slice(&top);
        let edge = Edge4 { e, avail };
        let src: [i32; 16] = std::array::from_fn(|i| top[i % 4]);
        let (mode, cost, _) = best_i4_mode(&src, &edge, 1);
        assert_eq!(mode, 0);
        assert_eq!(cost, I4_MODE_BITS);
    }

    /// The transform-domain SATD of the flat Intra16x16 modes equals the
    /// SATD against the predicted block, for random sources and edges and
    /// every availability.
    #[test]
    fn i16_decision_equals_direct_satd() {
        let mut state = 3u32;
        let mut next = || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 24) as i32
        };
        for case in 0..400 {
            let avail = Availability {
                left: case % 2 == 0,
                top: case % 3 != 0,
                top_left: case % 5 != 0,
                top_right: false,
            };
            let smooth = case % 4 == 0;
            let src: [i32; 256] =
                std::array::from_fn(|i| if smooth { (i as i32 % 16) * 9 } else { next() });
            let edge = EdgeN::<16> {
                top: std::array::from_fn(|_| next()),
                left: std::array::from_fn(|_| next()),
                corner: next(),
                avail,
            };
            let mut direct = (u8::MAX, u32::MAX);
            for mode in 0..4u8 {
                if !i16_mode_allowed(mode, avail) {
                    continue;
                }
                let cost = satd_block(&src, &predict16x16(mode, &edge), 16) + 7 * I16_MB_BITS;
                if cost < direct.1 {
                    direct = (mode, cost);
                }
                if mode != I16_PLANE {
                    let s = Spectrum16::new(&src);
                    assert_eq!(
                        s.satd_against_flat(mode, &edge),
                        satd_block(&src, &predict16x16(mode, &edge), 16)
                    );
                }
            }
            assert_eq!(best_i16_mode(&src, &edge, 7), direct);
        }
    }

    #[test]
    fn only_dc_without_neighbours() {
        let edge = Edge4 {
            e: [128; 13],
            avail: Availability::default(),
        };
        let src = [7i32; 16];
        assert_eq!(best_i4_mode(&src, &edge, 4).0, 2);
        let e16 = EdgeN::<16> {
            top: [0; 16],
            left: [0; 16],
            corner: 0,
            avail: Availability::default(),
        };
        assert_eq!(best_i16_mode(&[9; 256], &e16, 4).0, 2);
    }
}
