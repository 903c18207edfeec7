//! API `Filters`: parsing `--filter NAME=V1,V2` and validating against the documented limits
//! of `DescribeImage` before any request is made (docs/live.md, "The request").

use serde::Serialize;
use thiserror::Error;

use crate::diag::{Code, Diag};

/// The five filter names `DescribeImage` documents.
pub const FILTER_NAMES: [&str; 5] = [
    "image-id",
    "image-type",
    "instance-type",
    "image-name",
    "image-os",
];

/// Filters that accept exactly one value ("只能提供一个值").
pub const SINGLE_VALUE_FILTERS: [&str; 2] = ["image-name", "image-os"];

/// The documented values of the `image-type` filter.
pub const IMAGE_TYPES: [&str; 2] = ["PRIVATE_IMAGE", "PUBLIC_IMAGE"];

/// At most this many `Filters` per request.
pub const MAX_FILTERS: usize = 10;

/// One API filter: the image matches when its field matches any of `values`; several filters
/// are ANDed by the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ApiFilter {
    /// One of [`FILTER_NAMES`].
    #[serde(rename = "Name")]
    pub name: String,
    /// One or more values.
    #[serde(rename = "Values")]
    pub values: Vec<String>,
}

impl ApiFilter {
    /// A filter from a name and values.
    pub fn new(
        name: impl Into<String>,
        values: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        ApiFilter {
            name: name.into(),
            values: values.into_iter().map(Into::into).collect(),
        }
    }
}

/// The `image-id` filter that `--image ID` (repeatable) stands for: one filter, all the ids
/// as its values (ORed by the service).
pub fn image_id_filter(ids: impl IntoIterator<Item = impl Into<String>>) -> ApiFilter {
    ApiFilter::new("image-id", ids)
}

/// A filter argument or filter set the API would reject. Exit 2: invalid invocation.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FilterError {
    /// No `=` in the argument.
    #[error("invalid filter {arg:?}: expected NAME=VALUE[,VALUE…]")]
    Syntax {
        /// The argument as given.
        arg: String,
    },

    /// Not one of the five documented names.
    #[error("unknown filter name {name:?}")]
    UnknownName {
        /// The name as given.
        name: String,
        /// The closest documented name, when one is close.
        suggestion: Option<String>,
    },

    /// A value is empty (`image-type=`, `image-id=a,,b`).
    #[error("filter {name:?} has an empty value")]
    EmptyValue {
        /// The filter name.
        name: String,
    },

    /// A value outside a filter's documented value set (`image-type=PRIVATE`): the API would
    /// match nothing, and an empty result must never read as a pass.
    #[error("filter {name:?} has no value {value:?}; it takes {}", .allowed.join(" or "))]
    UnknownValue {
        /// The filter name.
        name: String,
        /// The value as given.
        value: String,
        /// The documented values.
        allowed: Vec<String>,
        /// The closest documented value, when one is close.
        suggestion: Option<String>,
    },

    /// More than [`MAX_FILTERS`] filters.
    #[error("{count} filters given; DescribeImage accepts at most {MAX_FILTERS}")]
    TooMany {
        /// How many were given.
        count: usize,
    },

    /// `image-name` / `image-os` with more than one value.
    #[error("filter {name:?} accepts exactly one value, {count} given")]
    SingleValueOnly {
        /// The filter name.
        name: String,
        /// How many values were given.
        count: usize,
    },
}

impl FilterError {
    /// The diagnostic code of this error.
    pub fn code(&self) -> Code {
        match self {
            FilterError::Syntax { .. } => Code::FilterSyntax,
            FilterError::UnknownName { .. } => Code::UnknownFilter,
            FilterError::EmptyValue { .. } => Code::FilterEmptyValue,
            FilterError::TooMany { .. } => Code::TooManyFilters,
            FilterError::UnknownValue { .. } => Code::FilterValue,
            FilterError::SingleValueOnly { .. } => Code::FilterSingleValue,
        }
    }

    /// What to do about it.
    pub fn help(&self) -> String {
        match self {
            FilterError::Syntax { .. } => {
                "for example --filter image-type=PRIVATE_IMAGE".to_owned()
            }
            FilterError::UnknownName { suggestion, .. } => unknown_help(suggestion.as_deref()),
            FilterError::EmptyValue { .. } => "remove the empty value, or the filter".to_owned(),
            FilterError::UnknownValue {
                name, suggestion, ..
            } => match suggestion {
                Some(s) => format!("did you mean {name}={s}?"),
                None => format!("{name} takes {}", IMAGE_TYPES.join(" or ")),
            },
            FilterError::TooMany { .. } => "merge filters of the same name into one (NAME=V1,V2), \
                 or filter in the policy's `where` instead"
                .to_owned(),
            FilterError::SingleValueOnly { name, .. } => format!(
                "{name} is a substring match on one value; write a literal comma as \\, — or \
                 use a `where` condition in the policy for alternatives"
            ),
        }
    }

    /// The one diagnostic this error is shown as.
    pub fn diag(&self) -> Diag {
        Diag::error(self.code(), self.to_string()).with_help(self.help())
    }
}

fn unknown_help(suggestion: Option<&str>) -> String {
    let names = FILTER_NAMES.join(", ");
    match suggestion {
        Some(s) => format!("did you mean {s:?}? Documented filters: {names}"),
        None => format!("documented filters: {names}"),
    }
}

