//! Several streams in one file: two video streams of different sizes and
//! rates (one encoded by the writer, one handed over as packets from a
//! separate encoder, as a CUDA-encoded stream would be) and an audio stream.
//! ffprobe lists them all with the right parameters, each video stream
//! decodes to its reconstruction, and the audio decodes within the codec's
//! error (Opus) or exactly (PCM).

mod common;
mod media;

use std::path::Path;

use framepress::{
    AudioCodec, AudioConfig, Encoder, EncoderConfig, Format, Fragmentation, MediaWriter,
    OutputOptions, RateControl, Rational, VideoStreamInfo,
};

/// Seconds of media in each file.
const SECONDS: usize = 1;

fn video_config(w: u32, h: u32, rate: Rational) -> EncoderConfig {
    let mut c = EncoderConfig::new(w, h);
    c.rate = RateControl::Qp(24);
    c.gop = 12;
    c.frame_rate = rate;
    c.keep_reconstruction = true;
    c.preset = framepress::Preset::Veryfast;
    c
}

struct Written {
    recon_a: Vec<Vec<u8>>,
    recon_b: Vec<Vec<u8>>,
    /// The audio input, planar.
    audio: Vec<f32>,
}

/// Writes stream A (96×64 at 25 fps, encoded by the writer), stream B
/// (64×48 at 30000/1001, packets from its own encoder) and an audio stream.
/// The calls come in a jumbled order: all of A's frames first, then audio and
/// B in uneven pieces; the writer interleaves them by time.
fn write_three(path: &Path, audio: &AudioConfig, options: &OutputOptions) -> Written {
    let mut w = MediaWriter::create(path, options).expect("create");
    let a = w
        .add_video(&video_config(96, 64, Rational::new(25, 1)))
        .unwrap();
    let mut enc_b = Encoder::new(video_config(64, 48, Rational::new(30000, 1001))).unwrap();
    let b = w
        .add_video_stream(&VideoStreamInfo::from_encoder(&enc_b))
        .unwrap();
    let s = w.add_audio(audio).unwrap();
    assert_eq!((a.index(), b.index(), s.index()), (0, 1, 2));

    let mut recon_a = Vec::new();
    for i in 0..25 * SECONDS {
        let f = common::natural_i420_at(96, 64, 4 * i as i64, 2 * i as i64);
        w.encode_frame(a, &f).unwrap();
        recon_a.extend(w.take_reconstructions(a).iter().map(|r| r.to_i420()));
    }
    let channels = usize::from(audio.channels);
    let n = audio.sample_rate as usize * SECONDS;
    let planar = media::tones_planar(audio.sample_rate, channels, n);
    let frames_b = (30 * SECONDS * 1000).div_ceil(1001);
    let mut recon_b = Vec::new();
    let mut sent = 0;
    for i in 0..frames_b {
        // Audio in pieces of 777 samples per channel, ahead of stream B.
        let until = (n * (i + 1) / frames_b + 500).min(n);
        while sent < until {
            let end = (sent + 777).min(until);
            let piece: Vec<f32> = (0..channels)
                .flat_map(|c| planar[c * n + sent..c * n + end].iter().copied())
                .collect();
            w.add_samples(s, &piece).unwrap();
            sent = end;
        }
        let f = common::gradient_i420(64, 48);
        let mut f = f;
        f[..64 * 48]
            .iter_mut()
            .for_each(|y| *y = y.wrapping_add(3 * i as u8));
        enc_b.send_frame(&f).unwrap();
        while let Some(p) = enc_b.receive_packet() {
            w.write_packet(b, &p).unwrap();
        }
        recon_b.extend(w.take_reconstructions(b).iter().map(|r| r.to_i420()));
    }
    let summary = w.finish().expect("finish");
    assert_eq!(summary.streams[0].frames, 25 * SECONDS as u64);
    assert_eq!(summary.streams[1].frames, frames_b as u64);
    assert_eq!(summary.streams[2].frames, n as u64);
    Written {
        recon_a,
        recon_b,
        audio: planar,
    }
}

