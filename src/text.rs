//! Text from outside (image names and descriptions from the API or a
//! snapshot, API error messages, policy files) made safe to print on a
//! terminal or into a CI log: control characters escaped so they cannot move
//! the cursor, recolour, or start a line of their own, GitHub's legacy
//! `##[command]` form broken up, and very long values clipped.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Longest run of characters a message quotes before it is clipped.
pub const MAX_QUOTED_CHARS: usize = 2000;

/// Characters that change what a terminal or a log shows without being
/// text: C0 and C1 controls (newline and carriage return included), DEL,
/// the Unicode line and paragraph separators, and the bidirectional
/// overrides and isolates that reorder how a line reads.
pub fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// One line of outside text as it is printed: every [`is_control`]
/// character written as `\u{1b}`, and `##[` (which GitHub's runner reads as
/// a workflow command anywhere in a line) as `#\u{23}[`.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) && !text.contains("##[") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if is_control(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else if c == '#' && out.ends_with('#') && chars.peek() == Some(&'[') {
            out.push_str("\\u{23}");
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Like [`escape`], for text we lay out ourselves over several lines (a
/// list of findings in one message): our own line breaks are kept, and
/// everything inside the lines is escaped.
pub fn escape_lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && is_control(c)) && !text.contains("##[") {
        return Cow::Borrowed(text);
    }
    let lines: Vec<Cow<'_, str>> = text.split('\n').map(escape).collect();
    Cow::Owned(lines.join("\n"))
}

/// A file's text for a source snippet, with the same length in bytes (so
/// every span still points where it did): a control character becomes `?`
/// (C0, DEL) or `¿` (C1), a separator or bidirectional control `�`; line
/// feeds and tabs stay, a carriage return becomes a space.
pub fn snippet_safe(text: &str) -> Cow<'_, str> {
    if !text
        .chars()
        .any(|c| is_control(c) && !matches!(c, '\n' | '\t'))
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            '\r' => out.push(' '),
            c if is_control(c) => out.push(match c.len_utf8() {
                1 => '?',
                2 => '¿',
                _ => '\u{fffd}',
            }),
            c => out.push(c),
        }
    }
    debug_assert_eq!(out.len(), text.len());
    Cow::Owned(out)
}

/// At most `max` characters of `text`, then `… (N more characters)`.
pub fn clip(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => {
            let rest = text[cut..].chars().count();
            Cow::Owned(format!("{}… ({rest} more characters)", &text[..cut]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_workflow_commands_are_escaped() {
        assert_eq!(escape("web-01"), "web-01");
        assert_eq!(escape("a\n::error::x"), "a\\u{a}::error::x");
        assert_eq!(
            escape("\u{1b}[31mred\u{1b}]8;;x\u{7}"),
            "\\u{1b}[31mred\\u{1b}]8;;x\\u{7}"
        );
        assert_eq!(escape("back\roops"), "back\\u{d}oops");
        assert_eq!(
            escape("x ##[set-output name=gate;]pass"),
            "x #\\u{23}[set-output name=gate;]pass"
        );
        assert_eq!(escape("# [a] #[b]"), "# [a] #[b]");
        assert_eq!(escape("\u{202e}evil"), "\\u{202e}evil");
        assert_eq!(escape("\u{85}"), "\\u{85}");
        assert_eq!(escape("镜像 ok"), "镜像 ok");
        assert_eq!(escape_lines("a\u{1b}\nb"), "a\\u{1b}\nb");
    }

    #[test]
    fn snippets_keep_their_length() {
        for text in [
            "plain\n",
            "a\u{1b}b\r\n",
            "\u{85}x\u{202e}y\u{2028}",
            "tab\there",
        ] {
            let safe = snippet_safe(text);
            assert_eq!(safe.len(), text.len(), "{text:?}");
            assert!(
                !safe
                    .chars()
                    .any(|c| is_control(c) && !matches!(c, '\n' | '\t'))
            );
        }
    }

    #[test]
    fn long_text_is_clipped_on_a_character_boundary() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("镜像镜像", 2), "镜像… (2 more characters)");
    }
}
