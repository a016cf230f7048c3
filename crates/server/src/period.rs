//! Dates and times of the operator's API and commands: periods given as days or instants
//! with a UTC offset, bucket labels, and the dates `operator list` prints. Proleptic
//! Gregorian calendar, milliseconds since the Unix epoch, no time zone database: the
//! operator names the offset (`+05:00` in Kazakhstan).

use std::fmt;

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;
/// Milliseconds in an hour.
pub const HOUR_MS: i64 = 3_600_000;

/// A fixed offset from UTC, in minutes (east positive), at most 14 hours either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UtcOffset(i32);

impl UtcOffset {
    /// UTC itself.
    pub const UTC: Self = Self(0);

    /// The offset in milliseconds.
    pub fn millis(self) -> i64 {
        i64::from(self.0) * 60_000
    }

    /// Parses `+HH:MM`, `-HH:MM`, `HH:MM` (east) or `Z`. A leading space stands for `+`,
    /// which is what an unescaped `+` in a query string becomes.
    ///
    /// # Errors
    ///
    /// A message saying the form to use.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "{text:?} is not a UTC offset; write it as +05:00 (in a URL: %2B05:00) or -03:00"
            )
        };
        if text == "Z" {
            return Ok(Self::UTC);
        }
        let (sign, rest) = match text.as_bytes().first() {
            Some(b'+' | b' ') => (1, &text[1..]),
            Some(b'-') => (-1, &text[1..]),
            _ => (1, text),
        };
        let (h, m) = rest.split_once(':').ok_or_else(bad)?;
        let (h, m) = (
            two_digits(h).ok_or_else(bad)?,
            two_digits(m).ok_or_else(bad)?,
        );
        if m > 59 || h * 60 + m > 14 * 60 {
            return Err(bad());
        }
        Ok(Self(sign * i32::from(h * 60 + m)))
    }
}

impl fmt::Display for UtcOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { '-' } else { '+' };
        write!(f, "{sign}{:02}:{:02}", self.0.abs() / 60, self.0.abs() % 60)
    }
}

fn two_digits(s: &str) -> Option<u16> {
    (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Which end of a period a date names: a day given as `from` starts the period at its
/// first millisecond, a day given as `to` ends it after its last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// `from`.
    Start,
    /// `to`.
    Finish,
}

/// Parses a day `YYYY-MM-DD` (local to `offset`; `end` says which of its ends) or an
/// instant `YYYY-MM-DDTHH:MM[:SS[.mmm]](Z|±HH:MM)` (the end of a period given as an
/// instant is exclusive). Returns milliseconds since the epoch.
///
/// # Errors
///
/// A message naming the forms accepted.
pub fn parse_time(text: &str, offset: UtcOffset, end: End) -> Result<i64, String> {
    let bad = || {
        format!(
            "{text:?} is not a date or time; write a day as 2026-03-02 or an instant as 2026-03-02T10:00:00+05:00 (in a URL: %2B05:00)"
        )
    };
    let (date, time) = match text.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let days = parse_date(date).ok_or_else(bad)?;
    let Some(time) = time else {
        let start = days * DAY_MS - offset.millis();
        return Ok(match end {
            End::Start => start,
            End::Finish => start + DAY_MS,
        });
    };
    // The zone: Z, or the last + / - / space (an unescaped + in a query) of the time.
    let (clock, zone) = if let Some(clock) = time.strip_suffix('Z') {
        (clock, UtcOffset::UTC)
    } else {
        let at = time.rfind(['+', '-', ' ']).ok_or_else(bad)?;
        (
            &time[..at],
            UtcOffset::parse(&time[at..]).map_err(|_| bad())?,
        )
    };
    let (hms, millis) = match clock.split_once('.') {
        Some((hms, frac)) if frac.len() == 3 && frac.bytes().all(|b| b.is_ascii_digit()) => {
            (hms, frac.parse::<i64>().map_err(|_| bad())?)
        }
        Some(_) => return Err(bad()),
        None => (clock, 0),
    };
    let mut parts = hms.split(':');
    let h = parts.next().and_then(two_digits).ok_or_else(bad)?;
    let m = parts.next().and_then(two_digits).ok_or_else(bad)?;
    let s = match parts.next() {
        Some(s) => two_digits(s).ok_or_else(bad)?,
        None => 0,
    };
    if parts.next().is_some() || h > 23 || m > 59 || s > 59 {
        return Err(bad());
    }
    let seconds = i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s);
    Ok(days * DAY_MS + seconds * 1000 + millis - zone.millis())
}

