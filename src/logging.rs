//! A small stderr logger for the `log` facade.
//!
//! Under systemd (`JOURNAL_STREAM` is set) each line starts with the kernel-style priority
//! prefix (`<3>` for errors) that journald turns into the entry's priority, and carries no
//! timestamp because the journal adds one. Elsewhere lines start with an RFC 3339 UTC time.
//! `SHOPBUS_LOG` sets the level (`error`, `warn`, `info`, `debug`, `trace`; default `info`);
//! the HTTP and TLS libraries log at `warn` and above only.

use std::io::Write;

use log::{Level, LevelFilter, Log, Metadata, Record};

struct StderrLogger {
    level: LevelFilter,
    journal: bool,
}

/// Crates whose debug output is noise for an operator.
const QUIET_CRATES: &[&str] = &[
    "hyper",
    "hyper_util",
    "ureq",
    "ureq_proto",
    "rustls",
    "mio",
    "tokio",
];

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        let quiet = QUIET_CRATES.iter().any(|name| {
            metadata.target() == *name || metadata.target().starts_with(&format!("{name}::"))
        });
        if quiet {
            metadata.level() <= Level::Warn
        } else {
            metadata.level() <= self.level
        }
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }

        let line = if self.journal {
            format!("<{}>{}", priority(record.level()), record.args())
        } else {
            let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            format!("{now} {:<5} {}", record.level(), record.args())
        };
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }

    fn flush(&self) {
        let _ = std::io::stderr().flush();
    }
}

/// The syslog priority journald reads from a `<N>` prefix.
fn priority(level: Level) -> u8 {
    match level {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    }
}

/// Installs the logger once; later calls keep the first one.
pub fn init() {
    let level = std::env::var("SHOPBUS_LOG")
        .ok()
        .and_then(|text| text.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::Info);
    let logger = StderrLogger {
        level,
        journal: std::env::var_os("JOURNAL_STREAM").is_some(),
    };
    if log::set_boxed_logger(Box::new(logger)).is_ok() {
        log::set_max_level(level.max(LevelFilter::Warn));
    }
}