fn check_video(path: &Path, written: &Written) {
    let a = media::decode_video(path, 0, 96, 64);
    assert_eq!(
        a.len(),
        written.recon_a.len(),
        "{}: stream A",
        path.display()
    );
    common::assert_i420_frames_equal(&a, &written.recon_a, 96, 64);
    let b = media::decode_video(path, 1, 64, 48);
    assert_eq!(
        b.len(),
        written.recon_b.len(),
        "{}: stream B",
        path.display()
    );
    common::assert_i420_frames_equal(&b, &written.recon_b, 64, 48);
}

fn check_streams(path: &Path, written: &Written, audio_codec: &str, rate: u32, channels: u32) {
    let (_, duration, streams) = media::probe_all(path);
    assert_eq!(streams.len(), 3, "{}: {streams:?}", path.display());
    let (a, b, s) = (&streams[0], &streams[1], &streams[2]);
    assert_eq!(
        (a.codec_type.as_str(), a.codec_name.as_str()),
        ("video", "h264")
    );
    assert_eq!(
        (a.width, a.height, a.r_frame_rate.as_str()),
        (Some(96), Some(64), "25/1")
    );
    assert_eq!(a.nb_read_frames, Some(written.recon_a.len() as u64));
    assert_eq!(
        (b.codec_type.as_str(), b.codec_name.as_str()),
        ("video", "h264")
    );
    assert_eq!(
        (b.width, b.height, b.r_frame_rate.as_str()),
        (Some(64), Some(48), "30000/1001")
    );
    assert_eq!(b.nb_read_frames, Some(written.recon_b.len() as u64));
    assert_eq!(s.codec_type, "audio");
    assert_eq!(s.codec_name, audio_codec, "{}", path.display());
    assert_eq!((s.sample_rate, s.channels), (Some(rate), Some(channels)));
    let d = duration.expect("a duration");
    assert!(
        (d - SECONDS as f64).abs() < 0.05,
        "{}: duration {d}",
        path.display()
    );
}

#[test]
fn two_videos_and_opus_in_mp4_mkv_and_mov() {
    if common::ffmpeg().is_none() || common::ffprobe().is_none() {
        return;
    }
    let scratch = common::Scratch::new("multistream-opus");
    let audio = AudioConfig {
        bitrate: 128_000,
        ..AudioConfig::new(48_000, 2)
    };
    for ext in ["mp4", "mkv", "mov"] {
        let path = scratch.path(format!("three.{ext}"));
        let written = write_three(&path, &audio, &OutputOptions::default());
        check_streams(&path, &written, "opus", 48_000, 2);
        check_video(&path, &written);
        // Pre-skip and end trim give back exactly the input's length, aligned.
        let decoded = media::decode_audio(&path, 0);
        let want = media::interleave(&written.audio, 2);
        assert_eq!(decoded.len(), want.len(), "{ext}: decoded samples");
        let snr = media::snr_db(&decoded, &want);
        eprintln!("{ext}: Opus SNR {snr:.1} dB");
        // Opus at 64 kb/s per channel keeps a tonal signal's waveform well.
        assert!(snr > 20.0, "{ext}: Opus SNR {snr:.1} dB");
    }
}

#[test]
fn fragmented_output_carries_all_streams() {
    if common::ffmpeg().is_none() || common::ffprobe().is_none() {
        return;
    }
    let scratch = common::Scratch::new("multistream-fragments");
    let path = scratch.path("three.mp4");
    let options = OutputOptions {
        fragmentation: Fragmentation::Keyframes,
        ..OutputOptions::default()
    };
    let written = write_three(&path, &AudioConfig::new(48_000, 1), &options);
    check_streams(&path, &written, "opus", 48_000, 1);
    check_video(&path, &written);
    let decoded = media::decode_audio(&path, 0);
    let want = &written.audio;
    // Fragmented MP4 keeps the last packet's padding (no edit can cut it
    // before the length is known): at most one 20 ms packet more.
    assert!(
        decoded.len() >= want.len() && decoded.len() < want.len() + 960,
        "{} decoded samples for {}",
        decoded.len(),
        want.len()
    );
    let snr = media::snr_db(&decoded[..want.len()], want);
    eprintln!(
        "fragmented: Opus SNR {snr:.1} dB, {} samples decoded for {}",
        decoded.len(),
        want.len()
    );
    assert!(snr > 15.0, "Opus SNR {snr:.1} dB");
}

