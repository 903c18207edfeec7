//! Text from outside (image names, messages, policy titles and remediation,
//! waiver reasons) written into GitHub-flavoured Markdown as text, never as
//! markup: the one escaper of the Markdown report, `rules --format markdown`
//! and SARIF's Markdown help.
//!
//! What is neutralised, and how:
//! - HTML (`&` `<` `>` `"`) and code spans (`` ` ``) become character
//!   references, so no tag, comment or code span can start;
//! - Markdown punctuation (`\ * _ [ ] ( ) # ! ~ $`) gets a backslash: no
//!   emphasis, strikethrough, link, image or math;
//! - `|` gets a backslash, so it cannot end a table cell;
//! - line breaks cannot end a paragraph or a table row: a space in text,
//!   `<br>` in a cell; a line cannot start a list, a heading underline or
//!   an indented code block either;
//! - GitHub's own links, which it finds in the rendered text rather than in
//!   the Markdown (so neither a backslash nor a character reference stops
//!   them): `@mentions`, `#123` references, bare `http://` and `www.` links.
//!   An empty HTML comment is put inside each (`@<!-- -->team`): it shows
//!   nothing and splits the text where GitHub would read a reference.
//!
//! Control characters (`text::is_control`: C0, C1, bidirectional controls,
//! line separators) are dropped.

use super::is_control;

/// Shows nothing; splits the text GitHub scans for mentions and links.
const SPLIT: &str = "<!-- -->";

/// Where the escaped text goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// A paragraph or a line: line breaks become spaces.
    Text,
    /// A table cell: line breaks become `<br>`.
    Cell,
    /// Inside an HTML block (`<summary>`), where GitHub reads no Markdown:
    /// HTML escaping and the reference splits only.
    Html,
}

/// Text in a paragraph or after other text on a line.
pub(crate) fn inline(raw: &str) -> String {
    escape(raw, Place::Text)
}

/// A table cell: [`inline`], with line breaks kept as `<br>`.
pub fn cell(raw: &str) -> String {
    escape(raw, Place::Cell)
}

/// Text inside an HTML block (`<summary>`), where Markdown is not read.
pub fn html(raw: &str) -> String {
    escape(raw, Place::Html)
}

/// Paragraphs separated by blank lines, each escaped as [`inline`] (its
/// lines joined, as Markdown would join them): for remediation and
/// descriptions, whose paragraphs should stay paragraphs.
pub(crate) fn paragraphs(raw: &str) -> String {
    let normalised = raw.replace("\r\n", "\n");
    let mut out: Vec<String> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in normalised.split('\n').chain([""]) {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(inline(&current.join(" ")));
                current.clear();
            }
        } else {
            current.push(line.trim());
        }
    }
    out.join("\n\n")
}

/// A code span for identifiers (rule ids, ImageIds, codes, param values).
/// Anything that could end the span or the table cell (a backtick, `|`, a
/// line break, a control character), or an empty value, falls back to
/// escaped text.
pub fn code(raw: &str) -> String {
    if raw.is_empty() || raw.chars().any(|c| matches!(c, '`' | '|') || is_control(c)) {
        inline(raw)
    } else {
        format!("`{raw}`")
    }
}

