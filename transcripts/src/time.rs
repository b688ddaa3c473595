//! Timestamps without a date library: the exports need only UTC ISO 8601 and elapsed time,
//! and a few lines of civil-calendar arithmetic (Howard Hinnant's `civil_from_days`) avoid a
//! dependency and per-row allocation.

use std::fmt::Write as _;

const MS_PER_DAY: i64 = 86_400_000;

/// (year, month 1-12, day 1-31) of a count of days since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = (z - era * 146_097) as u64;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe as i64 + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Broken-down UTC time of Unix milliseconds: (year, month, day, hour, minute, second, ms).
pub(crate) fn utc_parts(ms: i64) -> (i64, u32, u32, u32, u32, u32, u32) {
    let days = ms.div_euclid(MS_PER_DAY);
    let rem = ms.rem_euclid(MS_PER_DAY);
    let (y, mo, d) = civil_from_days(days);
    let secs = (rem / 1000) as u32;
    (
        y,
        mo,
        d,
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        (rem % 1000) as u32,
    )
}

/// Appends `2024-03-01T10:15:30.123Z` (valid as `xsd:dateTime` too).
pub(crate) fn push_iso8601(buf: &mut String, ms: i64) {
    let (y, mo, d, h, mi, s, milli) = utc_parts(ms);
    let _ = write!(
        buf,
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z"
    );
}

/// ISO 8601 UTC with milliseconds, e.g. `2024-03-01T10:15:30.123Z`.
pub fn iso8601(ms: i64) -> String {
    let mut s = String::with_capacity(24);
    push_iso8601(&mut s, ms);
    s
}

/// Appends elapsed time as `hh:mm:ss` (hours may exceed 24; negative gets a `-`).
pub(crate) fn push_elapsed(buf: &mut String, ms: i64) {
    if ms < 0 {
        buf.push('-');
    }
    let secs = ms.unsigned_abs() / 1000;
    let _ = write!(
        buf,
        "{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        // 2024-02-29 (leap day) 12:34:56.789 UTC
        assert_eq!(iso8601(1_709_210_096_789), "2024-02-29T12:34:56.789Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso8601(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(iso8601(4_102_444_800_000), "2100-01-01T00:00:00.000Z");
    }

    #[test]
    fn civil_round_trip_over_centuries() {
        // Walk day by day across 1900-2100 and check the calendar advances one day at a time.
        let (mut py, mut pm, mut pd) = civil_from_days(-25_567);
        assert_eq!((py, pm, pd), (1900, 1, 1));
        for day in -25_566..47_482 {
            let (y, m, d) = civil_from_days(day);
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let month_len = [
                31,
                if leap { 29 } else { 28 },
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ];
            if d == 1 {
                assert_eq!(pd, month_len[(pm - 1) as usize], "{y}-{m}");
                assert!((m == pm + 1 && y == py) || (m == 1 && pm == 12 && y == py + 1));
            } else {
                assert_eq!((y, m, d), (py, pm, pd + 1));
            }
            (py, pm, pd) = (y, m, d);
        }
    }

    #[test]
    fn elapsed() {
        let mut s = String::new();
        push_elapsed(&mut s, 3_725_999);
        assert_eq!(s, "01:02:05");
        s.clear();
        push_elapsed(&mut s, -5_000);
        assert_eq!(s, "-00:00:05");
        s.clear();
        push_elapsed(&mut s, 100 * 3_600_000);
        assert_eq!(s, "100:00:00");
    }
}