#[test]
fn pcm_audio_is_lossless() {
    if common::ffmpeg().is_none() || common::ffprobe().is_none() {
        return;
    }
    let scratch = common::Scratch::new("multistream-pcm");
    let audio = AudioConfig {
        codec: AudioCodec::Pcm,
        ..AudioConfig::new(44_100, 2)
    };
    for (ext, codec) in [("mkv", "pcm_f32le"), ("mov", "pcm_f32be")] {
        let path = scratch.path(format!("pcm.{ext}"));
        let written = write_three(&path, &audio, &OutputOptions::default());
        check_streams(&path, &written, codec, 44_100, 2);
        check_video(&path, &written);
        let decoded = media::decode_audio(&path, 0);
        assert!(
            decoded == media::interleave(&written.audio, 2),
            "{ext}: PCM decodes bit for bit"
        );
    }
    // MP4 stores float PCM as 'fpcm' (ISO/IEC 23003-5), which FFmpeg reads
    // from 6.1 on: decode it with the test FFmpeg (ffprobe may be older).
    let path = scratch.path("pcm.mp4");
    let written = write_three(&path, &audio, &OutputOptions::default());
    check_video(&path, &written);
    let decoded = media::decode_audio(&path, 0);
    assert!(
        decoded == media::interleave(&written.audio, 2),
        "mp4: PCM decodes bit for bit"
    );
}

#[cfg(framepress_opus)]
#[test]
fn opus_from_44100_hz_input_is_resampled_to_48000() {
    if common::ffmpeg().is_none() {
        return;
    }
    let scratch = common::Scratch::new("multistream-44k");
    let path = scratch.path("a.mkv");
    let mut w = MediaWriter::create(&path, &OutputOptions::default()).unwrap();
    let s = w
        .add_audio(&AudioConfig {
            bitrate: 96_000,
            ..AudioConfig::new(44_100, 1)
        })
        .unwrap();
    let input = media::tones_planar(44_100, 1, 44_100);
    for piece in input.chunks(1000) {
        w.add_samples(s, piece).unwrap();
    }
    w.finish().unwrap();
    let decoded = media::decode_audio(&path, 0);
    // The same tones at 48 kHz.
    let want = media::tones_planar(48_000, 1, 48_000);
    assert_eq!(decoded.len(), want.len());
    let snr = media::snr_db(&decoded[480..47_520], &want[480..47_520]);
    eprintln!("44.1 kHz input: Opus SNR {snr:.1} dB");
    assert!(snr > 20.0, "SNR {snr:.1} dB");
}

#[test]
fn annex_b_refuses_more_than_one_stream() {
    let scratch = common::Scratch::new("multistream-annexb");
    let path = scratch.path("two.h264");
    let mut w = MediaWriter::create(&path, &OutputOptions::default()).unwrap();
    let v = w
        .add_video(&video_config(32, 32, Rational::new(25, 1)))
        .unwrap();
    let mut c = AudioConfig::new(48_000, 1);
    c.codec = AudioCodec::Pcm;
    w.add_audio(&c).unwrap();
    let e = w.encode_frame(v, &vec![0u8; 32 * 32 * 3 / 2]).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("Annex B"), "{msg}");
    assert!(msg.contains("use .mp4, .mov or .mkv"), "{msg}");
    drop(w);
    assert!(!path.exists());
    let _ = Format::AnnexB;
}

#[test]
fn writers_can_move_between_threads() {
    fn send<T: Send>() {}
    send::<MediaWriter>();
    send::<framepress::AudioEncoder>();
}

