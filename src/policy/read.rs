//! One reader for the spanned YAML of every file ecmguard reads: policies,
//! policy tests, the project config file and param files. It owns the shape
//! checks they share: a mapping's entries read once each (a key that is not
//! a string, a key written twice, an unknown key with "did you mean"),
//! typed reads of values ([`FromNode`]), a value that must be one of a few
//! names ([`Read::choose`]), a required key. Each kind of file keeps its own
//! codes and words ([`Dialect`]); what is reported goes to the file's
//! diagnostics, where a cap bounds what is shown (`diag::cap_per_file`).
//!
//! Reading a struct is a few lines (cargo-deny's `TableHelper` is the
//! model): take the mapping with its known keys, then each value by name.
//!
//! ```text
//! let waiver = r.mapping(node, "a waiver", WAIVER_KEYS)?;
//! let reason = waiver.require(r, "reason", "this waiver").and_then(|n| r.read::<String>(n, "`reason`"));
//! let owner = waiver.get("owner").and_then(|n| r.read::<String>(n, "`owner`"));
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use crate::diag::{Code, Diag, did_you_mean};
use crate::policy::yaml::{Node, NodeKind};
use crate::source_text::{SourceFile, Span};

/// How one kind of file tells the problems of its shape: its codes, and the
/// few words in which the kinds differ.
#[derive(Debug)]
pub(crate) struct Dialect {
    /// A value (or a key) of the wrong YAML type.
    pub wrong_type: Code,
    /// A key the mapping does not have.
    pub unknown_key: Code,
    /// The label under a key that is not a string.
    pub key_label: &'static str,
    /// An unknown key's help lists the keys "of {what}" (a file of many
    /// mappings) or plainly (a file that is one mapping).
    pub keys_of_what: bool,
    /// "Did you mean" reads a `-` in an unknown key as `_` (the config
    /// file's keys are its flags' names: `fail-on` is `fail_on`).
    pub dashes_are_underscores: bool,
    /// A key written twice (`name`) in a mapping (`what`).
    pub twice: fn(&str, &str) -> String,
}

/// "`{name}` appears twice in {what}".
pub(crate) fn appears_twice(name: &str, what: &str) -> String {
    format!("`{name}` appears twice in {what}")
}

/// The policy language's words, also those of policy test files.
pub(crate) const POLICY: Dialect = Dialect {
    wrong_type: Code::WrongType,
    unknown_key: Code::UnknownKey,
    key_label: "not a string key",
    keys_of_what: true,
    dashes_are_underscores: false,
    twice: appears_twice,
};

/// A mapping's entry with a string key.
pub(crate) type Entry<'n> = (&'n str, &'n Node, &'n Node);

/// A mapping as messages name it, for [`Read::entries`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Of<'a> {
    /// The mapping: "`x` appears twice in {what}".
    pub what: &'a str,
    /// One of its keys: "{key} must be a string" (default `a key of {what}`).
    pub key: Option<&'a str>,
    /// The label under a key that is not a string (default: the dialect's).
    pub key_label: Option<&'a str>,
    /// The help for a key written twice.
    pub again: &'a str,
}

impl<'a> Of<'a> {
    pub const fn new(what: &'a str) -> Self {
        Of {
            what,
            key: None,
            key_label: None,
            again: "remove one of them",
        }
    }

    /// Its keys are called `key` ("a param name").
    pub const fn keys(mut self, key: &'a str, label: &'a str) -> Self {
        self.key = Some(key);
        self.key_label = Some(label);
        self
    }

    /// The help for a key written twice.
    pub const fn again(mut self, again: &'a str) -> Self {
        self.again = again;
        self
    }
}

/// A mapping's known entries, each key once, in file order.
pub(crate) struct Mapping<'n> {
    pub span: Span,
    pub entries: Vec<Entry<'n>>,
    index: HashMap<&'n str, usize>,
}

impl<'n> Mapping<'n> {
    fn new(span: Span, entries: Vec<Entry<'n>>) -> Self {
        let index = entries
            .iter()
            .enumerate()
            .map(|(i, (name, _, _))| (*name, i))
            .collect();
        Mapping {
            span,
            entries,
            index,
        }
    }

