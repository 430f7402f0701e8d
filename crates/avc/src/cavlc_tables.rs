//! CAVLC code tables of ITU-T H.264 clause 9.2 (Tables 9-5, 9-7, 9-8, 9-9(a), 9-10).
//!
//! Every codeword is a [`Vlc`]: `(length in bits, code)`, the code's `length` low
//! bits written most significant first. Cells the standard leaves empty (for
//! example TrailingOnes > TotalCoeff, or total_zeros > maxNumCoeff − TotalCoeff)
//! hold [`NONE`], whose length is 0.

/// A variable-length codeword: `(length in bits, code value)`.
pub type Vlc = (u8, u16);

/// An empty table cell (no codeword).
pub const NONE: Vlc = (0, 0);

// Table 9-5: coeff_token. Each column is indexed `[TotalCoeff][TrailingOnes]`.

/// Table 9-5, column 0 <= nC < 2.
#[rustfmt::skip]
pub const COEFF_TOKEN_NC_0_TO_2: [[Vlc; 4]; 17] = [
    [(1, 0b1), NONE, NONE, NONE], // TotalCoeff 0
    [(6, 0b000101), (2, 0b01), NONE, NONE], // TotalCoeff 1
    [(8, 0b00000111), (6, 0b000100), (3, 0b001), NONE], // TotalCoeff 2
    [(9, 0b000000111), (8, 0b00000110), (7, 0b0000101), (5, 0b00011)], // TotalCoeff 3
    [(10, 0b0000000111), (9, 0b000000110), (8, 0b00000101), (6, 0b000011)], // TotalCoeff 4
    [(11, 0b00000000111), (10, 0b0000000110), (9, 0b000000101), (7, 0b0000100)], // TotalCoeff 5
    [(13, 0b0000000001111), (11, 0b00000000110), (10, 0b0000000101), (8, 0b00000100)], // TotalCoeff 6
    [(13, 0b0000000001011), (13, 0b0000000001110), (11, 0b00000000101), (9, 0b000000100)], // TotalCoeff 7
    [(13, 0b0000000001000), (13, 0b0000000001010), (13, 0b0000000001101), (10, 0b0000000100)], // TotalCoeff 8
    [(14, 0b00000000001111), (14, 0b00000000001110), (13, 0b0000000001001), (11, 0b00000000100)], // TotalCoeff 9
    [(14, 0b00000000001011), (14, 0b00000000001010), (14, 0b00000000001101), (13, 0b0000000001100)], // TotalCoeff 10
    [(15, 0b000000000001111), (15, 0b000000000001110), (14, 0b00000000001001), (14, 0b00000000001100)], // TotalCoeff 11
    [(15, 0b000000000001011), (15, 0b000000000001010), (15, 0b000000000001101), (14, 0b00000000001000)], // TotalCoeff 12
    [(16, 0b0000000000001111), (15, 0b000000000000001), (15, 0b000000000001001), (15, 0b000000000001100)], // TotalCoeff 13
    [(16, 0b0000000000001011), (16, 0b0000000000001110), (16, 0b0000000000001101), (15, 0b000000000001000)], // TotalCoeff 14
    [(16, 0b0000000000000111), (16, 0b0000000000001010), (16, 0b0000000000001001), (16, 0b0000000000001100)], // TotalCoeff 15
    [(16, 0b0000000000000100), (16, 0b0000000000000110), (16, 0b0000000000000101), (16, 0b0000000000001000)], // TotalCoeff 16
];

