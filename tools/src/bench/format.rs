//! Number formatting: thousands, times in whole units, axis labels.

use std::time::Duration;

use super::figures::Stats;

/// The unit of the exec and SIGTERM times.
pub(super) const US: Duration = Duration::from_micros(1);
/// The unit of the reaping times.
pub(super) const MS: Duration = Duration::from_millis(1);

/// 690920 -> "690,920".
pub(super) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "min / **median** / max" in whole `unit`s.
pub(super) fn spread(s: Stats, unit: Duration) -> String {
    let [min, median, max] = [s.min, s.median, s.max].map(|d| whole(d, unit));
    format!("{min} / **{median}** / {max}")
}

/// "min / **median** / max" of a count (kB), or the one figure when all samples agree.
pub(super) fn count_spread(s: Stats<u64>) -> String {
    let [min, median, max] = [s.min, s.median, s.max].map(thousands);
    match s.min == s.max {
        true => median,
        false => format!("{min} / **{median}** / {max}"),
    }
}

pub(super) fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

/// A time in whole `unit`s, rounded as in every table.
pub(super) fn whole(d: Duration, unit: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() / unit.as_secs_f64())
}

/// An axis label: 1, 10, 100, 1k, 10k, 100k, 1M.
pub(super) fn si(v: f64) -> String {
    match v {
        v if v >= 1e6 => format!("{}M", v / 1e6),
        v if v >= 1e3 => format!("{}k", v / 1e3),
        v => format!("{v}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(722), "722");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(690_920), "690,920");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn counts_spread_only_when_they_vary() {
        let same = Stats {
            min: 8,
            median: 8,
            max: 8,
        };
        assert_eq!(count_spread(same), "8");
        let varied = Stats {
            min: 8,
            median: 12,
            max: 1024,
        };
        assert_eq!(count_spread(varied), "8 / **12** / 1,024");
    }

    #[test]
    fn times_are_whole_units_rounded() {
        assert_eq!(whole(Duration::from_micros(1499), MS), "1");
        assert_eq!(whole(Duration::from_micros(1500), MS), "2");
        assert_eq!(whole(Duration::from_micros(722), US), "722");
        let times = Stats {
            min: Duration::from_micros(640),
            median: Duration::from_micros(702),
            max: Duration::from_micros(1130),
        };
        assert_eq!(spread(times, US), "640 / **702** / 1130");
        assert_eq!(
            ratio(Duration::from_millis(3), Duration::from_millis(2)),
            1.5
        );
    }

    #[test]
    fn axis_labels_are_short() {
        assert_eq!(si(1.0), "1");
        assert_eq!(si(100.0), "100");
        assert_eq!(si(10_000.0), "10k");
        assert_eq!(si(1e6), "1M");
    }
}
