//! Skip-ready macroblocks. A macroblock is written as P_Skip (7.3.4) when it
//! is 16×16 with no residual and its vector is the one P_Skip infers from
//! its neighbours (8.4.1.1). Decisions read only the source, the reference
//! and the previous picture's decisions, never a neighbour decided in the
//! same picture, so the inferred vector itself cannot be known when a
//! macroblock decides. The stand-in is the vector P_Skip would infer at the
//! same place in the previous picture's motion field: where motion is
//! steady the two agree. A macroblock first tries that vector
//! ([`crate::inter::code_bare_16x16`]); if the residual leaves no levels (it
//! quantises to zero, or is decimated away) the macroblock may take it —
//! without a motion search in the fastest preset
//! ([`crate::picture::decide_p_mb`]) — and becomes P_Skip wherever its
//! neighbours' final vectors infer the same.

use crate::macroblock::MbCoding;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::YuvFrame;
    use crate::inter::{code_bare_16x16, code_inter_mb};
    use crate::macroblock::{LumaPred, MbPos};
    use crate::mc::{mv_limits, RefPicture};
    use crate::me::MbMotion;
    use crate::syntax::Partition;

    /// A smooth picture with a little noise, `shift` samples to the right.
    fn picture(w: usize, h: usize, shift: usize, noise: u32) -> YuvFrame {
        let mut f = YuvFrame::new(w, h);
        let mut state = 3u32;
        let mut jitter = || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 16) % (noise + 1)
        };
        for (i, v) in f.y.data.iter_mut().enumerate() {
            let (x, y) = (i % w + shift, i / w);
            *v = (60 + (x * 3 + y * 2) % 120) as u8 + jitter() as u8;
        }
        for plane in [&mut f.u, &mut f.v] {
            let cw = plane.width;
            for (i, v) in plane.data.iter_mut().enumerate() {
                *v = (100 + (i % cw + shift / 2 + i / cw) % 50) as u8 + jitter() as u8;
            }
        }
        f
    }

    /// [`code_bare_16x16`] answers exactly when coding the macroblock as 16×16
    /// with that vector leaves no levels, and then gives the same coding and
    /// reconstruction.
    #[test]
    fn the_bare_test_agrees_with_the_coding() {
        let (w, h) = (64, 48);
        let mut seen = (0, 0);
        for noise in [0, 2, 6, 20] {
            let reference = picture(w, h, 0, noise);
            let src = picture(w, h, 2, noise);
            let refs = [
                (RefPicture::new(&reference), false),
                (RefPicture::new_full_sample(&reference), true),
            ];
            for (refp, whole_only) in refs {
                for qp in [10, 24, 30, 40, 51] {
                    for addr in 0..(w / 16) * (h / 16) {
                        let pos = MbPos {
                            mb_x: addr % 4,
                            mb_y: addr / 4,
                            width_mbs: 4,
                        };
                        for mv in [[0, 0], [8, 0], [-8, 4], [6, -2], [-300, 0]] {
                            if whole_only && (mv[0] % 4 != 0 || mv[1] % 4 != 0) {
                                continue;
                            }
                            let got = code_bare_16x16(&src, &refp, pos, qp, mv);
                            let (x, y) = (pos.mb_x as i32 * 16, pos.mb_y as i32 * 16);
                            let within =
                                |v: i16, (lo, hi): (i32, i32)| (lo..=hi).contains(&i32::from(v));
                            let reach = within(mv[0], mv_limits(x, 16, w as i32))
                                && within(mv[1], mv_limits(y, 16, h as i32));
                            let motion = MbMotion {
                                partition: Partition::P16x16,
                                mvs: [mv; 4],
                                cost: 0,
                            };
                            let c = code_inter_mb(&src, &refp, pos, qp, &motion);
                            let bare = reach
                                && c.mb.luma == LumaPred::Inter(Partition::P16x16)
                                && c.mb.cbp_luma == 0
                                && c.mb.cbp_chroma == 0;
                            assert_eq!(got.is_some(), bare, "qp {qp} mb {addr} mv {mv:?}");
                            if let Some(b) = got {
                                seen.0 += 1;
                                assert_eq!((b.luma, b.chroma), (c.luma, c.chroma));
                                assert_eq!(b.mb.mvs, c.mb.mvs);
                                assert_eq!(b.mb.levels(), c.mb.levels());
                            } else {
                                seen.1 += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(
            seen.0 > 50 && seen.1 > 50,
            "both answers exercised: {seen:?}"
        );
    }

    /// The predicted vector is the one P_Skip infers in the previous field.
    #[test]
    fn the_predicted_vector_follows_the_previous_field() {
        let wm = 3;
        let inter = |mv: [i16; 2]| MbVectors::new(false, [mv; 16]);
        // A steady field: every macroblock moved by (8, -4).
        let field = vec![inter([8, -4]); 6];
        assert_eq!(predicted_skip_vector(&field, 4, wm), [8, -4]);
        // Top row and left column: a neighbour is missing, so zero (8.4.1.1).
        assert_eq!(predicted_skip_vector(&field, 1, wm), [0, 0]);
        assert_eq!(predicted_skip_vector(&field, 3, wm), [0, 0]);
        // A zero vector on the left also gives zero.
        let mut f = field.clone();
        f[3] = inter([0, 0]);
        assert_eq!(predicted_skip_vector(&f, 4, wm), [0, 0]);
        // Intra neighbours count as refIdx −1: the median of (A, B, C).
        let mut f = field.clone();
        f[0] = MbVectors::new(true, [[0, 0]; 16]);
        f[2] = MbVectors::new(true, [[0, 0]; 16]);
        f[3] = inter([4, 4]);
        f[1] = inter([12, 8]);
        // A (4, 4), B (12, 8), C intra: the median per component is (4, 4).
        assert_eq!(predicted_skip_vector(&f, 4, wm), [4, 4]);
        // No previous field: zero.
        assert_eq!(predicted_skip_vector(&[], 4, wm), [0, 0]);
    }
}
