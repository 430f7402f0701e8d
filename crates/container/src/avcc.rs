//! The AVC decoder configuration record (`avcC`, ISO/IEC 14496-15 §5.3.3.1)
//! and the few SPS fields (ITU-T H.264 §7.3.2.1.1) it repeats.

use crate::boxes::BoxBuf;

/// NAL unit types of ITU-T H.264 Table 7-1 that the track description holds.
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;

/// What the avcC needs from the sequence parameter set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SpsInfo {
    pub profile_idc: u8,
    pub constraint_flags: u8,
    pub level_idc: u8,
    pub chroma_format_idc: u8,
    pub bit_depth_luma_minus8: u8,
    pub bit_depth_chroma_minus8: u8,
}

/// Profiles whose SPS carries chroma_format_idc and bit depths (H.264 §7.3.2.1.1).
fn sps_has_chroma_info(profile_idc: u8) -> bool {
    matches!(
        profile_idc,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    )
}

/// Profiles after whose parameter sets the avcC carries the chroma_format /
/// bit depth / SPS-extension trailer (14496-15 §5.3.3.1.1 lists 100, 110, 122
/// and 144; 244, High 4:4:4 Predictive, replaced 144 and is written the same way).
fn avcc_has_trailer(profile_idc: u8) -> bool {
    matches!(profile_idc, 100 | 110 | 122 | 144 | 244)
}

/// Reads bits MSB first from an RBSP (emulation prevention removed).
struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl BitReader<'_> {
    fn bit(&mut self) -> Option<u32> {
        let byte = *self.data.get(self.pos / 8)?;
        let b = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Some(u32::from(b))
    }

    /// ue(v), H.264 §9.1; values past 32 bits are rejected.
    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0u32;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        let mut v: u64 = 1;
        for _ in 0..zeros {
            v = (v << 1) | u64::from(self.bit()?);
        }
        u32::try_from(v - 1).ok()
    }
}

