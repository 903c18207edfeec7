//! The fault script: which requests get which misbehaviour.
//!
//! A script is a list of rules; each request is matched against the rules in order and the
//! first rule that applies decides its fault. A rule can be narrowed to one `action`
//! (`DescribeImage`, `DescribeInstances`, `DescribeModule`; default every action), one
//! `offset` and to requests from a given sequence number on, can skip its first `after`
//! matches, and applies `times` times (default 1) or `forever`. Written as JSON or YAML:
//!
//! ```yaml
//! faults:
//!   - { offset: 200, times: 3, fault: { kind: throttle } }
//!   - { from_request: 5, fault: { kind: http, status: 502 } }
//!   - { offset: 300, fault: { kind: insert, count: 2 } }
//!   - { action: DescribeInstances, forever: true, fault: { kind: api_error, code: UnauthorizedOperation } }
//!   - { action: DescribeInstances, fault: { kind: null_image, count: 3 } }
//!   - { forever: true, fault: { kind: internal_error } }
//! ```
//!
//! The data faults act on the data of the request's action: `insert`, `delete` and
//! `null_image` change images, instances or modules (persistently); `null_image_set` makes
//! the action's set (`ImageSet`, `InstanceSet`, `ModuleItemSet`) null.

use serde::{Deserialize, Serialize};

/// A list of fault rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultScript {
    /// The rules, first match wins.
    #[serde(default)]
    pub faults: Vec<FaultRule>,
}

impl FaultScript {
    /// No faults.
    pub fn none() -> Self {
        FaultScript::default()
    }

    /// A script of these rules.
    pub fn new(faults: Vec<FaultRule>) -> Self {
        FaultScript { faults }
    }

    /// Parses a script: JSON when the text starts with `{` or `[` (a bare list of rules is
    /// accepted too), YAML otherwise.
    pub fn parse(text: &str) -> Result<Self, String> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Shape {
            Script(FaultScript),
            List(Vec<FaultRule>),
        }
        let shape: Shape = if text.trim_start().starts_with(['{', '[']) {
            serde_json::from_str(text).map_err(|e| e.to_string())?
        } else {
            serde_saphyr::from_str(text).map_err(|e| e.to_string())?
        };
        Ok(match shape {
            Shape::Script(s) => s,
            Shape::List(faults) => FaultScript { faults },
        })
    }
}

/// When a fault applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// Only requests of this action (`DescribeInstances`…); default every action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Only requests for this `Offset`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// Only requests whose sequence number (1-based, every request counted) is at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_request: Option<u64>,
    /// Let this many matching requests through untouched first.
    #[serde(default)]
    pub after: u64,
    /// Apply to this many matching requests (default 1).
    #[serde(default = "one")]
    pub times: u64,
    /// Apply to every matching request (overrides `times`): a persistent fault.
    #[serde(default)]
    pub forever: bool,
    /// What happens.
    pub fault: Fault,
}

fn one() -> u64 {
    1
}

impl FaultRule {
    /// A rule that applies `fault` once, to the first request.
    pub fn once(fault: Fault) -> Self {
        FaultRule {
            action: None,
            offset: None,
            from_request: None,
            after: 0,
            times: 1,
            forever: false,
            fault,
        }
    }

    /// Narrows the rule to one action.
    pub fn for_action(mut self, action: &str) -> Self {
        self.action = Some(action.to_owned());
        self
    }

    /// Narrows the rule to one offset.
    pub fn at_offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    /// Applies the rule `n` times.
    pub fn times(mut self, n: u64) -> Self {
        self.times = n;
        self
    }

    /// Applies the rule to every matching request.
    pub fn forever(mut self) -> Self {
        self.forever = true;
        self
    }

    /// Skips the first `n` matching requests.
    pub fn after(mut self, n: u64) -> Self {
        self.after = n;
        self
    }

    /// Only from request number `n` (1-based) on.
    pub fn from_request(mut self, n: u64) -> Self {
        self.from_request = Some(n);
        self
    }

    pub(crate) fn matches(&self, seq: u64, action: &str, offset: Option<i64>) -> bool {
        self.action.as_deref().is_none_or(|a| a == action)
            && self.offset.is_none_or(|o| offset == i64::try_from(o).ok())
            && self.from_request.is_none_or(|from| seq >= from)
    }
}

