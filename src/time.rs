//! Time for the whole run: the API time zone, `--now`, the API's naive
//! `YYYY-MM-DD hh:mm:ss` timestamps, and time operands of the policy language.
//!
//! Nothing here reads the machine's time zone: every conversion names its zone.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::{Offset, TimeZone};

/// The default `--api-time-zone`: Tencent documents its naive times as UTC+8.
pub const DEFAULT_API_ZONE: &str = "+08:00";

/// The zone in which the API's zone-less timestamps are read (`--api-time-zone`).
#[derive(Clone)]
pub struct ApiZone {
    tz: TimeZone,
    label: String,
}

impl fmt::Debug for ApiZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiZone({})", self.label)
    }
}

impl Default for ApiZone {
    /// [`DEFAULT_API_ZONE`].
    fn default() -> Self {
        Self::parse(DEFAULT_API_ZONE).unwrap_or_else(|_| Self {
            tz: TimeZone::UTC,
            label: "UTC".into(),
        })
    }
}

impl ApiZone {
    /// `+08:00`, `-05:30`, `+0800`, `UTC`, `Z`, or an IANA name such as `Asia/Shanghai`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        if trimmed.eq_ignore_ascii_case("utc") || trimmed == "Z" {
            return Ok(Self {
                tz: TimeZone::UTC,
                label: "UTC".into(),
            });
        }
        if let Some(offset) = parse_offset(trimmed) {
            let offset = offset?;
            let total = offset.seconds();
            let sign = if total < 0 { '-' } else { '+' };
            let label = format!(
                "{sign}{:02}:{:02}",
                total.abs() / 3600,
                (total.abs() % 3600) / 60
            );
            return Ok(Self {
                tz: TimeZone::fixed(offset),
                label,
            });
        }
        TimeZone::get(trimmed)
            .map(|tz| Self {
                tz,
                label: trimmed.to_owned(),
            })
            .map_err(|_| {
                format!(
                    "`{trimmed}` is not a UTC offset (like +08:00) or a known IANA time zone name (like Asia/Shanghai)"
                )
            })
    }

    pub fn tz(&self) -> &TimeZone {
        &self.tz
    }

    /// How the zone was given, normalised (`+08:00`, `UTC`, `Asia/Shanghai`).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The instant of a civil date-time in this zone (DST gaps resolve forward,
    /// folds to the earlier instant, as RFC 5545 "compatible" does).
    pub fn instant(&self, datetime: DateTime) -> Option<Timestamp> {
        self.tz.to_timestamp(datetime).ok()
    }

    /// Midnight at the start of `date` in this zone.
    pub fn start_of_day(&self, date: Date) -> Option<Timestamp> {
        self.instant(date.to_datetime(jiff::civil::Time::midnight()))
    }

    /// RFC 3339 with this zone's offset at that instant (`2026-11-27T00:00:00+08:00`).
    pub fn rfc3339(&self, at: Timestamp) -> String {
        at.to_zoned_datetime(self.tz.clone())
            .strftime("%Y-%m-%dT%H:%M:%S%:z")
            .to_string()
    }

    /// The civil date-time of an instant in this zone, formatted like the API.
    pub fn format(&self, at: Timestamp) -> String {
        at.to_zoned_datetime(self.tz.clone())
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string()
    }
}

/// The time zone name closest to `text`, among the IANA names of the built-in
/// database, for "did you mean" (`Asia/Shanghia` → `Asia/Shanghai`).
pub fn zone_suggestion(text: &str) -> Option<String> {
    let names: Vec<String> = jiff::tz::db()
        .available()
        .map(|name| name.as_str().to_owned())
        .collect();
    crate::diag::did_you_mean(text.trim(), names.iter().map(String::as_str)).map(str::to_owned)
}

/// `Some(Ok)` for a valid offset, `Some(Err)` for something that looks like an
/// offset but is out of range, `None` if it does not look like one.
fn parse_offset(text: &str) -> Option<Result<Offset, String>> {
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = text[1..].chars().filter(|c| *c != ':').collect();
    if !(digits.len() == 2 || digits.len() == 4) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Err(format!(
            "`{text}` is not a UTC offset: write it as +HH:MM, for example +08:00"
        )));
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = if digits.len() == 4 {
        digits[2..].parse().ok()?
    } else {
        0
    };
    if hours > 23 || minutes > 59 {
        return Some(Err(format!("`{text}` is out of range for a UTC offset")));
    }
    Some(
        Offset::from_seconds(sign * (hours * 3600 + minutes * 60))
            .map_err(|e| format!("`{text}`: {e}")),
    )
}

