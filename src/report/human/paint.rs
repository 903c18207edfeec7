//! Colour for the human report (ANSI SGR), or none. Only our own words are
//! coloured — severity words, the gutter, the underline, the rules table's
//! result — each piece on its own and reset at once, so a colour never
//! spans a line break or sits inside an identifier someone copies.

use crate::policy::model::Severity;

/// Whether to colour, and the colours.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paint {
    pub on: bool,
}

const RED: &str = "1;31";
const YELLOW: &str = "1;33";
const CYAN: &str = "1;36";
const BLUE: &str = "1;34";
const GREEN: &str = "32";
const BOLD: &str = "1";
const DIM: &str = "2";

impl Paint {
    fn sgr(self, code: &str, text: &str) -> String {
        if self.on && !text.is_empty() {
            format!("\u{1b}[{code}m{text}\u{1b}[0m")
        } else {
            text.to_owned()
        }
    }

    /// A severity word or mark, in the severity's colour.
    pub fn severity(self, severity: Severity, text: &str) -> String {
        let code = match severity {
            Severity::Error => RED,
            Severity::Warning => YELLOW,
            Severity::Info => CYAN,
        };
        self.sgr(code, text)
    }

    /// The frame: `-->`, `|`, `=` and line numbers (as rustc draws them).
    pub fn frame(self, text: &str) -> String {
        self.sgr(BLUE, text)
    }

    pub fn bold(self, text: &str) -> String {
        self.sgr(BOLD, text)
    }

    /// A rule's result in the table, and the verdict.
    pub fn result(self, result: &str) -> String {
        let code = match result {
            "fail" | "FAIL" => RED,
            "findings" => YELLOW,
            "pass" | "PASS" => GREEN,
            _ => DIM,
        };
        self.sgr(code, result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_colour_is_plain_text() {
        let off = Paint { on: false };
        assert_eq!(off.severity(Severity::Error, "error"), "error");
        assert_eq!(off.result("fail"), "fail");
        let on = Paint { on: true };
        assert_eq!(
            on.severity(Severity::Error, "error"),
            "\u{1b}[1;31merror\u{1b}[0m"
        );
        // Nothing to colour, nothing added (no stray codes in blank cells).
        assert_eq!(on.bold(""), "");
    }
}
