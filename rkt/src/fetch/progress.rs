//! The download progress line on stderr ("Downloading ACI: [=====     ] 12.3 MB/40.0 MB
//! 80.1 MB/s"), drawn only when stderr is a terminal and at most a few times a second.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

const REDRAW: Duration = Duration::from_millis(200);
const WIDTH: usize = 30;

pub(crate) struct Progress {
    label: &'static str,
    enabled: bool,
    total: Option<u64>,
    done: u64,
    start: Instant,
    last: Option<Instant>,
}

impl Progress {
    pub(crate) fn new(label: &'static str, total: Option<u64>, already: u64) -> Progress {
        Progress {
            label,
            enabled: std::io::stderr().is_terminal(),
            total,
            done: already,
            start: Instant::now(),
            last: None,
        }
    }

    pub(crate) fn add(&mut self, n: u64) {
        self.done += n;
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if self.last.is_some_and(|t| now - t < REDRAW) {
            return;
        }
        self.last = Some(now);
        self.draw(now);
    }

    pub(crate) fn finish(&mut self) {
        if self.enabled && self.last.is_some() {
            self.draw(Instant::now());
            eprintln!();
        }
    }

    fn draw(&self, now: Instant) {
        let line = render(self.label, self.done, self.total, now - self.start);
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{line}");
        let _ = err.flush();
    }
}

/// One progress line (pure, for tests).
pub(crate) fn render(label: &str, done: u64, total: Option<u64>, elapsed: Duration) -> String {
    let rate = done as f64 / elapsed.as_secs_f64().max(0.001);
    match total.filter(|&t| t > 0) {
        Some(total) => {
            let filled = ((done.min(total) as f64 / total as f64) * WIDTH as f64) as usize;
            format!(
                "{label}: [{}{}] {}/{} {}/s",
                "=".repeat(filled),
                " ".repeat(WIDTH - filled),
                size(done as f64),
                size(total as f64),
                size(rate)
            )
        }
        None => format!("{label}: {} {}/s", size(done as f64), size(rate)),
    }
}

fn size(bytes: f64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut v = bytes;
    let mut unit = 0;
    while v >= 1000.0 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{v:.0} {}", UNITS[unit])
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_show_bytes_total_and_rate() {
        assert_eq!(
            render(
                "Downloading ACI",
                5_000_000,
                Some(10_000_000),
                Duration::from_secs(1)
            ),
            format!(
                "Downloading ACI: [{}{}] 5.0 MB/10.0 MB 5.0 MB/s",
                "=".repeat(15),
                " ".repeat(15)
            )
        );
        assert_eq!(
            render("Downloading ACI", 512, None, Duration::from_secs(2)),
            "Downloading ACI: 512 B 256 B/s"
        );
        // More than announced never overflows the bar.
        assert!(render("x", 20, Some(10), Duration::from_secs(1)).contains(&"=".repeat(WIDTH)));
    }
}
