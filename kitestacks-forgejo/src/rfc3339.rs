//! RFC 3339 timestamps (`2026-11-22T08:38:52+01:00`) as Unix seconds, for ordering commits.
//!
//! Forgejo sends object times in UTC (`Z`) and git dates in the author's offset, so the
//! strings cannot be compared as text. This is the one conversion the crate needs; a date
//! library would be a large dependency for it.

/// Seconds since 1970-01-01T00:00:00Z, or `None` if `s` is not an RFC 3339 date-time.
/// Fractional seconds are accepted and dropped.
pub(crate) fn unix_seconds(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let mut rest = &b[19..];
    if let [b'.', tail @ ..] = rest {
        let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        rest = &tail[n..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let minutes = digits(&[*h1, *h2])? * 60 + digits(&[*m1, *m2])?;
            if *sign == b'+' {
                minutes * 60
            } else {
                -minutes * 60
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second - offset)
}

fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::unix_seconds;

    fn check(input: &str, expected: Option<i64>) {
        assert_eq!(unix_seconds(input), expected, "{input}");
    }

    #[test]
    fn utc_offsets_and_fractions() {
        check("1970-01-01T00:00:00Z", Some(0));
        check("2000-03-01T00:00:00Z", Some(951_868_800));
        check("2026-11-22T07:41:09Z", Some(1_795_333_269));
        check("2026-11-22T08:41:09+01:00", Some(1_795_333_269));
        check("2026-11-22T02:41:09-05:00", Some(1_795_333_269));
        check("2026-11-22T07:41:09.123456Z", Some(1_795_333_269));
        check("2026-11-22 07:41:09z", Some(1_795_333_269));
        check("0001-01-01T00:00:00Z", Some(-62_135_596_800));
    }

    #[test]
    fn garbage_is_none_never_a_panic() {
        for s in [
            "",
            "2026-11-22",
            "2026-11-22T07:41:09",
            "2026-13-22T07:41:09Z",
            "2026-11-22T07:41:09+0100",
            "2026-11-22T07:41:09.Z",
            "2026-11-22T07:41:09Zjunk",
            "2026-11-2xT07:41:09Z",
            "ÿÿÿÿ-11-22T07:41:09Z",
        ] {
            check(s, None);
        }
    }
}