/// The API's `YYYY-MM-DD hh:mm:ss`, strictly (no other separators or widths).
pub fn parse_api_datetime(text: &str) -> Option<DateTime> {
    let b = text.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i32> {
        b[range].iter().try_fold(0i32, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + i32::from(d - b'0'))
        })
    };
    DateTime::new(
        i16::try_from(num(0..4)?).ok()?,
        i8::try_from(num(5..7)?).ok()?,
        i8::try_from(num(8..10)?).ok()?,
        i8::try_from(num(11..13)?).ok()?,
        i8::try_from(num(14..16)?).ok()?,
        i8::try_from(num(17..19)?).ok()?,
        0,
    )
    .ok()
}

/// A policy time operand: `2024-01-31` (midnight in the API zone),
/// `2024-01-31 08:00:00` (API zone) or RFC 3339 with an offset.
pub fn parse_time_operand(text: &str, zone: &ApiZone) -> Result<Timestamp, String> {
    let text = text.trim();
    if text.len() == 10
        && let Ok(date) = text.parse::<Date>()
    {
        return zone
            .start_of_day(date)
            .ok_or_else(|| format!("`{text}` has no midnight in {}", zone.label()));
    }
    if let Some(datetime) = parse_api_datetime(text) {
        return zone
            .instant(datetime)
            .ok_or_else(|| format!("`{text}` does not exist in {}", zone.label()));
    }
    text.parse::<Timestamp>().map_err(|_| {
        format!(
            "`{text}` is not a time: write a date (2024-01-31), a time in the API zone (2024-01-31 08:00:00) or RFC 3339 with an offset (2024-01-31T08:00:00+08:00)"
        )
    })
}

/// `--now`: RFC 3339 with an offset, so a run never depends on the machine's zone.
pub fn parse_now(text: &str) -> Result<Timestamp, String> {
    text.trim().parse::<Timestamp>().map_err(|_| {
        format!(
            "`{text}` is not an RFC 3339 time with an offset, for example 2026-01-01T00:00:00+08:00"
        )
    })
}

/// A length of time for messages: `2685d 3h`, `36h 5min`, `42s`.
pub fn describe_seconds(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let s = seconds.unsigned_abs();
    let (days, hours, minutes) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60);
    let text = if days > 0 {
        if hours > 0 {
            format!("{days}d {hours}h")
        } else {
            format!("{days}d")
        }
    } else if hours > 0 {
        if minutes > 0 {
            format!("{hours}h {minutes}min")
        } else {
            format!("{hours}h")
        }
    } else if minutes > 0 {
        format!("{minutes}min")
    } else {
        format!("{s}s")
    };
    format!("{sign}{text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_parse() {
        assert_eq!(ApiZone::parse("+08:00").unwrap().label(), "+08:00");
        assert_eq!(ApiZone::parse("+0800").unwrap().label(), "+08:00");
        assert_eq!(
            ApiZone::parse("-0530")
                .unwrap()
                .tz()
                .to_offset(Timestamp::UNIX_EPOCH)
                .seconds(),
            -19_800
        );
        assert!(ApiZone::parse("Asia/Shanghai").is_ok());
        assert!(ApiZone::parse("UTC").is_ok());
        assert!(ApiZone::parse("+25:00").is_err());
        assert!(ApiZone::parse("Mars/Olympus").is_err());
    }

    #[test]
    fn api_datetimes_are_strict() {
        assert!(parse_api_datetime("2019-07-22 20:48:14").is_some());
        for bad in [
            "",
            "2019-07-22T20:48:14",
            "2019-7-22 20:48:14",
            "2019-02-30 00:00:00",
            "2019-07-22 24:00:00",
            "２０１９-07-22 20:48:14",
        ] {
            assert!(parse_api_datetime(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn api_times_are_read_in_the_api_zone() {
        let zone = ApiZone::default();
        let at = zone
            .instant(parse_api_datetime("2024-01-01 08:00:00").unwrap())
            .unwrap();
        assert_eq!(at.to_string(), "2024-01-01T00:00:00Z");
    }

    #[test]
    fn time_operands() {
        let zone = ApiZone::default();
        assert_eq!(
            parse_time_operand("2024-01-31", &zone).unwrap().to_string(),
            "2024-01-30T16:00:00Z"
        );
        assert_eq!(
            parse_time_operand("2024-01-31 08:00:00", &zone)
                .unwrap()
                .to_string(),
            "2024-01-31T00:00:00Z"
        );
        assert_eq!(
            parse_time_operand("2024-01-31T08:00:00Z", &zone)
                .unwrap()
                .to_string(),
            "2024-01-31T08:00:00Z"
        );
        assert!(parse_time_operand("2024-01-31T08:00:00", &zone).is_err());
        assert!(parse_time_operand("yesterday", &zone).is_err());
    }

    #[test]
    fn describes_lengths() {
        assert_eq!(describe_seconds(180 * 86_400), "180d");
        assert_eq!(describe_seconds(86_400 + 3600 * 5), "1d 5h");
        assert_eq!(describe_seconds(36 * 3600 + 300), "1d 12h");
        assert_eq!(describe_seconds(59), "59s");
    }
}
