//! NAL units (7.3.1, 7.4.1): header byte, emulation prevention, Annex B byte stream.

/// nal_unit_type values used by the encoder (Table 7-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum NalType {
    NonIdrSlice = 1,
    IdrSlice = 5,
    Sei = 6,
    Sps = 7,
    Pps = 8,
    AccessUnitDelimiter = 9,
}

/// Builds a NAL unit from its RBSP: header byte (7.3.1) then the payload with
/// emulation_prevention_three_byte inserted (7.4.1).
pub fn nal_unit(nal_ref_idc: u8, kind: NalType, rbsp: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + rbsp.len() + rbsp.len() / 2 + 1);
    out.push(((nal_ref_idc & 3) << 5) | kind as u8);
    escape_rbsp_into(rbsp, &mut out);
    out
}

/// Appends `rbsp` to `out`, inserting 0x03 after every two zero bytes that
/// would otherwise be followed by a byte ≤ 0x03 (7.4.1). A trailing 0x00 pair
/// at the very end also gets a 0x03 (cabac_zero_words rule, 7.4.1.1), so the
/// result never ends in zero bytes that an Annex B parser would swallow.
pub fn escape_rbsp_into(rbsp: &[u8], out: &mut Vec<u8>) {
    out.reserve(rbsp.len());
    let mut zeros = 0usize;
    // rbsp[copied..i] is still to be appended.
    let mut copied = 0;
    let mut i = 0;
    while i < rbsp.len() {
        if zeros == 0 {
            // Nothing can be escaped before the next two zero bytes in a row.
            i = next_zero_pair(rbsp, i);
            if i == rbsp.len() {
                // A last zero byte alone still counts at the end.
                zeros = usize::from(rbsp.last() == Some(&0));
                break;
            }
        }
        let b = rbsp[i];
        if zeros >= 2 && b <= 3 {
            out.extend_from_slice(&rbsp[copied..i]);
            out.push(3);
            copied = i;
            zeros = 0;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        i += 1;
    }
    out.extend_from_slice(&rbsp[copied..]);
    if zeros > 0 {
        // An RBSP ends with rbsp_stop_one_bit, so this is unreachable for
        // well-formed payloads; keep the stream parseable regardless.
        out.push(3);
    }
}

/// The index of the first of two zero bytes in a row in `bytes` from `from`
/// on (its length if none): on x86-64 16 positions at a time.
fn next_zero_pair(bytes: &[u8], mut from: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    while from + 17 <= bytes.len() {
        // SAFETY: the 17 bytes from `from` on lie in `bytes`.
        let pairs = unsafe { x86::zero_pairs(bytes.as_ptr().add(from)) };
        if pairs != 0 {
            return from + pairs.trailing_zeros() as usize;
        }
        from += 16;
    }
    bytes
        .get(from..)
        .and_then(|rest| rest.windows(2).position(|w| w == [0, 0]))
        .map_or(bytes.len(), |p| from + p)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// Bit k set where bytes k and k + 1 from `p` on are both zero, for k
    /// in 0..16 (SSE2, part of x86-64). Caller: 17 bytes readable at `p`.
    #[inline(always)]
    pub(super) unsafe fn zero_pairs(p: *const u8) -> u32 {
        let zero = _mm_setzero_si128();
        let a = _mm_cmpeq_epi8(_mm_loadu_si128(p.cast()), zero);
        let b = _mm_cmpeq_epi8(_mm_loadu_si128(p.add(1).cast()), zero);
        _mm_movemask_epi8(_mm_and_si128(a, b)) as u32
    }
}

/// Upper bound of the escaped size of an RBSP of `rbsp_len` bytes: at most one
/// 0x03 per two input bytes, plus one at the end.
pub const fn escaped_len_bound(rbsp_len: usize) -> usize {
    rbsp_len + rbsp_len / 2 + 1
}

/// Removes emulation prevention bytes (the inverse of [`escape_rbsp_into`]).
pub fn unescape(ebsp: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ebsp.len());
    let mut zeros = 0usize;
    for &b in ebsp {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        out.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
    out
}

/// Annex B start code prefix (B.1) with a leading zero_byte.
pub const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// Concatenates NAL units into an Annex B byte stream (B.1.1).
pub fn annex_b(nals: &[Vec<u8>]) -> Vec<u8> {
    let len = nals.iter().map(|n| n.len() + 4).sum();
    let mut out = Vec::with_capacity(len);
    for n in nals {
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(n);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escape(rbsp: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        escape_rbsp_into(rbsp, &mut out);
        out
    }

    #[test]
    fn inserts_three_before_small_bytes() {
        assert_eq!(escape(&[0, 0, 0, 0x80]), vec![0, 0, 3, 0, 0x80]);
        assert_eq!(escape(&[0, 0, 1, 0x80]), vec![0, 0, 3, 1, 0x80]);
        assert_eq!(escape(&[0, 0, 2, 0x80]), vec![0, 0, 3, 2, 0x80]);
        assert_eq!(escape(&[0, 0, 3, 0x80]), vec![0, 0, 3, 3, 0x80]);
        assert_eq!(escape(&[0, 0, 4, 0x80]), vec![0, 0, 4, 0x80]);
        assert_eq!(
            escape(&[0, 1, 0, 0, 0, 0, 0x80]),
            vec![0, 1, 0, 0, 3, 0, 0, 0x80]
        );
        assert_eq!(
            escape(&[0, 0, 0, 0, 0, 0x80]),
            vec![0, 0, 3, 0, 0, 3, 0, 0x80]
        );
    }

    /// 7.4.1 byte by byte, as the reference for [`escape_rbsp_into`].
    fn escape_bytewise(rbsp: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut zeros = 0usize;
        for &b in rbsp {
            if zeros >= 2 && b <= 3 {
                out.push(3);
                zeros = 0;
            }
            out.push(b);
            zeros = if b == 0 { zeros + 1 } else { 0 };
        }
        if zeros > 0 {
            out.push(3);
        }
        out
    }

    #[test]
    fn escaping_equals_the_bytewise_rule() {
        let mut state = 777u32;
        for len in 0..400 {
            let sparse = len % 3 == 0;
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    let r = (state >> 16) as u8;
                    match (sparse, r) {
                        (true, 0..=9) => 0,
                        (true, _) => r | 4,
                        (false, 0..=119) => 0,
                        (false, _) => r & 7,
                    }
                })
                .collect();
            assert_eq!(escape(&data), escape_bytewise(&data), "{data:?}");
        }
    }

    /// Long payloads with rare zero pairs (the 16-byte scan runs), pairs at
    /// every offset, and single or paired zero bytes at the end.
    #[test]
    fn long_payloads_escape_as_the_bytewise_rule() {
        let mut state = 4242u32;
        for len in (0..3000).step_by(7) {
            let mut data: Vec<u8> = (0..len)
                .map(|_| {
                    state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    let r = (state >> 16) as u8;
                    if r < 40 {
                        0
                    } else {
                        r % 7
                    }
                })
                .collect();
            if len % 5 == 0 {
                data.push(0);
            }
            if len % 11 == 0 {
                data.extend([0, 0]);
            }
            assert_eq!(
                escape(&data),
                escape_bytewise(&data),
                "length {}",
                data.len()
            );
        }
        for at in 0..40 {
            let mut data = vec![0x55u8; 48];
            data[at] = 0;
            data[at + 1] = 0;
            data[at + 2] = (at % 5) as u8;
            assert_eq!(escape(&data), escape_bytewise(&data), "pair at {at}");
        }
    }

    #[test]
    fn trailing_zero_gets_protected() {
        assert_eq!(escape(&[0x80, 0]), vec![0x80, 0, 3]);
    }

    #[test]
    fn no_start_code_survives_escaping() {
        // Every 3-byte window of the escaped output must not be 00 00 0x (x ≤ 2).
        let mut state = 12345u32;
        for len in 0..300 {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    let r = (state >> 16) as u8;
                    if r < 160 {
                        0
                    } else {
                        r & 3
                    }
                })
                .chain(std::iter::once(0x80))
                .collect();
            let esc = escape(&data);
            assert!(esc.len() <= escaped_len_bound(data.len()));
            for w in esc.windows(3) {
                assert!(
                    !(w[0] == 0 && w[1] == 0 && w[2] <= 2),
                    "start code in {esc:?}"
                );
            }
            assert_eq!(unescape(&esc), data);
        }
    }

    #[test]
    fn header_byte() {
        let n = nal_unit(3, NalType::Sps, &[0x42]);
        assert_eq!(n, vec![0x67, 0x42]);
        let n = nal_unit(3, NalType::IdrSlice, &[0x88]);
        assert_eq!(n[0], 0x65);
    }
}
