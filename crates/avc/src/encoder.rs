//! The frame driver: pads a source picture, codes its macroblocks, writes
//! the NAL units of the access unit, and states the worst-case size of one.

use rayon::prelude::*;

use crate::bits::BitWriter;
use crate::cavlc::CavlcError;
use crate::deblock::{deblock_picture, DeblockParams, MbDeblockInfo};
use crate::frame::{Plane, YuvFrame};
use crate::macroblock::{LumaPred, MbCoding, MB_MAX_BITS};
use crate::mc::RefPicture;
use crate::me::MeParams;
use crate::nal::{escaped_len_bound, nal_unit, NalType};
use crate::params::{
    pps_nal, sps_nal_with, write_i_slice_header, write_p_slice_header, SliceHeader, StreamParams,
    LOG2_MAX_FRAME_NUM, SLICE_HEADER_MAX_BITS,
};
use crate::picture::{code_i_picture_into, code_p_picture_into, IntraMode, PContext};
use crate::skip::MbVectors;
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
    /// are available from the encoder's `sps()` and `pps()`).
    pub nals: Vec<Vec<u8>>,
    pub idr: bool,
    /// What a decoder outputs for this picture (cropped to the coded display size).
    pub recon: YuvFrame,
}

/// Settings of the core encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncoderSettings {
    /// Pictures per closed GOP: an IDR every `gop` pictures (1: all intra).
    pub gop: u32,
    /// The in-loop deblocking filter (8.7).
    pub deblock: bool,
    /// Motion search effort.
    pub me: MeParams,
    /// Lossless coding with transform bypass (High 4:4:4 Predictive, qp 0):
    /// the decoded pictures equal the source.
    pub lossless: bool,
    /// Consider Intra4x4 macroblocks (slower, smaller).
    pub intra4x4: bool,
}

impl Default for EncoderSettings {
    fn default() -> Self {
        EncoderSettings {
            gop: 250,
            deblock: true,
            me: MeParams {
                max_steps: 16,
                subpel_rounds: 2,
                partitions: true,
                early_skip: false,
            },
            lossless: false,
            intra4x4: true,
        }
    }
}

/// The H.264 encoder core: IDR and P pictures in closed GOPs, one
/// reference picture, a qp chosen per picture by the caller.
#[derive(Debug, Clone)]
pub struct Encoder {
    params: StreamParams,
    settings: EncoderSettings,
    sps: Vec<u8>,
    pps: Vec<u8>,
    idr_count: u32,
    /// Position in the current GOP (0 = the next picture is an IDR).
    gop_pos: u32,
    frame_num: u32,
    reference: Option<RefPicture>,
    /// The previous picture's vectors, as its successor's decisions read them.
    prev: PictureField,
    /// The source padded to whole macroblocks (kept to reuse its buffers).
    padded: YuvFrame,
    /// Whether encoded frames carry the reconstruction.
    keep_recon: bool,
    /// The picture being reconstructed (kept to reuse its buffers when the
    /// reconstruction is not handed out).
    recon: YuvFrame,
    /// The last picture's macroblocks, coded into again by the next one
    /// (which reuses their level boxes, see [`crate::spare`]).
    last_mbs: Vec<MbCoding>,
}

impl Encoder {
    pub fn new(params: StreamParams, settings: EncoderSettings) -> Encoder {
        let settings = EncoderSettings {
            gop: settings.gop.max(1),
            ..settings
        };
        Encoder {
            sps: sps_nal_with(&params, settings.lossless),
            pps: pps_nal(),
            params,
            settings,
            idr_count: 0,
            gop_pos: 0,
            frame_num: 0,
            reference: None,
            prev: PictureField::default(),
            padded: YuvFrame::default(),
            keep_recon: true,
            recon: YuvFrame::default(),
            last_mbs: Vec::new(),
        }
    }

