//! Bit-level output: the sink trait shared by the writer and the bit counter,
//! exp-Golomb codes (9.1), RBSP trailing bits (7.3.2.11).

/// Something that accepts bits, most significant first.
///
/// The macroblock syntax is written once, generic over this trait: a
/// [`BitWriter`] produces bytes, a [`BitCounter`] only counts, so mode
/// decision measures bits with the very code that writes them.
pub trait BitSink {
    /// Appends the `n` low bits of `value` (n ≤ 32), most significant first.
    fn put_bits(&mut self, n: u32, value: u32);

    /// Number of bits written so far.
    fn bit_len(&self) -> u64;

    fn put_flag(&mut self, flag: bool) {
        self.put_bits(1, u32::from(flag));
    }

    /// ue(v), 9.1: unsigned exp-Golomb.
    fn put_ue(&mut self, value: u32) {
        let code = u64::from(value) + 1;
        let len = 64 - code.leading_zeros(); // bits in code
        let zeros = len - 1;
        if zeros + len <= 32 {
            // The leading zeros and the code as one value of that many bits.
            self.put_bits(zeros + len, code as u32);
            return;
        }
        if zeros > 0 {
            self.put_bits(zeros, 0);
        }
        // `code` has `len` ≤ 33 bits: split so each call takes ≤ 32.
        if len > 32 {
            self.put_bits(1, (code >> 32) as u32);
            self.put_bits(32, code as u32);
        } else {
            self.put_bits(len, code as u32);
        }
    }

    /// se(v), 9.1.1: signed exp-Golomb (k>0 → 2k−1, k≤0 → −2k).
    fn put_se(&mut self, value: i32) {
        let mapped = if value > 0 {
            2 * (value as i64) - 1
        } else {
            -2 * (value as i64)
        };
        self.put_ue(mapped as u32);
    }

    /// te(v) with range 1 is a single inverted bit; larger ranges are ue(v) (9.1).
    fn put_te(&mut self, range: u32, value: u32) {
        if range == 1 {
            self.put_flag(value == 0);
        } else {
            self.put_ue(value);
        }
    }
}

/// Length in bits of ue(v) for `value` (9.1).
pub fn ue_len(value: u32) -> u32 {
    let code = u64::from(value) + 1;
    2 * (63 - code.leading_zeros()) + 1
}

/// Length in bits of se(v) for `value` (9.1.1).
#[inline]
pub fn se_len(value: i32) -> u32 {
    // codeNum + 1 (Table 9-3): 2·v for v > 0, 2·|v| + 1 otherwise.
    let code = 2 * u64::from(value.unsigned_abs()) + u64::from(value <= 0);
    2 * (63 - code.leading_zeros()) + 1
}

/// Writes bits into a byte vector.
#[derive(Debug, Default, Clone)]
pub struct BitWriter {
    bytes: Vec<u8>,
    /// The last `acc_bits` (< 32) bits written, not yet in `bytes`.
    acc: u64,
    acc_bits: u32,
}

impl BitWriter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(bytes: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(bytes),
            acc: 0,
            acc_bits: 0,
        }
    }

    /// True when the position is on a byte boundary.
    pub fn is_byte_aligned(&self) -> bool {
        self.acc_bits.is_multiple_of(8)
    }

    /// Moves the whole bytes of `acc` into `bytes`, leaving fewer than 8 bits.
    fn flush_whole_bytes(&mut self) {
        while self.acc_bits >= 8 {
            self.acc_bits -= 8;
            self.bytes.push((self.acc >> self.acc_bits) as u8);
        }
        self.acc &= (1u64 << self.acc_bits) - 1;
    }

    /// Pads with zero bits to the next byte boundary (pcm_alignment_zero_bit, 7.3.5).
    pub fn align_zero(&mut self) {
        let rem = self.acc_bits % 8;
        if rem != 0 {
            self.put_bits(8 - rem, 0);
        }
    }

    /// rbsp_trailing_bits(), 7.3.2.11: a one bit then zeros to the byte boundary.
    pub fn put_trailing_bits(&mut self) {
        self.put_bits(1, 1);
        self.align_zero();
    }

    /// Appends whole bytes; the writer must be byte aligned.
    pub fn put_aligned_bytes(&mut self, data: &[u8]) {
        debug_assert!(self.is_byte_aligned());
        self.flush_whole_bytes();
        self.bytes.extend_from_slice(data);
    }

    /// Appends everything `other` has written, bit for bit, as if its bits
    /// had been put here one by one.
    pub fn append(&mut self, other: &BitWriter) {
        self.flush_whole_bytes();
        let s = self.acc_bits;
        if s == 0 {
            self.bytes.extend_from_slice(&other.bytes);
        } else {
            // `s` bits are pending: each 8 bytes of `other` complete 8
            // bytes and leave their low `s` bits pending, as does each byte.
            let mut acc = self.acc;
            self.bytes.reserve(other.bytes.len());
            let mut words = other.bytes.chunks_exact(8);
            for word in &mut words {
                let w = u64::from_be_bytes(word.try_into().unwrap_or_default());
                let out = (u128::from(acc) << 64 | u128::from(w)) >> s;
                self.bytes.extend_from_slice(&(out as u64).to_be_bytes());
                acc = w & ((1u64 << s) - 1);
            }
            for &b in words.remainder() {
                let v = (acc << 8) | u64::from(b);
                self.bytes.push((v >> s) as u8);
                acc = v & ((1u64 << s) - 1);
            }
            self.acc = acc;
        }
        self.put_bits(other.acc_bits, other.acc as u32);
    }

    /// Returns the bytes; any partial byte is padded with zeros.
    pub fn into_bytes(mut self) -> Vec<u8> {
        self.align_zero();
        self.flush_whole_bytes();
        self.bytes
    }
}

