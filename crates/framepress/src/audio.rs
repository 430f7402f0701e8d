//! Audio encoding: float32 samples in, packets for the containers out.
//!
//! Two codecs, chosen for what plays them:
//!
//! * **Opus** (RFC 6716), lossy: every current browser plays it in MP4 and
//!   Matroska/WebM, FFmpeg decodes it natively, and it is royalty-free. It is
//!   encoded by libopus, Xiph's reference encoder (Debian: `libopus-dev`),
//!   through the few functions of its C API declared below; the `opus` cargo
//!   feature (on by default) links it, and the build stops with an
//!   installation hint when it is missing. Opus runs at 48 kHz: input at
//!   8, 12, 16, 24 or 48 kHz goes to libopus as is, any other rate is first
//!   resampled to 48 kHz here (a windowed-sinc polyphase filter). Packets last
//!   20 ms; the encoder's look-ahead is signalled as pre-skip, and the padding
//!   of the last packet as end trim, so decoders give back exactly the input's
//!   length.
//! * **PCM** 32-bit float, lossless: the samples are stored bit for bit
//!   (Matroska `A_PCM/FLOAT/IEEE`, MOV `fl32`, MP4 `fpcm` of ISO/IEC 23003-5,
//!   which FFmpeg reads from version 6.1 on; browsers do not play PCM).
//!
//! Samples are `f32`, nominally in -1..=1, and must be finite.

use container::AudioTrack;

use crate::error::{Error, Result};

/// The audio codecs framepress writes (see the module notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioCodec {
    /// Opus: lossy, for browsers and players.
    Opus,
    /// 32-bit float PCM: lossless.
    Pcm,
}

impl AudioCodec {
    /// All codecs with their names.
    pub const ALL: [(AudioCodec, &'static str); 2] =
        [(AudioCodec::Opus, "opus"), (AudioCodec::Pcm, "pcm")];

    /// Parses `opus` or `pcm` (also `pcm_f32`, `flt`, `lossless`).
    pub fn from_name(name: &str) -> Result<AudioCodec> {
        match name.trim().to_ascii_lowercase().as_str() {
            "opus" | "libopus" => Ok(AudioCodec::Opus),
            "pcm" | "pcm_f32" | "pcm_f32le" | "flt" | "lossless" => Ok(AudioCodec::Pcm),
            _ => Err(Error::InvalidOption {
                option: "audio codec",
                value: name.to_string(),
                expected: "opus or pcm".to_string(),
            }),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            AudioCodec::Opus => "opus",
            AudioCodec::Pcm => "pcm",
        }
    }
}

/// Most channels: Opus' channel mapping family 1 (RFC 7845 §5.1.1.2).
pub const MAX_AUDIO_CHANNELS: u16 = container::MAX_CHANNELS;

/// Everything an audio stream needs to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AudioConfig {
    /// Samples per second of the input, per channel.
    pub sample_rate: u32,
    /// 1 to 8 channels. Opus orders more than two as Vorbis does (RFC 7845
    /// §5.1.1.2): L R; L C R; FL FR RL RR; FL C FR RL RR; 5.1: FL C FR RL RR
    /// LFE; 6.1; 7.1.
    pub channels: u16,
    pub codec: AudioCodec,
    /// Opus bitrate in bits per second; 0 lets libopus choose (about 48 kb/s
    /// per mono and 64 kb/s per stereo stream at 48 kHz).
    pub bitrate: u32,
}

impl AudioConfig {
    /// Opus at libopus' default bitrate.
    pub fn new(sample_rate: u32, channels: u16) -> AudioConfig {
        AudioConfig {
            sample_rate,
            channels,
            codec: AudioCodec::Opus,
            bitrate: 0,
        }
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<()> {
        if self.channels == 0 || self.channels > MAX_AUDIO_CHANNELS {
            return Err(Error::InvalidOption {
                option: "audio channels",
                value: self.channels.to_string(),
                expected: format!("1..={MAX_AUDIO_CHANNELS}"),
            });
        }
        if !(1000..=768_000).contains(&self.sample_rate) {
            return Err(Error::InvalidOption {
                option: "audio sample rate",
                value: self.sample_rate.to_string(),
                expected: "samples per second in 1000..=768000".to_string(),
            });
        }
        if self.codec == AudioCodec::Opus
            && self.bitrate != 0
            && !(6_000..=256_000 * u32::from(self.channels)).contains(&self.bitrate)
        {
            return Err(Error::InvalidOption {
                option: "audio bitrate",
                value: self.bitrate.to_string(),
                expected: format!(
                    "0 (automatic) or 6000..={} bits per second for {} channels",
                    256_000 * u32::from(self.channels),
                    self.channels
                ),
            });
        }
        Ok(())
    }
}

/// One encoded audio packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioPacket {
    pub data: Vec<u8>,
    /// Length in ticks of the track's timescale: 48 kHz samples for Opus,
    /// frames for PCM.
    pub duration: u32,
    /// Ticks at the end that are padding (the last Opus packet).
    pub trim_end: u32,
}

/// PCM frames per packet: about 85 ms at 48 kHz, few enough index entries.
const PCM_PACKET_FRAMES: usize = 4096;

/// An audio encoder: samples in with [`AudioEncoder::send_planar`] or
/// [`AudioEncoder::send_interleaved`], packets out with
/// [`AudioEncoder::receive_packet`], [`AudioEncoder::flush`] at the end.
pub struct AudioEncoder {
    config: AudioConfig,
    track: AudioTrack,
    codec: Codec,
    /// Interleaved input not yet coded (at the codec's rate).
    pending: Vec<f32>,
    /// Frames per packet at the codec's input rate.
    packet_frames: usize,
    ready: std::collections::VecDeque<AudioPacket>,
    /// Input frames received (at the input rate).
    frames_in: u64,
    flushed: bool,
    broken: bool,
}

enum Codec {
    Pcm,
    #[cfg(framepress_opus)]
    Opus(Box<opus::OpusCoder>),
}

impl AudioEncoder {
    /// Validates `config` and builds the encoder.
    pub fn new(config: &AudioConfig) -> Result<AudioEncoder> {
        config.validate()?;
        let (codec, track, packet_frames) = match config.codec {
            AudioCodec::Pcm => (
                Codec::Pcm,
                AudioTrack {
                    codec: container::AudioCodec::PcmF32,
                    sample_rate: config.sample_rate,
                    channels: config.channels,
                },
                PCM_PACKET_FRAMES,
            ),
            AudioCodec::Opus => opus_codec(config)?,
        };
        track.validate()?;
        Ok(AudioEncoder {
            config: *config,
            track,
            codec,
            pending: Vec::new(),
            packet_frames,
            ready: Default::default(),
            frames_in: 0,
            flushed: false,
            broken: false,
        })
    }