/// Table 9-5, column 2 <= nC < 4.
#[rustfmt::skip]
pub const COEFF_TOKEN_NC_2_TO_4: [[Vlc; 4]; 17] = [
    [(2, 0b11), NONE, NONE, NONE], // TotalCoeff 0
    [(6, 0b001011), (2, 0b10), NONE, NONE], // TotalCoeff 1
    [(6, 0b000111), (5, 0b00111), (3, 0b011), NONE], // TotalCoeff 2
    [(7, 0b0000111), (6, 0b001010), (6, 0b001001), (4, 0b0101)], // TotalCoeff 3
    [(8, 0b00000111), (6, 0b000110), (6, 0b000101), (4, 0b0100)], // TotalCoeff 4
    [(8, 0b00000100), (7, 0b0000110), (7, 0b0000101), (5, 0b00110)], // TotalCoeff 5
    [(9, 0b000000111), (8, 0b00000110), (8, 0b00000101), (6, 0b001000)], // TotalCoeff 6
    [(11, 0b00000001111), (9, 0b000000110), (9, 0b000000101), (6, 0b000100)], // TotalCoeff 7
    [(11, 0b00000001011), (11, 0b00000001110), (11, 0b00000001101), (7, 0b0000100)], // TotalCoeff 8
    [(12, 0b000000001111), (11, 0b00000001010), (11, 0b00000001001), (9, 0b000000100)], // TotalCoeff 9
    [(12, 0b000000001011), (12, 0b000000001110), (12, 0b000000001101), (11, 0b00000001100)], // TotalCoeff 10
    [(12, 0b000000001000), (12, 0b000000001010), (12, 0b000000001001), (11, 0b00000001000)], // TotalCoeff 11
    [(13, 0b0000000001111), (13, 0b0000000001110), (13, 0b0000000001101), (12, 0b000000001100)], // TotalCoeff 12
    [(13, 0b0000000001011), (13, 0b0000000001010), (13, 0b0000000001001), (13, 0b0000000001100)], // TotalCoeff 13
    [(13, 0b0000000000111), (14, 0b00000000001011), (13, 0b0000000000110), (13, 0b0000000001000)], // TotalCoeff 14
    [(14, 0b00000000001001), (14, 0b00000000001000), (14, 0b00000000001010), (13, 0b0000000000001)], // TotalCoeff 15
    [(14, 0b00000000000111), (14, 0b00000000000110), (14, 0b00000000000101), (14, 0b00000000000100)], // TotalCoeff 16
];

/// Table 9-5, column 4 <= nC < 8.
#[rustfmt::skip]
pub const COEFF_TOKEN_NC_4_TO_8: [[Vlc; 4]; 17] = [
    [(4, 0b1111), NONE, NONE, NONE], // TotalCoeff 0
    [(6, 0b001111), (4, 0b1110), NONE, NONE], // TotalCoeff 1
    [(6, 0b001011), (5, 0b01111), (4, 0b1101), NONE], // TotalCoeff 2
    [(6, 0b001000), (5, 0b01100), (5, 0b01110), (4, 0b1100)], // TotalCoeff 3
    [(7, 0b0001111), (5, 0b01010), (5, 0b01011), (4, 0b1011)], // TotalCoeff 4
    [(7, 0b0001011), (5, 0b01000), (5, 0b01001), (4, 0b1010)], // TotalCoeff 5
    [(7, 0b0001001), (6, 0b001110), (6, 0b001101), (4, 0b1001)], // TotalCoeff 6
    [(7, 0b0001000), (6, 0b001010), (6, 0b001001), (4, 0b1000)], // TotalCoeff 7
    [(8, 0b00001111), (7, 0b0001110), (7, 0b0001101), (5, 0b01101)], // TotalCoeff 8
    [(8, 0b00001011), (8, 0b00001110), (7, 0b0001010), (6, 0b001100)], // TotalCoeff 9
    [(9, 0b000001111), (8, 0b00001010), (8, 0b00001101), (7, 0b0001100)], // TotalCoeff 10
    [(9, 0b000001011), (9, 0b000001110), (8, 0b00001001), (8, 0b00001100)], // TotalCoeff 11
    [(9, 0b000001000), (9, 0b000001010), (9, 0b000001101), (8, 0b00001000)], // TotalCoeff 12
    [(10, 0b0000001101), (9, 0b000000111), (9, 0b000001001), (9, 0b000001100)], // TotalCoeff 13
    [(10, 0b0000001001), (10, 0b0000001100), (10, 0b0000001011), (10, 0b0000001010)], // TotalCoeff 14
    [(10, 0b0000000101), (10, 0b0000001000), (10, 0b0000000111), (10, 0b0000000110)], // TotalCoeff 15
    [(10, 0b0000000001), (10, 0b0000000100), (10, 0b0000000011), (10, 0b0000000010)], // TotalCoeff 16
];

