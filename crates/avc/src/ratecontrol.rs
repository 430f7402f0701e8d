//! Rate control: the quantiser of each picture for constant qp, constant
//! rate factor (crf) and average bitrate with a VBV buffer. Integer
//! arithmetic only, so every machine makes the same choices.

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateMode {
    /// Constant qp 0..=51: P pictures at `qp`, IDR pictures
    /// [`IDR_QP_OFFSET`] lower (at least 0), as x264's constant-quantiser
    /// mode does with its default I/P ratio of 1.40.
    ConstantQp(u8),
    /// Constant rate factor 0..=51: P pictures at `crf`, IDR pictures
    /// [`IDR_QP_OFFSET`] lower.
    Crf(u8),
    /// Average bitrate in bits per second with a VBV buffer of
    /// `buffer_bits` (filled at `bits_per_second`).
    Bitrate {
        bits_per_second: u64,
        buffer_bits: u64,
    },
}

/// How much finer IDR pictures are quantised than P pictures in every
/// mode: every later picture of the GOP predicts from the IDR picture, so
/// its quality carries into them (P_Skip copies it outright). 3 is 6·log2
/// of x264's default I/P quantiser ratio, 1.40.
pub const IDR_QP_OFFSET: i32 = 3;

/// 2^(k/6) for k = 0..6 in 1/1024 units: bits change by about this factor
/// per 6 qp steps of a quantiser step size doubling (8.5.9).
const POW2_SIXTH: [u64; 7] = [1024, 1149, 1290, 1448, 1625, 1825, 2048];

/// Per-stream state of the rate controller.
#[derive(Debug, Clone)]
pub struct RateControl {
    mode: RateMode,
    /// Target bits of one picture (bitrate mode), from the frame rate.
    frame_bits: u64,
    /// Bits spent and pictures coded in the current GOP.
    gop_bits: u64,
    gop_frames: u64,
    /// Last (qp, bits) of a P picture and of an IDR picture in this GOP.
    last_p: Option<(i32, u64)>,
    last_i: Option<(i32, u64)>,
    /// VBV fullness in bits (the decoder's buffer, starting full).
    vbv_fill: u64,
}

impl RateControl {
    /// `fps_num / fps_den` pictures per second.
    pub fn new(mode: RateMode, fps_num: u32, fps_den: u32) -> RateControl {
        let frame_bits = match mode {
            RateMode::Bitrate {
                bits_per_second, ..
            } => (bits_per_second * u64::from(fps_den.max(1)) / u64::from(fps_num.max(1))).max(1),
            _ => 0,
        };
        let vbv_fill = match mode {
            RateMode::Bitrate { buffer_bits, .. } => buffer_bits,
            _ => 0,
        };
        RateControl {
            mode,
            frame_bits,
            gop_bits: 0,
            gop_frames: 0,
            last_p: None,
            last_i: None,
            vbv_fill,
        }
    }

    pub fn mode(&self) -> RateMode {
        self.mode
    }

    /// The qp of the next picture.
    pub fn picture_qp(&self, idr: bool) -> u8 {
        let qp = match self.mode {
            RateMode::ConstantQp(qp) | RateMode::Crf(qp) => {
                i32::from(qp) - if idr { IDR_QP_OFFSET } else { 0 }
            }
            RateMode::Bitrate { .. } => self.bitrate_qp(idr),
        };
        qp.clamp(0, 51) as u8
    }

    /// Bits the next picture should take in bitrate mode: the share that
    /// brings the GOP back to its average, IDR pictures weighted ×4.
    fn target_bits(&self, idr: bool) -> u64 {
        let owed = (self.gop_frames + 1) * self.frame_bits;
        let behind = owed.saturating_sub(self.gop_bits);
        let base = behind.clamp(self.frame_bits / 4, self.frame_bits * 2);
        if idr {
            base * 4
        } else {
            base
        }
    }

    fn bitrate_qp(&self, idr: bool) -> i32 {
        let target = self.target_bits(idr);
        let model = if idr {
            self.last_i
                .or(self.last_p.map(|(q, b)| (q - IDR_QP_OFFSET, b * 4)))
        } else {
            self.last_p
                .or(self.last_i.map(|(q, b)| (q + IDR_QP_OFFSET, b / 4)))
        };
        let Some((qp, bits)) = model else {
            return 26;
        };
        // bits ∝ 2^(−qp/6): move qp by 6·log2(bits / target), at most ±6 at once.
        let step = qp_step_for_ratio(bits.max(1), target.max(1)).clamp(-6, 6);
        let qp = qp + step;
        self.vbv_limited(qp, idr, target)
    }

