//! Timestamps as Node's `JSON.stringify(new Date())` writes them, which the UI parses.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the epoch (0 for a clock before it).
pub(crate) fn millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `2026-12-05T10:37:03.123Z`: what a `Date` becomes on the wire.
pub(crate) fn iso(at: SystemTime) -> String {
    let ms = millis(at);
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

/// `Sat Dec 05 2026 10:41:00 GMT+0000 (Coordinated Universal Time)`: Node's
/// `Date#toString()`, which its `handshake.time` is, written in UTC.
pub(crate) fn date_string(at: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = millis(at) / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    // Both indexes are in range by construction (modulo 7; month is 1 to 12).
    let weekday = DAYS
        .get(usize::try_from(days % 7).unwrap_or(0))
        .copied()
        .unwrap_or("Thu");
    let month = MONTHS
        .get(usize::try_from(month.saturating_sub(1)).unwrap_or(0))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{weekday} {month} {day:02} {year:04} {:02}:{:02}:{:02} GMT+0000 (Coordinated Universal Time)",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The calendar date of a day count since 1970-01-01 (Howard Hinnant's algorithm), so that
/// no date crate is needed for one format.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_as_javascript_does() {
        // new Date(1733395023123).toISOString()
        let at = UNIX_EPOCH + Duration::from_millis(1_733_395_023_123);
        assert_eq!(iso(at), "2024-12-05T10:37:03.123Z");
        assert_eq!(iso(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        // a leap day
        let at = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(iso(at), "2000-02-29T00:00:00.000Z");
        // new Date(1733395023123).toString() with TZ=UTC
        let at = UNIX_EPOCH + Duration::from_millis(1_733_395_023_123);
        assert_eq!(
            date_string(at),
            "Thu Dec 05 2024 10:37:03 GMT+0000 (Coordinated Universal Time)"
        );
    }
}
