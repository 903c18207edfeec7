//! What a gate guarantees (docs/policy-language.md, "What a green gate means"):
//! nothing checked is not a pass, a narrowed selection is not the account,
//! values are taken as written, policy tests test the policy next to them,
//! and validation reports everything, independently. Each case here was a
//! green (or red) gate for the wrong reason before.

mod params;
mod policy_tests;
mod property;
mod selection;
mod snapshots;
mod tccli_pages;
mod validation;
