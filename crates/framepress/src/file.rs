//! Encoding straight to a file whose extension picks the container.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use avc::frame::YuvFrame;

use container::{create_file, ContainerKind, VideoMuxer, VideoTrack};

use crate::config::EncoderConfig;
use crate::encoder::Encoder;
use crate::error::{Error, Result};

/// What an encode produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub frames: u64,
    pub bytes: u64,
}

/// Encodes frames to `path` (.mp4/.m4v or .h264/.264). The file appears
/// under its name only when [`FileEncoder::finish`] succeeds; after any
/// error, or if the encoder is dropped unfinished, nothing is left behind.
pub struct FileEncoder {
    encoder: Encoder,
    muxer: Option<Box<dyn VideoMuxer + Send>>,
    path: PathBuf,
    recons: VecDeque<YuvFrame>,
}

impl FileEncoder {
    /// Validates the configuration and opens the output.
    pub fn create(path: &Path, config: &EncoderConfig) -> Result<FileEncoder> {
        let kind = ContainerKind::from_path(path).ok_or_else(|| Error::UnknownExtension {
            path: path.to_path_buf(),
        })?;
        let encoder = Encoder::new(config.clone())?;
        let (width, height) = encoder.output_size();
        let track = VideoTrack {
            width,
            height,
            frame_rate_num: config.frame_rate.num,
            frame_rate_den: config.frame_rate.den,
            sps: encoder.sps().to_vec(),
            pps: encoder.pps().to_vec(),
        };
        let muxer = create_file(path, kind, &track)?;
        Ok(FileEncoder {
            encoder,
            muxer: Some(muxer),
            path: path.to_path_buf(),
            recons: VecDeque::new(),
        })
    }

    /// Encodes one frame in the configured pixel format. After an error the
    /// output is abandoned and further calls fail.
    pub fn encode_frame(&mut self, frame: &[u8]) -> Result<()> {
        let result = self.encode_and_write(frame);
        if result.is_err() {
            // Dropping the muxer removes the partial file.
            self.muxer = None;
        }
        result
    }

    fn encode_and_write(&mut self, frame: &[u8]) -> Result<()> {
        let muxer = self.muxer.as_mut().ok_or(Error::InvalidState)?;
        self.encoder.send_frame(frame)?;
        while let Some(packet) = self.encoder.receive_packet() {
            muxer.write_sample(&packet.nals, packet.keyframe)?;
            self.recons.extend(packet.recon);
        }
        Ok(())
    }

    /// The reconstructions of the frames written so far (what a decoder will
    /// output), when [`EncoderConfig::keep_reconstruction`] is set; each is
    /// returned once.
    pub fn take_reconstructions(&mut self) -> Vec<YuvFrame> {
        self.recons.drain(..).collect()
    }

    /// Finishes the stream and the container; returns what was written.
    pub fn finish(mut self) -> Result<Summary> {
        let mut muxer = self.muxer.take().ok_or(Error::InvalidState)?;
        self.encoder.flush()?;
        while let Some(packet) = self.encoder.receive_packet() {
            muxer.write_sample(&packet.nals, packet.keyframe)?;
        }
        let bytes = muxer.finish()?;
        Ok(Summary {
            frames: self.encoder.frames_sent(),
            bytes,
        })
    }

    /// The destination path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Frames encoded so far.
    pub fn frames(&self) -> u64 {
        self.encoder.frames_sent()
    }
}
