//! Macroblock syntax constants and mappings (7.4.5, 9.1.2).

/// mb_type of I_NxN in an I slice (Table 7-11).
pub const MB_TYPE_I_NXN: u32 = 0;
/// mb_type of I_PCM in an I slice (Table 7-11).
pub const MB_TYPE_I_PCM: u32 = 25;

/// Partitioning of an inter macroblock in a P slice (Table 7-13); P_8x8
/// always uses sub_mb_type P_L0_8x8 (Table 7-17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Partition {
    P16x16,
    P16x8,
    P8x16,
    P8x8,
}

impl Partition {
    /// mb_type in a P slice (Table 7-13).
    pub const fn mb_type(self) -> u32 {
        match self {
            Partition::P16x16 => 0,
            Partition::P16x8 => 1,
            Partition::P8x16 => 2,
            Partition::P8x8 => 3,
        }
    }

    /// Number of macroblock partitions (motion vectors).
    pub const fn count(self) -> usize {
        match self {
            Partition::P16x16 => 1,
            Partition::P16x8 | Partition::P8x16 => 2,
            Partition::P8x8 => 4,
        }
    }

    /// Position and size (x, y, w, h) of partition `idx` in luma samples.
    pub const fn rect(self, idx: usize) -> (usize, usize, usize, usize) {
        match self {
            Partition::P16x16 => (0, 0, 16, 16),
            Partition::P16x8 => (0, idx * 8, 16, 8),
            Partition::P8x16 => (idx * 8, 0, 8, 16),
            Partition::P8x8 => ((idx % 2) * 8, (idx / 2) * 8, 8, 8),
        }
    }
}

/// Offset of intra mb_type values in a P slice (Table 7-13: 5..30).
pub const P_SLICE_INTRA_OFFSET: u32 = 5;

/// mb_type of Intra_16x16 (Table 7-11): 1 + mode + 4·cbp_chroma + 12·(cbp_luma ≠ 0).
pub fn i16_mb_type(mode: u8, cbp_luma: u8, cbp_chroma: u8) -> u32 {
    1 + u32::from(mode) + 4 * u32::from(cbp_chroma) + if cbp_luma != 0 { 12 } else { 0 }
}

/// coded_block_pattern → codeNum for intra macroblocks, ChromaArrayType 1 or 2
/// (Table 9-4, the inverse of its Intra_4x4 column).
const INTRA_CBP_TO_CODE: [u8; 48] = invert(&[
    47, 31, 15, 0, 23, 27, 29, 30, 7, 11, 13, 14, 39, 43, 45, 46, 16, 3, 5, 10, 12, 19, 21, 26, 28,
    35, 37, 42, 44, 1, 2, 4, 8, 17, 18, 20, 24, 6, 9, 22, 25, 32, 33, 34, 36, 40, 38, 41,
]);

/// coded_block_pattern → codeNum for inter macroblocks (Table 9-4, Inter column).
const INTER_CBP_TO_CODE: [u8; 48] = invert(&[
    0, 16, 1, 2, 4, 8, 32, 3, 5, 10, 12, 15, 47, 7, 11, 13, 14, 6, 9, 31, 35, 37, 42, 44, 33, 34,
    36, 40, 39, 43, 45, 46, 17, 18, 20, 24, 19, 21, 26, 28, 23, 27, 29, 30, 22, 25, 38, 41,
]);

const fn invert(code_to_cbp: &[u8; 48]) -> [u8; 48] {
    let mut out = [0u8; 48];
    let mut code = 0;
    while code < 48 {
        out[code_to_cbp[code] as usize] = code as u8;
        code += 1;
    }
    out
}

/// codeNum of an intra coded_block_pattern (luma bits 0..3, chroma in bits 4..5).
pub fn intra_cbp_code_num(cbp: u8) -> u32 {
    u32::from(INTRA_CBP_TO_CODE[usize::from(cbp % 48)])
}

/// codeNum of an inter coded_block_pattern.
pub fn inter_cbp_code_num(cbp: u8) -> u32 {
    u32::from(INTER_CBP_TO_CODE[usize::from(cbp % 48)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cbp_tables_are_bijections() {
        for table in [&INTRA_CBP_TO_CODE, &INTER_CBP_TO_CODE] {
            let mut seen = [false; 48];
            for &c in table.iter() {
                assert!(!seen[c as usize]);
                seen[c as usize] = true;
            }
        }
        assert_eq!(intra_cbp_code_num(47), 0);
        assert_eq!(intra_cbp_code_num(0), 3);
        assert_eq!(inter_cbp_code_num(0), 0);
        assert_eq!(inter_cbp_code_num(16), 1);
    }

    #[test]
    fn i16_mb_types() {
        assert_eq!(i16_mb_type(0, 0, 0), 1);
        assert_eq!(i16_mb_type(3, 15, 2), 24);
    }
}