/// Table 9-5, column 8 <= nC (a 6-bit fixed-length code).
#[rustfmt::skip]
pub const COEFF_TOKEN_NC_8_UP: [[Vlc; 4]; 17] = [
    [(6, 0b000011), NONE, NONE, NONE], // TotalCoeff 0
    [(6, 0b000000), (6, 0b000001), NONE, NONE], // TotalCoeff 1
    [(6, 0b000100), (6, 0b000101), (6, 0b000110), NONE], // TotalCoeff 2
    [(6, 0b001000), (6, 0b001001), (6, 0b001010), (6, 0b001011)], // TotalCoeff 3
    [(6, 0b001100), (6, 0b001101), (6, 0b001110), (6, 0b001111)], // TotalCoeff 4
    [(6, 0b010000), (6, 0b010001), (6, 0b010010), (6, 0b010011)], // TotalCoeff 5
    [(6, 0b010100), (6, 0b010101), (6, 0b010110), (6, 0b010111)], // TotalCoeff 6
    [(6, 0b011000), (6, 0b011001), (6, 0b011010), (6, 0b011011)], // TotalCoeff 7
    [(6, 0b011100), (6, 0b011101), (6, 0b011110), (6, 0b011111)], // TotalCoeff 8
    [(6, 0b100000), (6, 0b100001), (6, 0b100010), (6, 0b100011)], // TotalCoeff 9
    [(6, 0b100100), (6, 0b100101), (6, 0b100110), (6, 0b100111)], // TotalCoeff 10
    [(6, 0b101000), (6, 0b101001), (6, 0b101010), (6, 0b101011)], // TotalCoeff 11
    [(6, 0b101100), (6, 0b101101), (6, 0b101110), (6, 0b101111)], // TotalCoeff 12
    [(6, 0b110000), (6, 0b110001), (6, 0b110010), (6, 0b110011)], // TotalCoeff 13
    [(6, 0b110100), (6, 0b110101), (6, 0b110110), (6, 0b110111)], // TotalCoeff 14
    [(6, 0b111000), (6, 0b111001), (6, 0b111010), (6, 0b111011)], // TotalCoeff 15
    [(6, 0b111100), (6, 0b111101), (6, 0b111110), (6, 0b111111)], // TotalCoeff 16
];

/// Table 9-5, column nC == -1 (chroma DC, 4:2:0).
#[rustfmt::skip]
pub const COEFF_TOKEN_CHROMA_DC: [[Vlc; 4]; 5] = [
    [(2, 0b01), NONE, NONE, NONE], // TotalCoeff 0
    [(6, 0b000111), (1, 0b1), NONE, NONE], // TotalCoeff 1
    [(6, 0b000100), (6, 0b000110), (3, 0b001), NONE], // TotalCoeff 2
    [(6, 0b000011), (7, 0b0000011), (7, 0b0000010), (6, 0b000101)], // TotalCoeff 3
    [(6, 0b000010), (8, 0b00000011), (8, 0b00000010), (7, 0b0000000)], // TotalCoeff 4
];

