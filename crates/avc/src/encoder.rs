//! The frame driver: pads a source picture, codes its macroblocks, writes
//! the NAL units of the access unit, and states the worst-case size of one.

use crate::bits::BitWriter;
use crate::cavlc::CavlcError;
use crate::deblock::{deblock_picture, DeblockParams, MbDeblockInfo};
use crate::frame::{Plane, YuvFrame};
use crate::macroblock::{code_intra_mb, LumaPred, MbCoding, MbPos, MB_MAX_BITS};
use crate::nal::{escaped_len_bound, nal_unit, NalType};
use crate::params::{
    pps_nal, sps_nal, write_i_slice_header, SliceHeader, StreamParams, SLICE_HEADER_MAX_BITS,
};
use crate::slice::PictureSyntax;

/// Errors of the codec core. With valid parameters none of these can occur;
/// they exist so that a broken invariant is reported, never a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AvcError {
    #[error("frame is {got_w}x{got_h}, the encoder was configured for {want_w}x{want_h}")]
    FrameSize {
        got_w: usize,
        got_h: usize,
        want_w: usize,
        want_h: usize,
    },
    #[error("internal error: {0}")]
    Cavlc(#[from] CavlcError),
    #[error("internal error: access unit of {size} bytes exceeds the proven bound of {bound}")]
    BoundExceeded { size: usize, bound: usize },
}

/// One coded picture.
#[derive(Debug, Clone)]
pub struct EncodedFrame {
    /// NAL units without start codes: slice NAL units only (parameter sets
    /// are available from [`IntraEncoder::sps`] and [`IntraEncoder::pps`]).
    pub nals: Vec<Vec<u8>>,
    pub idr: bool,
    /// What a decoder outputs for this picture (cropped to the coded display size).
    pub recon: YuvFrame,
}

/// An intra-only H.264 encoder at constant qp: every picture is an IDR.
#[derive(Debug, Clone)]
pub struct IntraEncoder {
    params: StreamParams,
    qp: i32,
    sps: Vec<u8>,
    pps: Vec<u8>,
    idr_count: u32,
    deblock: bool,
}

impl IntraEncoder {
    pub fn new(params: StreamParams, qp: u8) -> IntraEncoder {
        IntraEncoder {
            sps: sps_nal(&params),
            pps: pps_nal(),
            params,
            qp: i32::from(qp.min(51)),
            idr_count: 0,
            deblock: false,
        }
    }

    /// Turns the in-loop deblocking filter (8.7) on or off (off by default).
    pub fn set_deblocking(&mut self, on: bool) {
        self.deblock = on;
    }

    pub fn sps(&self) -> &[u8] {
        &self.sps
    }

    pub fn pps(&self) -> &[u8] {
        &self.pps
    }

    pub fn params(&self) -> &StreamParams {
        &self.params
    }

    /// Codes one picture. `src` must have the configured size (luma
    /// `width`×`height`, chroma ⌈width/2⌉×⌈height/2⌉).
    pub fn encode(&mut self, src: &YuvFrame) -> Result<EncodedFrame, AvcError> {
        let (w, h) = (self.params.width as usize, self.params.height as usize);
        if src.width() != w
            || src.height() != h
            || src.u.width != w.div_ceil(2)
            || src.u.height != h.div_ceil(2)
        {
            return Err(AvcError::FrameSize {
                got_w: src.width(),
                got_h: src.height(),
                want_w: w,
                want_h: h,
            });
        }
        let wm = self.params.width_mbs() as usize;
        let hm = self.params.height_mbs() as usize;
        let padded = pad_frame(src, wm * 16, hm * 16);
        let mut recon = YuvFrame::new(wm * 16, hm * 16);
        let mbs = code_picture(&padded, &mut recon, wm, hm, self.qp);
        let header = SliceHeader {
            idr: true,
            idr_pic_id: self.idr_count % 2,
            frame_num: 0,
            qp: self.qp,
            disable_deblocking: if self.deblock { 0 } else { 1 },
        };
        if self.deblock {
            let infos: Vec<MbDeblockInfo> = mbs
                .iter()
                .map(|mb| intra_deblock_info(mb, self.qp))
                .collect();
            deblock_picture(&mut recon, &infos, wm, DeblockParams::default());
        }
        self.idr_count = self.idr_count.wrapping_add(1);
        let nal = write_slice_nal(&header, &mbs, wm)?;
        let bound = max_access_unit_bytes(self.params.width, self.params.height);
        let size = nal.len() + 4 + self.sps.len() + self.pps.len() + 8;
        if size > bound {
            return Err(AvcError::BoundExceeded { size, bound });
        }
        let (dw, dh) = self.params.coded_display_size();
        Ok(EncodedFrame {
            nals: vec![nal],
            idr: true,
            recon: crop_frame(&recon, dw as usize, dh as usize),
        })
    }
}

/// Codes every macroblock in raster order (a valid wavefront order: each
/// macroblock reads only its left, top-left, top and top-right neighbours).
fn code_picture(
    src: &YuvFrame,
    recon: &mut YuvFrame,
    wm: usize,
    hm: usize,
    qp: i32,
) -> Vec<MbCoding> {
    let mut mbs = Vec::with_capacity(wm * hm);
    for mb_y in 0..hm {
        for mb_x in 0..wm {
            let pos = MbPos {
                mb_x,
                mb_y,
                width_mbs: wm,
            };
            mbs.push(code_intra_mb(src, recon, pos, qp));
        }
    }
    mbs
}

