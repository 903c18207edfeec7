//! YAML text to a tree of spanned nodes (via serde-saphyr), with the parser's
//! budget against alias bombs and deep nesting, and YAML errors as diagnostics.
//!
//! We deliberately deserialize into a generic node tree rather than straight
//! into typed structs: serde stops at the first unknown key or wrong type,
//! while the policy loader must report every problem of every file in one run.
//! The typed walk over this tree (`policy::validate`) does that.

use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::diag::Code;
use crate::diag::Diag;
use crate::source_text::{SourceFile, Span};

/// Policy and test files larger than this are refused before parsing.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// A YAML node with the byte span of its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub span: Span,
    pub kind: NodeKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in file order; duplicate keys are reported by the loader.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// A short name of the node's type, for "expected X, found Y" messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Int(_) => "an integer",
            NodeKind::Float(_) => "a number",
            NodeKind::Str(_) => "a string",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Str(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub(crate) fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The node as JSON (mapping keys as strings), for images in test files
    /// and for checking policies against their JSON Schema.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Int(i) => Value::from(*i),
            NodeKind::Float(f) => {
                serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
            }
            NodeKind::Str(s) => Value::String(s.clone()),
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| {
                        let key = match &k.kind {
                            NodeKind::Str(s) => s.clone(),
                            _ => k.display(),
                        };
                        (key, v.to_json())
                    })
                    .collect(),
            ),
        }
    }

    /// The node as the user wrote it, for messages (scalars only; collections
    /// are summarised).
    pub fn display(&self) -> String {
        match &self.kind {
            NodeKind::Null => "null".into(),
            NodeKind::Bool(b) => b.to_string(),
            NodeKind::Int(i) => i.to_string(),
            NodeKind::Float(f) => f.to_string(),
            NodeKind::Str(s) => format!("{s:?}"),
            NodeKind::Seq(items) => {
                let parts: Vec<String> = items.iter().map(Node::display).collect();
                format!("[{}]", parts.join(", "))
            }
            NodeKind::Map(_) => "{…}".into(),
        }
    }

    /// Every string under this node (keys too) longer than a diagnostic
    /// quotes whole, for `diag::clip_values`.
    pub(crate) fn long_strings<'n>(&'n self, out: &mut Vec<&'n str>) {
        match &self.kind {
            NodeKind::Str(s) if s.chars().nth(crate::text::MAX_VALUE_CHARS).is_some() => {
                out.push(s);
            }
            NodeKind::Seq(items) => items.iter().for_each(|item| item.long_strings(out)),
            NodeKind::Map(entries) => entries.iter().for_each(|(key, value)| {
                key.long_strings(out);
                value.long_strings(out);
            }),
            _ => {}
        }
    }

    /// The node as a diagnostic quotes it: [`Node::display`], a long one
    /// clipped (`text::clip_value`).
    pub fn quoted(&self) -> String {
        let shown = self.display();
        match crate::text::clip_value(&shown) {
            std::borrow::Cow::Borrowed(_) => shown,
            std::borrow::Cow::Owned(clipped) => clipped,
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<NodeKind>::deserialize(deserializer)?;
        let span = spanned.referenced.span();
        let start = span.byte_offset().unwrap_or(0) as usize;
        let len = span.byte_len().unwrap_or(0) as usize;
        Ok(Node {
            span: Span::new(start, len),
            kind: spanned.value,
        })
    }
}

