//! Intra mode decision with integer costs: SATD + λ·bits, ties broken by the
//! lowest mode index (DESIGN invariant 4).
//!
//! Costs read only the source and reconstructed neighbour samples, never a
//! neighbour's decision: the bit estimates for modes are constants, since
//! predicted intra modes are derived later, in the syntax pass (invariant 8).

use crate::flat_satd::{chroma_flat_satds, i16_flat_satds, FlatSatds};
use crate::frame::Plane;
use crate::intra::{
    chroma_dc_values, chroma_mode_allowed, dc16x16, i16_mode_allowed, i4_mode_allowed,
    plane16x16_terms, predict4x4, predict_chroma_u8, Availability, Edge4, EdgeN, CHROMA_DC,
    CHROMA_HORIZONTAL, CHROMA_PLANE, CHROMA_VERTICAL, I16_DC, I16_HORIZONTAL, I16_PLANE,
    I16_VERTICAL,
};
use crate::pixel::{satd_16x16_plane_below, satd_8x8_pair, satd_i32};

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
/// Extra bits charged to an intra macroblock in a P picture when it is
/// weighed against inter prediction. The estimate predicts from source
/// samples (kinder than the reconstruction the coding will see), and an
/// intra macroblock in a P slice costs more than the estimate counts: a
/// longer mb_type (Table 7-13), the prediction modes and, for Intra16x16,
/// the DC block that is always coded (7.3.5.3). Measured on natural and
/// synthetic clips, 16 bits gave the smallest streams at equal PSNR.
pub const INTRA_IN_P_BITS: u32 = 16;

/// A P_Skip macroblock without levels is weighed against intra only while
/// its SATD is at most this many times λ·(I16_MB_BITS + INTRA_IN_P_BITS).
/// The levels quantised away above that are texture or noise that the
/// smooth Intra16x16 predictions do not hold either: on a natural and a
/// synthetic clip (qp 22–37) intra won there for 0.15 % of such
/// macroblocks, and the estimate is dearest there (its early exits come
/// late).
pub const BARE_SKIP_INTRA_RATIO: u32 = 6;

/// [`BARE_SKIP_INTRA_RATIO`] where bare P_Skip macroblocks are taken
/// without a motion search (`MeParams::early_skip`, the fastest preset):
/// against 6, 2.4 % fewer instructions at qp 22 on 1080p mandelbrot (7 %
/// at qp 37 on 720p bigbuckbunny) for 0.2 % of BD-rate; at 2 the
/// instructions fell 5.5 % there, but mandelbrot's BD-rate rose by 2 %.
pub const EARLY_SKIP_INTRA_RATIO: u32 = 3;

/// Whether a P_Skip macroblock without levels, of SATD `skip_satd`, is
/// weighed against intra ([`BARE_SKIP_INTRA_RATIO`], or
/// [`EARLY_SKIP_INTRA_RATIO`] with `early_skip`).
pub fn bare_skip_may_go_intra(lambda: u32, skip_satd: u32, early_skip: bool) -> bool {
    let ratio = if early_skip {
        EARLY_SKIP_INTRA_RATIO
    } else {
        BARE_SKIP_INTRA_RATIO
    };
    skip_satd <= ratio * lambda * (I16_MB_BITS + INTRA_IN_P_BITS)
}

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

/// The best Intra16x16 mode for the 16×16 source block `src` (from its
/// first sample, rows `stride` apart): (mode, cost).
pub fn best_i16_mode(src: &[u8], stride: usize, edge: &EdgeN<16>, lambda: u32) -> (u8, u32) {
    // Every mode costs the same bits, so a mode wins on a lower SATD alone
    // (the first mode on a tie); the three flat modes come from one
    // transform, and the plane's search stops once it cannot win.
    let flat = i16_flat_satds_of(src, stride, edge);
    let mut best = (u8::MAX, u32::MAX);
    for (mode, satd) in [
        (I16_VERTICAL, flat.vertical),
        (I16_HORIZONTAL, flat.horizontal),
        (I16_DC, flat.dc),
    ] {
        if i16_mode_allowed(mode, edge.avail) && satd < best.1 {
            best = (mode, satd);
        }
    }
    if i16_mode_allowed(I16_PLANE, edge.avail) {
        if let Some(satd) = plane_satd_below(src, stride, edge, best.1) {
            best = (I16_PLANE, satd);
        }
    }
    (best.0, best.1.saturating_add(lambda * I16_MB_BITS))
}

/// [`i16_flat_satds`] against the edges of `edge` (samples of missing
/// edges are placeholders; their modes are not allowed).
fn i16_flat_satds_of(src: &[u8], stride: usize, edge: &EdgeN<16>) -> FlatSatds {
    let (top, left) = (edge.top.map(|v| v as u8), edge.left.map(|v| v as u8));
    i16_flat_satds(src, stride, &top, &left, dc16x16(edge) as u8)
}

/// SATD of the 16×16 source block against the plane Intra16x16
/// prediction (8.3.3.4) if it is below `bound` ([`satd_16x16_plane_below`]).
fn plane_satd_below(src: &[u8], stride: usize, edge: &EdgeN<16>, bound: u32) -> Option<u32> {
    satd_16x16_plane_below(src, stride, plane16x16_terms(edge), bound)
}

