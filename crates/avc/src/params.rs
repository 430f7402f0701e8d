//! Parameter sets and slice headers (7.3.2.1, 7.3.2.2, 7.3.3, Annex E VUI)
//! and the choice of level (Annex A).

use crate::bits::{BitSink, BitWriter};
use crate::nal::{nal_unit, NalType};

/// High profile (A.2.4).
pub const PROFILE_HIGH: u8 = 100;

/// Colour description written in the VUI (E.2.1, Tables E-3..E-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColourSpace {
    /// BT.601 (625/525): SMPTE 170M primaries, transfer and matrix (value 6).
    Bt601,
    /// BT.709: value 1 for primaries, transfer and matrix.
    Bt709,
}

/// What the sequence parameter set describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamParams {
    /// Displayed size; odd sizes are rounded up to even because 4:2:0
    /// cropping works in units of two samples (7.4.2.1.1, CropUnitX/Y).
    pub width: u32,
    pub height: u32,
    pub fps_num: u32,
    pub fps_den: u32,
    pub colour: ColourSpace,
    pub full_range: bool,
}

impl StreamParams {
    pub fn width_mbs(&self) -> u32 {
        self.width.div_ceil(16)
    }

    pub fn height_mbs(&self) -> u32 {
        self.height.div_ceil(16)
    }

    /// The size a decoder outputs: the display size rounded up to even.
    pub fn coded_display_size(&self) -> (u32, u32) {
        (self.width.div_ceil(2) * 2, self.height.div_ceil(2) * 2)
    }
}

/// One row of Table A-1: level_idc, MaxMBPS, MaxFS.
const LEVELS: [(u8, u64, u64); 19] = [
    (10, 1485, 99),
    (11, 3000, 396),
    (12, 6000, 396),
    (13, 11880, 396),
    (20, 11880, 396),
    (21, 19800, 792),
    (22, 20250, 1620),
    (30, 40500, 1620),
    (31, 108000, 3600),
    (32, 216000, 5120),
    (40, 245760, 8192),
    (41, 245760, 8192),
    (42, 522240, 8704),
    (50, 589824, 22080),
    (51, 983040, 36864),
    (52, 2073600, 36864),
    (60, 4177920, 139264),
    (61, 8355840, 139264),
    (62, 16711680, 139264),
];

/// The lowest level whose frame size, frame dimensions (A.3.1 (f)/(g) style
/// limits √(8·MaxFS)) and macroblock rate admit the stream. Sizes beyond every
/// level get the highest level, 6.2: decoders accept them, but the stream is
/// then outside Annex A's limits.
pub fn choose_level(p: &StreamParams) -> u8 {
    let (w, h) = (u64::from(p.width_mbs()), u64::from(p.height_mbs()));
    let fs = w * h;
    // Macroblocks per second, rounded up.
    let mbps = (fs * u64::from(p.fps_num)).div_ceil(u64::from(p.fps_den.max(1)));
    for &(idc, max_mbps, max_fs) in &LEVELS {
        let side_ok = w * w <= 8 * max_fs && h * h <= 8 * max_fs;
        if fs <= max_fs && side_ok && mbps <= max_mbps {
            return idc;
        }
    }
    62
}

/// log2_max_frame_num_minus4 used by the encoder: frame_num is 8 bits.
pub const LOG2_MAX_FRAME_NUM: u32 = 8;

/// seq_parameter_set_rbsp (7.3.2.1.1) for High profile, 4:2:0, 8 bit,
/// pic_order_cnt_type 2, one reference frame, frame cropping, and a VUI.
pub fn sps_rbsp(p: &StreamParams) -> Vec<u8> {
    sps_rbsp_with(p, false)
}

/// High 4:4:4 Predictive profile (A.2.11), needed for transform bypass.
pub const PROFILE_HIGH_444_PREDICTIVE: u8 = 244;

/// [`sps_rbsp`], optionally for lossless coding: High 4:4:4 Predictive with
/// qpprime_y_zero_transform_bypass_flag set (7.4.2.1.1).
pub fn sps_rbsp_with(p: &StreamParams, lossless: bool) -> Vec<u8> {
    let mut w = BitWriter::new();
    let profile = if lossless {
        PROFILE_HIGH_444_PREDICTIVE
    } else {
        PROFILE_HIGH
    };
    w.put_bits(8, u32::from(profile));
    w.put_bits(8, 0); // constraint_set0..5_flag, reserved_zero_2bits
    w.put_bits(8, u32::from(choose_level(p)));
    w.put_ue(0); // seq_parameter_set_id
    w.put_ue(1); // chroma_format_idc: 4:2:0
    w.put_ue(0); // bit_depth_luma_minus8
    w.put_ue(0); // bit_depth_chroma_minus8
    w.put_flag(lossless); // qpprime_y_zero_transform_bypass_flag
    w.put_flag(false); // seq_scaling_matrix_present_flag
    w.put_ue(LOG2_MAX_FRAME_NUM - 4);
    w.put_ue(2); // pic_order_cnt_type: output order = decoding order
    w.put_ue(1); // max_num_ref_frames
    w.put_flag(false); // gaps_in_frame_num_value_allowed_flag
    w.put_ue(p.width_mbs() - 1);
    w.put_ue(p.height_mbs() - 1);
    w.put_flag(true); // frame_mbs_only_flag
    w.put_flag(true); // direct_8x8_inference_flag
    put_cropping(&mut w, p);
    w.put_flag(true); // vui_parameters_present_flag
    put_vui(&mut w, p);
    w.put_trailing_bits();
    w.into_bytes()
}

