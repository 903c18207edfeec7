//! Compiled regular expressions (`matches`, `not_matches`, and globs), and the
//! budget on what all of a policy set's patterns may take together.
//!
//! Each pattern is bounded on its own (program size, nesting), but a policy
//! set of a thousand rules of `\w{20}` once took 1.18 GB: so the memory every
//! compiled pattern reports is added up, and a set past the budget is refused
//! with a located error. `regex_automata`'s meta regex (the engine under the
//! `regex` crate) is used directly because it can say how much it holds.

use regex_automata::meta;
use regex_automata::util::syntax;

/// The largest compiled program of one pattern.
pub(crate) const MAX_PATTERN_BYTES: usize = 1 << 20;

/// What all patterns of a policy set may hold together, compiled.
pub(crate) const MAX_TOTAL_PATTERN_BYTES: usize = 64 << 20;

/// Lazy-DFA cache per pattern and thread: bounded so matching cannot grow past it.
const CACHE_BYTES: usize = 1 << 18;

/// A compiled pattern; matches anywhere in the text (anchor with `^…$`).
#[derive(Debug)]
pub struct Pattern {
    regex: meta::Regex,
}

impl Pattern {
    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }

    /// Heap held by the compiled pattern (its match cache, bounded by
    /// `CACHE_BYTES` per thread, grows only with use and is not counted).
    pub fn memory(&self) -> usize {
        self.regex.memory_usage()
    }
}

/// Why a pattern did not compile, in one line.
pub struct PatternError(pub String);

/// Compile `pattern` with the limits of the policy language.
pub fn compile(pattern: &str, ignore_case: bool) -> Result<Pattern, PatternError> {
    let regex = meta::Builder::new()
        .syntax(
            syntax::Config::new()
                .case_insensitive(ignore_case)
                .nest_limit(64),
        )
        .configure(
            meta::Config::new()
                .nfa_size_limit(Some(MAX_PATTERN_BYTES))
                .onepass_size_limit(Some(MAX_PATTERN_BYTES))
                .dfa_size_limit(Some(MAX_PATTERN_BYTES))
                .hybrid_cache_capacity(CACHE_BYTES),
        )
        .build(pattern)
        .map_err(|err| {
            PatternError(match (err.syntax_error(), err.size_limit()) {
                (Some(syntax), _) => {
                    let text = syntax.to_string();
                    text.lines().last().unwrap_or(&text).trim().to_owned()
                }
                (None, Some(limit)) => {
                    format!("the compiled pattern exceeds the {limit}-byte limit")
                }
                (None, None) => err.to_string(),
            })
        })?;
    Ok(Pattern { regex })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_and_say_what_is_wrong() {
        let p = compile("^web-[0-9]+$", false).ok().unwrap();
        assert!(p.is_match("web-12") && !p.is_match("web-x"));
        assert!(compile("^WEB$", true).ok().unwrap().is_match("web"));
        let err = compile("(unclosed", false).err().unwrap();
        assert!(err.0.contains("unclosed"), "{}", err.0);
        let err = compile(r"\w{1000}\w{1000}", false).err().unwrap();
        assert!(err.0.contains("limit"), "{}", err.0);
    }

    #[test]
    fn the_budget_holds_a_realistic_set_but_not_a_thousand_unicode_classes() {
        let one = compile(r"\w{20}", false).ok().unwrap().memory();
        assert!(one * 1000 > MAX_TOTAL_PATTERN_BYTES, "{one} bytes each");
        let naming = compile("^[a-z][a-z0-9]*(-[a-z0-9]+)+$", false)
            .ok()
            .unwrap()
            .memory();
        assert!(
            naming * 1000 < MAX_TOTAL_PATTERN_BYTES,
            "{naming} bytes each"
        );
    }
}
