//! The operators of the condition language, as one enum: each one's name,
//! the field types it applies to, and what it is. The compiler (`matcher`)
//! matches on it exhaustively, so an operator added here does not compile
//! until it is compiled into an `OpKind`, and `eval::condition` matches every
//! `OpKind` exhaustively in turn: no operator can be dropped silently.

use std::fmt;

use crate::image::FieldType::{self, Boolean, Integer, String as Str, Timestamp};
use crate::policy::model::CmpOp;

/// An operator of a matcher mapping (`{ ImageName: { starts_with: web- } }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    Eq,
    Ne,
    In,
    NotIn,
    Matches,
    NotMatches,
    Glob,
    StartsWith,
    EndsWith,
    Contains,
    Gt,
    Gte,
    Lt,
    Lte,
    OlderThan,
    NewerThan,
    Exists,
    /// Not a test: makes the string operators of its mapping case-insensitive.
    IgnoreCase,
}

const ALL_TYPES: &[FieldType] = &[Str, Integer, Boolean, Timestamp];

impl Operator {
    /// Every operator, in the order documentation lists them.
    pub const ALL: [Operator; 18] = [
        Operator::Eq,
        Operator::Ne,
        Operator::In,
        Operator::NotIn,
        Operator::Matches,
        Operator::NotMatches,
        Operator::Glob,
        Operator::StartsWith,
        Operator::EndsWith,
        Operator::Contains,
        Operator::Gt,
        Operator::Gte,
        Operator::Lt,
        Operator::Lte,
        Operator::OlderThan,
        Operator::NewerThan,
        Operator::Exists,
        Operator::IgnoreCase,
    ];

    /// The name written in policies.
    pub fn name(self) -> &'static str {
        match self {
            Operator::Eq => "eq",
            Operator::Ne => "ne",
            Operator::In => "in",
            Operator::NotIn => "not_in",
            Operator::Matches => "matches",
            Operator::NotMatches => "not_matches",
            Operator::Glob => "glob",
            Operator::StartsWith => "starts_with",
            Operator::EndsWith => "ends_with",
            Operator::Contains => "contains",
            Operator::Gt => "gt",
            Operator::Gte => "gte",
            Operator::Lt => "lt",
            Operator::Lte => "lte",
            Operator::OlderThan => "older_than",
            Operator::NewerThan => "newer_than",
            Operator::Exists => "exists",
            Operator::IgnoreCase => "ignore_case",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Operator> {
        Operator::ALL.into_iter().find(|op| op.name() == name)
    }

    /// The field types the operator applies to.
    pub fn types(self) -> &'static [FieldType] {
        match self {
            Operator::Eq | Operator::Ne | Operator::Exists => ALL_TYPES,
            Operator::In | Operator::NotIn => &[Str, Integer],
            Operator::Matches
            | Operator::NotMatches
            | Operator::Glob
            | Operator::StartsWith
            | Operator::EndsWith
            | Operator::Contains
            | Operator::IgnoreCase => &[Str],
            Operator::Gt | Operator::Gte | Operator::Lt | Operator::Lte => &[Integer, Timestamp],
            Operator::OlderThan | Operator::NewerThan => &[Timestamp],
        }
    }