/// frame_cropping_flag and offsets in units of CropUnitX = CropUnitY = 2 (7.4.2.1.1).
fn put_cropping<S: BitSink>(w: &mut S, p: &StreamParams) {
    let (dw, dh) = p.coded_display_size();
    let right = (p.width_mbs() * 16 - dw) / 2;
    let bottom = (p.height_mbs() * 16 - dh) / 2;
    let crop = right > 0 || bottom > 0;
    w.put_flag(crop);
    if crop {
        w.put_ue(0); // frame_crop_left_offset
        w.put_ue(right);
        w.put_ue(0); // frame_crop_top_offset
        w.put_ue(bottom);
    }
}

/// vui_parameters (E.1.1): square pixels, colour description, timing,
/// and bitstream restrictions that state the 3200-bit macroblock bound.
fn put_vui<S: BitSink>(w: &mut S, p: &StreamParams) {
    w.put_flag(true); // aspect_ratio_info_present_flag
    w.put_bits(8, 1); // aspect_ratio_idc: 1:1
    w.put_flag(false); // overscan_info_present_flag
    w.put_flag(true); // video_signal_type_present_flag
    w.put_bits(3, 5); // video_format: unspecified
    w.put_flag(p.full_range); // video_full_range_flag
    w.put_flag(true); // colour_description_present_flag
    let code = match p.colour {
        ColourSpace::Bt601 => 6,
        ColourSpace::Bt709 => 1,
    };
    w.put_bits(8, code); // colour_primaries
    w.put_bits(8, code); // transfer_characteristics
    w.put_bits(8, code); // matrix_coefficients
    w.put_flag(false); // chroma_loc_info_present_flag
    put_timing(w, p);
    w.put_flag(false); // nal_hrd_parameters_present_flag
    w.put_flag(false); // vcl_hrd_parameters_present_flag
    w.put_flag(false); // pic_struct_present_flag
    w.put_flag(true); // bitstream_restriction_flag
    w.put_flag(true); // motion_vectors_over_pic_boundaries_flag
    w.put_ue(0); // max_bytes_per_pic_denom: no limit
    w.put_ue(1); // max_bits_per_mb_denom: 128 + RawMbBits = 3200 (E.2.1)
    w.put_ue(16); // log2_max_mv_length_horizontal
    w.put_ue(16); // log2_max_mv_length_vertical
    w.put_ue(0); // max_num_reorder_frames
    w.put_ue(1); // max_dec_frame_buffering
}

/// timing_info (E.2.1): a frame lasts 2 ticks, so time_scale = 2 · fps_num.
/// Rates whose time_scale does not fit 32 bits are left unsignalled.
fn put_timing<S: BitSink>(w: &mut S, p: &StreamParams) {
    let time_scale = u64::from(p.fps_num) * 2;
    let fits = time_scale <= u64::from(u32::MAX) && p.fps_den > 0;
    w.put_flag(fits); // timing_info_present_flag
    if fits {
        w.put_bits(32, p.fps_den); // num_units_in_tick
        w.put_bits(32, time_scale as u32); // time_scale
        w.put_flag(true); // fixed_frame_rate_flag
    }
}

/// pic_parameter_set_rbsp (7.3.2.2): CAVLC, one slice group, pic_init_qp 26,
/// deblocking control present, no 8×8 transform, flat scaling.
pub fn pps_rbsp() -> Vec<u8> {
    let mut w = BitWriter::new();
    w.put_ue(0); // pic_parameter_set_id
    w.put_ue(0); // seq_parameter_set_id
    w.put_flag(false); // entropy_coding_mode_flag: CAVLC
    w.put_flag(false); // bottom_field_pic_order_in_frame_present_flag
    w.put_ue(0); // num_slice_groups_minus1
    w.put_ue(0); // num_ref_idx_l0_default_active_minus1
    w.put_ue(0); // num_ref_idx_l1_default_active_minus1
    w.put_flag(false); // weighted_pred_flag
    w.put_bits(2, 0); // weighted_bipred_idc
    w.put_se(0); // pic_init_qp_minus26
    w.put_se(0); // pic_init_qs_minus26
    w.put_se(0); // chroma_qp_index_offset
    w.put_flag(true); // deblocking_filter_control_present_flag
    w.put_flag(false); // constrained_intra_pred_flag
    w.put_flag(false); // redundant_pic_cnt_present_flag
    w.put_trailing_bits();
    w.into_bytes()
}