/// Tables 9-7 (tzVlcIndex 1..=7) and 9-8 (tzVlcIndex 8..=15): total_zeros for 4x4 blocks
/// (maxNumCoeff 15 or 16). Indexed `[tzVlcIndex - 1][total_zeros]`.
#[rustfmt::skip]
pub const TOTAL_ZEROS_4X4: [[Vlc; 16]; 15] = [
    // tzVlcIndex 1
    [(1, 0b1), (3, 0b011), (3, 0b010), (4, 0b0011), (4, 0b0010), (5, 0b00011), (5, 0b00010), (6, 0b000011), (6, 0b000010), (7, 0b0000011), (7, 0b0000010), (8, 0b00000011), (8, 0b00000010), (9, 0b000000011), (9, 0b000000010), (9, 0b000000001)],
    // tzVlcIndex 2
    [(3, 0b111), (3, 0b110), (3, 0b101), (3, 0b100), (3, 0b011), (4, 0b0101), (4, 0b0100), (4, 0b0011), (4, 0b0010), (5, 0b00011), (5, 0b00010), (6, 0b000011), (6, 0b000010), (6, 0b000001), (6, 0b000000), NONE],
    // tzVlcIndex 3
    [(4, 0b0101), (3, 0b111), (3, 0b110), (3, 0b101), (4, 0b0100), (4, 0b0011), (3, 0b100), (3, 0b011), (4, 0b0010), (5, 0b00011), (5, 0b00010), (6, 0b000001), (5, 0b00001), (6, 0b000000), NONE, NONE],
    // tzVlcIndex 4
    [(5, 0b00011), (3, 0b111), (4, 0b0101), (4, 0b0100), (3, 0b110), (3, 0b101), (3, 0b100), (4, 0b0011), (3, 0b011), (4, 0b0010), (5, 0b00010), (5, 0b00001), (5, 0b00000), NONE, NONE, NONE],
    // tzVlcIndex 5
    [(4, 0b0101), (4, 0b0100), (4, 0b0011), (3, 0b111), (3, 0b110), (3, 0b101), (3, 0b100), (3, 0b011), (4, 0b0010), (5, 0b00001), (4, 0b0001), (5, 0b00000), NONE, NONE, NONE, NONE],
    // tzVlcIndex 6
    [(6, 0b000001), (5, 0b00001), (3, 0b111), (3, 0b110), (3, 0b101), (3, 0b100), (3, 0b011), (3, 0b010), (4, 0b0001), (3, 0b001), (6, 0b000000), NONE, NONE, NONE, NONE, NONE],
    // tzVlcIndex 7
    [(6, 0b000001), (5, 0b00001), (3, 0b101), (3, 0b100), (3, 0b011), (2, 0b11), (3, 0b010), (4, 0b0001), (3, 0b001), (6, 0b000000), NONE, NONE, NONE, NONE, NONE, NONE],
    // tzVlcIndex 8
    [(6, 0b000001), (4, 0b0001), (5, 0b00001), (3, 0b011), (2, 0b11), (2, 0b10), (3, 0b010), (3, 0b001), (6, 0b000000), NONE, NONE, NONE, NONE, NONE, NONE, NONE],
    // tzVlcIndex 9
    [(6, 0b000001), (6, 0b000000), (4, 0b0001), (2, 0b11), (2, 0b10), (3, 0b001), (2, 0b01), (5, 0b00001), NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE],
    // tzVlcIndex 10
    [(5, 0b00001), (5, 0b00000), (3, 0b001), (2, 0b11), (2, 0b10), (2, 0b01), (4, 0b0001), NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE],
    // tzVlcIndex 11
    [(4, 0b0000), (4, 0b0001), (3, 0b001), (3, 0b010), (1, 0b1), (3, 0b011), NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE],
    // tzVlcIndex 12
    [(4, 0b0000), (4, 0b0001), (2, 0b01), (1, 0b1), (3, 0b001), NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE],
    // tzVlcIndex 13
    [(3, 0b000), (3, 0b001), (1, 0b1), (2, 0b01), NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE],
    // tzVlcIndex 14
    [(2, 0b00), (2, 0b01), (1, 0b1), NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE],
    // tzVlcIndex 15
    [(1, 0b0), (1, 0b1), NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE],
];

/// Table 9-9(a): total_zeros for chroma DC 2x2 blocks (4:2:0, maxNumCoeff 4).
/// Indexed `[tzVlcIndex - 1][total_zeros]`.
#[rustfmt::skip]
pub const TOTAL_ZEROS_CHROMA_DC: [[Vlc; 4]; 3] = [
    [(1, 0b1), (2, 0b01), (3, 0b001), (3, 0b000)], // tzVlcIndex 1
    [(1, 0b1), (2, 0b01), (2, 0b00), NONE], // tzVlcIndex 2
    [(1, 0b1), (1, 0b0), NONE, NONE], // tzVlcIndex 3
];

/// Table 9-10: run_before. Indexed `[min(zerosLeft, 7) - 1][run_before]`.
#[rustfmt::skip]
pub const RUN_BEFORE: [[Vlc; 15]; 7] = [
    // zerosLeft 1
    [(1, 0b1), (1, 0b0), NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE],
    // zerosLeft 2
    [(1, 0b1), (2, 0b01), (2, 0b00), NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE],
    // zerosLeft 3
    [(2, 0b11), (2, 0b10), (2, 0b01), (2, 0b00), NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE],
    // zerosLeft 4
    [(2, 0b11), (2, 0b10), (2, 0b01), (3, 0b001), (3, 0b000), NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE],
    // zerosLeft 5
    [(2, 0b11), (2, 0b10), (3, 0b011), (3, 0b010), (3, 0b001), (3, 0b000), NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE],
    // zerosLeft 6
    [(2, 0b11), (3, 0b000), (3, 0b001), (3, 0b011), (3, 0b010), (3, 0b101), (3, 0b100), NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE],
    // zerosLeft > 6
    [(3, 0b111), (3, 0b110), (3, 0b101), (3, 0b100), (3, 0b011), (3, 0b010), (3, 0b001), (4, 0b0001), (5, 0b00001), (6, 0b000001), (7, 0b0000001), (8, 0b00000001), (9, 0b000000001), (10, 0b0000000001), (11, 0b00000000001)],
];

