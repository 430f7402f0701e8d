//! Container writers for one H.264 video track: MP4 with the movie box before
//! the media data ("faststart", ISO/IEC 14496-12 and 14496-15) and raw Annex B
//! byte streams (ITU-T H.264 Annex B).
//!
//! Samples are handed over one access unit at a time as NAL units: the header
//! byte and the payload with emulation prevention applied, without start code
//! or length prefix. Memory stays bounded by one access unit plus a few bytes
//! of index per frame, however long the clip.
//!
//! [`create_file`] writes through a hidden temporary file in the target's
//! directory and renames it onto the target only when [`VideoMuxer::finish`]
//! succeeds, so a failed or abandoned encode never leaves a partial file behind.
//! [`Mp4Muxer`] and [`AnnexBMuxer`] are the same writers over any stream.

mod annexb;
mod avcc;
mod boxes;
mod error;
mod file;
mod moov;
mod mp4;
#[cfg(test)]
mod testutil;

use std::path::Path;

pub use annexb::AnnexBMuxer;
pub use error::Error;
pub use mp4::Mp4Muxer;

/// Largest width or height: the avc1 sample entry stores them in 16 bits
/// (ISO/IEC 14496-12 §12.1.3).
pub const MAX_DIMENSION: u32 = 65535;

/// Describes the video track: what the container needs to know besides the samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoTrack {
    /// Display width in pixels, after cropping.
    pub width: u32,
    /// Display height in pixels, after cropping.
    pub height: u32,
    /// Frame rate numerator, e.g. 30000 for 29.97 fps.
    pub frame_rate_num: u32,
    /// Frame rate denominator, e.g. 1001 for 29.97 fps.
    pub frame_rate_den: u32,
    /// Sequence parameter set NAL unit, header byte included, no start code.
    pub sps: Vec<u8>,
    /// Picture parameter set NAL unit, header byte included, no start code.
    pub pps: Vec<u8>,
}

impl VideoTrack {
    /// Checks sizes, frame rate and parameter sets.
    pub fn validate(&self) -> Result<(), Error> {
        for (name, v) in [("width", self.width), ("height", self.height)] {
            if v == 0 || v > MAX_DIMENSION {
                return Err(Error::InvalidTrack(format!(
                    "{name} {v} (expected 1..={MAX_DIMENSION})"
                )));
            }
        }
        if self.frame_rate_num == 0 || self.frame_rate_den == 0 {
            return Err(Error::InvalidTrack(format!(
                "frame rate {}/{} (numerator and denominator must both be positive, e.g. 30000/1001)",
                self.frame_rate_num, self.frame_rate_den
            )));
        }
        avcc::parse_sps(&self.sps).map_err(Error::InvalidTrack)?;
        avcc::check_pps(&self.pps).map_err(Error::InvalidTrack)?;
        Ok(())
    }
}

/// A writer of one H.264 video track.
pub trait VideoMuxer {
    /// Appends one access unit in decoding order. `nals` are its slice NAL
    /// units (header byte + payload, emulation prevention applied, no start
    /// code or length prefix); `keyframe` marks an IDR access unit. The first
    /// access unit must be a keyframe.
    ///
    /// MP4 stores the parameter sets once in the track description (avcC);
    /// Annex B writes them itself before every keyframe, so neither expects
    /// them in `nals`.
    fn write_sample(&mut self, nals: &[Vec<u8>], keyframe: bool) -> Result<(), Error>;

    /// Completes the output and returns the total number of bytes written.
    /// Fails with [`Error::NoFrames`] if no access unit was written.
    fn finish(self: Box<Self>) -> Result<u64, Error>;
}

/// The container formats that can be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerKind {
    /// MP4 (ISO/IEC 14496-14), `moov` before `mdat`.
    Mp4,
    /// Raw H.264 Annex B byte stream.
    AnnexB,
}

impl ContainerKind {
    /// Picks the container from the file extension (case-insensitive):
    /// `.mp4` and `.m4v` are MP4, `.h264` and `.264` are Annex B.
    pub fn from_path(path: &Path) -> Option<ContainerKind> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "mp4" | "m4v" => Some(ContainerKind::Mp4),
            "h264" | "264" => Some(ContainerKind::AnnexB),
            _ => None,
        }
    }
}

/// Opens a muxer writing to `path` atomically.
///
/// The data goes to a hidden temporary file in the same directory
/// (`.NAME.partial-<pid>-<n>`), which a successful `finish()` renames onto
/// `path`, replacing any file there. If the muxer is dropped without `finish`,
/// or anything fails, the temporary file is removed and `path` is untouched.
pub fn create_file(
    path: &Path,
    kind: ContainerKind,
    track: &VideoTrack,
) -> Result<Box<dyn VideoMuxer + Send>, Error> {
    track.validate()?;
    let out = file::PartialFile::create(path)?;
    file::muxer_for(out, path, kind, track)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::track;
    use std::path::PathBuf;

    #[test]
    fn kind_from_extension() {
        let k = |p: &str| ContainerKind::from_path(&PathBuf::from(p));
        assert_eq!(k("a/b/out.mp4"), Some(ContainerKind::Mp4));
        assert_eq!(k("OUT.MP4"), Some(ContainerKind::Mp4));
        assert_eq!(k("x.M4v"), Some(ContainerKind::Mp4));
        assert_eq!(k("x.h264"), Some(ContainerKind::AnnexB));
        assert_eq!(k("x.H264"), Some(ContainerKind::AnnexB));
        assert_eq!(k("x.264"), Some(ContainerKind::AnnexB));
        assert_eq!(k("x.mkv"), None);
        assert_eq!(k("mp4"), None);
        assert_eq!(k(".mp4"), None);
    }

    #[test]
    fn invalid_tracks_are_rejected_with_reasons() {
        let msg = |t: VideoTrack| t.validate().unwrap_err().to_string();
        assert!(track(64, 48, 30, 1).validate().is_ok());
        assert!(msg(track(0, 48, 30, 1)).contains("width 0 (expected 1..=65535)"));
        assert!(msg(track(64, 70000, 30, 1)).contains("height 70000"));
        assert!(msg(track(64, 48, 0, 1)).contains("frame rate 0/1"));
        assert!(msg(track(64, 48, 30, 0)).contains("frame rate 30/0"));
        let mut t = track(64, 48, 30, 1);
        t.sps.truncate(2);
        assert!(msg(t).contains("SPS is 2 bytes, too short"));
        let mut t = track(64, 48, 30, 1);
        t.pps = vec![0, 0, 0, 1, 0x68];
        assert!(msg(t).contains("PPS has NAL header byte 0x00"));
    }
}
