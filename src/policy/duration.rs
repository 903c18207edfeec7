//! Policy durations: one or more `<integer><unit>` groups (`180d`, `1y6mo`,
//! `36h`), with `mo` and `y` as calendar units counted back from now in the
//! API zone. Our own parser, so every mistake gets our own error and hint.

use std::fmt;

use jiff::{Span, Timestamp, ToSpan};

use crate::time::ApiZone;

/// A parsed duration: a calendar part (months) and an exact part (seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duration {
    pub months: i64,
    pub seconds: i64,
    text: String,
}

const UNITS: &[(&str, Unit)] = &[
    ("min", Unit::Seconds(60)),
    ("mo", Unit::Months(1)),
    ("s", Unit::Seconds(1)),
    ("h", Unit::Seconds(3600)),
    ("d", Unit::Seconds(86_400)),
    ("w", Unit::Seconds(7 * 86_400)),
    ("y", Unit::Months(12)),
];

#[derive(Clone, Copy)]
enum Unit {
    Seconds(i64),
    Months(i64),
}

/// Why a duration did not parse, with a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError {
    pub message: String,
    pub help: String,
}

/// The help for a time limit (`--timeout`, `--deadline`, `timeout:`) that did
/// not parse: the units such a length takes (months and years have no fixed
/// length), an example, and, for `50ms`, that nothing is shorter than a
/// second.
pub(crate) fn time_limit_help(text: &str, example: &str) -> String {
    let mut fixed: Vec<(&str, i64)> = UNITS
        .iter()
        .filter_map(|(name, unit)| match unit {
            Unit::Seconds(factor) => Some((*name, *factor)),
            Unit::Months(_) => None,
        })
        .collect();
    fixed.sort_by_key(|(_, factor)| *factor);
    let units: Vec<&str> = fixed.into_iter().map(|(name, _)| name).collect();
    let mut help = format!(
        "a time limit is one or more <integer><unit> groups with units {}, for example {example}",
        units.join(", ")
    );
    let trimmed = text.trim();
    if ["ms", "us", "µs", "ns"]
        .iter()
        .any(|unit| trimmed.ends_with(unit))
    {
        help.push_str("; there is no unit below a second, and the shortest limit is 1s");
    }
    help
}

impl Duration {
    /// A fixed, positive length of time (a timeout): `None` for zero,
    /// negative, or calendar units (months and years have no fixed length).
    pub(crate) fn fixed_positive(&self) -> Option<std::time::Duration> {
        (self.months == 0 && self.seconds > 0)
            .then(|| std::time::Duration::from_secs(self.seconds.unsigned_abs()))
    }

