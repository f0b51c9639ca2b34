//! Typed ids, statuses and stages of the job table, stored as integers and text.

use std::fmt;
use std::str::FromStr;

/// A job's row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub i64);

impl fmt::Display for JobId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        std::fmt::Display::fmt(&self.0, formatter)
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// Due now, or at `next_attempt_at`.
    Queued,
    /// Leased by a delivery worker.
    Running,
    Done,
    /// Dead: attempts exhausted or a permanent error. An operator can replay it.
    Failed,
    /// Cancelled by an operator, or superseded by a newer snapshot of the same entity.
    Cancelled,
}

impl JobStatus {
    pub const ALL: [JobStatus; 5] = [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Done,
        JobStatus::Failed,
        JobStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }
}

/// The step of the pipeline an attempt row is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    Receive,
    Verify,
    Parse,
    Validate,
    Map,
    Deliver,
    Confirm,
}

impl Stage {
    pub const ALL: [Stage; 7] = [
        Stage::Receive,
        Stage::Verify,
        Stage::Parse,
        Stage::Validate,
        Stage::Map,
        Stage::Deliver,
        Stage::Confirm,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Receive => "receive",
            Stage::Verify => "verify",
            Stage::Parse => "parse",
            Stage::Validate => "validate",
            Stage::Map => "map",
            Stage::Deliver => "deliver",
            Stage::Confirm => "confirm",
        }
    }
}

/// The peer a webhook came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    WooCommerce,
    ErpNext,
}

impl Source {
    pub const ALL: [Source; 2] = [Source::WooCommerce, Source::ErpNext];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::WooCommerce => "woocommerce",
            Source::ErpNext => "erpnext",
        }
    }
}

/// Finds the value whose text form is `text`, or lists the valid ones.
fn parse_text<T: Copy>(text: &str, all: &[T], as_str: fn(T) -> &'static str) -> Result<T, String> {
    all.iter()
        .copied()
        .find(|value| as_str(*value) == text)
        .ok_or_else(|| {
            let known: Vec<&str> = all.iter().map(|value| as_str(*value)).collect();
            format!("'{text}' is not one of {}", known.join(", "))
        })
}

impl FromStr for JobStatus {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        parse_text(text, &JobStatus::ALL, JobStatus::as_str)
    }
}

impl FromStr for Stage {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        parse_text(text, &Stage::ALL, Stage::as_str)
    }
}

impl FromStr for Source {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        parse_text(text, &Source::ALL, Source::as_str)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.pad(self.as_str())
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.pad(self.as_str())
    }
}

impl fmt::Display for Source {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.pad(self.as_str())
    }
}
