//! What an account label may be (`--account`, and `account:` in the config
//! file): one check for every place a label is given. A label is recorded
//! in the history and shown by `ecmguard history` (text and its HTML page),
//! so it is text that reads as it is written: not empty, not too long, and
//! without control characters, bidirectional controls (which reorder how it
//! reads: `prod\u{202e}dab` shows as `prodbad`) or invisible characters
//! (which make two different labels look the same).

/// The longest label, in characters.
pub const MAX_CHARS: usize = 128;

/// What is wrong with a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    Empty,
    TooLong(usize),
    /// A character that does not read as it is.
    Unreadable(char),
}

impl Problem {
    /// What is wrong, to follow the label's name: "is empty".
    pub fn describe(self) -> String {
        match self {
            Problem::Empty => "is empty".to_owned(),
            Problem::TooLong(n) => format!("is {n} characters long, more than {MAX_CHARS}"),
            Problem::Unreadable(c) => format!(
                "holds U+{:04X}, {}",
                u32::from(c),
                match kind(c) {
                    Some(Kind::Bidi) =>
                        "a bidirectional control, which changes how the label reads",
                    Some(Kind::Invisible) =>
                        "an invisible character, which makes two labels look the same",
                    _ => "a control character",
                }
            ),
        }
    }
}

/// A label as it is used: `text` without surrounding spaces, if it may be
/// one.
pub fn label(text: &str) -> Result<&str, Problem> {
    let label = text.trim();
    if label.is_empty() {
        return Err(Problem::Empty);
    }
    if let Some(c) = label.chars().find(|&c| kind(c).is_some()) {
        return Err(Problem::Unreadable(c));
    }
    let chars = label.chars().count();
    if chars > MAX_CHARS {
        return Err(Problem::TooLong(chars));
    }
    Ok(label)
}

enum Kind {
    Control,
    Bidi,
    Invisible,
}

/// Why `c` does not read as it is, if it does not.
fn kind(c: char) -> Option<Kind> {
    match c {
        '\u{061c}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}' => Some(Kind::Bidi),
        '\u{00ad}'
        | '\u{180e}'
        | '\u{200b}'..='\u{200d}'
        | '\u{2060}'..='\u{2064}'
        | '\u{206a}'..='\u{206f}'
        | '\u{feff}'
        | '\u{fff9}'..='\u{fffb}'
        | '\u{e0000}'..='\u{e007f}' => Some(Kind::Invisible),
        c if crate::text::is_control(c) => Some(Kind::Control),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_reads_as_it_is_written() {
        assert_eq!(label("  prod-guangzhou "), Ok("prod-guangzhou"));
        assert_eq!(label("生产"), Ok("生产"));
        assert_eq!(label(" \t"), Err(Problem::Empty));
        for c in ['\u{7}', '\u{1b}', '\u{9b}', '\n', '\u{2028}'] {
            assert_eq!(label(&format!("a{c}b")), Err(Problem::Unreadable(c)));
        }
        for c in ['\u{202e}', '\u{2066}', '\u{200f}', '\u{061c}'] {
            let problem = label(&format!("prod{c}dab")).unwrap_err();
            assert!(problem.describe().contains("bidirectional"), "{c:?}");
        }
        for c in ['\u{200b}', '\u{200d}', '\u{2060}', '\u{feff}', '\u{e0041}'] {
            let problem = label(&format!("prod{c}")).unwrap_err();
            assert!(problem.describe().contains("invisible"), "{c:?}");
        }
        assert_eq!(label(&"a".repeat(128)).map(str::len), Ok(128));
        assert_eq!(label(&"a".repeat(129)), Err(Problem::TooLong(129)));
    }
}