impl BitSink for BitWriter {
    fn put_bits(&mut self, n: u32, value: u32) {
        debug_assert!(n <= 32);
        // (n == 0 needs no test: it masks to nothing and shifts by nothing.)
        // Fewer than 32 bits are pending, so `acc` holds them and `n` more;
        // whole 32-bit words go out at once.
        let masked = u64::from(value) & ((1u64 << n) - 1);
        self.acc = (self.acc << n) | masked;
        self.acc_bits += n;
        if self.acc_bits >= 32 {
            self.acc_bits -= 32;
            let word = (self.acc >> self.acc_bits) as u32;
            self.bytes.extend_from_slice(&word.to_be_bytes());
            self.acc &= (1u64 << self.acc_bits) - 1;
        }
    }

    fn bit_len(&self) -> u64 {
        self.bytes.len() as u64 * 8 + u64::from(self.acc_bits)
    }
}

/// Counts bits without storing them.
#[derive(Debug, Default, Clone, Copy)]
pub struct BitCounter {
    pub bits: u64,
}

impl BitSink for BitCounter {
    fn put_bits(&mut self, n: u32, _value: u32) {
        self.bits += u64::from(n);
    }

    fn bit_len(&self) -> u64 {
        self.bits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits_of(f: impl FnOnce(&mut BitWriter)) -> String {
        let mut w = BitWriter::new();
        f(&mut w);
        let n = w.bit_len() as usize;
        let bytes = w.into_bytes();
        bytes
            .iter()
            .map(|b| format!("{b:08b}"))
            .collect::<String>()
            .chars()
            .take(n)
            .collect()
    }

    #[test]
    fn ue_matches_table_9_2() {
        let expected = [
            "1", "010", "011", "00100", "00101", "00110", "00111", "0001000",
        ];
        for (v, e) in expected.iter().enumerate() {
            assert_eq!(bits_of(|w| w.put_ue(v as u32)), *e, "ue({v})");
            assert_eq!(ue_len(v as u32) as usize, e.len());
        }
        assert_eq!(ue_len(u32::MAX), 65);
        let mut c = BitCounter::default();
        c.put_ue(u32::MAX);
        assert_eq!(c.bits, 65);
    }

    /// ue(v) written in one piece (up to 32 bits) or two equals 9.1's
    /// leading zeros followed by codeNum + 1, on both sides of the split.
    #[test]
    fn ue_is_leading_zeros_then_the_code() {
        let values = (0..3000)
            .chain(65_530..65_540)
            .chain([1 << 20, u32::MAX - 1, u32::MAX]);
        for v in values {
            let code = u64::from(v) + 1;
            let digits = format!("{code:b}");
            let want = "0".repeat(digits.len() - 1) + &digits;
            assert_eq!(bits_of(|w| w.put_ue(v)), want, "ue({v})");
        }
    }

    #[test]
    fn se_len_is_ue_len_of_the_mapped_value() {
        for v in (-70_000..70_000).chain([i32::MAX, i32::MIN + 1]) {
            let mapped = if v > 0 {
                2 * v as i64 - 1
            } else {
                -2 * v as i64
            };
            assert_eq!(se_len(v), ue_len(mapped as u32), "{v}");
        }
    }

    #[test]
    fn se_matches_table_9_3() {
        let cases = [
            (0, "1"),
            (1, "010"),
            (-1, "011"),
            (2, "00100"),
            (-2, "00101"),
            (3, "00110"),
        ];
        for (v, e) in cases {
            assert_eq!(bits_of(|w| w.put_se(v)), e, "se({v})");
            assert_eq!(se_len(v) as usize, e.len());
        }
    }

    #[test]
    fn trailing_bits_align() {
        assert_eq!(
            bits_of(|w| {
                w.put_bits(3, 0b101);
                w.put_trailing_bits();
            }),
            "10110000"
        );
        let mut w = BitWriter::new();
        w.put_bits(8, 0xAB);
        w.put_trailing_bits();
        assert_eq!(w.into_bytes(), vec![0xAB, 0x80]);
    }

    #[test]
    fn append_equals_writing_the_bits() {
        let pieces: [&[(u32, u32)]; 4] = [
            &[(3, 0b101), (13, 0x1abc)],
            &[(8, 0xff), (1, 0), (7, 0x55), (5, 0x1f)],
            &[(32, 0xdead_beef), (2, 1)],
            &[
                (32, 0x0123_4567),
                (32, 0x89ab_cdef),
                (32, 0xf0e1_d2c3),
                (7, 0x5a),
            ],
        ];
        for head in 0..9u32 {
            let mut whole = BitWriter::new();
            let mut joined = BitWriter::new();
            whole.put_bits(head, 0x15);
            joined.put_bits(head, 0x15);
            for piece in pieces {
                let mut seg = BitWriter::new();
                for &(n, v) in piece {
                    whole.put_bits(n, v);
                    seg.put_bits(n, v);
                }
                joined.append(&seg);
            }
            assert_eq!(whole.bit_len(), joined.bit_len());
            assert_eq!(whole.into_bytes(), joined.into_bytes(), "head {head}");
        }
    }

    #[test]
    fn te_range_one_is_inverted_flag() {
        assert_eq!(bits_of(|w| w.put_te(1, 0)), "1");
        assert_eq!(bits_of(|w| w.put_te(1, 1)), "0");
        assert_eq!(bits_of(|w| w.put_te(3, 2)), "011");
    }
}