    pub fn config(&self) -> &AudioConfig {
        &self.config
    }

    /// What the container needs to know about the stream.
    pub fn track(&self) -> &AudioTrack {
        &self.track
    }

    /// Frames (samples per channel) received so far.
    pub fn frames_sent(&self) -> u64 {
        self.frames_in
    }

    /// Takes `channels` × `n` samples, channel after channel (the layout of a
    /// C-contiguous channels × samples array). `samples.len()` must be a
    /// multiple of the channel count.
    pub fn send_planar(&mut self, samples: &[f32]) -> Result<()> {
        let c = usize::from(self.config.channels);
        let n = self.check_input(samples)?;
        let mut interleaved = vec![0f32; n * c];
        for ch in 0..c {
            let plane = &samples[ch * n..(ch + 1) * n];
            for (i, &s) in plane.iter().enumerate() {
                interleaved[i * c + ch] = s;
            }
        }
        self.push(&interleaved);
        self.after_input(n)
    }

    /// Takes `n` frames of `channels` interleaved samples each.
    pub fn send_interleaved(&mut self, samples: &[f32]) -> Result<()> {
        let n = self.check_input(samples)?;
        self.push(samples);
        self.after_input(n)
    }

    /// Queues interleaved input for the codec, converted to its rate.
    fn push(&mut self, interleaved: &[f32]) {
        #[cfg(framepress_opus)]
        if let Codec::Opus(coder) = &mut self.codec {
            let c = usize::from(self.config.channels);
            if coder.resample(interleaved, &mut self.pending, c) {
                return;
            }
        }
        self.pending.extend_from_slice(interleaved);
    }