/// An estimate of the cost of coding a macroblock as intra, from source
/// samples alone (its neighbours' source stands in for their
/// reconstruction): the best Intra16x16 SATD plus λ·bits. Used to choose
/// between intra and inter without waiting for the neighbours.
pub fn intra_estimate(src: &Plane, mb_x: usize, mb_y: usize, lambda: u32) -> u32 {
    let (edge, block) = source_edge(src, mb_x, mb_y);
    best_i16_mode(block, src.width, &edge, lambda).1
}

/// The Intra16x16 edge of macroblock (mb_x, mb_y) taken from the source
/// (top-right never counts as available), and the macroblock's source
/// samples from its first one on.
fn source_edge(src: &Plane, mb_x: usize, mb_y: usize) -> (EdgeN<16>, &[u8]) {
    let avail = Availability {
        left: mb_x > 0,
        top: mb_y > 0,
        top_left: mb_x > 0 && mb_y > 0,
        top_right: false,
    };
    let (x0, y0) = (mb_x * 16, mb_y * 16);
    let edge = EdgeN::<16>::gather(&src.data, src.width, x0, y0, avail);
    (edge, &src.data[y0 * src.width + x0..])
}

/// Whether [`intra_estimate`] plus λ·[`INTRA_IN_P_BITS`] is below
/// `inter_cost` (the intra-or-inter choice of a P macroblock), found without
/// always costing every mode: no mode can be cheaper than λ·bits (an SATD is
/// never negative), and the first mode found cheaper settles it. The answer
/// is that of comparing the full estimate.
pub fn intra_estimate_below(
    src: &Plane,
    mb_x: usize,
    mb_y: usize,
    lambda: u32,
    inter_cost: u32,
) -> bool {
    let threshold = lambda * (I16_MB_BITS + INTRA_IN_P_BITS);
    if inter_cost <= threshold {
        return false;
    }
    let (edge, block) = source_edge(src, mb_x, mb_y);
    let bound = inter_cost - threshold;
    // The flat modes from one transform, then the plane (stopping once it
    // cannot win).
    let flat = i16_flat_satds_of(block, src.width, &edge);
    let below = |mode, satd| i16_mode_allowed(mode, edge.avail) && satd < bound;
    below(I16_DC, flat.dc)
        || below(I16_VERTICAL, flat.vertical)
        || below(I16_HORIZONTAL, flat.horizontal)
        || (i16_mode_allowed(I16_PLANE, edge.avail)
            && plane_satd_below(block, src.width, &edge, bound).is_some())
}

/// The best chroma mode over both chroma planes, whose 8×8 source blocks
/// start at `src` with rows `stride` apart.
pub fn best_chroma_mode(src: [&[u8]; 2], stride: usize, edge: [&EdgeN<8>; 2]) -> u8 {
    // The three flat modes from one transform (the first mode on a tie),
    // the plane against its prediction written out.
    let (top, left) = (
        edge.map(|e| e.top.map(|v| v as u8)),
        edge.map(|e| e.left.map(|v| v as u8)),
    );
    let dc = edge.map(chroma_dc_values);
    let flat = chroma_flat_satds(src, stride, [&top[0], &top[1]], [&left[0], &left[1]], dc);
    let mut best = (0u8, u32::MAX);
    for (mode, cost) in [
        (CHROMA_DC, flat.dc),
        (CHROMA_HORIZONTAL, flat.horizontal),
        (CHROMA_VERTICAL, flat.vertical),
    ] {
        if chroma_mode_allowed(mode, edge[0].avail) && cost < best.1 {
            best = (mode, cost);
        }
    }
    if chroma_mode_allowed(CHROMA_PLANE, edge[0].avail) {
        let pred = edge.map(|e| predict_chroma_u8(CHROMA_PLANE, e));
        if satd_8x8_pair(src, stride, [&pred[0], &pred[1]]) < best.1 {
            best.0 = CHROMA_PLANE;
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

    /// The early-stopping comparison agrees with the full estimate for
    /// random and smooth macroblocks, every position class and a range of
    /// inter costs around the estimate.
    #[test]
    fn intra_estimate_below_agrees_with_the_estimate() {
        let (w, h) = (48usize, 48usize);
        let mut state = 21u32;
        for case in 0..40 {
            let data: Vec<u8> = (0..w * h)
                .map(|i| {
                    state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    if case % 2 == 0 {
                        (state >> 24) as u8
                    } else {
                        ((i % w) * 3 + (i / w) * 2 + (state >> 30) as usize) as u8
                    }
                })
                .collect();
            let plane = Plane {
                width: w,
                height: h,
                data,
            };
            for (x, y) in [(0, 0), (1, 0), (0, 1), (1, 1), (2, 2)] {
                for lam in [1, 6, 25] {
                    let e = intra_estimate(&plane, x, y, lam) + lam * INTRA_IN_P_BITS;
                    let floor = lam * (I16_MB_BITS + INTRA_IN_P_BITS);
                    for c in [0, floor, floor + 1, e.saturating_sub(1), e, e + 1, e + 500] {
                        assert_eq!(
                            intra_estimate_below(&plane, x, y, lam, c),
                            e < c,
                            "case {case} ({x},{y}) {c}"
                        );
                    }
                }
            }
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
        assert_eq!(best_i16_mode(&[9; 256], 16, &e16, 4).0, 2);
    }
}
