//! Wrapping text for the terminal by display width, at ASCII spaces only:
//! an image id, a regex, a path or a URL has no space in it, so it is never
//! split across lines (people grep and copy them from CI logs). A word wider
//! than the line overflows it rather than being broken.

use unicode_width::UnicodeWidthStr;

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

    #[test]
    fn glued_words_stay_together() {
        let text = format!("every 180 {}", glued("days — 8 violations"));
        assert_eq!(wrap(&text, 20, 20), ["every 180", "days — 8 violations"]);
        assert_eq!(wrap(&text, 30, 30), ["every 180 days — 8 violations"]);
    }
}
