//! Frame sources: y4m and raw frames parsed from arbitrary bytes. Every outcome is a frame of exactly the size the
//! source declares, a clean end, or an error value; never a panic or a runaway allocation.
#![no_main]

use std::io::{BufReader, Cursor};

use framepress::config::MAX_DIMENSION;
use framepress::{FrameSource, PixelFormat, RawReader, Y4mReader};
use libfuzzer_sys::fuzz_target;

/// Reads at most this many frames per input: enough to cross frame boundaries, few enough to stay fast.
const MAX_FRAMES: usize = 8;

fn drain(source: &mut dyn FrameSource) {
    let info = source.info().clone();
    assert!((1..=MAX_DIMENSION).contains(&info.width), "{info:?}");
    assert!((1..=MAX_DIMENSION).contains(&info.height), "{info:?}");
    if let Some(rate) = info.frame_rate {
        assert!(rate.num > 0 && rate.den > 0, "{info:?}");
    }
    let mut buf = Vec::new();
    for _ in 0..MAX_FRAMES {
        match source.read_frame(&mut buf) {
            Ok(true) => assert_eq!(buf.len(), info.frame_bytes()),
            Ok(false) => {
                // A clean end stays an end.
                assert!(matches!(source.read_frame(&mut buf), Ok(false) | Err(_)));
                return;
            }
            Err(e) => {
                assert!(!e.to_string().is_empty());
                return;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        // y4m, through a small buffer so that header lines straddle refills.
        let capacity = 1 + usize::from(mode >> 1);
        if let Ok(mut r) = Y4mReader::new(BufReader::with_capacity(capacity, rest), "fuzz.y4m") {
            drain(&mut r);
        }
        return;
    }
    // Raw frames: a format and a small size from the next bytes.
    let [f, w, h, body @ ..] = rest else {
        return;
    };
    let format = PixelFormat::ALL[usize::from(*f) % PixelFormat::ALL.len()].0;
    let (w, h) = (u32::from(*w), u32::from(*h));
    match RawReader::new(Cursor::new(body), format, w, h, "fuzz.raw") {
        Ok(mut r) => drain(&mut r),
        Err(e) => assert!(w == 0 || h == 0, "{w}x{h}: {e}"),
    }
});