/// Days since 1970-01-01 of `YYYY-MM-DD`, or `None` when it is not a real date.
fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !(all_digits(y) && all_digits(m) && all_digits(d)) {
        return None;
    }
    let (y, m, d): (i64, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `(year, month, day)` of a day number (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// The local day of an instant: `YYYY-MM-DD`.
pub fn format_day(ms: i64, offset: UtcOffset) -> String {
    let (y, m, d) = civil_from_days((ms + offset.millis()).div_euclid(DAY_MS));
    format!("{y:04}-{m:02}-{d:02}")
}

/// The local time of an instant to the second, with its offset:
/// `YYYY-MM-DDTHH:MM:SS+05:00` (`Z` for UTC).
pub fn format_time(ms: i64, offset: UtcOffset) -> String {
    let local = ms + offset.millis();
    let secs = local.div_euclid(1000).rem_euclid(86_400);
    let zone = if offset == UtcOffset::UTC {
        "Z".to_owned()
    } else {
        offset.to_string()
    };
    format!(
        "{}T{:02}:{:02}:{:02}{zone}",
        format_day(ms, offset),
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_instants_in_an_offset() {
        let kz = UtcOffset::parse("+05:00").expect("offset");
        // 2026-03-02 00:00 in Almaty is 2026-03-01 19:00 UTC.
        let start = parse_time("2026-03-02", kz, End::Start).expect("day");
        assert_eq!(format_time(start, UtcOffset::UTC), "2026-03-01T19:00:00Z");
        assert_eq!(
            parse_time("2026-03-02", kz, End::Finish).expect("day") - start,
            DAY_MS
        );
        assert_eq!(
            parse_time("2026-03-01T19:00:00Z", kz, End::Start),
            Ok(start)
        );
        assert_eq!(
            parse_time("2026-03-02T00:00+05:00", UtcOffset::UTC, End::Start),
            Ok(start)
        );
        // An unescaped + in a query string arrives as a space.
        assert_eq!(
            parse_time("2026-03-02T00:00:00.000 05:00", UtcOffset::UTC, End::Start),
            Ok(start)
        );
        assert_eq!(format_day(start, kz), "2026-03-02");
        assert_eq!(format_time(start, kz), "2026-03-02T00:00:00+05:00");
    }

    #[test]
    fn calendar_round_trips_over_centuries() {
        for days in (-800_000..800_000).step_by(37) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2024-02-29"), Some(19_782));
    }

    #[test]
    fn bad_input_is_refused_with_the_form_to_use() {
        for bad in [
            "2026-02-30",
            "2026-3-2",
            "02.03.2026",
            "2026-03-02T25:00Z",
            "2026-03-02T10:00",
            "now",
            "",
        ] {
            let err = parse_time(bad, UtcOffset::UTC, End::Start).expect_err(bad);
            assert!(err.contains("2026-03-02"), "{err}");
        }
        for bad in ["+5", "+15:00", "05:60", "UTC"] {
            assert!(UtcOffset::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            UtcOffset::parse("-03:30").expect("offset").to_string(),
            "-03:30"
        );
        assert_eq!(
            UtcOffset::parse("05:00").expect("offset").millis(),
            5 * HOUR_MS
        );
    }
}
