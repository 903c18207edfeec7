//! Policies: YAML files to a typed, compiled `PolicySet` that keeps source spans.

pub mod codes;
pub mod yaml;