/// SPS NAL unit (header + escaped RBSP).
pub fn sps_nal(p: &StreamParams) -> Vec<u8> {
    nal_unit(3, NalType::Sps, &sps_rbsp(p))
}

/// SPS NAL unit, optionally for lossless coding ([`sps_rbsp_with`]).
pub fn sps_nal_with(p: &StreamParams, lossless: bool) -> Vec<u8> {
    nal_unit(3, NalType::Sps, &sps_rbsp_with(p, lossless))
}

/// PPS NAL unit.
pub fn pps_nal() -> Vec<u8> {
    nal_unit(3, NalType::Pps, &pps_rbsp())
}

/// What a slice header carries for the pictures this encoder makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SliceHeader {
    pub idr: bool,
    /// idr_pic_id: consecutive IDR pictures must differ (7.4.3).
    pub idr_pic_id: u32,
    pub frame_num: u32,
    pub qp: i32,
    /// disable_deblocking_filter_idc (7.4.3): 1 turns the loop filter off.
    pub disable_deblocking: u32,
}

/// slice_header (7.3.3) of an I slice covering the whole picture.
pub fn write_i_slice_header<S: BitSink>(w: &mut S, h: &SliceHeader) {
    w.put_ue(0); // first_mb_in_slice
    w.put_ue(7); // slice_type: I, all slices of the picture
    w.put_ue(0); // pic_parameter_set_id
    w.put_bits(
        LOG2_MAX_FRAME_NUM,
        h.frame_num & ((1 << LOG2_MAX_FRAME_NUM) - 1),
    );
    if h.idr {
        w.put_ue(h.idr_pic_id);
    }
    // pic_order_cnt_type 2: no POC syntax. I slice: no ref list syntax.
    // dec_ref_pic_marking (7.3.3.3), nal_ref_idc ≠ 0.
    if h.idr {
        w.put_flag(false); // no_output_of_prior_pics_flag
        w.put_flag(false); // long_term_reference_flag
    } else {
        w.put_flag(false); // adaptive_ref_pic_marking_mode_flag
    }
    w.put_se(h.qp - 26); // slice_qp_delta
    w.put_ue(h.disable_deblocking);
    if h.disable_deblocking != 1 {
        w.put_se(0); // slice_alpha_c0_offset_div2
        w.put_se(0); // slice_beta_offset_div2
    }
}

/// slice_header (7.3.3) of a P slice covering the whole picture, predicting
/// from the one reference picture.
pub fn write_p_slice_header<S: BitSink>(w: &mut S, h: &SliceHeader) {
    w.put_ue(0); // first_mb_in_slice
    w.put_ue(5); // slice_type: P, all slices of the picture
    w.put_ue(0); // pic_parameter_set_id
    w.put_bits(
        LOG2_MAX_FRAME_NUM,
        h.frame_num & ((1 << LOG2_MAX_FRAME_NUM) - 1),
    );
    w.put_flag(false); // num_ref_idx_active_override_flag: one reference (PPS default)
    w.put_flag(false); // ref_pic_list_modification_flag_l0 (7.3.3.1)
    w.put_flag(false); // adaptive_ref_pic_marking_mode_flag: sliding window (7.3.3.3)
    w.put_se(h.qp - 26); // slice_qp_delta
    w.put_ue(h.disable_deblocking);
    if h.disable_deblocking != 1 {
        w.put_se(0); // slice_alpha_c0_offset_div2
        w.put_se(0); // slice_beta_offset_div2
    }
}

/// Upper bound of a slice header's size in bits for these pictures.
pub const SLICE_HEADER_MAX_BITS: u64 = 1 + 7 + 1 + 8 + 65 + 2 + 13 + 3 + 2;

#[cfg(test)]
mod tests {
    use super::*;

    fn params(w: u32, h: u32) -> StreamParams {
        StreamParams {
            width: w,
            height: h,
            fps_num: 30,
            fps_den: 1,
            colour: ColourSpace::Bt709,
            full_range: false,
        }
    }

    #[test]
    fn levels_follow_table_a1() {
        assert_eq!(choose_level(&params(176, 144)), 11); // 99 MBs at 30 fps = 2970 MB/s
        assert_eq!(choose_level(&params(1280, 720)), 31);
        assert_eq!(choose_level(&params(1920, 1080)), 40);
        assert_eq!(choose_level(&params(3840, 2160)), 51);
        assert_eq!(choose_level(&params(8192, 8192)), 62);
        assert_eq!(choose_level(&params(1, 1)), 10);
    }

    #[test]
    fn sps_starts_with_profile_and_level() {
        let s = sps_nal(&params(1920, 1080));
        assert_eq!(&s[..4], &[0x67, 100, 0, 40]);
    }

    #[test]
    fn slice_header_bound_holds() {
        let mut c = crate::bits::BitCounter::default();
        let h = SliceHeader {
            idr: true,
            idr_pic_id: 65535,
            frame_num: 255,
            qp: 0,
            disable_deblocking: 0,
        };
        write_i_slice_header(&mut c, &h);
        assert!(c.bits <= SLICE_HEADER_MAX_BITS, "{}", c.bits);
    }
}