/// A misbehaviour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// `RequestLimitExceeded`, as when over the rate limit.
    Throttle,
    /// `InternalError`.
    InternalError,
    /// Any API error envelope (HTTP 200).
    ApiError {
        /// `Error.Code`.
        code: String,
        /// `Error.Message`.
        #[serde(default)]
        message: Option<String>,
    },
    /// A non-200 HTTP answer with an HTML body, as from a gateway.
    Http {
        /// The status, e.g. 502.
        status: u16,
        /// The body (default: a small HTML page); `{header:NAME}` in it echoes that request
        /// header, as a gateway that reflects what it was sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
    },
    /// A non-200 HTTP answer with a `Retry-After: seconds` header (429 or 503, say).
    RetryAfter {
        /// The status.
        status: u16,
        /// The `Retry-After` value.
        seconds: u64,
    },
    /// Wait this long, then answer normally (past the client's timeout, it never sees it).
    Delay {
        /// Milliseconds.
        ms: u64,
    },
    /// A normal answer cut in the middle of its JSON.
    Truncate,
    /// The action's set null (`ImageSet: null`, `InstanceSet: null`…) with the real
    /// `TotalCount`.
    NullImageSet,
    /// The real page with `TotalCount` off by `delta`.
    TotalCountDelta {
        /// Added to the real count.
        delta: i64,
    },
    /// Insert `count` new items (images, instances or modules, as the request's action lists)
    /// at position `at` of the data set (persistent), then answer.
    Insert {
        /// How many.
        count: u64,
        /// Where (0 = first, which shifts every page).
        #[serde(default)]
        at: u64,
    },
    /// Delete `count` items from position `at` of the action's data (persistent), then answer.
    Delete {
        /// How many.
        count: u64,
        /// Where.
        #[serde(default)]
        at: u64,
    },
    /// Also send the `count` images that precede this page (repeats of the previous page).
    Duplicate {
        /// How many.
        count: u64,
    },
    /// Serve the window shifted back by `count` (repeats the previous page's tail, loses as
    /// many at the end), as a server with a moving list does.
    Overlap {
        /// How many.
        count: u64,
    },
    /// Make a change to the data (as another person would), then answer as usual: a change
    /// between the checks of a client and its write.
    Change {
        /// The change.
        change: crate::write::Change,
    },
    /// From position `at`, `count` instances lose their image (`Image: null`: the service
    /// cannot name it), or `count` modules their default image (persistent), then answer.
    /// No effect on `DescribeImage`.
    NullImage {
        /// How many.
        count: u64,
        /// Where.
        #[serde(default)]
        at: u64,
    },
}

/// A rule and how often it has matched.
#[derive(Debug, Clone)]
pub(crate) struct RuleState {
    pub(crate) rule: FaultRule,
    pub(crate) matched: u64,
}

/// Picks the fault for a request of `action` and advances the rules' counters.
pub(crate) fn pick(
    rules: &mut [RuleState],
    seq: u64,
    action: &str,
    offset: Option<i64>,
) -> Option<Fault> {
    for state in rules.iter_mut() {
        if !state.rule.matches(seq, action, offset) {
            continue;
        }
        let index = state.matched;
        let rule = &state.rule;
        if !rule.forever && index >= rule.after.saturating_add(rule.times) {
            // Spent: let the next rules have a go.
            continue;
        }
        state.matched += 1;
        // Within `after`, the request passes untouched and no later rule sees it, so that
        // `after` counts stay predictable.
        return (index >= rule.after).then(|| rule.fault.clone());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_yaml_and_json() {
        let yaml = "faults:\n  - { offset: 200, times: 3, fault: { kind: throttle } }\n  - { forever: true, fault: { kind: http, status: 502 } }\n";
        let s = FaultScript::parse(yaml).unwrap();
        assert_eq!(s.faults.len(), 2);
        assert_eq!(s.faults[0].times, 3);
        assert_eq!(
            s.faults[1].fault,
            Fault::Http {
                status: 502,
                body: None
            }
        );
        let json = r#"[{"fault": {"kind": "api_error", "code": "InternalError"}}]"#;
        let s = FaultScript::parse(json).unwrap();
        assert_eq!(s.faults[0].times, 1);
        assert!(FaultScript::parse("faults: [{ fault: { kind: nope } }]").is_err());
    }

    #[test]
    fn picks_in_order_with_after_and_times() {
        let mut rules = vec![
            RuleState {
                rule: FaultRule::once(Fault::Throttle)
                    .at_offset(100)
                    .after(1)
                    .times(2),
                matched: 0,
            },
            RuleState {
                rule: FaultRule::once(Fault::Truncate),
                matched: 0,
            },
        ];
        assert_eq!(
            pick(&mut rules, 1, "DescribeImage", Some(0)),
            Some(Fault::Truncate)
        );
        assert_eq!(pick(&mut rules, 2, "DescribeImage", Some(0)), None);
        assert_eq!(pick(&mut rules, 3, "DescribeImage", Some(100)), None); // after
        assert_eq!(
            pick(&mut rules, 4, "DescribeImage", Some(100)),
            Some(Fault::Throttle)
        );
        assert_eq!(
            pick(&mut rules, 5, "DescribeImage", Some(100)),
            Some(Fault::Throttle)
        );
        assert_eq!(pick(&mut rules, 6, "DescribeImage", Some(100)), None);
    }

    #[test]
    fn rules_can_be_narrowed_to_an_action() {
        let mut rules = vec![RuleState {
            rule: FaultRule::once(Fault::Throttle)
                .for_action("DescribeInstances")
                .forever(),
            matched: 0,
        }];
        assert_eq!(pick(&mut rules, 1, "DescribeImage", Some(0)), None);
        assert_eq!(
            pick(&mut rules, 2, "DescribeInstances", Some(0)),
            Some(Fault::Throttle)
        );
        let s = FaultScript::parse(
            "faults:\n  - { action: DescribeModule, fault: { kind: null_image, count: 2 } }\n",
        )
        .unwrap();
        assert_eq!(s.faults[0].action.as_deref(), Some("DescribeModule"));
        assert_eq!(s.faults[0].fault, Fault::NullImage { count: 2, at: 0 });
    }
}