    /// Whether encoded frames carry the reconstruction (on by default; off
    /// saves a picture's allocation and copy, and `recon` is then an empty
    /// 0x0 frame).
    pub fn set_keep_recon(&mut self, on: bool) {
        self.keep_recon = on;
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

    pub fn settings(&self) -> &EncoderSettings {
        &self.settings
    }

    /// The state that coding a picture changes, to code it again (e.g. at
    /// another qp) after [`Encoder::restore_state`].
    pub fn clone_state(&self) -> EncoderState {
        EncoderState {
            idr_count: self.idr_count,
            gop_pos: self.gop_pos,
            frame_num: self.frame_num,
            reference: self.reference.clone(),
            prev: self.prev.clone(),
        }
    }

    /// Puts back a state taken with [`Encoder::clone_state`].
    pub fn restore_state(&mut self, state: EncoderState) {
        self.idr_count = state.idr_count;
        self.gop_pos = state.gop_pos;
        self.frame_num = state.frame_num;
        self.reference = state.reference;
        self.prev = state.prev;
    }

    /// Whether the next picture will be an IDR.
    pub fn next_is_idr(&self) -> bool {
        self.gop_pos == 0
    }

    /// Makes the next picture an IDR (starting a new closed GOP).
    pub fn force_idr(&mut self) {
        self.gop_pos = 0;
    }

    fn check_size(&self, src: &YuvFrame) -> Result<(), AvcError> {
        let (w, h) = (self.params.width as usize, self.params.height as usize);
        let ok = src.width() == w
            && src.height() == h
            && src.u.width == w.div_ceil(2)
            && src.u.height == h.div_ceil(2)
            && src.v.width == src.u.width
            && src.v.height == src.u.height;
        if ok {
            Ok(())
        } else {
            Err(AvcError::FrameSize {
                got_w: src.width(),
                got_h: src.height(),
                want_w: w,
                want_h: h,
            })
        }
    }

    /// Codes one picture at `qp` (0..=51): an IDR at the start of each GOP,
    /// otherwise a P picture predicted from the previous one.
    pub fn encode(&mut self, src: &YuvFrame, qp: u8) -> Result<EncodedFrame, AvcError> {
        self.check_size(src)?;
        let (wm, hm) = self.size_mbs();
        // Pictures of whole macroblocks are coded in place; others padded.
        if src.width() == wm * 16 && src.height() == hm * 16 {
            return self.code(src, qp);
        }
        let mut padded = std::mem::take(&mut self.padded);
        pad_frame_into(&mut padded, src, wm * 16, hm * 16);
        let coded = self.code(&padded, qp);
        self.padded = padded;
        coded
    }

    /// [`Encoder::encode`] of a source already padded to whole macroblocks
    /// as [`pad_frame`] pads it (e.g. by [`pad_rows_in_place`]): luma
    /// `width_mbs·16`×`height_mbs·16`, chroma half that. Saves the copy that
    /// padding takes.
    pub fn encode_padded(&mut self, src: &YuvFrame, qp: u8) -> Result<EncodedFrame, AvcError> {
        let (wm, hm) = self.size_mbs();
        let ok = (src.width(), src.height()) == (wm * 16, hm * 16)
            && (src.u.width, src.u.height) == (wm * 8, hm * 8)
            && (src.v.width, src.v.height) == (wm * 8, hm * 8);
        if !ok {
            return Err(AvcError::FrameSize {
                got_w: src.width(),
                got_h: src.height(),
                want_w: wm * 16,
                want_h: hm * 16,
            });
        }
        self.code(src, qp)
    }

    fn size_mbs(&self) -> (usize, usize) {
        (
            self.params.width_mbs() as usize,
            self.params.height_mbs() as usize,
        )
    }

    /// Codes a picture of whole macroblocks.
    fn code(&mut self, padded: &YuvFrame, qp: u8) -> Result<EncodedFrame, AvcError> {
        let lossless = self.settings.lossless;
        // Transform bypass needs QP′Y = 0 (7.4.2.1.1); the filter does
        // nothing at qp 0 (Table 8-16: α = 0), so it is switched off.
        let qp = if lossless { 0 } else { i32::from(qp.min(51)) };
        let deblock = self.settings.deblock && !lossless;
        let intra = IntraMode::new(lossless, self.settings.intra4x4);
        let (wm, hm) = self.size_mbs();
        // Every macroblock of the picture writes its reconstruction, so a
        // reused buffer needs no clearing.
        let mut recon = std::mem::take(&mut self.recon);
        if (recon.width(), recon.height()) != (wm * 16, hm * 16) {
            recon = YuvFrame::zeroed(wm * 16, hm * 16);
        }
        let idr = self.gop_pos == 0 || self.reference.is_none();
        let last_mbs = std::mem::take(&mut self.last_mbs);
        let mbs = match (&self.reference, idr) {
            (Some(refp), false) => {
                let ctx = PContext {
                    refp,
                    prev_mvs: &self.prev.mvs,
                    prev_field: &self.prev.field,
                    me: &self.settings.me,
                    qp,
                    intra,
                };
                code_p_picture_into(padded, &mut recon, (wm, hm), &ctx, last_mbs)
            }
            _ => code_i_picture_into(padded, &mut recon, (wm, hm), (qp, intra), last_mbs),
        };
        if idr {
            self.frame_num = 0;
        }
        let header = SliceHeader {
            idr,
            idr_pic_id: self.idr_count % 2,
            frame_num: self.frame_num,
            qp,
            disable_deblocking: if deblock { 0 } else { 1 },
        };
        // The slice data depends on the decisions alone and the in-loop
        // filter on the reconstruction alone: they run side by side (the
        // filter's wavefront leaves cores free). Both read which blocks hold
        // levels, counted once.
        let syntax = PictureSyntax::new(&mbs, wm);
        // The next picture's reference is made from the filtered picture
        // beside the slice writing too, so that a core done with the slice
        // helps.
        let plan = self.next_reference_plan(&recon);
        // So does keeping the vectors that the next picture's decisions read.
        let mut field = std::mem::take(&mut self.prev);
        let next_is_p = plan.is_some();
        let keep_recon = self.keep_recon;
        let (nal, next_reference) = rayon::join(
            || {
                if next_is_p {
                    field.keep(&mbs);
                }
                write_slice_nal(&header, &syntax)
            },
            || {
                if deblock {
                    let infos: Vec<MbDeblockInfo> = (0..mbs.len())
                        .into_par_iter()
                        .map(|addr| deblock_info(&mbs[addr], syntax.coded_luma_blocks(addr), qp))
                        .collect();
                    deblock_picture(&mut recon, &infos, wm, DeblockParams::default());
                }
                plan.map(|p| p.make(&mut recon, !keep_recon))
            },
        );
        self.last_mbs = mbs;
        let nal = nal?;
        self.check_bound(&nal)?;
        self.advance(idr, next_reference, field);
        let (dw, dh) = self.params.coded_display_size();
        let (dw, dh) = (dw as usize, dh as usize);
        let recon = if !self.keep_recon {
            self.recon = recon;
            YuvFrame::default()
        } else if (dw, dh) == (recon.width(), recon.height()) {
            recon
        } else {
            crop_frame(&recon, dw, dh)
        };
        Ok(EncodedFrame {
            nals: vec![nal],
            idr,
            recon,
        })
    }

    fn check_bound(&self, nal: &[u8]) -> Result<(), AvcError> {
        let bound = max_access_unit_bytes(self.params.width, self.params.height);
        let size = nal.len() + 4 + self.sps.len() + self.pps.len() + 8;
        if size > bound {
            return Err(AvcError::BoundExceeded { size, bound });
        }
        Ok(())
    }

    /// How the picture being coded becomes the next picture's reference:
    /// `None` when the next picture is an IDR picture. A full-sample
    /// reference of the right size is taken out of the state to be refilled
    /// in place ([`RefPicture::refill_full_sample`]).
    fn next_reference_plan(&mut self, recon: &YuvFrame) -> Option<ReferencePlan> {
        let gop = self.settings.gop;
        let next_is_p = gop > 1 && !(self.gop_pos + 1).is_multiple_of(gop);
        if !next_is_p {
            return None;
        }
        if self.settings.me.subpel_rounds > 0 {
            return Some(match self.reference.take() {
                Some(old) if old.refillable_with_half(recon) => {
                    ReferencePlan::RefillWithHalf(Box::new(old))
                }
                _ => ReferencePlan::WithHalfSamples,
            });
        }
        Some(match self.reference.take() {
            Some(old) if old.refillable(recon) => ReferencePlan::Refill(Box::new(old)),
            _ => ReferencePlan::FullSample,
        })
    }

    /// Moves the GOP state on and keeps `next_reference` (made from the
    /// picture just coded, `None` when the next picture is an IDR picture)
    /// with the picture's vectors (`field`, kept only for a next P picture).
    fn advance(&mut self, idr: bool, next_reference: Option<RefPicture>, mut field: PictureField) {
        if idr {
            self.idr_count = self.idr_count.wrapping_add(1);
        }
        self.frame_num = (self.frame_num + 1) % (1 << LOG2_MAX_FRAME_NUM);
        self.gop_pos = (self.gop_pos + 1) % self.settings.gop;
        if next_reference.is_none() {
            field.mvs.clear();
            field.field.clear();
        }
        self.reference = next_reference;
        self.prev = field;
    }
}

/// The vectors of a picture that the next one's decisions read: one per
/// macroblock for motion search seeds, and the macroblocks' decisions as
/// vector prediction reads them. Taken out of the encoder while a picture is
/// coded and refilled in its own buffers.
#[derive(Debug, Clone, Default)]
struct PictureField {
    mvs: Vec<[i16; 2]>,
    field: Vec<MbVectors>,
}

impl PictureField {
    /// Holds the vectors of `mbs` (in the buffers it has): each
    /// macroblock's first block's vector (zero for intra) as its seed.
    fn keep(&mut self, mbs: &[MbCoding]) {
        self.mvs.clear();
        self.mvs.extend(mbs.iter().map(|mb| mb.mvs[0]));
        self.field.clear();
        self.field.extend(mbs.iter().map(MbVectors::of));
    }
}

/// How the next picture's reference is made from the picture just coded.
enum ReferencePlan {
    /// In the buffers of the previous full-sample reference.
    Refill(Box<RefPicture>),
    /// In new buffers, full samples only (motion search without
    /// fractional refinement).
    FullSample,
    /// In new buffers, with the half-sample planes.
    WithHalfSamples,
    /// In the buffers of the previous reference with half-sample planes.
    RefillWithHalf(Box<RefPicture>),
}

impl ReferencePlan {
    /// The reference made from `recon`; with `spare_recon` (the caller
    /// only writes `recon` again) its chroma planes may be taken instead of
    /// copied, leaving stale samples of the same size in their place.
    fn make(self, recon: &mut YuvFrame, spare_recon: bool) -> RefPicture {
        match self {
            ReferencePlan::Refill(old) if spare_recon => old.refill_taking_chroma(recon),
            ReferencePlan::Refill(old) => old.refill_full_sample(recon),
            ReferencePlan::FullSample => RefPicture::new_full_sample(recon),
            ReferencePlan::WithHalfSamples => RefPicture::new(recon),
            ReferencePlan::RefillWithHalf(old) => old.refill_with_half(recon, spare_recon),
        }
    }
}

/// The picture-to-picture state of an [`Encoder`].
#[derive(Debug, Clone)]
pub struct EncoderState {
    idr_count: u32,
    gop_pos: u32,
    frame_num: u32,
    reference: Option<RefPicture>,
    prev: PictureField,
}

/// An intra-only encoder at constant qp: every picture is an IDR.
#[derive(Debug, Clone)]
pub struct IntraEncoder {
    inner: Encoder,
    qp: u8,
}

impl IntraEncoder {
    pub fn new(params: StreamParams, qp: u8) -> IntraEncoder {
        let settings = EncoderSettings {
            gop: 1,
            deblock: false,
            ..EncoderSettings::default()
        };
        IntraEncoder {
            inner: Encoder::new(params, settings),
            qp: qp.min(51),
        }
    }

