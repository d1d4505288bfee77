//! K3Cloud date values: naive local timestamps (no time zone, as the real server sends them)
//! kept as milliseconds since 1970-01-01T00:00:00, formatted `yyyy-MM-ddTHH:mm:ss.fff`, and
//! parsed from the literal shapes a FilterString may use.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Milliseconds of a date and time of day.
pub fn ms_of(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32, ms: u32) -> i64 {
    days_from_civil(y, mo, d) * MS_PER_DAY
        + i64::from(h) * 3_600_000
        + i64::from(mi) * 60_000
        + i64::from(s) * 1000
        + i64::from(ms)
}

/// Appends `yyyy-MM-ddTHH:mm:ss.fff`.
pub fn write_ms(out: &mut String, t: i64) {
    let (y, m, d) = civil_from_days(t.div_euclid(MS_PER_DAY));
    let rest = t.rem_euclid(MS_PER_DAY);
    let (h, mi, s, ms) = (
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000,
    );
    let _ = write!(out, "{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}");
}

pub fn format_ms(t: i64) -> String {
    let mut s = String::with_capacity(23);
    write_ms(&mut s, t);
    s
}

/// Parses `yyyy-MM-dd`, optionally followed by ` ` or `T` and `HH:mm`, `HH:mm:ss` or
/// `HH:mm:ss.f…` (1 to 7 fraction digits; digits past the millisecond are dropped).
/// `/` is accepted as the date separator too.
pub fn parse(text: &str) -> Option<i64> {
    let b = text.trim().as_bytes();
    let num = |s: &[u8]| -> Option<u32> {
        if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(s).ok()?.parse().ok()
    };
    if b.len() < 10 || !matches!(b[4], b'-' | b'/') || b[7] != b[4] {
        return None;
    }
    let y = i64::from(num(&b[0..4])?);
    let mo = num(&b[5..7])?;
    let d = num(&b[8..10])?;
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) {
        return None;
    }
    let (mut h, mut mi, mut s, mut ms) = (0, 0, 0, 0);
    if b.len() > 10 {
        if !matches!(b[10], b' ' | b'T') || b.len() < 16 || b[13] != b':' {
            return None;
        }
        h = num(&b[11..13])?;
        mi = num(&b[14..16])?;
        let rest = &b[16..];
        if !rest.is_empty() {
            if rest.len() < 3 || rest[0] != b':' {
                return None;
            }
            s = num(&rest[1..3])?;
            let frac = &rest[3..];
            if !frac.is_empty() {
                let digits = frac.strip_prefix(b".")?;
                if digits.is_empty() || digits.len() > 7 {
                    return None;
                }
                num(digits)?;
                let mut three = [b'0'; 3];
                for (slot, &c) in three.iter_mut().zip(digits) {
                    *slot = c;
                }
                ms = num(&three)?;
            }
        }
        if h > 23 || mi > 59 || s > 59 {
            return None;
        }
    }
    Some(ms_of(y, mo, d, h, mi, s, ms))
}

/// Now, as the wall clock of a server in China (UTC+8) shows it: K3Cloud dates carry no zone.
pub fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    since + 8 * 3_600_000
}

/// Milliseconds since the Unix epoch (UTC), for request logs.
pub fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trips_over_centuries() {
        for z in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2024, 3, 12), 19_794);
    }

    #[test]
    fn formats_with_milliseconds() {
        let t = ms_of(2024, 3, 12, 9, 32, 21, 125);
        assert_eq!(format_ms(t), "2024-03-12T09:32:21.125");
        assert_eq!(
            format_ms(ms_of(2019, 1, 1, 0, 0, 0, 0)),
            "2019-01-01T00:00:00.000"
        );
    }

    #[test]
    fn parses_every_accepted_shape() {
        let t = ms_of(2024, 3, 12, 9, 32, 21, 125);
        assert_eq!(parse("2024-03-12T09:32:21.125"), Some(t));
        assert_eq!(parse("2024-03-12 09:32:21.125"), Some(t));
        assert_eq!(parse("2024-03-12 09:32:21.1250000"), Some(t));
        assert_eq!(parse("2024-03-12 09:32:21.12"), Some(t - 5));
        assert_eq!(parse("2024-03-12 09:32:21"), Some(t - 125));
        assert_eq!(parse("2024-03-12T09:32"), Some(t - 21_125));
        assert_eq!(parse("2024-03-12"), Some(ms_of(2024, 3, 12, 0, 0, 0, 0)));
        assert_eq!(parse("2024/03/12"), Some(ms_of(2024, 3, 12, 0, 0, 0, 0)));
    }

    #[test]
    fn rejects_impossible_dates() {
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-03-12 24:00:00",
            "2024-03-12X09:00",
            "20240312",
            "2024-03-12 09:32:21.",
            "2024-03-12 09:32:21.12345678",
            "abc",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert!(parse("2024-02-29").is_some());
    }
}