/// Deblocking inputs of an intra macroblock: I_PCM has QPY 0 (7.4.5).
fn intra_deblock_info(mb: &MbCoding, qp: i32) -> MbDeblockInfo {
    let pcm = matches!(mb.luma, LumaPred::Pcm);
    MbDeblockInfo {
        intra: true,
        qp: if pcm { 0 } else { qp },
        nonzero: 0,
        mv: [[0; 2]; 16],
        ref_idx: [-1; 4],
    }
}

/// slice_layer_without_partitioning_rbsp (7.3.2.8) in an IDR NAL unit.
fn write_slice_nal(header: &SliceHeader, mbs: &[MbCoding], wm: usize) -> Result<Vec<u8>, AvcError> {
    let mut w = BitWriter::with_capacity(mbs.len() * 64);
    write_i_slice_header(&mut w, header);
    PictureSyntax::new(mbs, wm).write_i_slice_data(&mut w)?;
    w.put_trailing_bits();
    let kind = if header.idr {
        NalType::IdrSlice
    } else {
        NalType::NonIdrSlice
    };
    Ok(nal_unit(3, kind, &w.into_bytes()))
}

/// Largest SPS or PPS NAL unit in bytes (generous: the SPS has at most ~60 bytes).
const PARAMETER_SETS_MAX_BYTES: usize = 256;

/// The proven maximum size in bytes of one access unit for a frame size,
/// including SPS, PPS and 4-byte start codes for each NAL unit.
///
/// Every macroblock_layer is at most 3200 bits ([`MB_MAX_BITS`]): coded
/// macroblocks that would exceed it become I_PCM, which takes at most
/// 9 + 7 + 3072 bits. The slice RBSP is the header, the macroblocks and at
/// most one byte of trailing bits; emulation prevention adds at most one byte
/// per two ([`escaped_len_bound`]).
pub fn max_access_unit_bytes(width: u32, height: u32) -> usize {
    let mbs = width.div_ceil(16) as u64 * height.div_ceil(16) as u64;
    let rbsp_bits = SLICE_HEADER_MAX_BITS + mbs * u64::from(MB_MAX_BITS) + 8;
    let rbsp_bytes = rbsp_bits.div_ceil(8) as usize;
    let slice_nal = 1 + escaped_len_bound(rbsp_bytes);
    3 * 4 + PARAMETER_SETS_MAX_BYTES + slice_nal
}

/// Pads a frame to `pw`×`ph` luma by repeating its last column and row.
pub fn pad_frame(src: &YuvFrame, pw: usize, ph: usize) -> YuvFrame {
    YuvFrame {
        y: pad_plane(&src.y, pw, ph),
        u: pad_plane(&src.u, pw / 2, ph / 2),
        v: pad_plane(&src.v, pw / 2, ph / 2),
    }
}

fn pad_plane(p: &Plane, pw: usize, ph: usize) -> Plane {
    let mut data = Vec::with_capacity(pw * ph);
    for y in 0..ph {
        let row = p.row(y.min(p.height - 1));
        data.extend_from_slice(row);
        let last = row[p.width - 1];
        data.resize(data.len() + (pw - p.width), last);
    }
    Plane {
        width: pw,
        height: ph,
        data,
    }
}

fn crop_plane(p: &Plane, w: usize, h: usize) -> Plane {
    let mut data = Vec::with_capacity(w * h);
    for y in 0..h {
        data.extend_from_slice(&p.row(y)[..w]);
    }
    Plane {
        width: w,
        height: h,
        data,
    }
}

/// The top-left `w`×`h` of a frame (chroma halved).
pub fn crop_frame(f: &YuvFrame, w: usize, h: usize) -> YuvFrame {
    YuvFrame {
        y: crop_plane(&f.y, w, h),
        u: crop_plane(&f.u, w / 2, h / 2),
        v: crop_plane(&f.v, w / 2, h / 2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ColourSpace;

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

    fn noise(w: usize, h: usize, seed: u32) -> YuvFrame {
        let mut s = seed;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 24) as u8
        };
        let mut f = YuvFrame::new(w, h);
        for v in
            f.y.data
                .iter_mut()
                .chain(f.u.data.iter_mut())
                .chain(f.v.data.iter_mut())
        {
            *v = next();
        }
        f
    }

    #[test]
    fn random_frames_stay_under_the_bound_at_every_qp() {
        for qp in 0..=51u8 {
            let mut enc = IntraEncoder::new(params(48, 32), qp);
            let f = enc
                .encode(&noise(48, 32, 1 + u32::from(qp)))
                .expect("encodes");
            let size: usize = f.nals.iter().map(|n| n.len() + 4).sum::<usize>()
                + enc.sps().len()
                + enc.pps().len()
                + 8;
            assert!(size <= max_access_unit_bytes(48, 32));
        }
    }

    #[test]
    fn wrong_frame_size_is_an_error() {
        let mut enc = IntraEncoder::new(params(32, 32), 20);
        assert!(matches!(
            enc.encode(&YuvFrame::new(16, 32)),
            Err(AvcError::FrameSize { .. })
        ));
    }

    #[test]
    fn padding_replicates_edges() {
        let mut f = YuvFrame::new(3, 3);
        f.y.data = vec![1, 2, 3, 4, 5, 6, 7, 8, 9];
        let p = pad_frame(&f, 16, 16);
        assert_eq!(p.y.at(15, 0), 3);
        assert_eq!(p.y.at(0, 15), 7);
        assert_eq!(p.y.at(15, 15), 9);
        assert_eq!(p.u.width, 8);
    }
}