    /// Checks a block of input; returns its frame count.
    fn check_input(&self, samples: &[f32]) -> Result<usize> {
        if self.broken || self.flushed {
            return Err(Error::InvalidState);
        }
        let c = usize::from(self.config.channels);
        if !samples.len().is_multiple_of(c) {
            return Err(Error::InvalidInput(format!(
                "{} audio samples do not divide into {c} channels",
                samples.len()
            )));
        }
        if let Some(i) = samples.iter().position(|s| !s.is_finite()) {
            return Err(Error::InvalidInput(format!(
                "audio sample {i} of this block is {} (samples must be finite, nominally -1..=1)",
                samples[i]
            )));
        }
        Ok(samples.len() / c)
    }

    fn after_input(&mut self, frames: usize) -> Result<()> {
        self.frames_in += frames as u64;
        self.code_full_packets().inspect_err(|_| self.broken = true)
    }

    /// Codes every whole packet of pending input.
    fn code_full_packets(&mut self) -> Result<()> {
        let c = usize::from(self.config.channels);
        let per_packet = self.packet_frames * c;
        let whole = self.pending.len() / per_packet * per_packet;
        for packet in self.pending[..whole].chunks_exact(per_packet) {
            let p = code(&mut self.codec, packet, c)?;
            self.ready.push_back(p);
        }
        self.pending.drain(..whole);
        Ok(())
    }

    /// Ends the stream: codes what is pending, padded, and the codec's delay.
    /// Afterwards every packet can be received.
    pub fn flush(&mut self) -> Result<()> {
        if self.broken {
            return Err(Error::InvalidState);
        }
        if self.flushed {
            return Ok(());
        }
        self.flushed = true;
        let c = usize::from(self.config.channels);
        let result = match &mut self.codec {
            Codec::Pcm => {
                if !self.pending.is_empty() {
                    let p = code(&mut self.codec, &self.pending, c)?;
                    self.ready.push_back(p);
                    self.pending.clear();
                }
                Ok(())
            }
            #[cfg(framepress_opus)]
            Codec::Opus(coder) => coder.finish(
                &mut self.pending,
                c,
                self.frames_in,
                self.config.sample_rate,
                &mut self.ready,
            ),
        };
        result.inspect_err(|_| self.broken = true)
    }

    /// The next finished packet, if any.
    pub fn receive_packet(&mut self) -> Option<AudioPacket> {
        self.ready.pop_front()
    }
}

/// Codes one packet of interleaved samples.
fn code(codec: &mut Codec, samples: &[f32], channels: usize) -> Result<AudioPacket> {
    match codec {
        Codec::Pcm => {
            let mut data = Vec::with_capacity(samples.len() * 4);
            for s in samples {
                data.extend_from_slice(&s.to_le_bytes());
            }
            let frames = samples.len() / channels;
            Ok(AudioPacket {
                data,
                duration: u32::try_from(frames).unwrap_or(u32::MAX), // <= PCM_PACKET_FRAMES
                trim_end: 0,
            })
        }
        #[cfg(framepress_opus)]
        Codec::Opus(coder) => coder.encode(samples),
    }
}

#[cfg(not(framepress_opus))]
fn opus_codec(_config: &AudioConfig) -> Result<(Codec, AudioTrack, usize)> {
    Err(Error::InvalidOption {
        option: "audio codec",
        value: "opus".to_string(),
        expected: "pcm (this build of framepress has no Opus: it was built without the `opus` feature, which needs libopus)".to_string(),
    })
}

#[cfg(framepress_opus)]
fn opus_codec(config: &AudioConfig) -> Result<(Codec, AudioTrack, usize)> {
    let coder = opus::OpusCoder::new(config)?;
    let track = AudioTrack {
        codec: container::AudioCodec::Opus {
            pre_skip: coder.pre_skip,
            mapping: coder.mapping.clone(),
        },
        sample_rate: config.sample_rate,
        channels: config.channels,
    };
    let frames = coder.frame_size;
    Ok((Codec::Opus(Box::new(coder)), track, frames))
}

/// The libopus encoder, through its multistream API (one stream for mono
/// and stereo, family 0; several for 3 to 8 channels, family 1).
#[cfg(framepress_opus)]
mod opus {
    use std::collections::VecDeque;
    use std::ffi::{c_char, c_int, c_uchar, CStr};

    use container::OpusMapping;

    use super::{AudioConfig, AudioPacket};
    use crate::error::{Error, Result};
    use crate::resample::Resampler;

