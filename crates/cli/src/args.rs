//! Parsers for option values; their errors become clap usage errors.

use framepress::{ColourMatrix, ColourRange, Error, Result};

/// `bt601` or `bt709` (also `601`, `709`).
pub fn colour_matrix(text: &str) -> Result<ColourMatrix> {
    match text.trim().to_ascii_lowercase().as_str() {
        "bt601" | "601" | "bt.601" => Ok(ColourMatrix::Bt601),
        "bt709" | "709" | "bt.709" => Ok(ColourMatrix::Bt709),
        _ => Err(Error::InvalidOption {
            option: "colorspace",
            value: text.to_string(),
            expected: "bt601 or bt709".to_string(),
        }),
    }
}

/// `tv`/`limited` or `pc`/`full`.
pub fn colour_range(text: &str) -> Result<ColourRange> {
    match text.trim().to_ascii_lowercase().as_str() {
        "tv" | "limited" | "mpeg" => Ok(ColourRange::Limited),
        "pc" | "full" | "jpeg" => Ok(ColourRange::Full),
        _ => Err(Error::InvalidOption {
            option: "color range",
            value: text.to_string(),
            expected: "tv, pc, limited or full".to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(colour_matrix("BT709").ok(), Some(ColourMatrix::Bt709));
        assert_eq!(colour_matrix("601").ok(), Some(ColourMatrix::Bt601));
        assert!(colour_matrix("bt2020").is_err());
        assert_eq!(colour_range("tv").ok(), Some(ColourRange::Limited));
        assert_eq!(colour_range("Full").ok(), Some(ColourRange::Full));
        assert!(colour_range("studio").is_err());
    }
}
