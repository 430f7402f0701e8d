//! What the container needs to know about each stream besides its samples.

use crate::avcc;
use crate::error::Error;
use crate::moov::media_timing;

/// Largest width or height: the avc1 sample entry stores them in 16 bits
/// (ISO/IEC 14496-12 §12.1.3).
pub const MAX_DIMENSION: u32 = 65535;

/// Most channels an audio track may have: Opus channel mapping family 1
/// (RFC 7845 §5.1.1.2) goes up to 8; the same limit keeps PCM reasonable.
pub const MAX_CHANNELS: u16 = 8;

/// An H.264 video track.
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

    /// Media timescale (ticks per second) and the duration of one frame in it.
    pub fn timing(&self) -> (u32, u32) {
        media_timing(self.frame_rate_num, self.frame_rate_den)
    }
}

/// How Opus channels map onto coded streams (RFC 7845 §5.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpusMapping {
    /// Channel mapping family: 0 (mono or stereo, one stream) or 1 (Vorbis
    /// channel order, up to 8 channels in several streams).
    pub family: u8,
    /// Streams in each packet (family 1 only).
    pub streams: u8,
    /// Of them, stereo (coupled) streams (family 1 only).
    pub coupled: u8,
    /// For each output channel, the decoded channel it comes from (family 1 only).
    pub mapping: Vec<u8>,
}

impl OpusMapping {
    /// Family 0: one stream, mono or stereo.
    pub fn simple() -> OpusMapping {
        OpusMapping {
            family: 0,
            streams: 1,
            coupled: 0,
            mapping: Vec::new(),
        }
    }
}

/// The coding of an audio track's samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioCodec {
    /// Opus packets (RFC 6716). Media time runs at 48 kHz whatever the input
    /// rate. `pre_skip` (48 kHz samples) are decoded and dropped at the start.
    Opus { pre_skip: u16, mapping: OpusMapping },
    /// 32-bit IEEE float PCM, little-endian, channels interleaved: lossless.
    PcmF32,
}

/// An audio track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioTrack {
    pub codec: AudioCodec,
    /// Samples per second. For Opus this is the rate of the original input,
    /// for information; the media itself runs at 48 kHz.
    pub sample_rate: u32,
    pub channels: u16,
}

impl AudioTrack {
    /// Ticks per second of the media: 48000 for Opus, the sample rate for PCM.
    /// Audio packet durations are counted in these ticks.
    pub fn timescale(&self) -> u32 {
        match self.codec {
            AudioCodec::Opus { .. } => 48_000,
            AudioCodec::PcmF32 => self.sample_rate,
        }
    }

    /// Bytes of one PCM frame (one sample of every channel), for PCM tracks.
    pub(crate) fn pcm_frame_bytes(&self) -> Option<u32> {
        match self.codec {
            AudioCodec::PcmF32 => Some(4 * u32::from(self.channels)),
            AudioCodec::Opus { .. } => None,
        }
    }

    /// Samples at the start that decoders drop, in media ticks.
    pub(crate) fn pre_skip(&self) -> u64 {
        match &self.codec {
            AudioCodec::Opus { pre_skip, .. } => u64::from(*pre_skip),
            AudioCodec::PcmF32 => 0,
        }
    }

    /// Checks the rate, the channel count and the Opus channel mapping.
    pub fn validate(&self) -> Result<(), Error> {
        if self.sample_rate == 0 || self.sample_rate > 768_000 {
            return Err(Error::InvalidTrack(format!(
                "audio sample rate {} (expected 1..=768000)",
                self.sample_rate
            )));
        }
        if self.channels == 0 || self.channels > MAX_CHANNELS {
            return Err(Error::InvalidTrack(format!(
                "{} audio channels (expected 1..={MAX_CHANNELS})",
                self.channels
            )));
        }
        if let AudioCodec::Opus { mapping, .. } = &self.codec {
            match mapping.family {
                0 if self.channels <= 2 => {}
                0 => {
                    return Err(Error::InvalidTrack(format!(
                        "Opus channel mapping family 0 carries 1 or 2 channels, not {}",
                        self.channels
                    )))
                }
                1 => {
                    let total = u16::from(mapping.streams) + u16::from(mapping.coupled);
                    if mapping.mapping.len() != usize::from(self.channels)
                        || mapping.streams == 0
                        || mapping.coupled > mapping.streams
                        || mapping
                            .mapping
                            .iter()
                            .any(|&m| m != 255 && u16::from(m) >= total)
                    {
                        return Err(Error::InvalidTrack(format!(
                            "Opus channel mapping {mapping:?} does not fit {} channels",
                            self.channels
                        )));
                    }
                }
                f => {
                    return Err(Error::InvalidTrack(format!(
                        "Opus channel mapping family {f} (expected 0 or 1)"
                    )))
                }
            }
        }
        Ok(())
    }
}

/// One stream of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Track {
    Video(VideoTrack),
    Audio(AudioTrack),
}

impl Track {
    pub fn validate(&self) -> Result<(), Error> {
        match self {
            Track::Video(v) => v.validate(),
            Track::Audio(a) => a.validate(),
        }
    }

    /// Ticks per second of the track's media.
    pub fn timescale(&self) -> u32 {
        match self {
            Track::Video(v) => v.timing().0,
            Track::Audio(a) => a.timescale(),
        }
    }

    pub fn is_video(&self) -> bool {
        matches!(self, Track::Video(_))
    }
}