    /// Opaque libopus encoder state (opus_multistream.h).
    #[repr(C)]
    struct OpusMSEncoder {
        _private: [u8; 0],
    }

    // The functions of libopus' public API used here (opus_multistream.h,
    // opus_defines.h).
    #[link(name = "opus")]
    extern "C" {
        fn opus_multistream_surround_encoder_create(
            fs: i32,
            channels: c_int,
            mapping_family: c_int,
            streams: *mut c_int,
            coupled_streams: *mut c_int,
            mapping: *mut c_uchar,
            application: c_int,
            error: *mut c_int,
        ) -> *mut OpusMSEncoder;
        fn opus_multistream_encode_float(
            st: *mut OpusMSEncoder,
            pcm: *const f32,
            frame_size: c_int,
            data: *mut c_uchar,
            max_data_bytes: i32,
        ) -> i32;
        fn opus_multistream_encoder_ctl(st: *mut OpusMSEncoder, request: c_int, ...) -> c_int;
        fn opus_multistream_encoder_destroy(st: *mut OpusMSEncoder);
        fn opus_strerror(error: c_int) -> *const c_char;
    }

    /// opus_defines.h: OPUS_OK, OPUS_APPLICATION_AUDIO and the requests used.
    const OPUS_OK: c_int = 0;
    const OPUS_APPLICATION_AUDIO: c_int = 2049;
    const OPUS_SET_BITRATE_REQUEST: c_int = 4002;
    const OPUS_GET_LOOKAHEAD_REQUEST: c_int = 4027;

    /// Largest packet per stream (RFC 6716 §3.2.1: 1275 bytes per frame,
    /// padding aside), with room.
    const MAX_PACKET_PER_STREAM: usize = 1500;

    /// Input rates libopus takes as they are.
    const NATIVE_RATES: [u32; 5] = [8000, 12000, 16000, 24000, 48000];

    fn describe(code: c_int) -> String {
        // SAFETY: opus_strerror returns a pointer to a static, NUL-terminated
        // string for every code (or to "unknown error").
        let text = unsafe { CStr::from_ptr(opus_strerror(code)) };
        format!("{} (libopus error {code})", text.to_string_lossy())
    }

    pub(super) struct OpusCoder {
        state: *mut OpusMSEncoder,
        /// Samples per channel per packet at the coder's input rate (20 ms).
        pub frame_size: usize,
        /// 48 kHz ticks per input sample: 48000 / rate.
        ticks_per_sample: u32,
        pub pre_skip: u16,
        pub mapping: OpusMapping,
        streams: usize,
        resampler: Option<Resampler>,
        /// Packets coded so far.
        packets: u64,
        out: Vec<u8>,
    }

    // SAFETY: the encoder state is plain memory owned by this value alone;
    // libopus keeps no thread-local or global state tied to it.
    unsafe impl Send for OpusCoder {}

    impl Drop for OpusCoder {
        fn drop(&mut self) {
            // SAFETY: `state` came from opus_multistream_surround_encoder_create
            // and is destroyed exactly once, here.
            unsafe { opus_multistream_encoder_destroy(self.state) }
        }
    }

