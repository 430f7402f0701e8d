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
            // Nothing can be escaped before the next zero byte.
            i = next_zero(rbsp, i);
            if i == rbsp.len() {
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

/// The index of the first zero byte of `bytes` from `from` on (its length if
/// none), looking at 16 bytes at a time.
fn next_zero(bytes: &[u8], mut from: usize) -> usize {
    while let Some(chunk) = bytes.get(from..from + 16) {
        if chunk.iter().fold(u8::MAX, |m, &b| m.min(b)) != 0 {
            from += 16;
        } else {
            break;
        }
    }
    bytes[from..]
        .iter()
        .position(|&b| b == 0)
        .map_or(bytes.len(), |p| from + p)
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