    fn entry(&self, key: &str) -> Option<&Entry<'n>> {
        self.index.get(key).map(|&i| &self.entries[i])
    }

    /// The value of `key`, if the mapping has it.
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.entry(key).map(|(_, _, value)| *value)
    }

    /// The key node of `key`, if the mapping has it.
    pub fn key(&self, key: &str) -> Option<&'n Node> {
        self.entry(key).map(|(_, key, _)| *key)
    }

    /// Where the mapping is named in a message about it as a whole: its
    /// first key (a block mapping starts on its parent's line), else itself.
    pub(crate) fn first_key_span(&self) -> Span {
        self.entries
            .first()
            .map_or(self.span, |(_, key, _)| key.span)
    }

    /// A required entry; `missing-key` at the mapping when absent.
    pub fn require(&self, r: &mut impl Read, key: &str, what: &str) -> Option<&'n Node> {
        let found = self.get(key);
        if found.is_none() {
            let diag = r.err(
                Code::MissingKey,
                self.first_key_span(),
                format!("{what} has no `{key}`"),
                format!("`{key}` is required here"),
            );
            r.push(diag);
        }
        found
    }

    /// An optional entry read as `T`: `Some(None)` when absent, `None`
    /// after reporting a value of the wrong type.
    pub(crate) fn optional<T: FromNode<'n>>(
        &self,
        r: &mut impl Read,
        key: &str,
    ) -> Option<Option<T>> {
        match self.get(key) {
            None => Some(None),
            Some(node) => r.read::<T>(node, &format!("`{key}`")).map(Some),
        }
    }
}

impl<'n> Mapping<'n> {
    /// An optional entry read by `read`: `Some(None)` when absent, `None`
    /// when `read` found (and reported) a problem.
    pub(crate) fn optional_by<T>(
        &self,
        key: &str,
        read: impl FnOnce(&'n Node) -> Option<T>,
    ) -> Option<Option<T>> {
        match self.get(key) {
            None => Some(None),
            Some(node) => read(node).map(Some),
        }
    }
}

/// A value read from a node of one YAML type.
pub(crate) trait FromNode<'n>: Sized {
    /// What the type is called in "must be X": `a string`.
    const EXPECTED: &'static str;
    fn from_node(node: &'n Node) -> Option<Self>;
}

impl<'n> FromNode<'n> for String {
    const EXPECTED: &'static str = "a string";
    fn from_node(node: &'n Node) -> Option<Self> {
        node.as_str().map(str::to_owned)
    }
}

impl<'n> FromNode<'n> for bool {
    const EXPECTED: &'static str = "true or false";
    fn from_node(node: &'n Node) -> Option<Self> {
        match node.kind {
            NodeKind::Bool(b) => Some(b),
            _ => None,
        }
    }
}

/// A reader of one file that collects its problems, for a file read in one
/// pass (the config file, a param file), at most `limit` of them worked out
/// in full (the rest are counted: `diag::cap_per_file`).
pub(crate) struct Collect {
    file: Arc<SourceFile>,
    dialect: &'static Dialect,
    limit: usize,
    pub problems: Vec<Diag>,
}

impl Collect {
    pub fn new(file: &Arc<SourceFile>, dialect: &'static Dialect, limit: usize) -> Self {
        Collect {
            file: file.clone(),
            dialect,
            limit,
            problems: Vec::new(),
        }
    }
}

impl Read for Collect {
    fn file(&self) -> &Arc<SourceFile> {
        &self.file
    }

    fn dialect(&self) -> &Dialect {
        self.dialect
    }

    fn push(&mut self, diag: Diag) {
        self.problems.push(diag);
    }

    fn room(&self) -> bool {
        self.problems.len() < self.limit
    }
}

/// Something reading one file: where its diagnostics go and in which words.
/// The shape checks every file shares are provided.
pub(crate) trait Read {
    /// The file being read: what diagnostics point into.
    fn file(&self) -> &Arc<SourceFile>;
    /// The codes and words of this kind of file.
    fn dialect(&self) -> &Dialect;
    /// Report a problem.
    fn push(&mut self, diag: Diag);
    /// Whether another diagnostic about the file will be shown: what is
    /// costly to work out for one (a "did you mean" among thousands of
    /// names) is left out past the cap, where it is only counted.
    fn room(&self) -> bool;

