//! Option parsers: every text either parses to a value that satisfies the parser's contract (and prints back to
//! text that parses to the same value), or is an error that names what is accepted.
#![no_main]

use framepress::config::MAX_DIMENSION;
use framepress::{parse_bitrate, parse_size, Device, Error, PixelFormat, Preset, Rational};
use libfuzzer_sys::fuzz_target;

/// The CLI's own value parsers (colour matrix and range), compiled from its source.
#[path = "../../crates/cli/src/args.rs"]
#[allow(dead_code)]
mod cli_args;

fn check_error(e: Error) {
    match e {
        Error::InvalidOption { expected, .. } => assert!(!expected.is_empty()),
        Error::InvalidDimension { max, .. } => assert_eq!(max, MAX_DIMENSION),
        other => panic!("unexpected error kind: {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();

    match PixelFormat::from_name(text) {
        Ok(f) => assert_eq!(PixelFormat::from_name(f.name()).ok(), Some(f)),
        Err(e) => check_error(e),
    }
    match Preset::from_name(text) {
        Ok(p) => assert_eq!(Preset::from_name(p.name()).ok(), Some(p)),
        Err(e) => check_error(e),
    }
    match Rational::parse(text) {
        Ok(r) => {
            assert!(r.num > 0 && r.den > 0, "{text:?} -> {r:?}");
            assert_eq!(r, r.reduced());
            assert_eq!(Rational::parse(&r.to_string()).ok(), Some(r));
            assert!(r.as_f64().is_finite() && r.as_f64() > 0.0);
        }
        Err(e) => check_error(e),
    }
    match Device::parse(text) {
        Ok(d) => assert_eq!(Device::parse(&d.to_string()).ok(), Some(d)),
        Err(e) => check_error(e),
    }
    match parse_bitrate(text) {
        Ok(b) => assert!((1..=1_000_000_000_000).contains(&b), "{text:?} -> {b}"),
        Err(e) => check_error(e),
    }
    match parse_size(text) {
        Ok((w, h)) => {
            assert!((1..=MAX_DIMENSION).contains(&w) && (1..=MAX_DIMENSION).contains(&h));
            assert_eq!(parse_size(&format!("{w}x{h}")).ok(), Some((w, h)));
        }
        Err(e) => check_error(e),
    }
    if let Err(e) = cli_args::colour_matrix(text) {
        check_error(e);
    }
    if let Err(e) = cli_args::colour_range(text) {
        check_error(e);
    }
    if let Some(kind) = container::ContainerKind::from_name(text) {
        assert_eq!(container::ContainerKind::from_name(kind.name()), Some(kind));
    }
    let _ = container::ContainerKind::from_path(std::path::Path::new(text));
});
