//! Wrapping text for the terminal by display width, at ASCII spaces only:
//! an image id, a regex, a path or a URL has no space in it, so it is never
//! split across lines (people grep and copy them from CI logs). A word wider
//! than the line overflows it rather than being broken. Diagnostics may also
//! break between Chinese, Japanese and Korean characters ([`breakable_words`]),
//! since such text has no spaces: an API message in Chinese would otherwise
//! overflow the line.

use textwrap::WordSeparator;
use textwrap::core::Word;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Columns `text` takes on a terminal (CJK characters take two). Text from
/// outside is escaped before it gets here, so it holds no control character.
pub fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// A space that does not break: words joined by it stay on one line (it is
/// printed as a space). NUL, since escaped outside text never holds one.
pub(crate) const GLUE: char = '\0';

/// `text` joined with [`GLUE`] instead of spaces.
pub(crate) fn glued(text: &str) -> String {
    text.replace(' ', "\0")
}

/// `text` cut into lines at spaces: the first line has `first` columns, the
/// others `rest`. A line holds at least one word, however wide. Linear in
/// the length of `text`.
pub(crate) fn wrap(text: &str, first: usize, rest: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    let mut room = first;
    // Whether the line holds a word yet (an empty word is a space of a run).
    let mut started = false;
    for word in text.split(' ') {
        // A glue is printed as a space, one column wide.
        let w = if word.contains(GLUE) {
            width(&word.replace(GLUE, " "))
        } else {
            width(word)
        };
        if !started {
            // A run of spaces at the start of a wrapped line is dropped.
            if w == 0 && !lines.is_empty() {
                continue;
            }
        } else if used + 1 + w > room {
            lines.push(trimmed(std::mem::take(&mut line)));
            used = 0;
            room = rest;
            started = false;
            if w == 0 {
                continue;
            }
        } else {
            line.push(' ');
            used += 1;
        }
        line.push_str(word);
        used += w;
        started = true;
    }
    lines.push(trimmed(line));
    lines
}

/// The words the diagnostics' wrapping (textwrap's custom word separator)
/// may break between: at ASCII spaces, as [`wrap`] does, and on either side
/// of each wide (CJK) character, as such text is broken, but never before
/// closing punctuation (`，` `。` stay with the character before them). ASCII
/// runs stay whole, so ids, paths and URLs are never split.
pub fn breakable_words(line: &str) -> Box<dyn Iterator<Item = Word<'_>> + '_> {
    Box::new(WordSeparator::AsciiSpace.find_words(line).flat_map(|word| {
        let text = word.word;
        // Byte ranges of `text`, in order and without gaps.
        let mut pieces: Vec<(usize, usize)> = Vec::new();
        // Where the narrow text not yet in a piece starts.
        let mut start = 0;
        for (at, c) in text.char_indices() {
            if c.width() != Some(2) {
                continue;
            }
            let end = at + c.len_utf8();
            match pieces.last_mut() {
                // No break before it: it joins the piece before it,
                // with any narrow text between them.
                Some(last) if closing_punctuation(c) => last.1 = end,
                None if closing_punctuation(c) => pieces.push((start, end)),
                _ => {
                    if start < at {
                        pieces.push((start, at));
                    }
                    pieces.push((at, end));
                }
            }
            start = end;
        }
        if start < text.len() || pieces.is_empty() {
            pieces.push((start, text.len()));
        }
        let last = pieces.len() - 1;
        pieces
            .into_iter()
            .enumerate()
            .map(move |(index, (from, to))| {
                let mut piece = Word::from(&text[from..to]);
                if index == last {
                    piece.whitespace = word.whitespace;
                }
                piece
            })
    }))
}

/// Full-width punctuation that ends a phrase: no line starts with it.
fn closing_punctuation(c: char) -> bool {
    matches!(
        c,
        '，' | '。'
            | '、'
            | '；'
            | '：'
            | '！'
            | '？'
            | '）'
            | '」'
            | '』'
            | '】'
            | '》'
            | '〉'
            | '”'
            | '’'
    )
}

/// The line without the spaces a break left at its end, glue printed as spaces.
fn trimmed(mut line: String) -> String {
    let end = line.trim_end_matches(' ').len();
    line.truncate(end);
    if line.contains(GLUE) {
        line = line.replace(GLUE, " ");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaks_only_at_spaces_and_counts_wide_characters_twice() {
        assert_eq!(wrap("aa bb cc", 5, 5), ["aa bb", "cc"]);
        assert_eq!(width("镜像"), 4);
        assert_eq!(wrap("镜像 镜像 x", 9, 9), ["镜像 镜像", "x"]);
        assert_eq!(wrap("镜像 镜像 x", 8, 8), ["镜像", "镜像 x"]);
        // Too wide for any line: it overflows, whole.
        assert_eq!(
            wrap("see /^[a-z][a-z0-9]*(-[a-z0-9]+)+$/ now", 10, 10),
            ["see", "/^[a-z][a-z0-9]*(-[a-z0-9]+)+$/", "now"]
        );
        assert_eq!(wrap("img-000000c2", 4, 4), ["img-000000c2"]);
        // The first line may be shorter or longer than the others.
        assert_eq!(wrap("a b c d", 3, 1), ["a b", "c", "d"]);
    }

    #[test]
    fn spaces_survive_inside_a_line_and_vanish_at_a_break() {
        assert_eq!(wrap("a  b", 10, 10), ["a  b"]);
        assert_eq!(wrap("aaaa  bbbb", 5, 5), ["aaaa", "bbbb"]);
        assert_eq!(wrap("", 5, 5), [""]);
        assert_eq!(wrap("  lead", 10, 10), ["  lead"]);
    }

    /// The lines miette's wrapping makes of `text` with [`breakable_words`].
    fn broken(text: &str, width: usize) -> Vec<String> {
        let options = textwrap::Options::new(width)
            .break_words(false)
            .word_separator(WordSeparator::Custom(breakable_words))
            .word_splitter(textwrap::WordSplitter::NoHyphenation);
        textwrap::wrap(text, options)
            .into_iter()
            .map(|line| line.into_owned())
            .collect()
    }

    #[test]
    fn diagnostics_break_between_cjk_characters_but_not_inside_ascii_words() {
        // Six wide characters a line, greedily; `误，` and `名。` are not parted.
        assert_eq!(
            broken("签名错误。 签名计算错误，请检查签名。", 12),
            ["签名错误。", "签名计算错", "误，请检查签", "名。"]
        );
        // Closing punctuation never starts a line.
        assert_eq!(broken("镜像ID不合法。", 12), ["镜像ID不合", "法。"]);
        assert_eq!(broken("ab。cd", 1), ["ab。", "cd"]);
        // ASCII words stay whole, however narrow the line.
        assert_eq!(
            broken("RequestId 60df2bc5-edbb-4606-982c-db7f629262e5", 10),
            ["RequestId", "60df2bc5-edbb-4606-982c-db7f629262e5"]
        );
        assert_eq!(broken("img-a 的镜像", 10), ["img-a 的镜", "像"]);
        assert_eq!(broken("", 5), [""]);
    }

    #[test]
    fn glued_words_stay_together() {
        let text = format!("every 180 {}", glued("days — 8 violations"));
        assert_eq!(wrap(&text, 20, 20), ["every 180", "days — 8 violations"]);
        assert_eq!(wrap(&text, 30, 30), ["every 180 days — 8 violations"]);
    }
}
