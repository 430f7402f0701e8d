//! Building ISO base media file format boxes (ISO/IEC 14496-12 §4.2) in memory.
//!
//! A box is `size:u32 type:[u8;4] payload`; a "full box" adds `version:u8
//! flags:u24` (§4.2.2). [`BoxBuf`] writes nested boxes into one byte vector and
//! patches each size when the box is closed.

/// Accumulates big-endian fields and nested boxes.
#[derive(Debug, Default)]
pub(crate) struct BoxBuf {
    buf: Vec<u8>,
    /// Start offsets of the boxes not yet closed.
    open: Vec<usize>,
    /// Set when a box grew past the 32-bit size field.
    overflow: bool,
}

impl BoxBuf {
    pub(crate) fn new() -> BoxBuf {
        BoxBuf::default()
    }

    /// Opens a box (§4.2.2 `Box`) with a 32-bit size patched by [`BoxBuf::end`].
    pub(crate) fn begin(&mut self, fourcc: &[u8; 4]) {
        self.open.push(self.buf.len());
        self.u32(0);
        self.bytes(fourcc);
    }

    /// Opens a full box (§4.2.2 `FullBox`): box header, version, 24-bit flags.
    pub(crate) fn begin_full(&mut self, fourcc: &[u8; 4], version: u8, flags: u32) {
        self.begin(fourcc);
        self.u8(version);
        self.u24(flags);
    }

    /// Closes the innermost open box and writes its size.
    pub(crate) fn end(&mut self) {
        if let Some(start) = self.open.pop() {
            let size = self.buf.len() - start;
            let size32 = match u32::try_from(size) {
                Ok(s) => s,
                Err(_) => {
                    self.overflow = true;
                    0
                }
            };
            self.buf[start..start + 4].copy_from_slice(&size32.to_be_bytes());
        }
    }

    /// Bytes written so far.
    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    /// Overwrites the 32-bit field at `at` (a field written earlier).
    pub(crate) fn patch_u32(&mut self, at: usize, v: u32) {
        if let Some(field) = self.buf.get_mut(at..at + 4) {
            field.copy_from_slice(&v.to_be_bytes());
        }
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub(crate) fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn u24(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes()[1..]);
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn bytes(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }

    pub(crate) fn zeros(&mut self, n: usize) {
        self.buf.resize(self.buf.len() + n, 0);
    }

    /// The unity transformation matrix of mvhd/tkhd (§8.2.2.3, §8.3.2.3):
    /// { 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000 }.
    pub(crate) fn unity_matrix(&mut self) {
        for v in [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
            self.u32(v);
        }
    }

    /// The finished bytes, or `None` if a box did not fit its 32-bit size or
    /// a box was left open.
    pub(crate) fn into_bytes(self) -> Option<Vec<u8>> {
        if self.overflow || !self.open.is_empty() {
            None
        } else {
            Some(self.buf)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_sizes_are_patched() {
        let mut b = BoxBuf::new();
        b.begin(b"moov");
        b.begin_full(b"mvhd", 1, 0x000007);
        b.u16(0xABCD);
        b.end();
        b.end();
        let v = b.into_bytes().unwrap();
        assert_eq!(
            v,
            [
                0, 0, 0, 22, b'm', b'o', b'o', b'v', 0, 0, 0, 14, b'm', b'v', b'h', b'd', 1, 0, 0,
                7, 0xAB, 0xCD
            ]
        );
    }

    #[test]
    fn open_box_is_rejected() {
        let mut b = BoxBuf::new();
        b.begin(b"free");
        assert!(b.into_bytes().is_none());
    }
}