    impl OpusCoder {
        pub fn new(config: &AudioConfig) -> Result<OpusCoder> {
            let (rate, resampler) = if NATIVE_RATES.contains(&config.sample_rate) {
                (config.sample_rate, None)
            } else {
                let r = Resampler::new(config.sample_rate, 48_000, usize::from(config.channels))
                    .map_err(|why| Error::InvalidOption {
                        option: "audio sample rate",
                        value: config.sample_rate.to_string(),
                        expected: format!("a rate Opus can take ({why}); 8000, 12000, 16000, 24000 and 48000 Hz need no resampling"),
                    })?;
                (48_000, Some(r))
            };
            let channels = c_int::from(config.channels);
            let family = if config.channels <= 2 { 0 } else { 1 };
            let (mut streams, mut coupled, mut error) = (0, 0, 0);
            let mut mapping = [0u8; 255];
            // SAFETY: the out-pointers are valid for writes; `mapping` has room
            // for 255 entries, more than `channels` (<= 8).
            let state = unsafe {
                opus_multistream_surround_encoder_create(
                    rate as i32,
                    channels,
                    family,
                    &mut streams,
                    &mut coupled,
                    mapping.as_mut_ptr(),
                    OPUS_APPLICATION_AUDIO,
                    &mut error,
                )
            };
            if state.is_null() || error != OPUS_OK {
                if !state.is_null() {
                    // SAFETY: created above, not used after.
                    unsafe { opus_multistream_encoder_destroy(state) };
                }
                return Err(Error::Audio(format!(
                    "cannot start the Opus encoder for {} channels at {rate} Hz: {}",
                    config.channels,
                    describe(error)
                )));
            }
            let mut coder = OpusCoder {
                state,
                frame_size: rate as usize / 50,
                ticks_per_sample: 48_000 / rate,
                pre_skip: 0,
                mapping: if family == 0 {
                    OpusMapping::simple()
                } else {
                    OpusMapping {
                        family: 1,
                        streams: streams as u8,
                        coupled: coupled as u8,
                        mapping: mapping[..usize::from(config.channels)].to_vec(),
                    }
                },
                streams: streams.max(1) as usize,
                resampler,
                packets: 0,
                out: Vec::new(),
            };
            if config.bitrate != 0 {
                // SAFETY: a valid encoder; the request takes one opus_int32.
                let r = unsafe {
                    opus_multistream_encoder_ctl(
                        coder.state,
                        OPUS_SET_BITRATE_REQUEST,
                        config.bitrate as i32,
                    )
                };
                if r != OPUS_OK {
                    return Err(Error::Audio(format!(
                        "cannot set the Opus bitrate to {}: {}",
                        config.bitrate,
                        describe(r)
                    )));
                }
            }
            let mut lookahead: i32 = 0;
            // SAFETY: a valid encoder; the request writes one opus_int32.
            let r = unsafe {
                opus_multistream_encoder_ctl(
                    coder.state,
                    OPUS_GET_LOOKAHEAD_REQUEST,
                    &mut lookahead as *mut i32,
                )
            };
            if r != OPUS_OK || lookahead < 0 {
                return Err(Error::Audio(format!(
                    "cannot read the Opus encoder's look-ahead: {}",
                    describe(r)
                )));
            }
            // Pre-skip counts 48 kHz samples (RFC 7845 §4.2).
            let pre_skip = u32::try_from(lookahead).unwrap_or(0) * coder.ticks_per_sample;
            coder.pre_skip = u16::try_from(pre_skip).map_err(|_| {
                Error::Audio(format!(
                    "Opus look-ahead {pre_skip} does not fit the pre-skip field"
                ))
            })?;
            Ok(coder)
        }

        /// Converts interleaved input to 48 kHz onto `pending`, when the
        /// input rate is not one libopus takes; returns whether it did.
        pub fn resample(&mut self, input: &[f32], pending: &mut Vec<f32>, channels: usize) -> bool {
            match &mut self.resampler {
                Some(r) => {
                    r.process(input, pending, channels, false);
                    true
                }
                None => false,
            }
        }

        /// Codes one 20 ms packet of interleaved samples.
        pub fn encode(&mut self, samples: &[f32]) -> Result<AudioPacket> {
            let max = MAX_PACKET_PER_STREAM * self.streams;
            self.out.resize(max, 0);
            // SAFETY: a valid encoder; `samples` holds frame_size frames of all
            // channels (callers pass whole packets); `out` has `max` bytes.
            let n = unsafe {
                opus_multistream_encode_float(
                    self.state,
                    samples.as_ptr(),
                    self.frame_size as c_int,
                    self.out.as_mut_ptr(),
                    max as i32,
                )
            };
            if n < 0 {
                return Err(Error::Audio(format!(
                    "Opus encoding failed: {}",
                    describe(n)
                )));
            }
            self.packets += 1;
            Ok(AudioPacket {
                data: self.out[..n as usize].to_vec(),
                duration: 960, // 20 ms at 48 kHz
                trim_end: 0,
            })
        }