#[test]
fn misuse_is_reported_and_leaves_the_writer_usable() {
    let scratch = common::Scratch::new("multistream-misuse");
    let path = scratch.path("m.mkv");
    let mut w = MediaWriter::create(&path, &OutputOptions::default()).unwrap();
    let v = w
        .add_video(&video_config(32, 32, Rational::new(25, 1)))
        .unwrap();
    let mut c = AudioConfig::new(48_000, 2);
    c.codec = AudioCodec::Pcm;
    let s = w.add_audio(&c).unwrap();
    let frame = vec![0u8; 32 * 32 * 3 / 2];
    // Audio samples to a video stream, a frame to an audio stream, a wrong
    // size, an odd sample count, a NaN: each refused, nothing broken.
    let e = w.add_samples(v, &[0.0; 4]).unwrap_err().to_string();
    assert!(e.contains("expected an audio stream"), "{e}");
    let e = w.encode_frame(s, &frame).unwrap_err().to_string();
    assert!(e.contains("a video stream from add_video"), "{e}");
    assert!(w.encode_frame(v, &frame[1..]).is_err());
    assert!(w.add_samples(s, &[0.0; 3]).is_err());
    assert!(w.add_samples(s, &[0.0, f32::NAN]).is_err());
    w.encode_frame(v, &frame).unwrap();
    w.add_samples(s, &[0.25; 2000]).unwrap();
    // Streams cannot be added once writing started.
    let e = w.add_audio(&c).unwrap_err().to_string();
    assert!(e.contains("before the first frame"), "{e}");
    let summary = w.finish().unwrap();
    assert_eq!(summary.streams[0].frames, 1);
    assert_eq!(summary.streams[1].frames, 1000);
    assert!(path.exists());
}

/// A loop run on the video stream's own threads writes the same file as the
/// same calls made here; for an audio stream (no encoder threads) the
/// closure runs on the calling thread.
#[test]
fn encoding_on_the_video_threads_writes_the_same_file() {
    let scratch = common::Scratch::new("multistream-threads");
    let mut config = video_config(48, 32, Rational::new(25, 1));
    config.threads = 2;
    let frames: Vec<Vec<u8>> = (0..8)
        .map(|i| common::natural_i420_at(48, 32, 3 * i, i))
        .collect();
    let write = |name: &str, on_threads: bool| {
        let path = scratch.path(name);
        let mut w = MediaWriter::create(&path, &OutputOptions::default()).unwrap();
        let v = w.add_video(&config).unwrap();
        let mut pcm = AudioConfig::new(48_000, 1);
        pcm.codec = AudioCodec::Pcm;
        let s = w.add_audio(&pcm).unwrap();
        let encode_all = |w: &mut MediaWriter| {
            for f in &frames {
                w.encode_frame(v, f).unwrap();
            }
            rayon::current_thread_index()
        };
        let worker = if on_threads {
            w.run_on_video_threads(v, encode_all)
        } else {
            encode_all(&mut w)
        };
        assert_eq!(worker.is_some(), on_threads, "{name}");
        assert_eq!(
            w.run_on_video_threads(s, |_| rayon::current_thread_index()),
            None
        );
        w.add_samples(s, &[0.0; 480]).unwrap();
        w.finish().unwrap();
        std::fs::read(&path).unwrap()
    };
    let here = write("here.mp4", false);
    let there = write("there.mp4", true);
    assert!(here.len() > 100);
    assert_eq!(here, there);
}

/// An encoder fed from inside `run_on_threads` codes on one of its threads
/// and gives the packets it gives when fed from here.
#[test]
fn an_encoder_fed_on_its_threads_gives_the_same_packets() {
    let mut config = video_config(48, 32, Rational::new(25, 1));
    config.threads = 2;
    let frames: Vec<Vec<u8>> = (0..6)
        .map(|i| common::natural_i420_at(48, 32, 2 * i, 3 * i))
        .collect();
    let feed = |e: &mut Encoder| {
        let mut nals = Vec::new();
        for f in &frames {
            e.send_frame(f).unwrap();
            while let Some(p) = e.receive_packet() {
                nals.push(p.nals);
            }
        }
        (nals, rayon::current_thread_index())
    };
    let (here, outside) = feed(&mut Encoder::new(config.clone()).unwrap());
    let (there, inside) = Encoder::new(config).unwrap().run_on_threads(feed);
    assert_eq!((outside.is_some(), inside.is_some()), (false, true));
    assert_eq!(here.len(), frames.len());
    assert_eq!(here, there);
}
