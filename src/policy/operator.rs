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

    pub fn from_name(name: &str) -> Option<Operator> {
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

    pub fn applies_to(self, ty: FieldType) -> bool {
        self.types().contains(&ty)
    }

    /// The operators that apply to a field type, in [`Operator::ALL`] order.
    pub fn for_type(ty: FieldType) -> Vec<Operator> {
        Operator::ALL
            .into_iter()
            .filter(|op| op.applies_to(ty))
            .collect()
    }

    /// Does `ignore_case` change what this operator does? (Every string test
    /// but `exists`, which tests presence.)
    pub fn compares_text(self) -> bool {
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
    pub fn comparison(self) -> Option<CmpOp> {
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
}