/// Removes emulation_prevention_three_byte (H.264 §7.4.1): 00 00 03 → 00 00.
fn nal_to_rbsp(nal_payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal_payload.len());
    let mut zeros = 0;
    for &b in nal_payload {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

fn check_nal(what: &str, nal: &[u8], nal_type: u8, min_len: usize) -> Result<(), String> {
    if nal.len() < min_len {
        return Err(format!(
            "{what} is {} bytes, too short (expected at least {min_len}, including the NAL header byte)",
            nal.len()
        ));
    }
    if nal.len() > usize::from(u16::MAX) {
        return Err(format!(
            "{what} is {} bytes (expected at most 65535, the limit of the avcC record)",
            nal.len()
        ));
    }
    let header = nal[0];
    if header & 0x80 != 0 || header & 0x1F != nal_type {
        return Err(format!(
            "{what} has NAL header byte 0x{header:02X} (expected nal_unit_type {nal_type} with forbidden_zero_bit 0; pass the NAL unit without start code)"
        ));
    }
    Ok(())
}

/// Parses the SPS NAL unit (header byte included).
pub(crate) fn parse_sps(sps: &[u8]) -> Result<SpsInfo, String> {
    check_nal("SPS", sps, NAL_SPS, 4)?;
    let mut info = SpsInfo {
        profile_idc: sps[1],
        constraint_flags: sps[2],
        level_idc: sps[3],
        chroma_format_idc: 1,
        bit_depth_luma_minus8: 0,
        bit_depth_chroma_minus8: 0,
    };
    if sps_has_chroma_info(info.profile_idc) {
        let rbsp = nal_to_rbsp(&sps[4..]);
        let mut r = BitReader {
            data: &rbsp,
            pos: 0,
        };
        let truncated = || "SPS is truncated before bit_depth_chroma_minus8".to_string();
        let _seq_parameter_set_id = r.ue().ok_or_else(truncated)?;
        let chroma = r.ue().ok_or_else(truncated)?;
        if chroma > 3 {
            return Err(format!(
                "SPS has chroma_format_idc {chroma} (expected 0..=3)"
            ));
        }
        if chroma == 3 {
            let _separate_colour_plane_flag = r.bit().ok_or_else(truncated)?;
        }
        let luma = r.ue().ok_or_else(truncated)?;
        let chroma_depth = r.ue().ok_or_else(truncated)?;
        if luma > 6 || chroma_depth > 6 {
            return Err(format!(
                "SPS has bit_depth_luma_minus8 {luma} and bit_depth_chroma_minus8 {chroma_depth} (expected 0..=6)"
            ));
        }
        // All three fit their fields: checked against 3 and 6 above.
        info.chroma_format_idc = chroma as u8;
        info.bit_depth_luma_minus8 = luma as u8;
        info.bit_depth_chroma_minus8 = chroma_depth as u8;
    }
    Ok(info)
}

/// Checks the PPS NAL unit (header byte included).
pub(crate) fn check_pps(pps: &[u8]) -> Result<(), String> {
    check_nal("PPS", pps, NAL_PPS, 2)
}

/// Writes the `avcC` box (14496-15 §5.3.3.1.2 AVCConfigurationBox) holding one
/// SPS and one PPS, with 4-byte NAL unit lengths in the samples.
pub(crate) fn write_avcc(b: &mut BoxBuf, sps: &[u8], pps: &[u8]) -> Result<(), String> {
    let info = parse_sps(sps)?;
    check_pps(pps)?;
    b.begin(b"avcC");
    b.u8(1); // configurationVersion
    b.u8(info.profile_idc); // AVCProfileIndication
    b.u8(info.constraint_flags); // profile_compatibility
    b.u8(info.level_idc); // AVCLevelIndication
    b.u8(0xFC | 3); // reserved '111111'b, lengthSizeMinusOne = 3
    b.u8(0xE0 | 1); // reserved '111'b, numOfSequenceParameterSets = 1
                    // Lengths fit u16: check_nal bounds both at 65535.
    b.u16(sps.len() as u16);
    b.bytes(sps);
    b.u8(1); // numOfPictureParameterSets
    b.u16(pps.len() as u16);
    b.bytes(pps);
    if avcc_has_trailer(info.profile_idc) {
        b.u8(0xFC | info.chroma_format_idc); // reserved '111111'b, chroma_format
        b.u8(0xF8 | info.bit_depth_luma_minus8); // reserved '11111'b, bit_depth_luma_minus8
        b.u8(0xF8 | info.bit_depth_chroma_minus8); // reserved '11111'b, bit_depth_chroma_minus8
        b.u8(0); // numOfSequenceParameterSetExt
    }
    b.end();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Baseline SPS: profile 66, level 30, sps_id 0, … (only the first bytes matter here).
    const BASELINE_SPS: [u8; 8] = [0x67, 66, 0xC0, 30, 0xDA, 0x02, 0x80, 0xBF];
    const PPS: [u8; 4] = [0x68, 0xCE, 0x3C, 0x80];

    /// High profile SPS fragment: sps_id ue(0)='1', chroma_format_idc ue(1)='010',
    /// bit_depth_luma ue(0)='1', bit_depth_chroma ue(2)='011' → 1010 1011 = 0xAB.
    const HIGH_SPS: [u8; 6] = [0x67, 100, 0x00, 40, 0xAB, 0x80];

    fn avcc(sps: &[u8]) -> Vec<u8> {
        let mut b = BoxBuf::new();
        write_avcc(&mut b, sps, &PPS).unwrap();
        b.into_bytes().unwrap()
    }

    #[test]
    fn baseline_record_has_no_trailer() {
        let v = avcc(&BASELINE_SPS);
        let mut want = vec![
            0, 0, 0, 0, b'a', b'v', b'c', b'C', 1, 66, 0xC0, 30, 0xFF, 0xE1,
        ];
        want.extend_from_slice(&[0, 8]);
        want.extend_from_slice(&BASELINE_SPS);
        want.extend_from_slice(&[1, 0, 4]);
        want.extend_from_slice(&PPS);
        want[3] = want.len() as u8;
        assert_eq!(v, want);
    }

    #[test]
    fn high_record_has_chroma_trailer_from_sps() {
        let info = parse_sps(&HIGH_SPS).unwrap();
        assert_eq!(info.chroma_format_idc, 1);
        assert_eq!(info.bit_depth_luma_minus8, 0);
        assert_eq!(info.bit_depth_chroma_minus8, 2);
        let v = avcc(&HIGH_SPS);
        assert_eq!(&v[v.len() - 4..], &[0xFD, 0xF8, 0xFA, 0x00]);
    }

    #[test]
    fn emulation_prevention_is_removed() {
        assert_eq!(nal_to_rbsp(&[0, 0, 3, 1, 0, 0, 3]), vec![0, 0, 1, 0, 0]);
    }

    #[test]
    fn bad_parameter_sets_are_rejected() {
        assert!(parse_sps(&[0x67, 66, 0]).unwrap_err().contains("too short"));
        assert!(parse_sps(&[0x68, 66, 0, 30])
            .unwrap_err()
            .contains("nal_unit_type 7"));
        assert!(parse_sps(&[0x67, 100, 0, 40])
            .unwrap_err()
            .contains("truncated"));
        assert!(check_pps(&[0x68]).unwrap_err().contains("too short"));
        assert!(check_pps(&[0x00, 0, 0, 1]).is_err());
        assert!(check_pps(&PPS).is_ok());
    }
}