fn escape(raw: &str, place: Place) -> String {
    let mut out = String::with_capacity(raw.len() + 8);
    let chars: Vec<char> = raw.chars().collect();
    // Leading blanks could make an indented code block; Markdown shows none.
    let start = chars
        .iter()
        .position(|c| !matches!(c, ' ' | '\t'))
        .unwrap_or(chars.len());
    let mut i = start;
    // A table cell holds inline content only: no block can start there.
    if place == Place::Text {
        i += line_start(&chars[start..], &mut out);
    }
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' if place == Place::Html => out.push_str("&#39;"),
            '`' if place != Place::Html => out.push_str("&#96;"),
            '@' => {
                out.push('@');
                out.push_str(SPLIT);
            }
            '#' => {
                if place != Place::Html {
                    out.push('\\');
                }
                out.push('#');
                if next.is_some_and(|n| n.is_ascii_alphanumeric()) {
                    out.push_str(SPLIT);
                }
            }
            ':' if chars.get(i + 1..i + 3) == Some(&['/', '/']) => {
                out.push(':');
                out.push_str(SPLIT);
            }
            'w' | 'W' if starts_www(&chars[i..]) => {
                out.extend(&chars[i..i + 3]);
                out.push_str(SPLIT);
                i += 3;
                continue;
            }
            '|' if place != Place::Html => out.push_str("\\|"),
            // Between two letters or digits `_` can neither open nor close
            // emphasis (`ECMGUARD_PARAM_x`): left as it is, for readability.
            '_' if i > 0
                && chars[i - 1].is_alphanumeric()
                && next.is_some_and(char::is_alphanumeric) =>
            {
                out.push('_')
            }
            '\\' | '*' | '_' | '[' | ']' | '(' | ')' | '!' | '~' | '$' if place != Place::Html => {
                out.push('\\');
                out.push(c);
            }
            '\r' => {}
            '\n' => match place {
                Place::Cell => out.push_str("<br>"),
                Place::Text | Place::Html => out.push(' '),
            },
            c if is_control(c) => {}
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// `www.` (any case): GitHub links it without a scheme.
fn starts_www(chars: &[char]) -> bool {
    chars.len() >= 4 && chars[..3].iter().all(|c| c.eq_ignore_ascii_case(&'w')) && chars[3] == '.'
}

/// At the start of a line, what would begin a block: a list item (`-`, `+`,
/// `1.`, `1)`) or a setext heading underline (`=`). Writes that prefix
/// escaped into `out` and returns how many characters it took.
fn line_start(chars: &[char], out: &mut String) -> usize {
    match chars.first() {
        Some(c @ ('-' | '+' | '=')) => {
            out.push('\\');
            out.push(*c);
            1
        }
        Some(c) if c.is_ascii_digit() => {
            let digits = chars.iter().take_while(|c| c.is_ascii_digit()).count();
            match chars.get(digits) {
                Some(p @ ('.' | ')')) => {
                    out.extend(&chars[..digits]);
                    out.push('\\');
                    out.push(*p);
                    digits + 1
                }
                _ => 0,
            }
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_stays_text() {
        assert_eq!(
            inline("<script>alert(1)</script>"),
            "&lt;script&gt;alert\\(1\\)&lt;/script&gt;"
        );
        assert_eq!(inline("a|b"), "a\\|b");
        assert_eq!(
            inline("`x` **b** _i_ ~s~"),
            "&#96;x&#96; \\*\\*b\\*\\* \\_i\\_ \\~s\\~"
        );
        assert_eq!(inline("[l](u) ![i](x)"), "\\[l\\]\\(u\\) \\!\\[i\\]\\(x\\)");
        assert_eq!(cell("one\ntwo"), "one<br>two");
        assert_eq!(inline("one\r\ntwo"), "one two");
        assert_eq!(inline("a\u{1b}[31m\u{202e}b"), "a\\[31mb");
    }

    #[test]
    fn github_references_are_split() {
        assert_eq!(inline("ping @octocat"), "ping @<!-- -->octocat");
        assert_eq!(inline("fixes #12"), "fixes \\#<!-- -->12");
        assert_eq!(inline("# heading"), "\\# heading");
        assert_eq!(
            inline("see http://x.example and WWW.y.example"),
            "see http:<!-- -->//x.example and WWW<!-- -->.y.example"
        );
        assert_eq!(html("@team #7"), "@<!-- -->team #<!-- -->7");
    }

    #[test]
    fn a_line_cannot_start_a_block() {
        assert_eq!(inline("- item"), "\\- item");
        assert_eq!(inline("  + item"), "\\+ item");
        assert_eq!(inline("==="), "\\===");
        assert_eq!(inline("12. item"), "12\\. item");
        assert_eq!(inline("3) item"), "3\\) item");
        assert_eq!(inline("2026 is a year"), "2026 is a year");
        assert_eq!(cell("-5 or --param"), "-5 or --param");
        assert_eq!(inline("ECMGUARD_PARAM_x _y_"), "ECMGUARD_PARAM_x \\_y\\_");
        assert_eq!(inline("    code"), "code");
        assert_eq!(
            paragraphs("First line\nsame paragraph.\n\n- not a list\r\n"),
            "First line same paragraph.\n\n\\- not a list"
        );
    }

    #[test]
    fn identifiers_are_code_spans_when_they_can_be() {
        assert_eq!(code("img-1"), "`img-1`");
        assert_eq!(code("img`|x"), "img&#96;\\|x");
        assert_eq!(code(""), "");
        assert_eq!(code("a\nb"), "a b");
    }

    #[test]
    fn html_blocks_get_html_escaping() {
        assert_eq!(
            html("<b>\"x\" & 'y'</b>\nz"),
            "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt; z"
        );
        assert_eq!(html("a*b_c"), "a*b_c");
    }
}