    pub fn sps(&self) -> &[u8] {
        self.inner.sps()
    }

    pub fn pps(&self) -> &[u8] {
        self.inner.pps()
    }

    pub fn params(&self) -> &StreamParams {
        self.inner.params()
    }

    /// Turns the in-loop deblocking filter (8.7) on or off (off by default).
    pub fn set_deblocking(&mut self, on: bool) {
        self.inner.settings.deblock = on;
    }

    /// Codes one picture. `src` must have the configured size (luma
    /// `width`×`height`, chroma ⌈width/2⌉×⌈height/2⌉).
    pub fn encode(&mut self, src: &YuvFrame) -> Result<EncodedFrame, AvcError> {
        self.inner.encode(src, self.qp)
    }
}

/// Deblocking inputs of a macroblock (8.7.2.1); I_PCM has QPY 0 (7.4.5).
fn deblock_info(mb: &MbCoding, coded_blocks: u16, qp: i32) -> MbDeblockInfo {
    let intra = mb.luma.is_intra();
    MbDeblockInfo {
        intra,
        qp: if matches!(mb.luma, LumaPred::Pcm) {
            0
        } else {
            qp
        },
        // Read for inter macroblocks only: an edge with an intra side has
        // bS 3 or 4 whatever the levels (8.7.2.1).
        nonzero: coded_blocks,
        mv: mb.mvs,
        ref_idx: if intra { [-1; 4] } else { [0; 4] },
    }
}

/// slice_layer_without_partitioning_rbsp (7.3.2.8) in an IDR NAL unit.
fn write_slice_nal(header: &SliceHeader, syntax: &PictureSyntax) -> Result<Vec<u8>, AvcError> {
    let mut w = BitWriter::with_capacity(syntax.mbs.len() * 64);
    if header.idr {
        write_i_slice_header(&mut w, header);
        syntax.write_slice_data_by_rows(&mut w, false)?;
    } else {
        write_p_slice_header(&mut w, header);
        syntax.write_slice_data_by_rows(&mut w, true)?;
    }
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
    // Each macroblock: its macroblock_layer, plus at most 3 bits of
    // mb_skip_run in P slices (ue(n) ≤ 2n + 1 bits for a run of n).
    let rbsp_bits = SLICE_HEADER_MAX_BITS + mbs * u64::from(MB_MAX_BITS + 3) + 8;
    let rbsp_bytes = rbsp_bits.div_ceil(8) as usize;
    let slice_nal = 1 + escaped_len_bound(rbsp_bytes);
    3 * 4 + PARAMETER_SETS_MAX_BYTES + slice_nal
}

/// Pads a frame to `pw`×`ph` luma by repeating its last column and row.
pub fn pad_frame(src: &YuvFrame, pw: usize, ph: usize) -> YuvFrame {
    let mut out = YuvFrame::default();
    pad_frame_into(&mut out, src, pw, ph);
    out
}

/// [`pad_frame`] into `out`, reusing its buffers.
fn pad_frame_into(out: &mut YuvFrame, src: &YuvFrame, pw: usize, ph: usize) {
    pad_plane_into(&mut out.y, &src.y, pw, ph);
    pad_plane_into(&mut out.u, &src.u, pw / 2, ph / 2);
    pad_plane_into(&mut out.v, &src.v, pw / 2, ph / 2);
}

/// Pads a frame whose width is already whole macroblocks to `ph` rows in
/// place, as [`pad_frame`] would (the rows below repeat the last one), and
/// says so; leaves any other frame as it is and returns false.
pub fn pad_rows_in_place(f: &mut YuvFrame, ph: usize) -> bool {
    let (w, h) = (f.width(), f.height());
    let whole = w % 16 == 0
        && w > 0
        && h > 0
        && h <= ph
        && ph.is_multiple_of(16)
        && ph - h < 16
        && (f.u.width, f.u.height) == (w / 2, h.div_ceil(2))
        && (f.v.width, f.v.height) == (w / 2, h.div_ceil(2));
    if !whole {
        return false;
    }
    for (plane, rows) in [(&mut f.y, ph), (&mut f.u, ph / 2), (&mut f.v, ph / 2)] {
        let width = plane.width;
        plane.data.truncate(width * plane.height);
        let last = plane.data.len() - width;
        for _ in plane.height..rows {
            plane.data.extend_from_within(last..last + width);
        }
        plane.height = rows;
    }
    true
}

fn pad_plane_into(out: &mut Plane, p: &Plane, pw: usize, ph: usize) {
    out.width = pw;
    out.height = ph;
    // Every sample is written below; growing zero-fills only the first time.
    out.data.resize(pw * ph, 0);
    out.data
        .par_chunks_mut(pw)
        .enumerate()
        .for_each(|(y, row_out)| {
            let row = p.row(y.min(p.height - 1));
            row_out[..p.width].copy_from_slice(row);
            row_out[p.width..].fill(row[p.width - 1]);
        });
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
    use crate::bits::BitSink;
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

    /// A reused reconstruction buffer (no reconstruction handed out) gives
    /// the same bytes as fresh ones, over IDR and P pictures, sizes of whole
    /// and of partial macroblocks, and qps from lossless-like to coarse, each
    /// picture coded over the previous one's stale samples.
    #[test]
    fn reused_reconstruction_buffer_gives_the_same_bytes() {
        for (w, h) in [(48, 32), (50, 30)] {
            let settings = EncoderSettings {
                gop: 3,
                ..EncoderSettings::default()
            };
            let mut kept = Encoder::new(params(w as u32, h as u32), settings);
            let mut reused = Encoder::new(params(w as u32, h as u32), settings);
            reused.set_keep_recon(false);
            for i in 0..7u32 {
                let f = noise(w, h, 7 + i);
                let qp = [0u8, 20, 40, 51][i as usize % 4];
                let a = kept.encode(&f, qp).expect("encodes");
                let b = reused.encode(&f, qp).expect("encodes");
                assert_eq!(a.nals, b.nals, "{w}x{h} picture {i}");
                assert_eq!((a.recon.width(), a.recon.height()), (w, h));
                assert_eq!((b.recon.width(), b.recon.height()), (0, 0));
            }
        }
    }

    /// Serial slice_data() bits after a few header bits, as bytes.
    fn serial_slice_data(mbs: &[MbCoding], wm: usize, p_slice: bool) -> Vec<u8> {
        let mut w = BitWriter::new();
        w.put_bits(3, 0b101);
        let syntax = PictureSyntax::new(mbs, wm);
        if p_slice {
            syntax.write_p_slice_data(&mut w).expect("writes");
        } else {
            syntax.write_i_slice_data(&mut w).expect("writes");
        }
        w.into_bytes()
    }

    fn rows_slice_data(mbs: &[MbCoding], wm: usize, p_slice: bool) -> Vec<u8> {
        let mut w = BitWriter::new();
        w.put_bits(3, 0b101);
        PictureSyntax::new(mbs, wm)
            .write_slice_data_by_rows(&mut w, p_slice)
            .expect("writes");
        w.into_bytes()
    }

    #[test]
    fn slice_data_by_rows_equals_raster_writing() {
        use crate::macroblock::{pcm_coding, MbPos};
        use crate::picture::{code_i_picture, code_p_picture};
        let (wm, hm) = (5, 4);
        let src = noise(wm * 16, hm * 16, 3);
        let pcm_at = |addr: usize| {
            pcm_coding(
                &src,
                MbPos {
                    mb_x: addr % wm,
                    mb_y: addr / wm,
                    width_mbs: wm,
                },
            )
        };
        for qp in [0, 26, 51] {
            let mut recon = YuvFrame::new(wm * 16, hm * 16);
            let mut mbs = code_i_picture(&src, &mut recon, wm, hm, qp);
            mbs[7] = pcm_at(7);
            assert_eq!(
                rows_slice_data(&mbs, wm, false),
                serial_slice_data(&mbs, wm, false)
            );
            let refp = RefPicture::new(&recon);
            let prev = vec![[0i16; 2]; wm * hm];
            let me = EncoderSettings::default().me;
            let ctx = PContext {
                refp: &refp,
                prev_mvs: &prev,
                prev_field: &[],
                me: &me,
                qp,
                intra: IntraMode::Full,
            };
            // The reference itself (skip runs across rows) and new noise.
            for p_src in [recon.clone(), noise(wm * 16, hm * 16, 9)] {
                let mut p_recon = YuvFrame::new(wm * 16, hm * 16);
                let mut mbs = code_p_picture(&p_src, &mut p_recon, wm, hm, &ctx);
                mbs[12] = pcm_at(12);
                assert_eq!(
                    rows_slice_data(&mbs, wm, true),
                    serial_slice_data(&mbs, wm, true)
                );
            }
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

    #[test]
    fn frames_with_room_pad_in_place_in_their_own_buffers() {
        for (w, h) in [(32usize, 17usize), (48, 30), (1920, 1080), (64, 64)] {
            let rows = h.next_multiple_of(16);
            let mut f = YuvFrame::zeroed_with_room(w, h, rows);
            assert_eq!((f.width(), f.height(), f.y.data.len()), (w, h, w * h));
            assert_eq!((f.u.width, f.u.height), (w / 2, h.div_ceil(2)));
            assert!(f.y.data.capacity() >= w * rows);
            assert!(f.v.data.capacity() >= (w / 2) * (rows / 2));
            let at = [f.y.data.as_ptr(), f.u.data.as_ptr(), f.v.data.as_ptr()];
            assert!(pad_rows_in_place(&mut f, rows));
            assert_eq!((f.height(), f.u.height), (rows, rows / 2));
            assert_eq!(
                at,
                [f.y.data.as_ptr(), f.u.data.as_ptr(), f.v.data.as_ptr()]
            );
        }
    }

    #[test]
    fn padding_rows_in_place_equals_padding_a_copy() {
        for (w, h) in [(32, 17), (16, 1), (48, 31), (32, 32), (64, 23)] {
            let src = noise(w, h, (w * 100 + h) as u32);
            let ph = h.div_ceil(16) * 16;
            let mut f = src.clone();
            // A plane longer than its rows (as reused buffers are) too.
            f.y.data.extend_from_slice(&[7; 40]);
            assert!(pad_rows_in_place(&mut f, ph), "{w}x{h}");
            assert_eq!(f, pad_frame(&src, w, ph), "{w}x{h}");
        }
        // Widths of partial macroblocks, and row counts it cannot reach.
        for (w, h, ph) in [(33, 16, 16), (50, 30, 32), (32, 17, 48), (32, 17, 24)] {
            let src = noise(w, h, 3);
            let mut f = src.clone();
            assert!(!pad_rows_in_place(&mut f, ph), "{w}x{h} to {ph}");
            assert_eq!(f, src);
        }
    }

    /// A source padded in place gives the bytes of one padded by the encoder;
    /// a source of any other size is an error, not a panic.
    #[test]
    fn encode_padded_equals_encode() {
        let (w, h) = (32, 20);
        let settings = EncoderSettings {
            gop: 3,
            ..EncoderSettings::default()
        };
        let mut plain = Encoder::new(params(w as u32, h as u32), settings);
        let mut padded = Encoder::new(params(w as u32, h as u32), settings);
        for i in 0..5u32 {
            let f = noise(w, h, 40 + i);
            let mut p = f.clone();
            assert!(pad_rows_in_place(&mut p, 32));
            let a = plain.encode(&f, 26).expect("encodes");
            let b = padded.encode_padded(&p, 26).expect("encodes");
            assert_eq!(a.nals, b.nals, "picture {i}");
            assert_eq!(a.recon, b.recon, "picture {i}");
        }
        let err = padded.encode_padded(&noise(w, h, 1), 26).unwrap_err();
        assert!(
            matches!(err, AvcError::FrameSize { want_h: 32, .. }),
            "{err}"
        );
    }
}