    pub fn parse(text: &str) -> Result<Duration, DurationError> {
        let err = |message: String, help: &str| DurationError {
            message,
            help: help.to_owned(),
        };
        let general = "write <integer><unit> groups with units s, min, h, d, w, mo, y, for example 180d or 1y6mo";
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(err("a duration cannot be empty".into(), general));
        }
        if trimmed.starts_with('-') {
            return Err(err(
                format!(
                    "`{trimmed}` is negative; durations count back from now and must be positive"
                ),
                general,
            ));
        }
        if trimmed.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(
                format!("`{trimmed}` has no unit"),
                &format!(
                    "add a unit: `{trimmed}d` for days, `{trimmed}h` for hours, `{trimmed}s` for seconds"
                ),
            ));
        }
        let mut months: i64 = 0;
        let mut seconds: i64 = 0;
        let mut seen: Vec<&str> = Vec::new();
        let mut rest = trimmed;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(err(
                    format!("`{trimmed}`: expected a number at `{rest}`"),
                    general,
                ));
            }
            let number: i64 = rest[..digits].parse().map_err(|_| {
                err(
                    format!("`{trimmed}`: the number `{}` is too large", &rest[..digits]),
                    general,
                )
            })?;
            rest = &rest[digits..];
            let letters = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
            let unit_text = &rest[..letters];
            if unit_text == "m" {
                return Err(err(
                    format!("`{trimmed}`: `m` is ambiguous"),
                    "write `min` for minutes or `mo` for months",
                ));
            }
            let Some(&(name, unit)) = UNITS.iter().find(|(name, _)| *name == unit_text) else {
                let shown = if unit_text.is_empty() {
                    rest.chars().next().map(String::from).unwrap_or_default()
                } else {
                    unit_text.to_owned()
                };
                return Err(err(
                    format!("`{trimmed}`: `{shown}` is not a duration unit"),
                    general,
                ));
            };
            if seen.contains(&name) {
                return Err(err(
                    format!("`{trimmed}` gives the unit `{name}` twice"),
                    general,
                ));
            }
            seen.push(name);
            rest = &rest[letters..];
            let overflow = || err(format!("`{trimmed}` is too long a duration"), general);
            match unit {
                Unit::Seconds(factor) => {
                    seconds = number
                        .checked_mul(factor)
                        .and_then(|v| seconds.checked_add(v))
                        .ok_or_else(overflow)?;
                }
                Unit::Months(factor) => {
                    months = number
                        .checked_mul(factor)
                        .and_then(|v| months.checked_add(v))
                        .ok_or_else(overflow)?;
                }
            }
        }
        // Keep far inside jiff's range (about ±9999 years).
        if months > 12 * 5000 || seconds > 5000 * 366 * 86_400 {
            return Err(err(
                format!("`{trimmed}` is too long a duration (over 5000 years)"),
                general,
            ));
        }
        Ok(Duration {
            months,
            seconds,
            text: trimmed.to_owned(),
        })
    }

    /// The instant `now - self`: calendar months first (in the API zone),
    /// then the exact part. `None` if it falls outside the supported range.
    pub fn before(&self, now: Timestamp, zone: &ApiZone) -> Option<Timestamp> {
        let zoned = now.to_zoned_datetime(zone.tz().clone());
        let back = if self.months != 0 {
            zoned
                .checked_sub(Span::new().try_months(self.months).ok()?)
                .ok()?
        } else {
            zoned
        };
        back.timestamp().checked_sub(self.seconds.seconds()).ok()
    }

    /// The instant `from + self`, the mirror of [`Duration::before`]: when a
    /// grace period that started at `from` ends. `None` outside the range.
    pub fn after(&self, from: Timestamp, zone: &ApiZone) -> Option<Timestamp> {
        let zoned = from.to_zoned_datetime(zone.tz().clone());
        let forward = if self.months != 0 {
            zoned
                .checked_add(Span::new().try_months(self.months).ok()?)
                .ok()?
        } else {
            zoned
        };
        forward.timestamp().checked_add(self.seconds.seconds()).ok()
    }

    /// The text as written (`1y6mo`).
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_groups() {
        let d = Duration::parse("1y6mo").unwrap();
        assert_eq!((d.months, d.seconds), (18, 0));
        let d = Duration::parse("36h").unwrap();
        assert_eq!((d.months, d.seconds), (0, 36 * 3600));
        let d = Duration::parse("1w2d3h4min5s").unwrap();
        assert_eq!(d.seconds, 9 * 86_400 + 3 * 3600 + 4 * 60 + 5);
        assert_eq!(Duration::parse("0d").unwrap().seconds, 0);
    }

    #[test]
    fn rejects_with_hints() {
        let e = Duration::parse("180").unwrap_err();
        assert!(e.help.contains("180d"), "{e:?}");
        let e = Duration::parse("5m").unwrap_err();
        assert!(e.help.contains("min") && e.help.contains("mo"), "{e:?}");
        for bad in [
            "",
            "-5d",
            "d",
            "5x",
            "5d5d",
            "5 d",
            "1.5d",
            "99999999999999999999d",
            "6000y",
        ] {
            assert!(Duration::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn calendar_units_count_back_in_the_api_zone() {
        let zone = ApiZone::default();
        // 2024-03-31 00:30 in +08:00 is 2024-03-30T16:30Z; one month back in
        // +08:00 is 2024-02-29 00:30 (clamped), i.e. 2024-02-28T16:30Z.
        let now: Timestamp = "2024-03-30T16:30:00Z".parse().unwrap();
        let back = Duration::parse("1mo").unwrap().before(now, &zone).unwrap();
        assert_eq!(back.to_string(), "2024-02-28T16:30:00Z");
        let back = Duration::parse("180d").unwrap().before(now, &zone).unwrap();
        assert_eq!(now.duration_since(back).as_secs(), 180 * 86_400);
        // `after` is the mirror: one month on from 2024-01-31 00:30 +08:00 is
        // 2024-02-29 00:30 +08:00 (clamped).
        let from: Timestamp = "2024-01-30T16:30:00Z".parse().unwrap();
        let on = Duration::parse("1mo").unwrap().after(from, &zone).unwrap();
        assert_eq!(on.to_string(), "2024-02-28T16:30:00Z");
        let on = Duration::parse("14d").unwrap().after(from, &zone).unwrap();
        assert_eq!(on.duration_since(from).as_secs(), 14 * 86_400);
    }
}
