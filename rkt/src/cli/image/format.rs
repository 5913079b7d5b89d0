//! Output formatting shared by the image commands, reproducing what rkt 1.30 printed with Go's
//! `text/tabwriter`, `go-humanize` and `time.Format`, and parsing Go durations. Pure.

use std::time::Duration;

/// Go's `tabwriter.NewWriter(w, 0, 8, 1, '\t', 0)`, as rkt's `getTabOutWithWriter`: every
/// cell but a line's last is padded with tabs to a common multiple-of-8 column width.
pub(crate) fn tabulate(rows: &[Vec<String>]) -> String {
    const TAB: usize = 8;
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; columns];
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(row.len().saturating_sub(1)) {
            widths[i] = widths[i].max(cell.chars().count() + 1);
        }
    }
    let mut out = String::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < row.len() {
                let cellw = widths[i].div_ceil(TAB) * TAB;
                let pad = cellw - cell.chars().count();
                out.push_str(&"\t".repeat(pad.div_ceil(TAB)));
            }
        }
        out.push('\n');
    }
    out
}

/// go-humanize `IBytes`: `512 B`, `1.5 KiB`, `24 MiB`.
pub(crate) fn ibytes(size: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if size < 10 {
        return format!("{size} B");
    }
    let e = ((size as f64).ln() / 1024f64.ln()).floor() as usize;
    let e = e.min(UNITS.len() - 1);
    let val = (size as f64 / 1024f64.powi(e as i32) * 10.0 + 0.5).floor() / 10.0;
    if val < 10.0 {
        format!("{val:.1} {}", UNITS[e])
    } else {
        format!("{val:.0} {}", UNITS[e])
    }
}

/// go-humanize `Time`: `now`, `3 minutes ago`, `1 day ago`, `2 hours from now`.
pub(crate) fn relative_time(then_ns: i64, now_ns: i64) -> String {
    const S: i64 = 1_000_000_000;
    const MIN: i64 = 60 * S;
    const HOUR: i64 = 60 * MIN;
    const DAY: i64 = 24 * HOUR;
    const WEEK: i64 = 7 * DAY;
    const MONTH: i64 = 30 * DAY;
    const YEAR: i64 = 12 * MONTH;
    // (upper bound, format, divisor): the first row whose bound exceeds the difference.
    const MAGNITUDES: [(i64, &str, i64); 17] = [
        (S, "now", 1),
        (2 * S, "1 second %s", 1),
        (MIN, "%d seconds %s", S),
        (2 * MIN, "1 minute %s", 1),
        (HOUR, "%d minutes %s", MIN),
        (2 * HOUR, "1 hour %s", 1),
        (DAY, "%d hours %s", HOUR),
        (2 * DAY, "1 day %s", 1),
        (WEEK, "%d days %s", DAY),
        (2 * WEEK, "1 week %s", 1),
        (MONTH, "%d weeks %s", WEEK),
        (2 * MONTH, "1 month %s", 1),
        (YEAR, "%d months %s", MONTH),
        (18 * MONTH, "1 year %s", 1),
        (2 * YEAR, "2 years %s", 1),
        (37 * YEAR, "%d years %s", YEAR),
        (i64::MAX, "a long while %s", 1),
    ];
    let (diff, label) = if then_ns > now_ns {
        (then_ns - now_ns, "from now")
    } else {
        (now_ns - then_ns, "ago")
    };
    let (_, fmt, div) = MAGNITUDES
        .iter()
        .find(|(bound, _, _)| *bound > diff)
        .copied()
        .unwrap_or(MAGNITUDES[MAGNITUDES.len() - 1]);
    fmt.replace("%d", &(diff / div).to_string())
        .replace("%s", label)
}

/// Go's `t.Format("2006-01-02 15:04:05.999 -0700 MST")` in UTC (this build prints every time
/// in UTC): `2026-11-29 13:16:09.12 +0000 UTC`.
pub(crate) fn go_time(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let nanos = ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let millis = nanos / 1_000_000;
    let frac = if millis == 0 {
        String::new()
    } else {
        format!(".{millis:03}").trim_end_matches('0').to_string()
    };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}{frac} +0000 UTC",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// Howard Hinnant's days-to-civil: the proleptic Gregorian date of a day number.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Go's `time.ParseDuration`, for flags such as `--grace-period=24h` (`1h30m`, `90s`,
/// `1.5h`, `0`). Negative durations are refused.
pub(crate) fn parse_go_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {s:?}");
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let rest = s.strip_prefix('+').unwrap_or(s);
    if rest.starts_with('-') {
        return Err(format!("invalid duration {s:?}: must not be negative"));
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = 0f64;
    let mut rest = rest;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("invalid duration {s:?}: missing unit"))?;
        let value: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos_per = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            unit => return Err(format!("invalid duration {s:?}: unknown unit {unit:?}")),
        };
        total += value * nanos_per;
        rest = &rest[unit_len..];
    }
    Ok(Duration::from_nanos(total.round() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabwriter_pads_with_tabs_to_multiples_of_eight() {
        let rows = vec![
            vec!["ID".to_string(), "NAME".to_string(), "SIZE".to_string()],
            vec![
                "sha512-0123456789ab".to_string(),
                "example.com/app:1".to_string(),
                "1.2 KiB".to_string(),
            ],
        ];
        assert_eq!(
            tabulate(&rows),
            "ID\t\t\tNAME\t\t\tSIZE\nsha512-0123456789ab\texample.com/app:1\t1.2 KiB\n"
        );
    }

    #[test]
    fn humanize_like_go() {
        assert_eq!(ibytes(5), "5 B");
        assert_eq!(ibytes(1536), "1.5 KiB");
        assert_eq!(ibytes(82854982), "79 MiB");
        const S: i64 = 1_000_000_000;
        assert_eq!(relative_time(0, 0), "now");
        assert_eq!(relative_time(0, S), "1 second ago");
        assert_eq!(relative_time(0, 5 * S), "5 seconds ago");
        assert_eq!(relative_time(0, 3 * 3600 * S), "3 hours ago");
        assert_eq!(relative_time(60 * S, 0), "1 minute from now");
    }

    #[test]
    fn go_time_layout() {
        assert_eq!(go_time(0), "1970-01-01 00:00:00 +0000 UTC");
        assert_eq!(
            go_time(1_700_000_000_120_000_000),
            "2023-11-14 22:13:20.12 +0000 UTC"
        );
    }

    #[test]
    fn go_durations() {
        assert_eq!(
            parse_go_duration("24h").unwrap(),
            Duration::from_secs(86400)
        );
        assert_eq!(
            parse_go_duration("1h30m").unwrap(),
            Duration::from_secs(5400)
        );
        assert_eq!(
            parse_go_duration("1.5s").unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(parse_go_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_go_duration("0s").unwrap(), Duration::ZERO);
        for bad in ["", "1", "1d", "h", "-1h", "1h-"] {
            assert!(parse_go_duration(bad).is_err(), "{bad}");
        }
    }
}
