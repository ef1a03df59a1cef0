//! Local dates and times as the providers write them, normalised to ISO 8601 text.
//!
//! Only shapes are checked and converted (`10:37 PM` → `22:37`); no calendar arithmetic is
//! needed, so no date-time crate.

/// `YYYY-MM-DD` (digits and dashes in place, month 01–12, day 01–31).
pub(crate) fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && [0, 1, 2, 3, 5, 6, 8, 9]
            .iter()
            .all(|&i| b[i].is_ascii_digit())
        && (1..=12).contains(&two(&b[5..7]))
        && (1..=31).contains(&two(&b[8..10]))
}

fn two(b: &[u8]) -> u32 {
    u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0')
}

/// `HH:MM` on a 24-hour clock → minutes after midnight.
pub(crate) fn hhmm(s: &str) -> Option<u32> {
    let b = s.as_bytes();
    if b.len() != 5 || b[2] != b':' || ![0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit()) {
        return None;
    }
    let (h, m) = (two(&b[0..2]), two(&b[3..5]));
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// `hh:mm AM` / `hh:mm PM` (wttr.in) → minutes after midnight.
pub(crate) fn hhmm_12h(s: &str) -> Option<u32> {
    let (clock, half) = s.trim().split_once(' ')?;
    let b = clock.as_bytes();
    if b.len() != 5 || b[2] != b':' || ![0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit()) {
        return None;
    }
    let (h, m) = (two(&b[0..2]), two(&b[3..5]));
    if !(1..=12).contains(&h) || m >= 60 {
        return None;
    }
    let h = match half.trim() {
        "AM" | "am" => h % 12,
        "PM" | "pm" => h % 12 + 12,
        _ => return None,
    };
    Some(h * 60 + m)
}

/// Minutes after midnight → `HH:MM`.
pub(crate) fn format_hhmm(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// wttr.in's `localObsDateTime` (`2026-04-03 10:37 PM`) → `2026-04-03T22:37` and the
/// minutes after midnight.
pub(crate) fn wttr_local_datetime(s: &str) -> Option<(String, u32)> {
    let (date, time) = s.trim().split_once(' ')?;
    let minutes = hhmm_12h(time)?;
    is_date(date).then(|| (format!("{date}T{}", format_hhmm(minutes)), minutes))
}

/// Open-Meteo's local `2026-11-22T20:30` (seconds, if any, dropped) → `2026-11-22T20:30`.
pub(crate) fn iso_local_datetime(s: &str) -> Option<String> {
    let date = s.get(..10)?;
    let rest = s.get(10..)?;
    let time = rest.strip_prefix('T')?;
    let hm = time.get(..5)?;
    let seconds_ok = match time.as_bytes().get(5..) {
        Some([]) => true,
        Some([b':', a, b]) => a.is_ascii_digit() && b.is_ascii_digit() && *a < b'6',
        _ => false,
    };
    (is_date(date) && hhmm(hm).is_some() && seconds_ok).then(|| format!("{date}T{hm}"))
}

/// The UTC offset implied by a local and a UTC wall-clock time of the same instant, in
/// seconds, rounded to 15 minutes.
///
/// The difference is only known modulo a day, so +14 h and −10 h (and +13 h / −11 h) look
/// alike: differences up to +13:45 are read as east of Greenwich, larger ones as west.
/// That misreads only UTC+14 (Line Islands) as −10 (Hawaii).
pub(crate) fn utc_offset_seconds(local_minutes: u32, utc_minutes: u32) -> i32 {
    let day = 24 * 60;
    let diff = (i64::from(local_minutes) - i64::from(utc_minutes)).rem_euclid(day);
    let diff = if diff < 14 * 60 { diff } else { diff - day };
    let rounded = (diff as f64 / 15.0).round() as i32 * 15;
    rounded * 60
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_hour_clock() {
        assert_eq!(hhmm_12h("10:37 PM"), Some(22 * 60 + 37));
        assert_eq!(hhmm_12h("12:05 AM"), Some(5));
        assert_eq!(hhmm_12h("12:05 PM"), Some(12 * 60 + 5));
        assert_eq!(hhmm_12h("06:49 AM"), Some(6 * 60 + 49));
        assert_eq!(hhmm_12h("No sunrise"), None);
        assert_eq!(hhmm_12h("13:00 PM"), None);
        assert_eq!(hhmm_12h("00:10 AM"), None);
        assert_eq!(hhmm_12h("6:49 AM"), None);
        assert_eq!(hhmm_12h("06:49"), None);
    }

    #[test]
    fn wttr_datetime() {
        let check = |s: &str, expected: Option<&str>| {
            let got = wttr_local_datetime(s);
            assert_eq!(got.as_ref().map(|(iso, _)| iso.as_str()), expected, "{s:?}");
        };
        check("2026-04-03 10:37 PM", Some("2026-04-03T22:37"));
        check("2026-04-03 12:00 AM", Some("2026-04-03T00:00"));
        assert_eq!(
            wttr_local_datetime("2026-04-03 10:37 PM").unwrap().1,
            22 * 60 + 37
        );
        check("2026-13-03 10:37 PM", None);
        check("2026-04-03 22:37", None);
        check("yesterday", None);
    }

    #[test]
    fn iso_datetime() {
        let check = |s: &str, expected: Option<&str>| {
            assert_eq!(iso_local_datetime(s).as_deref(), expected, "{s:?}");
        };
        check("2026-11-22T20:30", Some("2026-11-22T20:30"));
        check("2026-11-22T20:30:15", Some("2026-11-22T20:30"));
        check("2026-11-22T24:30", None);
        check("2026-11-22 20:30", None);
        check("2026-11-22T20:30Z", None);
        check("1795950000", None);
        check("2026-11-22T20:3", None);
    }

    #[test]
    fn offsets() {
        let at = |h: u32, m: u32| h * 60 + m;
        assert_eq!(utc_offset_seconds(at(22, 37), at(20, 37)), 7200);
        assert_eq!(utc_offset_seconds(at(1, 0), at(23, 0)), 7200);
        assert_eq!(utc_offset_seconds(at(15, 0), at(1, 0)), -10 * 3600);
        assert_eq!(utc_offset_seconds(at(14, 0), at(1, 0)), 13 * 3600);
        assert_eq!(utc_offset_seconds(at(22, 30), at(17, 0)), 5 * 3600 + 1800);
        assert_eq!(utc_offset_seconds(at(8, 0), at(13, 0)), -5 * 3600);
        // A minute's skew between the two clocks is rounded away.
        assert_eq!(utc_offset_seconds(at(10, 1), at(10, 0)), 0);
        assert_eq!(format_hhmm(at(7, 5)), "07:05");
        assert_eq!(hhmm("07:45"), Some(465));
        assert!(is_date("2026-04-03"));
        assert!(!is_date("2026-4-03"));
    }
}
