//! Building EBML elements (RFC 8794) in memory: an element is its ID, its
//! size as a variable-length integer (§4), and its data.

/// The 8-byte size that means "unknown" (RFC 8794 §6.2): all value bits set.
pub(crate) const UNKNOWN_SIZE: [u8; 8] = [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];

/// Largest value an 8-byte size can hold (all ones is reserved for unknown).
pub(crate) const MAX_SIZE: u64 = (1 << 56) - 2;

/// `v` as an 8-byte variable-length size (marker 0x01, then 7 bytes).
pub(crate) fn size8(v: u64) -> [u8; 8] {
    let mut out = (v.min(MAX_SIZE)).to_be_bytes();
    out[0] = 0x01;
    out
}

/// `v` as the shortest variable-length integer whose value bits are not all
/// ones (RFC 8794 §4.4: that pattern is reserved).
pub(crate) fn vint(v: u64) -> Vec<u8> {
    let mut len = 1;
    while len < 8 && v >= (1u64 << (7 * len)) - 1 {
        len += 1;
    }
    let marked = v | (1u64 << (7 * len));
    marked.to_be_bytes()[8 - len..].to_vec()
}

/// An element ID's bytes: its class is in its leading bits, so the ID is
/// written as is, without leading zero bytes.
fn id_bytes(id: u32) -> Vec<u8> {
    let b = id.to_be_bytes();
    let skip = b.iter().take_while(|&&x| x == 0).count().min(3);
    b[skip..].to_vec()
}

/// Accumulates EBML elements.
#[derive(Debug, Default)]
pub(crate) struct Ebml {
    pub buf: Vec<u8>,
}

impl Ebml {
    pub fn new() -> Ebml {
        Ebml::default()
    }

    /// The ID and size of an element of `len` data bytes.
    pub fn header(&mut self, id: u32, len: u64) {
        self.buf.extend_from_slice(&id_bytes(id));
        self.buf.extend_from_slice(&vint(len));
    }

    /// The ID of an element followed by an 8-byte size.
    pub fn header8(&mut self, id: u32, size: [u8; 8]) {
        self.buf.extend_from_slice(&id_bytes(id));
        self.buf.extend_from_slice(&size);
    }

    pub fn binary(&mut self, id: u32, data: &[u8]) {
        self.header(id, data.len() as u64);
        self.buf.extend_from_slice(data);
    }

    /// An unsigned integer in as few bytes as it needs (at least one).
    pub fn uint(&mut self, id: u32, v: u64) {
        let b = v.to_be_bytes();
        let skip = b.iter().take_while(|&&x| x == 0).count().min(7);
        self.binary(id, &b[skip..]);
    }

    /// A signed integer in as few bytes as keep its sign.
    pub fn int(&mut self, id: u32, v: i64) {
        let b = v.to_be_bytes();
        let mut skip = 0;
        while skip < 7 {
            let (x, next) = (b[skip], b[skip + 1]);
            if (x == 0 && next & 0x80 == 0) || (x == 0xFF && next & 0x80 != 0) {
                skip += 1;
            } else {
                break;
            }
        }
        self.binary(id, &b[skip..]);
    }

    /// An 8-byte IEEE float.
    pub fn float(&mut self, id: u32, v: f64) {
        self.binary(id, &v.to_be_bytes());
    }

    pub fn string(&mut self, id: u32, s: &str) {
        self.binary(id, s.as_bytes());
    }

    /// A master element whose children `f` writes.
    pub fn master(&mut self, id: u32, f: impl FnOnce(&mut Ebml)) {
        let mut child = Ebml::new();
        f(&mut child);
        self.binary(id, &child.buf);
    }

    /// A Void element (ID 0xEC) of exactly `total` bytes, `total >= 2`.
    pub fn void(&mut self, total: usize) {
        // One size byte covers up to 126 data bytes; else 8 size bytes.
        if total <= 128 {
            self.header(0xEC, total as u64 - 2);
            self.buf.resize(self.buf.len() + total - 2, 0);
        } else {
            self.header8(0xEC, size8(total as u64 - 9));
            self.buf.resize(self.buf.len() + total - 9, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vints_are_shortest_and_avoid_the_reserved_pattern() {
        assert_eq!(vint(0), [0x80]);
        assert_eq!(vint(126), [0xFE]);
        assert_eq!(vint(127), [0x40, 0x7F]);
        assert_eq!(vint(300), [0x41, 0x2C]);
        assert_eq!(vint(16382), [0x7F, 0xFE]);
        assert_eq!(vint(16383), [0x20, 0x3F, 0xFF]);
        assert_eq!(size8(5), [1, 0, 0, 0, 0, 0, 0, 5]);
    }

    #[test]
    fn integers_take_the_fewest_bytes() {
        let mut e = Ebml::new();
        e.uint(0xD7, 1);
        e.uint(0x2AD7B1, 1_000_000);
        e.int(0xFB, -7);
        e.int(0xFB, 200);
        assert_eq!(
            e.buf,
            [
                0xD7, 0x81, 1, //
                0x2A, 0xD7, 0xB1, 0x83, 0x0F, 0x42, 0x40, //
                0xFB, 0x81, 0xF9, //
                0xFB, 0x82, 0x00, 0xC8
            ]
        );
    }

    #[test]
    fn void_fills_exactly() {
        for n in [2, 3, 100, 128, 129, 130, 500] {
            let mut e = Ebml::new();
            e.void(n);
            assert_eq!(e.buf.len(), n, "{n}");
        }
    }
}