    /// A located error in the file (not yet reported: see `push`).
    fn err(
        &self,
        code: Code,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Diag
    where
        Self: Sized,
    {
        Diag::error(code, message).at(self.file(), span, label)
    }

    /// Report a value of the wrong YAML type.
    fn wrong_type(&mut self, node: &Node, what: &str, expected: &str) {
        let diag = Diag::error(
            self.dialect().wrong_type,
            format!("{what} must be {expected}, found {}", node.type_name()),
        )
        .at(self.file(), node.span, format!("expected {expected}"));
        self.push(diag);
    }

    /// A value of the type `T`, or `None` after reporting its wrong type.
    fn read<'n, T: FromNode<'n>>(&mut self, node: &'n Node, what: &str) -> Option<T>
    where
        Self: Sized,
    {
        let value = T::from_node(node);
        if value.is_none() {
            self.wrong_type(node, what, T::EXPECTED);
        }
        value
    }

    /// A string value, or `None` after reporting its wrong type.
    fn string(&mut self, node: &Node, what: &str) -> Option<String>
    where
        Self: Sized,
    {
        self.read::<String>(node, what)
    }

    /// A list of strings (a single string is not accepted: the language's
    /// lists are lists, and silently wrapping would hide a typo in
    /// indentation). Every item of the wrong type is reported.
    fn strings(&mut self, node: &Node, what: &str) -> Option<Vec<(String, Span)>> {
        let Some(items) = node.as_seq() else {
            self.wrong_type(node, what, "a list of strings");
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for item in items {
            match item.as_str() {
                Some(s) => out.push((s.to_owned(), item.span)),
                None => {
                    self.wrong_type(item, &format!("an item of {what}"), "a string");
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// A key that is not a string, told in this file's words.
    fn key_not_string(&self, key: &Node, of: Of<'_>) -> Diag {
        let noun = of
            .key
            .map_or_else(|| format!("a key of {}", of.what), str::to_owned);
        let label = of.key_label.unwrap_or(self.dialect().key_label);
        Diag::error(
            self.dialect().wrong_type,
            format!("{noun} must be a string, found {}", key.type_name()),
        )
        .at(self.file(), key.span, label)
    }

    /// A key's name, or `None` after reporting a key that is not a string.
    fn key_name<'n>(&mut self, key: &'n Node, of: Of<'_>) -> Option<&'n str> {
        let name = key.as_str();
        if name.is_none() {
            let diag = self.key_not_string(key, of);
            self.push(diag);
        }
        name
    }

    /// A mapping's entries in file order, each key once: an entry, or the
    /// problem of one (a key that is not a string, a key written again),
    /// for a reader that reports each problem as it comes to it. Each key is
    /// looked up once, so a mapping of 50,000 keys costs 50,000 steps.
    fn each<'n>(&self, entries: &'n [(Node, Node)], of: Of<'_>) -> Vec<Result<Entry<'n>, Diag>> {
        let mut firsts: HashMap<&'n str, Span> = HashMap::with_capacity(entries.len());
        let mut out = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let Some(name) = key.as_str() else {
                out.push(Err(self.key_not_string(key, of)));
                continue;
            };
            if let Some(first) = firsts.get(name) {
                let diag = Diag::error(Code::DuplicateKey, (self.dialect().twice)(name, of.what))
                    .at(self.file(), key.span, "second here")
                    .also(*first, "first here")
                    .with_help(of.again);
                out.push(Err(diag));
                continue;
            }
            firsts.insert(name, key.span);
            out.push(Ok((name, key, value)));
        }
        out
    }

    /// The entries of a mapping with string keys, each key once, in file
    /// order. A key that is not a string and a key written again are
    /// reported and left out; the flag is false if anything was.
    fn entries<'n>(&mut self, entries: &'n [(Node, Node)], of: Of<'_>) -> (Vec<Entry<'n>>, bool) {
        let mut unique = Vec::with_capacity(entries.len());
        let mut ok = true;
        for item in self.each(entries, of) {
            match item {
                Ok(entry) => unique.push(entry),
                Err(diag) => {
                    self.push(diag);
                    ok = false;
                }
            }
        }
        (unique, ok)
    }

    /// A mapping with the keys `known`: every other key is reported as
    /// unknown (with "did you mean") and left out, as are keys that are
    /// not strings and keys written twice.
    fn mapping<'n>(&mut self, node: &'n Node, what: &str, known: &[&str]) -> Option<Mapping<'n>>
    where
        Self: Sized,
    {
        let Some(entries) = node.as_map() else {
            self.wrong_type(node, what, "a mapping");
            return None;
        };
        let (unique, _) = self.entries(entries, Of::new(what));
        let mut kept = Vec::with_capacity(unique.len());
        for entry in unique {
            if known.contains(&entry.0) {
                kept.push(entry);
            } else {
                self.unknown_key(entry.0, entry.1, what, known);
            }
        }
        Some(Mapping::new(node.span, kept))
    }

    /// Report `name`, a key of `what` not among `known`.
    fn unknown_key(&mut self, name: &str, key: &Node, what: &str, known: &[&str]) {
        let dialect = self.dialect();
        let (code, keys_of_what, dashes) = (
            dialect.unknown_key,
            dialect.keys_of_what,
            dialect.dashes_are_underscores,
        );
        let suggestion = if self.room() {
            let typed = if dashes {
                name.replace('-', "_")
            } else {
                name.to_owned()
            };
            did_you_mean(&typed, known.iter().copied())
        } else {
            None
        };
        let keys = if keys_of_what {
            format!("the keys of {what} are: {}", known.join(", "))
        } else {
            format!("the keys are: {}", known.join(", "))
        };
        let diag = Diag::error(code, format!("unknown key `{name}` in {what}"))
            .at(self.file(), key.span, "unknown key")
            .with_help(keys)
            .suggest(suggestion);
        self.push(diag);
    }

    /// `text` as one of `names`; otherwise `None`, after reporting
    /// `problem(text)` with "did you mean" the closest name.
    fn choose<'c>(
        &mut self,
        text: &str,
        names: &[&'c str],
        problem: impl FnOnce(&Self) -> Diag,
    ) -> Option<&'c str>
    where
        Self: Sized,
    {
        if let Some(name) = names.iter().find(|name| **name == text) {
            return Some(*name);
        }
        let suggestion = if self.room() {
            did_you_mean(text, names.iter().copied())
        } else {
            None
        };
        let diag = problem(self).suggest(suggestion);
        self.push(diag);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::yaml;

    fn reader(text: &str) -> (Collect, Node) {
        let file = SourceFile::new("t.yaml", text);
        let root = yaml::parse(&file).expect("yaml");
        (Collect::new(&file, &POLICY, 50), root)
    }

    fn said(r: &Collect) -> Vec<(Code, String)> {
        r.problems
            .iter()
            .map(|d| (d.code, d.message.clone()))
            .collect()
    }

    /// A struct in a few lines: its keys, then each value by name.
    #[test]
    fn a_mapping_is_read_key_by_key_with_every_problem_reported() {
        let (mut r, root) = reader("name: a\nname: b\nflag: yes\n5: x\nnmae: c\nlevel: eror\n");
        let m = r
            .mapping(&root, "a thing", &["name", "flag", "level", "size"])
            .expect("a mapping");
        let name = m.require(&mut r, "name", "this thing");
        let flag = m.optional::<bool>(&mut r, "flag");
        let size = m.optional::<String>(&mut r, "size");
        let level = m.get("level").and_then(|node| {
            let text = node.as_str().unwrap_or("");
            r.choose(text, &["error", "warning"], |r| {
                r.err(
                    Code::UnknownSeverity,
                    node.span,
                    format!("unknown level `{text}`"),
                    "here",
                )
            })
        });
        assert_eq!(name.and_then(Node::as_str), Some("a"));
        assert_eq!(flag, None, "`yes` is a string in YAML 1.2");
        assert_eq!(size, Some(None), "absent");
        assert_eq!(level, None);
        assert_eq!(
            said(&r),
            [
                (
                    Code::DuplicateKey,
                    "`name` appears twice in a thing".to_owned()
                ),
                (
                    Code::WrongType,
                    "a key of a thing must be a string, found an integer".to_owned()
                ),
                (Code::UnknownKey, "unknown key `nmae` in a thing".to_owned()),
                (
                    Code::WrongType,
                    "`flag` must be true or false, found a string".to_owned()
                ),
                (Code::UnknownSeverity, "unknown level `eror`".to_owned()),
            ]
        );
        assert_eq!(
            r.problems[2].help.as_deref(),
            Some("did you mean `name`? the keys of a thing are: name, flag, level, size")
        );
        assert!(
            r.problems[4]
                .help
                .as_deref()
                .is_some_and(|h| h.contains("did you mean `error`"))
        );
        m.require(&mut r, "size", "this thing");
        assert_eq!(r.problems[5].message, "this thing has no `size`");
    }

    /// Past the cap, a problem is only counted: no "did you mean" is looked
    /// for among the names.
    #[test]
    fn past_the_room_no_suggestion_is_worked_out() {
        let file = SourceFile::new("t.yaml", "nmae: 1\n");
        let root = yaml::parse(&file).expect("yaml");
        let mut r = Collect::new(&file, &POLICY, 0);
        r.mapping(&root, "a thing", &["name"]);
        assert_eq!(r.problems.len(), 1);
        assert!(
            !r.problems[0]
                .help
                .as_deref()
                .unwrap_or("")
                .contains("did you mean")
        );
    }
}