impl<'de> Deserialize<'de> for NodeKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(KindVisitor)
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = NodeKind;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E>(self) -> Result<NodeKind, E> {
        Ok(NodeKind::Null)
    }
    fn visit_none<E>(self) -> Result<NodeKind, E> {
        Ok(NodeKind::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<NodeKind, D::Error> {
        NodeKind::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<NodeKind, E> {
        Ok(NodeKind::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<NodeKind, E> {
        Ok(NodeKind::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<NodeKind, E> {
        i64::try_from(v)
            .map(NodeKind::Int)
            .map_err(|_| E::custom(format!("integer {v} is too large")))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<NodeKind, E> {
        i64::try_from(v)
            .map(NodeKind::Int)
            .map_err(|_| E::custom(format!("integer {v} is out of range")))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<NodeKind, E> {
        i64::try_from(v)
            .map(NodeKind::Int)
            .map_err(|_| E::custom(format!("integer {v} is out of range")))
    }
    fn visit_f64<E>(self, v: f64) -> Result<NodeKind, E> {
        Ok(NodeKind::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<NodeKind, E> {
        Ok(NodeKind::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<NodeKind, E> {
        Ok(NodeKind::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeKind, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(NodeKind::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeKind, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Node>()? {
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(NodeKind::Map(entries))
    }
}

fn parser_options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    // YAML 1.1 booleans (`yes`, `no`, `on`, `off`) would turn `Platform: NO`
    // into `false`; policies follow YAML 1.2 core.
    options.strict_booleans = true;
    // Duplicate keys reach our visitor so the loader can point at both.
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::PassThrough;
    options.with_snippet = false;
    options
}

/// Parse a YAML document. An empty document is `Null`.
pub fn parse(file: &Arc<SourceFile>) -> Result<Node, Diag> {
    let text = file.text();
    if text.len() > MAX_FILE_BYTES {
        return Err(Diag::error(
            Code::FileTooLarge,
            format!(
                "{} is {} bytes; policy and test files are limited to {} bytes",
                file.name(),
                text.len(),
                MAX_FILE_BYTES
            ),
        )
        .with_help("split the policies into several files in a --policy directory"));
    }
    if text.trim().is_empty() {
        return Ok(Node {
            span: Span::new(0, 0),
            kind: NodeKind::Null,
        });
    }
    match serde_saphyr::from_str_with_options::<Option<Node>>(text, parser_options()) {
        Ok(Some(mut node)) => {
            extend_collection_spans(&mut node, text);
            Ok(node)
        }
        Ok(None) => Ok(Node {
            span: Span::new(0, 0),
            kind: NodeKind::Null,
        }),
        Err(err) => Err(yaml_error(file, &err)),
    }
}

/// The parser locates a collection by its first character only; widen each
/// collection's span to its last child, and for flow collections to the
/// closing bracket, so diagnostics underline the whole value.
fn extend_collection_spans(node: &mut Node, text: &str) {
    let mut end = node.span.end();
    match &mut node.kind {
        NodeKind::Seq(items) => {
            for item in items.iter_mut() {
                extend_collection_spans(item, text);
                end = end.max(item.span.end());
            }
        }
        NodeKind::Map(entries) => {
            for (key, value) in entries.iter_mut() {
                extend_collection_spans(key, text);
                extend_collection_spans(value, text);
                end = end.max(key.span.end()).max(value.span.end());
            }
        }
        _ => return,
    }
    let close = match text.as_bytes().get(node.span.start) {
        Some(b'[') => Some(b']'),
        Some(b'{') => Some(b'}'),
        _ => None,
    };
    if let Some(close) = close {
        // Skip what may stand between the last child and the bracket.
        let bytes = text.as_bytes();
        let mut at = end.max(node.span.start + 1);
        while at < bytes.len() && (bytes[at].is_ascii_whitespace() || bytes[at] == b',') {
            at += 1;
        }
        if bytes.get(at) == Some(&close) {
            end = at + 1;
        }
    }
    node.span.len = end.saturating_sub(node.span.start);
}

fn yaml_error(file: &Arc<SourceFile>, err: &serde_saphyr::Error) -> Diag {
    let offset = err
        .location()
        .and_then(|loc| loc.span().byte_offset())
        .map(|o| o as usize)
        .or_else(|| {
            err.location().and_then(|loc| {
                file.offset_of(crate::source_text::LineCol {
                    line: loc.line() as usize,
                    column: loc.column() as usize,
                })
            })
        })
        .unwrap_or(0)
        .min(file.text().len());
    // The error itself, under the parser's snippet and alias wrappers.
    let mut inner = err;
    while let serde_saphyr::Error::AliasError { error, .. }
    | serde_saphyr::Error::WithSnippet { error, .. } = inner
    {
        inner = error;
    }
    if let serde_saphyr::Error::Budget { breach, .. } = inner {
        let (what, help) = budget_breach(breach);
        return Diag::error(
            Code::YamlSyntax,
            format!("the YAML is too large to load: {what}"),
        )
        .at(file, Span::new(offset, 0), "the limit was reached here")
        .with_help(help);
    }
    let message = first_line(&err.without_snippet().to_string());
    Diag::error(Code::YamlSyntax, format!("invalid YAML: {message}"))
        .at(file, Span::new(offset, 0), "here")
        .with_help(
            "fix the YAML syntax; indentation and unclosed quotes or brackets are the usual causes",
        )
}

/// Which of the parser's limits a document broke, in words (the parser's
/// own message is its Rust value, `Nodes { nodes: 250001 }`), and what to do.
fn budget_breach(breach: &serde_saphyr::budget::BudgetBreach) -> (String, &'static str) {
    use serde_saphyr::budget::BudgetBreach as B;
    const ALIASES: &str = "write the values out instead of nesting aliases that refer to \
                           aliases (each use expands them again)";
    let more_than = |n: usize| crate::text::thousands(n.saturating_sub(1) as u64);
    match breach {
        B::Nodes { nodes } => (
            format!(
                "more than {} values once its aliases are expanded",
                more_than(*nodes)
            ),
            ALIASES,
        ),
        B::Aliases { aliases } => (
            format!("more than {} aliases (`*name`)", more_than(*aliases)),
            ALIASES,
        ),
        B::Anchors { anchors } => (
            format!("more than {} anchors (`&name`)", more_than(*anchors)),
            ALIASES,
        ),
        B::Depth { depth } => (
            format!("nested more than {} levels deep", more_than(*depth)),
            "a policy needs a few levels of nesting: flatten the structure",
        ),
        B::Documents { documents } => (
            format!(
                "{} YAML documents in one file",
                crate::text::thousands(*documents as u64)
            ),
            "a policy file is one YAML document: remove the `---` separators or split the file",
        ),
        _ => (
            "more content than a policy file may have".to_owned(),
            "split the policies into several files in a --policy directory",
        ),
    }
}

fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(text: &str) -> Node {
        parse(&SourceFile::new("t.yaml", text)).expect("parses")
    }

    #[test]
    fn scalars_keep_their_yaml_type_and_span() {
        let text = "a: 50\nb: \"50\"\nc: 180d\nd: true\ne: no\nf: ~\n";
        let root = node(text);
        let map = root.as_map().unwrap();
        assert_eq!(map[0].1.kind, NodeKind::Int(50));
        assert_eq!(map[1].1.kind, NodeKind::Str("50".into()));
        assert_eq!(map[2].1.kind, NodeKind::Str("180d".into()));
        assert_eq!(map[3].1.kind, NodeKind::Bool(true));
        assert_eq!(map[4].1.kind, NodeKind::Str("no".into()));
        assert_eq!(map[5].1.kind, NodeKind::Null);
        let c = &map[2].1;
        let _ = c;
        assert_eq!(&text[c.span.start..c.span.end()], "180d");
        let key = &map[2].0;
        assert_eq!(&text[key.span.start..key.span.end()], "c");
    }

    #[test]
    fn collections_span_their_whole_text() {
        let text = "a: { b: [1, 2 ], c: {} }\nd:\n  - x\n  - y\n";
        let root = node(text);
        let map = root.as_map().unwrap();
        let a = &map[0].1;
        assert_eq!(&text[a.span.start..a.span.end()], "{ b: [1, 2 ], c: {} }");
        let inner = a.as_map().unwrap();
        assert_eq!(
            &text[inner[0].1.span.start..inner[0].1.span.end()],
            "[1, 2 ]"
        );
        assert_eq!(&text[inner[1].1.span.start..inner[1].1.span.end()], "{}");
        let d = &map[1].1;
        assert_eq!(&text[d.span.start..d.span.end()], "- x\n  - y");
    }

    #[test]
    fn duplicate_keys_reach_the_tree() {
        let root = node("a: 1\na: 2\n");
        assert_eq!(root.as_map().unwrap().len(), 2);
    }

    #[test]
    fn syntax_errors_are_located() {
        let file = SourceFile::new("t.yaml", "rules:\n  - id: [unclosed\n");
        let diag = parse(&file).unwrap_err();
        assert_eq!(diag.code, Code::YamlSyntax);
        assert!(diag.primary_span().is_some());
    }
}
