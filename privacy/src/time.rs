//! UTC timestamps for people: formatting, and parsing what a user types after
//! `--since`, `--until` or `--before` (a date, a date and time, or an age such
//! as `2h` meaning "2 hours ago"). No time-zone database: everything is UTC.

use crate::retention::parse_duration;

/// Why a time could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read time {input:?}: use 2026-11-27, 2026-11-27T14:05:00Z, or an age such as 90m, 2h, 7d")]
pub struct TimeError {
    /// What was given.
    pub input: String,
}

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
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

/// `2026-11-27T14:05:09Z` for a time in ms since the epoch.
pub fn fmt_utc(ms: i64) -> String {
    let days = ms.div_euclid(MS_PER_DAY);
    let rem = ms.rem_euclid(MS_PER_DAY) / 1000;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn num(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS][Z]` (a space may replace the
/// `T`), or an age (`2h`, `7d`: that long before `now_ms`).
pub fn parse_time(input: &str, now_ms: i64) -> Result<i64, TimeError> {
    let err = || TimeError {
        input: input.to_string(),
    };
    let s = input.trim();
    if let Some(age) = parse_duration(s) {
        let ms = i64::try_from(age.as_millis()).map_err(|_| err())?;
        return Ok(now_ms - ms);
    }
    let s = s.strip_suffix('Z').unwrap_or(s);
    let (date, clock) = match s.split_once(['T', ' ']) {
        Some((d, c)) => (d, Some(c)),
        None => (s, None),
    };
    let mut dp = date.split('-');
    let (y, m, d) = match (dp.next(), dp.next(), dp.next(), dp.next()) {
        (Some(y), Some(m), Some(d), None) if y.len() == 4 => (
            num(y).ok_or_else(err)?,
            num(m).ok_or_else(err)?,
            num(d).ok_or_else(err)?,
        ),
        _ => return Err(err()),
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(err());
    }
    let days = days_from_civil(y, m, d);
    if civil_from_days(days) != (y, m, d) {
        return Err(err()); // 2026-02-30 and the like
    }
    let mut secs = 0;
    if let Some(c) = clock {
        let parts: Vec<_> = c.split(':').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(err());
        }
        let hh = num(parts[0]).ok_or_else(err)?;
        let mm = num(parts[1]).ok_or_else(err)?;
        let ss = match parts.get(2) {
            Some(p) => num(p).ok_or_else(err)?,
            None => 0,
        };
        if hh > 23 || mm > 59 || ss > 59 {
            return Err(err());
        }
        secs = hh * 3600 + mm * 60 + ss;
    }
    Ok(days * MS_PER_DAY + secs * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(fmt_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(fmt_utc(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(fmt_utc(1_795_820_704_000), "2026-11-27T23:05:04Z");
    }

    #[test]
    fn parses_what_it_formats() {
        for ms in [0, 951_782_400_000, 1_795_820_704_000, 4_102_444_799_000] {
            assert_eq!(parse_time(&fmt_utc(ms), 0).unwrap(), ms);
        }
        assert_eq!(parse_time("2026-11-27", 0).unwrap(), 1_795_737_600_000);
        assert_eq!(
            parse_time("2026-11-27 22:25", 0).unwrap(),
            1_795_737_600_000 + (22 * 3600 + 25 * 60) * 1000
        );
    }

    #[test]
    fn ages_count_back_from_now() {
        assert_eq!(
            parse_time("2h", 10_000_000).unwrap(),
            10_000_000 - 7_200_000
        );
        assert_eq!(parse_time("7d", 0).unwrap(), -7 * 86_400_000);
    }

    #[test]
    fn refuses_nonsense() {
        for bad in [
            "",
            "yesterday",
            "2026-02-30",
            "2026-13-01",
            "26-11-27",
            "2026-11-27T25:00",
            "2026-11-27T10",
        ] {
            assert!(parse_time(bad, 0).is_err(), "{bad}");
        }
    }
}