    /// When it holds, in a few words (`ecmguard explain operators`).
    pub(crate) fn meaning(self) -> &'static str {
        match self {
            Operator::Eq => "the value equals the operand (a scalar alone means eq)",
            Operator::Ne => "the value differs from the operand",
            Operator::In => "the value is one of the list (a list alone means in)",
            Operator::NotIn => "the value is none of the list",
            Operator::Matches => "the regular expression finds a match (anchor with ^…$)",
            Operator::NotMatches => "the regular expression finds no match",
            Operator::Glob => "the whole value matches the glob (*, ?, [a-z], [!a])",
            Operator::StartsWith => "the value starts with the text",
            Operator::EndsWith => "the value ends with the text",
            Operator::Contains => "the value contains the text",
            Operator::Gt => "greater than a number, or later than a time",
            Operator::Gte => "greater than or equal to a number, or not before a time",
            Operator::Lt => "less than a number, or earlier than a time",
            Operator::Lte => "less than or equal to a number, or not after a time",
            Operator::OlderThan => "now minus the value is more than the duration",
            Operator::NewerThan => "now minus the value is less than the duration",
            Operator::Exists => "true: the field is present; false: it is missing",
            Operator::IgnoreCase => {
                "not a test: true makes this mapping's string operators case-insensitive"
            }
        }
    }

    /// A condition entry that uses it, as written in a policy (a test
    /// compiles every one).
    pub fn example(self) -> &'static str {
        match self {
            Operator::Eq => "ImageState: { eq: NORMAL }",
            Operator::Ne => "ImageType: { ne: PUBLIC_IMAGE }",
            Operator::In => "Platform: { in: [Ubuntu, CentOS] }",
            Operator::NotIn => "ImageSize: { not_in: [1, 2] }",
            Operator::Matches => "ImageName: { matches: \"^web-[a-z]+$\" }",
            Operator::NotMatches => "ImageName: { not_matches: \"(?i)test\" }",
            Operator::Glob => "ImageName: { glob: \"web-*\" }",
            Operator::StartsWith => "ImageName: { starts_with: web- }",
            Operator::EndsWith => "ImageName: { ends_with: -prod }",
            Operator::Contains => "ImageDescription: { contains: hardened }",
            Operator::Gt => "ImageSize: { gt: 20 }",
            Operator::Gte => "ImageCreateTime: { gte: 2025-01-01 }",
            Operator::Lt => "ImageSize: { lt: 500 }",
            Operator::Lte => "ImageCreateTime: { lte: \"2026-06-30 23:59:59\" }",
            Operator::OlderThan => "ImageCreateTime: { older_than: 1y }",
            Operator::NewerThan => "ImageCreateTime: { newer_than: 180d }",
            Operator::Exists => "ImageDescription: { exists: true }",
            Operator::IgnoreCase => "Platform: { eq: ubuntu, ignore_case: true }",
        }
    }

    pub(crate) fn applies_to(self, ty: FieldType) -> bool {
        self.types().contains(&ty)
    }

    /// The operators that apply to a field type, in [`Operator::ALL`] order.
    pub(crate) fn for_type(ty: FieldType) -> Vec<Operator> {
        Operator::ALL
            .into_iter()
            .filter(|op| op.applies_to(ty))
            .collect()
    }

    /// Does `ignore_case` change what this operator does? (Every string test
    /// but `exists`, which tests presence.)
    pub(crate) fn compares_text(self) -> bool {
        match self {
            Operator::Eq
            | Operator::Ne
            | Operator::In
            | Operator::NotIn
            | Operator::Matches
            | Operator::NotMatches
            | Operator::Glob
            | Operator::StartsWith
            | Operator::EndsWith
            | Operator::Contains => true,
            Operator::Gt
            | Operator::Gte
            | Operator::Lt
            | Operator::Lte
            | Operator::OlderThan
            | Operator::NewerThan
            | Operator::Exists
            | Operator::IgnoreCase => false,
        }
    }

    /// The ordering comparison an operator stands for, if it is one.
    pub(crate) fn comparison(self) -> Option<CmpOp> {
        match self {
            Operator::Eq => Some(CmpOp::Eq),
            Operator::Ne => Some(CmpOp::Ne),
            Operator::Gt => Some(CmpOp::Gt),
            Operator::Gte => Some(CmpOp::Gte),
            Operator::Lt => Some(CmpOp::Lt),
            Operator::Lte => Some(CmpOp::Lte),
            Operator::In
            | Operator::NotIn
            | Operator::Matches
            | Operator::NotMatches
            | Operator::Glob
            | Operator::StartsWith
            | Operator::EndsWith
            | Operator::Contains
            | Operator::OlderThan
            | Operator::NewerThan
            | Operator::Exists
            | Operator::IgnoreCase => None,
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(ops: Vec<Operator>) -> Vec<&'static str> {
        ops.into_iter().map(Operator::name).collect()
    }

    #[test]
    fn operator_sets_follow_the_language_table() {
        assert_eq!(names(Operator::for_type(Boolean)), ["eq", "ne", "exists"]);
        assert_eq!(
            names(Operator::for_type(Integer)),
            [
                "eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "exists"
            ]
        );
        assert_eq!(
            names(Operator::for_type(Timestamp)),
            [
                "eq",
                "ne",
                "gt",
                "gte",
                "lt",
                "lte",
                "older_than",
                "newer_than",
                "exists"
            ]
        );
        assert_eq!(Operator::for_type(Str).len(), 12);
        for op in Operator::ALL {
            assert_eq!(Operator::from_name(op.name()), Some(op));
            assert!(!op.compares_text() || op.applies_to(Str), "{op}");
        }
        assert!(Operator::Contains.compares_text() && !Operator::Exists.compares_text());
    }

    /// `ecmguard explain operators` shows these: each one compiles, on a
    /// field of a type the operator applies to.
    #[test]
    fn every_example_compiles() {
        let options = crate::policy::CompileOptions {
            now: "2026-01-01T00:00:00+08:00".parse().unwrap(),
            zone: crate::time::ApiZone::default(),
            params: Vec::new(),
        };
        for op in Operator::ALL {
            let example = op.example();
            assert!(example.contains(&format!("{}:", op.name())), "{example}");
            assert!(!op.meaning().is_empty());
            let yaml = format!("rules:\n  - id: r\n    title: T\n    assert: {{ {example} }}\n");
            let file = crate::source_text::SourceFile::new("p.yaml", yaml);
            if let Err(problems) = crate::policy::compile(vec![file], &options) {
                panic!("{example}: {problems:?}");
            }
        }
    }
}
