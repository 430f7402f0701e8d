//! Options shared by `encode` and `demo` about the output: the container
//! format, crash-safe fragments, and standard output.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use clap::Args;
use framepress::{Error, Format, Fragmentation, MediaWriter, OutputOptions, Result};

#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// Container: mp4, mov, mkv or h264 [default: from the output's extension; mp4 for '-'].
    #[arg(long, short = 'f', value_name = "FORMAT", value_parser = parse_format)]
    format: Option<Format>,
    /// Crash-safe output with a fragment per GOP (fragmented MP4/MOV, as FFmpeg's
    /// -movflags frag_keyframe+empty_moov; a Matroska Cluster per GOP): the file
    /// appears with its first fragment, and if the encode is killed every
    /// complete fragment still plays. Pipes and '-' get fragments anyway.
    #[arg(long)]
    fragmented: bool,
    /// Like --fragmented, with fragments of about SECONDS each, cut at any frame.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    fragment_duration: Option<Duration>,
}

fn parse_format(text: &str) -> Result<Format> {
    Format::from_name(text).ok_or_else(|| Error::InvalidOption {
        option: "format",
        value: text.to_string(),
        expected: "mp4, mov, mkv or h264".to_string(),
    })
}

fn parse_seconds(text: &str) -> Result<Duration> {
    let bad = || Error::InvalidOption {
        option: "fragment duration",
        value: text.to_string(),
        expected: "seconds between 0.001 and 86400, e.g. 2 or 0.5".to_string(),
    };
    let s: f64 = text.trim().parse().map_err(|_| bad())?;
    if !(0.001..=86_400.0).contains(&s) {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(s))
}

impl OutputArgs {
    /// The extension of outputs named by the program: the format's name,
    /// mp4 by default.
    pub fn extension(&self) -> &'static str {
        self.format.unwrap_or(Format::Mp4).name()
    }

    fn options(&self) -> OutputOptions {
        OutputOptions {
            format: self.format,
            fragmentation: match (self.fragment_duration, self.fragmented) {
                (Some(d), _) => Fragmentation::Every(d),
                (None, true) => Fragmentation::Keyframes,
                (None, false) => Fragmentation::Auto,
            },
        }
    }

    /// Opens `output`: a file (the format from --format or its extension),
    /// or standard output for '-'.
    pub fn open(&self, output: &Path) -> Result<MediaWriter> {
        let options = self.options();
        if output.as_os_str() == "-" {
            let stdout = std::io::stdout();
            if stdout.is_terminal() {
                return Err(Error::InvalidOption {
                    option: "output",
                    value: "-".to_string(),
                    expected: "standard output redirected to a file or a pipe (it is a terminal)"
                        .to_string(),
                });
            }
            let format = options.format.unwrap_or(Format::Mp4);
            let writer = std::io::BufWriter::with_capacity(1 << 20, stdout);
            return MediaWriter::to_stream(writer, format, &options);
        }
        MediaWriter::create(output, &options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(parse_format("MKV").ok(), Some(Format::Mkv));
        assert!(parse_format("avi").is_err());
        assert_eq!(parse_seconds("0.5").ok(), Some(Duration::from_millis(500)));
        assert!(parse_seconds("0").is_err());
        assert!(parse_seconds("x").is_err());
    }
}