/// Parses one `--filter NAME=V1,V2` argument and checks its name and values.
///
/// Values are split on `,`; `\,` stands for a literal comma and `\\` for a backslash, so an
/// `image-name` containing a comma can still be given.
pub fn parse_filter_arg(s: &str) -> Result<ApiFilter, FilterError> {
    let Some((name, rest)) = s.split_once('=') else {
        return Err(FilterError::Syntax { arg: s.to_owned() });
    };
    let name = name.trim();
    if name.is_empty() {
        return Err(FilterError::Syntax { arg: s.to_owned() });
    }
    let filter = ApiFilter {
        name: name.to_owned(),
        values: split_values(rest),
    };
    validate_one(&filter)?;
    Ok(filter)
}

fn split_values(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n @ (',' | '\\')) => cur.push(n),
                Some(n) => {
                    cur.push('\\');
                    cur.push(n);
                }
                None => cur.push('\\'),
            },
            ',' => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn validate_one(f: &ApiFilter) -> Result<(), FilterError> {
    if !FILTER_NAMES.contains(&f.name.as_str()) {
        let suggestion = FILTER_NAMES
            .iter()
            .map(|n| (strsim::jaro_winkler(&f.name.to_ascii_lowercase(), n), *n))
            .filter(|(score, _)| *score > 0.8)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, n)| n.to_owned());
        return Err(FilterError::UnknownName {
            name: f.name.clone(),
            suggestion,
        });
    }
    if f.values.is_empty() || f.values.iter().any(|v| v.is_empty()) {
        return Err(FilterError::EmptyValue {
            name: f.name.clone(),
        });
    }
    if f.name == "image-type"
        && let Some(value) = f.values.iter().find(|v| !IMAGE_TYPES.contains(&v.as_str()))
    {
        return Err(FilterError::UnknownValue {
            name: f.name.clone(),
            value: value.clone(),
            allowed: IMAGE_TYPES.iter().map(|s| (*s).to_owned()).collect(),
            suggestion: crate::diag::did_you_mean(value, IMAGE_TYPES).map(str::to_owned),
        });
    }
    if SINGLE_VALUE_FILTERS.contains(&f.name.as_str()) && f.values.len() != 1 {
        return Err(FilterError::SingleValueOnly {
            name: f.name.clone(),
            count: f.values.len(),
        });
    }
    Ok(())
}

/// Checks a whole filter set against the documented limits. Called by `fetch_all` before the
/// first request, and callable earlier by the CLI.
pub fn validate_filters(filters: &[ApiFilter]) -> Result<(), FilterError> {
    filters.iter().try_for_each(validate_one)?;
    if filters.len() > MAX_FILTERS {
        return Err(FilterError::TooMany {
            count: filters.len(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_values() {
        assert_eq!(
            parse_filter_arg("image-type=PRIVATE_IMAGE,PUBLIC_IMAGE").unwrap(),
            ApiFilter::new("image-type", ["PRIVATE_IMAGE", "PUBLIC_IMAGE"])
        );
        assert_eq!(
            parse_filter_arg(r"image-name=a\,b").unwrap(),
            ApiFilter::new("image-name", ["a,b"])
        );
        assert_eq!(
            parse_filter_arg("image-os=CentOS 7.6=x").unwrap(),
            ApiFilter::new("image-os", ["CentOS 7.6=x"])
        );
    }

    #[test]
    fn rejects_bad_arguments() {
        assert!(matches!(
            parse_filter_arg("image-type"),
            Err(FilterError::Syntax { .. })
        ));
        assert!(matches!(
            parse_filter_arg("=x"),
            Err(FilterError::Syntax { .. })
        ));
        match parse_filter_arg("image-typ=X") {
            Err(FilterError::UnknownName { suggestion, .. }) => {
                assert_eq!(suggestion.as_deref(), Some("image-type"))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_filter_arg("image-id=a,,b"),
            Err(FilterError::EmptyValue { .. })
        ));
        assert!(matches!(
            parse_filter_arg("image-id="),
            Err(FilterError::EmptyValue { .. })
        ));
        assert!(matches!(
            parse_filter_arg("image-name=a,b"),
            Err(FilterError::SingleValueOnly { count: 2, .. })
        ));
    }

    #[test]
    fn image_type_takes_its_two_documented_values() {
        assert!(parse_filter_arg("image-type=PRIVATE_IMAGE,PUBLIC_IMAGE").is_ok());
        match parse_filter_arg("image-type=PRIVATE") {
            Err(e @ FilterError::UnknownValue { .. }) => {
                assert_eq!(e.code(), Code::FilterValue);
                assert!(
                    e.help().contains("image-type=PRIVATE_IMAGE"),
                    "{}",
                    e.help()
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(parse_filter_arg("image-type=private_image").is_err());
    }

    #[test]
    fn limits_the_number_of_filters() {
        let ten: Vec<_> = (0..10)
            .map(|i| image_id_filter([format!("img-{i}")]))
            .collect();
        assert!(validate_filters(&ten).is_ok());
        let mut eleven = ten.clone();
        eleven.push(image_id_filter(["img-x"]));
        assert_eq!(
            validate_filters(&eleven),
            Err(FilterError::TooMany { count: 11 })
        );
        assert!(validate_filters(&[ApiFilter::new("image-os", Vec::<String>::new())]).is_err());
    }

    #[test]
    fn each_error_has_its_own_code() {
        let e = FilterError::TooMany { count: 11 };
        assert_eq!(e.diag().code, Code::TooManyFilters);
        let e = parse_filter_arg("image-typ=X").unwrap_err();
        assert_eq!(e.diag().code, Code::UnknownFilter);
        assert!(e.help().contains("image-type"), "{}", e.help());
    }
}