    /// Raises qp when the picture at its target would drain the VBV buffer.
    fn vbv_limited(&self, qp: i32, idr: bool, target: u64) -> i32 {
        match self.mode {
            RateMode::Bitrate { .. } if target > self.vbv_fill / 2 && !idr => qp + 2,
            _ => qp,
        }
    }

    /// Whether a picture of `bits` would overflow the VBV buffer (bitrate
    /// mode): then it should be coded again at the returned, higher qp.
    pub fn vbv_retry(&self, qp: u8, bits: u64) -> Option<u8> {
        match self.mode {
            RateMode::Bitrate { .. } if bits > self.vbv_fill && qp < 51 => {
                let step = qp_step_for_ratio(bits, self.vbv_fill.max(1)).max(1);
                Some((i32::from(qp) + step).min(51) as u8)
            }
            _ => None,
        }
    }

    /// Records a coded picture.
    pub fn picture_done(&mut self, idr: bool, qp: u8, bits: u64) {
        if idr {
            self.gop_bits = 0;
            self.gop_frames = 0;
            self.last_i = Some((i32::from(qp), bits));
        } else {
            self.last_p = Some((i32::from(qp), bits));
        }
        self.gop_bits += bits;
        self.gop_frames += 1;
        if let RateMode::Bitrate {
            bits_per_second,
            buffer_bits,
        } = self.mode
        {
            let _ = bits_per_second;
            self.vbv_fill = (self.vbv_fill.saturating_sub(bits) + self.frame_bits).min(buffer_bits);
        }
    }
}

/// The qp change that scales bits by `target / bits`: round(6·log2(bits / target)).
pub fn qp_step_for_ratio(bits: u64, target: u64) -> i32 {
    let (big, small, sign) = if bits >= target {
        (bits, target, 1)
    } else {
        (target, bits, -1)
    };
    // Whole doublings, then sixths of a doubling from the table.
    let mut steps = 0i32;
    let mut small = small as u128 * 1024;
    let big = big as u128 * 1024;
    while small * 2 <= big {
        small *= 2;
        steps += 6;
    }
    let ratio = (big * 1024 / small.max(1)) as u64; // in [1024, 2048)
    let mut k = 0;
    while k < 6 && ratio * ratio > POW2_SIXTH[k] * POW2_SIXTH[k + 1] {
        k += 1;
    }
    sign * (steps + k as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_steps() {
        assert_eq!(qp_step_for_ratio(1000, 1000), 0);
        assert_eq!(qp_step_for_ratio(2000, 1000), 6);
        assert_eq!(qp_step_for_ratio(1000, 2000), -6);
        assert_eq!(qp_step_for_ratio(4000, 1000), 12);
        assert_eq!(qp_step_for_ratio(1122, 1000), 1);
        assert_eq!(qp_step_for_ratio(1000, 1), 60);
    }

    #[test]
    fn constant_and_crf() {
        let rc = RateControl::new(RateMode::ConstantQp(30), 30, 1);
        assert_eq!((rc.picture_qp(true), rc.picture_qp(false)), (27, 30));
        let rc = RateControl::new(RateMode::ConstantQp(2), 30, 1);
        assert_eq!((rc.picture_qp(true), rc.picture_qp(false)), (0, 2));
        let rc = RateControl::new(RateMode::ConstantQp(0), 30, 1);
        assert_eq!((rc.picture_qp(true), rc.picture_qp(false)), (0, 0));
        let rc = RateControl::new(RateMode::Crf(23), 30, 1);
        assert_eq!((rc.picture_qp(true), rc.picture_qp(false)), (20, 23));
        let rc = RateControl::new(RateMode::Crf(1), 30, 1);
        assert_eq!(rc.picture_qp(true), 0);
    }

    #[test]
    fn bitrate_moves_qp_towards_the_target() {
        let mode = RateMode::Bitrate {
            bits_per_second: 300_000,
            buffer_bits: 600_000,
        };
        let mut rc = RateControl::new(mode, 30, 1);
        assert_eq!(rc.picture_qp(true), 26);
        rc.picture_done(true, 26, 40_000);
        rc.picture_done(false, 26, 40_000); // 4× the 10 000-bit share
        assert!(rc.picture_qp(false) > 26);
        rc.picture_done(false, 32, 1_000);
        assert!(rc.picture_qp(false) < 32);
    }
}