/// The longest coeff_token over the four nC ≥ 0 columns of Table 9-5, indexed
/// `[TotalCoeff][TrailingOnes]` (0 for empty cells). A block's size bound uses it so
/// that the bound does not depend on the neighbours' nC.
pub const COEFF_TOKEN_NC_MAX_LEN: [[u8; 4]; 17] = coeff_token_nc_max_len();

const fn coeff_token_nc_max_len() -> [[u8; 4]; 17] {
    let columns = [
        &COEFF_TOKEN_NC_0_TO_2,
        &COEFF_TOKEN_NC_2_TO_4,
        &COEFF_TOKEN_NC_4_TO_8,
        &COEFF_TOKEN_NC_8_UP,
    ];
    let mut out = [[0u8; 4]; 17];
    let mut total = 0;
    while total < 17 {
        let mut ones = 0;
        while ones < 4 {
            let mut c = 0;
            while c < columns.len() {
                let len = columns[c][total][ones].0;
                if len > out[total][ones] {
                    out[total][ones] = len;
                }
                c += 1;
            }
            ones += 1;
        }
        total += 1;
    }
    out
}

/// total_zeros (Tables 9-7, 9-8) followed by every run_before (Table 9-10) of
/// a block coded with an nC ≥ 0 coeff_token table, indexed by where its
/// nonzero levels lie (bit i set: a level at scan position i), as one
/// codeword of at most 30 bits with a marker bit above it (`1 << len |
/// code`). Only for blocks with fewer levels than their maxNumCoeff (with as
/// many, neither is coded); the entry of no levels is 0. (Its 65536
/// entries take the compiler longer than its lint for endless loops likes.)
#[allow(long_running_const_eval)]
pub static ZEROS_AND_RUNS_4X4: [u32; 1 << 16] = zeros_and_runs(&TOTAL_ZEROS_4X4);

/// [`ZEROS_AND_RUNS_4X4`] for chroma DC blocks (Table 9-9(a) for
/// total_zeros; maxNumCoeff 4).
pub const ZEROS_AND_RUNS_CHROMA_DC: [u32; 16] = zeros_and_runs(&TOTAL_ZEROS_CHROMA_DC);

/// The table of total_zeros and runs for blocks of maxNumCoeff `log2(N)`,
/// whose total_zeros codewords are `total_zeros[TotalCoeff − 1][zeros]`.
const fn zeros_and_runs<const N: usize, const Z: usize>(total_zeros: &[[Vlc; Z]]) -> [u32; N] {
    let max_coeff = N.trailing_zeros();
    let mut out = [0u32; N];
    let mut mask = 1;
    while mask < N {
        let total = mask.count_ones();
        if total < max_coeff {
            let zeros = zeros_below_top(mask);
            out[mask] = with_runs(mask, total_zeros[total as usize - 1][zeros]);
        }
        mask += 1;
    }
    out
}

/// The zeros below the highest set bit of `mask` (total_zeros, 7.4.5.3.2).
const fn zeros_below_top(mask: usize) -> usize {
    (usize::BITS - mask.leading_zeros() - mask.count_ones()) as usize
}

/// `total_zeros` followed by the run_before of each level of `mask` from the
/// highest, while zeros are left (the last level's run is inferred), with a
/// marker bit above them.
const fn with_runs(mask: usize, total_zeros: Vlc) -> u32 {
    let (mut len, mut code) = (total_zeros.0 as u32, total_zeros.1 as u32);
    let mut zeros_left = zeros_below_top(mask);
    let mut rest = mask;
    let mut pos = (usize::BITS - 1 - mask.leading_zeros()) as usize;
    while zeros_left > 0 {
        rest ^= 1 << pos;
        if rest == 0 {
            break;
        }
        let next = (usize::BITS - 1 - rest.leading_zeros()) as usize;
        let run = pos - next - 1;
        let zl = if zeros_left < 7 { zeros_left } else { 7 };
        let (l, c) = RUN_BEFORE[zl - 1][run];
        len += l as u32;
        code = code << l | c as u32;
        zeros_left -= run;
        pos = next;
    }
    assert!(len <= 30, "a codeword longer than its entry holds");
    1 << len | code
}
