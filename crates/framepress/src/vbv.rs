//! The rate controller's VBV loop, shared by the CPU and CUDA backends: a
//! picture is coded at the controller's qp; when it would overflow the VBV
//! buffer, the coder goes back to where it stood and codes the picture again
//! at the higher qp the controller gives. The same decisions on both
//! backends, so the same bytes.

use avc::encoder::EncodedFrame;
use avc::ratecontrol::{RateControl as RateController, RateMode};

use crate::error::Result;

/// A coder that can code its next picture again.
pub(crate) trait Recoder {
    /// Where the stream stands before a picture.
    type Mark;
    fn mark(&mut self) -> Self::Mark;
    /// Goes back to `mark`, forgetting the picture coded since.
    fn rewind(&mut self, mark: Self::Mark) -> Result<()>;
    /// Codes the next picture at `qp`.
    fn code(&mut self, qp: u8) -> Result<EncodedFrame>;
}

/// Codes the next picture (an IDR when `idr`) at the qp `rate` gives, again
/// at a higher qp while its VBV check asks for one (with a target bitrate
/// only; other modes never code a picture twice, so take no marks). Returns
/// the picture and its qp.
pub(crate) fn code_within_vbv(
    rate: &mut RateController,
    idr: bool,
    coder: &mut impl Recoder,
) -> Result<(EncodedFrame, u8)> {
    let mut qp = rate.picture_qp(idr);
    let bitrate = matches!(rate.mode(), RateMode::Bitrate { .. });
    loop {
        let mark = bitrate.then(|| coder.mark());
        let coded = coder.code(qp)?;
        let bits = coded.nals.iter().map(|n| n.len() as u64 * 8).sum();
        match (rate.vbv_retry(qp, bits), mark) {
            (Some(higher), Some(mark)) => {
                coder.rewind(mark)?;
                qp = higher;
            }
            _ => {
                rate.picture_done(idr, qp, bits);
                return Ok((coded, qp));
            }
        }
    }
}