        /// Codes the rest: pending input padded with silence, then silence
        /// until the look-ahead is out; the padding is marked as end trim.
        pub fn finish(
            &mut self,
            pending: &mut Vec<f32>,
            channels: usize,
            frames_in: u64,
            input_rate: u32,
            ready: &mut VecDeque<AudioPacket>,
        ) -> Result<()> {
            if let Some(r) = &mut self.resampler {
                r.process(&[], pending, channels, true);
            }
            // 48 kHz ticks of real signal: the input's length, exactly when the
            // rate divides 48 kHz, else as the resampler rounds it.
            let signal = if self.resampler.is_some() {
                (u128::from(frames_in) * 48_000).div_ceil(u128::from(input_rate)) as u64
            } else {
                frames_in * u64::from(self.ticks_per_sample)
            };
            let needed = signal + u64::from(self.pre_skip);
            let per_packet = self.frame_size * channels;
            let mut coded = self.packets * 960;
            let mut last = None;
            while coded < needed || !pending.is_empty() {
                let take = pending.len().min(per_packet);
                let mut block: Vec<f32> = pending.drain(..take).collect();
                block.resize(per_packet, 0.0);
                let p = self.encode(&block)?;
                coded += 960;
                if let Some(prev) = last.replace(p) {
                    ready.push_back(prev);
                }
            }
            if let Some(mut p) = last {
                p.trim_end = u32::try_from(coded.saturating_sub(needed))
                    .unwrap_or(0)
                    .min(960);
                ready.push_back(p);
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, freq: f32, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| 0.5 * (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin())
            .collect()
    }

    #[test]
    fn pcm_packets_hold_the_samples_bit_for_bit() {
        let mut c = AudioConfig::new(44_100, 2);
        c.codec = AudioCodec::Pcm;
        let mut e = AudioEncoder::new(&c).unwrap();
        let left = sine(44_100, 440.0, 5000);
        let right = sine(44_100, 1000.0, 5000);
        let planar: Vec<f32> = left.iter().chain(&right).copied().collect();
        e.send_planar(&planar).unwrap();
        e.flush().unwrap();
        let mut bytes = Vec::new();
        let mut frames = 0;
        while let Some(p) = e.receive_packet() {
            frames += p.duration;
            bytes.extend(p.data);
        }
        assert_eq!(frames, 5000);
        let got: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let want: Vec<f32> = left
            .iter()
            .zip(&right)
            .flat_map(|(&l, &r)| [l, r])
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn bad_input_is_an_error() {
        let mut c = AudioConfig::new(48_000, 2);
        c.codec = AudioCodec::Pcm;
        let mut e = AudioEncoder::new(&c).unwrap();
        let msg = e.send_planar(&[0.0; 3]).unwrap_err().to_string();
        assert!(msg.contains("do not divide into 2 channels"), "{msg}");
        let msg = e
            .send_interleaved(&[0.0, f32::NAN])
            .unwrap_err()
            .to_string();
        assert!(msg.contains("sample 1 of this block is NaN"), "{msg}");
        assert!(AudioEncoder::new(&AudioConfig::new(48_000, 0)).is_err());
        assert!(AudioEncoder::new(&AudioConfig::new(48_000, 9)).is_err());
        let mut c = AudioConfig::new(48_000, 1);
        c.bitrate = 10;
        let msg = AudioEncoder::new(&c).err().unwrap().to_string();
        assert!(msg.contains("audio bitrate"), "{msg}");
        assert_eq!(AudioCodec::from_name("OPUS").ok(), Some(AudioCodec::Opus));
        assert!(AudioCodec::from_name("mp3").is_err());
    }

    #[cfg(framepress_opus)]
    #[test]
    fn opus_packets_cover_the_input_plus_pre_skip() {
        for (rate, channels) in [(48_000, 2), (16_000, 1), (44_100, 2), (48_000, 6)] {
            let mut e = AudioEncoder::new(&AudioConfig::new(rate, channels)).unwrap();
            let n = rate as usize / 3 + 17;
            let planar: Vec<f32> = (0..channels)
                .flat_map(|c| sine(rate, 300.0 + 100.0 * f32::from(c), n))
                .collect();
            e.send_planar(&planar).unwrap();
            e.flush().unwrap();
            let container::AudioCodec::Opus { pre_skip, mapping } = e.track().codec.clone() else {
                panic!("not opus")
            };
            assert_eq!(mapping.family, u8::from(channels > 2));
            let (mut total, mut trim) = (0u64, 0u64);
            while let Some(p) = e.receive_packet() {
                assert_eq!(p.duration, 960);
                assert!(!p.data.is_empty());
                total += u64::from(p.duration);
                trim += u64::from(p.trim_end);
            }
            let signal = (n as u64 * 48_000).div_ceil(u64::from(rate));
            assert_eq!(total - trim, signal + u64::from(pre_skip), "{rate} Hz");
            assert!(trim < 960);
        }
    }
}
