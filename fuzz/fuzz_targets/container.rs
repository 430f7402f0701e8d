//! The container writers over in-memory outputs with arbitrary NAL unit lists, keyframe flags, frame rates and
//! fragmentation: every call returns, the muxers either finish or fail with an error value, and a finished output
//! reports exactly the bytes it wrote.
#![no_main]

use std::io::{Cursor, Write};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use arbitrary::Arbitrary;
use container::{
    AnnexBMuxer, AudioCodec, AudioPacket, AudioTrack, ContainerKind, Fragmentation, Mp4Muxer,
    MuxOptions, Output, Track, VideoTrack,
};
use framepress::{Encoder, EncoderConfig};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    kind: u8,
    output: u8,
    fragmentation: u8,
    fragment_ms: u16,
    /// Which real parameter sets to use, or (when `raw_ps` is set) arbitrary bytes.
    size: u8,
    raw_ps: Option<(Vec<u8>, Vec<u8>)>,
    frame_rate: (u32, u32),
    audio: Option<(u8, u32)>,
    samples: Vec<Sample>,
}

#[derive(Debug, Arbitrary)]
enum Sample {
    Video {
        nals: Vec<Vec<u8>>,
        keyframe: bool,
    },
    Audio {
        data: Vec<u8>,
        duration: u16,
        trim_end: u16,
    },
    EndTrack(u8),
}

const MAX_SAMPLES: usize = 40;

/// Decoded width and height, SPS and PPS of one stream.
type ParameterSets = (u32, u32, Vec<u8>, Vec<u8>);

/// Real SPS/PPS pairs for a few frame sizes.
fn parameter_sets() -> &'static [ParameterSets] {
    static SETS: OnceLock<Vec<ParameterSets>> = OnceLock::new();
    SETS.get_or_init(|| {
        [(1, 1), (17, 33), (64, 48), (1920, 1080)]
            .into_iter()
            .map(|(w, h)| {
                let mut c = EncoderConfig::new(w, h);
                c.threads = 1;
                let e = Encoder::new(c).expect("encoder");
                let (ow, oh) = e.output_size();
                (ow, oh, e.sps().to_vec(), e.pps().to_vec())
            })
            .collect()
    })
}

/// A `Write` whose bytes can be read after the muxer took it.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fuzz_target!(|input: Input| {
    let sets = parameter_sets();
    let (w, h, sps, pps) = &sets[usize::from(input.size) % sets.len()];
    let (sps, pps) = match &input.raw_ps {
        Some((s, p)) => (s.clone(), p.clone()),
        None => (sps.clone(), pps.clone()),
    };
    let video = VideoTrack {
        width: *w,
        height: *h,
        frame_rate_num: input.frame_rate.0,
        frame_rate_den: input.frame_rate.1,
        sps,
        pps,
    };
    let samples = &input.samples[..input.samples.len().min(MAX_SAMPLES)];

    // The single-track muxers the library has always had, on a Cursor.
    if input.kind & 0x80 != 0 {
        if let Ok(mut m) = Mp4Muxer::new(Cursor::new(Vec::new()), &video) {
            for s in samples {
                if let Sample::Video { nals, keyframe } = s {
                    let _ = m.write_sample(nals, *keyframe);
                }
            }
            if let Ok((cursor, bytes)) = m.finish_into_inner() {
                assert_eq!(bytes, cursor.get_ref().len() as u64);
            }
        }
        if let Ok(mut m) = AnnexBMuxer::new(Cursor::new(Vec::new()), &video) {
            for s in samples {
                if let Sample::Video { nals, keyframe } = s {
                    let _ = m.write_sample(nals, *keyframe);
                }
            }
            if let Ok((cursor, bytes)) = m.finish_into_inner() {
                assert_eq!(bytes, cursor.get_ref().len() as u64);
            }
        }
        return;
    }

    // The general muxer: any kind, any output, a video track and maybe an audio track.
    let kind = [
        ContainerKind::Mp4,
        ContainerKind::Mov,
        ContainerKind::Mkv,
        ContainerKind::AnnexB,
    ][usize::from(input.kind) % 4];
    let mut tracks = vec![Track::Video(video)];
    if let Some((channels, rate)) = input.audio {
        tracks.push(Track::Audio(AudioTrack {
            codec: AudioCodec::PcmF32,
            sample_rate: rate % 200_000,
            channels: u16::from(channels % 10),
        }));
    }
    let fragmentation = match input.fragmentation % 3 {
        0 => Fragmentation::Auto,
        1 => Fragmentation::Keyframes,
        _ => Fragmentation::Every(Duration::from_millis(u64::from(input.fragment_ms))),
    };
    let shared = Shared::default();
    let output = match input.output % 3 {
        0 => Output::seekable(Cursor::new(Vec::new()), "fuzz"),
        1 => Output::write_seek(Cursor::new(Vec::new()), "fuzz"),
        _ => Output::stream(shared.clone(), "fuzz"),
    };
    let streaming = input.output % 3 == 2;
    let Ok(mut muxer) = container::open(output, kind, &tracks, &MuxOptions { fragmentation })
    else {
        return;
    };
    for s in samples {
        let _ = match s {
            Sample::Video { nals, keyframe } => muxer.write_video(0, nals, *keyframe),
            Sample::Audio {
                data,
                duration,
                trim_end,
            } => muxer.write_audio(
                1,
                &AudioPacket {
                    data,
                    duration: u32::from(*duration),
                    trim_end: u32::from(*trim_end),
                },
            ),
            Sample::EndTrack(t) => muxer.end_track(usize::from(*t % 3)),
        };
    }
    if let Ok(bytes) = muxer.finish() {
        if streaming {
            assert_eq!(bytes, shared.0.lock().unwrap().len() as u64);
        }
    }
});
